"""Curated documents on disk (docs/formats.md), read without datatrove: `curated/`, `heldout/` and stage
folders hold parquet files with `id`, `text` and `metadata` (a JSON string); `excluded/<source>/<step>/`
holds jsonl.gz files whose `metadata.filter_reason` says why a document was removed. Curation writes
them (curation.io); evaluation, reports and benchmarks read them here.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DOCUMENT_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string())])


def iter_documents(folder: str | Path, files: list[str] | None = None) -> Iterator[dict]:
    """Every document of a documents folder (or of the named files in it) as {"id", "text",
    "metadata": dict}, in file order."""
    paths = [Path(folder) / name for name in files] if files is not None else sorted(Path(folder).glob("*.parquet"))
    for file in paths:
        for batch in pq.ParquetFile(file).iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                row["metadata"] = json.loads(row["metadata"]) if row["metadata"] else {}
                yield row


def iter_excluded(folder: str | Path) -> Iterator[dict]:
    """Every removed document in an excluded/<source>/<step>/ folder."""
    for file in sorted(Path(folder).glob("*.jsonl.gz")):
        with gzip.open(file, "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)
