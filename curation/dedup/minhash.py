"""MinHash near deduplication as datatrove pipeline steps, with character shingles for Chinese.

    ShingleMinhashSignature  (ours)      documents -> bucket_XXX/<file>.minhash.sig + ids/<file>.json
    MinhashDedupBuckets      (datatrove) signatures -> <bucket>_<worker>.dups (pairs agreeing on a band)
    MinhashClusterKeepFirst  (ours)      pairs -> <file>.dupof: (doc, kept file, kept doc) per removed doc
    NearDedupFilter          (ours)      documents -> kept; removed ones to excluded/ with duplicate_of

Our signature step writes exactly the files datatrove's `MinhashDedupSignature` writes (sorted
`<hashes_per_bucket>Q I` records per bucket), so datatrove's bucket stage runs unchanged on them. It
differs in what it hashes (character n-grams for Chinese, word n-grams for English, computed with
numpy for a whole batch) and in naming files by `file_id` instead of rank, so several sources can be
deduplicated against each other. Our cluster step keeps the smallest (file, doc) of each cluster,
a deterministic rule (first source in recipe order, then first document), and records which document
each removed one duplicates, which datatrove's cluster step does not.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.binaryio import read_tuples_from_file
from datatrove.utils.typeshelper import StatHints

from curation.dedup.remove import DuplicateRemover
from curation.dedup.shingles import MinHasher, Mode, text_ngrams

FILES_PER_SOURCE = 1000  # file_id = source position * FILES_PER_SOURCE + rank


@dataclass(frozen=True)
class ShingleConfig:
    """What a document's shingles are: character or word n-grams of the normalised text."""

    mode: Mode = "chars"
    n_grams: int = 5


class ShingleMinhashSignature(PipelineStep):
    """MinHash signatures from character (zh) or word (en) n-grams, in datatrove's signature format."""

    type = "🫂 - DEDUP"
    name = "🎯 MinHash signatures (shingles)"

    def __init__(
        self,
        output_folder: DataFolderLike,
        config: MinhashConfig,
        shingles: ShingleConfig,
        file_id_offset: int = 0,
        batch_size: int = 512,
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

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        file_id = self.file_id_offset + rank
        ids: list[str] = []
        signatures: list[np.ndarray] = []
        doc_indices: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        batch_idx: list[int] = []

        def flush():
            if batch:
                signatures.append(self.hasher.signatures(batch))
                doc_indices.append(np.asarray(batch_idx, dtype=np.uint32))
                batch.clear()
                batch_idx.clear()

        with self.track_time():
            for doc_idx, doc in enumerate(data):
                self.stat_update(StatHints.total)
                ids.append(str(doc.id))
                shingles = text_ngrams(doc.text, self.shingles.mode, self.shingles.n_grams)
                if shingles.size:
                    batch.append(shingles)
                    batch_idx.append(doc_idx)
                    if len(batch) >= self.batch_size:
                        flush()
                else:
                    self.stat_update("no_shingles")
            flush()
            self._write(file_id, signatures, doc_indices, ids)
        return
        yield  # a generator step that forwards nothing

    def _write(self, file_id: int, signatures: list, doc_indices: list, ids: list[str]) -> None:
        rows = self.config.hashes_per_bucket
        sig = np.concatenate(signatures) if signatures else np.zeros((0, self.hasher.multipliers.size), np.uint64)
        docs = np.concatenate(doc_indices) if doc_indices else np.zeros(0, np.uint32)
        record = np.dtype([(f"h{i}", "<u8") for i in range(rows)] + [("doc", "<u4")])
        for bucket in range(self.config.num_buckets):
            records = np.empty(len(docs), dtype=record)
            for i in range(rows):
                records[f"h{i}"] = sig[:, bucket * rows + i]
            records["doc"] = docs
            records.sort(order=record.names)  # datatrove's bucket stage merges files by sorted order
            with self.output_folder.open(f"bucket_{bucket:03d}/{file_id:05d}.minhash.sig", mode="wb") as f:
                f.write(records.tobytes())
        with self.output_folder.open(f"ids/{file_id:05d}.json", mode="w") as f:
            json.dump(ids, f, ensure_ascii=False)


class MinhashClusterKeepFirst(PipelineStep):
    """Union-find over duplicate pairs; keeps the smallest (file, doc) of each cluster and writes, per
    file, `<file>.dupof` records (doc, kept_file, kept_doc) sorted by doc. Run with one task."""

    type = "🫂 - DEDUP"
    name = "🎯 MinHash clusters (keep first)"

    def __init__(self, input_folder: DataFolderLike, output_folder: DataFolderLike):
        super().__init__()
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("MinhashClusterKeepFirst must run as a single task")
        parent: dict[tuple[int, int], tuple[int, int]] = {}

        def find(x):
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while x != root:  # path compression
                parent[x], x = root, parent[x]
            return root

        with self.track_time():
            for dup_file in self.input_folder.list_files(glob_pattern="*.dups"):
                with self.input_folder.open(dup_file, "rb") as f:
                    for f1, d1, f2, d2 in read_tuples_from_file(f, "4I", lines_to_buffer=1024):
                        a, b = find((f1, d1)), find((f2, d2))
                        if a != b:  # the smaller node becomes the root, so the root is the cluster's minimum
                            parent[max(a, b)] = min(a, b)
                            parent.setdefault(min(a, b), min(a, b))
            per_file: dict[int, list[tuple[int, int, int]]] = {}
            for node in parent:
                root = find(node)
                if node != root:
                    per_file.setdefault(node[0], []).append((node[1], *root))
                    self.stat_update("to_remove")
            for file_id, rows in per_file.items():
                rows.sort()
                with self.output_folder.open(f"{file_id:05d}.dupof", mode="wb") as f:
                    f.write(b"".join(struct.pack("<3I", *row) for row in rows))
        return
        yield


class NearDedupFilter(DuplicateRemover):
    """Drops the documents the cluster step marked, sending each to `exclusion_writer` with
    `filter_reason` and `duplicate_of` (the id of the document that was kept)."""

    name = "🎯 MinHash filter"

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
        self._removals: dict[int, tuple[int, int]] = {}
        self._id_cache: dict[int, list[str]] = {}
        name = f"{self.file_id_offset + rank:05d}.dupof"
        if self.clusters_folder.exists(name):
            with self.clusters_folder.open(name, "rb") as f:
                for doc, kept_file, kept_doc in read_tuples_from_file(f, "3I", lines_to_buffer=1024):
                    self._removals[doc] = (kept_file, kept_doc)

    def duplicate_of(self, index: int, doc: Document) -> str | None:
        kept = self._removals.get(index)
        if kept is None:
            return None
        file_id, kept_index = kept
        if file_id not in self._id_cache:
            with self.signatures_folder.open(f"ids/{file_id:05d}.json", "r") as f:
                self._id_cache[file_id] = json.load(f)
        return self._id_cache[file_id][kept_index]
