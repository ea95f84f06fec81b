"""Exact integer allocation: per-step sample counts that track a schedule's cumulative target.

Given per-step target proportions P (steps x sources, rows summing to 1) and a global batch B, the
target for source s after step k is C[k, s] = B * sum_{j<=k} P[j, s]. We choose integer counts with
every row summing to B such that the cumulative count X[k, s] satisfies floor(C) <= X <= ceil(C),
i.e. |X - C| < 1 at every step. Seen as scheduling, unit j of source s may be placed once C > j - 1
(release) and must be placed by the step where C >= j (deadline); every window of steps holds at most
as many deadlines-inside units as it has slots, so earliest-deadline-first (EDF) meets every deadline
and fills every slot. EDF is computed vectorised: a stateless "earliest deadlines among the released
units" rule agrees with it except where it would take a sample back; only those stretches are
replayed step by step.

C is kept in fixed point (units of 1/Q sample) so that floor/ceil are exact integers and every row
sums to exactly B.
"""

from __future__ import annotations

import numpy as np

from mixer.units import MixerError


def fixed_point_scale(total_samples: int, global_batch: int) -> int:
    """Q: as fine as int64 cumulative sums and float64 per-step products allow."""
    bits = min(61 - int(total_samples).bit_length(), 52 - int(global_batch).bit_length(), 40)
    return 1 << max(bits, 0)


def cumulative_targets(proportions: np.ndarray, global_batch: int) -> tuple[np.ndarray, int]:
    """Fixed-point cumulative targets F (steps x sources, int64, units of 1/Q) and Q.

    Per-step increments are rounded by largest remainder so each row adds exactly B*Q."""
    steps, n = proportions.shape
    q = fixed_point_scale(steps * global_batch, global_batch)
    quantum = global_batch * q
    scaled = proportions * (quantum / proportions.sum(axis=1, keepdims=True))
    inc = np.floor(scaled).astype(np.int64)
    short = quantum - inc.sum(axis=1)
    remainder = np.where(proportions > 0, scaled - inc, -1.0)
    inc += _rank_along_rows(-remainder) < short[:, None]
    return np.cumsum(inc, axis=0), q


def _rank_along_rows(keys: np.ndarray) -> np.ndarray:
    """Rank of each entry within its row (0 = smallest; ties by column order)."""
    order = np.argsort(keys, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(keys.shape[1]), keys.shape), axis=1)
    return ranks


def allocate(proportions: np.ndarray, global_batch: int) -> np.ndarray:
    """Per-step counts (steps x sources, int32) with rows summing to `global_batch` whose cumulative
    sums stay within one sample of the cumulative target at every step (see module docstring)."""
    proportions = np.asarray(proportions, dtype=np.float64)
    if proportions.ndim != 2 or not np.isfinite(proportions).all() or (proportions < 0).any():
        raise MixerError("proportions must be a finite, non-negative (steps x sources) array")
    steps, n = proportions.shape
    fixed, q = cumulative_targets(proportions, global_batch)
    lower = fixed // q  # floor(C): must have been drawn by now
    upper = -(-fixed // q)  # ceil(C): may have been drawn by now
    filled = (np.arange(1, steps + 1, dtype=np.int64) * global_batch)[:, None]
    # Deadline of each source's next optional unit (lower + 1): the first step whose target reaches it.
    deadline = np.empty_like(lower)
    for s in range(n):
        deadline[:, s] = np.searchsorted(fixed[:, s], (lower[:, s] + 1) * q, side="left")
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
        proportions += others * (freed / np.where(weight > 0, weight, 1))[:, None]
        capped.add(s)
        notes.append(f"{sources[s]}: max_epochs reached at step {k}; its share went to the other sources")
