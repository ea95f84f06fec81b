"""Exact deduplication by normalised content hash, within a source and across sources, as tasks.

datatrove's distributed exact-dedup pattern (`datatrove.pipeline.dedup.exact_dedup`), with this toolkit's
choice of the copy to keep and `duplicate_of`:

1. signatures (`ExactSignature`, one pipeline of `tasks` tasks per source): one row per document, the 128-bit hash of its
   normalised content with what decides which copy is kept (the source's position in recipe order, the id,
   the document's file and row) and where the filter finds it (task, index in the task's stream); written
   sorted by hash into one file per hash range (`finders` ranges, one per finder task);
2. find (`ExactFindDuplicates`, one task per hash range): reads its range's files of every source and task,
   and for every hash held more than once (per source when not across sources) keeps the first source in
   recipe order, then the smallest id, then the first record (file, then row: two records may share an id,
   the same file read twice); every other copy is written, with the kept id, to a file per (source, task);
3. filter (`ExactDuplicateFilter`, per source and task): drops the documents listed for its task, recording
   the kept id as `duplicate_of`.

No pass over the documents runs in the driver; a task holds one task's signatures (1), one hash range's
signatures (2) or one task's duplicates (3). Every decision depends only on the documents, their ids, their
files and the recipe order, not on the task count. Parallel pairs are compared on the pair (both sides),
whatever `text` looks like.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.typeshelper import StatHints

from curation.dedup.remove import DuplicateRemover
from curation.io import documents_reader

_SPACES = re.compile(r"\s+")

SIGNATURE_SCHEMA = pa.schema([
    ("hi", pa.uint64()), ("lo", pa.uint64()),  # the content hash
    ("position", pa.uint32()), ("id", pa.string()), ("file", pa.uint32()), ("row", pa.uint32()),  # which copy is kept
    ("rank", pa.uint32()), ("index", pa.uint32()),  # where the filter finds the document
])
# signatures a finder task holds at once (about 60 bytes each plus the id): it reads its hash range in parts
FIND_ROWS = 2_000_000
SIGNATURE_ROW_GROUP = 65_536  # rows per parquet row group of a signature file: the parts skip the others
DUPLICATES_SCHEMA = pa.schema([("index", pa.uint32()), ("duplicate_of", pa.string())])


def normalize_for_hash(text: str) -> str:
    """NFKC, lowercase, runs of whitespace to one space, stripped: copies that differ only in these
    are the same document."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def content_digest(text: str, metadata: dict) -> bytes:
    """16-byte hash of what makes a document itself: the normalised pair for parallel data, else the text."""
    if metadata.get("kind") == "parallel" and "zh" in metadata and "en" in metadata:
        body = normalize_for_hash(str(metadata["zh"])) + "\x00" + normalize_for_hash(str(metadata["en"]))
    else:
        body = normalize_for_hash(text)
    return hashlib.blake2b(body.encode("utf-8"), digest_size=16).digest()


def content_key(text: str, metadata: dict) -> str:
    """`content_digest` in hex."""
    return content_digest(text, metadata).hex()


def task_files(folder: str | Path, rank: int, world_size: int) -> list[tuple[int, int]]:
    """(number of the file among the folder's sorted parquet files, rows) of the files task `rank` of
    `world_size` reads, in the order it reads them (datatrove's `get_shard`: files rank, rank + world_size, ...)."""
    files = sorted(Path(folder).glob("*.parquet"))
    return [(number, pq.ParquetFile(files[number]).metadata.num_rows) for number in range(rank, len(files), world_size)]


def finder_of(hi: np.ndarray, finders: int) -> np.ndarray:
    """The hash range (finder task) of each hash: equal slices of the 64-bit high half."""
    return ((hi >> np.uint64(32)) * np.uint64(finders)) >> np.uint64(32)


def _write_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    pq.write_table(table, tmp, row_group_size=SIGNATURE_ROW_GROUP)
    tmp.replace(path)


class ExactSignature(PipelineStep):
    """Stage 1, one pipeline for every source: task `rank` reads task `rank % tasks` of `tasks` of the source at
    position `rank // tasks` in recipe order (its documents folder in `inputs`), and writes the content hash of
    each document with what decides which copy is kept, sorted by hash, to
    `<output>/<finder:04d>/<position:04d>-<task:05d>.parquet`. Passes nothing on."""

    type = "🫂 - DEDUP"
    name = "🎯 exact dedup signatures"

    def __init__(self, output_folder: str | Path, inputs: list[str | Path], tasks: int, finders: int):
        super().__init__()
        self.output_folder, self.inputs = str(output_folder), [str(folder) for folder in inputs]
        self.tasks, self.finders = tasks, finders

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        position, rank = divmod(rank, self.tasks)
        world_size, self.input_folder, self.position = self.tasks, self.inputs[position], position
        digests: list[bytes] = []
        ids: list[str] = []
        for doc in documents_reader(self.input_folder).run(None, rank, world_size):
            self.stat_update(StatHints.total)
            with self.track_time():
                digests.append(content_digest(doc.text, doc.metadata))
                ids.append(str(doc.id))
        layout = task_files(self.input_folder, rank, world_size)
        if sum(rows for _, rows in layout) != len(ids):
            raise RuntimeError(f"exact dedup: task {rank} read {len(ids)} documents, its files hold "
                               f"{sum(rows for _, rows in layout)}: the reader skipped or added some")
        both = np.frombuffer(b"".join(digests), dtype=">u8").astype(np.uint64).reshape(-1, 2)
        hi, lo = both[:, 0].copy(), both[:, 1].copy()
        file = np.repeat(np.array([n for n, _ in layout], np.uint32), [r for _, r in layout])
        row = np.concatenate([np.arange(r, dtype=np.uint32) for _, r in layout] + [np.zeros(0, np.uint32)])
        order = np.lexsort((lo, hi))
        table = pa.table({
            "hi": hi, "lo": lo, "position": np.full(len(ids), self.position, np.uint32), "id": pa.array(ids, pa.string()),
            "file": file, "row": row, "rank": np.full(len(ids), rank, np.uint32), "index": np.arange(len(ids), dtype=np.uint32),
        }, schema=SIGNATURE_SCHEMA).take(order)
        finder = finder_of(hi[order], self.finders)
        bounds = np.searchsorted(finder, np.arange(self.finders + 1, dtype=np.uint64))
        for f in range(self.finders):  # every range gets a file, empty ones too: a restart overwrites each
            part = table.slice(bounds[f], bounds[f + 1] - bounds[f])
            _write_atomic(part, Path(self.output_folder) / f"{f:04d}" / f"{self.position:04d}-{rank:05d}.parquet")
        return
        yield


class ExactFindDuplicates(PipelineStep):
    """Stage 2, one task per hash range: every copy of a hash that is not the one to keep, with the kept id,
    to `<output>/<finder:04d>/<position:04d>-<rank:05d>.parquet` (the filter task that reads it)."""

    type = "🫂 - DEDUP"
    name = "🎯 exact dedup find"

    def __init__(self, signatures_folder: str | Path, output_folder: str | Path, across_sources: bool = True):
        super().__init__()
        self.signatures_folder, self.output_folder = str(signatures_folder), str(output_folder)
        self.across_sources = across_sources

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        files = sorted((Path(self.signatures_folder) / f"{rank:04d}").glob("*.parquet"))
        folder = Path(self.output_folder) / f"{rank:04d}"
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for chunk, (low, high) in enumerate(hash_chunks(files, FIND_ROWS)):
            where = (pc.field("hi") >= pa.scalar(low, pa.uint64())) & (pc.field("hi") <= pa.scalar(high, pa.uint64()))
            table = pa.concat_tables([pq.read_table(f, schema=SIGNATURE_SCHEMA, filters=where) for f in files]
                                     + [SIGNATURE_SCHEMA.empty_table()])
            self.stat_update("signatures", value=table.num_rows)
            for (pos, task), (indexes, kept) in sorted(self.duplicates(table).items()):
                order = np.argsort(indexes, kind="stable")
                out = pa.table({"index": np.array(indexes, np.uint32)[order],
                                "duplicate_of": pa.array(kept, pa.string()).take(order)}, schema=DUPLICATES_SCHEMA)
                pq.write_table(out, partial / f"{pos:04d}-{task:05d}.{chunk:05d}.parquet")
        shutil.rmtree(folder, ignore_errors=True)  # a restarted task's earlier, unfinished output
        partial.replace(folder)
        return
        yield

    def duplicates(self, table: pa.Table) -> dict[tuple[int, int], tuple[list[int], list[str]]]:
        """Per (source position, task): the stream indexes of the copies not kept among `table`'s signatures
        (whole groups of equal hashes), with the kept id of each."""
        hi, lo = table["hi"].to_numpy(), table["lo"].to_numpy()
        position = table["position"].to_numpy()
        scope = () if self.across_sources else (position,)
        order = np.lexsort((lo, hi, *scope))
        same = (hi[order][1:] == hi[order][:-1]) & (lo[order][1:] == lo[order][:-1])
        if not self.across_sources:
            same &= position[order][1:] == position[order][:-1]
        # rows of groups of two or more: a row equal to the one before or after it
        member = np.zeros(len(order), bool)
        member[1:] |= same
        member[:-1] |= same
        rows = order[member]
        starts = np.flatnonzero(~np.concatenate([[False], same])[member]) if len(rows) else np.zeros(0, np.int64)
        dups = table.take(rows).select(["position", "id", "file", "row", "rank", "index"]).to_pydict()
        out: dict[tuple[int, int], tuple[list[int], list[str]]] = {}
        for start, end in zip(starts.tolist(), [*starts[1:].tolist(), len(rows)][: len(starts)], strict=True):
            group = range(start, end)
            keep = min(group, key=lambda i: (dups["position"][i], dups["id"][i], dups["file"][i], dups["row"][i]))
            kept_id = dups["id"][keep]
            self.stat_update("duplicated_hashes")
            for i in group:
                if i != keep:
                    indexes, kept = out.setdefault((dups["position"][i], dups["rank"][i]), ([], []))
                    indexes.append(dups["index"][i])
                    kept.append(kept_id)
                    self.stat_update("duplicates")
        return out


def hash_chunks(files: list[Path], rows: int) -> list[tuple[int, int]]:
    """Ranges (first, last) of the high hash half that split the signatures in `files` into parts of about
    `rows` rows each (hashes are uniform), from the files' statistics: the finder reads one part at a time."""
    total, low, high = 0, None, None
    for file in files:
        meta = pq.ParquetFile(file).metadata
        total += meta.num_rows
        for group in range(meta.num_row_groups):
            if not meta.row_group(group).num_rows:
                continue
            stats = meta.row_group(group).column(0).statistics
            if stats is None or not stats.has_min_max:
                return [(0, 2**64 - 1)]  # no statistics: one part, the whole range
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
    if low is None:
        return []
    parts = max(1, -(-total // rows))
    bounds = [low + (high - low + 1) * j // parts for j in range(parts + 1)]
    return [(a, b - 1) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


class ExactDuplicateFilter(DuplicateRemover):
    """Stage 3: keeps a document unless the find stage listed it for this source and task, and records the
    kept id as `duplicate_of`. Holds only this task's duplicates."""

    name = "🎯 exact dedup"
    excluded_name = "exact_dedup"

    def __init__(self, duplicates_folder: str | Path, position: int, exclusion_writer: DiskWriter | None = None,
                 reason: str = "exact_duplicate"):
        super().__init__(exclusion_writer, reason)
        self.duplicates_folder, self.position = str(duplicates_folder), position

    def prepare(self, rank: int) -> None:
        self._duplicates: dict[int, str] = {}
        for file in sorted(Path(self.duplicates_folder).glob(f"[0-9][0-9][0-9][0-9]/{self.position:04d}-{rank:05d}.*parquet")):
            part = pq.read_table(file).to_pydict()
            self._duplicates.update(zip(part["index"], part["duplicate_of"], strict=True))

    def duplicate_of(self, index: int, doc: Document) -> str | None:
        return self._duplicates.get(index)


ExactDuplicateRemover = ExactDuplicateFilter  # the name before the exact pass ran as tasks
