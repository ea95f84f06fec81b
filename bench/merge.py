"""TIES on three synthetic ~1B-parameter LLaMA-shaped checkpoints (base, CT, SFT) on CPU: ours vs mergekit.

Generates the checkpoints (bf16, sharded safetensors with an index, TinyLlama-1.1B shapes) under
`--workdir`, then merges them with `python -m merge.run` and with mergekit's `mergekit-yaml` (from its
own virtual environment, see bench/merge_equivalence.py) with the same method, parameters, compute dtype
(float32) and output dtype (bfloat16). Each merge runs in a child process under `/usr/bin/time -v`, which
reports wall time and peak RSS. The inputs are read once before each run so both find them in the page
cache. With --rounds N the two alternate N times on the same inputs and medians are reported. The
checkpoints are deleted afterwards unless --keep.

    python bench/merge.py --workdir /tmp/merge-bench
    python bench/merge.py --workdir /tmp/merge-small --layers 2 --rounds 3    # a quick try
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml
from safetensors import safe_open
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # before bench/ itself, so `merge` is the package and not this file
from bench.merge_equivalence import find_mergekit_cli  # noqa: E402

SHAPE = {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
         "num_key_value_heads": 4, "vocab_size": 32000}  # fmt: skip


def llama_tensors(shape: dict) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of a LLaMA checkpoint with untied embeddings."""
    h, f, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    kv = h // shape["num_attention_heads"] * shape["num_key_value_heads"]
    out = [("model.embed_tokens.weight", (v, h))]
    for i in range(shape["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (h,)), (p + "self_attn.q_proj.weight", (h, h)),
                (p + "self_attn.k_proj.weight", (kv, h)), (p + "self_attn.v_proj.weight", (kv, h)),
                (p + "self_attn.o_proj.weight", (h, h)), (p + "post_attention_layernorm.weight", (h,)),
                (p + "mlp.gate_proj.weight", (f, h)), (p + "mlp.up_proj.weight", (f, h)),
                (p + "mlp.down_proj.weight", (h, f))]  # fmt: skip
    return out + [("model.norm.weight", (h,)), ("lm_head.weight", (v, h))]


def generate(workdir: Path, shape: dict, shard_bytes: int = 1_000_000_000) -> dict[str, Path]:
    """Write base, ct (task vector ~5x larger) and sft checkpoints; one tensor of each in memory at a time."""
    folders = {name: workdir / name for name in ("base", "ct", "sft")}
    scales = {"ct": 0.005, "sft": 0.001}
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
              "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
              "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2, **shape}  # fmt: skip
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config, indent=2))
    generator = torch.Generator().manual_seed(0)
    shards: dict[str, list[dict[str, torch.Tensor]]] = {name: [{}] for name in folders}
    sizes = dict.fromkeys(folders, 0)
    weight_maps: dict[str, dict[str, int]] = {name: {} for name in folders}

    def flush(name: str, final: bool = False) -> None:
        index = len(shards[name])
        save_file(
            shards[name][-1], str(folders[name] / f"shard-{index:05d}.safetensors"), metadata={"format": "pt"}
        )
        for tensor_name in shards[name][-1]:
            weight_maps[name][tensor_name] = index
        shards[name][-1] = {}
        if not final:
            shards[name].append({})
        sizes[name] = 0

    for tensor_name, tensor_shape in llama_tensors(shape):
        base = torch.randn(tensor_shape, generator=generator) * 0.02
        values = {"base": base}
        for name, scale in scales.items():
            values[name] = base + scale * torch.randn(tensor_shape, generator=generator)
        for name, value in values.items():
            value = value.to(torch.bfloat16)
            if sizes[name] and sizes[name] + value.nbytes > shard_bytes:
                flush(name)
            shards[name][-1][tensor_name] = value
            sizes[name] += value.nbytes
    for name, folder in folders.items():
        flush(name, final=True)
        count = len(shards[name])
        files = {}
        for i in range(1, count + 1):
            target = f"model-{i:05d}-of-{count:05d}.safetensors"
            (folder / f"shard-{i:05d}.safetensors").rename(folder / target)
            files[i] = target
        total = sum(math.prod(s) * 2 for _, s in llama_tensors(shape))
        index = {
            "metadata": {"total_size": total},
            "weight_map": {t: files[i] for t, i in weight_maps[name].items()},
        }
        (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return folders


def warm_cache(folders: dict[str, Path]) -> None:
    for folder in folders.values():
        for file in sorted(folder.glob("*.safetensors")):
            with open(file, "rb") as handle:
                while handle.read(1 << 26):
                    pass


def timed(command: list[str], log: Path, cwd: Path | None = None) -> dict:
    """Run `command` under /usr/bin/time -v; return wall seconds and peak RSS in GiB."""
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - started
    log.write_text(result.stdout + "\n" + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}); see {log}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", result.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", result.stderr).group(1))
    # CPU seconds are reported too: the machine is shared, so wall time includes waiting for a core.
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(user + system, 1),
        "peak_rss_gib": round(rss_kb / 2**20, 2),
    }


def compare_outputs(ours: Path, theirs: Path) -> dict:
    """Largest difference and fraction of differing bf16 values between the two merged checkpoints."""

    def handles(folder: Path) -> dict[str, Path]:
        return {n: f for f in folder.glob("*.safetensors") for n in safe_open(str(f), "pt").keys()}

    a, b = handles(ours), handles(theirs)
    if set(a) != set(b):
        return {"same_tensor_names": False}
    max_diff, differing, total = 0.0, 0, 0
    for name in a:
        x = safe_open(str(a[name]), "pt").get_tensor(name).float()
        y = safe_open(str(b[name]), "pt").get_tensor(name).float()
        max_diff = max(max_diff, float((x - y).abs().max()))
        differing += int(torch.count_nonzero(x != y))
        total += x.numel()
    return {"same_tensor_names": True, "max_abs_diff": max_diff, "fraction_differing": differing / total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/merge-bench")
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument(
        "--layers", type=int, default=SHAPE["num_hidden_layers"], help="fewer for a quick try"
    )
    parser.add_argument("--mergekit-yaml", help="path to mergekit-yaml (default: bench/.venv-mergekit)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate ours and mergekit this many times; medians are reported",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated checkpoints")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse checkpoints a --keep run left in --workdir"
    )
    args = parser.parse_args()
    shape = SHAPE | {"num_hidden_layers": args.layers}
    n_params = sum(math.prod(s) for _, s in llama_tensors(shape))
    workdir = Path(args.workdir)
    cli = find_mergekit_cli(args.mergekit_yaml)
    try:
        t0 = time.perf_counter()
        folders = {name: workdir / "inputs" / name for name in ("base", "ct", "sft")}
        if not (args.reuse and all((f / "model.safetensors.index.json").is_file() for f in folders.values())):
            folders = generate(workdir / "inputs", shape)
        print(
            f"generated 3 x {n_params / 1e9:.2f}B-parameter bf16 checkpoints in {time.perf_counter() - t0:.0f}s"
        )
        recipe = {"merge": {"method": "ties", "base": {"name": "base", "path": str(folders["base"])},
                  "models": [{"name": "ct", "path": str(folders["ct"])}, {"name": "sft", "path": str(folders["sft"])}],
                  "parameters": {"density": args.density, "lambda": 1.0}, "dtype": "bfloat16",
                  "compute_dtype": "float32", "max_shard_size": "5GB", "output": str(workdir / "ours"),
                  "overwrite": True}}  # fmt: skip
        (workdir / "ours.yaml").write_text(yaml.safe_dump(recipe))
        mk = {"merge_method": "ties", "base_model": str(folders["base"]),
              "models": [{"model": str(folders[n]), "parameters": {"weight": 1.0, "density": args.density}}
                         for n in ("ct", "sft")],
              "parameters": {"lambda": 1.0, "normalize": True}, "dtype": "float32", "out_dtype": "bfloat16"}  # fmt: skip
        (workdir / "mergekit.yaml").write_text(yaml.safe_dump(mk))
        # Rounds alternate ours and mergekit on the same inputs, so both see the same load on a shared machine.
        rounds: list[dict[str, dict]] = []
        for round_index in range(args.rounds):
            measured: dict[str, dict] = {}
            warm_cache(folders)
            measured["ours"] = timed(
                [sys.executable, "-m", "merge.run", str(workdir / "ours.yaml")],
                workdir / "ours.log",
                cwd=ROOT,
            )
            print(f"round {round_index + 1} ours:", measured["ours"])
            if cli is not None:
                warm_cache(folders)
                measured["mergekit"] = timed([str(cli), str(workdir / "mergekit.yaml"), str(workdir / "mergekit")],
                                             workdir / "mergekit.log")  # fmt: skip
                print(f"round {round_index + 1} mergekit:", measured["mergekit"])
            rounds.append(measured)
        results: dict[str, object] = {
            tool: {key: statistics.median(r[tool][key] for r in rounds) for key in rounds[0][tool]}
            for tool in rounds[0]
        }
        if args.rounds > 1:
            results["rounds"] = rounds
        if cli is not None:
            results["speedup_wall"] = round(results["mergekit"]["wall_s"] / results["ours"]["wall_s"], 2)
            results["speedup_cpu"] = round(results["mergekit"]["cpu_s"] / results["ours"]["cpu_s"], 2)
            results["memory_ratio"] = round(
                results["ours"]["peak_rss_gib"] / results["mergekit"]["peak_rss_gib"], 2
            )
            results["agreement"] = compare_outputs(workdir / "ours", workdir / "mergekit")
        else:
            print("mergekit-yaml not found: measured ours only", file=sys.stderr)
        survival = json.loads((workdir / "ours" / "merge_report.json").read_text())["survival"]["overall"]
        summary = {"params_per_model": n_params, "density": args.density, "cpu": platform.processor() or platform.machine(),
                   "results": results, "survival": survival}  # fmt: skip
        print(json.dumps(summary, indent=2))
        (Path(__file__).resolve().parent / "out").mkdir(exist_ok=True)
        (Path(__file__).resolve().parent / "out" / "merge.json").write_text(json.dumps(summary, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
