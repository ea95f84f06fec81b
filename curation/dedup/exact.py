"""Exact deduplication by normalised content hash, within a source and across sources.

A first pass hashes every document of every source (in recipe order) and, for each hash seen more
than once, picks the document to keep: the first source in recipe order, then the smallest id, then
the first record (two records may share an id: the same file read twice). The second pass
(`ExactDuplicateRemover`, a datatrove step run per source and task) drops every other copy, recording the
kept id as `duplicate_of`. The kept document is named by its position, the task that reads it and its
index in that task's stream (datatrove gives task r the files r, r + tasks, ... in sorted order, as the
MinHash signature step also relies on), so a repeated id is kept once whatever the task count. Only
duplicated hashes are held by the filter, so it stays small.
Parallel pairs are compared on the pair (both sides), whatever `text` looks like.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from common.documents import iter_documents
from curation.dedup.remove import DuplicateRemover

_SPACES = re.compile(r"\s+")


def normalize_for_hash(text: str) -> str:
    """NFKC, lowercase, runs of whitespace to one space, stripped: copies that differ only in these
    are the same document."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def content_key(text: str, metadata: dict) -> str:
    """16-byte hash of what makes a document itself: the normalised pair for parallel data, else the text."""
    if metadata.get("kind") == "parallel" and "zh" in metadata and "en" in metadata:
        body = normalize_for_hash(str(metadata["zh"])) + "\x00" + normalize_for_hash(str(metadata["en"]))
    else:
        body = normalize_for_hash(text)
    return hashlib.blake2b(body.encode("utf-8"), digest_size=16).hexdigest()


def _task_streams(folder: Path, tasks: int) -> Iterator[tuple[int, int, dict]]:
    """(task, index in the task's stream, document) in the order the filter's tasks will read them."""
    files = sorted(Path(folder).glob("*.parquet"))
    for task in range(tasks):
        index = 0
        for file in files[task::tasks]:
            for doc in iter_documents(file.parent, [file.name]):
                yield task, index, doc
                index += 1


def find_exact_duplicates(
    folders: Iterable[tuple[str, Path]], *, across_sources: bool = True, tasks: int = 1
) -> dict[str, dict[str, list]]:
    """Per source, {content hash: [id to keep, task, index]} for every hash that occurs more than once;
    task and index locate the kept document in this source's filter tasks (-1 when it is in another
    source).

    `folders` is (source, documents folder) in recipe order; that order decides which copy is kept
    across sources, the smallest id and then the first record decide within one."""
    first: dict[tuple, tuple[int, str, int, int]] = {}
    seen_twice: set[tuple] = set()
    sources: list[str] = []
    for position, (source, folder) in enumerate(folders):
        sources.append(source)
        for task, index, doc in _task_streams(folder, tasks):
            key = content_key(doc["text"], doc["metadata"])
            scoped = (key,) if across_sources else (source, key)
            candidate = (position, str(doc["id"]), task, index)
            best = first.get(scoped)
            if best is None:
                first[scoped] = candidate
            else:
                seen_twice.add(scoped)
                if candidate < best:
                    first[scoped] = candidate
    keep: dict[str, dict[str, list]] = {source: {} for source in sources}
    for scoped in seen_twice:
        position, kept_id, task, index = first[scoped]
        key = scoped[-1]
        # any source may hold a copy when across sources; the filter only looks up its own documents
        for source_position, source in enumerate(sources) if across_sources else [(position, scoped[0])]:
            here = source_position == position
            keep[source][key] = [kept_id, task if here else -1, index if here else -1]
    return keep


class ExactDuplicateRemover(DuplicateRemover):
    """Keeps a document unless its content hash belongs to another document chosen to be kept.

    `keep_file` is a JSON object {content hash: [id to keep, task, index]} (from `find_exact_duplicates`,
    with the same task count); it is read when the step runs, so the executor's saved configuration
    stays small."""

    name = "🎯 exact dedup"
    excluded_name = "exact_dedup"

    def __init__(self, keep_file: str | Path, exclusion_writer: DiskWriter | None = None,
                 reason: str = "exact_duplicate"):
        super().__init__(exclusion_writer, reason)
        self.keep_file = str(keep_file)

    def prepare(self, rank: int) -> None:
        self._keep: dict[str, list] = json.loads(Path(self.keep_file).read_text(encoding="utf-8"))
        self._rank = rank

    def duplicate_of(self, index: int, doc: Document) -> str | None:
        kept = self._keep.get(content_key(doc.text, doc.metadata))
        if kept is None:
            return None
        kept_id, task, kept_index = kept
        return None if (task, kept_index) == (self._rank, index) else kept_id
