"""Elementwise work over cache-sized slices of a flat tensor, optionally side by side on a thread pool."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor

# Elementwise work runs over slices of this many entries, so that the several temporaries one slice needs
# stay in the CPU's cache and are recycled by the allocator instead of being page-faulted in afresh.
CHUNK = 1 << 17


def map_chunks(n: int, fn: Callable[[int, int], object], pool: Executor | None = None) -> Iterable:
    """fn(start, stop) for the consecutive slices of CHUNK entries of range(n), on `pool` if given, in order."""
    bounds = [(start, min(start + CHUNK, n)) for start in range(0, n, CHUNK)]
    if pool is None:
        return [fn(a, b) for a, b in bounds]
    return pool.map(lambda bound: fn(*bound), bounds)
