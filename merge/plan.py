"""The merge plan: which models, which output tensors, and every check that can fail before anything is written.

Everything that can be wrong with the inputs (architecture, missing tensors, shapes, vocabulary) is found
from the models' configs and safetensors headers alone, and reported together in one MergeError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import MergeSection, ModelRef
from .io import MergeError, ModelReader, TensorInfo

# Config keys that must agree for tensors of the same name to mean the same thing.
ARCHITECTURE_KEYS = (
    "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "hidden_act",
)  # fmt: skip
HEAD_NAMES = ("lm_head.weight",)
EMBED_SUFFIXES = ("embed_tokens.weight", "wte.weight", "embed_in.weight")


@dataclass
class TensorPlan:
    """How one output tensor is made: its shape and dtype, and which input rows feed it."""

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype
    base_rows: int | None = None  # for vocabulary tensors: rows every model has (the base vocabulary)
    merge: bool = True  # False: copied from the config model (integer buffers)


@dataclass
class MergePlan:
    """The checked inputs and every output tensor, in the order they are merged and written."""

    labels: list[str]
    readers: list[ModelReader]  # base first when there is one
    has_base: bool
    tensors: list[TensorPlan]
    tie_output: bool
    output_vocab: int | None
    config_reader: ModelReader
    tokenizer_reader: ModelReader
    notes: list[str] = field(default_factory=list)

    @property
    def base(self) -> ModelReader | None:
        return self.readers[0] if self.has_base else None

    @property
    def models(self) -> list[ModelReader]:
        """The models merged (with weights), without the base."""
        return self.readers[1:] if self.has_base else self.readers

    @property
    def model_labels(self) -> list[str]:
        return self.labels[1:] if self.has_base else self.labels

    @property
    def base_vocab_size(self) -> int | None:
        """Rows of the vocabulary tensors that every model has (merged by the method); None: no such tensors."""
        return next((p.base_rows for p in self.tensors if p.base_rows is not None), None)

    def output_config(self, dtype: str | None) -> dict:
        """The merged model's config.json: config_from's, with the merged vocabulary, tying and stored dtype."""
        config = dict(self.config_reader.config)
        if self.output_vocab is not None:
            config["vocab_size"] = self.output_vocab
        config["tie_word_embeddings"] = self.tie_output
        if dtype:
            config["dtype"] = dtype
            config.pop("torch_dtype", None)
        return config


def open_models(section: MergeSection) -> tuple[list[str], list[ModelReader]]:
    """Labels and lazy readers of the base (first, when there is one) and the models, hub names fetched."""
    refs = ([section.base] if section.base is not None else []) + list(section.models)
    labels = section.labels()
    return labels, [
        ModelReader(resolve_model(ref, label), label) for ref, label in zip(refs, labels, strict=True)
    ]


def resolve_model(ref: ModelRef, label: str) -> Path:
    """A local folder as is; a hub name downloaded (weights, configs, tokenizer only) to the HF cache."""
    if ref.is_local:
        return Path(ref.path)
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                ref.path,
                revision=ref.revision,
                allow_patterns=["*.safetensors", "*.json", "tokenizer.model", "*.txt", "*.jinja"],
            )
        )
    except Exception as err:  # hub errors are many types; the message is what the user needs
        raise MergeError(f"{label}: cannot fetch {ref.path} from the hub: {err}") from None


def stored_name(reader: ModelReader, name: str) -> str | None:
    """The stored tensor that provides `name` for this model (the input embedding for a tied head)."""
    if name in reader.tensors:
        return name
    if name in HEAD_NAMES and reader.tie_word_embeddings:
        return next((n for n in reader.tensors if n.endswith(EMBED_SUFFIXES)), None)
    return None


def plan_merge(section: MergeSection, readers: list[ModelReader], labels: list[str]) -> MergePlan:
    """Check that the inputs can be merged and decide every output tensor; raise MergeError otherwise."""
    has_base = section.base is not None
    reference = readers[0]
    problems: list[str] = []
    for label, reader in zip(labels[1:], readers[1:], strict=True):
        for key in ARCHITECTURE_KEYS:
            ours, theirs = reference.config.get(key), reader.config.get(key)
            if ours != theirs and ours is not None and theirs is not None:
                problems.append(f"{label}: config {key} is {theirs!r} but {labels[0]} has {ours!r}")
    if problems:
        raise MergeError("models have different architectures:\n  " + "\n  ".join(problems))

    by_label = dict(zip(labels, readers, strict=True))
    config_reader = by_label[section.config_from] if section.config_from else reference
    tokenizer_reader = by_label[section.tokenizer_from] if section.tokenizer_from else config_reader
    tie_output = all(r.tie_word_embeddings and not any(h in r.tensors for h in HEAD_NAMES) for r in readers)

    names = [n for n in config_reader.tensors]
    for reader in readers:
        names += [n for n in reader.tensors if n not in names]
    if not tie_output:
        names += [h for h in HEAD_NAMES if h not in names and any(stored_name(r, h) for r in readers)]
    else:
        names = [n for n in names if n not in HEAD_NAMES]

    out_dtype = getattr(torch, section.dtype) if section.dtype else None
    vocab_sizes = [r.vocab_size for r in readers]
    plans: list[TensorPlan] = []
    output_vocab: int | None = None
    for name in names:
        infos: list[TensorInfo | None] = []
        for label, reader in zip(labels, readers, strict=True):
            stored = stored_name(reader, name)
            if stored is None:
                problems.append(f"{label}: has no tensor {name}")
                infos.append(None)
            else:
                infos.append(reader.tensors[stored])
        present = [i for i in infos if i is not None]
        if len(present) != len(infos):
            continue
        shapes = {i.shape for i in present}
        stored_dtype = config_reader.tensors[stored_name(config_reader, name) or name].dtype
        dtype = out_dtype if (out_dtype is not None and stored_dtype.is_floating_point) else stored_dtype
        if not all(i.dtype.is_floating_point for i in present):
            plans.append(TensorPlan(name, present[0].shape, stored_dtype, merge=False))
            if len(shapes) > 1:
                problems.append(f"{name}: shapes differ: " + _shapes_text(labels, infos))
            continue
        if len(shapes) == 1:
            plans.append(TensorPlan(name, present[0].shape, dtype))
            continue
        # Shapes may differ only in the vocabulary dimension of embeddings and heads.
        rest = {i.shape[1:] for i in present}
        is_vocab = len(rest) == 1 and all(
            i.shape[0] == v for i, v in zip(present, vocab_sizes, strict=True) if v is not None
        )
        if not is_vocab:
            problems.append(f"{name}: shapes differ: " + _shapes_text(labels, infos))
            continue
        rows = [i.shape[0] for i in present]
        base_rows = rows[0] if has_base else min(rows)
        if has_base and min(rows) < base_rows:
            smaller = [lab for lab, r in zip(labels, rows, strict=True) if r < base_rows]
            problems.append(
                f"{name}: {', '.join(smaller)} have fewer vocabulary rows than the base ({base_rows})"
            )
            continue
        output_vocab = max(rows)
        plans.append(TensorPlan(name, (output_vocab, *present[0].shape[1:]), dtype, base_rows=base_rows))

    if output_vocab is not None and tokenizer_reader.vocab_size != output_vocab:
        owner = [lab for lab, r in zip(labels, readers, strict=True) if r.vocab_size == output_vocab]
        problems.append(
            f"the merged embeddings have {output_vocab} rows (vocabulary of {', '.join(owner)}) but the tokenizer "
            f"comes from a model with vocab_size {tokenizer_reader.vocab_size}; set merge.tokenizer_from: {owner[0]}"
        )
    if problems:
        raise MergeError("cannot merge these models:\n  " + "\n  ".join(problems))
    notes = []
    if output_vocab is not None:
        base_rows = next(p.base_rows for p in plans if p.base_rows is not None)
        notes.append(
            f"vocabulary: rows below {base_rows} merged by the method, rows {base_rows}..{output_vocab - 1} "
            "from the models that have them"
        )
    if tie_output:
        notes.append("tied embeddings: the output has no separate lm_head")
    return MergePlan(
        labels, readers, has_base, plans, tie_output, output_vocab, config_reader, tokenizer_reader, notes
    )


def _shapes_text(labels: list[str], infos: list[TensorInfo | None]) -> str:
    return ", ".join(f"{lab} {list(i.shape) if i else None}" for lab, i in zip(labels, infos, strict=True))
