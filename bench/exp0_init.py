"""Experiment 0 (issue 15, point 4): ChatFlow's initialisation of new Chinese rows, on a real English-first model.

    python bench/exp0_init.py [--out work/exp0] [--steps 16] [--seed 1234] [--max-docs 30]

SmolLM2-135M-Instruct (`python bench/smollm2.py`) with its tokenizer extended by the frequent Chinese
characters of the real curated data (`python -m curation.run recipes/repro_real.yaml`, stage vocab). For each
way of initialising the added rows (`model.new_rows`: mean_subtokens = ChatFlow, random = normal(0, the
model's initializer_range), global_mean = the mean of all base rows):
- step 0: the resized model, written by the trainer's own resize (train.model_loading.resize_embeddings);
- after STEPS steps of embeddings-only training on the curated Chinese documents (`train.run` with
  `train.embedding_only_steps`, the same manifest for every arm);
both scored by `evaluation.run` on repro_real's held-out Chinese and English documents (bits per character;
the first MAX_DOCS documents of each). Tokens per character before and after the extension come from
the vocab stage's measurement on the held-out documents. Every step is skipped when its output exists.
Writes OUT/exp0.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REAL = ROOT / "recipes" / "repro_real.yaml"
INITS = ("mean_subtokens", "random", "global_mean")


def log(message: str) -> None:
    print(f"[exp0 {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list, logfile: Path) -> None:
    log(" ".join(map(str, cmd)) + f"   (log: {logfile})")
    with logfile.open("a") as fh:
        proc = subprocess.run([sys.executable, *map(str, cmd)], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        sys.exit(f"failed (exit {proc.returncode}); see {logfile}")


def step0_model(base: Path, tokenizer_dir: Path, new_rows: str, seed: int, out: Path) -> Path:
    """The base model grown to the extended tokenizer exactly as the trainer grows it, saved with that tokenizer."""
    if (out / "config.json").is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from train.model_loading import read_vocab_extension, resize_embeddings

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    resize_embeddings(model, len(tokenizer), read_vocab_extension(tokenizer_dir), new_rows)
    tmp = out.with_name(out.name + ".tmp")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "work" / "exp0")
    parser.add_argument("--steps", type=int, default=16, help="embeddings-only steps (4 x 512 tokens each)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--max-docs", type=int, default=30, help="held-out documents scored per language")
    args = parser.parse_args(argv)
    real = yaml.safe_load(REAL.read_text())
    workdir = (REAL.parent / real["workdir"]).resolve()
    base = (REAL.parent / real["tokenizer"]["path"]).resolve()
    tokenizer_dir = workdir / "tokenizer"
    if not (tokenizer_dir / "vocab_extension.json").is_file() or not (workdir / "tokens" / "zh_docs").is_dir():
        print(f"error: {workdir}: run `python bench/smollm2.py` and `python -m curation.run {REAL}` first", file=sys.stderr)
        return 2
    out = args.out.resolve() / f"seed{args.seed}"
    (out / "logs").mkdir(parents=True, exist_ok=True)
    # one recipe per arm over repro_real's workdir: its tokens, tokenizer and held-out sets
    data = {key: real[key] for key in ("sources", "tokenizer", "tokenize")}
    data.update(name="exp0", workdir=str(workdir), seed=args.seed,
                mixture={"global_batch": 4, "total": f"{args.steps} steps", "max_epochs": 5,
                         "schedule": {"kind": "constant", "mixture": {"zh": 1.0}}},
                evaluation={"perplexity": {"enabled": True, "sources": ["zh_docs", "en_docs"],
                                           "max_documents": args.max_docs}, "batch_tokens": 8192, "device": "cpu"})
    data["tokenizer"] = {**data["tokenizer"], "path": str(base)}
    manifest = out / "manifest"
    results: dict = {}
    for new_rows in INITS:
        arm = out / new_rows
        recipe = out / f"{new_rows}.yaml"
        recipe.write_text(yaml.safe_dump({
            **data,
            "model": {"path": str(base), "new_rows": new_rows, "attn_implementation": "sdpa"},
            "train": {"manifest": str(manifest), "output": str(arm / "train"), "micro_batch_size": 4, "lr": 1.0e-3,
                      "warmup_steps": 2, "lr_schedule": "constant", "weight_decay": 0.0,
                      "embedding_only_steps": args.steps, "checkpoint_every": args.steps, "keep_last": 1},
        }, sort_keys=False, allow_unicode=True))
        if not (manifest / "plan.json").is_file():
            run(["-m", "mixer.plan", recipe, "--output", manifest], out / "logs" / "plan.log")
        step0 = step0_model(base, tokenizer_dir, new_rows, args.seed, arm / "step0")
        if not (arm / "train" / "model" / "config.json").is_file():
            run(["-m", "train.run", recipe], out / "logs" / f"{new_rows}_train.log")
        scores = arm / "eval" / "results.json"
        if not scores.is_file():
            run(["-m", "evaluation.run", recipe, "--model", f"step0={step0}",
                 "--model", f"step{args.steps}={arm / 'train' / 'model'}", "--output", arm / "eval",
                 "--no-benchmarks"], out / "logs" / f"{new_rows}_eval.log")
        models = json.loads(scores.read_text())["models"]
        results[new_rows] = {name: {src: round(v["bits_per_char"], 4) for src, v in m["perplexity"]["by_source"].items()}
                             for name, m in models.items()}
    # the base model itself, unextended, on the same documents
    base_scores = out / "base_eval" / "results.json"
    if not base_scores.is_file():
        base_recipe = out / "base.yaml"
        # no tokenizer section: the base folder's own tokenizer scores it (repro_real's workdir holds the extended one)
        base_recipe.write_text(yaml.safe_dump({k: v for k, v in data.items() if k != "tokenizer"},
                                              sort_keys=False, allow_unicode=True))
        run(["-m", "evaluation.run", base_recipe, "--model", f"smollm2={base}", "--output", out / "base_eval",
             "--no-benchmarks"], out / "logs" / "base_eval.log")
    base_bpc = {src: round(v["bits_per_char"], 4) for src, v in
                json.loads(base_scores.read_text())["models"]["smollm2"]["perplexity"]["by_source"].items()}
    extension = json.loads((tokenizer_dir / "vocab_extension.json").read_text())
    per_token = extension["chars_per_token"]["zh"]
    summary = {"seed": args.seed, "steps": args.steps, "tokens_per_step": 4 * real["tokenize"]["seq_len"],
               "max_docs": args.max_docs, "added_tokens": extension["vocab_size"] - extension["base_vocab_size"],
               "zh_tokens_per_char": {"before": round(1 / per_token["before"], 4), "after": round(1 / per_token["after"], 4)},
               "base_bpc": base_bpc, "bpc": results}
    (out / "exp0.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"| new rows | zh bpc, step 0 | zh bpc, after {args.steps} steps | en bpc, step 0 | en bpc, after |")
    print("|---|---|---|---|---|")
    print(f"| (base, not extended) | {base_bpc.get('zh_docs')} | | {base_bpc.get('en_docs')} | |")
    for name, r in results.items():
        after = r[f"step{args.steps}"]
        print(f"| {name} | {r['step0']['zh_docs']} | {after['zh_docs']} | {r['step0']['en_docs']} | {after['en_docs']} |")
    print(f"zh tokens per character: {summary['zh_tokens_per_char']['before']} -> {summary['zh_tokens_per_char']['after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
