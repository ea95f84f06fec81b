"""The recipe's `merge` section: which models, which method, where the result goes."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from common.recipe import Recipe, RecipeError, Section, registered

from .methods import METHODS, MethodSection

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DTYPES = ("float32", "bfloat16", "float16")


class ModelRef(Section):
    """One input model: a local Hugging Face folder (relative to the recipe) or a hub name."""

    path: str = Field(description="local folder, or a hub repo id such as meta-llama/Llama-2-7b-hf")
    name: str | None = Field(None, description="label used in the report and in config_from/tokenizer_from")
    weight: float = Field(1.0, description="w_i of this model")
    density: float | None = Field(
        None, gt=0.0, le=1.0, description="this model's trim/keep fraction (ties, ties_sv, dare, dare_ties); "
        "default: merge.parameters.density (Tao et al. trim the CT and SFT task vectors with their own k1, k2)",
    )

    @field_validator("weight")
    @classmethod
    def _finite_weight(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        return value
    revision: str | None = Field(None, description="hub revision (only for hub names)")

    @field_validator("path")
    @classmethod
    def _local_or_hub(cls, value: str, info: ValidationInfo) -> str:
        root = Path((info.context or {}).get("root", "."))
        local = Path(value).expanduser()
        local = local if local.is_absolute() else (root / local).resolve()
        if local.exists():
            return str(local)
        if _HUB_ID.match(value) and not value.startswith((".", "/")):
            return value
        raise ValueError(f"no such folder: {local} (and not a hub name like org/model)")

    @property
    def is_local(self) -> bool:
        return Path(self.path).is_absolute()


class DiagnosticsSection(Section):
    """`merge.diagnostics`: the survival diagnostic (docs/merge.md)."""

    top_k: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="fraction of each task vector counted as important (default: density or 0.2)",
    )
    enabled: bool = True


class MergeSection(Section):
    """`merge:` in a recipe. `parameters` are validated against the chosen method's own parameters."""

    method: str
    base: ModelRef | None = None
    models: list[ModelRef] = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    output: str = Field("merged", description="output folder, relative to workdir")
    overwrite: bool = False
    dtype: Literal["float32", "bfloat16", "float16"] | None = Field(
        None, description="stored dtype (default: inputs')"
    )
    compute_dtype: Literal["float32", "float64", "bfloat16", "float16"] = "float32"
    device: str = Field("cpu", description="cpu, cuda, cuda:N or auto")
    config_from: str | None = Field(None, description="model whose config is written (default: base)")
    tokenizer_from: str | None = Field(
        None, description="model whose tokenizer is copied (default: config_from)"
    )
    max_shard_size: str = "2GB"
    diagnostics: DiagnosticsSection = Field(default_factory=DiagnosticsSection)

    @field_validator("max_shard_size")
    @classmethod
    def _shard_size(cls, value: str) -> str:
        from .io import parse_size

        try:
            if parse_size(value) <= 0:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"not a size: {value!r} (use a positive number with B, KB, MB, GB, KiB, MiB or GiB, e.g. 2GB)"
            ) from None
        return value

    @field_validator("base", mode="before")
    @classmethod
    def _base_string(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("models", mode="before")
    @classmethod
    def _model_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"path": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        return registered(value, METHODS, "method")

    @model_validator(mode="after")
    def _consistent(self) -> MergeSection:
        method = METHODS[self.method]
        if method.needs_base and self.base is None:
            raise ValueError(f"method {self.method} needs a base model (merge.base)")
        names = self.labels()
        if len(set(names)) != len(names):
            raise ValueError(f"model names must be unique, got {names}")
        for key in ("config_from", "tokenizer_from"):
            chosen = getattr(self, key)
            if chosen is not None and chosen not in names:
                raise ValueError(f"{key}: {chosen!r} is not one of the models ({', '.join(names)})")
        return self

    def labels(self) -> list[str]:
        """Names of base (first, when present) and models; unnamed models are model0, model1, ..."""
        out = ["base"] if self.base is not None and self.base.name is None else []
        if self.base is not None and self.base.name is not None:
            out = [self.base.name]
        out += [m.name or f"model{i}" for i, m in enumerate(self.models)]
        return out


def load_section(recipe: Recipe) -> tuple[MergeSection, MethodSection]:
    """Validate `merge` and its `parameters` against the chosen method; errors name the YAML path and line."""
    section = recipe.section("merge", MergeSection)
    params_model = METHODS[section.method].parameters
    # Validating under the `merge.parameters` path makes typos read `line N: merge.parameters.densty: ...`.
    wrapper = type("Parameters", (Section,), {"__annotations__": {"parameters": params_model}})
    raw = (recipe.data.get("merge") or {}).get("parameters") or {}
    params = recipe.validate("merge", {"parameters": raw}, wrapper).parameters
    problems = []
    if not hasattr(params, "density"):
        problems += [f"merge.models[{i}].density: method {section.method} has no density (ties, ties_sv, dare and "
                     f"dare_ties have)" for i, m in enumerate(section.models) if m.density is not None]
    protect = getattr(params, "protect", None)
    if protect:
        names = section.labels()[1 if section.base is not None else 0:]
        problems += [f"merge.parameters.protect: {name!r} is not one of the models ({', '.join(names)})"
                     for name in protect if name not in names]
    if problems:
        raise RecipeError(problems, recipe.path)
    return section, params
