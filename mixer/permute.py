"""Seeded permutations of [0, n) evaluated pointwise: position -> sequence index, without a table.

A 4-round Feistel network on the smallest even-bit domain 2^(2h) >= n, with cycle walking (apply
again while the result is >= n), is a bijection on [0, n). Round keys come from blake2b of the seed and
a label (source name and epoch), so the order is the same on every machine and numpy version, and
`.step(i)` of a manifest can compute its rows in microseconds instead of storing 100M indices.
"""

from __future__ import annotations

import hashlib

import numpy as np

ROUNDS = 4
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def round_keys(seed: int, *label: object) -> np.ndarray:
    """ROUNDS uint64 keys for one permutation, derived from the seed and a label such as (source, epoch)."""
    digest = hashlib.blake2b(repr((seed, *label)).encode(), digest_size=8 * ROUNDS).digest()
    return np.frombuffer(digest, dtype="<u8").astype(np.uint64)


def _mix(x: np.ndarray, key: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a cheap, well-mixed round function."""
    z = x ^ key
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _feistel(x: np.ndarray, keys: np.ndarray, half: int) -> np.ndarray:
    mask = np.uint64((1 << half) - 1)
    left, right = x >> np.uint64(half), x & mask
    for r in range(ROUNDS):
        left, right = right, left ^ (_mix(right, keys[r]) & mask)
    return (left << np.uint64(half)) | right


def permute(positions: np.ndarray, n: int, keys: np.ndarray) -> np.ndarray:
    """perm(positions) for a seeded permutation of [0, n); `keys` is (ROUNDS,) or (ROUNDS, len(positions))."""
    positions = np.asarray(positions, dtype=np.uint64)
    if n <= 0:
        raise ValueError("cannot permute an empty range")
    if positions.size and int(positions.max()) >= n:
        raise ValueError(f"position {int(positions.max())} outside [0, {n})")
    half = max(1, ((n - 1).bit_length() + 1) // 2)
    keys = np.asarray(keys, dtype=np.uint64)
    if keys.ndim == 1:
        keys = np.broadcast_to(keys[:, None], (ROUNDS, positions.size))
    out = _feistel(positions, keys, half)
    outside = np.flatnonzero(out >= np.uint64(n))
    while outside.size:  # cycle walking: expected < 4 rounds since the domain is < 4n
        out[outside] = _feistel(out[outside], keys[:, outside], half)
        outside = outside[out[outside] >= np.uint64(n)]
    return out.astype(np.int64)
