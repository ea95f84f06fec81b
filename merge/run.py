"""`python -m merge.run RECIPE`: merge a base, a language (CT) and a task (SFT) model into one HF folder.

Streams one tensor at a time: every input is opened lazily, each output tensor is merged from the inputs'
copies of it and written to its shard at once. Everything that can be wrong with the inputs (architecture,
missing tensors, shapes, vocabulary) is checked before anything is written. The result goes to a
temporary folder renamed on success; `merge_report.json` in it records the inputs, the method and the
survival diagnostic (docs/merge.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from common.recipe import Recipe, RecipeError

from .config import MergeSection, ModelRef, load_section
from .io import MergeError, ModelReader, ShardedWriter, TensorInfo, parse_size
from .methods import CHUNK, METHODS, Method, MethodSection, TensorContext, map_chunks, top_k_mask

REPORT_VERSION = 1
# Config keys that must agree for tensors of the same name to mean the same thing.
ARCHITECTURE_KEYS = (
    "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "hidden_act",
)  # fmt: skip
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
    "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json",
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
    labels: list[str]
    readers: list[ModelReader]  # base first when there is one
    has_base: bool
    tensors: list[TensorPlan]
    tie_output: bool
    output_vocab: int | None
    config_reader: ModelReader
    tokenizer_reader: ModelReader
    notes: list[str] = field(default_factory=list)


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


def _tensor_of(reader: ModelReader, name: str) -> str | None:
    """The stored tensor that provides `name` for this model (the input embedding for a tied head)."""
    if name in reader.tensors:
        return name
    if name in HEAD_NAMES and reader.tie_word_embeddings:
        return next((n for n in reader.tensors if n.endswith(EMBED_SUFFIXES)), None)
    return None


def build_plan(section: MergeSection, readers: list[ModelReader], labels: list[str]) -> MergePlan:
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
        names += [h for h in HEAD_NAMES if h not in names and any(_tensor_of(r, h) for r in readers)]
    else:
        names = [n for n in names if n not in HEAD_NAMES]

    out_dtype = getattr(torch, section.dtype) if section.dtype else None
    vocab_sizes = [r.vocab_size for r in readers]
    plans: list[TensorPlan] = []
    output_vocab: int | None = None
    for name in names:
        infos: list[TensorInfo | None] = []
        for label, reader in zip(labels, readers, strict=True):
            stored = _tensor_of(reader, name)
            if stored is None:
                problems.append(f"{label}: has no tensor {name}")
                infos.append(None)
            else:
                infos.append(reader.tensors[stored])
        present = [i for i in infos if i is not None]
        if len(present) != len(infos):
            continue
        shapes = {i.shape for i in present}
        stored_dtype = config_reader.tensors[_tensor_of(config_reader, name) or name].dtype
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
        base_rows = plans_base_rows(plans)
        notes.append(
            f"vocabulary: rows below {base_rows} merged by the method, rows {base_rows}..{output_vocab - 1} "
            "from the models that have them"
        )
    if tie_output:
        notes.append("tied embeddings: the output has no separate lm_head")
    return MergePlan(
        labels, readers, has_base, plans, tie_output, output_vocab, config_reader, tokenizer_reader, notes
    )


def plans_base_rows(plans: list[TensorPlan]) -> int | None:
    return next((p.base_rows for p in plans if p.base_rows is not None), None)


def _shapes_text(labels: list[str], infos: list[TensorInfo | None]) -> str:
    return ", ".join(f"{lab} {list(i.shape) if i else None}" for lab, i in zip(labels, infos, strict=True))


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MergeError(f"merge.device is {name} but CUDA is not available")
    return device


@dataclass
class Survival:
    """Counts for one model: important (top-k) task-vector entries, and those that survived the merge."""

    important: int = 0
    survived: int = 0

    @property
    def fraction(self) -> float | None:
        return self.survived / self.important if self.important else None


def survival_counts(
    task_vector: torch.Tensor, merged_delta: torch.Tensor, top_k: float, important: torch.Tensor | None = None
) -> Survival:
    """Of the top-k entries of `task_vector` by magnitude, how many the merged task vector keeps.

    An entry survives when the merged task vector is non-zero there with the same sign (TIES keeps a
    parameter's contribution exactly when its sign agrees with the elected one and it was not trimmed).
    """
    if important is None:
        important, _ = top_k_mask(task_vector, top_k)
    tau, merged, important = task_vector.reshape(-1), merged_delta.reshape(-1), important.reshape(-1)
    n_important = n_kept = 0
    for start in range(0, tau.numel(), CHUNK):
        chunk = slice(start, start + CHUNK)
        counted = important[chunk] & (tau[chunk] != 0)
        n_important += int(torch.count_nonzero(counted))
        n_kept += int(torch.count_nonzero(counted & (merged[chunk] * tau[chunk] > 0)))
    return Survival(n_important, n_kept)


def merge(section: MergeSection, params: MethodSection, output: Path, *, seed: int = 0, log=print) -> dict:
    """Merge the models `section` names into the HF folder `output`; return the report (also in the folder)."""
    started = time.perf_counter()
    method = METHODS[section.method]
    refs = ([section.base] if section.base is not None else []) + list(section.models)
    labels = section.labels()
    readers = [ModelReader(resolve_model(ref, label), label) for ref, label in zip(refs, labels, strict=True)]
    plan = build_plan(section, readers, labels)
    device = _device(section.device)
    compute_dtype = getattr(torch, section.compute_dtype)
    model_labels = labels[1:] if plan.has_base else labels
    weights = torch.tensor([m.weight for m in section.models], dtype=torch.float64)
    top_k = section.diagnostics.top_k or getattr(params, "density", None) or 0.2
    diagnose = section.diagnostics.enabled and plan.has_base

    if output.exists() and not section.overwrite:
        raise MergeError(f"output {output} exists; remove it or set merge.overwrite: true")
    staging = output.with_name(output.name + ".tmp")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    writer = ShardedWriter(
        staging, [(p.name, p.shape, p.dtype) for p in plan.tensors], parse_size(section.max_shard_size)
    )
    totals = {label: Survival() for label in model_labels}
    per_tensor: dict[str, dict[str, float | None]] = {}
    log(
        f"merge: {section.method} of {', '.join(model_labels)}"
        + (f" onto {labels[0]}" if plan.has_base else "")
    )
    for note in plan.notes:
        log(f"  {note}")
    threads = torch.get_num_threads()
    # On CPU, slices of a tensor run side by side on a pool of threads, each op on one thread: an op of
    # OpenMP threads waits at its barrier for every thread, which on busy cores stalls the whole op.
    pool = ThreadPoolExecutor(threads) if device.type == "cpu" and threads > 1 else None
    buffers = _Buffers()
    if pool is not None:
        torch.set_num_threads(1)
    try:
        for i, tensor_plan in enumerate(plan.tensors):
            if not tensor_plan.merge:
                reader = plan.config_reader
                writer.write(
                    tensor_plan.name, reader.get(_tensor_of(reader, tensor_plan.name) or tensor_plan.name)
                )
                continue
            if method.uses_task_vectors and device.type == "cpu":
                ctx = TensorContext(tensor_plan.name, seed, survival={}, pool=pool)
                merged, counts = _merge_task_vectors(
                    plan, tensor_plan, method, params, weights.to(compute_dtype), compute_dtype, ctx, buffers,
                    diagnose, top_k,
                )  # fmt: skip
                if counts is not None:
                    per_tensor[tensor_plan.name] = {}
                    for label, count in zip(model_labels, counts, strict=True):
                        totals[label].important += count.important
                        totals[label].survived += count.survived
                        per_tensor[tensor_plan.name][label] = count.fraction
            else:
                merged = _merge_tensor(plan, tensor_plan, method, params, weights, compute_dtype, device, seed,
                                       diagnose, top_k, model_labels, totals, per_tensor)  # fmt: skip
            writer.write(tensor_plan.name, merged)
            del merged
            if (i + 1) % 50 == 0:
                log(f"  {i + 1}/{len(plan.tensors)} tensors")
    finally:
        if pool is not None:
            pool.shutdown()
            torch.set_num_threads(threads)
    writer.close()

    _write_config(plan, staging, section)
    copied = [f for f in TOKENIZER_FILES if (plan.tokenizer_reader.folder / f).is_file()]
    for name in copied:
        shutil.copy2(plan.tokenizer_reader.folder / name, staging / name)
    generation = plan.config_reader.folder / "generation_config.json"
    if generation.is_file():
        shutil.copy2(generation, staging / "generation_config.json")

    overall = {label: s.fraction for label, s in totals.items()} if diagnose else {}
    report = {
        "format_version": REPORT_VERSION,
        "method": section.method,
        "parameters": params.model_dump(by_alias=True),
        "base": str(plan.readers[0].folder) if plan.has_base else None,
        "models": [
            {"name": label, "path": str(reader.folder), "weight": float(ref.weight)}
            for label, reader, ref in zip(
                model_labels, plan.readers[-len(model_labels) :], section.models, strict=True
            )
        ],
        "config_from": str(plan.config_reader.folder),
        "tokenizer_from": str(plan.tokenizer_reader.folder),
        "tokenizer_files": copied,
        "vocab_size": plan.output_vocab or plan.config_reader.vocab_size,
        "base_vocab_size": plans_base_rows(plan.tensors),
        "tie_word_embeddings": plan.tie_output,
        "n_tensors": len(plan.tensors),
        "n_shards": len(writer.names),
        "bytes": writer.total_bytes,
        "seconds": round(time.perf_counter() - started, 3),
        "survival": {
            "top_k": top_k,
            "definition": "fraction of each model's top-k task-vector entries (by magnitude) that the merged "
            "task vector keeps with the same sign",
            "overall": overall,
            "per_tensor": per_tensor,
        },
    }
    (staging / "merge_report.json").write_text(json.dumps(report, indent=2) + "\n")
    if output.exists():
        shutil.rmtree(output)
    staging.rename(output)
    if diagnose:
        log(f"survival of top-{top_k:g} task-vector entries: " + ", ".join(
            f"{label} {value:.3f}" if value is not None else f"{label} n/a" for label, value in overall.items()
        ))  # fmt: skip
    log(
        f"wrote {output} ({len(plan.tensors)} tensors, {len(writer.names)} shards) in {report['seconds']:.1f}s"
    )
    return report


class _Buffers:
    """Flat CPU buffers reused from tensor to tensor, grown to the largest one.

    A fresh multi-megabyte tensor is a fresh memory mapping, which the kernel fills page by page on first
    touch (millions of page faults over a 7B merge); a reused buffer is faulted in once.
    """

    def __init__(self) -> None:
        self._store: dict[str, torch.Tensor] = {}

    def get(self, key: str, numel: int, dtype: torch.dtype) -> torch.Tensor:
        buffer = self._store.get(key)
        if buffer is None or buffer.dtype != dtype or buffer.numel() < numel:
            self._store.pop(key, None)
            buffer = torch.empty(numel, dtype=dtype)
            self._store[key] = buffer
        return buffer[:numel]


def _merge_task_vectors(
    plan: MergePlan,
    tensor_plan: TensorPlan,
    method: Method,
    params: MethodSection,
    w: torch.Tensor,
    compute_dtype: torch.dtype,
    ctx: TensorContext,
    buffers: _Buffers,
    diagnose: bool,
    top_k: float,
) -> tuple[torch.Tensor, list[Survival] | None]:
    """One output tensor of a task-vector method on CPU, in reused buffers; and its survival counts.

    The same arithmetic as `_merge_tensor` (the results are bit-identical), done over slices in cache:
    inputs are read straight into buffers, converted and subtracted from the base slice by slice, and the
    merged task vector is added to the base and cast to the output dtype slice by slice.
    """
    rows = tensor_plan.base_rows
    readers = plan.readers
    names = [_tensor_of(r, tensor_plan.name) for r in readers]
    base_info = readers[0].tensors[names[0]]
    first = readers[0].read_into(names[0], buffers.get("base", base_info.numel, base_info.dtype))
    anchor = first[:rows]  # the base's rows, in its stored dtype: converted slice by slice
    flat_anchor = anchor.reshape(-1)
    n = flat_anchor.numel()
    stacked = buffers.get("task_vectors", (len(readers) - 1) * n, compute_dtype).view(len(readers) - 1, n)
    extra_rows = [first[rows:].clone()] if rows is not None else []
    for j, (reader, name) in enumerate(zip(readers[1:], names[1:], strict=True)):
        info = reader.tensors[name]
        raw = reader.read_into(name, buffers.get(f"input {info.dtype}", info.numel, info.dtype))
        flat_raw, task_vector = raw[:rows].reshape(-1), stacked[j]

        def subtract(start: int, stop: int, flat_raw=flat_raw, task_vector=task_vector) -> None:
            # As the model converted to compute_dtype minus the base converted to compute_dtype.
            task_vector[start:stop].copy_(flat_raw[start:stop]).sub_(
                flat_anchor[start:stop].to(compute_dtype)
            )

        list(map_chunks(n, subtract, ctx.pool))
        if rows is not None:
            extra_rows.append(raw[rows:].clone())
    deltas = stacked.view(len(readers) - 1, *anchor.shape)
    # TIES hands back the survival counts of its own trim; other methods get a copy and are counted after.
    counts_from_method = plan.has_base and method.name in ("ties", "ties_sv") and top_k == params.density
    ctx = TensorContext(ctx.name, ctx.seed, survival=ctx.survival, pool=ctx.pool,
                        out=buffers.get("merged", n, compute_dtype))  # fmt: skip
    merged_delta = method.fn(deltas if counts_from_method or not diagnose else deltas.clone(), w, params, ctx)
    counts = None
    if diagnose and counts_from_method and ctx.survival is not None:
        counts = [Survival(*c) for c in ctx.survival[params.density]]
    elif diagnose:
        counts = []
        for index, delta in enumerate(deltas):
            # Counted in the direction the model pushes: w_i * tau_i.
            direction = -delta if float(w[index]) < 0 else delta
            counts.append(survival_counts(direction, merged_delta, top_k, None))
    flat_delta = merged_delta.reshape(-1)
    if rows is not None:
        merged = flat_delta.view(anchor.shape).add_(anchor.to(compute_dtype))
        models_extra = extra_rows[1:] if plan.has_base else extra_rows
        weights = w.to(torch.float64)
        return _extend_vocabulary(merged, models_extra, weights, tensor_plan.shape[0]), counts
    # The inputs have been converted: their buffer takes the result when the dtypes agree.
    result = buffers.get(f"input {tensor_plan.dtype}", n, tensor_plan.dtype)

    def add_base(start: int, stop: int) -> None:
        # anchor + delta in compute_dtype (addition commutes exactly), then rounded to the output dtype.
        piece = flat_delta[start:stop].add_(flat_anchor[start:stop].to(compute_dtype))
        result[start:stop].copy_(piece)

    list(map_chunks(n, add_base, ctx.pool))
    return result.view(anchor.shape), counts


def _merge_tensor(
    plan: MergePlan,
    tensor_plan: TensorPlan,
    method: Method,
    params: MethodSection,
    weights: torch.Tensor,
    compute_dtype: torch.dtype,
    device: torch.device,
    seed: int,
    diagnose: bool,
    top_k: float,
    model_labels: list[str],
    totals: dict[str, Survival],
    per_tensor: dict[str, dict[str, float | None]],
) -> torch.Tensor:
    """One output tensor, whole tensors at a time: methods on the models themselves, and non-CPU devices."""
    rows = tensor_plan.base_rows
    readers = plan.readers
    # One float32 copy per input and the extra vocabulary rows; inputs are converted one at a time.
    first = readers[0].get(_tensor_of(readers[0], tensor_plan.name))
    anchor = first[:rows].to(device=device, dtype=compute_dtype)
    stacked = torch.empty((len(readers) - 1, *anchor.shape), dtype=compute_dtype, device=device)
    extra_rows = [first[rows:]] if rows is not None else []
    for j, reader in enumerate(readers[1:]):
        raw = reader.get(_tensor_of(reader, tensor_plan.name))
        stacked[j].copy_(raw[:rows])
        if rows is not None:
            extra_rows.append(raw[rows:])
        del raw
    del first
    ctx = TensorContext(tensor_plan.name, seed, survival={})
    w = weights.to(compute_dtype)
    counts_from_method = False
    if method.uses_task_vectors:
        deltas = stacked.sub_(anchor)  # in place: the task vectors replace the models
        # TIES hands back the survival counts of its own trim; other methods get a copy and are counted after.
        counts_from_method = method.name in ("ties", "ties_sv") and top_k == params.density
        merged_delta = method.fn(
            deltas if counts_from_method or not diagnose else deltas.clone(), w, params, ctx
        )
    elif plan.has_base:
        merged_delta = method.fn(stacked, w, params, ctx).sub_(anchor)
        deltas = stacked.sub_(anchor) if diagnose else None
    else:
        models = torch.cat([anchor.unsqueeze(0), stacked])
        del stacked
        merged, merged_delta, deltas = method.fn(models, w, params, ctx), None, None
        del models
    if diagnose and merged_delta is not None and deltas is not None:
        row = {}
        for index, (label, delta) in enumerate(zip(model_labels, deltas, strict=True)):
            if counts_from_method and ctx.survival is not None:
                counts = Survival(*ctx.survival[params.density][index])
            else:
                # Counted in the direction the model pushes: w_i * tau_i.
                direction = -delta if float(w[index]) < 0 else delta
                counts = survival_counts(direction, merged_delta, top_k)
            totals[label].important += counts.important
            totals[label].survived += counts.survived
            row[label] = counts.fraction
        per_tensor[tensor_plan.name] = row
    if merged_delta is not None:
        del deltas
        merged = anchor.add_(merged_delta)
    if rows is not None:
        models_extra = extra_rows[1:] if plan.has_base else extra_rows
        merged = _extend_vocabulary(merged, models_extra, weights, tensor_plan.shape[0])
    return merged


def _extend_vocabulary(
    merged: torch.Tensor, extra_rows: list[torch.Tensor], weights: torch.Tensor, rows: int
) -> torch.Tensor:
    """Append the rows beyond the base vocabulary: each row is the weighted mean of the models that have it.

    `extra_rows[i]` holds model i's rows from the base vocabulary size on (empty when it has none); with one
    such model, the usual CT case, its rows are copied unchanged (docs/merge.md).
    """
    base_rows = merged.shape[0]
    out = torch.empty((rows, *merged.shape[1:]), dtype=merged.dtype, device=merged.device)
    out[:base_rows] = merged
    start = 0
    for end in sorted({t.shape[0] for t in extra_rows if t.shape[0] > 0}):
        having = [(t, float(w)) for t, w in zip(extra_rows, weights, strict=True) if t.shape[0] >= end]
        total = sum(w for _, w in having) or 1.0
        block = out[base_rows + start : base_rows + end]
        block.zero_()
        for t, w in having:
            block.add_(t[start:end].to(out.device, out.dtype), alpha=w / total)
        start = end
    return out


def _write_config(plan: MergePlan, folder: Path, section: MergeSection) -> None:
    config = dict(plan.config_reader.config)
    if plan.output_vocab is not None:
        config["vocab_size"] = plan.output_vocab
    config["tie_word_embeddings"] = plan.tie_output
    if section.dtype:
        config["dtype"] = section.dtype
        config.pop("torch_dtype", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def output_folder(recipe: Recipe, section: MergeSection) -> Path:
    path = Path(section.output).expanduser()
    return path if path.is_absolute() else recipe.workdir / path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m merge.run", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe YAML with a `merge` section")
    parser.add_argument("--output", help="output folder (default: workdir / merge.output)")
    args = parser.parse_args(argv)
    try:
        recipe = Recipe.load(args.recipe)
        section, params = load_section(recipe)
        output = Path(args.output).resolve() if args.output else output_folder(recipe, section)
        merge(section, params, output, seed=recipe.seed)
    except (RecipeError, MergeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
