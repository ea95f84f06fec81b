"""The recipe's `evaluation:` section: what to score and how (validated by `Recipe.section`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from common.recipe import InputPath, OutputPath, Recipe, Section, registered
from evaluation.benchmarks import FORMATS, BenchmarkError


class PerplexitySection(Section):
    """Held-out perplexity over `workdir/heldout/<source>/` (written by curation)."""

    enabled: bool = True
    sources: list[str] | None = None  # None: every folder under heldout/
    max_documents: int | None = Field(default=None, ge=1)  # per source, in file order


class BenchmarkSection(Section):
    """One multiple-choice benchmark on local files in its original distribution format."""

    name: str
    format: str  # a registered benchmark format (evaluation.benchmarks.FORMATS): ceval, cmmlu, mmlu, ...
    path: InputPath
    split: str | None = None  # default: the format's scored split (ceval: val, its test answers are withheld)
    shots: int | None = Field(default=None, ge=0)  # default: 5, or 0 for a format without dev examples
    subjects: list[str] | None = None  # None: every subject found in the split's folder
    # Wraps the whole k-shot prompt (ending with the answer cue); the option letter follows it.
    template: str | None = None
    subject_names: dict[str, str] = Field(default_factory=dict)  # shown in the prompt header
    # raw: the prompt as written; chat: wrapped as a user turn by the tokenizer's chat template, the
    # answer letter as the assistant's reply. None: evaluation.prompt
    prompt: Literal["raw", "chat"] | None = None

    @field_validator("format")
    @classmethod
    def _registered_format(cls, value: str) -> str:
        return registered(value, FORMATS, "benchmark format")

    @field_validator("template")
    @classmethod
    def _template_has_prompt(cls, value: str | None) -> str | None:
        if value is not None and "{prompt}" not in value:
            raise ValueError("must contain {prompt}, where the k-shot prompt goes")
        return value

    @model_validator(mode="after")
    def _known_split(self) -> BenchmarkSection:
        self.eval_split()
        if self.shots is None:
            self.shots = 5 if FORMATS[self.format].has_dev else 0
        if self.shots and not FORMATS[self.format].has_dev:
            raise ValueError(f"format {self.format} has no dev examples: shots must be 0, not {self.shots}")
        return self

    def eval_split(self) -> str:
        benchmark = FORMATS[self.format]
        split = self.split or benchmark.scored_split
        if split not in benchmark.scored_splits():
            allowed = list(benchmark.scored_splits())
            raise ValueError(f"split {split!r} is not a scored split of {self.format} (one of {allowed})")
        return split


class EvaluationSection(Section):
    """Everything `python -m evaluation.run` reads from the recipe."""

    perplexity: PerplexitySection = Field(default_factory=PerplexitySection)
    benchmarks: list[BenchmarkSection] = Field(default_factory=list)
    batch_tokens: int = Field(default=8192, ge=16)  # padded tokens per forward pass
    max_length: int | None = Field(default=None, ge=8)  # None: the model's max_position_embeddings
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # auto: bf16 on CUDA, fp32 on CPU
    trust_remote_code: bool = False
    out: OutputPath | None = None  # default: workdir/eval
    prompt: Literal["raw", "chat"] = "raw"  # default of every benchmark's `prompt`

    @model_validator(mode="after")
    def _default_prompt(self) -> EvaluationSection:
        for bench in self.benchmarks:
            if bench.prompt is None:
                bench.prompt = self.prompt
        return self

    @field_validator("benchmarks")
    @classmethod
    def _unique_names(cls, value: list[BenchmarkSection]) -> list[BenchmarkSection]:
        names = [b.name for b in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"benchmark names must be unique, repeated: {duplicates}")
        return value


def load_section(recipe: Recipe, *, check_inputs: bool = True) -> EvaluationSection:
    """The validated `evaluation:` section (defaults when absent). `check_inputs=False` accepts benchmark
    folders that do not exist yet; `check_benchmark_paths` then names the first missing one."""
    return recipe.section("evaluation", EvaluationSection, check_inputs=check_inputs)


def check_benchmark_paths(section: EvaluationSection) -> None:
    """One line for the first benchmark whose local copy is missing, pointing at docs/evaluation.md."""
    for bench in section.benchmarks:
        if not Path(bench.path).exists():
            raise BenchmarkError(
                f"{bench.path}: no such folder for benchmark {bench.name!r} ({bench.format}); put a local copy "
                f"of it there (where to get it and the layout it needs: docs/evaluation.md)"
            )


def heldout_sources(heldout: Path, only: list[str] | None) -> list[str]:
    """Source folders under `heldout/` (those named in `only`, which must exist)."""
    found = sorted(p.name for p in heldout.iterdir() if p.is_dir()) if heldout.is_dir() else []
    if only is None:
        return found
    missing = [s for s in only if s not in found]
    if missing:
        raise FileNotFoundError(
            f"{heldout}: no held-out folder for sources {missing} (found: {found}); "
            f"set curation.heldout_fraction and re-run curation"
        )
    return list(only)
