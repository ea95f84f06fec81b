"""The `curation` section of a recipe (filter stage), validated with pydantic (`sources`: common.sources).

Every default here is documented in docs/recipes.md together with the measurement it came from.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from common.ngrams import MAX_N
from common.recipe import Recipe, Section
from curation.quality_en import EnglishQualitySection
from curation.quality_zh import ChineseQualitySection


class NormalizeSection(Section):
    fix_unicode: bool = True  # ftfy: mojibake, broken escapes
    strip_control_chars: bool = True  # C0/C1 controls except newline and tab
    traditional_to_simplified: bool = True  # OpenCC t2s on Chinese text (mono zh, zh side, instructions)
    opencc_config: str = "t2s"


class LanguageIDSection(Section):
    """fastText lid.176 language identification; thresholds per expected language."""

    enabled: bool = True
    # Minimum probability of the expected language. zh counts the Chinese varieties lid.176 confuses
    # (zh, wuu, yue). Defaults measured on mixed Chinese/English technical text: docs/recipes.md.
    # en: FineWeb's 0.65 removed 55 of 2,872 real English documentation sections (top label en, score
    # lowered by commands, paths and names); 0.55 removes 19 and every foreign section 0.65 removes
    # (docs/recipes.md).
    thresholds: dict[str, float] = Field(default_factory=lambda: {"zh": 0.55, "en": 0.55})
    # Instruction data: language of the whole conversation, only recorded, not filtered, unless set.
    instruct_threshold: float | None = None


class ParallelSection(Section):
    """Chinese–English pairs. Defaults measured on debian-reference zh-cn/en pairs: docs/recipes.md."""

    min_chars: int = 1  # per side, without placeholders and markup (值 / value is a pair)
    max_chars: int = 2000  # per side
    # a side this short is judged by its script, not by fastText (which has no usable label for a word
    # or two): the zh side by its Han characters, the en side by its Latin letters
    short_zh_han: int = 20  # fewer Han characters than this
    short_en_letters: int = 40  # fewer Latin letters than this
    short_zh_min_han_share: float = 0.1  # Han characters / (Han characters + Latin words)
    short_en_min_latin_share: float = 0.9  # Latin letters / all letters (and no Han, kana or hangul)
    zh_lid_threshold: float = 0.2  # longer sides: lid.176 probability; sentences score below documents
    en_lid_threshold: float = 0.1
    # len(en) / len(zh) in characters, without placeholders and markup; Chinese carries ~3 English
    # characters per character
    min_length_ratio: float = 1.0
    max_length_ratio: float = 6.0
    # both sides short: only the lower bound, lower (描述 / description of key binding is 13)
    short_min_length_ratio: float = 0.6
    # one side ends a sentence (。.！？) and the other stops on a word or a comma (not for two short sides)
    check_truncation: bool = True
    check_numbers: bool = True
    check_urls: bool = True
    drop_duplicate_pairs: bool = True


class InstructSection(Section):
    """Instruction data. Defaults measured on debian-faq questions and answers: docs/recipes.md."""

    max_chars: int = 8000  # whole conversation
    drop_truncated: bool = True  # the last answer shows a sign of a cut (curation.instruct.truncation)
    # answer lengths (characters, or UTF-8 bytes) at which generators and scrapers stop; an answer of
    # exactly this length that does not end a sentence was cut there
    length_limits: list[int] = Field(
        default_factory=lambda: [256, 500, 512, 1000, 1024, 2000, 2048, 4000, 4096, 8192]
    )
    check_brackets: bool = True  # an unclosed ( [ { （ 【 《 「 『 “ (outside `inline code`)
    # cut mid-word: the last word is a longer word of the conversation missing this many letters or more
    min_cut_letters: int = 2
    # an answer with this many finished sentences whose last line then stops on a word was cut (0: off)
    min_sentences_before_cut: int = 1
    # the last answer is a stub below this many characters (spaces not counted); a one-character answer
    # that is a digit, a Chinese yes/no (是, 对, 不, 有...) or a choice the prompt offers is kept
    min_answer_chars: int = 2
    # an answer repeating a paragraph (of at least repeat_min_chars) more than this is a loop (0: off)
    max_paragraph_repeats: int = 2
    repeat_min_chars: int = 20
    drop_duplicate_prompts: bool = True


class SlurmStageSection(Section):
    """One stage's Slurm settings (`curation.slurm.stages.<stage>`): each field unset takes curation.slurm's."""

    partition: str | None = None
    time: str | None = None
    cpus_per_task: int | None = Field(default=None, ge=1)
    mem_per_cpu_gb: int | None = Field(default=None, ge=1)
    qos: str | None = None
    sbatch_args: dict[str, str] = Field(default_factory=dict)  # added to (and overriding) curation.slurm's
    workers: int | None = Field(default=None, ge=-1)  # array tasks running at once (default: curation.workers)


class SlurmSection(Section):
    partition: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    qos: str | None = None
    sbatch_args: dict[str, str] = Field(default_factory=dict)
    venv_path: str | None = None
    # per stage (filter, dedup, decontaminate, publish, vocab, tokenize): what differs from the settings above
    stages: dict[str, SlurmStageSection] = Field(default_factory=dict)

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, stages: dict) -> dict:
        from curation.run import STAGE_NAMES  # the stage names, without importing any stage

        unknown = sorted(set(stages) - set(STAGE_NAMES))
        if unknown:
            raise ValueError(f"unknown stage(s) {', '.join(unknown)} (the stages: {', '.join(STAGE_NAMES)})")
        return stages

    def for_stage(self, stage: str) -> dict:
        """The settings a stage's jobs run with: its own where set, curation.slurm's otherwise."""
        own = self.stages.get(stage) or SlurmStageSection()
        out = {key: getattr(own, key) if getattr(own, key) is not None else getattr(self, key)
               for key in ("partition", "time", "cpus_per_task", "mem_per_cpu_gb", "qos")}
        out["sbatch_args"] = {**self.sbatch_args, **own.sbatch_args}
        out["workers"] = own.workers
        return out


class CurationSection(Section):
    """How the filter stage runs and what it does."""

    executor: Literal["local", "ray", "slurm"] = "local"
    tasks: int = Field(default=1, ge=1)  # datatrove tasks per source (files are spread across them)
    workers: int = Field(default=-1, ge=-1)  # concurrent local processes; -1: one per CPU core
    bad_records: Literal["exclude", "error"] = "exclude"
    # a source left with no documents (empty or binary file, wrong field, everything filtered): reported in
    # the funnel and skipped by the later stages ("skip"), or the run stops with one line naming it ("error")
    empty_source: Literal["skip", "error"] = "skip"
    heldout_fraction: float = Field(default=0.01, ge=0.0, lt=1.0)
    # held-out documents sharing a sentence with training: back to training ("move") or excluded ("drop");
    # sentences shorter than these do not count (docs/recipes.md, measured on the demo)
    heldout_leaks: Literal["move", "drop"] = "move"
    # sentences with Chinese: characters, spaces not counted; without: words (at most MAX_N: the keys are
    # n-gram hashes of that many normalised characters or words, common.ngrams)
    heldout_leak_min_chars: int = Field(default=13, ge=1, le=MAX_N)
    heldout_leak_min_words: int = Field(default=6, ge=1, le=MAX_N)
    normalize: NormalizeSection = Field(default_factory=NormalizeSection)
    language_id: LanguageIDSection = Field(default_factory=LanguageIDSection)
    quality_zh: ChineseQualitySection = Field(default_factory=ChineseQualitySection)
    quality_en: EnglishQualitySection = Field(default_factory=EnglishQualitySection)
    parallel: ParallelSection = Field(default_factory=ParallelSection)
    instruct: InstructSection = Field(default_factory=InstructSection)
    slurm: SlurmSection = Field(default_factory=SlurmSection)


def load_curation(recipe: Recipe) -> CurationSection:
    return recipe.section("curation", CurationSection)
