"""Trainer throughput on one CUDA GPU: a ~1B LLaMA-style model, seq_len 2048, bf16 autocast.

    python bench/train_gpu.py [--steps 30] [--micro-batch 4] [--accum 2] [--attn auto] [--compile] [--ac]

Runs our real loop (train/run.py's `train`) on synthetic packed token shards and a random manifest,
then prints tokens/s, MFU against the GPU's dense bf16 peak, peak memory, and the fraction of step
time spent waiting for data (steps after the first 3). Needs no network: everything is built locally.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_train_fixtures import random_manifest, tiny_recipe, write_shards  # noqa: E402
from train.run import train  # noqa: E402

LLAMA_1B = {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
            "num_attention_heads": 32, "num_key_value_heads": 4, "max_position_embeddings": 2048,
            "tie_word_embeddings": False}  # TinyLlama-1.1B shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--accum", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--attn", default="auto", help="auto, sdpa, flash_attention_2, flex_attention")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--ac", action="store_true", help="activation checkpointing")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench/train_gpu.py needs a CUDA GPU")
    global_batch = args.micro_batch * args.accum
    sizes = {"zh": 4 * global_batch, "en": 4 * global_batch}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_shards(root / "work" / "tokens", sizes, seq_len=args.seq_len, vocab_size=32000, masked=())
        manifest = random_manifest(sizes, num_steps=args.steps, global_batch=global_batch)
        recipe = tiny_recipe(root, micro_batch_size=args.micro_batch, checkpoint_every=10**6, prefetch=True,
                             lr=3e-4, compile=args.compile, activation_checkpointing=args.ac)
        recipe.data["model"]["config"] = {**LLAMA_1B, "max_position_embeddings": args.seq_len}
        recipe.data["model"]["attn_implementation"] = args.attn
        torch.cuda.reset_peak_memory_stats()
        train(recipe, manifest=manifest)
        records = [json.loads(line) for line in (root / "work" / "train_logs" / "metrics.jsonl").open()][3:]
    step_time = sum(r["step_time_s"] for r in records)
    tokens = global_batch * args.seq_len * len(records)
    mfu = [r["mfu"] for r in records if r["mfu"] is not None]
    print(f"\ndevice: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"model: LLaMA {LLAMA_1B['hidden_size']}x{LLAMA_1B['num_hidden_layers']} (~1.1B), seq_len {args.seq_len}, "
          f"micro-batch {args.micro_batch} x accum {args.accum}, attn {args.attn}, compile {args.compile}, AC {args.ac}")
    print(f"tokens/s: {tokens / step_time:,.0f}")
    print(f"MFU (dense bf16 peak): {sum(mfu) / len(mfu):.1%}" if mfu else "MFU: unknown GPU peak (pass train.peak_flops)")
    print(f"peak memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    print(f"data wait: {sum(r['data_wait_s'] for r in records) / step_time:.2%} of step time")


if __name__ == "__main__":
    main()
