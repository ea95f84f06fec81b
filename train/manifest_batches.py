"""Manifest-driven batches: step s trains on exactly the manifest rows of step s, nothing else.

The rows of a step are split deterministically: rank r takes the r-th contiguous block of
`global_batch / world_size` rows, and micro-step m of that rank the m-th block of `micro_batch_size`
rows. Across ranks and micro-steps every row is used once. Sequences are read from the memory-mapped
token shards by index; labels carry the loss mask and never ask a document to predict the first token
of the next one, and position ids restart at every document so attention can be kept per document.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from common.tokens import ShardError, TokenShard
from train.recipe_sections import TrainError

IGNORE_INDEX = -100


@dataclass
class MicroBatch:
    """Tensors for one forward/backward pass, plus which manifest rows they came from."""

    input_ids: torch.Tensor  # (B, L), or (1, B*L) when flattened for varlen attention
    labels: torch.Tensor  # same shape; next-token targets, IGNORE_INDEX where nothing is learned
    position_ids: torch.Tensor  # same shape; restart at 0 at every document start
    row_source: torch.Tensor  # (B,) index into the manifest's sources, for per-source loss
    rows: list[tuple[str, int]]  # (source, index) of each sequence
    n_loss_tokens: int
    flash_kwargs: dict = field(default_factory=dict)  # cu_seq_lens_* / max_length_* for the varlen path

    def to(self, device: torch.device) -> MicroBatch:
        move = {"non_blocking": device.type == "cuda"}
        kwargs = {k: (v.to(device, **move) if torch.is_tensor(v) else v) for k, v in self.flash_kwargs.items()}
        return MicroBatch(
            self.input_ids.to(device, **move),
            self.labels.to(device, **move),
            self.position_ids.to(device, **move),
            self.row_source.to(device, **move),
            self.rows,
            self.n_loss_tokens,
            kwargs,
        )


def rank_slices(global_batch: int, world_size: int, rank: int, micro_batch_size: int) -> list[slice]:
    """Row ranges (into a step's manifest rows) of each micro-step of `rank`; raises when it does not divide."""
    per_rank, rem = divmod(global_batch, world_size)
    if rem or per_rank % micro_batch_size:
        raise TrainError(
            f"the manifest's global batch ({global_batch} sequences) must split evenly into {world_size} "
            f"process(es) x micro_batch_size {micro_batch_size}; change train.micro_batch_size or the "
            "number of processes, or re-plan the manifest with another global batch"
        )
    start = rank * per_rank
    return [slice(s, s + micro_batch_size) for s in range(start, start + per_rank, micro_batch_size)]


def labels_for(input_ids: np.ndarray, loss_mask: np.ndarray, doc_starts: np.ndarray) -> np.ndarray:
    """Next-token targets of one packed sequence: position t predicts token t+1 when t+1 is trained on
    and does not start a new document (a document never sees the one before it)."""
    labels = np.full(len(input_ids), IGNORE_INDEX, dtype=np.int64)
    labels[:-1] = np.where(loss_mask[1:] > 0, input_ids[1:], IGNORE_INDEX)
    starts = doc_starts[doc_starts > 0]
    labels[starts - 1] = IGNORE_INDEX
    return labels


class ShardSet:
    """The token shards of the manifest's sources, opened once (memory-mapped)."""

    def __init__(self, tokens_dir: Path, sources: list[str]):
        self.tokens_dir = Path(tokens_dir)
        self.sources = list(sources)
        self.source_index = {name: i for i, name in enumerate(self.sources)}
        try:
            self.shards = {name: TokenShard(self.tokens_dir / name) for name in self.sources}
        except ShardError as err:
            raise TrainError(str(err)) from None
        seq_lens = {name: s.seq_len for name, s in self.shards.items()}
        if len(set(seq_lens.values())) != 1:
            raise TrainError(f"{self.tokens_dir}: sources were packed with different seq_len: {seq_lens}")
        self.seq_len = next(iter(seq_lens.values()))
        self.vocab_size = max(int(s.meta["vocab_size"]) for s in self.shards.values())

    def micro_batch(self, sources: list[str], indices: list[int], *, flatten: bool) -> MicroBatch:
        """Read the given rows and build one micro-batch."""
        ids, labels, positions, doc_lengths = [], [], [], []
        for source, index in zip(sources, indices, strict=True):
            shard = self.shards[source]
            if not 0 <= index < len(shard):
                raise TrainError(f"manifest asks for {source}[{index}] but {shard.path} has {len(shard)} sequences")
            seq = shard[index]
            ids.append(seq.input_ids)
            labels.append(labels_for(seq.input_ids, seq.loss_mask, seq.doc_starts))
            positions.append(seq.position_ids())
            doc_lengths.append(seq.doc_lengths())
        input_ids = torch.from_numpy(np.stack(ids))
        label_t = torch.from_numpy(np.stack(labels))
        position_ids = torch.from_numpy(np.stack(positions))
        flash_kwargs: dict = {}
        if flatten:
            # One row of B*L tokens; flash-attention's varlen kernel gets the document boundaries directly
            # (cu_seq_lens), so transformers need not infer them from position ids in every layer.
            lengths = np.concatenate(doc_lengths)
            cu = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
            max_len = int(lengths.max())
            flash_kwargs = {"cu_seq_lens_q": cu, "cu_seq_lens_k": cu, "max_length_q": max_len, "max_length_k": max_len}
            input_ids, label_t, position_ids = (t.reshape(1, -1) for t in (input_ids, label_t, position_ids))
        return MicroBatch(
            input_ids=input_ids,
            labels=label_t,
            position_ids=position_ids,
            row_source=torch.tensor([self.source_index[s] for s in sources], dtype=torch.long),
            rows=list(zip(sources, indices, strict=True)),
            n_loss_tokens=int((label_t != IGNORE_INDEX).sum()),
            flash_kwargs=flash_kwargs,
        )


class StepBatches:
    """This rank's micro-batches for each step, read ahead in a background thread.

    `get(step)` returns the micro-batches and the seconds the caller waited for them (data wait)."""

    def __init__(self, manifest, shards: ShardSet, *, world_size: int, rank: int, micro_batch_size: int,
                 flatten: bool, prefetch: bool = True):
        self.manifest, self.shards, self.flatten = manifest, shards, flatten
        self.slices = rank_slices(manifest.global_batch, world_size, rank, micro_batch_size)
        self._pool = ThreadPoolExecutor(max_workers=1) if prefetch else None
        self._pending: dict[int, Future] = {}

    @property
    def grad_accum(self) -> int:
        return len(self.slices)

    def _load(self, step: int) -> list[MicroBatch]:
        rows = self.manifest.step(step)
        if rows.height != self.manifest.global_batch:
            raise TrainError(f"manifest step {step} has {rows.height} rows, expected global_batch {self.manifest.global_batch}")
        sources = rows["source"].to_list()
        indices = rows["index"].to_list()
        return [self.shards.micro_batch(sources[s], indices[s], flatten=self.flatten) for s in self.slices]

    def get(self, step: int) -> tuple[list[MicroBatch], float]:
        t0 = time.perf_counter()
        future = self._pending.pop(step, None)
        batches = future.result() if future is not None else self._load(step)
        waited = time.perf_counter() - t0
        if self._pool is not None and step + 1 < self.manifest.num_steps:
            self._pending[step + 1] = self._pool.submit(self._load, step + 1)
        return batches, waited

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
