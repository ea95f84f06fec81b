"""Test helpers for the curation stages after filtering: a minimal stage context and document folders.

`StageContext` mirrors the interface of `curation.stages.StageContext` (recipe, workdir, sources,
executor, stage_dir, excluded_dir) with datatrove's local executor, so the stage functions can be
tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader  # noqa: F401  (keeps datatrove's reader registry loaded)

from common.documents import iter_documents, iter_excluded
from common.recipe import Recipe
from curation.io import documents_writer


@dataclass
class Source:
    name: str
    kind: str = "mono"
    language: str | None = "zh"


@dataclass
class StageContext:
    recipe: Recipe
    workdir: Path
    sources: list[Source]

    def executor(self, pipeline: list, *, stage: str, source: str, tasks: int = 1, workers: int | None = None):
        return LocalPipelineExecutor(
            pipeline, tasks=tasks, workers=workers or 1, logging_dir=str(self.workdir / "logs" / stage / source),
            skip_completed=True,
        )

    def stage_dir(self, stage: str, source: str) -> Path:
        return self.workdir / "stages" / stage / source

    def excluded_dir(self, source: str, step: str) -> Path:
        return self.workdir / "excluded" / source / step


def write_documents(folder: Path, docs: list[dict]) -> Path:
    """Write [{"id", "text", "metadata"}] as a documents folder (docs/formats.md)."""
    from datatrove.data import Document

    writer = documents_writer(folder)
    with writer:
        for doc in docs:
            writer.write(Document(text=doc["text"], id=doc["id"], metadata=dict(doc.get("metadata", {}))), 0)
    return folder


def read_ids(folder: Path) -> list[str]:
    return [d["id"] for d in iter_documents(folder)] if folder.exists() else []


def read_excluded(folder: Path) -> list[dict]:
    return list(iter_excluded(folder)) if folder.exists() else []
