"""The publish stage: split off a seeded held-out fraction and write `curated/` and `heldout/`.

Held-out documents are chosen by a hash of (seed, document id), so the split does not depend on
file order or the number of tasks, and it is the same every time the recipe is run.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation.io import documents_reader, documents_writer
from curation.stages import StageContext

STAGE = "publish"
EXCLUDING_STEPS = ()  # held-out documents are kept, in heldout/, not excluded


def is_heldout(doc_id: str, seed: int, fraction: float) -> bool:
    digest = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64 < fraction


class HeldoutSplit(PipelineStep):
    """Sends a seeded fraction of documents to the held-out writer and passes the rest on."""

    name = "🎯 Held-out split"
    type = "🔀 - SPLIT"

    def __init__(self, fraction: float, seed: int, heldout_folder: str):
        super().__init__()
        self.fraction, self.seed, self.heldout_folder = fraction, seed, heldout_folder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with documents_writer(self.heldout_folder) as writer:
            for doc in data:
                if is_heldout(str(doc.id), self.seed, self.fraction):
                    self.stat_update("heldout")
                    writer.write(doc, rank)
                else:
                    self.stat_update("curated")
                    yield doc


def run(ctx: StageContext, inputs: dict[str, Path]) -> dict[str, Path]:
    """Split every source into `curated/<source>/` and `heldout/<source>/`; returns the curated folders."""
    outputs = {}
    for source in ctx.sources:
        curated = ctx.workdir / "curated" / source.name
        heldout = ctx.workdir / "heldout" / source.name
        files = sorted(Path(inputs[source.name]).glob("*.parquet"))
        tasks = max(1, len(files))
        if STAGE in ctx.force:
            for folder in (curated, heldout):
                shutil.rmtree(folder, ignore_errors=True)
        pipeline = [
            documents_reader(inputs[source.name]),
            HeldoutSplit(ctx.config.heldout_fraction, ctx.recipe.seed, str(heldout)),
            documents_writer(curated),
        ]
        ctx.run_pipeline(pipeline, stage=STAGE, source=source.name, tasks=tasks)
        outputs[source.name] = curated
    return outputs
