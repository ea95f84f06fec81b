"""The recipe's `sources` section: every raw source with its kind, language and input files.

Read by curation (which sources to read and how), the mixer (kinds and languages for the schedule's
groups) and the demo; validated with pydantic like every section (common.recipe).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, RootModel, field_validator, model_validator

from common.recipe import InputPath, Recipe, RecipeError, Section

Format = Literal["jsonl", "parquet", "tsv", "csv", "hf_disk", "hf_hub"]


class InputSection(Section):
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
    def _one_location(self) -> InputSection:
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
    input: InputSection
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


Source = MonoSource | ParallelSource | InstructSource
SourceSpec = Annotated[MonoSource | ParallelSource | InstructSource, Field(discriminator="kind")]


class SourcesSection(RootModel[list[SourceSpec]]):
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



def load_sources(recipe: Recipe, *, check_inputs: bool = True) -> list[Source]:
    """The validated `sources` list; a recipe without one is an error. `check_inputs=False` for stages that
    need only names, kinds and languages (the mixer plans after the raw inputs may be gone)."""
    if not recipe.has("sources"):
        raise RecipeError(["sources: required section is missing"], recipe.path)
    return recipe.section("sources", SourcesSection, check_inputs=check_inputs).root
