"""The `mixture:` recipe section: batch size, length, epoch limits and the schedule of proportions.

Validated by pydantic (unknown keys are errors). Amounts of training ("spans": the total, a horizon,
where a switch happens) are written `2000 steps`, `5M samples` or `1.5B tokens`; a bare number means
samples. Mixtures map source names (or group names) to proportions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, model_validator

from common.recipe import Section

UNITS = ("steps", "samples", "tokens")
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_SPAN = re.compile(r"^\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*(?:([kKmMbBgGtT])(?=\s|$))?\s*([a-z]*)\s*$")


class MixerError(ValueError):
    """A mixture cannot be planned (bad proportions, unknown source, a source run out); says which and why."""


def parse_amount(text: str | int | float) -> float:
    """`5M` -> 5e6, `1_000` -> 1000, `2.5k` -> 2500: the numbers a user writes for sizes."""
    if isinstance(text, bool):
        raise ValueError(f"expected a number, got {text!r}")
    if isinstance(text, int | float):
        return float(text)
    match = _SPAN.match(str(text))
    if not match or match.group(3):
        raise ValueError(f"expected a number like 2000, 5M or 1.5B, got {text!r}")
    return float(match.group(1).replace("_", "")) * _SUFFIX[(match.group(2) or "").lower()]


class Span(BaseModel):
    """An amount of training: `value` steps, samples (sequences) or tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    value: float = Field(ge=0)
    unit: Literal["steps", "samples", "tokens"] = "samples"

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


def _parse_span(raw: Any) -> Any:
    if isinstance(raw, bool):
        raise ValueError(f"expected an amount like '2000 steps', '5M samples' or '1B tokens', got {raw!r}")
    if isinstance(raw, int | float):
        return {"value": raw, "unit": "samples"}
    if isinstance(raw, str):
        match = _SPAN.match(raw)
        unit = match.group(3) if match else None
        unit = {"step": "steps", "sample": "samples", "token": "tokens", "": "samples"}.get(unit, unit)
        if not match or unit not in UNITS:
            raise ValueError(f"expected an amount like '2000 steps', '5M samples' or '1B tokens', got {raw!r}")
        return {"value": parse_amount(match.group(1) + (match.group(2) or "")), "unit": unit}
    return raw


SpanField = Annotated[Span, BeforeValidator(_parse_span)]
Mixture = dict[str, Annotated[float, Field(ge=0)]]  # source or group name -> proportion


class ConstantSchedule(Section):
    """One mixture for the whole run."""

    kind: Literal["constant"]
    mixture: Mixture


class InterpolatedSchedule(Section):
    """From `start` to `end` over `horizon` along a curve, then hold `end`."""

    kind: Literal["linear", "cosine", "exponential"]
    start: Mixture
    end: Mixture
    horizon: SpanField
    rate: float = Field(5.0, gt=0)  # exponential only: how front-loaded the move is


class Point(Section):
    at: SpanField
    mixture: Mixture


class PointsSchedule(Section):
    """`step`: each point's mixture from its `at` on (data stages). `piecewise`: linear between points."""

    kind: Literal["step", "piecewise"]
    points: list[Point] = Field(min_length=1)

    @model_validator(mode="after")
    def _first_at_zero(self) -> PointsSchedule:
        if self.points[0].at.value != 0:
            raise ValueError("the first point must be at 0 (the mixture training starts with)")
        return self


class Stage(Section):
    length: SpanField | None = None  # None: the rest of training (last stage only)
    schedule: Schedule


class StagesSchedule(Section):
    """Stages one after another, each with its own schedule, whose progress restarts at the stage start."""

    kind: Literal["stages"]
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _only_last_open(self) -> StagesSchedule:
        for i, stage in enumerate(self.stages[:-1]):
            if stage.length is None:
                raise ValueError(f"stages[{i}] needs a length (only the last stage may run to the end)")
        return self


# ChatFlow's dynamic data sampler: start from unsupervised pre-training that is mostly English, with
# parallel data to bridge the languages, and grow towards Chinese and instruction data. Group names
# refer to the automatic groups (mono English, mono Chinese, parallel, instruct); see docs/mixer.md.
CHATFLOW_START = {"en": 0.7, "parallel": 0.2, "zh": 0.1, "instruct": 0.0}
CHATFLOW_END = {"en": 0.1, "parallel": 0.1, "zh": 0.5, "instruct": 0.3}


class ChatFlowSchedule(Section):
    """ChatFlow's dynamic data sampler: `start` -> `end` along `curve` over `t_grow`, then hold."""

    kind: Literal["chatflow"]
    start: Mixture | None = None  # default CHATFLOW_START (groups without sources are dropped)
    end: Mixture | None = None  # default CHATFLOW_END
    t_grow: SpanField = Span(value=5_000_000, unit="samples")
    curve: Literal["linear", "cosine", "exponential"] = "cosine"
    rate: float = Field(5.0, gt=0)


Schedule = Annotated[
    ConstantSchedule | InterpolatedSchedule | PointsSchedule | StagesSchedule | ChatFlowSchedule,
    Field(discriminator="kind"),
]
Stage.model_rebuild()
StagesSchedule.model_rebuild()


class MixtureSection(Section):
    """The `mixture:` section read by `python -m mixer.plan`."""

    global_batch: PositiveInt  # sequences per optimizer step (over all devices)
    total: SpanField  # how long training is: steps, samples or tokens (rounded up to whole steps)
    schedule: Schedule
    groups: dict[str, list[str]] = Field(default_factory=dict)  # extra named groups of sources
    normalize: bool = False  # false: every mixture must sum to 1 (±1e-6); true: divide by its sum
    max_epochs: Annotated[float, Field(gt=0)] | dict[str, Annotated[float, Field(gt=0)]] = 4.0
    on_exhausted: Literal["fail", "renormalize"] = "fail"
    seed: int | None = None  # default: the recipe's seed
    seq_len: PositiveInt | None = None  # only for what-if plans without shards (tokens <-> samples)

    @model_validator(mode="after")
    def _check(self) -> MixtureSection:
        if self.total.value < 1:
            raise ValueError("total must be at least 1")
        if isinstance(self.max_epochs, dict) and not self.max_epochs:
            raise ValueError("max_epochs: give a number or a mapping of source -> epochs (with 'default')")
        return self

    def epochs_limit(self, source: str) -> float:
        if isinstance(self.max_epochs, dict):
            return self.max_epochs.get(source, self.max_epochs.get("default", 4.0))
        return self.max_epochs
