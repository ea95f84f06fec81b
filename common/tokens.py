"""Packed token shards: the on-disk contract between tokenization (curation) and training/evaluation.

A source's shard folder `workdir/tokens/<source>/` holds fixed-length training sequences:

    meta.json        n_sequences, n_tokens, seq_len, dtype, tokenizer fingerprint, content fingerprint
    input_ids.bin    (n_sequences, seq_len) token ids, uint16 when the vocabulary fits, else uint32
    loss_mask.bin    (n_sequences, seq_len) uint8, only when some real token is not trained on
                     (instruction data trains on answers only); absent means "every real token"
    doc_index.bin    int64 (n_sequences + 1): CSR pointers into doc_starts
    doc_starts.bin   int32: for sequence k, doc_starts[doc_index[k]:doc_index[k+1]] are the offsets
                     where a document (or the continuation of one) starts; the first is always 0

Documents are concatenated with EOS after each one and cut into `seq_len` pieces; a document that
crosses a sequence boundary continues at offset 0 of the next sequence. Only the last sequence can
be partial: it is padded with `pad_id`, and positions >= n_tokens - k*seq_len carry loss mask 0.
Reading sequence k touches only sequence k (memory-mapped), so random access is O(1).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
META = "meta.json"


class ShardError(ValueError):
    """A token shard folder is missing, incomplete, or does not match what the caller expects."""


@dataclass(frozen=True)
class PackedSequence:
    """One training sequence: ids, which positions train, and where each packed document starts."""

    input_ids: np.ndarray  # (seq_len,) int64
    loss_mask: np.ndarray  # (seq_len,) uint8; 0 on padding and on tokens that must not be trained on
    doc_starts: np.ndarray  # (n_docs,) int32, ascending, first is 0

    def position_ids(self) -> np.ndarray:
        """Positions restart at 0 at every document start, as if each document were alone."""
        seq_len = len(self.input_ids)
        positions = np.arange(seq_len, dtype=np.int64)
        starts = np.zeros(seq_len, dtype=np.int64)
        starts[self.doc_starts] = self.doc_starts
        return positions - np.maximum.accumulate(starts)

    def doc_lengths(self) -> np.ndarray:
        """Length of each document segment (cu_seqlens differences for varlen attention)."""
        return np.diff(np.append(self.doc_starts, len(self.input_ids))).astype(np.int32)


def _memmap(path: Path, dtype, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A read-only memory map; an empty file (a source without documents) cannot be mapped, so is an empty array."""
    if path.stat().st_size == 0:
        return np.zeros(shape or (0,), dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


class TokenShard:
    """Read-only random access to a shard folder written by `TokenShardWriter`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        meta_path = self.path / META
        if not meta_path.is_file():
            raise ShardError(f"{self.path}: no {META}; was this source tokenized (python -m curation.run)?")
        self.meta: dict = json.loads(meta_path.read_text())
        if self.meta.get("format_version") != FORMAT_VERSION:
            raise ShardError(
                f"{meta_path}: format_version {self.meta.get('format_version')} but this toolkit reads "
                f"{FORMAT_VERSION}; re-tokenize the source"
            )
        self.seq_len: int = self.meta["seq_len"]
        self.n_sequences: int = self.meta["n_sequences"]
        self.n_tokens: int = self.meta["n_tokens"]
        shape = (self.n_sequences, self.seq_len)
        self._ids = _memmap(self.path / "input_ids.bin", self.meta["dtype"], shape)
        self._mask = _memmap(self.path / "loss_mask.bin", np.uint8, shape) if self.meta["has_loss_mask"] else None
        self._doc_index = _memmap(self.path / "doc_index.bin", np.int64)
        self._doc_starts = _memmap(self.path / "doc_starts.bin", np.int32)
        if len(self._doc_index) != self.n_sequences + 1:
            raise ShardError(f"{self.path}: doc_index.bin has {len(self._doc_index)} entries, expected {self.n_sequences + 1}")

    @property
    def fingerprint(self) -> str:
        return self.meta["fingerprint"]

    @property
    def tokenizer_fingerprint(self) -> str:
        return self.meta["tokenizer_fingerprint"]

    def __len__(self) -> int:
        return self.n_sequences

    def __getitem__(self, k: int) -> PackedSequence:
        if not 0 <= k < self.n_sequences:
            raise IndexError(f"{self.path}: sequence {k} out of range [0, {self.n_sequences})")
        ids = np.asarray(self._ids[k], dtype=np.int64)
        mask = np.array(self._mask[k]) if self._mask is not None else np.ones(self.seq_len, dtype=np.uint8)
        real = self.n_tokens - k * self.seq_len
        if real < self.seq_len:
            mask[real:] = 0
        starts = np.asarray(self._doc_starts[self._doc_index[k] : self._doc_index[k + 1]], dtype=np.int32)
        return PackedSequence(input_ids=ids, loss_mask=mask, doc_starts=starts)

    def check(self, *, tokenizer_fingerprint: str | None = None, seq_len: int | None = None) -> None:
        """Raise ShardError when the shard was made with another tokenizer or sequence length."""
        if tokenizer_fingerprint is not None and tokenizer_fingerprint != self.tokenizer_fingerprint:
            raise ShardError(
                f"{self.path}: tokenized with tokenizer {self.tokenizer_fingerprint[:12]} but the current one is "
                f"{tokenizer_fingerprint[:12]}; re-run tokenization (python -m curation.run RECIPE --force tokenize)"
            )
        if seq_len is not None and seq_len != self.seq_len:
            raise ShardError(
                f"{self.path}: packed with seq_len {self.seq_len} but {seq_len} was asked for; re-run tokenization"
            )


class TokenShardWriter:
    """Packs documents into fixed-length sequences, streaming to disk; `close()` publishes atomically.

    Writes into `<path>.tmp/` and renames to `<path>/` only when complete, so a crash never leaves a
    shard that looks finished.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        seq_len: int,
        vocab_size: int,
        eos_id: int,
        pad_id: int,
        tokenizer_fingerprint: str,
    ):
        if seq_len < 2:
            raise ValueError(f"seq_len must be >= 2, got {seq_len}")
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        self.seq_len = seq_len
        self.dtype = np.dtype(np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32)
        self.vocab_size, self.eos_id, self.pad_id = vocab_size, eos_id, pad_id
        self.tokenizer_fingerprint = tokenizer_fingerprint
        self._ids_file = open(self.tmp / "input_ids.bin", "wb")
        self._mask_file = open(self.tmp / "loss_mask.bin", "wb")
        self._index_file = open(self.tmp / "doc_index.bin", "wb")
        self._starts_file = open(self.tmp / "doc_starts.bin", "wb")
        self._ids_buf = np.empty(seq_len, dtype=self.dtype)
        self._mask_buf = np.empty(seq_len, dtype=np.uint8)
        self._fill = 0
        self._starts: list[int] = []
        self._n_starts = 0
        self._index_file.write(np.zeros(1, dtype=np.int64).tobytes())
        self._hash = hashlib.blake2b(digest_size=16)
        self.n_sequences = 0
        self.n_tokens = 0
        self.n_documents = 0
        self.n_masked = 0  # real tokens with loss mask 0

    def add(self, ids, loss_mask=None) -> None:
        """Append one document (EOS is added here); `loss_mask` 1 where the model should learn."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token id out of range [0, {self.vocab_size}) in document {self.n_documents}")
        ids = np.append(ids, self.eos_id)
        mask = np.ones(len(ids), dtype=np.uint8) if loss_mask is None else np.append(np.asarray(loss_mask, np.uint8), 1)
        if len(mask) != len(ids):
            raise ValueError(f"document {self.n_documents}: loss_mask has {len(mask) - 1} entries for {len(ids) - 1} tokens")
        self.n_documents += 1
        self.n_tokens += len(ids)
        self.n_masked += int(len(mask) - mask.sum())
        self._starts.append(self._fill)
        pos = 0
        while pos < len(ids):
            take = min(self.seq_len - self._fill, len(ids) - pos)
            self._ids_buf[self._fill : self._fill + take] = ids[pos : pos + take]
            self._mask_buf[self._fill : self._fill + take] = mask[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == self.seq_len:
                self._flush()
                if pos < len(ids):
                    self._starts.append(0)

    def _flush(self) -> None:
        self._ids_buf[self._fill :] = self.pad_id
        self._mask_buf[self._fill :] = 0
        for buf, f in ((self._ids_buf, self._ids_file), (self._mask_buf, self._mask_file)):
            data = buf.tobytes()
            f.write(data)
            self._hash.update(data)
        starts = np.asarray(sorted(set(self._starts)) or [0], dtype=np.int32)
        if starts[0] != 0:  # a sequence always starts a (possibly continued) document at 0
            starts = np.insert(starts, 0, 0)
        self._starts_file.write(starts.tobytes())
        self._n_starts += len(starts)
        self._index_file.write(np.asarray([self._n_starts], dtype=np.int64).tobytes())
        self.n_sequences += 1
        self._fill = 0
        self._starts = []

    def close(self, **extra_meta) -> dict:
        """Flush the last partial sequence, write meta.json, and publish the folder. Returns the meta."""
        if self._fill:
            self._flush()
        for f in (self._ids_file, self._mask_file, self._index_file, self._starts_file):
            f.close()
        has_loss_mask = self.n_masked > 0
        if not has_loss_mask:
            (self.tmp / "loss_mask.bin").unlink()
        meta = {
            "format_version": FORMAT_VERSION,
            "n_sequences": self.n_sequences,
            "n_tokens": self.n_tokens,
            "n_documents": self.n_documents,
            "seq_len": self.seq_len,
            "dtype": self.dtype.name,
            "vocab_size": self.vocab_size,
            "eos_id": self.eos_id,
            "pad_id": self.pad_id,
            "has_loss_mask": has_loss_mask,
            "n_loss_tokens": self.n_tokens - self.n_masked,
            "tokenizer_fingerprint": self.tokenizer_fingerprint,
            **extra_meta,
        }
        identity = {k: meta[k] for k in ("format_version", "seq_len", "n_sequences", "n_tokens", "dtype", "tokenizer_fingerprint")}
        meta["fingerprint"] = hashlib.sha256(
            (json.dumps(identity, sort_keys=True) + self._hash.hexdigest()).encode()
        ).hexdigest()
        (self.tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if self.path.exists():
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)
        return meta

    def abort(self) -> None:
        for f in (self._ids_file, self._mask_file, self._index_file, self._starts_file):
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_meta(path: str | Path) -> dict:
    """meta.json of a shard folder, with a clear error when it is missing."""
    meta_path = Path(path) / META
    if not meta_path.is_file():
        raise ShardError(f"{Path(path)}: no {META}; tokenize this source first (python -m curation.run RECIPE)")
    return json.loads(meta_path.read_text())


def tokenizer_fingerprint(tokenizer) -> str:
    """Identity of a Hugging Face tokenizer: its full serialized vocabulary/merges/normalizer plus the
    special tokens and chat template that change how documents become ids."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    body = backend.to_str() if backend is not None else json.dumps(tokenizer.get_vocab(), sort_keys=True)
    extra = json.dumps(
        {
            "special": {k: str(v) for k, v in sorted(tokenizer.special_tokens_map.items())},
            "chat_template": getattr(tokenizer, "chat_template", None),
            "len": len(tokenizer),
        },
        sort_keys=True,
    )
    return hashlib.sha256((body + extra).encode()).hexdigest()
