"""The last step of both dedup methods: pass documents on, set duplicates aside with what they duplicate."""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.typeshelper import StatHints


class DuplicateRemover(PipelineStep):
    """Yields each document unless `duplicate_of` names the kept document it duplicates; removed ones go
    to the exclusion writer with `filter_reason` and `duplicate_of`, so nothing is lost silently."""

    type = "🫂 - DEDUP"

    def __init__(self, exclusion_writer: DiskWriter | None, reason: str):
        super().__init__()
        self.exclusion_writer = exclusion_writer
        self.reason = reason

    def prepare(self, rank: int) -> None:
        """Load what this task needs to answer `duplicate_of` (called once per task)."""

    def duplicate_of(self, index: int, doc: Document) -> str | None:
        raise NotImplementedError

    def details(self, index: int) -> dict:
        """More metadata for a removed document (e.g. how similar it is to the kept one)."""
        return {}

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.prepare(rank)
        writer = self.exclusion_writer
        try:
            for index, doc in enumerate(data):
                self.stat_update(StatHints.total)
                kept_id = self.duplicate_of(index, doc)
                if kept_id is None:
                    self.stat_update(StatHints.forwarded)
                    yield doc
                    continue
                self.stat_update(StatHints.dropped)
                if writer is not None:
                    doc.metadata["filter_reason"] = self.reason
                    doc.metadata["duplicate_of"] = kept_id
                    doc.metadata.update(self.details(index))
                    writer.write(doc, rank)
        finally:
            if writer is not None:
                writer.close()
