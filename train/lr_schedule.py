"""Learning-rate schedules (`train.lr_schedule`): linear warmup, then cosine, linear, warmup-stable-decay or
constant. They depend on the optimizer step only (never on the mixer's data schedule), as a multiplier of the peak lr."""

from __future__ import annotations

import math
from collections.abc import Callable


def lr_multiplier(kind: str, *, total_steps: int, warmup_steps: int, min_ratio: float,
                  decay_fraction: float = 0.2) -> Callable[[int], float]:
    """`f(step) -> lr / peak_lr` for steps 0 .. total_steps-1."""
    if kind not in {"cosine", "linear", "wsd", "constant"}:
        raise ValueError(f"unknown learning-rate schedule {kind!r}")
    decay_start = warmup_steps if kind != "wsd" else max(warmup_steps, total_steps - round(decay_fraction * total_steps))

    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if kind == "constant" or step < decay_start:
            return 1.0
        span = max(1, total_steps - 1 - decay_start)
        progress = min(1.0, (step - decay_start) / span)
        if kind == "cosine":
            shape = 0.5 * (1 + math.cos(math.pi * progress))
        else:  # linear, and the decay of wsd
            shape = 1 - progress
        return min_ratio + (1 - min_ratio) * shape

    return f
