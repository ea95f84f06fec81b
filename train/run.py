"""Train a Hugging Face causal LM on the token shards, step by step as the manifest says.

    accelerate launch train/run.py [RECIPE]          # one or many GPUs (see recipes/accelerate/)
    python train/run.py [RECIPE]                     # one process, CPU or one GPU

Reads the recipe's `model:` and `train:` sections, `workdir/manifest/` and `workdir/tokens/`; writes
`workdir/checkpoints/step-N/`, `workdir/train_logs/` (TensorBoard, metrics.jsonl, loss_per_source.png)
and the final Hugging Face model folder `workdir/model/`. The loop below is the whole algorithm.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    # Run as a script: keep train/ off the import path so our module names cannot shadow others.
    sys.path.pop(0)

import argparse
import json
import logging
import os
import shutil
import time

import torch
import torch.nn.functional as F
from accelerate import Accelerator, PartialState
from accelerate.utils import set_seed

from common.recipe import Recipe, RecipeError
from common.tokenizer import tokenizer_in_effect
from common.tokens import ShardError, tokenizer_fingerprint
from train import checkpoint
from train.config import ModelSection, TrainError, TrainSection
from train.data import IGNORE_INDEX, ShardSet, StepBatches
from train.metrics import MetricsLogger, flops_per_token, peak_flops
from train.model import (
    FLASH_IMPLEMENTATIONS,
    embedding_parameter_names,
    load_model,
    parameter_groups,
    pick_attn_implementation,
    read_vocab_extension,
    resize_embeddings,
)
from train.schedule import lr_multiplier

log = logging.getLogger("train")
DEFAULT_RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "demo.yaml"


def open_manifest(manifest_dir: Path, tokens_dir: Path):
    """The mixer's manifest, refused unless it was planned from exactly these token shards."""
    try:
        from mixer.manifest import Manifest, check_shards
    except ImportError as err:
        raise TrainError(f"cannot read manifests: mixer.manifest is not available ({err})") from None
    if not Path(manifest_dir).exists():
        raise TrainError(f"no manifest at {manifest_dir}; plan one first (python -m mixer.plan RECIPE)")
    try:
        manifest = Manifest.open(manifest_dir)
        check_shards(manifest, tokens_dir)  # raises naming each source whose shard changed since planning
    except (OSError, ValueError) as err:
        raise TrainError(str(err)) from None
    return manifest


def load_tokenizer(where: Path | str | None, shards: ShardSet):
    """The tokenizer in effect, checked against the shards' tokenizer fingerprint (None if there is none)."""
    if where is None:
        return None
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(where))
    except (OSError, ValueError) as err:
        log.warning("tokenizer %s could not be loaded (%s); the model folder will have no tokenizer", where, err)
        return None
    fingerprint = tokenizer_fingerprint(tokenizer)
    for name, shard in shards.shards.items():
        if shard.tokenizer_fingerprint != fingerprint:
            raise TrainError(
                f"{shard.path} was tokenized with tokenizer {shard.tokenizer_fingerprint[:12]} but the tokenizer in "
                f"effect ({where}) is {fingerprint[:12]}; re-run tokenization for source {name}"
            )
    return tokenizer


def train(recipe: Recipe, *, manifest=None, resume: str | None = None) -> Path:
    """Run (or continue) training; returns the final model folder. `manifest` overrides opening one."""
    model_cfg = recipe.section("model", ModelSection)
    cfg = recipe.section("train", TrainSection)
    out = cfg.output or recipe.workdir
    tokens_dir = cfg.tokens or recipe.workdir / "tokens"
    if manifest is None:
        manifest = open_manifest(cfg.manifest or recipe.workdir / "manifest", tokens_dir)
    resume = resume or cfg.resume

    # --- distributed layout: the global batch splits over processes x accumulation micro-steps
    # Without a GPU, several processes (torchrun) talk over gloo; PartialState must be told it is on CPU.
    on_cpu = not torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_CPU", "").lower() in {"1", "true", "yes"}
    state = PartialState(cpu=on_cpu)
    world, rank = state.num_processes, state.process_index
    shards = ShardSet(tokens_dir, manifest.sources)
    attn = pick_attn_implementation(model_cfg.attn_implementation)
    batches = StepBatches(manifest, shards, world_size=world, rank=rank, micro_batch_size=cfg.micro_batch_size,
                          flatten=attn in FLASH_IMPLEMENTATIONS, prefetch=cfg.prefetch)
    grad_accum = batches.grad_accum
    mixed = cfg.mixed_precision if cfg.mixed_precision != "auto" else ("bf16" if torch.cuda.is_available() else "no")
    accelerator = Accelerator(mixed_precision=mixed, gradient_accumulation_steps=grad_accum,
                              step_scheduler_with_optimizer=False, cpu=on_cpu)
    device = accelerator.device
    set_seed(recipe.seed)

    # --- model: load or build, grow the vocabulary to the tokenizer in effect (ChatFlow mean init)
    tokenizer_dir = tokenizer_in_effect(recipe)
    tokenizer = load_tokenizer(tokenizer_dir, shards)
    model = load_model(model_cfg, vocab_size=shards.vocab_size, attn_implementation=attn)
    extension = read_vocab_extension(tokenizer_dir) if isinstance(tokenizer_dir, Path) else None
    mean_initialised = resize_embeddings(model, shards.vocab_size, extension)
    model.config.use_cache = False
    if cfg.activation_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    embedding_names = embedding_parameter_names(model)
    frozen_in_phase_one = [p for n, p in model.named_parameters() if n not in embedding_names]
    if cfg.embedding_only_steps and accelerator.distributed_type.name in {"FSDP", "DEEPSPEED"}:
        raise TrainError("train.embedding_only_steps works on one device or DDP, not FSDP/DeepSpeed (flat parameters)")
    flops_token = flops_per_token(model, shards.seq_len)

    # fused=False would not mean foreach on CPU: torch then falls back to a Python loop over parameters
    # (several times slower than the fused kernel the HF Trainer uses by default).
    optimizer = torch.optim.AdamW(parameter_groups(model, cfg.weight_decay), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                                  fused=device.type in {"cuda", "cpu"})
    schedule = lr_multiplier(cfg.schedule, total_steps=manifest.num_steps, warmup_steps=cfg.warmup_steps,
                             min_ratio=cfg.min_lr_ratio, decay_fraction=cfg.decay_fraction)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    if cfg.compile:
        model = torch.compile(model)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    # --- resume from the newest complete checkpoint
    checkpoints_dir = out / "checkpoints"
    start_step, tokens_seen = 0, 0
    found = checkpoint.complete_checkpoints(checkpoints_dir) if resume != "never" else []
    if resume == "always" and not found:
        raise TrainError(f"--resume asked for but {checkpoints_dir} has no complete checkpoint")
    if found:
        saved = checkpoint.load(accelerator, found[-1][1])
        if saved.get("manifest_fingerprint") != manifest.fingerprint:
            raise TrainError(f"{found[-1][1]} was trained from another manifest ({saved.get('manifest_fingerprint')}); "
                             f"move {checkpoints_dir} away or restore that manifest")
        start_step, tokens_seen = saved["step"], saved["tokens_seen"]
    total_steps = min(manifest.num_steps, cfg.max_steps or manifest.num_steps)

    logger = MetricsLogger(out / "train_logs", enabled=accelerator.is_main_process, total_steps=total_steps,
                           resume_step=start_step)
    samples_log = None
    if cfg.log_samples:
        (out / "train_logs").mkdir(parents=True, exist_ok=True)
        samples_log = (out / "train_logs" / f"samples-rank-{rank}.jsonl").open("a" if start_step else "w")
    if accelerator.is_main_process:
        print(f"training {type(accelerator.unwrap_model(model)).__name__} ({sum(p.numel() for p in model.parameters()):,} "
              f"parameters, attention {attn}, {mixed}) on {world} process(es) x {grad_accum} micro-step(s) of "
              f"{cfg.micro_batch_size}; steps {start_step}..{total_steps} of {manifest.num_steps}; "
              f"{mean_initialised} embedding rows mean-initialised", flush=True)
    peak = peak_flops(cfg.peak_flops)
    n_sources = len(manifest.sources)
    tokens_per_step = manifest.global_batch * shards.seq_len

    # --- the loop
    for step in range(start_step, total_steps):
        t0 = time.perf_counter()
        micro_batches, data_wait = batches.get(step)
        # Normalise by the loss tokens of the whole global batch, so the gradient is the same however
        # the batch is split over processes and micro-steps.
        local_tokens = torch.tensor(float(sum(mb.n_loss_tokens for mb in micro_batches)), device=device)
        global_tokens = accelerator.reduce(local_tokens, "sum").clamp(min=1)
        loss_sum = torch.zeros(n_sources, device=device)
        loss_tokens = torch.zeros(n_sources, device=device)
        for micro, mb in enumerate(micro_batches):
            mb = mb.to(device)
            with accelerator.accumulate(model):
                # No cache: transformers keeps attention per document (from position ids) only without one.
                logits = model(input_ids=mb.input_ids, position_ids=mb.position_ids, use_cache=False,
                               **mb.flash_kwargs).logits
                token_loss = F.cross_entropy(logits.float().flatten(0, 1), mb.labels.flatten(),
                                             ignore_index=IGNORE_INDEX, reduction="none")
                # accelerate divides by grad_accum and DDP averages over processes: undo both.
                accelerator.backward(token_loss.sum() * (world * grad_accum) / global_tokens)
            rows = len(mb.rows)
            loss_sum.index_add_(0, mb.row_source, token_loss.detach().view(rows, -1).sum(1))
            loss_tokens.index_add_(0, mb.row_source, (mb.labels != IGNORE_INDEX).view(rows, -1).sum(1).float())
            if samples_log is not None:
                samples_log.writelines(json.dumps({"step": step, "rank": rank, "micro": micro, "source": s, "index": i}) + "\n"
                                       for s, i in mb.rows)
        if step < cfg.embedding_only_steps:
            for p in frozen_in_phase_one:
                p.grad = None  # AdamW skips parameters without a gradient: no update, no decay
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip) if cfg.grad_clip else None
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        loss_sum, loss_tokens = accelerator.reduce(torch.stack([loss_sum, loss_tokens]), "sum")
        step_time = time.perf_counter() - t0
        tokens_seen += tokens_per_step
        if step % cfg.log_every == 0 or step == total_steps - 1:
            tokens_per_s = tokens_per_step / step_time
            # One device-to-host copy for all logged numbers (each .item() would be a sync of its own).
            sums, counts = loss_sum.tolist(), loss_tokens.tolist()
            logger.log({
                "step": step,
                "loss": sum(sums) / max(sum(counts), 1.0),
                "loss_per_source": {s: sums[i] / counts[i] for i, s in enumerate(manifest.sources) if counts[i] > 0},
                "lr": lr,
                "grad_norm": float(grad_norm) if grad_norm is not None else None,
                "tokens_per_s": tokens_per_s,
                "mfu": flops_token * tokens_per_s / (peak * world) if peak else None,
                "data_wait_s": data_wait,
                "data_wait_frac": data_wait / step_time,
                "step_time_s": step_time,
                "tokens_seen": tokens_seen,
            })
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == total_steps:
            checkpoint.save(accelerator, checkpoints_dir, step + 1, {
                "manifest_fingerprint": manifest.fingerprint, "tokens_seen": tokens_seen,
                "sources": manifest.sources, "world_size": world, "micro_batch_size": cfg.micro_batch_size,
            }, cfg.keep_last)

    batches.close()
    if samples_log is not None:
        samples_log.close()
    logger.close()
    return save_final_model(accelerator, model, tokenizer, out / "model")


def save_final_model(accelerator: Accelerator, model, tokenizer, model_dir: Path) -> Path:
    """A plain Hugging Face model folder (safetensors + tokenizer in effect), published atomically."""
    state_dict = accelerator.get_state_dict(model)
    tmp = model_dir.with_name(model_dir.name + ".tmp")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.config.use_cache = True
        unwrapped.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        shutil.rmtree(model_dir, ignore_errors=True)
        os.replace(tmp, model_dir)
        print(f"model written to {model_dir}", flush=True)
    accelerator.wait_for_everyone()
    return model_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", nargs="?", default=str(DEFAULT_RECIPE), help="recipe YAML (default: the demo)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_const", const="always", dest="resume",
                       help="continue from the newest complete checkpoint (an error if there is none)")
    group.add_argument("--no-resume", action="store_const", const="never", dest="resume",
                       help="start from step 0 even if checkpoints exist")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        train(Recipe.load(args.recipe), resume=args.resume)
    except (RecipeError, TrainError, ShardError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
