"""The `dedup` curation stage: exact dedup (within and across sources), then MinHash near dedup.

Reads `stages/<previous>/<source>/`, writes `stages/dedup/<source>/`; every removed document goes to
`excluded/<source>/exact_dedup/` or `excluded/<source>/near_dedup/` with `filter_reason` and
`duplicate_of` (the kept id). Near dedup runs per group of sources that share a kind and language
(mono zh, mono en, parallel, instruct), so the same article in two Chinese sources is removed once.
Chinese (and parallel) text is shingled on characters, English on words, and a source that may hold
either (instruction data without a `language`) per document: characters when it holds Chinese.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
from pydantic import Field, model_validator

from common.recipe import Section
from common.sources import ParallelSource, Source
from curation.dedup.exact import ExactDuplicateFilter, ExactFindDuplicates, ExactSignature
from curation.dedup.minhash import (
    FILES_PER_SOURCE,
    MODES,
    MinhashClusterKeepFirst,
    NearDedupFilter,
    ShingleMinhashSignature,
    Shingling,
)
from curation.io import documents_reader, documents_writer, ensure_documents
from curation.stages import StageContext

__all__ = ["EXCLUDING_STEPS", "STAGE", "DedupSection", "NearDedupSection", "enabled", "run", "validate"]

STAGE = "dedup"
EXCLUDING_STEPS = (ExactDuplicateFilter, NearDedupFilter)


class NearDedupSection(Section):
    """MinHash LSH, then verification. A pair with Jaccard similarity s shares a band (becomes a candidate)
    with probability 1 - (1 - s**hashes_per_bucket)**num_buckets; a candidate is a near duplicate when
    the Jaccard similarity estimated from the two documents' bottom-k sketches is at least the similarity."""

    enabled: bool = True
    zh_ngram: int = Field(5, ge=1, le=64, description="character n-gram size for Chinese (and mixed) text")
    en_ngram: int = Field(5, ge=1, le=64, description="word n-gram size for English text")
    zh_similarity: float | None = Field(
        0.6, gt=0, le=1, description="estimated Jaccard of character n-grams a candidate needs; null: every candidate"
    )
    en_similarity: float | None = Field(
        0.7, gt=0, le=1, description="estimated Jaccard of word n-grams a candidate needs; null: every candidate"
    )
    zh_short_chars: int = Field(
        50, ge=0, le=1024,
        description="character-shingled (Chinese) documents with fewer normalised characters than this are short: "
        "banded on zh_short_ngram-grams and also near duplicates of another short document at most zh_short_edits "
        "edits apart; 0: none (5-gram Jaccard finds no one-character change below about 40 characters)",
    )
    zh_short_ngram: int = Field(2, ge=1, le=64, description="character n-gram size of the LSH bands of short documents")
    zh_short_edits: int = Field(
        1, ge=0, le=8,
        description="Levenshtein distance (on normalised text) at which two short documents are near duplicates; "
        "1: a changed, added or dropped character, but not a replaced word ('打开文件对话框' / '保存文件对话框')",
    )
    zh_short_min_chars: int = Field(
        10, ge=1,
        description="short documents with fewer normalised characters are near duplicates only when equal after "
        "normalisation: one character is a different text there ('上一页' / '下一页')",
    )
    num_buckets: int = Field(28, ge=1, description="LSH bands")
    hashes_per_bucket: int = Field(4, ge=1, description="LSH rows per band")
    sketch_size: int = Field(
        256, ge=16, le=4096,
        description="values per document in the bottom-k sketch that verifies candidates (4 bytes each): standard "
        "deviation of the estimate about sqrt(s(1-s)/sketch_size), exact below sketch_size distinct shingles",
    )
    seed: int = 1
    across_sources: bool = True
    keep_digits: list[Literal["mono", "parallel", "instruct"]] = Field(
        default_factory=lambda: ["instruct"],
        description="source kinds whose numbers count: datatrove's normalisation maps every run of digits to 0, so "
        "templated instruction records that differ only in their numbers (arithmetic, unit conversions) would be "
        "near duplicates of each other",
    )

    def similarity(self, mode: str) -> float | None:
        return self.zh_similarity if mode == "chars" else self.en_similarity

    def candidate_probability(self, similarity: float) -> float:
        """Probability that a pair with this Jaccard similarity shares at least one band."""
        return 1 - (1 - similarity**self.hashes_per_bucket) ** self.num_buckets

    def short_similarity(self) -> float:
        """The lowest Jaccard similarity of the zh_short_ngram-grams of two short documents that are
        zh_short_edits edits apart (each a substitution in the middle, the shorter at zh_short_min_chars):
        n grams lost per edit out of zh_short_min_chars - n + 1."""
        m, n, k = self.zh_short_min_chars, self.zh_short_ngram, self.zh_short_edits
        grams = max(m - n + 1, 1)
        shared = max(grams - k * n, 0)
        return shared / (2 * grams - shared)

    @model_validator(mode="after")
    def _bands_reach_the_threshold(self) -> NearDedupSection:
        for key in ("zh_similarity", "en_similarity"):
            value = getattr(self, key)
            if value is not None and self.candidate_probability(value) < 0.9:
                raise ValueError(
                    f"{self.num_buckets} bands x {self.hashes_per_bucket} rows make a pair at {key}={value} a "
                    f"candidate with probability {self.candidate_probability(value):.2f} only; use more bands or "
                    "fewer rows (probability 1 - (1 - s**rows)**bands, aim for >= 0.99)"
                )
        if self.zh_similarity is not None and self.zh_short_chars and self.zh_short_edits:
            s = self.short_similarity()
            if self.candidate_probability(s) < 0.9:
                raise ValueError(
                    f"{self.num_buckets} bands x {self.hashes_per_bucket} rows make two short texts "
                    f"{self.zh_short_edits} edit(s) apart (zh_short_min_chars={self.zh_short_min_chars} characters, "
                    f"{self.zh_short_ngram}-grams: Jaccard {s:.2f}) a candidate with probability "
                    f"{self.candidate_probability(s):.2f} only; use more bands, fewer rows, a smaller zh_short_ngram "
                    "or zh_short_edits, or a larger zh_short_min_chars"
                )
        return self


class DedupSection(Section):
    """Recipe section `dedup`."""

    enabled: bool = True
    exact: bool = True
    exact_across_sources: bool = True
    near: NearDedupSection = Field(default_factory=NearDedupSection)
    tasks: int = Field(1, ge=1, le=FILES_PER_SOURCE - 1, description="datatrove tasks per source")
    workers: int | None = Field(None, ge=1, description="local processes (default: curation.workers)")

    @model_validator(mode="after")
    def _something_to_do(self) -> DedupSection:
        if self.enabled and not self.exact and not self.near.enabled:
            raise ValueError("dedup is enabled but both exact and near are off; set enabled: false")
        return self


def validate(ctx: StageContext) -> None:
    """The recipe's `dedup` section (curation.run checks it before any stage runs)."""
    ctx.recipe.section("dedup", DedupSection)


def enabled(ctx: StageContext) -> bool:
    """Whether the recipe runs this stage (curation.run skips it otherwise), or results of an earlier run are
    left that `run` must refuse (or, under `--force dedup`, that curation.run removes)."""
    return ctx.recipe.section("dedup", DedupSection).enabled or ctx.ran_before(STAGE)


def _scope(cfg: DedupSection, name: str, order: list[str], specs: dict) -> list[str]:
    """The sources whose documents can decide what dedup removes from `name`."""
    scope = {name}
    if cfg.exact and cfg.exact_across_sources:
        scope.update(order)
    if cfg.near.enabled and cfg.near.across_sources:
        scope.update(other for other in order if _group(specs[other]) == _group(specs[name]))
    return [other for other in order if other in scope]


def _group(source: Source) -> tuple[str, str]:
    """Sources deduplicated against each other, and how they are shingled: Chinese (and parallel) text on
    characters, English on words, sources of either language (instruction data) per document."""
    language = "zh-en" if isinstance(source, ParallelSource) else source.language
    mode = {"en": "words", "mixed": "auto"}.get(language, "chars")
    return f"{source.kind}-{language}", mode


def run(ctx: StageContext, inputs: dict[str, Path]) -> dict[str, Path]:
    """Deduplicate every source in `inputs`; returns the output documents folder per source."""
    cfg: DedupSection = ctx.recipe.section("dedup", DedupSection)
    if not cfg.enabled:
        if STAGE not in ctx.force and ctx.ran_before(STAGE):
            ctx.refuse_leftovers(STAGE, "dedup.enabled")
        return dict(inputs)
    specs = {s.name: s for s in ctx.sources}
    order = [s.name for s in ctx.sources if s.name in inputs]
    missing = [name for name in inputs if name not in specs]
    if missing:
        raise ValueError(f"dedup: inputs for sources not in the recipe: {missing}")
    settings = {"dedup": cfg.model_dump(mode="json", exclude={"workers"})}
    digests = {name: ctx.record_settings(STAGE, name, settings, upstream=_scope(cfg, name, order, specs)) for name in order}
    outputs = {name: ctx.stage_dir("dedup", name) for name in order}
    scratch = ctx.workdir / "stages" / "dedup.work"
    current = dict(inputs)

    if cfg.exact:
        if not _exact_dedup(ctx, cfg, order, current, outputs, scratch):
            return {}
        if cfg.near.enabled:
            current.update((name, scratch / "exact" / name) for name in order)
        else:
            current.update((name, outputs[name]) for name in order)

    if cfg.near.enabled:
        groups: dict[str, list[str]] = {}
        for name in order:
            key, _ = _group(specs[name])
            if not cfg.near.across_sources:
                key = f"{key}/{name}"
            groups.setdefault(key, []).append(name)
        for group, names in groups.items():
            if not _near_dedup(ctx, cfg, group, names, specs, current, outputs, scratch / "minhash" / group):
                return {}
            for name in names:
                current[name] = outputs[name]
    ctx.upstream.update((name, (STAGE, digest)) for name, digest in digests.items())
    return ctx.without_empty(STAGE, {name: current[name] for name in order})


def _exact_dedup(ctx: StageContext, cfg: DedupSection, order: list[str], current, outputs, scratch: Path) -> bool:
    """Exact dedup as three passes of tasks (curation.dedup.exact): signatures per source and task, one finder
    task per hash range (as many as `dedup.tasks`), a filter per source and task."""
    signatures, duplicates = scratch / "exact_signatures", scratch / "exact_duplicates"
    # one pipeline for all sources (task i: source i // tasks), so a small corpus starts one pool, not one per source
    if not order:
        return True
    signature = ExactSignature(signatures, [current[name] for name in order], tasks=cfg.tasks, finders=cfg.tasks)
    if not ctx.run_pipeline([signature], stage="dedup", source="exact-signatures", tasks=cfg.tasks * len(order),
                            workers=cfg.workers):
        return False
    finder = ExactFindDuplicates(signatures, duplicates, across_sources=cfg.exact_across_sources)
    if not ctx.run_pipeline([finder], stage="dedup", source="exact-find", tasks=cfg.tasks, workers=cfg.workers):
        return False
    for position, name in enumerate(order):
        out = outputs[name] if not cfg.near.enabled else scratch / "exact" / name
        pipeline = [
            documents_reader(current[name]),
            ctx.excluding(ExactDuplicateFilter(duplicates, position), name),
            documents_writer(out),
        ]
        if not ctx.run_pipeline(pipeline, stage="dedup", source=f"exact/{name}", tasks=cfg.tasks, workers=cfg.workers):
            return False
        ensure_documents(out)
    return True


def _near_dedup(ctx: StageContext, cfg: DedupSection, group: str, names: list[str], specs, current, outputs, work: Path) -> bool:
    near = cfg.near
    config = MinhashConfig(n_grams=0, num_buckets=near.num_buckets, hashes_per_bucket=near.hashes_per_bucket, seed=near.seed)
    _, mode = _group(specs[names[0]])
    shingles = Shingling(
        mode=mode,
        n_grams=near.en_ngram if mode == "words" else near.zh_ngram,
        keep_digits=specs[names[0]].kind in near.keep_digits,
        word_n_grams=near.en_ngram,
        short_chars=near.zh_short_chars,
        short_n_grams=near.zh_short_ngram,
    )
    signatures, bucket_dir, clusters = (str(work / part) for part in ("signatures", "buckets", "clusters"))
    offsets = {name: position * FILES_PER_SOURCE for position, name in enumerate(names)}
    for name in names:
        pipeline = [
            documents_reader(current[name]),
            ShingleMinhashSignature(signatures, config, shingles, file_id_offset=offsets[name], sketch_size=near.sketch_size),
        ]
        if not ctx.run_pipeline(pipeline, stage="dedup", source=f"signatures/{name}", tasks=cfg.tasks, workers=cfg.workers):
            return False
    buckets = MinhashDedupBuckets(signatures, bucket_dir, config=config)
    if not ctx.run_pipeline([buckets], stage="dedup", source=f"buckets/{group}", tasks=near.num_buckets, workers=cfg.workers):
        return False
    thresholds = {mode: near.similarity(mode) for mode in MODES}
    cluster = MinhashClusterKeepFirst(bucket_dir, clusters, signatures, similarity=thresholds,
                                      short_edits=near.zh_short_edits, short_min_chars=near.zh_short_min_chars)
    if not ctx.run_pipeline([cluster], stage="dedup", source=f"clusters/{group}"):
        return False
    for name in names:
        pipeline = [
            documents_reader(current[name]),
            ctx.excluding(NearDedupFilter(clusters, signatures, file_id_offset=offsets[name]), name),
            documents_writer(outputs[name]),
        ]
        if not ctx.run_pipeline(pipeline, stage="dedup", source=f"filter/{name}", tasks=cfg.tasks, workers=cfg.workers):
            return False
        ensure_documents(outputs[name])
    return True

