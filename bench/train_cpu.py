"""Trainer throughput on CPU: our loop vs the Hugging Face Trainer, same tiny model, data, batch and masks.

    python bench/train_cpu.py [--steps 20] [--repeats 3] [--hidden 128] [--layers 4] [--seq-len 256] [--batch 8]

Both train the same LLaMA-style model from the same seed on the same packed sequences in the same
order (global batch = micro batch, no accumulation), AdamW + cosine + clipping, fp32, sdpa with the
same per-document attention (position ids restart at each document on both sides). Each run is its
own process; ours and HF alternate (`--repeats` pairs, the first of each pair swapped every time) so
that load from other users of the machine hits both alike. A step is timed from the end of the
previous optimizer step to the end of this one, so everything a loop does per step counts (data,
logging, metrics); the first two steps are warm-up. Wall time and process CPU time are both reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_train_fixtures import random_manifest, tiny_recipe, write_shards  # noqa: E402
from train.manifest_batches import ShardSet  # noqa: E402

SIZES = {"zh": 200, "en": 200}
WARMUP = 2


def clock() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: user + system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


def model_config(args) -> dict:
    return {"model_type": "llama", "hidden_size": args.hidden, "intermediate_size": 4 * args.hidden,
            "num_hidden_layers": args.layers, "num_attention_heads": 4, "num_key_value_heads": 4,
            "max_position_embeddings": args.seq_len}


def run_ours(root: Path, manifest, args) -> list[tuple[float, float]]:
    """Step-end clock readings of `train.run.train` (taken when each step's metrics are logged)."""
    from train import run

    ends: list[tuple[float, float]] = []

    class TimedLogger(run.MetricsLogger):
        def log(self, record: dict) -> None:
            ends.append(clock())
            super().log(record)

    run.MetricsLogger = TimedLogger
    recipe = tiny_recipe(root, micro_batch_size=args.batch, checkpoint_every=10**6, prefetch=True,
                         tokens=str(root / "tokens"))
    recipe.data["model"]["config"] = model_config(args)
    run.train(recipe, manifest=manifest)
    return ends


def run_hf(root: Path, manifest, args) -> list[tuple[float, float]]:
    """Step-end clock readings of `transformers.Trainer` on the same rows in the same order."""
    from transformers import AutoConfig, AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments

    shards = ShardSet(root / "tokens", manifest.sources)

    class ManifestOrder(torch.utils.data.Dataset):
        rows = [r for s in range(manifest.num_steps) for r in manifest.steps[s]]

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, i):
            seq = shards.shards[self.rows[i][0]][self.rows[i][1]]
            labels = torch.from_numpy(seq.input_ids).clone()
            labels[torch.from_numpy(seq.loss_mask) == 0] = -100
            # position_ids restart at each document: transformers then builds the same block-diagonal
            # causal mask for sdpa as it does in our loop.
            return {"input_ids": torch.from_numpy(seq.input_ids), "labels": labels,
                    "position_ids": torch.from_numpy(seq.position_ids())}

    class InOrder(Trainer):
        def _get_train_sampler(self, *a, **k):
            return torch.utils.data.SequentialSampler(self.train_dataset)

    ends: list[tuple[float, float]] = []

    class StepEnds(TrainerCallback):
        def on_step_end(self, *a, **k):
            ends.append(clock())

    torch.manual_seed(7)
    config = AutoConfig.for_model(**{**model_config(args), "vocab_size": shards.vocab_size})
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    model.config.use_cache = False
    targs = TrainingArguments(
        output_dir=str(root / "hf"), per_device_train_batch_size=args.batch, max_steps=manifest.num_steps,
        learning_rate=3e-3, warmup_steps=2, lr_scheduler_type="cosine", weight_decay=0.1, adam_beta2=0.95,
        max_grad_norm=1.0, use_cpu=True, report_to=[], save_strategy="no", logging_steps=10**6,
        dataloader_num_workers=0, seed=7, disable_tqdm=True,
    )
    InOrder(model=model, args=targs, train_dataset=ManifestOrder(), callbacks=[StepEnds()]).train()
    return ends


def per_step(ends: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean (wall, CPU) seconds per step after warm-up, from step-end clock readings."""
    (w0, c0), (w1, c1) = ends[WARMUP - 1], ends[-1]
    n = len(ends) - WARMUP
    return (w1 - w0) / n, (c1 - c0) / n


def child(args) -> None:
    root = Path(args.child_root)
    manifest = random_manifest(SIZES, num_steps=args.steps, global_batch=args.batch)
    ends = (run_ours if args.child == "ours" else run_hf)(root, manifest, args)
    if len(ends) != args.steps:
        raise SystemExit(f"{args.child}: timed {len(ends)} steps, expected {args.steps}")
    wall, cpu = per_step(ends)
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "threads": torch.get_num_threads()}))


def spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} [{format(min(values), fmt)}..{format(max(values), fmt)}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="ours/HF pairs, run alternately")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--child", choices=["ours", "hf"], help=argparse.SUPPRESS)
    parser.add_argument("--child-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps <= WARMUP:
        parser.error(f"--steps must be more than the {WARMUP} warm-up steps")
    if args.child:
        child(args)
        return

    tokens_per_step = args.batch * args.seq_len
    results: dict[str, list[dict]] = {"ours": [], "hf": []}
    with tempfile.TemporaryDirectory() as tmp:
        write_shards(Path(tmp) / "tokens", SIZES, seq_len=args.seq_len, vocab_size=args.vocab, masked=())
        forwarded = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                     if k not in {"child", "child_root", "repeats"}]
        for repeat in range(args.repeats):
            for side in (["ours", "hf"] if repeat % 2 == 0 else ["hf", "ours"]):
                root = Path(tmp) / f"{side}-{repeat}"
                root.mkdir()
                (root / "tokens").symlink_to(Path(tmp) / "tokens")
                done = subprocess.run([sys.executable, __file__, f"--child={side}", f"--child-root={root}", *forwarded],
                                      capture_output=True, text=True)
                if done.returncode:
                    sys.exit(f"{side} run failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results[side].append(result)
                print(f"repeat {repeat} {side:4}: {tokens_per_step / result['wall_s']:8,.0f} tokens/s wall, "
                      f"{result['wall_s'] * 1000:7.0f} ms/step wall, {result['cpu_s'] * 1000:7.0f} ms/step CPU", flush=True)

    def tps(side: str, key: str) -> list[float]:
        return [tokens_per_step / r[key] for r in results[side]]

    print(f"\nmachine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{results['ours'][0]['threads']} intra-op threads")
    print(f"model: llama hidden {args.hidden} x {args.layers} layers, vocab {args.vocab}, seq_len {args.seq_len}, "
          f"batch {args.batch}, {args.steps} steps (first {WARMUP} excluded), {args.repeats} interleaved repeats")
    print("median [min..max] over repeats:")
    for key, label in (("wall_s", "wall"), ("cpu_s", "CPU")):
        print(f"  tokens/s per {label:4} second: ours {spread(tps('ours', key), ',.0f')}, "
              f"HF Trainer {spread(tps('hf', key), ',.0f')}")
        pair_ratios = [h[key] / o[key] for o, h in zip(results["ours"], results["hf"], strict=True)]
        print(f"  ratio ours / HF ({label}, per pair): {spread(pair_ratios, '.2f')}")


if __name__ == "__main__":
    main()
