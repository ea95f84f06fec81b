"""Merge methods: one small class each, registered by name in `METHODS`.

A method is its parameters (a `MethodSection`), its per-tensor arithmetic (`merge`) and what it needs from
the engine or reports to it, declared as class attributes: whether it works on task vectors
tau_i = theta_i - theta_base (and so needs a base), whether it draws random numbers (the engine then seeds
them per tensor), and whether it counts the survival diagnostic itself. The engine (merge/engine.py) reads
those declarations, never a method's name. Definitions are in docs/merge.md ("Adding a method").
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from pydantic import ConfigDict, Field

from common.recipe import Section

from .slices import map_chunks
from .topk import top_k_count, trim_threshold


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
    protect: list[str] | None = Field(
        None,
        description="models whose vote the slack rescales (e.g. [sft]: the SFT-protecting form); "
        "default: every model (the symmetric form)",
    )


class DareSection(MethodSection):
    density: float = Field(0.5, gt=0.0, le=1.0, description="probability of keeping each task-vector entry")
    lambda_: float = Field(1.0, alias="lambda", description="scale of the merged task vector")
    rescale: bool | Literal["l1"] = Field(
        True,
        description="true: divide kept entries by density (DARE's 1/density, the expectation is unchanged); "
        "l1: scale them so each task vector keeps its L1 norm (mergekit's dare_linear); false: no rescaling",
    )
    normalize: bool = Field(
        False, description="divide the weighted sum of task vectors by the sum of weights"
    )


@dataclass(frozen=True)
class TensorContext:
    """What a method may know about the tensor it merges besides the values, and where it reports back."""

    name: str
    # The recipe's seed, given only to methods that declare `random`; `generator` derives one per model.
    seed: int | None = None
    # A list when the engine asks a method that declares `counts_survival` for the diagnostic: the method
    # fills it with, per model, (important entries, of those the ones the merged task vector keeps).
    survival: list[tuple[int, int]] | None = None
    # A preallocated buffer of the tensor's size for the result; methods that can write into it do.
    out: torch.Tensor | None = None
    # Threads that run slices of a tensor side by side (each op single-threaded; see merge/engine.py).
    pool: Executor | None = None
    # Per model: its own density (merge.models[i].density), None where the method's applies.
    densities: tuple[float | None, ...] | None = None
    # Per model: whether ties_sv's slack rescales its vote (merge.parameters.protect); None: every model.
    slack_models: tuple[bool, ...] | None = None

    def density(self, params: MethodSection, model_index: int) -> float:
        """Model `model_index`'s density: its own when the recipe gives one, else the method's."""
        own = self.densities[model_index] if self.densities is not None else None
        return own if own is not None else params.density

    def generator(self, model_index: int, device: torch.device) -> torch.Generator:
        """A generator seeded by (seed, tensor name, model index), so a tensor's draws do not depend on merge order."""
        if self.seed is None:
            raise RuntimeError(f"{self.name}: a method that draws random numbers must declare random = True")
        digest = hashlib.blake2b(f"{self.seed}/{self.name}/{model_index}".encode(), digest_size=8).digest()
        return torch.Generator(device=device).manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))


class Method(ABC):
    """A merge method. Subclasses set the class attributes and implement `merge`; `@register` adds them."""

    name: ClassVar[str]
    parameters: ClassVar[type[MethodSection]]
    # True: `merge` receives the task vectors and returns the merged task vector; the method needs a base.
    # False: `merge` receives the models' weights themselves and returns the merged weights.
    on_task_vectors: ClassVar[bool] = True
    # Draws random numbers: the engine passes the recipe's seed in the context (`TensorContext.generator`).
    random: ClassVar[bool] = False
    # Counts the survival diagnostic itself at `survival_top_k` (into `TensorContext.survival`), for free.
    counts_survival: ClassVar[bool] = False

    @property
    def needs_base(self) -> bool:
        return self.on_task_vectors

    def survival_top_k(self, params: MethodSection) -> float:
        """The default fraction of each task vector the survival diagnostic counts as important."""
        return 0.2

    @abstractmethod
    def merge(
        self, values: torch.Tensor, weights: torch.Tensor, params: MethodSection, ctx: TensorContext
    ) -> torch.Tensor:
        """Merge `values` (shape `(n_models, *shape)`, compute dtype; may be overwritten) into one tensor."""


METHODS: dict[str, Method] = {}


def register(cls: type[Method]) -> type[Method]:
    """Make a method class choosable by its name in `merge.method`."""
    METHODS[cls.name] = cls()
    return cls


@register
class Linear(Method):
    """Weighted average of the models' weights (model soup)."""

    name = "linear"
    parameters = LinearSection
    on_task_vectors = False

    def merge(
        self, values: torch.Tensor, weights: torch.Tensor, params: LinearSection, ctx: TensorContext
    ) -> torch.Tensor:
        merged = (values * _weights_like(weights, values)).sum(0)
        if params.normalize:
            merged /= _safe_divisor(weights.sum())
        return merged


@register
class TaskArithmetic(Method):
    """lambda * sum_i w_i tau_i (Ilharco et al., 2023)."""

    name = "task_arithmetic"
    parameters = TaskArithmeticSection

    def merge(
        self, values: torch.Tensor, weights: torch.Tensor, params: TaskArithmeticSection, ctx: TensorContext
    ) -> torch.Tensor:
        merged = (values * _weights_like(weights, values)).sum(0)
        if params.normalize:
            merged /= _safe_divisor(weights.sum())
        return merged * params.lambda_


@register
class Ties(Method):
    """TIES (Yadav et al., 2023): trim to top-k by magnitude, elect signs by summed mass, disjoint mean."""

    name = "ties"
    parameters = TiesSection
    counts_survival = True

    def survival_top_k(self, params: TiesSection) -> float:
        return params.density

    def merge(
        self, values: torch.Tensor, weights: torch.Tensor, params: TiesSection, ctx: TensorContext
    ) -> torch.Tensor:
        return _ties(values, weights, params, ctx, slack=0.0)


@register
class TiesSV(Ties):
    """TIES whose sign election is relaxed by the slack xi so a model with small task vectors is not outvoted."""

    name = "ties_sv"
    parameters = TiesSVSection

    def merge(
        self, values: torch.Tensor, weights: torch.Tensor, params: TiesSVSection, ctx: TensorContext
    ) -> torch.Tensor:
        return _ties(values, weights, params, ctx, slack=params.slack)


@register
class Dare(Method):
    """DARE (Yu et al., 2024): drop each entry with probability 1-density, rescale (by 1/density, or to the
    task vector's L1 norm as mergekit does), then task arithmetic."""

    name = "dare"
    parameters = DareSection
    random = True

    def survival_top_k(self, params: DareSection) -> float:
        return params.density

    def merge(
        self, values: torch.Tensor, weights: torch.Tensor, params: DareSection, ctx: TensorContext
    ) -> torch.Tensor:
        out = torch.zeros_like(values[0])
        for i in range(values.shape[0]):
            out += _dropped(values[i], params, ctx.generator(i, values.device), ctx.density(params, i)) * float(weights[i])
        if params.normalize:
            out /= _safe_divisor(weights.sum())
        return out * params.lambda_


@register
class DareTies(Dare):
    """DARE's drop and rescale, then TIES's sign election and disjoint merge (mergekit's `dare_ties`)."""

    name = "dare_ties"
    parameters = DareSection

    def merge(
        self, values: torch.Tensor, weights: torch.Tensor, params: DareSection, ctx: TensorContext
    ) -> torch.Tensor:
        u = torch.empty_like(values)
        for i in range(values.shape[0]):
            u[i] = _dropped(values[i], params, ctx.generator(i, values.device), ctx.density(params, i)) * float(weights[i])
        w = weights.to(values.device, values.dtype).view(-1, *([1] * (values.dim() - 1)))
        return _elect(u, u.sum(0), w, params.normalize) * params.lambda_


def _dropped(task_vector: torch.Tensor, params: DareSection, generator: torch.Generator, density: float) -> torch.Tensor:
    """DARE's drop (keep each entry with probability `density`) and rescale of one model's task vector."""
    keep = torch.rand(task_vector.shape, generator=generator, device=task_vector.device) < density
    dropped = task_vector * keep
    if params.rescale == "l1":
        return l1_rescaled(task_vector, dropped)
    if params.rescale:
        dropped /= density
    return dropped


def l1_rescaled(task_vector: torch.Tensor, dropped: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """`dropped` scaled by ||task_vector||_1 / ||dropped||_1, as mergekit's `rescale_norm: l1` does (left as is
    when either norm is below eps)."""
    before, after = task_vector.abs().sum(), dropped.abs().sum()
    if float(before) < eps or float(after) < eps:
        return dropped
    return dropped * (before / after)


def _weights_like(weights: torch.Tensor, stacked: torch.Tensor) -> torch.Tensor:
    return weights.to(stacked.device, stacked.dtype).view(-1, *([1] * (stacked.dim() - 1)))


def _safe_divisor(total: torch.Tensor) -> torch.Tensor | float:
    return total if float(total.abs()) > 1e-8 else 1.0


def _ties(
    deltas: torch.Tensor, weights: torch.Tensor, params: TiesSection, ctx: TensorContext, slack: float
) -> torch.Tensor:
    n_models = deltas.shape[0]
    w = weights.to(deltas.device, deltas.dtype).view(n_models, 1)
    flat = deltas.reshape(n_models, -1)
    n = flat.shape[1]
    ks = [top_k_count(n, ctx.density(params, i)) for i in range(n_models)]
    trims = [trim_threshold(flat[i], ks[i], ctx.pool) for i in range(n_models)]
    scales = None
    if slack > 0.0:
        scales = torch.tensor(
            election_scales([t.value for t in trims], slack, ctx.slack_models), dtype=w.dtype, device=w.device
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
        ctx.survival[:] = [
            (ks[i] if known_important[i] is not None else sum(c[i][0] for c in counts), sum(c[i][1] for c in counts))
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


def election_scales(thresholds: list[float], slack: float, applies: tuple[bool, ...] | None = None) -> list[float]:
    """s_i = (1 - xi) + xi * mean_j(t_j) / t_i, t_i the trim threshold of model i (1.0 where t_i = 0, and for
    the models `applies` leaves out: the SFT-protecting form rescales only the protected models' votes)."""
    positive = [t for t in thresholds if t > 0]
    if not positive:
        return [1.0] * len(thresholds)
    mean = sum(positive) / len(positive)
    applies = applies or (True,) * len(thresholds)
    return [(1.0 - slack) + slack * mean / t if t > 0 and a else 1.0 for t, a in zip(thresholds, applies, strict=True)]
