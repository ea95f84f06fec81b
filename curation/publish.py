"""The publish stage: split off a seeded held-out fraction, without leaks, into `curated/` and `heldout/`.

Held-out documents are chosen by a hash of (seed, document id), so the choice does not depend on file
order or the number of tasks. A held-out document that shares a sentence with the source's training
documents would measure memory, not generalisation (web text repeats boilerplate, instruction sets
repeat system prompts), so publish runs three datatrove passes per source:

1. split: training documents go to `curated/`, held-out candidates to scratch, with the hashes of
   their sentences (`sentence_hashes`: text cut at 。！？；… , at . ! ? before a space, and at newlines;
   only sentences of at least `heldout_leak_min_chars` characters with Chinese in them, or
   `heldout_leak_min_words` words without, count, so "例如：" or "See below." leak nothing);
2. scan: every training document is looked up in that index (sorted hashes of the held-out side, a
   small fraction of the data, so the index stays small however large the source is);
3. route: a candidate that shares a sentence with training leaks. So does one that shares a sentence
   with another leaking candidate (moving that one to training would make it leak), so whole groups
   of candidates linked by shared sentences move together. Leaking candidates go back to `curated/`
   (`moved-<rank>.parquet`, nothing lost) or, with `curation.heldout_leaks: drop`, to
   `excluded/<source>/heldout_leak/` with the first shared sentence; the others go to `heldout/`.

Every decision depends only on document texts, ids and the seed, so the result is the same for any
number of tasks and on every rerun.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter

from common.text import has_han
from curation.io import documents_reader, documents_writer, ensure_documents
from curation.stages import StageContext

STAGE = "publish"
REASON = "heldout_leak"
MOVED_FILES = "moved-${rank}.parquet"  # in curated/<source>/: held-out candidates moved back to training
MOVED_GLOB = "*moved-*.parquet"  # those files as written (datatrove puts a file id in front)
# LeakRouter's statistics of leaking candidates: sharing a sentence with training, or with another leaking one
LEAK_STATS = ("leak_shares_with_training", "leak_shares_with_a_leaking_heldout_doc")

# a sentence ends at Chinese end punctuation, at . ! ? followed by a space or the end, and at a newline
_SENTENCE_END = re.compile(r"[。！？；…\n]+|[.!?]+(?=\s|$)")


def is_heldout(doc_id: str, seed: int, fraction: float) -> bool:
    digest = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64 < fraction


def sentences(text: str, min_chars: int, min_words: int) -> list[str]:
    """The sentences of `text` long enough to count as a leak, whitespace collapsed: with Chinese in them
    at least `min_chars` characters (spaces not counted), else at least `min_words` words."""
    out = []
    for piece in _SENTENCE_END.split(text):
        words = piece.split()
        if not words:
            continue
        sentence = " ".join(words)
        if has_han(sentence):
            if len(sentence) - len(words) + 1 >= min_chars:
                out.append(sentence)
        elif len(words) >= min_words:
            out.append(sentence)
    return out


def _hash(sentence: str) -> int:
    return int.from_bytes(hashlib.blake2b(sentence.encode("utf-8"), digest_size=8).digest(), "little")


def sentence_hashes(text: str, min_chars: int, min_words: int) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the sentences of `text` that count (see `sentences`)."""
    found = sentences(text, min_chars, min_words)
    return np.unique(np.fromiter((_hash(s) for s in found), dtype=np.uint64, count=len(found)))


def _members(needles: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Positions in sorted `hashes` of the needles present there."""
    if not len(needles) or not len(hashes):
        return np.zeros(0, dtype=np.int64)
    pos = np.minimum(np.searchsorted(hashes, needles), len(hashes) - 1)
    return pos[hashes[pos] == needles]


class HeldoutSplit(PipelineStep):
    """Sends the seeded held-out candidates to a scratch writer, with the hashes of their sentences, and
    passes the training documents on."""

    name = "🎯 Held-out split"
    type = "🔀 - SPLIT"

    def __init__(self, fraction: float, seed: int, candidates_folder: str, hashes_folder: str, min_chars: int, min_words: int):
        super().__init__()
        self.fraction, self.seed = fraction, seed
        self.candidates_folder, self.hashes_folder = candidates_folder, hashes_folder
        self.min_chars, self.min_words = min_chars, min_words

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        per_doc: list[np.ndarray] = []
        with documents_writer(self.candidates_folder) as writer:
            for doc in data:
                if is_heldout(str(doc.id), self.seed, self.fraction):
                    self.stat_update("heldout_candidates")
                    writer.write(doc, rank)
                    per_doc.append(sentence_hashes(doc.text, self.min_chars, self.min_words))
                else:
                    self.stat_update("curated")
                    yield doc
        folder = Path(self.hashes_folder)
        folder.mkdir(parents=True, exist_ok=True)
        offsets = np.cumsum([0] + [len(h) for h in per_doc], dtype=np.int64)
        hashes = np.concatenate(per_doc + [np.zeros(0, np.uint64)])
        tmp = folder / f"{rank:05d}.partial"  # renamed when complete: a killed task leaves no .npz behind
        with open(tmp, "wb") as f:
            np.savez(f, hashes=hashes, offsets=offsets)
        tmp.replace(folder / f"{rank:05d}.npz")


def build_index(hashes_folder: Path) -> dict[str, np.ndarray]:
    """The held-out side's sentence index: sorted distinct `hashes`, per hash its `group` (the smallest
    index of the hashes linked to it through candidates that share sentences) and `docs` (how many
    candidates hold it)."""
    parts = [dict(np.load(f)) for f in sorted(Path(hashes_folder).glob("[0-9]*.npz"))]
    all_hashes = np.concatenate([p["hashes"] for p in parts] + [np.zeros(0, np.uint64)])
    hashes, docs = np.unique(all_hashes, return_counts=True)
    # edges: every sentence of a candidate to the candidate's first sentence
    heads, tails = [], []
    for part in parts:
        positions = np.searchsorted(hashes, part["hashes"])
        counts = np.diff(part["offsets"])
        first = np.repeat(positions[part["offsets"][:-1][counts > 0]], counts[counts > 0])
        heads.append(first)
        tails.append(positions)
    a = np.concatenate(heads + [np.zeros(0, np.int64)])
    b = np.concatenate(tails + [np.zeros(0, np.int64)])
    group = np.arange(len(hashes), dtype=np.int64)
    while True:  # label propagation with pointer jumping: every hash ends with its group's smallest index
        low = np.minimum(group[a], group[b])
        before = group.copy()
        np.minimum.at(group, a, low)
        np.minimum.at(group, b, low)
        while not np.array_equal(group, group[group]):
            group = group[group]
        if np.array_equal(group, before):
            return {"hashes": hashes, "group": group, "docs": docs}


class LeakScan(PipelineStep):
    """Looks every training document up in the held-out index and records which held-out sentences
    occur in training (one .npy of index positions per task). Passes nothing on."""

    name = "🔎 Held-out leak scan"
    type = "🔀 - SPLIT"

    def __init__(self, index_file: str, fraction: float, seed: int, found_folder: str, min_chars: int, min_words: int):
        super().__init__()
        self.index_file, self.fraction, self.seed, self.found_folder = index_file, fraction, seed, found_folder
        self.min_chars, self.min_words = min_chars, min_words

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        index = np.load(self.index_file)["hashes"]
        found: list[np.ndarray] = []
        for doc in data:
            if is_heldout(str(doc.id), self.seed, self.fraction):
                continue
            self.stat_update("training_docs")
            hits = _members(sentence_hashes(doc.text, self.min_chars, self.min_words), index) if len(index) else ()
            if len(hits):
                self.stat_update("training_docs_sharing_a_sentence")
                found.append(hits)
        folder = Path(self.found_folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{rank:05d}.partial"
        with open(tmp, "wb") as f:
            np.save(f, np.unique(np.concatenate(found + [np.zeros(0, np.int64)])))
        tmp.replace(folder / f"{rank:05d}.npy")
        return
        yield


def leaking_hashes(index: dict[str, np.ndarray], found_folder: Path) -> dict[str, np.ndarray]:
    """Sorted hashes: `direct`, the held-out sentences that occur in training; `tainted`, every sentence
    of a group that holds one (a candidate with one of them leaks); `linking`, the tainted sentences that
    two or more candidates share (what makes a candidate without a direct one leak)."""
    found = np.unique(np.concatenate([np.load(f) for f in sorted(Path(found_folder).glob("[0-9]*.npy"))] + [np.zeros(0, np.int64)]))
    tainted = np.isin(index["group"], index["group"][found])
    return {"direct": index["hashes"][found], "tainted": index["hashes"][tainted],
            "linking": index["hashes"][tainted & (index["docs"] > 1)]}


class LeakRouter(PipelineStep):
    """Passes the held-out candidates that share no sentence with training on (to `heldout/`); the
    leaking ones go back to training (`moved_writer`) or, when excluding, to `exclusion_writer`."""

    name = "🚧 Held-out leaks"
    type = "🔻 - FILTER"
    excluded_name = "heldout_leak"

    def __init__(self, leaks_file: str, min_chars: int, min_words: int, moved_folder: str | None = None,
                 exclusion_writer: DiskWriter | None = None):
        super().__init__()
        self.leaks_file, self.min_chars, self.min_words = leaks_file, min_chars, min_words
        self.moved_folder = moved_folder
        self.exclusion_writer = exclusion_writer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        leaks = np.load(self.leaks_file)
        direct, tainted, linking = leaks["direct"], leaks["tainted"], leaks["linking"]
        moved = documents_writer(self.moved_folder, MOVED_FILES) if self.moved_folder else None
        try:
            for doc in data:
                hashes = sentence_hashes(doc.text, self.min_chars, self.min_words)
                if not len(_members(hashes, tainted)):
                    self.stat_update("heldout")
                    yield doc
                    continue
                shares = len(_members(hashes, direct)) > 0
                self.stat_update(LEAK_STATS[0] if shares else LEAK_STATS[1])
                if moved is not None:
                    self.stat_update("leak_moved")
                    moved.write(doc, rank)
                else:
                    self.stat_update("leak_dropped")
                    if self.exclusion_writer is not None:
                        shared = next(s for s in sentences(doc.text, self.min_chars, self.min_words)
                                      if len(_members(np.array([_hash(s)], np.uint64), direct if shares else linking)))
                        doc.metadata["filter_reason"] = REASON
                        doc.metadata["leaked_sentence"] = shared
                        self.exclusion_writer.write(doc, rank)
        finally:
            for writer in (moved, self.exclusion_writer):
                if writer is not None:
                    writer.close()


EXCLUDING_STEPS = (LeakRouter,)  # held-out documents are kept, in heldout/; only dropped leaks are excluded


def run(ctx: StageContext, inputs: dict[str, Path]) -> dict[str, Path]:
    """Split every source into `curated/<source>/` and `heldout/<source>/`; returns the curated folders."""
    cfg = ctx.config
    seed, fraction = ctx.recipe.seed, cfg.heldout_fraction
    lengths = {"min_chars": cfg.heldout_leak_min_chars, "min_words": cfg.heldout_leak_min_words}
    outputs = {}
    for source in ctx.sources:
        name = source.name
        curated = ctx.workdir / "curated" / name
        heldout = ctx.workdir / "heldout" / name
        work = ctx.workdir / "stages" / f"{STAGE}.work" / name
        if STAGE in ctx.force:
            for folder in (curated, heldout, work):
                shutil.rmtree(folder, ignore_errors=True)
        tasks = max(1, len(sorted(Path(inputs[name]).glob("*.parquet"))))
        split = [
            documents_reader(inputs[name]),
            HeldoutSplit(fraction, seed, str(work / "candidates"), str(work / "heldout_hashes"), **lengths),
            documents_writer(curated),
        ]
        if not ctx.run_pipeline(split, stage=STAGE, source=f"{name}/split", tasks=tasks):
            return {}
        ensure_documents(work / "candidates")
        index = build_index(work / "heldout_hashes")
        index_file = work / "heldout_index.npz"
        np.savez(index_file, **index)
        scan = [
            documents_reader(inputs[name]),
            LeakScan(str(index_file), fraction, seed, str(work / "found"), **lengths),
        ]
        if not ctx.run_pipeline(scan, stage=STAGE, source=f"{name}/scan", tasks=tasks):
            return {}
        leaks_file = work / "leaks.npz"
        np.savez(leaks_file, **leaking_hashes(index, work / "found"))
        router = LeakRouter(str(leaks_file), **lengths, moved_folder=str(curated) if cfg.heldout_leaks == "move" else None)
        if cfg.heldout_leaks == "drop":
            router = ctx.excluding(router, name)
        route = [documents_reader(work / "candidates"), router, documents_writer(heldout)]
        candidate_tasks = max(1, len(list((work / "candidates").glob("*.parquet"))))
        if not ctx.run_pipeline(route, stage=STAGE, source=name, tasks=candidate_tasks):
            return {}
        ensure_documents(curated)
        ensure_documents(heldout)  # a source with no held-out document still has its (empty) folder
        outputs[name] = curated
    return outputs
