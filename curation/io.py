"""Reading and writing curated documents in the toolkit's own layout (docs/formats.md).

Every curation stage after `filter` reads documents with `documents_reader`, writes the ones it keeps
with `documents_writer` and the ones it removes with `excluded_writer`, so all stages share one
parquet schema (`id`, `text`, `metadata` as a JSON string) and one excluded format (jsonl.gz). Reading
them back without datatrove (evaluation, reports, tests) is `common.documents`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.readers import ParquetReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

from common.documents import DOCUMENT_SCHEMA


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


def ensure_documents(folder: str | Path) -> Path:
    """A stage that removed every document of a source still leaves a readable (empty) parquet file,
    so the next stage's reader finds one."""
    folder = Path(folder)
    if not any(folder.glob("*.parquet")):
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(DOCUMENT_SCHEMA.empty_table(), folder / "00000.parquet")
    return folder


def excluded_writer(folder: str | Path, filename: str = "${rank}.jsonl.gz") -> JsonlWriter:
    """JSON-lines writer for removed documents; `metadata.filter_reason` says why (set by the filter)."""
    return JsonlWriter(str(folder), output_filename=filename, compression="gzip", expand_metadata=False)
