"""Test helpers for the curation stages: the real stage context for a small recipe, and document folders."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from datatrove.pipeline.readers import JsonlReader  # noqa: F401  (keeps datatrove's reader registry loaded)

from common.documents import iter_documents, iter_excluded
from common.recipe import Recipe
from common.sources import load_sources
from curation.config import load_curation
from curation.io import documents_writer
from curation.stages import StageContext


def source(name: str, kind: str = "mono", language: str | None = None) -> dict:
    """A `sources` entry for a stage that reads documents folders, not the source's input: the input is a
    Hugging Face dataset name that is never opened."""
    entry = {"kind": kind, "name": name, "input": {"hub": f"tests/{name}"}}
    return entry | ({"language": language} if language else {})


def recipe_with(root: Path, *sources: dict, workdir: str = "work", **sections) -> Recipe:
    """A recipe under `root` with these sources and sections."""
    return Recipe.from_dict({"workdir": workdir, **({"sources": list(sources)} if sources else {}), **sections}, root=root)


def stage_context(recipe: Recipe, force: Iterable[str] = ()) -> StageContext:
    """The stage context `curation.run` builds for `recipe`, on the local executor with one worker, which
    runs every task in this process."""
    sources = load_sources(recipe) if recipe.has("sources") else []
    return StageContext(recipe=recipe, workdir=recipe.workdir, sources=sources, config=load_curation(recipe),
                        workers=1, force=set(force))


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
