"""Issue 18's GPU validation in one command: matmul peak, trainer throughput/MFU, exact resume, merge on CUDA vs CPU.

    python bench/gpu_check.py            # on the H200 (< 8 minutes); writes $OUT/gpu_check.json and gpu_check.log
    python bench/gpu_check.py --cpu      # the same code paths on CPU with a tiny model (< 2 minutes; tested)

Output folder: --out, else $OUT, else ./gpu_out. Every part runs in a child process with its own time limit
(the whole run is capped by --budget seconds, parts in priority order), so a part that crashes or hangs
costs only its own slot; gpu_check.json is rewritten after each part, so what finished survives a kill.

Parts (docs/train.md, "GPU validation (issue 18)"):
- env: versions, device, and whether pyproject's ranges accept the installed torch/transformers/accelerate.
- matmul: measured dense bf16 matmul peak (8192^3 GEMMs, CUDA events), the second MFU denominator.
- train_sdpa, train_flex, train_compile: train/run.py's `train` on a ~1.1B LLaMA (TinyLlama shape), seq 2048,
  bf16 autocast, packed documents (position ids restart: per-document attention), prefetch on; tokens/s,
  MFU, data-wait fraction, peak memory. MFU = flops_per_token x tokens/s / peak with flops_per_token =
  6 x (non-embedding parameters, + the LM head) + 12 x layers x hidden x seq_len (train/step_metrics.py),
  against 989 TFLOP/s (H200 SXM dense bf16 data sheet) and against the measured matmul peak.
- resume: 20 steps straight (twice: run-to-run noise) vs 10 + resume + 10 on CUDA, bf16, deterministic
  algorithms asked for; per-step losses and final weights compared.
- merge: TIES of three ~0.9B models (base + two) on CUDA vs on CPU: time and max abs difference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

H200_PEAK = 989e12  # dense bf16, H200 SXM data sheet (no sparsity)
GPU_VERSIONS = {"torch": "2.11", "transformers": "5.17", "accelerate": "1.15"}  # what the device machine has

LLAMA_1B = {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
            "num_attention_heads": 32, "num_key_value_heads": 4, "max_position_embeddings": 2048,
            "tie_word_embeddings": False}  # TinyLlama-1.1B shape
LLAMA_TINY = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
              "tie_word_embeddings": False}
LLAMA_RESUME = {"model_type": "llama", "hidden_size": 512, "intermediate_size": 1408, "num_hidden_layers": 4,
                "num_attention_heads": 8, "num_key_value_heads": 4, "max_position_embeddings": 512,
                "tie_word_embeddings": False}

# (part, seconds allowed on the GPU, on CPU), in priority order: later parts get what the budget has left
PARTS = [("env", 45, 60), ("matmul", 40, 30), ("train_sdpa", 110, 60), ("resume", 100, 60),
         ("merge", 130, 60), ("train_flex", 130, 90), ("train_compile", 160, 90)]


def sizes(cpu: bool) -> dict:
    """The shapes each part uses: real on the GPU, tiny on CPU (same code paths)."""
    if cpu:
        return {"model": LLAMA_TINY, "seq_len": 128, "vocab": 512, "micro_batch": 2, "accum": 2, "steps": 6,
                "skip": 2, "resume_model": LLAMA_TINY, "resume_seq": 64, "merge_hidden": 64, "merge_layers": 2,
                "matmul_n": 512, "doc_len": (8, 100)}
    return {"model": LLAMA_1B, "seq_len": 2048, "vocab": 32000, "micro_batch": 8, "accum": 2, "steps": 14,
            "skip": 4, "resume_model": LLAMA_RESUME, "resume_seq": 512, "merge_hidden": 2048, "merge_layers": 22,
            "matmul_n": 8192, "doc_len": (64, 3000)}


# ---------------------------------------------------------------------------------------------------
# helpers shared by the parts


def pyproject_rejects(versions: dict[str, str]) -> dict[str, str]:
    """{package: its range} for each version given that pyproject.toml's dependencies do not accept."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from packaging.requirements import Requirement

    deps = [Requirement(d) for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]]
    ranges = {d.name.lower(): d.specifier for d in deps}
    return {name: str(ranges[name.lower()]) for name, version in versions.items()
            if name.lower() in ranges and not ranges[name.lower()].contains(version.split("+")[0], prereleases=True)}


def write_packed_shards(tokens_dir: Path, n_sequences: dict[str, int], *, seq_len: int, vocab: int,
                        doc_len: tuple[int, int], seed: int = 0) -> None:
    """Random documents of log-uniform length in doc_len, packed by the project's shard writer."""
    import numpy as np

    from common.tokens import TokenShardWriter

    rng = np.random.default_rng(seed)
    for source, n in n_sequences.items():
        writer = TokenShardWriter(tokens_dir / source, seq_len=seq_len, vocab_size=vocab, eos_id=1, pad_id=0,
                                  tokenizer_fingerprint="gpu-check")
        while writer.n_tokens < n * seq_len:
            length = int(np.exp(rng.uniform(np.log(doc_len[0]), np.log(doc_len[1]))))
            writer.add(rng.integers(2, vocab, size=length), None)
        writer.close()


def model_flops_per_token(config: dict, vocab: int, seq_len: int) -> tuple[float, int]:
    """(train/step_metrics.flops_per_token of the model, its parameter count), built on the meta device."""
    import torch
    from transformers import AutoModelForCausalLM

    from train.model_loading import build_config
    from train.recipe_sections import ModelSection
    from train.step_metrics import flops_per_token

    hf_config = build_config(ModelSection(config=config), vocab_size=vocab)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    return flops_per_token(model, seq_len), sum(p.numel() for p in model.parameters())


def run_trainer(root: Path, s: dict, *, model: dict, seq_len: int, steps: int, attn: str, compile: bool,
                max_steps: int | None = None, checkpoint_every: int = 10**6, seed_manifest: int = 0) -> list[dict]:
    """train/run.py's `train` on packed shards under root; returns the metrics.jsonl records."""
    from tests.test_train_fixtures import random_manifest, tiny_recipe
    from train.run import train

    global_batch = s["micro_batch"] * s["accum"]
    n = {"zh": 4 * global_batch, "en": 4 * global_batch}
    if not (root / "work" / "tokens").exists():
        write_packed_shards(root / "work" / "tokens", n, seq_len=seq_len, vocab=s["vocab"], doc_len=s["doc_len"])
    manifest = random_manifest(n, num_steps=steps, global_batch=global_batch, seed=seed_manifest)
    recipe = tiny_recipe(root, micro_batch_size=s["micro_batch"], checkpoint_every=checkpoint_every, prefetch=True,
                         lr=3e-4, warmup_steps=2, compile=compile, keep_last=3, log_every=1,
                         **({"max_steps": max_steps} if max_steps else {}))
    recipe.data["model"]["config"] = {**model, "max_position_embeddings": seq_len}
    recipe.data["model"]["attn_implementation"] = attn
    train(recipe, manifest=manifest)
    return [json.loads(line) for line in (root / "work" / "train_logs" / "metrics.jsonl").open()]


# ---------------------------------------------------------------------------------------------------
# the parts (each runs in its own child process and returns a JSON-able dict)


def part_env(s: dict, workdir: Path, cpu: bool) -> dict:
    import importlib.metadata as md

    import torch

    versions = {}
    for name in ["torch", "transformers", "accelerate", "tokenizers", "safetensors", "sentencepiece", "numpy",
                 "pyarrow", "tensorboard", "polars", "pydantic", "pydantic-core", "datatrove", "packaging", "zh-adapt"]:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    import merge.run  # noqa: F401
    import train.trainer  # noqa: F401  (the imports the trainer needs are all there)

    out = {"python": platform.python_version(), "versions": versions,
           "pyproject_rejects": pyproject_rejects({k: v for k, v in versions.items() if v}),
           "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        out.update(device=torch.cuda.get_device_name(), cuda_version=torch.version.cuda,
                   memory_gib=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
    return out


def part_matmul(s: dict, workdir: Path, cpu: bool) -> dict:
    """Best dense matmul throughput over a few sizes (bf16 on CUDA; fp32 on CPU, which only tests the code)."""
    import torch

    device, dtype = ("cpu", torch.float32) if cpu else ("cuda", torch.bfloat16)
    best = {}
    for n in (s["matmul_n"] // 2, s["matmul_n"]):
        a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(3):
            a @ b
        reps = 5 if cpu else 50
        if cpu:
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            seconds = time.perf_counter() - t0
        else:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            for _ in range(reps):
                a @ b
            end.record()
            torch.cuda.synchronize()
            seconds = start.elapsed_time(end) / 1000
        best[n] = 2 * n**3 * reps / seconds
    peak = max(best.values())
    return {"dtype": str(dtype), "tflops_by_size": {n: round(v / 1e12, 4) for n, v in best.items()},
            "measured_peak_tflops": round(peak / 1e12, 4), "datasheet_peak_tflops": H200_PEAK / 1e12,
            "measured_vs_datasheet": round(peak / H200_PEAK, 3)}


def _train_part(s: dict, workdir: Path, cpu: bool, attn: str, compile: bool) -> dict:
    import torch

    if not cpu:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    records = run_trainer(workdir / f"train_{attn}_{int(compile)}", s, model=s["model"], seq_len=s["seq_len"],
                          steps=s["steps"], attn=attn, compile=compile)
    wall = time.perf_counter() - t0
    fpt, n_params = model_flops_per_token(s["model"], s["vocab"], s["seq_len"])
    measured = records[s["skip"]:]
    step_time = sum(r["step_time_s"] for r in measured)
    tokens = s["micro_batch"] * s["accum"] * s["seq_len"] * len(measured)
    tokens_per_s = tokens / step_time
    matmul = _earlier_result(workdir, "matmul")
    out = {"attn": attn, "compile": compile, "params": n_params, "seq_len": s["seq_len"],
           "micro_batch": s["micro_batch"], "accum": s["accum"], "steps_measured": len(measured),
           "first_steps_s": [round(r["step_time_s"], 3) for r in records[:s["skip"]]],
           "measured_steps_s": [round(r["step_time_s"], 3) for r in measured],  # a recompile shows here
           "flops_per_token": fpt, "tokens_per_s": round(tokens_per_s, 1),
           "achieved_tflops": round(fpt * tokens_per_s / 1e12, 4),
           "mfu_vs_989": round(fpt * tokens_per_s / H200_PEAK, 6),
           "data_wait_frac": round(sum(r["data_wait_s"] for r in measured) / step_time, 5),
           "final_loss": records[-1]["loss"], "wall_s": round(wall, 1)}
    if matmul and matmul.get("measured_peak_tflops"):
        out["mfu_vs_measured_matmul"] = round(fpt * tokens_per_s / (matmul["measured_peak_tflops"] * 1e12), 6)
    if not cpu:
        out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    out["meets_goal"] = out["mfu_vs_989"] >= 0.45 and out["data_wait_frac"] <= 0.01
    return out


def part_train_sdpa(s, workdir, cpu):
    return _train_part(s, workdir, cpu, "sdpa", False)


def part_train_flex(s, workdir, cpu):
    try:
        return _train_part(s, workdir, cpu, "flex_attention", False)
    except NotImplementedError as err:
        if not cpu or "backward on CPU" not in str(err):
            raise
        # torch's flex attention has no CPU backward: the forward paths are compared in
        # tests/test_train_gpu_paths.py; training with it is measured on the GPU only.
        return {"attn": "flex_attention", "skipped_on_cpu": str(err).splitlines()[0]}


def part_train_compile(s, workdir, cpu):
    return _train_part(s, workdir, cpu, "sdpa", True)


def part_resume(s: dict, workdir: Path, cpu: bool) -> dict:
    """20 straight (twice) vs 10 + resume + 10, with deterministic algorithms asked for (warn only)."""
    import torch
    from safetensors.torch import load_file

    torch.use_deterministic_algorithms(True, warn_only=True)
    losses, weights = {}, {}
    for name in ("straight_a", "straight_b", "resumed"):
        root = workdir / f"resume_{name}"
        kwargs = dict(model=s["resume_model"], seq_len=s["resume_seq"], steps=20, attn="sdpa", compile=False,
                      checkpoint_every=10)
        if name == "resumed":
            run_trainer(root, s, max_steps=10, **kwargs)  # "killed" after step 10 (checkpoint step-10 written)
        records = run_trainer(root, s, **kwargs)
        losses[name] = [r["loss"] for r in records]
        weights[name] = load_file(str(root / "work" / "model" / "model.safetensors"))

    def diff(a: str, b: str) -> dict:
        loss = max(abs(x - y) for x, y in zip(losses[a], losses[b], strict=True))
        weight = max((weights[a][k].float() - weights[b][k].float()).abs().max().item() for k in weights[a])
        return {"losses_identical": losses[a] == losses[b], "max_loss_diff": loss, "max_weight_diff": weight,
                "n_steps": len(losses[a])}

    return {"model": s["resume_model"], "seq_len": s["resume_seq"],
            "mixed_precision": "no (fp32 on CPU)" if cpu else "bf16 autocast",
            "resumed_vs_straight": diff("resumed", "straight_a"),
            "straight_vs_straight": diff("straight_b", "straight_a"),
            "losses_straight": losses["straight_a"], "losses_resumed": losses["resumed"]}


def part_merge(s: dict, workdir: Path, cpu: bool) -> dict:
    """TIES (density 0.2) of base + ct + sft on CUDA and on CPU; outputs compared tensor by tensor."""
    import torch
    from safetensors.torch import load_file

    from common.recipe import Recipe
    from merge.config import load_section
    from merge.demo_models import build_demo_models
    from merge.run import merge

    t0 = time.perf_counter()
    paths = build_demo_models(workdir / "merge_models", seed=0, hidden_size=s["merge_hidden"],
                              layers=s["merge_layers"])
    built = time.perf_counter() - t0
    n_params = sum(v.numel() for f in sorted((paths["sft"]).glob("*.safetensors")) for v in load_file(str(f)).values())
    devices = ["cpu"] if cpu else ["cuda", "cpu"]
    out, merged = {"params_per_model": n_params, "build_s": round(built, 1)}, {}
    for device in devices:
        recipe = Recipe.from_dict({"workdir": str(workdir / "merge_work"), "seed": 0, "merge": {
            "method": "ties", "base": {"name": "base", "path": str(paths["base"])},
            "models": [{"name": "ct", "path": str(paths["ct"])}, {"name": "sft", "path": str(paths["sft"])}],
            "parameters": {"density": 0.2}, "tokenizer_from": "ct", "device": device, "overwrite": True}},
            root=workdir)
        section, params = load_section(recipe)
        t0 = time.perf_counter()
        report = merge(section, params, workdir / f"merged_{device}", seed=0, log=lambda *_: None)
        out[f"{device}_s"] = round(time.perf_counter() - t0, 2)
        out[f"{device}_survival"] = report.get("survival", {}).get("overall") if isinstance(report.get("survival"), dict) else None
        merged[device] = {k: v for f in sorted((workdir / f"merged_{device}").glob("*.safetensors"))
                          for k, v in load_file(str(f)).items()}
    if len(devices) == 2:
        a, b = merged["cuda"], merged["cpu"]
        out["same_tensor_names"] = sorted(a) == sorted(b)
        out["max_abs_diff"] = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
        out["fraction_entries_differing"] = (sum(int((a[k] != b[k]).sum()) for k in a)
                                             / sum(a[k].numel() for k in a))
        out["bit_identical"] = all(torch.equal(a[k], b[k]) for k in a)
    return out


def _earlier_result(workdir: Path, part: str) -> dict | None:
    path = workdir / f"{part}.json"
    return json.loads(path.read_text()).get("result") if path.exists() else None


# ---------------------------------------------------------------------------------------------------
# the driver


def child(part: str, workdir: Path, cpu: bool) -> int:
    """Run one part, write workdir/<part>.json with its result or its error."""
    s = sizes(cpu)
    t0 = time.perf_counter()
    try:
        result, error = globals()[f"part_{part}"](s, workdir, cpu), None
    except Exception as err:  # noqa: BLE001 - the error is the result
        result, error = None, f"{type(err).__name__}: {err}\n{traceback.format_exc()[-3000:]}"
        print(error, file=sys.stderr, flush=True)
    (workdir / f"{part}.json").write_text(json.dumps(
        {"result": result, "error": error, "seconds": round(time.perf_counter() - t0, 1)}, indent=1, default=str))
    return 0 if error is None else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", "--dry-run", action="store_true", help="tiny model on CPU: the same code paths, in < 2 minutes")
    parser.add_argument("--out", help="output folder (default: $OUT, else ./gpu_out)")
    parser.add_argument("--budget", type=float, default=450, help="seconds for all parts together (default 450)")
    parser.add_argument("--parts", help="comma-separated subset of: " + ", ".join(p for p, *_ in PARTS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, Path(args.workdir), args.cpu)

    out = Path(args.out or os.environ.get("OUT") or "gpu_out").resolve()
    out.mkdir(parents=True, exist_ok=True)
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    wanted = args.parts.split(",") if args.parts else [p for p, *_ in PARTS]
    unknown = set(wanted) - {p for p, *_ in PARTS}
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}")
    log_path, json_path = out / "gpu_check.log", out / "gpu_check.json"
    report = {"mode": "cpu" if args.cpu else "gpu", "budget_s": args.budget, "sizes": sizes(args.cpu), "parts": {}}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    if args.cpu:
        env.setdefault("OMP_NUM_THREADS", "2")
    else:
        env.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # for the resume part's deterministic algorithms
    start = time.perf_counter()
    with log_path.open("w") as log:
        def say(text: str) -> None:
            print(text, flush=True)
            log.write(text + "\n")
            log.flush()

        say(f"gpu_check {report['mode']} mode, budget {args.budget:.0f}s, workdir {workdir}")
        for part, gpu_limit, cpu_limit in PARTS:
            if part not in wanted:
                continue
            left = args.budget - (time.perf_counter() - start)
            limit = min(cpu_limit if args.cpu else gpu_limit, left)
            if limit < 15:
                report["parts"][part] = {"skipped": f"budget spent ({left:.0f}s left)"}
                say(f"== {part}: skipped, {left:.0f}s of the budget left")
                continue
            say(f"== {part} (limit {limit:.0f}s)")
            t0 = time.perf_counter()
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", part, "--workdir", str(workdir)]
            cmd += ["--cpu"] if args.cpu else []
            # a session of its own, so a timeout also ends the compile workers it started
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                status = f"exit {proc.wait(timeout=limit)}"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = f"timed out after {limit:.0f}s"
            seconds = round(time.perf_counter() - t0, 1)
            path = workdir / f"{part}.json"
            entry = json.loads(path.read_text()) if path.exists() else {"result": None, "error": status}
            entry.update(status=status, wall_s=seconds)
            report["parts"][part] = entry
            say(f"== {part}: {status} in {seconds}s")
            say(json.dumps(entry["result"] if entry["result"] is not None else entry["error"], default=str)[:3000])
            report["total_s"] = round(time.perf_counter() - start, 1)
            json_path.write_text(json.dumps(report, indent=1, default=str))
        say(f"gpu_check done in {time.perf_counter() - start:.0f}s: {json_path}")
    failed = [p for p, e in report["parts"].items() if e.get("error")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
