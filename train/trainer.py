"""The trainer itself (`train.run` is its command line): a Hugging Face causal LM trained on the token
shards, step by step as the manifest says.

Reads the recipe's `model:` and `train:` sections, `workdir/manifest/` and `workdir/tokens/`; writes
`workdir/checkpoints/step-N/`, `workdir/train_logs/` (TensorBoard, metrics.jsonl, loss_per_source.png) and
the final Hugging Face model folder `workdir/model/`. As in torchtitan: `setup` builds what a run needs,
`train_step` is one optimizer step, and `train` is the loop.

Steps are numbered as the manifest numbers them, from 0: step s of the console and of metrics.jsonl
trains manifest step s (`mixer.show --steps s`); `checkpoints/step-N/` is the state after N steps (steps
0..N-1), so a resume from it continues at step N.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate import Accelerator, PartialState
from accelerate.utils import set_seed

from common.recipe import Recipe, RecipeError
from common.tokenizer import TokenizerLoadError, TokenizerSection, load_tokenizer, tokenizer_in_effect
from common.tokens import tokenizer_fingerprint
from mixer.manifest import Manifest, check_shards
from train import step_checkpoints
from train.lr_schedule import lr_multiplier
from train.manifest_batches import IGNORE_INDEX, MicroBatch, ShardSet, StepBatches
from train.model_loading import (
    FLASH_IMPLEMENTATIONS,
    ConfigKeyError,
    build_config,
    check_model_section,
    check_model_vocabulary,
    embedding_parameter_names,
    load_model,
    model_folder,
    parameter_groups,
    pick_attn_implementation,
    read_vocab_extension,
    resize_embeddings,
)
from train.recipe_sections import ModelSection, TrainError, TrainSection
from train.step_metrics import MetricsLogger, flops_per_token, peak_flops, truncate_step_log

log = logging.getLogger("train")

# Where the run is, for the one line Ctrl-C prints (train.run): the step being trained and the newest
# complete checkpoint (steps done), updated by the loop.
PROGRESS: dict[str, int | Path | None] = {"step": None, "checkpoint": None, "checkpoints_dir": None}


def open_manifest(manifest_dir: Path, tokens_dir: Path) -> Manifest:
    """The mixer's manifest, refused unless it was planned from exactly these token shards."""
    if not Path(manifest_dir).exists():
        raise TrainError(f"no manifest at {manifest_dir}; plan one first (python -m mixer.plan RECIPE)")
    try:
        manifest = Manifest.open(manifest_dir)
        check_shards(manifest, tokens_dir)  # raises naming each source whose shard changed since planning
    except (OSError, ValueError) as err:
        raise TrainError(str(err)) from None
    return manifest


def shards_tokenizer(recipe: Recipe, where: Path | None, shards: ShardSet):
    """The tokenizer in effect, checked against the shards' tokenizer fingerprint; None when the recipe
    names none or it cannot be loaded (a warning: training needs only the token ids)."""
    if where is None:
        return None
    remote = recipe.has("tokenizer") and recipe.section("tokenizer", TokenizerSection).trust_remote_code
    try:
        tokenizer = load_tokenizer(where, trust_remote_code=remote)
    except TokenizerLoadError as err:
        log.warning("%s; the model folder will have no tokenizer", err)
        return None
    fingerprint = tokenizer_fingerprint(tokenizer)
    for name, shard in shards.shards.items():
        if shard.tokenizer_fingerprint != fingerprint:
            raise TrainError(
                f"{shard.path} was tokenized with tokenizer {shard.tokenizer_fingerprint[:12]} but the tokenizer in "
                f"effect ({where}) is {fingerprint[:12]}; re-run tokenization for source {name}"
            )
    return tokenizer


def check(recipe: Recipe) -> None:
    """Validate the `model` and `train` sections without data, weights or the workdir; raises RecipeError
    (a `model.config` key the model type does not know: its YAML line and the closest key) or TrainError."""
    try:
        check_model_section(recipe.section("model", ModelSection))
    except ConfigKeyError as err:
        raise RecipeError([recipe._where(("model", "config", err.key)) + str(err)], recipe.path) from None
    recipe.section("train", TrainSection)


def output_folder(recipe: Recipe) -> Path:
    """Where checkpoints/ and train_logs/ go: `train.output`, else the workdir."""
    return recipe.section("train", TrainSection).output or recipe.workdir


def describe(recipe: Recipe, *, model_dir: Path | None = None, fresh: bool = False, data: bool = True) -> list[str]:
    """`--dry-run`: validate what can be validated now and say what a run would do, writing nothing: the
    model and its size, steps and tokens (when the manifest is planned; its shards and the tokenizer in
    effect checked as a run checks them), where it starts, what it writes. `data=False` (`--check`): the
    recipe only, nothing under the workdir is read."""
    check(recipe)
    model_cfg = recipe.section("model", ModelSection)
    cfg = recipe.section("train", TrainSection)
    out = cfg.output or recipe.workdir
    lines = [f"{recipe.path or 'recipe'}: model and train sections are valid"]
    manifest_dir, tokens_dir = cfg.manifest or recipe.workdir / "manifest", cfg.tokens or recipe.workdir / "tokens"
    vocab_size = None
    if not data:
        lines.append("data: not read (--check); --dry-run also checks the manifest, shards and tokenizer")
    elif manifest_dir.exists():
        manifest = open_manifest(manifest_dir, tokens_dir)
        shards = ShardSet(tokens_dir, manifest.sources)
        vocab_size = shards.vocab_size
        steps = min(manifest.num_steps, cfg.max_steps or manifest.num_steps)
        tokens = steps * manifest.global_batch * shards.seq_len
        lines.append(f"data: {steps:,} steps (0..{steps - 1} of the manifest's {manifest.num_steps:,}) x global batch "
                     f"{manifest.global_batch} x {shards.seq_len} tokens = {tokens:,} tokens, from {len(manifest.sources)} "
                     f"source(s) ({', '.join(manifest.sources)}); manifest {manifest_dir}")
        tokenizer_dir = tokenizer_in_effect(recipe)
        tokenizer = shards_tokenizer(recipe, tokenizer_dir, shards)
        if model_cfg.path is not None and tokenizer is not None:
            check_model_vocabulary(model_folder(model_cfg), tokenizer, tokenizer_dir,
                                   trust_remote_code=model_cfg.trust_remote_code)
    else:
        lines.append(f"data: no manifest yet at {manifest_dir} (plan one: python -m mixer.plan RECIPE); "
                     "steps and tokens are known after planning")
    name, params, embedding, rows = model_size(model_cfg, vocab_size)
    origin = f"model.path {model_cfg.path}" if model_cfg.path else "model.config"
    lines.append(f"model: {name} from {origin}, {params:,} parameters ({params - embedding:,} without the embeddings "
                 f"and LM head) with {rows:,} vocabulary rows"
                 + ("" if vocab_size or model_cfg.path else " (the config's default: a run takes the shards' vocabulary)"))
    found = step_checkpoints.complete_checkpoints(out / "checkpoints") if data else []
    if fresh or cfg.resume == "never":
        start = f"step 0 (--fresh: would delete {len(found)} checkpoint(s))" if found else "step 0"
    elif found:
        start = f"step {found[-1][0]}, resumed from {found[-1][1]}"
    else:
        start = "step 0 (no checkpoint yet)"
    if data:
        lines.append(f"start: {start}")
    lines.append(f"writes: checkpoints {out / 'checkpoints'}/step-N (every {cfg.checkpoint_every} steps, last "
                 f"{cfg.keep_last} kept), logs {out / 'train_logs'}, model {model_dir or out / 'model'}")
    lines.append("dry run: nothing was trained or written")
    return lines


def model_size(section: ModelSection, vocab_size: int | None) -> tuple[str, int, int, int]:
    """(class name, parameters, of which embedding and untied LM head, vocabulary rows) of the model a run
    would train, built on the meta device (no memory, no weights read)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    if section.path is not None:
        config = AutoConfig.from_pretrained(model_folder(section), trust_remote_code=section.trust_remote_code)
        if vocab_size and vocab_size > config.vocab_size:
            config.vocab_size = vocab_size
    else:
        config = build_config(section, vocab_size=vocab_size)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=section.trust_remote_code)
    embedding = {id(p): p.numel() for n, p in model.named_parameters() if n in embedding_parameter_names(model)}
    return (type(model).__name__, sum(p.numel() for p in model.parameters()), sum(embedding.values()),
            model.get_input_embeddings().weight.shape[0])


# ---------------------------------------------------------------------------------------------------
# setup: distributed layout, data, model, optimizer, lr schedule, accelerate.prepare, resume


@dataclass
class TrainState:
    """Everything the loop needs, built once by `setup`; `start_step` and `tokens_seen` come from the
    checkpoint resumed (0 on a fresh run)."""

    cfg: TrainSection
    manifest: Manifest
    shards: ShardSet
    batches: StepBatches
    accelerator: Accelerator
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    tokenizer: object | None
    frozen_in_phase_one: list[torch.nn.Parameter]  # trained only after `embedding_only_steps`
    out: Path
    start_step: int
    tokens_seen: int
    total_steps: int
    mean_initialised: int  # added embedding rows set to the mean of their base sub-tokens
    flops_per_token: float  # training FLOPs per token, for MFU
    attn_implementation: str
    mixed_precision: str

    @property
    def world(self) -> int:
        return self.accelerator.num_processes

    @property
    def rank(self) -> int:
        return self.accelerator.process_index


def setup(recipe: Recipe, *, manifest: Manifest | None = None, resume: str | None = None) -> TrainState:
    """Build the run: the global batch split over processes x micro-steps, the model grown to the
    tokenizer in effect, AdamW and the lr schedule prepared by Accelerate, and the newest checkpoint loaded."""
    check(recipe)  # a misspelt model.config key: its YAML line, before anything is built
    model_cfg = recipe.section("model", ModelSection)
    cfg = recipe.section("train", TrainSection)
    out = cfg.output or recipe.workdir
    tokens_dir = cfg.tokens or recipe.workdir / "tokens"
    if manifest is None:
        manifest = open_manifest(cfg.manifest or recipe.workdir / "manifest", tokens_dir)

    # Without a GPU, several processes (torchrun) talk over gloo; PartialState must be told it is on CPU.
    on_cpu = not torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_CPU", "").lower() in {"1", "true", "yes"}
    layout = PartialState(cpu=on_cpu)
    shards = ShardSet(tokens_dir, manifest.sources)
    attn = pick_attn_implementation(model_cfg.attn_implementation)
    batches = StepBatches(manifest, shards, world_size=layout.num_processes, rank=layout.process_index,
                          micro_batch_size=cfg.micro_batch_size, flatten=attn in FLASH_IMPLEMENTATIONS,
                          prefetch=cfg.prefetch)
    mixed = cfg.mixed_precision if cfg.mixed_precision != "auto" else ("bf16" if torch.cuda.is_available() else "no")
    accelerator = Accelerator(mixed_precision=mixed, gradient_accumulation_steps=batches.grad_accum,
                              step_scheduler_with_optimizer=False, cpu=on_cpu)
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and accelerator.distributed_type.name != "FSDP":
        # accelerate enables FSDP only on accelerators; on CPU processes it silently runs DDP instead
        log.warning("an FSDP config was given but accelerate runs %s (FSDP needs GPUs); the model is not sharded",
                    accelerator.distributed_type.name)
    set_seed(recipe.seed)

    # the model, its vocabulary grown to the tokenizer in effect (ChatFlow mean init)
    tokenizer_dir = tokenizer_in_effect(recipe)
    tokenizer = shards_tokenizer(recipe, tokenizer_dir, shards)
    if model_cfg.path is not None and tokenizer is not None:
        check_model_vocabulary(model_folder(model_cfg), tokenizer, tokenizer_dir,
                                   trust_remote_code=model_cfg.trust_remote_code)
    model = load_model(model_cfg, vocab_size=shards.vocab_size, attn_implementation=attn)
    extension = read_vocab_extension(tokenizer_dir) if isinstance(tokenizer_dir, Path) else None
    mean_initialised = resize_embeddings(model, shards.vocab_size, extension, model_cfg.new_rows)
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
                                  fused=accelerator.device.type in {"cuda", "cpu"})
    lr_curve = lr_multiplier(cfg.lr_schedule, total_steps=manifest.num_steps, warmup_steps=cfg.warmup_steps,
                             min_ratio=cfg.min_lr_ratio, decay_fraction=cfg.decay_fraction)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_curve)
    if cfg.compile:
        model = torch.compile(model)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    resume = resume or cfg.resume
    if accelerator.is_main_process:
        step_checkpoints.remove_unfinished(out / "checkpoints")
        if resume == "never":  # a fresh start: the old run's checkpoints would otherwise be resumed later
            step_checkpoints.remove_all(out / "checkpoints")
    accelerator.wait_for_everyone()
    start_step, tokens_seen = resume_newest(accelerator, out / "checkpoints", manifest, resume)
    return TrainState(
        cfg=cfg, manifest=manifest, shards=shards, batches=batches, accelerator=accelerator, model=model,
        optimizer=optimizer, scheduler=scheduler, tokenizer=tokenizer, frozen_in_phase_one=frozen_in_phase_one,
        out=out, start_step=start_step, tokens_seen=tokens_seen,
        total_steps=min(manifest.num_steps, cfg.max_steps or manifest.num_steps),
        mean_initialised=mean_initialised, flops_per_token=flops_token, attn_implementation=attn,
        mixed_precision=mixed,
    )


def resume_newest(accelerator: Accelerator, checkpoints_dir: Path, manifest: Manifest, resume: str) -> tuple[int, int]:
    """(step, tokens seen) of the newest complete checkpoint, loaded into the prepared objects; (0, 0)
    when there is none or `resume` is "never". A checkpoint of another manifest is refused."""
    found = step_checkpoints.complete_checkpoints(checkpoints_dir) if resume != "never" else []
    if resume == "always" and not found:
        raise TrainError(f"--resume asked for but {checkpoints_dir} has no complete checkpoint")
    if not found:
        return 0, 0
    saved = step_checkpoints.load(accelerator, found[-1][1])
    if saved.get("manifest_fingerprint") != manifest.fingerprint:
        raise TrainError(f"{found[-1][1]} was trained from another manifest ({saved.get('manifest_fingerprint')}); "
                         f"move {checkpoints_dir} away or restore that manifest")
    return saved["step"], saved["tokens_seen"]


# ---------------------------------------------------------------------------------------------------
# one training step


@dataclass
class StepResult:
    """What one optimizer step measured, summed over every process."""

    loss_sum: torch.Tensor  # (n_sources,) summed token losses per manifest source
    loss_tokens: torch.Tensor  # (n_sources,) number of loss tokens per source
    lr: float  # the learning rate this step used
    grad_norm: torch.Tensor | None  # before clipping; None without train.grad_clip


def train_step(state: TrainState, step: int, micro_batches: list[MicroBatch]) -> StepResult:
    """Forward and backward over this rank's micro-batches of `step`, clip, then one optimizer and lr step."""
    accelerator, model = state.accelerator, state.model
    device, n_sources = accelerator.device, len(state.manifest.sources)
    scale = state.world * state.batches.grad_accum
    # Normalise by the loss tokens of the whole global batch, so the gradient is the same however
    # the batch is split over processes and micro-steps.
    local_tokens = torch.tensor(float(sum(mb.n_loss_tokens for mb in micro_batches)), device=device)
    global_tokens = accelerator.reduce(local_tokens, "sum").clamp(min=1)
    loss_sum = torch.zeros(n_sources, device=device)
    loss_tokens = torch.zeros(n_sources, device=device)
    for mb in micro_batches:
        mb = mb.to(device)
        with accelerator.accumulate(model):
            # No cache: transformers keeps attention per document (from position ids) only without one.
            logits = model(input_ids=mb.input_ids, position_ids=mb.position_ids, use_cache=False,
                           **mb.flash_kwargs).logits
            token_loss = F.cross_entropy(logits.float().flatten(0, 1), mb.labels.flatten(),
                                         ignore_index=IGNORE_INDEX, reduction="none")
            # accelerate divides by grad_accum and DDP averages over processes: undo both.
            accelerator.backward(token_loss.sum() * scale / global_tokens)
        rows = len(mb.rows)
        loss_sum.index_add_(0, mb.row_source, token_loss.detach().view(rows, -1).sum(1))
        loss_tokens.index_add_(0, mb.row_source, (mb.labels != IGNORE_INDEX).view(rows, -1).sum(1).float())
    if step < state.cfg.embedding_only_steps:
        for p in state.frozen_in_phase_one:
            p.grad = None  # AdamW skips parameters without a gradient: no update, no decay
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), state.cfg.grad_clip) if state.cfg.grad_clip else None
    lr = state.scheduler.get_last_lr()[0]
    state.optimizer.step()
    state.scheduler.step()
    state.optimizer.zero_grad(set_to_none=True)
    loss_sum, loss_tokens = accelerator.reduce(torch.stack([loss_sum, loss_tokens]), "sum")
    return StepResult(loss_sum, loss_tokens, lr, grad_norm)


# ---------------------------------------------------------------------------------------------------
# the loop


def train(recipe: Recipe, *, manifest: Manifest | None = None, resume: str | None = None,
          model_dir: Path | None = None, quiet: bool = False) -> Path:
    """Run (or continue) training; returns the final model folder (`model_dir`, default `OUT/model`).
    `manifest` overrides opening one; `resume="never"` starts from step 0 and deletes the old checkpoints;
    `quiet` (-q) prints no per-step lines (metrics.jsonl and TensorBoard get them all the same)."""
    PROGRESS.update(step=None, checkpoint=None, checkpoints_dir=None)
    state = setup(recipe, manifest=manifest, resume=resume)
    try:
        return _loop(recipe, state, model_dir or state.out / "model", quiet)
    finally:
        state.batches.close()


def _loop(recipe: Recipe, state: TrainState, model_dir: Path, quiet: bool) -> Path:
    cfg, manifest, accelerator = state.cfg, state.manifest, state.accelerator
    logs = state.out / "train_logs"
    logger = MetricsLogger(logs, enabled=accelerator.is_main_process, total_steps=state.total_steps,
                           resume_step=state.start_step, title=f"{recipe.name} ({recipe.workdir})", console=not quiet)
    samples_log = None
    if cfg.log_samples:
        samples_path = logs / f"samples-rank-{state.rank}.jsonl"
        # Each rank keeps its own rows of the steps before the one resumed (none on a fresh run).
        truncate_step_log(samples_path, state.start_step)
        samples_log = samples_path.open("a")
    if accelerator.is_main_process and not quiet:
        where = (f"resuming at step {state.start_step} from checkpoints/step-{state.start_step}"
                 if state.start_step else "from step 0")
        print(f"training {type(accelerator.unwrap_model(state.model)).__name__} "
              f"({sum(p.numel() for p in state.model.parameters()):,} parameters, attention "
              f"{state.attn_implementation}, {state.mixed_precision}) on {state.world} process(es) x "
              f"{state.batches.grad_accum} micro-step(s) of {cfg.micro_batch_size}; {where}, steps "
              f"{state.start_step}..{state.total_steps - 1} of the manifest's 0..{manifest.num_steps - 1}; "
              f"{state.mean_initialised} new embedding rows initialised ({recipe.section('model', ModelSection).new_rows})", flush=True)
    PROGRESS.update(step=state.start_step, checkpoint=state.start_step or None,
                    checkpoints_dir=state.out / "checkpoints")
    evaluator = None
    if cfg.eval_every:
        from train.heldout_eval import HeldoutEvaluator

        context = getattr(accelerator.unwrap_model(state.model).config, "max_position_embeddings", None) or 2048
        evaluator = HeldoutEvaluator(recipe, state.tokenizer, cfg, accelerator, context)
    peak = peak_flops(cfg.peak_flops)
    tokens_per_step = manifest.global_batch * state.shards.seq_len

    for step in range(state.start_step, state.total_steps):
        PROGRESS["step"] = step
        t0 = time.perf_counter()
        micro_batches, data_wait = state.batches.get(step)
        result = train_step(state, step, micro_batches)
        if samples_log is not None:
            samples_log.writelines(json.dumps({"step": step, "rank": state.rank, "micro": micro, "source": s,
                                               "index": i}) + "\n"
                                   for micro, mb in enumerate(micro_batches) for s, i in mb.rows)
        step_time = time.perf_counter() - t0
        state.tokens_seen += tokens_per_step

        if step % cfg.log_every == 0 or step == state.total_steps - 1:
            tokens_per_s = tokens_per_step / step_time
            # One device-to-host copy for all logged numbers (each .item() would be a sync of its own).
            sums, counts = result.loss_sum.tolist(), result.loss_tokens.tolist()
            logger.log({
                "step": step,
                "loss": sum(sums) / max(sum(counts), 1.0),
                "loss_per_source": {s: sums[i] / counts[i] for i, s in enumerate(manifest.sources) if counts[i] > 0},
                "lr": result.lr,
                "grad_norm": float(result.grad_norm) if result.grad_norm is not None else None,
                "tokens_per_s": tokens_per_s,
                "mfu": state.flops_per_token * tokens_per_s / (peak * state.world) if peak else None,
                "data_wait_s": data_wait,
                "data_wait_frac": data_wait / step_time,
                "step_time_s": step_time,
                "tokens_seen": state.tokens_seen,
            })
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == state.total_steps:
            step_checkpoints.save(accelerator, state.out / "checkpoints", step + 1, {
                "manifest_fingerprint": manifest.fingerprint, "tokens_seen": state.tokens_seen,
                "sources": manifest.sources, "world_size": state.world, "micro_batch_size": cfg.micro_batch_size,
            }, cfg.keep_last)
            PROGRESS["checkpoint"] = step + 1
        if evaluator is not None and ((step + 1) % cfg.eval_every == 0 or step + 1 == state.total_steps):
            logger.log_eval(step, evaluator.evaluate(state.model))

    if samples_log is not None:
        samples_log.close()
    logger.close()
    return save_final_model(accelerator, state.model, state.tokenizer, model_dir)


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
