"""Uncertainty of accuracies (docs/evaluation.md, "Scores with their uncertainty").

- A proportion k/n (one subject, a benchmark's pooled items, a micro-averaged category): the **Wilson
  score interval** at 95%. Unlike the normal approximation p ± z·sqrt(p(1-p)/n) it never leaves
  [0, 1], is not zero-width at k = 0 or k = n, and keeps close to its nominal coverage for small n and
  p near 0 or 1, which is where a 10-question subject and a weak model are.
- A mean of subject accuracies (a benchmark's `average`, a macro-averaged category): a percentile
  **bootstrap over items stratified by subject** (each subject's items resampled with replacement,
  its size kept; `BOOTSTRAP_REPS` resamples, seed `BOOTSTRAP_SEED`, so the numbers are reproducible).
  Resampling a subject's n items with replacement draws its correct count from Binomial(n, k/n), which
  is how it is computed. A subject at 0% or 100% contributes no spread (a known limit of the bootstrap).
- Two models on the same items: the difference of their accuracies (mean of per-item 0/1 correctness
  differences) with **Newcombe's hybrid score interval for paired proportions** (Newcombe 1998,
  Statistics in Medicine 17:2635, method 10): Wilson intervals of both accuracies combined with the
  correlation of the paired 2x2 table (phi, its cross product ad - bc reduced by n/2 when positive, 0
  when between 0 and n/2). Closed form, no seed, inside [-1, 1], and it contains the
  difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the 97.5% point of the standard normal
BOOTSTRAP_REPS = 2000
BOOTSTRAP_SEED = 0

METHODS = {
    "proportion": "Wilson score interval, 95%",
    "mean_of_subjects": f"bootstrap over items stratified by subject, {BOOTSTRAP_REPS} resamples, seed "
    f"{BOOTSTRAP_SEED}, 2.5/97.5 percentiles",
    "paired_difference": "Newcombe (1998) hybrid score interval for paired proportions (method 10), 95%",
}


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95% Wilson score interval of correct/n; None when n == 0 (no interval)."""
    if n <= 0:
        return None
    if not 0 <= correct <= n:
        raise ValueError(f"correct={correct} outside 0..n={n}")
    p = correct / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # clamp rounding so the interval always contains p and lies in [0, 1]
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def mean_of_subjects_interval(
    counts: list[tuple[int, int]], reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of subject accuracies, items resampled within each
    subject; `counts` is (correct, n) per subject. None when there is no subject with items."""
    counts = [(k, n) for k, n in counts if n > 0]
    if not counts:
        return None
    rng = np.random.default_rng(seed)
    ks = np.array([k for k, _ in counts], dtype=float)
    ns = np.array([n for _, n in counts], dtype=float)
    draws = rng.binomial(ns.astype(int)[None, :], (ks / ns)[None, :], size=(reps, len(counts)))
    means = (draws / ns[None, :]).mean(axis=1)
    point = float((ks / ns).mean())
    lo, hi = np.percentile(means, [2.5, 97.5])
    return max(0.0, min(point, float(lo))), min(1.0, max(point, float(hi)))


@dataclass(frozen=True)
class PairedDifference:
    """Accuracy of model B minus model A on the same n items (a: both right, b: only A, c: only B)."""

    n: int
    both: int
    only_a: int
    only_b: int
    neither: int
    difference: float
    ci95: tuple[float, float] | None

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "both_correct": self.both,
            "only_base_correct": self.only_a,
            "only_model_correct": self.only_b,
            "neither_correct": self.neither,
            "difference": self.difference,
            "ci95": list(self.ci95) if self.ci95 else None,
        }


def paired_difference(a: list[bool] | np.ndarray, b: list[bool] | np.ndarray, z: float = Z95) -> PairedDifference:
    """mean(b) - mean(a) over paired 0/1 correctness with Newcombe's method-10 interval."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("paired correctness arrays differ in length")
    n = int(a.size)
    both = int(np.sum(a & b))
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    neither = n - both - only_a - only_b
    if n == 0:
        return PairedDifference(0, 0, 0, 0, 0, float("nan"), None)
    return PairedDifference(n, both, only_a, only_b, neither, (only_b - only_a) / n,
                            newcombe_paired(both, only_b, only_a, neither, z))


def newcombe_paired(
    e: int, f: int, g: int, h: int, z: float = Z95
) -> tuple[float, float] | None:
    """Newcombe's method 10 for p1 - p2 from the paired table: e = both positive, f = first only,
    g = second only, h = neither (p1 = (e+f)/n, p2 = (e+g)/n)."""
    n = e + f + g + h
    if n == 0:
        return None
    p1, p2 = (e + f) / n, (e + g) / n
    l1, u1 = wilson(e + f, n, z)
    l2, u2 = wilson(e + g, n, z)
    # Newcombe's phi: the table's correlation with e*h - f*g shrunk towards 0 by n/2 when positive
    # (as published, and in Altman et al. 2000, "Statistics with Confidence", ch. 6)
    margins = (e + f) * (g + h) * (e + g) * (f + h)
    cross = e * h - f * g
    cross = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = cross / math.sqrt(margins) if margins > 0 else 0.0
    d = p1 - p2
    dl = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    du = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    lo = d - math.sqrt(max(dl, 0.0))
    hi = d + math.sqrt(max(du, 0.0))
    return max(-1.0, min(d, lo)), min(1.0, max(d, hi))
