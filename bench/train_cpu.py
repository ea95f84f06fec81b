"""Trainer throughput on CPU: our loop vs the Hugging Face Trainer, same tiny model, data, batch and run.

    python bench/train_cpu.py [--steps 30] [--hidden 128] [--layers 4] [--seq-len 256] [--batch 8]

Both train the same LLaMA-style model from the same seed on the same packed sequences in the same
order (global batch = micro batch, no accumulation), AdamW + cosine + clipping, fp32. We time the
optimizer steps only (first two excluded as warm-up) and report tokens/s and the ratio ours / HF.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_train_fixtures import random_manifest, tiny_recipe, write_shards  # noqa: E402
from train.data import ShardSet  # noqa: E402
from train.run import train  # noqa: E402


def hf_trainer_step_times(root: Path, manifest, model_config: dict, args) -> list[float]:
    from transformers import AutoConfig, AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments

    shards = ShardSet(root / "work" / "tokens", manifest.sources)

    class ManifestOrder(torch.utils.data.Dataset):
        rows = [r for s in range(manifest.num_steps) for r in manifest.steps[s]]

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, i):
            seq = shards.shards[self.rows[i][0]][self.rows[i][1]]
            labels = torch.from_numpy(seq.input_ids).clone()
            labels[torch.from_numpy(seq.loss_mask) == 0] = -100
            return {"input_ids": torch.from_numpy(seq.input_ids), "labels": labels,
                    "position_ids": torch.from_numpy(seq.position_ids())}

    class InOrder(Trainer):
        def _get_train_sampler(self, *a, **k):
            return torch.utils.data.SequentialSampler(self.train_dataset)

    class Timer(TrainerCallback):
        times: list[float] = []

        def on_step_begin(self, *a, **k):
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            self.times.append(time.perf_counter() - self.t0)

    torch.manual_seed(7)
    config = AutoConfig.for_model(**{**model_config, "vocab_size": shards.vocab_size})
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    model.config.use_cache = False
    targs = TrainingArguments(
        output_dir=str(root / "hf"), per_device_train_batch_size=args.batch, max_steps=manifest.num_steps,
        learning_rate=3e-3, warmup_steps=2, lr_scheduler_type="cosine", weight_decay=0.1, adam_beta2=0.95,
        max_grad_norm=1.0, use_cpu=True, report_to=[], save_strategy="no", logging_steps=10**6,
        dataloader_num_workers=0, seed=7, disable_tqdm=True,
    )
    timer = Timer()
    InOrder(model=model, args=targs, train_dataset=ManifestOrder(), callbacks=[timer]).train()
    return timer.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--vocab", type=int, default=4096)
    args = parser.parse_args()
    model_config = {"model_type": "llama", "hidden_size": args.hidden, "intermediate_size": 4 * args.hidden,
                    "num_hidden_layers": args.layers, "num_attention_heads": 4, "num_key_value_heads": 4,
                    "max_position_embeddings": args.seq_len}
    sizes = {"zh": 200, "en": 200}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_shards(root / "work" / "tokens", sizes, seq_len=args.seq_len, vocab_size=args.vocab, masked=())
        manifest = random_manifest(sizes, num_steps=args.steps, global_batch=args.batch)
        recipe = tiny_recipe(root, micro_batch_size=args.batch, checkpoint_every=10**6, prefetch=True)
        recipe.data["model"]["config"] = model_config
        train(recipe, manifest=manifest)
        ours = [json.loads(line)["step_time_s"] for line in (root / "work" / "train_logs" / "metrics.jsonl").open()]
        hf = hf_trainer_step_times(root, manifest, model_config, args)
    tokens = args.batch * args.seq_len
    ours_tps = tokens * len(ours[2:]) / sum(ours[2:])
    hf_tps = tokens * len(hf[2:]) / sum(hf[2:])
    print(f"\nmachine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"model: llama hidden {args.hidden} x {args.layers} layers, vocab {args.vocab}, seq_len {args.seq_len}, "
          f"batch {args.batch}, {args.steps} steps (first 2 excluded)")
    print(f"ours:       {ours_tps:10,.0f} tokens/s  ({sum(ours[2:]) / len(ours[2:]) * 1000:.1f} ms/step)")
    print(f"HF Trainer: {hf_tps:10,.0f} tokens/s  ({sum(hf[2:]) / len(hf[2:]) * 1000:.1f} ms/step)")
    print(f"ratio ours / HF: {ours_tps / hf_tps:.2f}x")


if __name__ == "__main__":
    main()
