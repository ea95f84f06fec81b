"""The reproductions' own English-first base model, trained from scratch on real English text (issue 15, 2).

    python bench/english_base.py [--out work/english_base] [--steps 600] [--seed 1234]

Every step is one of the toolkit's commands, and every step is skipped when its output exists, so an
interrupted run continues (the trainer resumes from its newest checkpoint):
1. the training split of the curated real English documents (`recipes/repro_real.yaml`'s
   `curated/en_docs/`; its `heldout/en_docs/` shares no sentence with it and is never read here);
2. an English-only byte-level BPE tokenizer (8,192 tokens, `tokenizers`) trained on that split, with the
   demo tokenizer's specials and chat template, so Chinese characters fall apart into 2-3 byte tokens;
3. `curation.run` on that split (held-out fraction 0: the held-out set is repro_real's) -> token shards;
4. `mixer.plan` (English only, constant) and `train.run`: a LLaMA of 7.3M parameters (hidden 256, 6 layers,
   tied embeddings), STEPS x 16 sequences of 256 tokens, cosine schedule;
5. `evaluation.run` on repro_real's held-out English and Chinese documents: bits per character.
Writes OUT/summary.json (parameters, tokens seen, wall time, held-out bits per character).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REAL = ROOT / "work" / "repro_real"
VOCAB_SIZE = 8192
MODEL = {"model_type": "llama", "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 6,
         "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 512,
         "tie_word_embeddings": True}


def log(message: str) -> None:
    print(f"[english_base {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], logfile: Path) -> None:
    log(" ".join(map(str, cmd)) + f"   (log: {logfile})")
    with logfile.open("a") as fh:
        proc = subprocess.run([sys.executable, *map(str, cmd)], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        sys.exit(f"failed (exit {proc.returncode}); see {logfile}")


def train_tokenizer(folder: Path, out: Path) -> dict:
    """Byte-level BPE on English text only; specials and chat template as the demo tokenizer's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from common.documents import iter_documents

    texts = [doc["text"] for doc in iter_documents(folder)]
    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", bos)]),
    ])
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tok.save(str(tmp / "tokenizer.json"))
    demo = json.loads((ROOT / "recipes" / "demo_data" / "tokenizer" / "tokenizer_config.json").read_text())
    config = {key: demo[key] for key in ("tokenizer_class", "bos_token", "eos_token", "unk_token", "pad_token",
                                         "padding_side", "clean_up_tokenization_spaces", "chat_template")}
    config["model_max_length"] = 512
    (tmp / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    tmp.rename(out)
    return {"documents": len(texts), "characters": sum(map(len, texts)), "vocab_size": tok.get_vocab_size()}


def parameters(model: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(model / "model.safetensors"), "pt") as f:  # tied weights are stored once
        return sum(math.prod(f.get_slice(name).get_shape()) for name in f.keys())


def recipe(out: Path, steps: int, seed: int) -> Path:
    data = {
        "name": "english_base",
        "workdir": str(out / "work"),
        "seed": seed,
        "sources": [{"kind": "mono", "name": "en_docs", "language": "en",
                     "input": {"path": str(REAL / "curated" / "en_docs"), "format": "parquet"}}],
        "curation": {"executor": "local", "tasks": 1, "workers": 1, "bad_records": "exclude", "heldout_fraction": 0.0},
        "dedup": {"exact": True},
        "tokenizer": {"path": str(out / "tokenizer"), "extend": {"enabled": False}},
        "tokenize": {"seq_len": 256},
        "mixture": {"global_batch": 16, "total": f"{steps} steps", "max_epochs": 50,
                    "schedule": {"kind": "constant", "mixture": {"en": 1.0}}},
        "model": {"config": MODEL, "attn_implementation": "sdpa"},
        "train": {"micro_batch_size": 16, "lr": 2.0e-3, "warmup_steps": 30, "lr_schedule": "cosine",
                  "min_lr_ratio": 0.1, "weight_decay": 0.1, "grad_clip": 1.0, "checkpoint_every": 50, "keep_last": 1},
        "evaluation": {"perplexity": {"enabled": True}, "batch_tokens": 8192, "device": "cpu"},
    }
    path = out / "english_base.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "work" / "english_base")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not (REAL / "curated" / "en_docs").is_dir() or not (REAL / "heldout" / "en_docs").is_dir():
        print(f"error: {REAL}: no curated real text; run `python -m curation.run recipes/repro_real.yaml` first",
              file=sys.stderr)
        return 2
    started = time.time()
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    if not (out / "tokenizer" / "tokenizer.json").is_file():
        summary["tokenizer"] = train_tokenizer(REAL / "curated" / "en_docs", out / "tokenizer")
        log(f"tokenizer: {summary['tokenizer']}")
    path = recipe(out, args.steps, args.seed)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    work = out / "work"
    if not (work / "tokens" / "en_docs" / "meta.json").is_file():
        run(["-m", "curation.run", path], logs / "curation.log")
    if not (work / "manifest" / "plan.json").is_file():
        run(["-m", "mixer.plan", path], logs / "plan.log")
    t0 = time.time()
    if not (work / "model" / "config.json").is_file():
        run(["-m", "train.run", path], logs / "train.log")
        summary["train_seconds_this_run"] = round(time.time() - t0, 1)
    # scored on repro_real's held-out sets (evaluation reads WORKDIR/heldout/): a recipe with that workdir
    data = yaml.safe_load(path.read_text())
    data.pop("tokenizer")  # the model folder has its own; repro_real's workdir holds SmolLM2's extended one
    data.update(name="english_base_eval", workdir=str(REAL),
                evaluation={"perplexity": {"enabled": True, "sources": ["en_docs", "zh_docs"]}, "batch_tokens": 8192,
                            "device": "cpu"})
    eval_recipe = out / "english_base_eval.yaml"
    eval_recipe.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    results = out / "eval" / "results.json"
    if not results.is_file():
        run(["-m", "evaluation.run", eval_recipe, "--model", f"english_base={work / 'model'}", "--out", out / "eval",
             "--no-benchmarks"], logs / "eval.log")
    model = json.loads(results.read_text())["models"]["english_base"]
    meta = json.loads((work / "tokens" / "en_docs" / "meta.json").read_text())
    summary.update({
        "parameters": parameters(work / "model"),
        "steps": args.steps, "tokens_seen": args.steps * 16 * 256, "training_tokens_available": meta.get("n_tokens"),
        "heldout_bits_per_char": {name: round(src["bits_per_char"], 4)
                                  for name, src in model["perplexity"]["by_source"].items()},
        "wall_seconds_this_call": round(time.time() - started, 1),
    })
    summary_path.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
