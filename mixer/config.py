"""The `mixture:` recipe section: batch size, length, epoch limits and the schedule of proportions.

Validated by pydantic (unknown keys are errors); `schedule` is validated by the class its `kind` names
(mixer.schedules).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt, SerializeAsAny, model_validator

from common.recipe import Section
from mixer.schedules import Schedule
from mixer.units import SpanField


class MixtureSection(Section):
    """The `mixture:` section read by `python -m mixer.plan`."""

    global_batch: PositiveInt  # sequences per optimizer step (over all devices)
    total: SpanField  # how long training is: steps, samples or tokens (rounded up to whole steps)
    schedule: SerializeAsAny[Schedule]  # validated and dumped as the class its kind names
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
