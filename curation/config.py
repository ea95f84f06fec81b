"""The `sources` and `curation` sections of a recipe (filter stage), validated with pydantic.

Every default here is documented in docs/recipes.md together with the measurement it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, RootModel, field_validator, model_validator

from common.recipe import InputPath, Recipe, RecipeError, Section

Format = Literal["jsonl", "parquet", "tsv", "csv", "hf_disk", "hf_hub"]


class InputSpec(Section):
    """Where a source's records come from: local files (a file, a folder or a glob) or a hub dataset."""

    path: InputPath | None = None  # a file or a folder (all matching files inside)
    glob: str | None = None  # inside `path` when it is a folder, e.g. "*.jsonl.gz"
    format: Format | None = None  # default: inferred from the file names
    hub: str | None = None  # Hugging Face dataset name (format hf_hub); cannot be used offline
    subset: str | None = None
    split: str = "train"
    columns: list[str] | None = None  # tsv/csv without a header row: the column names, in order
    delimiter: str | None = None  # tsv/csv: default tab for tsv, comma for csv
    limit: int = -1  # read at most this many records per task (debugging)

    @model_validator(mode="after")
    def _one_location(self) -> InputSpec:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of `path` (local files) or `hub` (a Hugging Face dataset name)")
        if self.hub is not None:
            self.format = "hf_hub"
        elif self.format is None:
            self.format = infer_format(self.path, self.glob)
        return self

    def files(self) -> list[Path]:
        """The local input files, sorted (empty for hub datasets and datasets saved on disk)."""
        if self.path is None or self.format == "hf_disk":
            return []
        if self.path.is_file():
            return [self.path]
        pattern = self.glob or f"**/*{_EXTENSIONS[self.format][0]}*"
        return sorted(p for p in self.path.glob(pattern) if p.is_file() and not p.name.startswith("."))


_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".json", ".ndjson"),
    "parquet": (".parquet",),
    "tsv": (".tsv",),
    "csv": (".csv",),
}


def infer_format(path: Path, glob: str | None) -> str:
    """The input format from a file name (compression suffixes .gz/.zst ignored) or a dataset folder."""
    if path.is_dir() and glob is None:
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
            return "hf_disk"
        names = [p.name for p in path.iterdir() if p.is_file()]
    else:
        names = [glob or path.name]
    for name in names:
        stem = name.removesuffix(".gz").removesuffix(".zst").removesuffix(".zstd")
        for fmt, exts in _EXTENSIONS.items():
            if stem.endswith(exts):
                return fmt
    raise ValueError(f"cannot tell the format of {path}: set `format` (one of jsonl, parquet, tsv, csv, hf_disk)")


class _SourceBase(Section):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    input: InputSpec
    id_field: str | None = "id"  # used as the document id when present; else <source>/<file>/<record>
    tasks: int | None = Field(default=None, ge=1)  # datatrove tasks for this source (default: curation.tasks)


class MonoSource(_SourceBase):
    """Monolingual text in one language."""

    kind: Literal["mono"]
    language: Literal["zh", "en"]
    text_field: str = "text"


class ParallelSource(_SourceBase):
    """Chinese–English pairs; each side is checked separately."""

    kind: Literal["parallel"]
    zh_field: str = "zh"
    en_field: str = "en"


class InstructSource(_SourceBase):
    """Instruction data in alpaca, sharegpt or role/content messages form, normalised to messages."""

    kind: Literal["instruct"]
    schema_: Literal["auto", "alpaca", "sharegpt", "messages"] = Field(default="auto", alias="schema")
    language: Literal["zh", "en", "mixed"] = "mixed"


SourceSpec = Annotated[MonoSource | ParallelSource | InstructSource, Field(discriminator="kind")]


class Sources(RootModel[list[SourceSpec]]):
    @field_validator("root")
    @classmethod
    def _unique_names(cls, sources: list) -> list:
        if not sources:
            raise ValueError("at least one source is needed")
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"source name '{source.name}' is used twice")
            seen.add(source.name)
        return sources


class NormalizeConfig(Section):
    fix_unicode: bool = True  # ftfy: mojibake, broken escapes
    strip_control_chars: bool = True  # C0/C1 controls except newline and tab
    traditional_to_simplified: bool = True  # OpenCC t2s on Chinese text (mono zh, zh side, instructions)
    opencc_config: str = "t2s"


class LanguageIDConfig(Section):
    """fastText lid.176 language identification; thresholds per expected language."""

    enabled: bool = True
    # Minimum probability of the expected language. zh counts the Chinese varieties lid.176 confuses
    # (zh, wuu, yue). Defaults measured on mixed Chinese/English technical text: docs/recipes.md.
    thresholds: dict[str, float] = Field(default_factory=lambda: {"zh": 0.5, "en": 0.65})
    # Instruction data: language of the whole conversation, only recorded, not filtered, unless set.
    instruct_threshold: float | None = None


class ChineseQualityConfig(Section):
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
    top_ngrams: dict[int, float] = Field(default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    dup_ngrams: dict[int, float] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )
    line_punct_thr: float = 0.12  # fraction of lines ending in terminal punctuation (FineWeb)
    short_line_thr: float = 0.67
    short_line_length: int = 10  # characters (Chinese lines carry ~3x the content of English ones)
    char_dup_ratio: float = 0.1
    new_line_ratio: float = 0.3


class EnglishQualityConfig(Section):
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


class ParallelConfig(Section):
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


class InstructConfig(Section):
    max_chars: int = 8000  # whole conversation
    drop_truncated: bool = True
    drop_duplicate_prompts: bool = True


class SlurmConfig(Section):
    partition: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    qos: str | None = None
    sbatch_args: dict[str, str] = Field(default_factory=dict)
    venv_path: str | None = None


class CurationConfig(Section):
    """How the filter stage runs and what it does."""

    executor: Literal["local", "ray", "slurm"] = "local"
    tasks: int = Field(default=1, ge=1)  # datatrove tasks per source (files are spread across them)
    workers: int = Field(default=-1, ge=-1)  # concurrent local processes; -1: one per CPU core
    bad_records: Literal["exclude", "error"] = "exclude"
    heldout_fraction: float = Field(default=0.01, ge=0.0, lt=1.0)
    normalize: NormalizeConfig = Field(default_factory=NormalizeConfig)
    language_id: LanguageIDConfig = Field(default_factory=LanguageIDConfig)
    quality_zh: ChineseQualityConfig = Field(default_factory=ChineseQualityConfig)
    quality_en: EnglishQualityConfig = Field(default_factory=EnglishQualityConfig)
    parallel: ParallelConfig = Field(default_factory=ParallelConfig)
    instruct: InstructConfig = Field(default_factory=InstructConfig)
    slurm: SlurmConfig = Field(default_factory=SlurmConfig)


def load_sources(recipe: Recipe) -> list[MonoSource | ParallelSource | InstructSource]:
    if not recipe.has("sources"):
        raise RecipeError(["sources: required section is missing"], recipe.path)
    return recipe.section("sources", Sources).root


def load_curation(recipe: Recipe) -> CurationConfig:
    return recipe.section("curation", CurationConfig)
