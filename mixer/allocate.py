"""Exact integer allocation: per-step sample counts that track a schedule's cumulative target.

Given per-step target proportions P (steps x sources, rows summing to 1) and a global batch B, the
target for source s after step k is C[k, s] = B * sum_{j<=k} P[j, s]. We choose integer counts with
every row summing to B such that the cumulative count X[k, s] satisfies

    floor(C + t) <= X <= ceil(C - t)          (t = `snap_tolerance`, 1e-6 for plans up to ~10^7 samples)

so |X - C| <= 1 - t < 1 at every step, and X == C wherever C is a whole number (up to t: the float
proportions 0.3 or 0.2 make 7 x 100 x 0.3 = 210.00000000000003, which counts as 210). Seen as scheduling,
unit j of source s may be placed once ceil(C - t) >= j (release) and must be placed by the step where
floor(C + t) >= j (deadline); every window of steps holds at most as many deadlines-inside units as it has
slots (the row sums of C are exact, and 2 * n_sources * t < 1), so earliest-deadline-first (EDF) meets
every deadline and fills every slot. EDF is computed vectorised: a stateless "earliest deadlines among the
released units" rule agrees with it except where it would take a sample back; only those stretches are
replayed step by step.

C must be known far more precisely than t, whatever the plan's length: a float64 `cumsum` of the per-step
targets drifts (and so did rounding each step's targets to a fixed point: 0.3 rounded up at every one of
100 steps put the target at 210 + 4e-11 and the count at 211). Here each step's B * P[k] is split into
whole units of 2^-b sample (b = 52 - bits of B, so B * 2^b < 2^52 and the split loses nothing a float
holds) and a fraction of a unit; the whole units are summed exactly in int64 (in two 26-bit limbs, so
that 2^28 steps cannot overflow), the fractions in float64 (at most `steps` units in total, so their
rounding error is under 2^-25 units for 2^28 steps). The cumulative target is then exact up to the
float rounding of the products B * P[k] themselves: at most (n_sources + 2) / 2 units of 2^-b sample per
step, total_samples * (n_sources + 2) * 2^-53 samples over the plan (5e-8 samples for 10^8 samples and
4 sources), far below t.
"""

from __future__ import annotations

import numpy as np

from mixer.units import MixerError

MAX_GLOBAL_BATCH = 2**31 - 1  # counts are stored as int32
_LIMB = 26


def snap_tolerance(total_samples: int, n_sources: int) -> float:
    """t: 1e-6 sample, more for very long plans (total_samples x 2^-44, 64 times the worst float error of the
    cumulative target), never more than 1 / (4 n_sources) (EDF needs 2 n t < 1)."""
    return min(max(1e-6, total_samples * 2.0**-44), 1 / (4 * max(n_sources, 1)))


def cumulative_targets(proportions: np.ndarray, global_batch: int) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative target C (steps x sources) as its floor (int64) and its fraction in [0, 1] (float64).

    Each row of `proportions` is divided by its sum first (rows of zeros are not allowed)."""
    steps, n = proportions.shape
    bits = 52 - int(global_batch).bit_length()
    sums = proportions.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise MixerError(f"step {int(np.flatnonzero(sums[:, 0] <= 0)[0])} has no source with a share")
    units = proportions * (global_batch * 2.0**bits / sums)  # < 2^52 units of 2^-bits sample
    whole = np.floor(units)
    fraction = np.cumsum(units - whole, axis=0)  # non-decreasing, < steps
    whole = whole.astype(np.int64)
    mask = (1 << _LIMB) - 1
    high = np.cumsum(whole >> _LIMB, axis=0)
    low = np.cumsum(whole & mask, axis=0) + np.floor(fraction).astype(np.int64)
    rest = fraction - np.floor(fraction)  # exact
    high += low >> _LIMB  # the cumulative whole units are high * 2^26 + low, low < 2^26
    low &= mask
    if bits >= _LIMB:
        floor = high >> (bits - _LIMB)
        below = ((high & ((1 << (bits - _LIMB)) - 1)) << _LIMB) + low  # units below one sample, < 2^bits
    else:
        floor = (high << (_LIMB - bits)) + (low >> bits)
        below = low & ((1 << bits) - 1)
    return floor, (below + rest) / 2.0**bits


def bounds(proportions: np.ndarray, global_batch: int) -> tuple[np.ndarray, np.ndarray]:
    """floor(C + t) and ceil(C - t): the least and the most samples each source may have drawn after each step."""
    floor, fraction = cumulative_targets(proportions, global_batch)
    t = snap_tolerance(proportions.shape[0] * global_batch, proportions.shape[1])
    return floor + (fraction >= 1 - t), floor + (fraction > t)


def _rank_along_rows(keys: np.ndarray) -> np.ndarray:
    """Rank of each entry within its row (0 = smallest; ties by column order)."""
    order = np.argsort(keys, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(keys.shape[1]), keys.shape), axis=1)
    return ranks


def allocate(proportions: np.ndarray, global_batch: int) -> np.ndarray:
    """Per-step counts (steps x sources, int32) with rows summing to `global_batch` whose cumulative
    sums X satisfy floor(C + t) <= X <= ceil(C - t) at every step: within one sample of the cumulative
    target C, and equal to it where it is whole (see module docstring)."""
    proportions = np.asarray(proportions, dtype=np.float64)
    if proportions.ndim != 2 or not np.isfinite(proportions).all() or (proportions < 0).any():
        raise MixerError("proportions must be a finite, non-negative (steps x sources) array")
    if not 1 <= global_batch <= MAX_GLOBAL_BATCH:
        raise MixerError(f"global_batch must be between 1 and {MAX_GLOBAL_BATCH:,}, got {global_batch:,}")
    steps, n = proportions.shape
    lower, upper = bounds(proportions, global_batch)  # must / may have been drawn by the end of each step
    filled = (np.arange(1, steps + 1, dtype=np.int64) * global_batch)[:, None]
    # Deadline of each source's next optional unit (lower + 1): the first step whose target reaches it.
    deadline = np.empty_like(lower)
    for s in range(n):
        deadline[:, s] = np.searchsorted(lower[:, s], lower[:, s] + 1, side="left")
    key = np.where(upper > lower, deadline * n + np.arange(n), np.iinfo(np.int64).max)
    extra = filled[:, 0] - lower.sum(axis=1)
    cumulative = lower + (_rank_along_rows(key) < extra[:, None])

    # The stateless rule may drop a unit it took one step earlier; replay EDF there until it agrees again.
    backwards = np.flatnonzero((np.diff(cumulative, axis=0) < 0).any(axis=1)) + 1
    replayed_to = 0
    for k in backwards.tolist():
        if k <= replayed_to:
            continue
        previous = cumulative[k - 1].copy()
        while k < steps:
            base = np.maximum(previous, lower[k])
            need = int(filled[k, 0] - base.sum())
            candidates = np.flatnonzero(base < upper[k])
            if need < 0 or need > len(candidates):  # impossible by the EDF argument; guard anyway
                raise MixerError(f"internal error: cannot allocate step {k} exactly (need {need})")
            chosen = candidates[np.argsort(key[k, candidates], kind="stable")[:need]]
            base[chosen] += 1
            if np.array_equal(base, cumulative[k]):
                break
            cumulative[k] = base
            previous = base
            k += 1
        replayed_to = k
    counts = np.diff(cumulative, axis=0, prepend=np.zeros((1, n), dtype=np.int64))
    assert (counts >= 0).all() and (counts.sum(axis=1) == global_batch).all()
    return counts.astype(np.int32)


def cap_epochs(
    proportions: np.ndarray, global_batch: int, budgets: np.ndarray, sources: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Stop drawing from a source once its budget (max_epochs x sequences) is used up, giving its share
    to the others in proportion to theirs. Returns new proportions and one note per capped source."""
    proportions = proportions.copy()
    notes: list[str] = []
    capped: set[int] = set()
    # Slightly under the budget so that rounding the cumulative target up never crosses it.
    limit = np.where(budgets > 0, budgets - 1e-3, 0.0)
    while True:
        cumulative = np.cumsum(proportions, axis=0) * global_batch
        over = [s for s in range(len(sources)) if s not in capped and cumulative[-1, s] > limit[s]]
        if not over:
            return proportions, notes
        # Cap the source that runs out first: later caps depend on the redistribution it causes.
        first_step = {s: int(np.argmax(cumulative[:, s] > limit[s])) for s in over}
        s = min(over, key=lambda j: (first_step[j], j))
        k = first_step[s]
        before = cumulative[k - 1, s] if k > 0 else 0.0
        keep = np.zeros(len(proportions))
        keep[k] = (limit[s] - before) / global_batch
        freed = proportions[:, s] - keep
        freed[:k] = 0
        proportions[:, s] = np.where(np.arange(len(proportions)) < k, proportions[:, s], keep)
        others = proportions.copy()
        others[:, s] = 0
        others[:, sorted(capped)] = 0
        weight = others.sum(axis=1)
        stuck = np.flatnonzero((freed > 1e-15) & (weight <= 0))
        if len(stuck):
            raise MixerError(
                f"source '{sources[s]}' is used up at step {k} and no other source has a share to take over "
                f"at step {int(stuck[0])}; raise its max_epochs or give other sources a share"
            )
        # each other source's part of the freed share: its share over theirs (<= 1, so no overflow for tiny weights)
        proportions += others / np.where(weight > 0, weight, 1)[:, None] * freed[:, None]
        capped.add(s)
        notes.append(f"{sources[s]}: max_epochs reached at step {k}; its share went to the other sources")
