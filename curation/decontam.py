"""The `decontaminate` curation stage: remove documents that share a long n-gram with an evaluation set.

Every string field of every row of the evaluation files listed in the recipe (C-Eval, CMMLU, MMLU,
GAOKAO exports as csv, jsonl, json or parquet: question and options alike) is cut into n-grams:
character n-grams for text with Chinese in it (only windows that are mostly Chinese), word n-grams
for everything. A document sharing any of them is moved to `excluded/<source>/decontaminate/` with
`filter_reason: decontaminate` and `contaminated_by` (the evaluation file, relative to the recipe),
so benchmark numbers measure generalisation, not memory. A folder in `eval_files` stands for every
evaluation file under it. Traditional-character evaluation text (TMMLU-style exports) is indexed in
Simplified characters too, as the filter stage converts the documents.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.typeshelper import StatHints
from pydantic import Field

from common.recipe import InputPath, Section
from common.text import has_han
from curation.dedup.shingles import cjk_char_ngrams, text_ngrams
from curation.io import documents_reader, documents_writer, ensure_documents
from curation.readers import BadInputError
from curation.stages import StageContext, file_identities

STAGE = "decontaminate"
REASON = "decontaminate"
# Character n-grams need at least half their characters Chinese, so an English phrase inside Chinese text
# does not match on its letters. A question with no such window (short, or mostly formula: "设复数z满足
# (1+i)z=2i，则|z|=") is indexed by its windows with at least this many Chinese characters instead.
MIN_CJK_RELAXED = 4


class DecontaminationSection(Section):
    """Recipe section `decontamination`."""

    enabled: bool = True
    eval_files: list[InputPath] = Field(default_factory=list, description="evaluation files: csv, jsonl, json, parquet")
    zh_ngram: int = Field(13, ge=4, le=64, description="shared characters (mostly Chinese) that count as overlap")
    en_ngram: int = Field(10, ge=3, le=64, description="shared words that count as overlap")
    tasks: int = Field(1, ge=1)
    workers: int | None = Field(None, ge=1, description="local processes (default: curation.workers)")


EVAL_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")


class EvalFileError(BadInputError):
    """An evaluation file could not be read (curation.run prints it as one line, exit code 2)."""


def eval_file_list(paths: list[Path]) -> list[Path]:
    """The files the recipe's `eval_files` stand for: files as listed, folders as every evaluation file
    under them (sorted), so `eval/ceval/` covers its dev, val and test splits."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EVAL_SUFFIXES)
            if not found:
                raise EvalFileError(f"{path}: a folder with no evaluation files ({', '.join(EVAL_SUFFIXES)}) in it")
            files += found
        else:
            files.append(path)
    return files


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def eval_strings(path: Path) -> Iterator[str]:
    """Every string field of every row of an evaluation file (csv, jsonl, json or parquet)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as f:
                for row in csv.reader(f):
                    yield from row
        elif suffix == ".jsonl":
            with open(path, encoding="utf-8") as f:
                for line_no, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            yield from _strings(json.loads(line))
                        except json.JSONDecodeError as err:
                            raise EvalFileError(f"{path}: line {line_no}: not valid JSON: {err.msg}") from None
        elif suffix == ".json":
            with open(path, encoding="utf-8") as f:
                try:
                    yield from _strings(json.load(f))
                except json.JSONDecodeError as err:
                    raise EvalFileError(f"{path}: line {err.lineno}: not valid JSON: {err.msg}") from None
        elif suffix == ".parquet":
            yield from _strings(pq.read_table(path).to_pylist())
        else:
            raise EvalFileError(f"{path}: unknown evaluation file type {suffix!r} (csv, jsonl, json, parquet)")
    except UnicodeDecodeError as err:
        raise EvalFileError(
            f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); convert it first, e.g. "
            f"`iconv -f GB18030 -t UTF-8` for a GBK export"
        ) from None
    except (OSError, ValueError) as err:  # an unreadable or corrupt parquet file
        raise EvalFileError(f"{path}: cannot be read: {err}") from None


def _simplified():
    """Traditional -> Simplified Chinese (OpenCC), the conversion the filter stage applies to documents."""
    import opencc

    return opencc.OpenCC("t2s").convert


def build_index(files: list[Path], zh_ngram: int, en_ngram: int) -> dict[str, np.ndarray]:
    """Sorted n-gram hashes of all evaluation files, with the file each came from."""
    parts: dict[str, list[tuple[np.ndarray, int]]] = {"chars": [], "words": []}
    to_simplified = _simplified()
    for file_index, path in enumerate(files):
        for text in eval_strings(Path(path)):
            if has_han(text):
                for variant in dict.fromkeys([text, to_simplified(text)]):
                    grams = cjk_char_ngrams(variant, zh_ngram, (zh_ngram + 1) // 2)
                    if not grams.size:
                        grams = cjk_char_ngrams(variant, zh_ngram, MIN_CJK_RELAXED)
                    parts["chars"].append((grams, file_index))
            parts["words"].append((text_ngrams(text, "words", en_ngram, short=False), file_index))
    index = {}
    for mode, items in parts.items():
        hashes = np.concatenate([h for h, _ in items] + [np.zeros(0, np.uint64)])
        owners = np.concatenate([np.full(len(h), i, np.int32) for h, i in items] + [np.zeros(0, np.int32)])
        order = np.argsort(hashes, kind="stable")
        index[f"{mode}_hashes"], index[f"{mode}_files"] = hashes[order], owners[order]
    return index


def _first_match(needles: np.ndarray, hashes: np.ndarray) -> int:
    """Position in `hashes` of the first needle present there, or -1."""
    if not len(needles) or not len(hashes):
        return -1
    pos = np.minimum(np.searchsorted(hashes, needles), len(hashes) - 1)
    hit = np.flatnonzero(hashes[pos] == needles)
    return int(pos[hit[0]]) if hit.size else -1


class DecontaminationFilter(PipelineStep):
    """Drops documents that share an n-gram with the evaluation index (an .npz from `build_index`)."""

    type = "🔻 - FILTER"
    name = "🧪 decontaminate"
    excluded_name = "decontaminate"

    def __init__(self, index_file: str | Path, eval_files: list[str], zh_ngram: int, en_ngram: int,
                 exclusion_writer: DiskWriter | None = None):
        super().__init__()
        self.index_file, self.eval_files = str(index_file), [str(f) for f in eval_files]
        self.zh_ngram, self.en_ngram = zh_ngram, en_ngram
        self.exclusion_writer = exclusion_writer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        index = dict(np.load(self.index_file))
        writer = self.exclusion_writer
        try:
            for doc in data:
                self.stat_update(StatHints.total)
                with self.track_time():
                    owner = -1
                    if index["chars_hashes"].size and has_han(doc.text):
                        # every window an indexed one could equal: relaxed ones included
                        chars = cjk_char_ngrams(doc.text, self.zh_ngram, min(MIN_CJK_RELAXED, (self.zh_ngram + 1) // 2))
                        pos = _first_match(chars, index["chars_hashes"])
                        owner = int(index["chars_files"][pos]) if pos >= 0 else -1
                    if owner < 0:
                        words = text_ngrams(doc.text, "words", self.en_ngram, short=False)
                        pos = _first_match(words, index["words_hashes"])
                        owner = int(index["words_files"][pos]) if pos >= 0 else -1
                if owner < 0:
                    self.stat_update(StatHints.forwarded)
                    yield doc
                    continue
                self.stat_update(StatHints.dropped)
                if writer is not None:
                    doc.metadata["filter_reason"] = REASON
                    doc.metadata["contaminated_by"] = self.eval_files[owner]
                    writer.write(doc, rank)
        finally:
            if writer is not None:
                writer.close()


EXCLUDING_STEPS = (DecontaminationFilter,)


def validate(ctx: StageContext) -> None:
    """Before any stage runs: the `decontamination` section, and every evaluation file exists and parses,
    so a bad one is found in seconds, not after filtering and dedup."""
    cfg = ctx.recipe.section("decontamination", DecontaminationSection)
    if cfg.enabled:
        for path in eval_file_list(cfg.eval_files):
            for _ in eval_strings(path):
                pass


def enabled(ctx: StageContext) -> bool:
    """Whether the recipe runs this stage: enabled and with evaluation files listed (or results of an earlier
    run are left, which `run` refuses and `--force decontaminate` removes)."""
    cfg = ctx.recipe.section("decontamination", DecontaminationSection)
    return (cfg.enabled and bool(cfg.eval_files)) or ctx.ran_before(STAGE)


def run(ctx: StageContext, inputs: dict[str, Path]) -> dict[str, Path]:
    """Decontaminate every source in `inputs`; returns the output documents folder per source."""
    cfg: DecontaminationSection = ctx.recipe.section("decontamination", DecontaminationSection)
    if not cfg.enabled or not cfg.eval_files:
        if STAGE not in ctx.force and ctx.ran_before(STAGE):
            ctx.refuse_leftovers(STAGE, "decontamination.enabled" if not cfg.enabled else "decontamination.eval_files")
        return dict(inputs)
    files = eval_file_list(cfg.eval_files)
    settings = {"decontamination": cfg.model_dump(mode="json", include={"zh_ngram", "en_ngram", "tasks"})}
    evals = file_identities(files, ctx.recipe.root)
    digests = {name: ctx.record_settings(STAGE, name, settings, inputs=evals, upstream=name) for name in inputs}
    index_file = ctx.workdir / "stages" / f"{STAGE}.work" / "eval_ngrams.npz"
    index_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(index_file, **build_index(files, cfg.zh_ngram, cfg.en_ngram))
    names = [_display(path, ctx.recipe.root) for path in files]
    outputs = {}
    for name, folder in inputs.items():
        out = ctx.stage_dir(STAGE, name)
        pipeline = [
            documents_reader(folder),
            ctx.excluding(DecontaminationFilter(index_file, names, cfg.zh_ngram, cfg.en_ngram), name),
            documents_writer(out),
        ]
        if not ctx.run_pipeline(pipeline, stage=STAGE, source=name, tasks=cfg.tasks, workers=cfg.workers):
            return {}
        outputs[name] = ensure_documents(out)
    ctx.upstream.update((name, (STAGE, digest)) for name, digest in digests.items())
    return ctx.without_empty(STAGE, outputs)


def _display(path: Path, root: Path) -> str:
    """How excluded records name an evaluation file: relative to the recipe's folder when under it."""
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
