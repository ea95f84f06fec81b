"""Schedule curves: the target proportion of every source as a function of training progress.

A schedule is evaluated at the start of every optimizer step (progress = samples trained before the
step) and returns one row of proportions per step. Each kind is one function in `SCHEDULES`; adding a
kind is a config class in `mixer.config` plus a function here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from common.recipe import format_loc
from mixer.config import (
    CHATFLOW_END,
    CHATFLOW_START,
    ChatFlowSchedule,
    ConstantSchedule,
    InterpolatedSchedule,
    MixerError,
    Mixture,
    Point,
    PointsSchedule,
    Span,
    StagesSchedule,
)

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


def constant(cfg: ConstantSchedule, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
    return np.broadcast_to(ctx.vector(cfg.mixture, (*loc, "mixture")), (len(t), len(ctx.sources))).copy()


def interpolated(cfg: InterpolatedSchedule, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
    start, end = ctx.vector(cfg.start, (*loc, "start")), ctx.vector(cfg.end, (*loc, "end"))
    return _interpolate(t, start, end, ctx.samples(cfg.horizon), cfg.kind, cfg.rate)


def chatflow(cfg: ChatFlowSchedule, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
    start = ctx.vector(cfg.start or CHATFLOW_START, (*loc, "start"), drop_empty_groups=cfg.start is None)
    end = ctx.vector(cfg.end or CHATFLOW_END, (*loc, "end"), drop_empty_groups=cfg.end is None)
    return _interpolate(t, start, end, ctx.samples(cfg.t_grow), cfg.curve, cfg.rate)


def points(cfg: PointsSchedule, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
    at = np.array([ctx.samples(p.at) for p in cfg.points])
    if np.any(np.diff(at) < 0):
        raise MixtureError((*loc, "points"), "points must be in increasing order of 'at'")
    mixes = np.stack([ctx.vector(p.mixture, (*loc, "points", i, "mixture")) for i, p in enumerate(cfg.points)])
    segment = np.searchsorted(at, t, side="right") - 1  # the last point at or before t
    if cfg.kind == "step":
        return mixes[segment]
    nxt = np.minimum(segment + 1, len(at) - 1)
    width = at[nxt] - at[segment]
    x = np.where(width > 0, (t - at[segment]) / np.where(width > 0, width, 1), 0.0)[:, None]
    return mixes[segment] * (1 - x) + mixes[nxt] * x


def stages(cfg: StagesSchedule, t: np.ndarray, ctx: Context, loc: tuple) -> np.ndarray:
    out = np.empty((len(t), len(ctx.sources)))
    begin = 0.0
    for i, stage in enumerate(cfg.stages):
        end = begin + ctx.samples(stage.length) if stage.length is not None else np.inf
        inside = (t >= begin) & (t < end) if i < len(cfg.stages) - 1 else t >= begin
        if inside.any():
            out[inside] = evaluate(stage.schedule, t[inside] - begin, ctx, (*loc, "stages", i, "schedule"))
        begin = end
    return out


SCHEDULES: dict[str, Callable] = {
    "constant": constant,
    "linear": interpolated,
    "cosine": interpolated,
    "exponential": interpolated,
    "step": points,
    "piecewise": points,
    "stages": stages,
    "chatflow": chatflow,
}


def evaluate(cfg, t: np.ndarray, ctx: Context, loc: tuple = ("schedule",)) -> np.ndarray:
    """Target proportions (len(t), n_sources) at progress `t` (samples), each row summing to 1."""
    return SCHEDULES[cfg.kind](cfg, np.asarray(t, dtype=float), ctx, loc)


def phases(cfg, ctx: Context, offset: float = 0.0, prefix: str = "") -> list[tuple[str, float]]:
    """(name, end in samples) of each phase of a schedule, in order; the last phase ends at infinity."""
    if cfg.kind == "constant":
        return [(prefix + "constant", np.inf)]
    if cfg.kind in ("linear", "cosine", "exponential", "chatflow"):
        horizon = ctx.samples(cfg.t_grow if cfg.kind == "chatflow" else cfg.horizon)
        name = "grow" if cfg.kind == "chatflow" else cfg.kind
        return [(prefix + name, offset + horizon), (prefix + "hold", np.inf)]
    if cfg.kind in ("step", "piecewise"):
        at = [ctx.samples(p.at) for p in cfg.points]
        ends = [offset + a for a in at[1:]] + [np.inf]
        return [(f"{prefix}{cfg.kind} {i}", end) for i, end in enumerate(ends)]
    out, begin = [], offset
    for i, stage in enumerate(cfg.stages):
        stop = begin + ctx.samples(stage.length) if stage.length is not None else np.inf
        for name, end in phases(stage.schedule, ctx, begin, f"{prefix}stage {i}: "):
            out.append((name, min(end, stop)))
            if end >= stop:
                break
        begin = stop
    return out


def override(cfg, kind: str):
    """The recipe's schedule with its curve replaced by `kind`, keeping its mixtures (`--schedule`).

    Interpolations keep start, end and horizon; points keep their points; `constant` holds the first
    mixture; chatflow with a curve name keeps chatflow and changes its curve; `stages` cannot be
    converted."""
    if kind not in SCHEDULES:
        raise MixerError(f"unknown schedule '{kind}'; choose from {', '.join(SCHEDULES)}")
    if cfg.kind == kind:
        return cfg
    if cfg.kind == "stages" or kind == "stages":
        raise MixerError("--schedule cannot convert to or from 'stages'; edit the recipe instead")
    if cfg.kind == "chatflow" and kind in CURVES:  # keep chatflow's defaults; only the curve changes
        return cfg.model_copy(update={"curve": kind})
    if cfg.kind == "constant":
        pts = [Point(at=Span(value=0), mixture=cfg.mixture)]
    elif cfg.kind == "chatflow":
        pts = [Point(at=Span(value=0), mixture=cfg.start or CHATFLOW_START),
               Point(at=cfg.t_grow, mixture=cfg.end or CHATFLOW_END)]
    elif cfg.kind in ("step", "piecewise"):
        pts = list(cfg.points)
    else:
        pts = [Point(at=Span(value=0), mixture=cfg.start), Point(at=cfg.horizon, mixture=cfg.end)]
    first, last = pts[0], pts[-1]
    if kind == "constant":
        return ConstantSchedule(kind="constant", mixture=first.mixture)
    if kind in ("step", "piecewise"):
        return PointsSchedule(kind=kind, points=pts)
    if kind == "chatflow":
        return ChatFlowSchedule(kind="chatflow", start=first.mixture, end=last.mixture, t_grow=last.at)
    return InterpolatedSchedule(kind=kind, start=first.mixture, end=last.mixture, horizon=last.at)

