"""Schedule kinds: the target proportion of every source as a function of training progress.

A kind is one class registered with `@register`. It owns its recipe fields (`mixture.schedule`, chosen
by `kind`), its proportions at the start of every optimizer step (progress = samples trained before the
step), its phases, the mixtures it names (checked against the recipe's sources before planning) and
what `--schedule KIND` makes of it (through `to_points` / `from_points`). An unknown kind is a recipe
error that lists the known ones. Adding a kind is one class here (docs/mixer.md, "Adding a kind").
"""

from __future__ import annotations

import difflib
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field, SerializeAsAny, ValidationInfo, model_validator

from common.recipe import Section, format_loc, registered
from mixer.units import MixerError, Mixture, Span, SpanField

AUTO_GROUPS = ("en", "zh", "parallel", "instruct")


class MixtureError(ValueError):
    """A mixture names an unknown source or has bad proportions; `loc` is its path inside `mixture`."""

    def __init__(self, loc: tuple, message: str):
        self.loc, self.message = loc, message
        super().__init__(f"{format_loc(('mixture', *loc))}: {message}")


@dataclass
class Context:
    """What a schedule needs to turn recipe mixtures and spans into numbers."""

    sources: list[str]
    n_sequences: np.ndarray  # (n,) sequences per source
    groups: dict[str, list[str]]  # group name -> member sources
    global_batch: int
    seq_len: int | None
    normalize: bool = False
    notes: list[str] = field(default_factory=list)

    def vector(self, mixture: Mixture, loc: tuple, *, drop_empty_groups: bool = False) -> np.ndarray:
        """Proportions over `sources` (sums to 1). A group's weight is split over its members in
        proportion to their sequence counts."""
        out = np.zeros(len(self.sources))
        index = {name: i for i, name in enumerate(self.sources)}
        dropped = []
        for name, weight in mixture.items():
            if name in index:
                if weight > 0 and self.n_sequences[index[name]] == 0:
                    raise MixtureError((*loc, name), f"source '{name}' has no sequences but proportion {weight}")
                out[index[name]] += weight
                continue
            if name not in self.groups:
                known = sorted(set(self.sources) | set(self.groups))
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise MixtureError((*loc, name), f"unknown source or group{hint}; known: {', '.join(known)}")
            members = [index[m] for m in self.groups[name] if m in index]
            sizes = self.n_sequences[members].astype(float)
            if sizes.sum() == 0:
                if weight == 0:
                    continue
                if drop_empty_groups:
                    dropped.append(name)
                    continue
                raise MixtureError((*loc, name), f"group '{name}' has no sources with sequences")
            out[members] += weight * sizes / sizes.sum()
        total = out.sum()
        if total <= 0:
            raise MixtureError(loc, "all proportions are zero")
        if dropped:
            self.notes.append(f"{format_loc(('mixture', *loc))}: groups without sources dropped "
                              f"({', '.join(dropped)}); the rest renormalised to sum to 1")
        elif not self.normalize and abs(total - 1) > 1e-6:
            raise MixtureError(loc, f"proportions sum to {total:.6g}, not 1 (or set mixture.normalize: true)")
        return out / total

    def samples(self, span: Span) -> float:
        """A span in samples (steps x global_batch, tokens / seq_len)."""
        if span.unit == "steps":
            return span.value * self.global_batch
        if span.unit == "tokens":
            if not self.seq_len:
                raise MixtureError((), f"'{span}' needs seq_len: plan from token shards or set mixture.seq_len")
            return span.value / self.seq_len
        return span.value


# Curves map progress x in [0, 1] to how far along from start to end the mixture is.
CURVES: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "linear": lambda x, rate: x,
    "cosine": lambda x, rate: (1 - np.cos(np.pi * x)) / 2,
    "exponential": lambda x, rate: -np.expm1(-rate * x) / -np.expm1(-rate),
}


def _interpolate(t, start, end, horizon, curve, rate) -> np.ndarray:
    x = np.clip(t / horizon, 0, 1) if horizon > 0 else np.ones_like(t)
    s = CURVES[curve](x, rate)[:, None]
    return start[None, :] * (1 - s) + end[None, :] * s


MixtureRef = tuple[tuple, Mixture, bool]  # (path inside `mixture`, the mixture, whether it is a built-in default)
KINDS: dict[str, type[Schedule]] = {}  # kind name -> class, in registration order


def register(cls: type[Schedule]) -> type[Schedule]:
    """Make a schedule class a valid `mixture.schedule.kind` (every value of its `kind` Literal)."""
    if cls.__abstractmethods__:
        raise TypeError(f"schedule kind {cls.__name__} must define {', '.join(sorted(cls.__abstractmethods__))}")
    for kind in cls.model_fields["kind"].annotation.__args__:
        KINDS[kind] = cls
    return cls


class Schedule(Section):
    """Base of every schedule kind. Validating `Schedule` validates with the class its `kind` names."""

    kind: str

    @model_validator(mode="wrap")
    @classmethod
    def _by_kind(cls, data: Any, handler, info: ValidationInfo) -> Schedule:
        if cls is not Schedule:
            return handler(data)
        if isinstance(data, Schedule):
            return data
        kind = registered(data.get("kind") if isinstance(data, dict) else None, KINDS, "schedule kind")
        return KINDS[kind].model_validate(data, context=info.context)

    @abstractmethod
    def proportions(self, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
        """Target proportions (len(t), n_sources) at progress `t` (samples), each row summing to 1."""

    @abstractmethod
    def phases(self, ctx: Context, offset: float = 0.0, prefix: str = "") -> list[tuple[str, float]]:
        """(name, end in samples) of each phase, in order; the last phase ends at infinity."""

    @abstractmethod
    def mixtures(self, loc: tuple) -> list[MixtureRef]:
        """Every mixture the schedule names, with its path under `mixture`."""

    def to_points(self) -> list[Point]:
        """The schedule's mixtures at the moments they hold, for `--schedule` to rebuild another kind from."""
        raise MixerError(f"--schedule cannot convert from '{self.kind}'; edit the recipe instead")

    @classmethod
    def from_points(cls, kind: str, points: list[Point]) -> Schedule:
        """A schedule of this class through `points` (the first at 0)."""
        raise MixerError(f"--schedule cannot convert to '{kind}'; edit the recipe instead")

    def override(self, kind: str) -> Schedule:
        """This schedule with its curve replaced by `kind`, keeping its mixtures (`--schedule`)."""
        if kind not in KINDS:
            raise MixerError(f"unknown schedule '{kind}'; choose from {', '.join(KINDS)}")
        if kind == self.kind:
            return self
        return KINDS[kind].from_points(kind, self.to_points())


class Point(Section):
    at: SpanField
    mixture: Mixture


@register
class ConstantSchedule(Schedule):
    """One mixture for the whole run."""

    kind: Literal["constant"]
    mixture: Mixture

    def proportions(self, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
        return np.broadcast_to(ctx.vector(self.mixture, (*loc, "mixture")), (len(t), len(ctx.sources))).copy()

    def phases(self, ctx: Context, offset: float = 0.0, prefix: str = "") -> list[tuple[str, float]]:
        return [(prefix + "constant", np.inf)]

    def mixtures(self, loc: tuple) -> list[MixtureRef]:
        return [((*loc, "mixture"), self.mixture, False)]

    def to_points(self) -> list[Point]:
        return [Point(at=Span(value=0), mixture=self.mixture)]

    @classmethod
    def from_points(cls, kind: str, points: list[Point]) -> Schedule:
        return cls(kind="constant", mixture=points[0].mixture)  # holds the first mixture


@register
class InterpolatedSchedule(Schedule):
    """From `start` to `end` over `horizon` along a curve, then hold `end`."""

    kind: Literal["linear", "cosine", "exponential"]
    start: Mixture
    end: Mixture
    horizon: SpanField
    rate: float = Field(5.0, gt=0)  # exponential only: how front-loaded the move is

    def proportions(self, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
        start, end = ctx.vector(self.start, (*loc, "start")), ctx.vector(self.end, (*loc, "end"))
        return _interpolate(t, start, end, ctx.samples(self.horizon), self.kind, self.rate)

    def phases(self, ctx: Context, offset: float = 0.0, prefix: str = "") -> list[tuple[str, float]]:
        return [(prefix + self.kind, offset + ctx.samples(self.horizon)), (prefix + "hold", np.inf)]

    def mixtures(self, loc: tuple) -> list[MixtureRef]:
        return [((*loc, "start"), self.start, False), ((*loc, "end"), self.end, False)]

    def to_points(self) -> list[Point]:
        return [Point(at=Span(value=0), mixture=self.start), Point(at=self.horizon, mixture=self.end)]

    @classmethod
    def from_points(cls, kind: str, points: list[Point]) -> Schedule:
        return cls(kind=kind, start=points[0].mixture, end=points[-1].mixture, horizon=points[-1].at)


@register
class PointsSchedule(Schedule):
    """`step`: each point's mixture from its `at` on (data stages). `piecewise`: linear between points."""

    kind: Literal["step", "piecewise"]
    points: list[Point] = Field(min_length=1)

    @model_validator(mode="after")
    def _first_at_zero(self) -> PointsSchedule:
        if self.points[0].at.value != 0:
            raise ValueError("the first point must be at 0 (the mixture training starts with)")
        return self

    def proportions(self, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
        at = np.array([ctx.samples(p.at) for p in self.points])
        if np.any(np.diff(at) < 0):
            raise MixtureError((*loc, "points"), "points must be in increasing order of 'at'")
        mixes = np.stack([ctx.vector(p.mixture, (*loc, "points", i, "mixture")) for i, p in enumerate(self.points)])
        segment = np.searchsorted(at, t, side="right") - 1  # the last point at or before t
        if self.kind == "step":
            return mixes[segment]
        nxt = np.minimum(segment + 1, len(at) - 1)
        width = at[nxt] - at[segment]
        x = np.where(width > 0, (t - at[segment]) / np.where(width > 0, width, 1), 0.0)[:, None]
        return mixes[segment] * (1 - x) + mixes[nxt] * x

    def phases(self, ctx: Context, offset: float = 0.0, prefix: str = "") -> list[tuple[str, float]]:
        at = [ctx.samples(p.at) for p in self.points]
        ends = [offset + a for a in at[1:]] + [np.inf]
        return [(f"{prefix}{self.kind} {i}", end) for i, end in enumerate(ends)]

    def mixtures(self, loc: tuple) -> list[MixtureRef]:
        return [((*loc, "points", i, "mixture"), p.mixture, False) for i, p in enumerate(self.points)]

    def to_points(self) -> list[Point]:
        return list(self.points)

    @classmethod
    def from_points(cls, kind: str, points: list[Point]) -> Schedule:
        return cls(kind=kind, points=points)


class Stage(Section):
    length: SpanField | None = None  # None: the rest of training (last stage only)
    schedule: SerializeAsAny[Schedule]  # dumped with the fields of its kind


@register
class StagesSchedule(Schedule):
    """Stages one after another, each with its own schedule, whose progress restarts at the stage start."""

    kind: Literal["stages"]
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _only_last_open(self) -> StagesSchedule:
        for i, stage in enumerate(self.stages[:-1]):
            if stage.length is None:
                raise ValueError(f"stages[{i}] needs a length (only the last stage may run to the end)")
        return self

    def proportions(self, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
        out = np.empty((len(t), len(ctx.sources)))
        begin = 0.0
        for i, stage in enumerate(self.stages):
            end = begin + ctx.samples(stage.length) if stage.length is not None else np.inf
            inside = (t >= begin) & (t < end) if i < len(self.stages) - 1 else t >= begin
            if inside.any():
                out[inside] = stage.schedule.proportions(t[inside] - begin, ctx, (*loc, "stages", i, "schedule"))
            begin = end
        return out

    def phases(self, ctx: Context, offset: float = 0.0, prefix: str = "") -> list[tuple[str, float]]:
        out, begin = [], offset
        for i, stage in enumerate(self.stages):
            stop = begin + ctx.samples(stage.length) if stage.length is not None else np.inf
            for name, end in stage.schedule.phases(ctx, begin, f"{prefix}stage {i}: "):
                out.append((name, min(end, stop)))
                if end >= stop:
                    break
            begin = stop
        return out

    def mixtures(self, loc: tuple) -> list[MixtureRef]:
        return [ref for i, stage in enumerate(self.stages)
                for ref in stage.schedule.mixtures((*loc, "stages", i, "schedule"))]

    def to_points(self) -> list[Point]:
        raise MixerError("--schedule cannot convert to or from 'stages'; edit the recipe instead")

    @classmethod
    def from_points(cls, kind: str, points: list[Point]) -> Schedule:
        raise MixerError("--schedule cannot convert to or from 'stages'; edit the recipe instead")


# ChatFlow's dynamic data sampler: start from unsupervised pre-training that is mostly English, with
# parallel data to bridge the languages, and grow towards Chinese and instruction data. Group names
# refer to the automatic groups (mono English, mono Chinese, parallel, instruct); see docs/mixer.md.
CHATFLOW_START = {"en": 0.7, "parallel": 0.2, "zh": 0.1, "instruct": 0.0}
CHATFLOW_END = {"en": 0.1, "parallel": 0.1, "zh": 0.5, "instruct": 0.3}


@register
class ChatFlowSchedule(Schedule):
    """ChatFlow's dynamic data sampler: `start` -> `end` along `curve` over `t_grow`, then hold."""

    kind: Literal["chatflow"]
    start: Mixture | None = None  # default CHATFLOW_START (groups without sources are dropped)
    end: Mixture | None = None  # default CHATFLOW_END
    t_grow: SpanField = Span(value=5_000_000, unit="samples")
    curve: Literal["linear", "cosine", "exponential"] = "cosine"
    rate: float = Field(5.0, gt=0)

    def proportions(self, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
        start = ctx.vector(self.start or CHATFLOW_START, (*loc, "start"), drop_empty_groups=self.start is None)
        end = ctx.vector(self.end or CHATFLOW_END, (*loc, "end"), drop_empty_groups=self.end is None)
        return _interpolate(t, start, end, ctx.samples(self.t_grow), self.curve, self.rate)

    def phases(self, ctx: Context, offset: float = 0.0, prefix: str = "") -> list[tuple[str, float]]:
        return [(prefix + "grow", offset + ctx.samples(self.t_grow)), (prefix + "hold", np.inf)]

    def mixtures(self, loc: tuple) -> list[MixtureRef]:
        return [((*loc, "start"), self.start or CHATFLOW_START, self.start is None),
                ((*loc, "end"), self.end or CHATFLOW_END, self.end is None)]

    def to_points(self) -> list[Point]:
        return [Point(at=Span(value=0), mixture=self.start or CHATFLOW_START),
                Point(at=self.t_grow, mixture=self.end or CHATFLOW_END)]

    @classmethod
    def from_points(cls, kind: str, points: list[Point]) -> Schedule:
        return cls(kind="chatflow", start=points[0].mixture, end=points[-1].mixture, t_grow=points[-1].at)

    def override(self, kind: str) -> Schedule:
        if kind in CURVES:  # a curve name keeps chatflow (and its defaults); only the curve changes
            return self.model_copy(update={"curve": kind})
        return super().override(kind)
