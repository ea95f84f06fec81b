"""Exact deduplication by normalised content hash, within a source and across sources.

A first pass hashes every document of every source (in recipe order) and, for each hash seen more
than once, picks the document to keep: the first source in recipe order, then the smallest id. The
second pass (`ExactDedupFilter`, a datatrove step run per source) drops every other copy, recording
the kept id as `duplicate_of`. Only duplicated hashes are held by the filter, so it stays small.
Parallel pairs are compared on the pair (both sides), whatever `text` looks like.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from curation.dedup.remove import DuplicateRemover
from curation.io import iter_documents

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


def find_exact_duplicates(
    folders: Iterable[tuple[str, Path]], *, across_sources: bool = True
) -> dict[str, dict[bytes, str]]:
    """Per source, {content hash: id to keep} for every hash that occurs more than once.

    `folders` is (source, documents folder) in recipe order; that order decides which copy is kept
    across sources, the smallest id decides within one."""
    first: dict[tuple, tuple[int, str]] = {}
    seen_twice: set[tuple] = set()
    sources: list[str] = []
    for position, (source, folder) in enumerate(folders):
        sources.append(source)
        for doc in iter_documents(folder):
            key = content_key(doc["text"], doc["metadata"])
            scoped = (key,) if across_sources else (source, key)
            candidate = (position, str(doc["id"]))
            best = first.get(scoped)
            if best is None:
                first[scoped] = candidate
            else:
                seen_twice.add(scoped)
                if candidate < best:
                    first[scoped] = candidate
    keep: dict[str, dict[str, str]] = {source: {} for source in sources}
    for scoped in seen_twice:
        _, kept_id = first[scoped]
        key = scoped[-1]
        if across_sources:
            for source in sources:  # any source may hold a copy; the filter only looks up its own docs
                keep[source][key] = kept_id
        else:
            keep[scoped[0]][key] = kept_id
    return keep


class ExactDedupFilter(DuplicateRemover):
    """Keeps a document unless its content hash belongs to another document chosen to be kept.

    `keep_file` is a JSON object {content hash: id to keep} (from `find_exact_duplicates`); it is read
    when the step runs, so the executor's saved configuration stays small."""

    name = "🎯 exact dedup"

    def __init__(self, keep_file: str | Path, exclusion_writer: DiskWriter | None = None,
                 reason: str = "exact_duplicate"):
        super().__init__(exclusion_writer, reason)
        self.keep_file = str(keep_file)

    def prepare(self, rank: int) -> None:
        self._keep: dict[str, str] = json.loads(Path(self.keep_file).read_text(encoding="utf-8"))

    def duplicate_of(self, index: int, doc: Document) -> str | None:
        kept_id = self._keep.get(content_key(doc.text, doc.metadata))
        return None if kept_id is None or kept_id == str(doc.id) else kept_id
