"""The filter stage: read, normalise, identify the language and filter each source by its kind.

One datatrove pipeline per source, composed from small steps (readers.py, normalize.py, lid.py,
quality_zh.py, quality_en.py, parallel.py, instruct.py). Every step that removes documents writes them to
`excluded/<source>/<its excluded_name>/` with the reason, so kept + excluded = read.
"""

from __future__ import annotations

from pathlib import Path

from common.sources import InstructSource, MonoSource, ParallelSource, Source
from curation.instruct import InstructionFilter
from curation.io import documents_writer
from curation.lid import ConversationLanguageTagger, ExpectedLanguageFilter
from curation.normalize import Normalizer
from curation.parallel import ParallelPairFilter
from curation.quality_en import ENGLISH_FILTERS, english_filters
from curation.quality_zh import ChineseQualityFilter
from curation.readers import SourceReader
from curation.stages import StageContext

STAGE = "filter"
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


def run(ctx: StageContext, inputs: dict[str, Path] | None = None) -> dict[str, Path]:
    """Filter every source; returns the folder of kept documents per source."""
    outputs = {}
    for source in ctx.sources:
        tasks = ctx.tasks_for(source)
        files = source.input.files()
        if files:  # datatrove shards by file: more tasks than files would idle
            tasks = max(1, min(tasks, len(files)))
        ctx.run_pipeline(build_pipeline(ctx, source), stage=STAGE, source=source.name, tasks=tasks)
        outputs[source.name] = ctx.stage_dir(STAGE, source.name)
    return outputs
