"""Merge methods: one small per-tensor function each, chosen by name from `METHODS`.

Task-vector methods (`task_arithmetic`, `ties`, `ties_sv`, `dare`) receive the stacked task vectors
tau_i = theta_i - theta_base of one tensor (shape `(n_models, *shape)`, float32) and return the merged
task vector; the runner adds it to the base. A method may overwrite its input. `linear` receives the models' weights themselves.
Definitions, and what the slack of `ties_sv` changes, are in docs/merge.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass

import torch
from pydantic import ConfigDict, Field

from common.recipe import Section


class MethodSection(Section):
    """Parameters shared by every method; each method's own model adds its parameters."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class LinearSection(MethodSection):
    normalize: bool = Field(True, description="divide by the sum of the weights")


class TaskArithmeticSection(MethodSection):
    lambda_: float = Field(1.0, alias="lambda", description="scale of the merged task vector")
    normalize: bool = Field(
        False, description="divide the weighted sum of task vectors by the sum of weights"
    )


class TiesSection(MethodSection):
    density: float = Field(
        0.2, gt=0.0, le=1.0, description="fraction of each task vector kept by the trim step"
    )
    lambda_: float = Field(1.0, alias="lambda", description="scale of the merged task vector")
    normalize: bool = Field(True, description="average the agreeing entries (TIES's disjoint mean)")


class TiesSVSection(TiesSection):
    slack: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="xi: 0 is plain TIES, 1 elects signs in each model's own magnitude units",
    )


class DareSection(MethodSection):
    density: float = Field(0.5, gt=0.0, le=1.0, description="probability of keeping each task-vector entry")
    lambda_: float = Field(1.0, alias="lambda", description="scale of the merged task vector")
    rescale: bool = Field(True, description="divide kept entries by density so the expectation is unchanged")
    normalize: bool = Field(
        False, description="divide the weighted sum of task vectors by the sum of weights"
    )


@dataclass(frozen=True)
class TensorContext:
    """What a method may know about the tensor it merges besides the values (DARE seeds from it)."""

    name: str
    seed: int = 0
    # Filled by TIES when not None: per model, (entries kept by the trim that are non-zero, of those the ones
    # the merged task vector keeps with the same sign), keyed by density, so the diagnostic costs no extra pass.
    survival: dict[float, list[tuple[int, int]]] | None = None
    # A preallocated buffer of the tensor's size for the result; methods that can write into it do.
    out: torch.Tensor | None = None
    # Threads that run slices of a tensor side by side (each op single-threaded; see merge.run).
    pool: Executor | None = None


@dataclass(frozen=True)
class Method:
    """A registered merge method: its per-tensor function, parameter model and whether it needs a base."""

    name: str
    fn: Callable[..., torch.Tensor]
    params: type[MethodSection]
    uses_task_vectors: bool
    description: str


def _weights_like(weights: torch.Tensor, stacked: torch.Tensor) -> torch.Tensor:
    return weights.to(stacked.device, stacked.dtype).view(-1, *([1] * (stacked.dim() - 1)))


def linear(
    models: torch.Tensor, weights: torch.Tensor, params: LinearSection, ctx: TensorContext
) -> torch.Tensor:
    """Weighted average of the models' weights (model soup)."""
    w = _weights_like(weights, models)
    merged = (models * w).sum(0)
    if params.normalize:
        merged /= _safe_divisor(weights.sum())
    return merged


def task_arithmetic(
    deltas: torch.Tensor, weights: torch.Tensor, params: TaskArithmeticSection, ctx: TensorContext
) -> torch.Tensor:
    """lambda * sum_i w_i tau_i (Ilharco et al., 2023)."""
    merged = (deltas * _weights_like(weights, deltas)).sum(0)
    if params.normalize:
        merged /= _safe_divisor(weights.sum())
    return merged * params.lambda_


def ties(deltas: torch.Tensor, weights: torch.Tensor, params: TiesSection, ctx: TensorContext) -> torch.Tensor:
    """TIES (Yadav et al., 2023): trim to top-k by magnitude, elect signs by summed mass, disjoint mean."""
    return _ties(deltas, weights, params, ctx, slack=0.0)


def ties_sv(
    deltas: torch.Tensor, weights: torch.Tensor, params: TiesSVSection, ctx: TensorContext
) -> torch.Tensor:
    """TIES whose sign election is relaxed by the slack xi so a model with small task vectors is not outvoted."""
    return _ties(deltas, weights, params, ctx, slack=params.slack)


def dare(deltas: torch.Tensor, weights: torch.Tensor, params: DareSection, ctx: TensorContext) -> torch.Tensor:
    """DARE (Yu et al., 2024): drop each entry with probability 1-density, rescale, then task arithmetic."""
    out = torch.zeros_like(deltas[0])
    for i in range(deltas.shape[0]):
        generator = torch.Generator(device=deltas.device).manual_seed(_tensor_seed(ctx, i))
        keep = torch.rand(deltas[i].shape, generator=generator, device=deltas.device) < params.density
        dropped = deltas[i] * keep
        if params.rescale:
            dropped /= params.density
        out += dropped * float(weights[i])
    if params.normalize:
        out /= _safe_divisor(weights.sum())
    return out * params.lambda_


def _tensor_seed(ctx: TensorContext, model_index: int) -> int:
    # Seeded by name, not by position in the stream, so a tensor's mask does not depend on merge order.
    digest = hashlib.blake2b(f"{ctx.seed}/{ctx.name}/{model_index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def _safe_divisor(total: torch.Tensor) -> torch.Tensor | float:
    return total if float(total.abs()) > 1e-8 else 1.0


# Elementwise work runs over slices of this many entries, so that the several temporaries one slice needs
# stay in the CPU's cache and are recycled by the allocator instead of being page-faulted in afresh.
CHUNK = 1 << 17


def map_chunks(n: int, fn: Callable[[int, int], object], pool: Executor | None = None) -> Iterable:
    """fn(start, stop) for the consecutive slices of CHUNK entries of range(n), on `pool` if given, in order."""
    bounds = [(start, min(start + CHUNK, n)) for start in range(0, n, CHUNK)]
    if pool is None:
        return [fn(a, b) for a, b in bounds]
    return pool.map(lambda bound: fn(*bound), bounds)


@dataclass(frozen=True)
class TrimThreshold:
    """The k-th largest magnitude `value`; entries equal to it are kept before flat index `cut`, dropped after."""

    value: float
    cut: int

    def keep(self, values: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Mask of the kept entries of `values`, the slice of the flat tensor that begins at `start`."""
        magnitude = values.abs()
        if start + magnitude.numel() <= self.cut:
            return magnitude >= self.value
        keep = magnitude > self.value
        if start < self.cut:
            keep[: self.cut - start] = magnitude[: self.cut - start] >= self.value
        return keep

    def trim(self, values: torch.Tensor, out: torch.Tensor, start: int = 0) -> torch.Tensor:
        """`values` with the dropped entries zeroed, into `out`; one fused pass (hardshrink) for float32."""
        if values.dtype != torch.float32:
            return torch.mul(values, self.keep(values, start), out=out)
        head = min(max(self.cut - start, 0), values.numel())
        if head < values.numel():
            torch.nn.functional.hardshrink(values[head:], self.value, out=out[head:])  # |x| > t
        if head > 0:
            torch.nn.functional.hardshrink(values[:head], _below(self.value), out=out[:head])  # |x| >= t
        return out


def _below(value: float) -> float:
    """The largest float32 below `value` (for `value` >= 0), so that |x| > result means |x| >= value."""
    if value <= 0.0:
        return -1.0
    return float(torch.nextafter(torch.tensor(value), torch.tensor(0.0)))


def _ties(
    deltas: torch.Tensor, weights: torch.Tensor, params: TiesSection, ctx: TensorContext, slack: float
) -> torch.Tensor:
    n_models = deltas.shape[0]
    w = weights.to(deltas.device, deltas.dtype).view(n_models, 1)
    flat = deltas.reshape(n_models, -1)
    n = flat.shape[1]
    k = top_k_count(n, params.density)
    trims = [trim_threshold(flat[i], k, ctx.pool) for i in range(n_models)]
    scales = None
    if slack > 0.0:
        scales = torch.tensor(
            election_scales([t.value for t in trims], slack), dtype=w.dtype, device=w.device
        ).view(n_models, 1)
    weight_values = [float(w[i]) for i in range(n_models)]
    out = ctx.out.view(-1)[:n] if ctx.out is not None else None
    if out is None or out.dtype != deltas.dtype or out.device != deltas.device:
        out = torch.empty(n, dtype=deltas.dtype, device=deltas.device)
    # With non-negative weights, not all zero, the election below needs no boolean masks (see _elect_fast).
    fast = deltas.dtype == torch.float32 and min(weight_values) >= 0.0 and max(weight_values) > 0.0
    smallest_weight = min((v for v in weight_values if v > 0), default=1.0)
    survival = ctx.survival is not None
    # The trim keeps exactly k entries, all non-zero when the threshold is positive and the weight 1:
    # then the count of important entries is known without counting (summed over slices: k per model).
    known_important = [
        0 if trim.value > 0.0 and weight_values[i] == 1.0 else None for i, trim in enumerate(trims)
    ]

    def merge_slice(start: int, stop: int) -> torch.Tensor | None:
        # Trim, elect, disjoint mean and the survival counts of one slice while it is in cache.
        u = torch.empty((n_models, stop - start), dtype=deltas.dtype, device=deltas.device)
        for i, trim in enumerate(trims):
            trim.trim(flat[i, start:stop], u[i], start)
            if weight_values[i] != 1.0:  # x * 1.0 == x exactly: skip the pass
                u[i].mul_(w[i])
        votes = (u * scales).sum(0) if scales is not None else u.sum(0)
        if fast:
            merged = _elect_fast(u, votes, w, params.normalize, smallest_weight)
        else:
            merged = _elect(u, votes, w, params.normalize)
        if params.lambda_ != 1.0:
            merged.mul_(params.lambda_)
        out[start:stop] = merged
        if not survival:
            return None
        # Entries the merged vector keeps with their sign: u * merged > 0, counted as non-zeros of the
        # product clamped at 0 (1-D float counts are several times faster than counts along a dim).
        same_sign = (u * merged).clamp_(min=0.0)
        return [
            (known_important[i] if known_important[i] is not None else int(torch.count_nonzero(u[i])),
             int(torch.count_nonzero(same_sign[i])))
            for i in range(n_models)
        ]  # fmt: skip

    counts = [c for c in map_chunks(n, merge_slice, ctx.pool) if c is not None]
    if counts and ctx.survival is not None:
        ctx.survival[params.density] = [
            (k if known_important[i] is not None else sum(c[i][0] for c in counts), sum(c[i][1] for c in counts))
            for i in range(n_models)
        ]  # fmt: skip
    return out.view(deltas.shape[1:])


def _elect(u: torch.Tensor, votes: torch.Tensor, w: torch.Tensor, normalize: bool) -> torch.Tensor:
    """Disjoint mean of the entries of u (weighted, trimmed) whose sign agrees with the elected one."""
    # Ties of the summed vote go to +1, as in TIES's reference code and mergekit.
    agrees = torch.where(votes >= 0, u > 0, u < 0)
    merged = (u * agrees).sum(0)
    if normalize:
        divisor = (w * agrees).sum(0)
        divisor.masked_fill_(divisor == 0, 1.0)
        merged /= divisor
    return merged


def _elect_fast(
    u: torch.Tensor, votes: torch.Tensor, w: torch.Tensor, normalize: bool, smallest_weight: float
) -> torch.Tensor:
    """`_elect` in float arithmetic only (comparisons, `where` and boolean products are slow on CPU).

    With e = +1 where votes >= 0 else -1 (a summed vote is never -0, so copysign gives exactly that),
    the agreeing entries are those with e * u > 0, and sum_i u_i [agrees] = e * sum_i relu(e * u_i)
    exactly (multiplying by +-1 is exact). The divisor sum_i w_i [agrees] is >= the smallest positive
    weight wherever it is non-zero, so clamping at half of it replaces exactly the zeros (no agreeing
    entry, numerator 0), as TIES's `divisor[divisor == 0] = 1` does.
    """
    elected = torch.copysign(torch.ones((), dtype=u.dtype), votes)
    signed = u * elected
    merged = signed.clamp(min=0.0).sum(0)
    if normalize:
        agreeing = signed.sign_().clamp_(min=0.0)
        divisor = (agreeing * w).sum(0) if bool((w != 1.0).any()) else agreeing.sum(0)
        merged /= divisor.clamp_(min=0.5 * smallest_weight)
    # + 0.0 turns -0 (no agreeing entry, elected -1) into +0, as the sum of masked entries gives.
    return merged.mul_(elected).add_(0.0)


def election_scales(thresholds: list[float], slack: float) -> list[float]:
    """s_i = (1 - xi) + xi * mean_j(t_j) / t_i, t_i the trim threshold of model i (1.0 where t_i = 0)."""
    positive = [t for t in thresholds if t > 0]
    if not positive:
        return [1.0] * len(thresholds)
    mean = sum(positive) / len(positive)
    return [(1.0 - slack) + slack * mean / t if t > 0 else 1.0 for t in thresholds]


def top_k_count(numel: int, density: float) -> int:
    """k = floor(density * n), at least 1: the number of entries the trim keeps (as mergekit counts)."""
    return max(1, min(numel, int(density * numel)))


def top_k_mask(values: torch.Tensor, density: float) -> tuple[torch.Tensor, float]:
    """Mask of exactly k = top_k_count entries largest in magnitude, and the k-th largest magnitude.

    Equal magnitudes at the threshold are taken in index order, so the mask is deterministic.
    """
    trim = trim_threshold(values.reshape(-1), top_k_count(values.numel(), density))
    return trim.keep(values.reshape(-1)).view(values.shape), trim.value


def trim_threshold(values: torch.Tensor, k: int, pool: Executor | None = None) -> TrimThreshold:
    """Where to cut the flat `values` so that exactly their k largest magnitudes remain (ties in index order).

    O(n) instead of a sort: a strided sample brackets the k-th largest magnitude, one pass over slices
    counts the entries above the bracket and collects those inside it (about 2% of them, with their
    positions), and the exact value and the cut among equal magnitudes are selected from those.
    """
    n = values.numel()
    if k >= n:
        return TrimThreshold(float(values.abs().min()), n)
    if n > 1 << 16:
        step = max(1, n // (1 << 16))
        sample = values[::step].abs().sort().values
        m = sample.numel()
        position = (1.0 - k / n) * m  # where the threshold falls in the sorted sample
        margin = 6.0 * (m * (k / n) * (1 - k / n)) ** 0.5 + 16
        lo = float(sample[max(0, int(position - margin))])
        hi = float(sample[min(m - 1, int(position + margin))])

        fused = values.dtype == torch.float32 and lo > 0.0
        below_lo = _below(lo)

        def band_slice(start: int, stop: int) -> tuple[int, torch.Tensor, torch.Tensor]:
            piece = values[start:stop]
            if fused:  # float ops only: hardshrink(x, t) keeps |x| > t, so the difference is the band
                beyond = torch.nn.functional.hardshrink(piece, hi)
                band = torch.nn.functional.hardshrink(piece, below_lo).sub_(beyond)
                inside = (band != 0).nonzero().view(-1)
                return int(torch.count_nonzero(beyond)), band[inside].abs_(), inside + start
            magnitude = piece.abs()
            above = int(torch.count_nonzero(magnitude > hi))
            inside = ((magnitude >= lo) & (magnitude <= hi)).nonzero().view(-1)
            return above, magnitude[inside], inside + start

        slices = list(map_chunks(n, band_slice, pool))
        above = sum(a for a, _, _ in slices)
        band_values = [v for _, v, _ in slices]
        band_positions = [p for _, _, p in slices]
        wanted = k - int(above)
        band = torch.cat(band_values)
        if 0 < wanted <= band.numel():
            value = torch.topk(band, wanted, sorted=False).values.min()
            return _cut(
                value,
                k - int(above) - int(torch.count_nonzero(band > value)),
                band,
                torch.cat(band_positions),
            )
        # The sample missed (adversarial ordering): exact but slower.
    magnitude = values.abs()
    value = torch.topk(magnitude, k, sorted=False).values.min()
    return _cut(value, k - int(torch.count_nonzero(magnitude > value)), magnitude, None)


def _cut(
    value: torch.Tensor, missing: int, magnitudes: torch.Tensor, positions: torch.Tensor | None
) -> TrimThreshold:
    """The threshold that keeps the first `missing` entries equal to `value` (by flat index), not the rest."""
    ties = (magnitudes == value).nonzero().view(-1)
    if positions is not None:
        ties = positions[ties]
    return TrimThreshold(float(value), int(ties[missing - 1]) + 1)


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("linear", linear, LinearSection, False, "weighted average of the models"),
        Method(
            "task_arithmetic", task_arithmetic, TaskArithmeticSection, True, "base + lambda * sum w_i tau_i"
        ),
        Method("ties", ties, TiesSection, True, "trim, elect sign, disjoint mean (Yadav et al., 2023)"),
        Method("ties_sv", ties_sv, TiesSVSection, True, "TIES with a slack variable in the sign election"),
        Method(
            "dare", dare, DareSection, True, "random drop and rescale, then task arithmetic (Yu et al., 2024)"
        ),
    ]
}
