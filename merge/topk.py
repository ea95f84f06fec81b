"""Exact top-k by magnitude in O(n): which entries of a task vector TIES keeps, and the survival diagnostic counts.

k = floor(density * n), at least 1, as mergekit counts; equal magnitudes at the threshold are taken in flat
index order, so exactly k entries are kept and the result is deterministic.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import torch

from .slices import map_chunks


@dataclass(frozen=True)
class TrimThreshold:
    """The k-th largest magnitude `value`; entries equal to it are kept before flat index `cut`, dropped after."""

    value: float
    cut: int

    def keep(self, values: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Mask of the kept entries of `values`, the slice of the flat tensor that begins at `start`."""
        magnitude = values.abs()
        if start + magnitude.numel() <= self.cut:
            return magnitude >= self.value
        keep = magnitude > self.value
        if start < self.cut:
            keep[: self.cut - start] = magnitude[: self.cut - start] >= self.value
        return keep

    def trim(self, values: torch.Tensor, out: torch.Tensor, start: int = 0) -> torch.Tensor:
        """`values` with the dropped entries zeroed, into `out`; one fused pass (hardshrink) for float32."""
        if values.dtype != torch.float32:
            return torch.mul(values, self.keep(values, start), out=out)
        head = min(max(self.cut - start, 0), values.numel())
        if head < values.numel():
            torch.nn.functional.hardshrink(values[head:], self.value, out=out[head:])  # |x| > t
        if head > 0:
            torch.nn.functional.hardshrink(values[:head], _below(self.value), out=out[:head])  # |x| >= t
        return out


def _below(value: float) -> float:
    """The largest float32 below `value` (for `value` >= 0), so that |x| > result means |x| >= value."""
    if value <= 0.0:
        return -1.0
    return float(torch.nextafter(torch.tensor(value), torch.tensor(0.0)))


def top_k_count(numel: int, density: float) -> int:
    """k = floor(density * n), at least 1: the number of entries the trim keeps (as mergekit counts)."""
    return max(1, min(numel, int(density * numel)))


def top_k_mask(values: torch.Tensor, density: float) -> tuple[torch.Tensor, float]:
    """Mask of exactly k = top_k_count entries largest in magnitude, and the k-th largest magnitude.

    Equal magnitudes at the threshold are taken in index order, so the mask is deterministic.
    """
    trim = trim_threshold(values.reshape(-1), top_k_count(values.numel(), density))
    return trim.keep(values.reshape(-1)).view(values.shape), trim.value


def trim_threshold(values: torch.Tensor, k: int, pool: Executor | None = None) -> TrimThreshold:
    """Where to cut the flat `values` so that exactly their k largest magnitudes remain (ties in index order).

    O(n) instead of a sort: a strided sample brackets the k-th largest magnitude, one pass over slices
    counts the entries above the bracket and collects those inside it (about 2% of them, with their
    positions), and the exact value and the cut among equal magnitudes are selected from those.
    """
    n = values.numel()
    if k >= n:
        return TrimThreshold(float(values.abs().min()), n)
    if n > 1 << 16:
        step = max(1, n // (1 << 16))
        sample = values[::step].abs().sort().values
        m = sample.numel()
        position = (1.0 - k / n) * m  # where the threshold falls in the sorted sample
        margin = 6.0 * (m * (k / n) * (1 - k / n)) ** 0.5 + 16
        lo = float(sample[max(0, int(position - margin))])
        hi = float(sample[min(m - 1, int(position + margin))])

        fused = values.dtype == torch.float32 and lo > 0.0
        below_lo = _below(lo)

        def band_slice(start: int, stop: int) -> tuple[int, torch.Tensor, torch.Tensor]:
            piece = values[start:stop]
            if fused:  # float ops only: hardshrink(x, t) keeps |x| > t, so the difference is the band
                beyond = torch.nn.functional.hardshrink(piece, hi)
                band = torch.nn.functional.hardshrink(piece, below_lo).sub_(beyond)
                inside = (band != 0).nonzero().view(-1)
                return int(torch.count_nonzero(beyond)), band[inside].abs_(), inside + start
            magnitude = piece.abs()
            above = int(torch.count_nonzero(magnitude > hi))
            inside = ((magnitude >= lo) & (magnitude <= hi)).nonzero().view(-1)
            return above, magnitude[inside], inside + start

        slices = list(map_chunks(n, band_slice, pool))
        above = sum(a for a, _, _ in slices)
        band_values = [v for _, v, _ in slices]
        band_positions = [p for _, _, p in slices]
        wanted = k - int(above)
        band = torch.cat(band_values)
        if 0 < wanted <= band.numel():
            value = torch.topk(band, wanted, sorted=False).values.min()
            return _cut(
                value,
                k - int(above) - int(torch.count_nonzero(band > value)),
                band,
                torch.cat(band_positions),
            )
        # The sample missed (adversarial ordering): exact but slower.
    magnitude = values.abs()
    value = torch.topk(magnitude, k, sorted=False).values.min()
    return _cut(value, k - int(torch.count_nonzero(magnitude > value)), magnitude, None)


def _cut(
    value: torch.Tensor, missing: int, magnitudes: torch.Tensor, positions: torch.Tensor | None
) -> TrimThreshold:
    """The threshold that keeps the first `missing` entries equal to `value` (by flat index), not the rest."""
    ties = (magnitudes == value).nonzero().view(-1)
    if positions is not None:
        ties = positions[ties]
    return TrimThreshold(float(value), int(ties[missing - 1]) + 1)
