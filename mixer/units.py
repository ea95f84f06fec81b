"""What the mixer's recipe values are made of: amounts of training ("spans": the total, a horizon, where a
switch happens), written `2000 steps`, `5M samples` or `1.5B tokens` (a bare number means samples), and
mixtures, which map source names (or group names) to proportions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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
