"""The `curation` section of a recipe (filter stage), validated with pydantic (`sources`: common.sources).

Every default here is documented in docs/recipes.md together with the measurement it came from.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from common.recipe import Recipe, Section

NgramSize = Annotated[int, Field(ge=1, le=64)]


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
    thresholds: dict[str, float] = Field(default_factory=lambda: {"zh": 0.5, "en": 0.65})
    # Instruction data: language of the whole conversation, only recorded, not filtered, unless set.
    instruct_threshold: float | None = None


class ChineseQualitySection(Section):
    """Character-based heuristics for Chinese (FineWeb-2 cmn_Hani-style), run on characters, not words."""

    enabled: bool = True
    min_chars: int = 50  # fewer Chinese characters + ASCII words than this: too short
    max_chars: int = 200_000
    min_stop_chars: int = 2  # at least this many occurrences of common function characters
    stop_chars: str = "的了是在和有我不这也就都而及与着或"
    dup_line_frac: float = 0.3
    dup_line_char_frac: float = 0.2
    dup_para_frac: float = 0.3
    dup_para_char_frac: float = 0.2
    # n-gram size (1..64, the hashing's limit) -> threshold
    top_ngrams: dict[NgramSize, float] = Field(default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    dup_ngrams: dict[NgramSize, float] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )
    line_punct_thr: float = 0.12  # fraction of lines ending in terminal punctuation (FineWeb)
    short_line_thr: float = 0.67
    short_line_length: int = 10  # characters (Chinese lines carry ~3x the content of English ones)
    char_dup_ratio: float = 0.1
    new_line_ratio: float = 0.3


class EnglishQualitySection(Section):
    """datatrove's Gopher, C4 and FineWeb filters with their published English defaults."""

    enabled: bool = True
    gopher_quality: bool = True
    gopher_repetition: bool = True
    c4: bool = True
    fineweb: bool = True
    min_doc_words: int = 50
    c4_filter_no_terminal_punct: bool = False  # as FineWeb does: C4's line rule removes too much
    # C4 drops every document containing "{": all technical text with code (measured on the demo:
    # 17 of 24 English technical documents). Off, as the Chinese filters keep technical text too.
    c4_filter_curly_bracket: bool = False


class ParallelSection(Section):
    min_chars: int = 2  # per side, after stripping
    max_chars: int = 2000  # per side
    zh_lid_threshold: float = 0.4  # short sentences get lower confidence than documents
    en_lid_threshold: float = 0.4
    # len(en) / len(zh) in characters; Chinese carries ~3 English characters per character
    min_length_ratio: float = 0.7
    max_length_ratio: float = 9.0
    check_numbers: bool = True
    check_urls: bool = True
    drop_duplicate_pairs: bool = True


class InstructSection(Section):
    max_chars: int = 8000  # whole conversation
    drop_truncated: bool = True
    drop_duplicate_prompts: bool = True


class SlurmSection(Section):
    partition: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    qos: str | None = None
    sbatch_args: dict[str, str] = Field(default_factory=dict)
    venv_path: str | None = None


class CurationSection(Section):
    """How the filter stage runs and what it does."""

    executor: Literal["local", "ray", "slurm"] = "local"
    tasks: int = Field(default=1, ge=1)  # datatrove tasks per source (files are spread across them)
    workers: int = Field(default=-1, ge=-1)  # concurrent local processes; -1: one per CPU core
    bad_records: Literal["exclude", "error"] = "exclude"
    heldout_fraction: float = Field(default=0.01, ge=0.0, lt=1.0)
    normalize: NormalizeSection = Field(default_factory=NormalizeSection)
    language_id: LanguageIDSection = Field(default_factory=LanguageIDSection)
    quality_zh: ChineseQualitySection = Field(default_factory=ChineseQualitySection)
    quality_en: EnglishQualitySection = Field(default_factory=EnglishQualitySection)
    parallel: ParallelSection = Field(default_factory=ParallelSection)
    instruct: InstructSection = Field(default_factory=InstructSection)
    slurm: SlurmSection = Field(default_factory=SlurmSection)


def load_curation(recipe: Recipe) -> CurationSection:
    return recipe.section("curation", CurationSection)
