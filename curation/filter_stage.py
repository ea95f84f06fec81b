"""The filter stage: read, normalise, identify the language and filter each source by its kind.

One datatrove pipeline per source, composed from small steps (readers.py, normalize.py, lid.py,
quality_zh.py, quality_en.py, parallel.py, instruct.py). Every step that removes documents writes them to
`excluded/<source>/<its excluded_name>/` with the reason, so kept + excluded = read.
"""

from __future__ import annotations

from pathlib import Path

from common.sources import InstructSource, MonoSource, ParallelSource, Source
from curation.instruct import InstructionFilter
from curation.io import documents_writer, ensure_documents
from curation.lid import ConversationLanguageTagger, ExpectedLanguageFilter
from curation.normalize import Normalizer
from curation.parallel import ParallelPairFilter
from curation.quality_en import ENGLISH_FILTERS, english_filters
from curation.quality_zh import ChineseQualityFilter
from curation.readers import SourceReader
from curation.stages import StageContext, file_identities

STAGE = "filter"
# On Slurm, `run` only submits array jobs and needs nothing of an earlier stage: curation.run calls it when it
# submits the chain (the other stages run as one job each after the stage before, curation/run.py)
CHAIN = "tasks"
# Every step of this stage that removes documents, in pipeline order, whether the recipe enables it or not:
# `--force filter` clears their excluded/ folders and the report lists them in this order.
EXCLUDING_STEPS = (
    SourceReader,
    ExpectedLanguageFilter,
    ConversationLanguageTagger,
    ChineseQualityFilter,
    *ENGLISH_FILTERS,
    ParallelPairFilter,
    InstructionFilter,
)


def build_pipeline(ctx: StageContext, source: Source) -> list:
    """The list of datatrove steps for one source; each removing step has its own excluded/ folder."""
    config = ctx.config

    def excluding(step):
        return ctx.excluding(step, source.name)

    reader = SourceReader(source, config.bad_records)
    pipeline: list = [excluding(reader) if config.bad_records == "exclude" else reader]
    if isinstance(source, MonoSource):
        pipeline.append(Normalizer(config.normalize, chinese=source.language == "zh"))
        if config.language_id.enabled:
            threshold = config.language_id.thresholds.get(source.language, 0.5)
            pipeline.append(excluding(ExpectedLanguageFilter(source.language, threshold)))
        if source.language == "zh" and config.quality_zh.enabled:
            pipeline.append(excluding(ChineseQualityFilter(config.quality_zh)))
        elif source.language == "en" and config.quality_en.enabled:
            pipeline.extend(excluding(step) for step in english_filters(config.quality_en))
    elif isinstance(source, ParallelSource):
        pipeline.append(Normalizer(config.normalize, chinese=True))
        pipeline.append(excluding(ParallelPairFilter(config.parallel)))
    elif isinstance(source, InstructSource):
        pipeline.append(Normalizer(config.normalize, chinese=source.language != "en"))
        expected = source.language if source.language != "mixed" else None
        pipeline.append(excluding(ConversationLanguageTagger(config.language_id.instruct_threshold, expected)))
        pipeline.append(excluding(InstructionFilter(config.instruct)))
    pipeline.append(documents_writer(ctx.stage_dir(STAGE, source.name)))
    return pipeline


def settings(ctx: StageContext, source: Source) -> dict:
    """The recipe keys this source's pipeline reads (what `build_pipeline` uses), for its settings record."""
    config = ctx.config

    def section(value):  # a disabled step's thresholds do not matter
        return value if value.enabled else {"enabled": False}

    out: dict = {f"sources[{source.name}]": source, "curation.bad_records": config.bad_records,
                 "curation.normalize": config.normalize}
    if isinstance(source, MonoSource):
        lid = config.language_id
        out["curation.language_id.enabled"] = lid.enabled
        if lid.enabled:
            out[f"curation.language_id.thresholds.{source.language}"] = lid.thresholds.get(source.language, 0.5)
        if source.language in ("zh", "en"):
            key = f"quality_{source.language}"
            out[f"curation.{key}"] = section(getattr(config, key))
    elif isinstance(source, ParallelSource):
        out["curation.parallel"] = config.parallel
    elif isinstance(source, InstructSource):
        out["curation.language_id.instruct_threshold"] = config.language_id.instruct_threshold
        out["curation.instruct"] = config.instruct
    return out


def input_files(source: Source) -> list[Path]:
    """The files the source's results depend on: its input files, or every file of a dataset saved on disk."""
    spec = source.input
    if spec.format == "hf_disk" and spec.path is not None and spec.path.is_dir():
        return sorted(p for p in spec.path.rglob("*") if p.is_file())
    return spec.files()


def run(ctx: StageContext, inputs: dict[str, Path] | None = None) -> dict[str, Path]:
    """Filter every source; returns the folder of kept documents per source (without the sources left empty
    when `curation.empty_source` is skip)."""
    outputs = {}
    for source in ctx.sources:
        tasks = ctx.tasks_for(source)
        files = source.input.files()
        if files:  # datatrove shards by file: more tasks than files would idle
            tasks = max(1, min(tasks, len(files)))
        base = source.input.path if source.input.path is not None and source.input.path.is_dir() else None
        digest = ctx.record_settings(STAGE, source.name, settings(ctx, source),
                                     inputs={"tasks": tasks, **file_identities(input_files(source), base)})
        ctx.upstream[source.name] = (STAGE, digest)
        ctx.run_pipeline(build_pipeline(ctx, source), stage=STAGE, source=source.name, tasks=tasks)
        outputs[source.name] = ctx.stage_dir(STAGE, source.name)
    if ctx.submitted:  # Slurm jobs are writing the outputs: the next stage is a job after them (CHAIN)
        return outputs
    # a source whose every record was set aside has no file: give it an empty one, then leave it out
    return ctx.without_empty(STAGE, {name: ensure_documents(folder) for name, folder in outputs.items()})
