"""The per-tensor engine: one output tensor from its inputs, with any method, on any device.

For each tensor: read the base's and every model's copy, convert them to the compute dtype (subtracting the
base for a method on task vectors), apply the method, count the survival diagnostic, add the base back, round
to the output dtype and append the rows beyond the base vocabulary. What the method needs (task vectors,
randomness) or reports (survival) comes from its declarations (merge/methods.py), never its name.

On the CPU, inputs are read straight into flat buffers reused from tensor to tensor, and the elementwise
passes run over cache-sized slices on a pool of threads; on other devices each pass runs on whole tensors.
Either way each entry sees the same operations, so the result does not depend on the device's slicing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

from .io import ModelReader
from .methods import Method, MethodSection, TensorContext
from .plan import MergePlan, TensorPlan, stored_name
from .report import Survival, survival_counts
from .slices import map_chunks


class Buffers:
    """Flat buffers reused from tensor to tensor, grown to the largest one.

    A fresh multi-megabyte tensor is a fresh memory mapping, which the kernel fills page by page on first
    touch (millions of page faults over a 7B merge); a reused buffer is faulted in once.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._store: dict[tuple[str, torch.device], torch.Tensor] = {}

    def get(
        self, key: str, numel: int, dtype: torch.dtype, device: torch.device | None = None
    ) -> torch.Tensor:
        """The first `numel` entries of the buffer named `key` on `device` (default: the engine's)."""
        slot = (key, device or self.device)
        buffer = self._store.get(slot)
        if buffer is None or buffer.dtype != dtype or buffer.numel() < numel:
            self._store.pop(slot, None)
            buffer = torch.empty(numel, dtype=dtype, device=slot[1])
            self._store[slot] = buffer
        return buffer[:numel]


class Engine:
    """Merges the tensors of `plan` with `method` one at a time; use as a context manager (it owns a thread pool).

    `survival_top_k` is the fraction counted as important by the survival diagnostic, None to skip it.
    """

    def __init__(
        self,
        plan: MergePlan,
        method: Method,
        params: MethodSection,
        weights: list[float],
        *,
        compute_dtype: torch.dtype,
        device: torch.device,
        seed: int = 0,
        survival_top_k: float | None = None,
        densities: list[float | None] | None = None,
        slack_models: list[bool] | None = None,
    ) -> None:
        self.plan, self.method, self.params = plan, method, params
        self.densities = tuple(densities) if densities is not None and any(d is not None for d in densities) else None
        self.slack_models = tuple(slack_models) if slack_models is not None else None
        self.weights = torch.tensor(weights, dtype=torch.float64)
        self.compute_dtype, self.device, self.seed = compute_dtype, device, seed
        self.survival_top_k = survival_top_k
        self.buffers = Buffers(device)
        self.pool: ThreadPoolExecutor | None = None
        self._threads = torch.get_num_threads()

    def __enter__(self) -> Engine:
        # On CPU, slices of a tensor run side by side on a pool of threads, each op on one thread: an op of
        # OpenMP threads waits at its barrier for every thread, which on busy cores stalls the whole op.
        if self.device.type == "cpu" and self._threads > 1:
            self.pool = ThreadPoolExecutor(self._threads)
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
            torch.set_num_threads(self._threads)

    def tensor(self, tensor_plan: TensorPlan) -> tuple[torch.Tensor, list[Survival] | None]:
        """One output tensor (valid until the next call: it may live in a reused buffer) and, when the
        diagnostic is on, the survival counts of each model in it."""
        if not tensor_plan.merge:
            reader = self.plan.config_reader
            return reader.get(stored_name(reader, tensor_plan.name) or tensor_plan.name), None
        anchor, values, extra_rows = self._inputs(tensor_plan)
        merged, counts = self._apply(tensor_plan.name, values, anchor)
        return self._finish(tensor_plan, merged.view(-1), anchor, extra_rows), counts

    def _inputs(
        self, tensor_plan: TensorPlan
    ) -> tuple[torch.Tensor | None, torch.Tensor, list[torch.Tensor]]:
        """The base's rows (flat, stored dtype: converted slice by slice), the models' rows in compute dtype
        (minus the base for a method on task vectors), and each model's rows beyond the base vocabulary."""
        plan, compute = self.plan, self.compute_dtype
        rows = tensor_plan.base_rows
        shape = tensor_plan.shape if rows is None else (rows, *tensor_plan.shape[1:])
        n = math.prod(shape)
        anchor = self._read(plan.base, tensor_plan.name, base=True)[:n] if plan.base is not None else None
        subtract = self.method.on_task_vectors
        values = self.buffers.get("values", len(plan.models) * n, compute).view(len(plan.models), n)
        extra_rows: list[torch.Tensor] = []
        for j, reader in enumerate(plan.models):
            raw = self._read(reader, tensor_plan.name)

            def convert(start: int, stop: int, raw=raw, model_values=values[j]) -> None:
                # As the model converted to compute_dtype minus the base converted to compute_dtype.
                piece = model_values[start:stop].copy_(raw[start:stop])
                if subtract:
                    piece.sub_(anchor[start:stop].to(compute))

            self._each_slice(n, convert)
            if rows is not None:
                extra_rows.append(raw[n:].view(-1, *shape[1:]).clone())
        return anchor, values.view(len(plan.models), *shape), extra_rows

    def _apply(
        self, name: str, values: torch.Tensor, anchor: torch.Tensor | None
    ) -> tuple[torch.Tensor, list[Survival] | None]:
        """The method's result, as a merged task vector when there is a base, and the survival counts."""
        method, compute, n_models = self.method, self.compute_dtype, values.shape[0]
        counts_own = (
            self._diagnose
            and method.counts_survival
            and self.densities is None  # with a density per model the method's own counts mean another top-k
            and (self.survival_top_k == method.survival_top_k(self.params))
        )
        ctx = TensorContext(
            name,
            seed=self.seed if method.random else None,
            survival=[] if counts_own else None,
            out=self.buffers.get("merged", values[0].numel(), compute),
            pool=self.pool,
            densities=self.densities,
            slack_models=self.slack_models,
        )
        w = self.weights.to(compute)
        if method.on_task_vectors:
            # A method may overwrite its input: it gets a copy when the diagnostic needs the task vectors after.
            copy = self._diagnose and not counts_own
            merged = method.merge(values.clone() if copy else values, w, self.params, ctx)
        else:
            merged = method.merge(values, w, self.params, ctx)
            if anchor is None:
                return merged, None
            flat_models, flat_merged = values.view(n_models, -1), merged.view(-1)

            def subtract_base(start: int, stop: int) -> None:
                base_piece = anchor[start:stop].to(compute)
                flat_merged[start:stop].sub_(base_piece)
                if self._diagnose:
                    flat_models[:, start:stop].sub_(base_piece)

            self._each_slice(anchor.numel(), subtract_base)  # now the merged and the models' task vectors
        if not self._diagnose:
            return merged, None
        if counts_own:
            return merged, [Survival(*c) for c in ctx.survival] or [Survival() for _ in range(n_models)]
        # Counted in the direction each model pushes: w_i * tau_i.
        return merged, [
            survival_counts(-tau if float(w[i]) < 0 else tau, merged, self.survival_top_k)
            for i, tau in enumerate(values)
        ]

    @property
    def _diagnose(self) -> bool:
        return self.survival_top_k is not None and self.plan.has_base

    def _finish(
        self,
        tensor_plan: TensorPlan,
        merged: torch.Tensor,
        anchor: torch.Tensor | None,
        extra_rows: list[torch.Tensor],
    ) -> torch.Tensor:
        """Add the base back to the merged task vector (in compute dtype), then round to the output dtype or
        append the rows beyond the base vocabulary."""
        n = merged.numel()
        vocabulary = tensor_plan.base_rows is not None
        # The inputs have been converted: their buffer takes the result when the dtypes agree.
        result = None if vocabulary else self.buffers.get(f"input {tensor_plan.dtype}", n, tensor_plan.dtype)

        def add_base(start: int, stop: int) -> None:
            piece = merged[start:stop]
            if anchor is not None:  # anchor + delta (addition commutes exactly)
                piece.add_(anchor[start:stop].to(self.compute_dtype))
            if result is not None:
                result[start:stop].copy_(piece)

        if anchor is not None or result is not None:
            self._each_slice(n, add_base)
        if vocabulary:
            base_shape = (tensor_plan.base_rows, *tensor_plan.shape[1:])
            return extend_vocabulary(merged.view(base_shape), extra_rows, self.weights, tensor_plan.shape[0])
        return result.view(tensor_plan.shape)

    def _read(self, reader: ModelReader, name: str, base: bool = False) -> torch.Tensor:
        """One input tensor, flat and in its stored dtype, on the device (read into a reused CPU buffer)."""
        stored = stored_name(reader, name)
        info = reader.tensors[stored]
        # Models share one buffer per dtype (each is converted before the next is read); the base stays.
        key = "base" if base else f"input {info.dtype}"
        buffer = self.buffers.get(key, info.numel, info.dtype, torch.device("cpu"))
        flat = reader.read_into(stored, buffer).view(-1)
        return flat if self.device.type == "cpu" else flat.to(self.device)

    def _each_slice(self, n: int, fn: Callable[[int, int], None]) -> None:
        # Slices keep the CPU's temporaries in cache; a GPU wants one kernel per pass.
        if self.device.type == "cpu":
            list(map_chunks(n, fn, self.pool))
        else:
            fn(0, n)


def extend_vocabulary(
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
