"""Seeded permutations of [0, n) evaluated pointwise: position -> sequence index, without a table.

A 6-round (unbalanced) Feistel network on the smallest power-of-two domain 2^b >= n, with cycle
walking (apply again while the result is >= n, fewer than 2 rounds expected), is a bijection on [0, n). Round keys come from blake2b of the seed and
a label (source name and epoch), so the order is the same on every machine and numpy version, and
`.step(i)` of a manifest can compute its rows in microseconds instead of storing 100M indices.
"""

from __future__ import annotations

import hashlib

import numpy as np

ROUNDS = 6
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


def _feistel(x: np.ndarray, keys: np.ndarray, bits: int) -> np.ndarray:
    # Alternately XOR each half with a keyed hash of the other: every round is invertible, whatever
    # the two halves' widths, so the whole network is a bijection on [0, 2^bits).
    low_bits = bits // 2
    high_mask, low_mask = np.uint64((1 << (bits - low_bits)) - 1), np.uint64((1 << low_bits) - 1)
    shift = np.uint64(low_bits)
    high, low = x >> shift, x & low_mask
    for r in range(ROUNDS):
        if r % 2 == 0:
            high = high ^ (_mix(low, keys[r]) & high_mask)
        else:
            low = low ^ (_mix(high, keys[r]) & low_mask)
    return (high << shift) | low


def permute(positions: np.ndarray, n: int, keys: np.ndarray) -> np.ndarray:
    """perm(positions) for the seeded permutation of [0, n) given by `keys` (from `round_keys`)."""
    positions = np.asarray(positions, dtype=np.uint64)
    if n <= 0:
        raise ValueError("cannot permute an empty range")
    if positions.size and int(positions.max()) >= n:
        raise ValueError(f"position {int(positions.max())} outside [0, {n})")
    bits = max(2, (n - 1).bit_length())
    keys = [np.uint64(k) for k in keys]
    out = _feistel(positions, keys, bits)
    limit = np.uint64(n)
    outside = out >= limit
    while outside.any():  # cycle walking: the domain is < 2n, so each pass keeps fewer than half
        out = np.where(outside, _feistel(out, keys, bits), out)
        outside = out >= limit
    return out.astype(np.int64)
