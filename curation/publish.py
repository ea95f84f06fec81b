"""The publish stage: split off a seeded held-out fraction, without leaks, into `curated/` and `heldout/`.

Held-out documents are chosen by a hash of (seed, document id), so the choice does not depend on file
order or the number of tasks. A held-out document that shares a sentence with the source's training
documents would measure memory, not generalisation (web text repeats boilerplate, instruction sets
repeat system prompts), so publish runs four datatrove passes per source:

1. split: training documents go to `curated/`, held-out candidates to scratch, with one key per
   sentence (`sentence_keys`: text cut at 。！？；… , at . ! ? before a space, and at newlines; only
   sentences of at least `heldout_leak_min_chars` characters with Chinese in them, or
   `heldout_leak_min_words` words without, count, so "例如：" or "See below." leak nothing). The key is
   the hash of the sentence's first `heldout_leak_min_chars` normalised characters (with Chinese) or
   first `heldout_leak_min_words` words (without): the same hash as that span has anywhere else;
   Then link (one task per candidates file): a candidate whose text holds another candidate's sentence
   (a heading held out alone and the paragraph quoting it) is linked to it (`LinkContained`); the driver
   only joins these edges into groups of sentence identities (`link_groups`), reading no documents;
2. scan: every window of that many characters and of that many words of every training document
   (`span_keys`) is looked up in that index (sorted keys of the held-out side, a small fraction of the
   data, so the index stays small however large the source is). A held-out sentence that occurs in
   training, alone or inside a longer sentence, a table row or a paragraph, is found, as is one whose
   first 13 characters (6 words) occur there;
3. route: a candidate with a key found in training leaks. So does one that shares a key with another
   leaking candidate (moving that one to training would make it leak), so whole groups of candidates
   linked by shared sentences move together. Leaking candidates go back to `curated/`
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

from common.ngrams import mix64, ngram_hashes
from common.text import has_han
from curation.dedup.shingles import token_hashes
from curation.io import documents_reader, documents_writer, ensure_documents
from curation.stages import StageContext, StageError

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


def _windows(text: str, mode: str, n: int) -> np.ndarray:
    """Hashes of every window of `n` normalised characters ("chars": lower case, punctuation and spaces
    dropped, digits kept) or `n` words ("words") of `text`, as near dedup shingles them."""
    return ngram_hashes(token_hashes(text, mode, keep_digits=True), n, short=False)


def sentence_ends(text: str, min_chars: int, min_words: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The sentences of `text` that count, with the hash of each one's first and last window (`min_chars`
    normalised characters when it holds Chinese, else `min_words` words). A sentence counts when it has
    such a window, and it occurs in a text only if both its end windows are among the text's
    `span_keys`; the text then almost always contains it (a template's shared opening alone does not)."""
    found, first, last = [], [], []
    for piece in _SENTENCE_END.split(text):
        words = piece.split()
        if not words:
            continue
        sentence = " ".join(words)
        windows = _windows(sentence, "chars", min_chars) if has_han(sentence) else _windows(sentence, "words", min_words)
        if len(windows):
            found.append(sentence)
            first.append(windows[0])
            last.append(windows[-1])
    return found, np.array(first, dtype=np.uint64), np.array(last, dtype=np.uint64)


def sentences(text: str, min_chars: int, min_words: int) -> list[str]:
    """The sentences of `text` long enough to count as a leak, whitespace collapsed: with Chinese in them
    at least `min_chars` characters (letters, digits, Han; punctuation and spaces not counted), else at
    least `min_words` words."""
    return sentence_ends(text, min_chars, min_words)[0]


def sentence_keys(text: str, min_chars: int, min_words: int) -> np.ndarray:
    """Sorted distinct identities of the sentences of `text` that count: the held-out side. A sentence's
    identity mixes its two end windows (see `sentence_ends`)."""
    _, first, last = sentence_ends(text, min_chars, min_words)
    return np.unique(identity(first, last))


def identity(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    return mix64(first ^ (last * np.uint64(0x9E3779B97F4A7C15)))


def span_keys(text: str, min_chars: int, min_words: int) -> np.ndarray:
    """Sorted distinct hashes of every window of `min_chars` characters and of `min_words` words of
    `text`: the training side, looked up against the held-out sentences' end windows."""
    return np.unique(np.concatenate([_windows(text, "chars", min_chars), _windows(text, "words", min_words)]))


def _members(needles: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Positions in sorted `hashes` of the needles present there."""
    if not len(needles) or not len(hashes):
        return np.zeros(0, dtype=np.int64)
    pos = np.minimum(np.searchsorted(hashes, needles), len(hashes) - 1)
    return pos[hashes[pos] == needles]


class HeldoutSplit(PipelineStep):
    """Sends the seeded held-out candidates to a scratch writer, with the identities and end windows of
    their sentences, and passes the training documents on."""

    name = "🎯 Held-out split"
    type = "🔀 - SPLIT"

    def __init__(self, fraction: float, seed: int, candidates_folder: str, hashes_folder: str, min_chars: int, min_words: int):
        super().__init__()
        self.fraction, self.seed = fraction, seed
        self.candidates_folder, self.hashes_folder = candidates_folder, hashes_folder
        self.min_chars, self.min_words = min_chars, min_words

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        per_doc: list[np.ndarray] = []
        ends: list[np.ndarray] = []  # rows (identity, first window, last window)
        with documents_writer(self.candidates_folder) as writer:
            for doc in data:
                if is_heldout(str(doc.id), self.seed, self.fraction):
                    self.stat_update("heldout_candidates")
                    writer.write(doc, rank)
                    _, first, last = sentence_ends(doc.text, self.min_chars, self.min_words)
                    ident = identity(first, last)
                    per_doc.append(np.unique(ident))
                    ends.append(np.stack([ident, first, last], axis=1))
                else:
                    self.stat_update("curated")
                    yield doc
        folder = Path(self.hashes_folder)
        folder.mkdir(parents=True, exist_ok=True)
        offsets = np.cumsum([0] + [len(h) for h in per_doc], dtype=np.int64)
        hashes = np.concatenate(per_doc + [np.zeros(0, np.uint64)])
        tmp = folder / f"{rank:05d}.partial"  # renamed when complete: a killed task leaves no .npz behind
        with open(tmp, "wb") as f:
            np.savez(f, hashes=hashes, offsets=offsets, ends=np.concatenate(ends + [np.zeros((0, 3), np.uint64)]))
        tmp.replace(folder / f"{rank:05d}.npz")


def build_index(hashes_folder: Path) -> dict[str, np.ndarray]:
    """The held-out side's sentence index: sorted distinct sentence identities `hashes`, per identity its
    `group` (the smallest index of the identities linked to it through candidates that share sentences)
    and `docs` (how many candidates hold it); `windows`, the sorted distinct end windows the scan looks
    for; and per sentence, sorted by its first window, `first`, `last` and `position` (of its identity in
    `hashes`)."""
    parts = [dict(np.load(f)) for f in sorted(Path(hashes_folder).glob("[0-9]*.npz"))]
    if any("ends" not in part for part in parts):
        raise StageError(f"{hashes_folder} was written by an older version of publish: rerun with --force publish")
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
    ends = np.unique(np.concatenate([p["ends"] for p in parts] + [np.zeros((0, 3), np.uint64)]), axis=0)
    ends = ends[np.argsort(ends[:, 1], kind="stable")]
    return {"hashes": hashes, "group": connected(len(hashes), a, b), "docs": docs, "windows": np.unique(ends[:, 1:]),
            "first": ends[:, 1].copy(), "last": ends[:, 2].copy(), "position": np.searchsorted(hashes, ends[:, 0])}


def connected(n: int, a: np.ndarray, b: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """Per node of a graph of `n` nodes with edges a[i]-b[i]: the smallest node of its component (label
    propagation with pointer jumping), starting from `group` when given."""
    group = np.arange(n, dtype=np.int64) if group is None else group.copy()
    while True:
        low = np.minimum(group[a], group[b])
        before = group.copy()
        np.minimum.at(group, a, low)
        np.minimum.at(group, b, low)
        while not np.array_equal(group, group[group]):
            group = group[group]
        if np.array_equal(group, before):
            return group


def contained_links(index: dict[str, np.ndarray], text: str, min_chars: int, min_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges (heads, tails) linking a candidate's first sentence with the other candidates' sentences that
    occur inside its text (a heading held out alone and the paragraph quoting it): when either moves to
    training, the other would share that sentence with training, so they move together."""
    own = _members(sentence_keys(text, min_chars, min_words), index["hashes"])
    inside = occurring(index, span_keys(text, min_chars, min_words))
    if not len(own) or not len(inside):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.full(len(inside), own[0], np.int64), inside.astype(np.int64)


class LinkContained(PipelineStep):
    """Per task of held-out candidates: the `contained_links` of each, to `<links_folder>/<rank>.npz`, for the
    driver to join into the index's groups (`link_groups`). Passes nothing on."""

    name = "🔗 Held-out links"
    type = "🔀 - SPLIT"

    def __init__(self, index_file: str, links_folder: str, min_chars: int, min_words: int):
        super().__init__()
        self.index_file, self.links_folder = index_file, links_folder
        self.min_chars, self.min_words = min_chars, min_words

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        index = dict(np.load(self.index_file))
        heads, tails = [], []
        for doc in data:
            self.stat_update("candidates")
            a, b = contained_links(index, doc.text, self.min_chars, self.min_words)
            if len(a):
                self.stat_update("candidates_quoting_another")
                heads.append(a)
                tails.append(b)
        folder = Path(self.links_folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{rank:05d}.partial"
        with open(tmp, "wb") as f:
            np.savez(f, heads=np.concatenate(heads + [np.zeros(0, np.int64)]), tails=np.concatenate(tails + [np.zeros(0, np.int64)]))
        tmp.replace(folder / f"{rank:05d}.npz")
        return
        yield


def link_groups(index: dict[str, np.ndarray], links_folder: Path) -> None:
    """Joins, in `index["group"]`, the sentences the `LinkContained` tasks linked (edges between held-out
    sentences only: the held-out side's index, no documents, is read here)."""
    parts = [np.load(f) for f in sorted(Path(links_folder).glob("[0-9]*.npz"))]
    heads = np.concatenate([p["heads"] for p in parts] + [np.zeros(0, np.int64)])
    tails = np.concatenate([p["tails"] for p in parts] + [np.zeros(0, np.int64)])
    if len(heads):
        index["group"] = connected(len(index["hashes"]), heads, tails, index["group"])


def occurring(index: dict[str, np.ndarray], windows: np.ndarray) -> np.ndarray:
    """Positions in `index["hashes"]` of the held-out sentences whose first and last windows are both
    among `windows` (the sorted span keys of one training document)."""
    found = windows[np.isin(windows, index["windows"], assume_unique=True)]
    if not len(found):
        return np.zeros(0, dtype=np.int64)
    lo, hi = np.searchsorted(index["first"], found, "left"), np.searchsorted(index["first"], found, "right")
    rows = np.concatenate([np.arange(a, b) for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a] + [np.zeros(0, np.int64)])
    return np.unique(index["position"][rows[np.isin(index["last"][rows], found)]])


class LeakScan(PipelineStep):
    """Looks every training document's windows up in the held-out index and records which held-out
    sentences occur in it (one .npy of index positions per task). Passes nothing on."""

    name = "🔎 Held-out leak scan"
    type = "🔀 - SPLIT"

    def __init__(self, index_file: str, fraction: float, seed: int, found_folder: str, min_chars: int, min_words: int):
        super().__init__()
        self.index_file, self.fraction, self.seed, self.found_folder = index_file, fraction, seed, found_folder
        self.min_chars, self.min_words = min_chars, min_words

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        index = dict(np.load(self.index_file))
        found: list[np.ndarray] = []
        for doc in data:
            if is_heldout(str(doc.id), self.seed, self.fraction):
                continue
            self.stat_update("training_docs")
            hits = occurring(index, span_keys(doc.text, self.min_chars, self.min_words)) if len(index["hashes"]) else ()
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
                hashes = sentence_keys(doc.text, self.min_chars, self.min_words)
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
                        found, first, last = sentence_ends(doc.text, self.min_chars, self.min_words)
                        ident = identity(first, last)
                        shared = next(s for s, key in zip(found, ident, strict=True)
                                      if len(_members(np.array([key]), direct if shares else linking)))
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
    if STAGE in ctx.force:  # every source's, also of one left empty now (the report must not count them)
        for source in ctx.sources:
            for folder in ("curated", "heldout", f"stages/{STAGE}.work"):
                shutil.rmtree(ctx.workdir / folder / source.name, ignore_errors=True)
    settings = {"seed": seed, **{f"curation.{key}": getattr(cfg, key) for key in (
        "heldout_fraction", "heldout_leaks", "heldout_leak_min_chars", "heldout_leak_min_words")}}
    digests = {name: ctx.record_settings(STAGE, name, settings, upstream=name) for name in inputs}
    for source in ctx.sources:
        name = source.name
        if name not in inputs:  # left with no documents (curation.empty_source: skip)
            continue
        curated = ctx.workdir / "curated" / name
        heldout = ctx.workdir / "heldout" / name
        work = ctx.workdir / "stages" / f"{STAGE}.work" / name
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
        sentences_file = work / "heldout_sentences.npz"  # before linking: what the link tasks look up
        np.savez(sentences_file, **index)
        candidate_tasks = max(1, len(list((work / "candidates").glob("*.parquet"))))
        link = [documents_reader(work / "candidates"), LinkContained(str(sentences_file), str(work / "links"), **lengths)]
        if not ctx.run_pipeline(link, stage=STAGE, source=f"{name}/link", tasks=candidate_tasks):
            return {}
        link_groups(index, work / "links")
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
        if not ctx.run_pipeline(route, stage=STAGE, source=name, tasks=candidate_tasks):
            return {}
        ensure_documents(curated)
        ensure_documents(heldout)  # a source with no held-out document still has its (empty) folder
        outputs[name] = curated
    ctx.upstream.update((name, (STAGE, digest)) for name, digest in digests.items())
    return outputs
