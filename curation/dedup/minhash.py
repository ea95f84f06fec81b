"""MinHash near deduplication as datatrove pipeline steps, with character shingles for Chinese.

    ShingleMinhashSignature  (ours)      documents -> bucket_XXX/<file>.minhash.sig, sketch/<file>.npy, ids/<file>.json,
                                         modes/<file>.npy, short/<file>.npy + short_docs/<file>.npy
    MinhashDedupBuckets      (datatrove) signatures -> <bucket>_<worker>.dups (candidate pairs agreeing on a band)
    MinhashClusterKeepFirst  (ours)      candidates -> verified pairs -> <file>.dupof: (doc, kept file, kept doc,
                                         similarity, edits) per removed doc
    NearDedupFilter          (ours)      documents -> kept; removed ones to excluded/ with duplicate_of, similarity
                                         (and edits for two short documents)

Our signature step writes exactly the files datatrove's `MinhashDedupSignature` writes (sorted
`<hashes_per_bucket>Q I` records per bucket), so datatrove's bucket stage runs unchanged on them. It
differs in what it hashes (character n-grams for Chinese, word n-grams for English, computed with
numpy for a whole batch) and in naming files by `file_id` instead of rank, so several sources can be
deduplicated against each other. It also keeps a bottom-k sketch of every document (`sketch/`, the k
smallest distinct 32-bit hashes of its shingles), so that the cluster step can check a candidate pair on
an estimate of its Jaccard similarity that is more precise than the signature's (k = 256 values: standard
deviation about 0.02 at similarity 0.7, against 0.045 for 112 MinHash agreements) and exact for short
documents: LSH bands then only have to find candidates (many short bands, high recall) and the
similarity threshold decides (no false positives from a lucky band). Our cluster
step keeps the smallest (file, doc) of each cluster, a deterministic rule (first source in recipe order,
then first document), and records which document each removed one duplicates and how similar the two
are, which datatrove's cluster step does not.

Short Chinese documents (fewer than `Shingling.short_chars` normalised characters) are banded on
character 2-grams instead (one changed character in 10 leaves 7 of 11 distinct 2-grams shared, where it
leaves 1 of 11 5-grams) and their normalised code points are kept (`short/`, `short_docs/`: only for
short documents), so that the cluster step
also counts a candidate pair of two short documents as near duplicates when they are at most
`short_edits` edits apart (Levenshtein, on the candidates only).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Literal

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.typeshelper import StatHints
from fsspec.implementations.local import LocalFileSystem

from common.text import has_han
from curation.dedup.remove import DuplicateRemover
from curation.dedup.shingles import (
    SKETCH_EMPTY,
    BottomKSketcher,
    MinHasher,
    Mode,
    bounded_edits,
    char_ngrams,
    contained,
    normalized_codepoints,
    sketch_similarity,
    text_ngrams,
)

FILES_PER_SOURCE = 1000  # file_id = source position * FILES_PER_SOURCE + rank
# datatrove's bucket stage stops reading a band's signature file at the first record whose first hash is at
# least 2**61 - 1 (its Mersenne prime), so such records were never candidates. A 64-bit minimum is that high
# with probability (7/8)**shingles: 1 band in 10 for a 20-character text, none for long documents. The
# minima are written shifted down, below 2**60 (order and equality kept but for 4 low bits).
HASH_SHIFT = 4
_U64 = np.uint64


MODES: tuple[Mode, ...] = ("chars", "words")  # a document's shingle mode, stored as its index here


@dataclass(frozen=True)
class Shingling:
    """What a document's shingles are: character or word n-grams of the normalised text. With mode
    "auto" (sources whose records are in either language, such as instruction data) each document is
    shingled on characters when it holds Chinese and on words otherwise."""

    mode: Mode | Literal["auto"] = "chars"
    n_grams: int = 5  # characters (chars) or words (words) per shingle
    keep_digits: bool = False  # datatrove maps every run of digits to 0; True keeps the numbers
    word_n_grams: int = 5  # mode "auto": words per shingle for a document without Chinese
    short_chars: int = 0  # "chars" documents with fewer normalised characters: LSH on short_n_grams; 0: none
    short_n_grams: int = 2

    def of(self, text: str) -> tuple[Mode, int]:
        """The shingle mode and n-gram size for one document."""
        if self.mode != "auto":
            return self.mode, self.n_grams
        return ("chars", self.n_grams) if has_han(text) else ("words", self.word_n_grams)

    def shingles(self, text: str) -> tuple[Mode, np.ndarray, np.ndarray, np.ndarray | None]:
        """(mode, shingles for the LSH signature, shingles for the verification sketch, normalised code
        points when the document is short). A short document ("chars", under `short_chars` normalised
        characters) is banded on `short_n_grams`-grams, so that one changed character leaves enough shared
        shingles to make it a candidate, and sketched on `n_grams`-grams like every other document, so that
        its estimated similarity means the same; its code points let the cluster step count edits."""
        mode, n_grams = self.of(text)
        if mode != "chars" or not self.short_chars:
            shingles = text_ngrams(text, mode, n_grams, keep_digits=self.keep_digits)
            return mode, shingles, shingles, None
        cps = normalized_codepoints(text, "chars", self.keep_digits)
        sketched = char_ngrams(cps, n_grams)
        if not 0 < len(cps) < self.short_chars:
            return mode, sketched, sketched, None
        return mode, char_ngrams(cps, self.short_n_grams), sketched, cps


class ShingleMinhashSignature(PipelineStep):
    """MinHash signatures from character (zh) or word (en) n-grams, in datatrove's signature format, and
    a bottom-k sketch and the shingle mode per document for verification."""

    type = "🫂 - DEDUP"
    name = "🎯 MinHash signatures (shingles)"

    def __init__(
        self,
        output_folder: DataFolderLike,
        config: MinhashConfig,
        shingles: Shingling,
        file_id_offset: int = 0,
        batch_size: int = 512,
        sketch_size: int = 256,
    ):
        super().__init__()
        if config.hash_config.precision != 64:
            raise ValueError("ShingleMinhashSignature writes 64-bit hashes; use hash_config.precision=64")
        self.output_folder = get_datafolder(output_folder)
        self.config = config
        self.shingles = shingles
        self.file_id_offset = file_id_offset
        self.batch_size = batch_size
        self.hasher = MinHasher(config.num_buckets * config.hashes_per_bucket, seed=config.seed)
        self.sketcher = BottomKSketcher(sketch_size, seed=config.seed)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        file_id = self.file_id_offset + rank
        ids: list[str] = []
        modes: list[int] = []
        short: dict[int, np.ndarray] = {}
        signatures: list[np.ndarray] = []
        sketches: list[np.ndarray] = []
        doc_indices: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        batch_sketch: list[np.ndarray] = []
        batch_idx: list[int] = []

        def flush():
            if batch:
                signatures.append(self.hasher.signatures(batch))
                sketches.append(self.sketcher.sketches(batch_sketch))
                doc_indices.append(np.asarray(batch_idx, dtype=np.uint32))
                batch.clear()
                batch_sketch.clear()
                batch_idx.clear()

        with self.track_time():
            for doc_idx, doc in enumerate(data):
                self.stat_update(StatHints.total)
                ids.append(str(doc.id))
                mode, shingles, sketched, cps = self.shingles.shingles(doc.text)
                modes.append(MODES.index(mode))
                if cps is not None:
                    short[doc_idx] = cps
                    self.stat_update("short")
                if shingles.size:
                    batch.append(shingles)
                    batch_sketch.append(sketched)
                    batch_idx.append(doc_idx)
                    if len(batch) >= self.batch_size:
                        flush()
                else:
                    self.stat_update("no_shingles")
            flush()
            self._write(file_id, signatures, sketches, doc_indices, ids)
            with self.output_folder.open(f"modes/{file_id:05d}.npy", mode="wb") as f:
                np.save(f, np.asarray(modes, dtype=np.uint8))
            # short documents' normalised code points (0 padded), and which documents they are
            texts = np.zeros((len(short), max(self.shingles.short_chars - 1, 0)), dtype=np.uint32)
            for row, cps in enumerate(short.values()):
                texts[row, : len(cps)] = cps
            with self.output_folder.open(f"short/{file_id:05d}.npy", mode="wb") as f:
                np.save(f, texts)
            with self.output_folder.open(f"short_docs/{file_id:05d}.npy", mode="wb") as f:
                np.save(f, np.fromiter(short, dtype=np.uint32, count=len(short)))  # ascending: documents in order
        return
        yield  # a generator step that forwards nothing

    def _write(self, file_id: int, signatures: list, sketches: list, doc_indices: list, ids: list[str]) -> None:
        rows = self.config.hashes_per_bucket
        sig = np.concatenate(signatures) if signatures else np.zeros((0, self.hasher.multipliers.size), np.uint64)
        docs = np.concatenate(doc_indices) if doc_indices else np.zeros(0, np.uint32)
        record = np.dtype([(f"h{i}", "<u8") for i in range(rows)] + [("doc", "<u4")])
        for bucket in range(self.config.num_buckets):
            records = np.empty(len(docs), dtype=record)
            for i in range(rows):
                records[f"h{i}"] = sig[:, bucket * rows + i] >> _U64(HASH_SHIFT)
            records["doc"] = docs
            records.sort(order=record.names)  # datatrove's bucket stage merges files by sorted order
            with self.output_folder.open(f"bucket_{bucket:03d}/{file_id:05d}.minhash.sig", mode="wb") as f:
                f.write(records.tobytes())
        sketch = np.full((len(ids), self.sketcher.k), SKETCH_EMPTY, dtype=np.uint32)  # no shingles: never a candidate
        if sketches:
            sketch[docs] = np.concatenate(sketches)
        with self.output_folder.open(f"sketch/{file_id:05d}.npy", mode="wb") as f:
            np.save(f, sketch)
        with self.output_folder.open(f"ids/{file_id:05d}.json", mode="w") as f:
            json.dump(ids, f, ensure_ascii=False)


class Sketches:
    """Bottom-k sketches and shingle modes written by `ShingleMinhashSignature`, per file, memory-mapped
    when local."""

    def __init__(self, folder: DataFolderLike):
        self.folder = get_datafolder(folder)
        self._files: dict[tuple[str, int], np.ndarray] = {}

    def file(self, file_id: int, part: str = "sketch") -> np.ndarray:
        if (part, file_id) not in self._files:
            name = f"{part}/{file_id:05d}.npy"
            if not self.folder.exists(name):
                raise FileNotFoundError(
                    f"{self.folder.resolve_paths(name)}: not written (by an older version?); "
                    "rerun the stage with --force dedup"
                )
            if isinstance(self.folder.fs, LocalFileSystem):
                self._files[part, file_id] = np.load(self.folder.resolve_paths(name), mmap_mode="r")
            else:
                with self.folder.open(name, "rb") as f:
                    self._files[part, file_id] = np.load(io.BytesIO(f.read()))
        return self._files[part, file_id]

    def rows(self, nodes: np.ndarray, part: str = "sketch") -> np.ndarray:
        """Sketches (or modes) of (file, doc) nodes given as an (n, 2) array, one row per node."""
        out = None
        for file_id in np.unique(nodes[:, 0]):
            picked = np.flatnonzero(nodes[:, 0] == file_id)
            picked = picked[np.argsort(nodes[picked, 1], kind="stable")]  # in file order: sequential reads
            values = self.file(int(file_id), part)
            if out is None:
                out = np.empty((len(nodes), *values.shape[1:]), dtype=values.dtype)
            out[picked] = values[nodes[picked, 1]]
        return out if out is not None else np.zeros((0,), dtype=np.uint8)

    def short_texts(self, nodes: np.ndarray) -> np.ndarray:
        """Normalised code points (0 padded) of (file, doc) nodes, a row of 0 for a document that is not short."""
        out = np.zeros((len(nodes), 0), dtype=np.uint32)
        for position, file_id in enumerate(np.unique(nodes[:, 0])):
            docs, texts = self.file(int(file_id), "short_docs"), self.file(int(file_id), "short")
            if position == 0:
                out = np.zeros((len(nodes), texts.shape[1]), dtype=np.uint32)
            if not len(docs):
                continue
            picked = np.flatnonzero(nodes[:, 0] == file_id)
            rows = np.minimum(np.searchsorted(docs, nodes[picked, 1]), len(docs) - 1)
            found = docs[rows] == nodes[picked, 1]
            out[picked[found]] = texts[rows[found]]
        return out

    def similarity(self, nodes_a: np.ndarray, nodes_b: np.ndarray) -> np.ndarray:
        """Estimated Jaccard similarity of each pair of nodes."""
        return sketch_similarity(self.rows(nodes_a), self.rows(nodes_b))


Thresholds = float | None | dict[str, float | None]


def _threshold_table(similarity: Thresholds) -> np.ndarray:
    """Per shingle mode (index in MODES), the similarity a pair needs; -1 where every candidate counts."""
    per_mode = similarity if isinstance(similarity, dict) else {mode: similarity for mode in MODES}
    return np.array([-1.0 if per_mode.get(mode) is None else float(per_mode[mode]) for mode in MODES], np.float32)


DUPOF = np.dtype([("doc", "<u4"), ("kept_file", "<u4"), ("kept_doc", "<u4"), ("similarity", "<f4"), ("edits", "<i2")])
PAIR = np.dtype([("file_a", "<u4"), ("doc_a", "<u4"), ("file_b", "<u4"), ("doc_b", "<u4"), ("similarity", "<f4"),
                 ("edits", "<i2")])
NOT_SHORT = -1  # `edits` of a pair that is not two short documents: not counted


class MinhashClusterKeepFirst(PipelineStep):
    """Verifies the candidate pairs on their bottom-k sketches, joins the verified pairs into clusters, and
    decides in (file, doc) order which documents of a cluster go: a document is removed when it is a near
    duplicate (estimated Jaccard >= `similarity`, which may differ per shingle mode: {"chars": 0.6,
    "words": 0.7}, or, for two short documents, at most `short_edits` edits apart when the shorter has at
    least `short_min_chars` characters; documents shingled differently are never duplicates) of a document
    of its cluster that is kept, and it names
    the most similar such document. So every removed document is within the threshold of the document it
    names, and a chain A~B~C with A and C too far apart keeps A and C (union-find alone, datatrove's
    cluster step, would drop C for a document it does not resemble). With `similarity` None every
    candidate pair counts and every document but the first of a cluster goes, as in datatrove.

    Writes `candidates.pairs` (every candidate pair with its similarity, to tune the threshold on) and,
    per file, `<file>.dupof` records (doc, kept_file, kept_doc, similarity, edits) sorted by doc; `edits` is
    -1 unless both documents are short. One task."""

    type = "🫂 - DEDUP"
    name = "🎯 MinHash clusters (keep first)"

    def __init__(
        self,
        input_folder: DataFolderLike,
        output_folder: DataFolderLike,
        signatures_folder: DataFolderLike,
        similarity: Thresholds = None,
        short_edits: int = 0,
        short_min_chars: int = 0,
        chunk: int = 1 << 18,  # candidate pairs verified at once: (256 + 49) * 8 bytes each
    ):
        super().__init__()
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)
        self.sketches = Sketches(signatures_folder)
        self.thresholds = _threshold_table(similarity)
        self.short_edits = short_edits
        self.short_min_chars = short_min_chars
        self.chunk = chunk

    def verify(self, similarity: np.ndarray, modes_a: np.ndarray, modes_b: np.ndarray, texts_a: np.ndarray,
               texts_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(edits, near duplicate) for pairs given by their estimated similarity, shingle modes and short
        texts (rows of normalised code points, all 0 unless short). A pair shingled the same way is a near
        duplicate when its similarity reaches the mode's threshold; when both are short, that holds only if
        one is the other with characters added before or after it (a label such as "表 2.5."), none inside
        or replaced ("匹配[没有被]其它..." is another text); and two short ones are also near duplicates at
        most short_edits edits apart (the longer with at least short_min_chars characters).
        `edits` is capped at short_edits + 1, and -1 unless both are short."""
        threshold = self.thresholds[modes_a] if len(modes_a) else np.zeros(0, np.float32)
        duplicate = similarity >= threshold  # -1 without a threshold: every candidate
        edits = np.full(len(similarity), NOT_SHORT, dtype=np.int16)
        if texts_a.ndim == 2 and texts_a.size:
            length_a, length_b = (texts_a != 0).sum(axis=1), (texts_b != 0).sum(axis=1)
            both = np.flatnonzero((length_a > 0) & (length_b > 0))
            if both.size:
                edits[both] = bounded_edits(texts_a[both], texts_b[both], self.short_edits)
                judged = both[threshold[both] >= 0]
                duplicate[judged] &= contained(texts_a[judged], texts_b[judged])
                longer = np.maximum(length_a[both], length_b[both])
                allowed = np.where(longer >= self.short_min_chars, self.short_edits, 0)
                duplicate[both] |= edits[both] <= allowed
        return edits, duplicate & (modes_a == modes_b)

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct candidate pairs as two (n, 2) arrays of (file, doc), the smaller node first. A pair
        that agrees on several bands is reported once per band by the bucket stage."""
        chunks = []
        for dup_file in self.input_folder.list_files(glob_pattern="*.dups"):
            with self.input_folder.open(dup_file, "rb") as f:
                chunks.append(np.frombuffer(f.read(), dtype="<u4").reshape(-1, 4))
        rows = np.concatenate(chunks) if chunks else np.zeros((0, 4), dtype="<u4")
        a = rows[:, 0].astype(np.uint64) << np.uint64(32) | rows[:, 1]
        b = rows[:, 2].astype(np.uint64) << np.uint64(32) | rows[:, 3]
        pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]

        def split(nodes):
            return np.stack([nodes >> np.uint64(32), nodes & np.uint64(0xFFFFFFFF)], axis=1).astype(np.int64)

        return split(pairs[:, 0]), split(pairs[:, 1])

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("MinhashClusterKeepFirst must run as a single task")
        with self.track_time():
            earlier, later = self.candidates()
            pairs = np.empty(len(earlier), dtype=PAIR)
            pairs["file_a"], pairs["doc_a"], pairs["file_b"], pairs["doc_b"] = *earlier.T, *later.T
            duplicate = np.zeros(len(earlier), dtype=bool)
            for start in range(0, len(earlier), self.chunk):  # sketches and texts of one chunk of pairs at a time
                a, b = earlier[start : start + self.chunk], later[start : start + self.chunk]
                similarity = self.sketches.similarity(a, b)
                modes_a, modes_b = self.sketches.rows(a, "modes"), self.sketches.rows(b, "modes")
                edits, verified = self.verify(similarity, modes_a, modes_b, self.sketches.short_texts(a),
                                              self.sketches.short_texts(b))
                pairs["similarity"][start : start + self.chunk], pairs["edits"][start : start + self.chunk] = similarity, edits
                duplicate[start : start + self.chunk] = verified
            with self.output_folder.open("candidates.pairs", mode="wb") as f:
                f.write(pairs.tobytes())
            self.stat_update("candidate_pairs", value=len(pairs))
            self.stat_update("short_pairs", value=int(np.sum(pairs["edits"] >= 0)))
            pairs = pairs[duplicate]
            self.stat_update("verified_pairs", value=len(pairs))
            kept_of: dict[tuple[int, int], tuple[int, int, float]] = {}
            for cluster in _connected(pairs):
                kept_of.update(self._keep_first(cluster))
            self.stat_update("to_remove", value=len(kept_of))
            per_file: dict[int, list] = {}
            for (file_id, doc), record in kept_of.items():
                per_file.setdefault(file_id, []).append((doc, *record))
            for file_id, rows in per_file.items():
                records = np.array(sorted(rows), dtype=DUPOF)
                with self.output_folder.open(f"{file_id:05d}.dupof", mode="wb") as f:
                    f.write(records.tobytes())
        return
        yield

    def _keep_first(self, cluster: np.ndarray) -> dict[tuple[int, int], tuple[int, int, float, int]]:
        """Within one cluster (nodes in (file, doc) order): each node is removed when it is a near duplicate
        of a node already kept, naming the most similar one, and kept otherwise. The candidate pairs alone
        would not do: datatrove's bucket stage pairs a run of equal band signatures A, B, C as A-B and
        B-C, so A-C, the pair that says C goes, may never be a candidate."""
        sketches, modes = self.sketches.rows(cluster), self.sketches.rows(cluster, "modes")
        texts = self.sketches.short_texts(cluster)
        kept = [0]
        removed = {}
        for i in range(1, len(cluster)):
            similarity = sketch_similarity(sketches[kept], np.repeat(sketches[i : i + 1], len(kept), axis=0))
            edits, duplicate = self.verify(similarity, modes[kept], np.repeat(modes[i : i + 1], len(kept)), texts[kept],
                                           np.repeat(texts[i : i + 1], len(kept), axis=0))
            if duplicate.any():
                best = int(np.argmax(np.where(duplicate, similarity, -3.0)))  # the first among equally similar
                file_id, doc = cluster[kept[best]]
                removed[tuple(cluster[i].tolist())] = (int(file_id), int(doc), float(similarity[best]), int(edits[best]))
            else:
                kept.append(i)
        return removed


def _connected(pairs: np.ndarray) -> list[np.ndarray]:
    """Connected components (union-find) of the graph whose edges are `pairs`, each as an (n, 2) array of
    (file, doc) nodes in order."""
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(x):
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for file_a, doc_a, file_b, doc_b, *_ in pairs.tolist():
        a, b = find((file_a, doc_a)), find((file_b, doc_b))
        if a != b:
            parent[max(a, b)] = min(a, b)
            parent.setdefault(min(a, b), min(a, b))
    members: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for node in parent:
        members.setdefault(find(node), []).append(node)
    return [np.array(sorted(nodes), dtype=np.int64) for _, nodes in sorted(members.items())]


class NearDedupFilter(DuplicateRemover):
    """Drops the documents the cluster step marked, sending each to `exclusion_writer` with
    `filter_reason`, `duplicate_of` (the id of the document that was kept) and `similarity` (estimated
    Jaccard similarity of their shingles), and for two short documents `edits` (Levenshtein distance of
    their normalised text)."""

    name = "🎯 MinHash filter"
    excluded_name = "near_dedup"

    def __init__(
        self,
        clusters_folder: DataFolderLike,
        signatures_folder: DataFolderLike,
        file_id_offset: int = 0,
        exclusion_writer: DiskWriter | None = None,
        reason: str = "near_duplicate",
    ):
        super().__init__(exclusion_writer, reason)
        self.clusters_folder = get_datafolder(clusters_folder)
        self.signatures_folder = get_datafolder(signatures_folder)
        self.file_id_offset = file_id_offset

    def prepare(self, rank: int) -> None:
        """This task's removals: document index -> (file, index) of the document that was kept."""
        self._removals: dict[int, tuple[int, int, float, int]] = {}
        self._id_cache: dict[int, list[str]] = {}
        name = f"{self.file_id_offset + rank:05d}.dupof"
        if self.clusters_folder.exists(name):
            with self.clusters_folder.open(name, "rb") as f:
                records = np.frombuffer(f.read(), dtype=DUPOF)
            for doc, kept_file, kept_doc, similarity, edits in records.tolist():
                self._removals[doc] = (kept_file, kept_doc, similarity, edits)

    def duplicate_of(self, index: int, doc: Document) -> str | None:
        kept = self._removals.get(index)
        if kept is None:
            return None
        file_id, kept_index, *_ = kept
        if file_id not in self._id_cache:
            with self.signatures_folder.open(f"ids/{file_id:05d}.json", "r") as f:
                self._id_cache[file_id] = json.load(f)
        return self._id_cache[file_id][kept_index]

    def details(self, index: int) -> dict:
        _, _, similarity, edits = self._removals[index]
        return {"similarity": round(similarity, 3)} | ({"edits": edits} if edits != NOT_SHORT else {})
