"""Reading and writing curated documents in the toolkit's own layout (docs/formats.md).

Every curation stage after `filter` reads documents with `documents_reader`, writes the ones it keeps
with `documents_writer` and the ones it removes with `excluded_writer`, so all stages share one
parquet schema (`id`, `text`, `metadata` as a JSON string) and one excluded format (jsonl.gz).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.readers import ParquetReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

DOCUMENT_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string())])


def _to_row(self, document: Document) -> dict:
    return {
        "id": str(document.id),
        "text": document.text,
        "metadata": json.dumps(document.metadata, ensure_ascii=False, sort_keys=True, default=str),
    }


def _from_row(self, data: dict, path: str, id_in_file: int | str) -> dict:
    metadata = data.get("metadata")
    return {
        "text": data["text"],
        "id": data["id"],
        "metadata": json.loads(metadata) if isinstance(metadata, str) else (metadata or {}),
    }


def documents_writer(folder: str | Path, filename: str = "${rank}.parquet") -> ParquetWriter:
    """Parquet writer for kept documents: one file per task, fixed schema."""
    return ParquetWriter(
        str(folder),
        output_filename=filename,
        adapter=_to_row,
        schema=DOCUMENT_SCHEMA,
        compression="zstd",
        use_content_defined_chunking=False,
    )


class DocumentsReader(ParquetReader):
    """Reads a folder written by `documents_writer` (stage outputs, curated/, heldout/).

    Unlike datatrove's readers it never skips a document whose text is empty (that would lose it
    silently; the next filter decides) and does not add `file_path` to the metadata.
    """

    def __init__(self, folder: str | Path, **kwargs):
        super().__init__(str(folder), adapter=_from_row, glob_pattern="*.parquet", **kwargs)
        self.add_file_path = False

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int | str) -> Document:
        return Document(**self.adapter(data, source_file, id_in_file))


def documents_reader(folder: str | Path, **kwargs) -> DocumentsReader:
    return DocumentsReader(folder, **kwargs)


def excluded_writer(folder: str | Path, filename: str = "${rank}.jsonl.gz") -> JsonlWriter:
    """JSON-lines writer for removed documents; `metadata.filter_reason` says why (set by the filter)."""
    return JsonlWriter(str(folder), output_filename=filename, compression="gzip", expand_metadata=False)


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
    import gzip

    for file in sorted(Path(folder).glob("*.jsonl.gz")):
        with gzip.open(file, "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)
