"""The `model:` and `train:` recipe sections, validated by pydantic (unknown keys are errors)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from common.recipe import InputPath, OutputPath, Section


class TrainError(RuntimeError):
    """Training cannot start or continue; the message says what is wrong and how to fix it."""


class ModelSection(Section):
    """Which causal LM to train: a local Hugging Face folder (`path`) or one built from `config`."""

    path: InputPath | None = None
    config: dict[str, Any] | None = None  # e.g. {model_type: llama, hidden_size: 64, ...}; vocab_size comes from the shards
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention"] = "auto"
    trust_remote_code: bool = False
    # rows of tokens the extended tokenizer adds: the mean of each token's base sub-token rows (ChatFlow),
    # normal(0, the config's initializer_range) ("random"), or the mean of all base rows ("global_mean")
    new_rows: Literal["mean_subtokens", "random", "global_mean"] = "mean_subtokens"

    @model_validator(mode="after")
    def _one_source(self) -> ModelSection:
        if (self.path is None) == (self.config is None):
            raise ValueError("give exactly one of model.path (a Hugging Face model folder) or model.config")
        if self.config is not None and "model_type" not in self.config:
            raise ValueError("model.config needs a model_type (e.g. llama)")
        return self


class TrainSection(Section):
    """Loop, optimizer, learning-rate schedule, checkpoints. Paths default to folders under the recipe's workdir."""

    manifest: OutputPath | None = None  # default: workdir/manifest
    tokens: OutputPath | None = None  # default: workdir/tokens
    output: OutputPath | None = None  # default: workdir (checkpoints/, model/, train_logs/ go there)
    micro_batch_size: int = Field(1, ge=1)  # sequences per device per micro-step; accumulation is derived
    max_steps: int | None = Field(None, ge=1)  # default: every step of the manifest
    lr: float = Field(3e-4, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    warmup_steps: int = Field(0, ge=0)
    lr_schedule: Literal["cosine", "linear", "wsd", "constant"] = "cosine"  # the learning-rate curve (train/lr_schedule.py)
    decay_fraction: float = Field(0.2, gt=0, le=1)  # wsd: share of the steps spent decaying at the end
    weight_decay: float = Field(0.1, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0)
    grad_clip: float | None = Field(1.0, gt=0)
    embedding_only_steps: int = Field(0, ge=0)  # first phase: train only embeddings and LM head
    mixed_precision: Literal["auto", "no", "bf16"] = "auto"  # auto: bf16 autocast on CUDA, fp32 elsewhere
    activation_checkpointing: bool = False
    compile: bool = False
    checkpoint_every: int = Field(100, ge=1)
    keep_last: int = Field(2, ge=1)
    resume: Literal["auto", "always", "never"] = "auto"  # auto: continue from the newest complete checkpoint
    log_every: int = Field(1, ge=1)
    log_samples: bool = False  # write train_logs/samples-rank-R.jsonl: every manifest row each rank used
    peak_flops: float | None = Field(None, gt=0)  # per device, for MFU; default: known GPUs' dense bf16 peak
    prefetch: bool = True  # build the next step's batches in a background thread
    eval_every: int | None = Field(None, ge=1)  # held-out bits per character every N steps (and after the last); off by default
    eval_max_documents: int = Field(64, ge=1)  # per source, the first N held-out documents
    eval_max_tokens: int = Field(32_768, ge=1)  # per source, at most this many tokens scored
    eval_batch_size: int = Field(8, ge=1)  # sequences per forward pass during evaluation
