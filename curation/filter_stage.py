"""The filter stage: read, normalise, identify the language and filter each source by its kind.

One datatrove pipeline per source, composed from small steps (readers.py, normalize.py, lid.py,
quality.py, parallel.py, instruct.py). Every step that removes documents writes them to
`excluded/<source>/<step>/` with the reason, so kept + excluded = read.
"""

from __future__ import annotations

from pathlib import Path

from common.sources import InstructSource, MonoSource, ParallelSource
from curation.instruct import InstructionFilter
from curation.io import documents_writer, excluded_writer
from curation.lid import ConversationLanguageTagger, ExpectedLanguageFilter
from curation.normalize import Normalizer
from curation.parallel import ParallelPairFilter
from curation.quality import ChineseQualityFilter, english_filters
from curation.readers import SourceReader
from curation.stages import StageContext

STAGE = "filter"


def build_pipeline(ctx: StageContext, source) -> list:
    """The list of datatrove steps for one source; each removing step has its own excluded/ folder."""
    config = ctx.config

    def excluded(step: str):
        return excluded_writer(ctx.excluded_dir(source.name, step))

    pipeline: list = [SourceReader(source, config.bad_records, excluded("read") if config.bad_records == "exclude" else None)]
    if isinstance(source, MonoSource):
        pipeline.append(Normalizer(config.normalize, chinese=source.language == "zh"))
        if config.language_id.enabled:
            threshold = config.language_id.thresholds.get(source.language, 0.5)
            pipeline.append(ExpectedLanguageFilter(source.language, threshold, exclusion_writer=excluded("language")))
        if source.language == "zh" and config.quality_zh.enabled:
            pipeline.append(ChineseQualityFilter(config.quality_zh, exclusion_writer=excluded("quality_zh")))
        elif source.language == "en" and config.quality_en.enabled:
            pipeline.extend(english_filters(config.quality_en, excluded))
    elif isinstance(source, ParallelSource):
        pipeline.append(Normalizer(config.normalize, chinese=True))
        pipeline.append(ParallelPairFilter(config.parallel, exclusion_writer=excluded("parallel")))
    elif isinstance(source, InstructSource):
        pipeline.append(Normalizer(config.normalize, chinese=source.language != "en"))
        expected = source.language if source.language != "mixed" else None
        pipeline.append(
            ConversationLanguageTagger(config.language_id.instruct_threshold, expected, exclusion_writer=excluded("language"))
        )
        pipeline.append(InstructionFilter(config.instruct, exclusion_writer=excluded("instruct")))
    pipeline.append(documents_writer(ctx.stage_dir(STAGE, source.name)))
    return pipeline


def run(ctx: StageContext, inputs: dict[str, Path] | None = None) -> dict[str, Path]:
    """Filter every source; returns the folder of kept documents per source."""
    outputs = {}
    for source in ctx.sources:
        tasks = ctx.tasks_for(source)
        files = source.input.files()
        if files:  # datatrove shards by file: more tasks than files would idle
            tasks = max(1, min(tasks, len(files)))
        executor = ctx.executor(build_pipeline(ctx, source), stage=STAGE, source=source.name, tasks=tasks)
        ctx.run_executor(executor, stage=STAGE, source=source.name)
        outputs[source.name] = ctx.stage_dir(STAGE, source.name)
    return outputs
