"""Merge methods: one small per-tensor function each, chosen by name from `METHODS`.

Task-vector methods (`task_arithmetic`, `ties`, `ties_sv`, `dare`) receive the stacked task vectors
tau_i = theta_i - theta_base of one tensor (shape `(n_models, *shape)`, float32) and return the merged
task vector; the runner adds it to the base. A method may overwrite its input (TIES trims in place). `linear` receives the models' weights themselves.
Definitions, and what the slack of `ties_sv` changes, are in docs/merge.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from pydantic import ConfigDict, Field

from common.recipe import Section


class MethodParams(Section):
    """Parameters shared by every method; each method's own model adds its parameters."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class LinearParams(MethodParams):
    normalize: bool = Field(True, description="divide by the sum of the weights")


class TaskArithmeticParams(MethodParams):
    lambda_: float = Field(1.0, alias="lambda", description="scale of the merged task vector")
    normalize: bool = Field(
        False, description="divide the weighted sum of task vectors by the sum of weights"
    )


class TiesParams(MethodParams):
    density: float = Field(
        0.2, gt=0.0, le=1.0, description="fraction of each task vector kept by the trim step"
    )
    lambda_: float = Field(1.0, alias="lambda", description="scale of the merged task vector")
    normalize: bool = Field(True, description="average the agreeing entries (TIES's disjoint mean)")


class TiesSVParams(TiesParams):
    slack: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="xi: 0 is plain TIES, 1 elects signs in each model's own magnitude units",
    )


class DareParams(MethodParams):
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
    # Filled by methods that compute top-k masks, keyed (model index, density), so diagnostics reuse them.
    masks: dict[tuple[int, float], torch.Tensor] | None = None


@dataclass(frozen=True)
class Method:
    """A registered merge method: its per-tensor function, parameter model and whether it needs a base."""

    name: str
    fn: Callable[..., torch.Tensor]
    params: type[MethodParams]
    uses_task_vectors: bool
    description: str


def _weights_like(weights: torch.Tensor, stacked: torch.Tensor) -> torch.Tensor:
    return weights.to(stacked.device, stacked.dtype).view(-1, *([1] * (stacked.dim() - 1)))


def linear(
    models: torch.Tensor, weights: torch.Tensor, params: LinearParams, ctx: TensorContext
) -> torch.Tensor:
    """Weighted average of the models' weights (model soup)."""
    w = _weights_like(weights, models)
    merged = (models * w).sum(0)
    if params.normalize:
        merged /= _safe_divisor(weights.sum())
    return merged


def task_arithmetic(
    deltas: torch.Tensor, weights: torch.Tensor, params: TaskArithmeticParams, ctx: TensorContext
) -> torch.Tensor:
    """lambda * sum_i w_i tau_i (Ilharco et al., 2023)."""
    merged = (deltas * _weights_like(weights, deltas)).sum(0)
    if params.normalize:
        merged /= _safe_divisor(weights.sum())
    return merged * params.lambda_


def ties(deltas: torch.Tensor, weights: torch.Tensor, params: TiesParams, ctx: TensorContext) -> torch.Tensor:
    """TIES (Yadav et al., 2023): trim to top-k by magnitude, elect signs by summed mass, disjoint mean."""
    return _ties(deltas, weights, params, ctx, slack=0.0)


def ties_sv(
    deltas: torch.Tensor, weights: torch.Tensor, params: TiesSVParams, ctx: TensorContext
) -> torch.Tensor:
    """TIES whose sign election is relaxed by the slack xi so a model with small task vectors is not outvoted."""
    return _ties(deltas, weights, params, ctx, slack=params.slack)


def dare(deltas: torch.Tensor, weights: torch.Tensor, params: DareParams, ctx: TensorContext) -> torch.Tensor:
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


# Elementwise work runs over slices of this many entries: temporaries stay small and mostly in cache.
CHUNK = 1 << 22


def _ties(
    deltas: torch.Tensor, weights: torch.Tensor, params: TiesParams, ctx: TensorContext, slack: float
) -> torch.Tensor:
    n_models = deltas.shape[0]
    w = weights.to(deltas.device, deltas.dtype).view(n_models, 1)
    flat = deltas.reshape(n_models, -1)  # trimmed and weighted in place (methods own their input)
    thresholds = []
    for i in range(n_models):
        keep, threshold = top_k_mask(flat[i], params.density)
        if ctx.masks is not None:
            ctx.masks[(i, params.density)] = keep
        flat[i].mul_(keep).mul_(w[i])
        thresholds.append(threshold)
    scales = None
    if slack > 0.0:
        scales = torch.tensor(election_scales(thresholds, slack), dtype=w.dtype, device=w.device).view(
            n_models, 1
        )
    out = torch.empty(flat.shape[1], dtype=deltas.dtype, device=deltas.device)
    for start in range(0, flat.shape[1], CHUNK):
        weighted = flat[:, start : start + CHUNK]
        votes = (weighted * scales).sum(0) if scales is not None else weighted.sum(0)
        # Ties of the summed vote go to +1, as in TIES's reference code and mergekit.
        agrees = torch.where(votes >= 0, weighted > 0, weighted < 0)
        merged = (weighted * agrees).sum(0)
        if params.normalize:
            divisor = (w * agrees).sum(0)
            divisor[divisor == 0] = 1.0
            merged /= divisor
        out[start : start + CHUNK] = merged
    return out.view(deltas.shape[1:]).mul_(params.lambda_)


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

    Equal magnitudes at the threshold are taken in index order, so the mask is deterministic. The threshold
    is found by selecting within a band bracketed from a strided sample, which is O(n) instead of a sort.
    """
    magnitude = values.abs().reshape(-1)
    n = magnitude.numel()
    k = top_k_count(n, density)
    if k >= n:
        return torch.ones_like(values, dtype=torch.bool), float(magnitude.min())
    threshold = _kth_largest(magnitude, k)
    mask = magnitude > threshold
    missing = k - int(torch.count_nonzero(mask))
    if missing > 0:
        at_threshold = (magnitude == threshold).nonzero().view(-1)[:missing]
        mask[at_threshold] = True
    return mask.view(values.shape), threshold


def _kth_largest(magnitude: torch.Tensor, k: int) -> float:
    n = magnitude.numel()
    if n <= 1 << 16:
        return float(torch.topk(magnitude, k, sorted=False).values.min())
    step = max(1, n // (1 << 16))
    sample = magnitude[::step].sort().values
    m = sample.numel()
    position = (1.0 - k / n) * m  # where the threshold falls in the sorted sample
    margin = 6.0 * (m * (k / n) * (1 - k / n)) ** 0.5 + 16
    lo = float(sample[max(0, int(position - margin))])
    hi = float(sample[min(m - 1, int(position + margin))])
    above = int(torch.count_nonzero(magnitude > hi))
    band_mask = (magnitude >= lo) & (magnitude <= hi)
    in_band = int(torch.count_nonzero(band_mask))
    wanted = k - above
    if 0 < wanted <= in_band:
        band = magnitude[band_mask]
        return float(torch.topk(band, wanted, sorted=False).values.min())
    # The sample missed (adversarial ordering): exact but slower.
    return float(torch.topk(magnitude, k, sorted=False).values.min())


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("linear", linear, LinearParams, False, "weighted average of the models"),
        Method(
            "task_arithmetic", task_arithmetic, TaskArithmeticParams, True, "base + lambda * sum w_i tau_i"
        ),
        Method("ties", ties, TiesParams, True, "trim, elect sign, disjoint mean (Yadav et al., 2023)"),
        Method("ties_sv", ties_sv, TiesSVParams, True, "TIES with a slack variable in the sign election"),
        Method(
            "dare", dare, DareParams, True, "random drop and rescale, then task arithmetic (Yu et al., 2024)"
        ),
    ]
}
