"""Hashes of token n-grams: the one scheme behind the quality filters' repetition rules and MinHash shingles.

The n-gram of n tokens at position i hashes to the weighted sum sum_j tokens[i + j] * W[j] (mod 2**64)
with fixed random odd weights W. The sums for n follow from those for n - 1 by one more term,
sum_n[i] = sum_{n-1}[i] + tokens[i + n - 1] * W[n - 1], so every n up to max_n costs one NumPy
multiply-add each. Counting repeated n-grams needs only equality, so the quality filters use the sums
as they are; MinHash needs well-spread values and mixes them (`ngram_hashes`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

MAX_N = 64  # the longest n-gram that has weights
_U64 = np.uint64
# 128 odd weights drawn once from seed 0x5EED: the first 64 weight the characters inside a word
# (curation.dedup.shingles' word hashes), the last 64 the tokens of an n-gram. Changing them would change
# every MinHash signature and dedup decision.
_DRAWN = np.random.default_rng(0x5EED).integers(1, 2**63, size=2 * MAX_N, dtype=np.uint64) | _U64(1)
POSITION_WEIGHTS = _DRAWN[:MAX_N]
NGRAM_WEIGHTS = _DRAWN[MAX_N:]
_MIX1, _MIX2 = _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer of a uint64 array, in place: spreads every input bit over the whole hash."""
    x ^= x >> _U64(30)
    x *= _MIX1
    x ^= x >> _U64(27)
    x *= _MIX2
    x ^= x >> _U64(31)
    return x


def ngram_sums(tokens: np.ndarray, max_n: int) -> Iterator[np.ndarray]:
    """For n = 1, 2, ..., min(max_n, len(tokens)): the weighted sum of every window of n tokens (uint64;
    equal n-grams have equal sums). Wrap-around uint64 arithmetic is intended."""
    if max_n > MAX_N:
        raise ValueError(f"n-gram size {max_n} is larger than {MAX_N}")
    tokens = tokens.astype(np.uint64, copy=False)
    if len(tokens) == 0:
        return
    sums = tokens * NGRAM_WEIGHTS[0]
    yield sums
    for n in range(2, min(max_n, len(tokens)) + 1):
        last = tokens[n - 1 :] * NGRAM_WEIGHTS[n - 1]
        last += sums[:-1]  # in place: one new array per n, and the sums already handed out stay as they were
        sums = last
        yield sums


def ngram_hashes(tokens: np.ndarray, n: int, *, short: bool = True) -> np.ndarray:
    """Well-mixed 64-bit hash of every window of `n` consecutive tokens (MinHash shingles). A sequence
    shorter than `n` gives one hash of all its tokens when `short` (so a short document still has a
    shingle), else none."""
    if n > MAX_N:
        raise ValueError(f"n-gram size {n} is larger than {MAX_N}")
    if len(tokens) < n:
        if not short or len(tokens) == 0:
            return np.zeros(0, dtype=np.uint64)
        n = len(tokens)
    sums = deque(ngram_sums(tokens, n), maxlen=1).pop()  # for n; the shorter windows' are dropped as made
    return mix64(sums ^ _U64(n))
