"""Read a mergekit config (`mergekit-yaml`'s YAML) as our `merge` section, so a mergekit user can switch by
pointing `python -m merge.run` at their file.

Only what both tools do is translated; anything else is one line naming the key (docs/merge.md, "mergekit
configs"). Stdlib and PyYAML only: the CLI decides whether a file is a mergekit config before any heavy
import.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

# mergekit method -> (our method, extra parameters of ours that give mergekit's arithmetic)
METHODS = {
    "linear": ("linear", {}),
    "task_arithmetic": ("task_arithmetic", {}),
    "ties": ("ties", {}),
    "dare_linear": ("dare", {"rescale": "l1"}),
    "dare_ties": ("dare_ties", {"rescale": "l1"}),
}
# mergekit's global parameters per method, with its defaults where they differ from ours or matter
GLOBAL_PARAMETERS = {
    "linear": {"normalize": True},
    "task_arithmetic": {"normalize": False, "lambda": 1.0, "int8_mask": False, "rescale": False},
    "ties": {"normalize": True, "lambda": 1.0, "int8_mask": False, "rescale": False},
    "dare_linear": {"normalize": False, "lambda": 1.0, "int8_mask": False, "rescale": True},
    "dare_ties": {"normalize": False, "lambda": 1.0, "int8_mask": False, "rescale": True},
}
# per-model ("tensor") parameters; they may also stand in the global `parameters` as every model's default
TENSOR_PARAMETERS = {
    "linear": ("weight",),
    "task_arithmetic": ("weight", "density"),
    "ties": ("weight", "density"),
    "dare_linear": ("weight", "density"),
    "dare_ties": ("weight", "density"),
}
TOP_LEVEL = ("merge_method", "base_model", "models", "parameters", "dtype", "out_dtype", "tokenizer_source")
UNSUPPORTED_TOP_LEVEL = {
    "slices": "layer slices (frankenmerges) are not supported; list whole models under `models`",
    "modules": "per-module merges are not supported; list whole models under `models`",
    "tokenizer": "the `tokenizer` block (vocabulary union, embeddings of new tokens) is not supported; use "
    "tokenizer_source: base or the path of one of the models",
    "chat_template": "chat_template is not supported; the tokenizer files (and their chat template) of "
    "tokenizer_source are copied as they are",
}
DTYPES = ("float32", "bfloat16", "float16")


class MergekitConfigError(ValueError):
    """A mergekit config we cannot translate; the message names the file and the key."""


def is_mergekit_config(data: Any) -> bool:
    """A mergekit config has `merge_method` at the top level; our recipes have a `merge` section instead."""
    return isinstance(data, dict) and "merge_method" in data and "merge" not in data


def load(path: str | Path) -> dict | None:
    """The file's YAML when it is a mergekit config, else None (then it is read as a recipe)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # the recipe loader reports it with its own message
    return data if is_mergekit_config(data) else None


def translate(data: dict, file: str | Path, *, cwd: str | Path | None = None) -> dict:
    """Our recipe (a dict with a `merge` section) for the mergekit config `data` read from `file`.

    Model paths are taken as mergekit takes them: relative to the current directory (else to the config's
    folder when they exist only there), else hub names."""
    file = Path(file)
    cwd = Path(cwd) if cwd is not None else Path.cwd()

    def fail(key: str, message: str) -> MergekitConfigError:
        return MergekitConfigError(f"{file}: {key}: {message}")

    for key in data:
        if key in UNSUPPORTED_TOP_LEVEL:
            raise fail(key, UNSUPPORTED_TOP_LEVEL[key])
        if key not in TOP_LEVEL:
            raise fail(key, f"unknown mergekit key (translated: {', '.join(TOP_LEVEL)})")
    method = data["merge_method"]
    if method not in METHODS:
        raise fail("merge_method", f"{method!r} is not supported (supported: {', '.join(METHODS)}; "
                                   "or write a recipe with a `merge` section for ties_sv)")
    ours, extra = METHODS[method]

    def model_path(value: Any, key: str) -> str:
        if isinstance(value, dict):  # mergekit's long form {model: {path: ...}, lora: ...}
            raise fail(key, "only a path or hub name is supported here (not a mapping)")
        if not isinstance(value, str) or not value.strip():
            raise fail(key, f"must be a path or a hub name, got {value!r}")
        if "+" in value:
            raise fail(key, f"{value!r}: LoRA adapters (model+lora) are not supported; merge the adapter first")
        for root in (cwd, file.parent):
            local = (root / value).expanduser()
            if local.exists():
                return str(local.resolve())
        return value

    base = model_path(data["base_model"], "base_model") if data.get("base_model") is not None else None
    models = data.get("models")
    if not isinstance(models, list) or not models:
        raise fail("models", "must be a list of {model: PATH, parameters: {...}}")

    global_params = dict(data.get("parameters") or {})
    if not isinstance(data.get("parameters") or {}, dict):
        raise fail("parameters", "must be a mapping")
    allowed_global = set(GLOBAL_PARAMETERS[method]) | set(TENSOR_PARAMETERS[method])
    for key, value in global_params.items():
        if key not in allowed_global:
            raise fail(f"parameters.{key}", f"not a parameter of {method} (its parameters: "
                                            f"{', '.join(sorted(allowed_global))})")
        scalar(value, f"parameters.{key}", fail)
    settings = GLOBAL_PARAMETERS[method] | {k: v for k, v in global_params.items() if k in GLOBAL_PARAMETERS[method]}

    entries, seen = [], set()
    per_model: dict[str, list[tuple[int, Any]]] = {name: [] for name in TENSOR_PARAMETERS[method]}
    for i, entry in enumerate(models):
        key = f"models[{i}]"
        if isinstance(entry, str):
            entry = {"model": entry}
        if not isinstance(entry, dict) or "model" not in entry:
            raise fail(key, "must be {model: PATH, parameters: {...}}")
        for k in entry:
            if k not in ("model", "parameters"):
                raise fail(f"{key}.{k}", "unknown key (a model entry has `model` and `parameters`)")
        path = model_path(entry["model"], f"{key}.model")
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise fail(f"{key}.parameters", "must be a mapping")
        for k, value in params.items():
            if k not in TENSOR_PARAMETERS[method]:
                raise fail(f"{key}.parameters.{k}", f"not a per-model parameter of {method} "
                                                   f"(those are: {', '.join(TENSOR_PARAMETERS[method])})")
            scalar(value, f"{key}.parameters.{k}", fail)
        if method != "linear" and base is not None and path == base:
            continue  # mergekit skips the base among the models: its task vector is zero
        for name in TENSOR_PARAMETERS[method]:
            value = params.get(name, global_params.get(name))
            if value is not None:
                per_model[name].append((i, value))
        if "weight" not in params and "weight" not in global_params:
            raise fail(f"{key}.parameters.weight", f"{method} needs a weight for every model (mergekit requires it)")
        label = _label(path, seen)
        entries.append({"name": label, "path": path,
                        "weight": float(params.get("weight", global_params.get("weight")))})
    if not entries:
        raise fail("models", "lists only the base model; name the models to merge into it")

    section: dict[str, Any] = {"method": ours, "models": entries}
    if base is not None:
        section["base"] = {"name": "base", "path": base}
    elif method != "linear":
        raise fail("base_model", f"{method} needs a base_model")

    parameters: dict[str, Any] = dict(extra)
    parameters["normalize"] = bool(settings["normalize"])
    if "lambda" in settings:
        parameters["lambda"] = float(settings["lambda"])
    densities = {float(v) for _, v in per_model.get("density", [])}
    # task_arithmetic takes a density in mergekit too and ignores it (no sparsification): so do we
    if method in ("ties", "dare_linear", "dare_ties"):
        if len(densities) > 1:
            first, *rest = per_model["density"]
            other = next((i, v) for i, v in rest if float(v) != float(first[1]))
            raise fail(f"models[{other[0]}].parameters.density",
                       f"{other[1]} differs from models[{first[0]}]'s {first[1]}: one density for every model "
                       "is supported")
        density = densities.pop() if densities else 1.0  # mergekit's default density is 1 (keep everything)
        if not 0.0 < density <= 1.0:
            raise fail("density", f"must be in (0, 1], got {density}")
        parameters["density"] = density
    if method == "ties" and settings.get("rescale"):
        raise fail("parameters.rescale", "ties with rescale (L1 norm) is not supported; remove it")
    if method in ("dare_linear", "dare_ties") and not settings["rescale"]:
        parameters["rescale"] = False
    # int8_mask only changes how mergekit stores its sign mask (memory), not the result
    section["parameters"] = parameters

    out_dtype = data.get("out_dtype") or data.get("dtype")
    if out_dtype is not None:
        key = "out_dtype" if data.get("out_dtype") else "dtype"
        if out_dtype not in DTYPES:
            raise fail(key, f"{out_dtype!r} is not supported (use {', '.join(DTYPES)})")
        section["dtype"] = out_dtype  # we compute in float32 whatever mergekit's `dtype` is (docs/merge.md)

    source = data.get("tokenizer_source")
    if source is not None:
        if source == "union":
            raise fail("tokenizer_source", "union (a merged vocabulary) is not supported; use base or one model's path")
        if source == "base":
            if base is None:
                raise fail("tokenizer_source", "base, but there is no base_model")
            section["tokenizer_from"] = "base"
        else:
            path = model_path(source, "tokenizer_source")
            match = [e["name"] for e in entries if e["path"] == path]
            if base is not None and path == base:
                match = ["base"]
            if not match:
                raise fail("tokenizer_source", f"{source!r} is not one of the models; use base or one model's path")
            section["tokenizer_from"] = match[0]
    return {"name": file.stem, "seed": 0, "merge": section}


def scalar(value: Any, key: str, fail) -> None:
    """mergekit's per-layer values (gradients: lists; filters: lists of {filter, value}) are refused."""
    if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
        return
    if isinstance(value, list):
        raise fail(key, "per-layer values (gradients or filters) are not supported; use one number")
    raise fail(key, f"must be a number, got {value!r}")


def _label(path: str, seen: set[str]) -> str:
    """A model's name in the report: its folder's (or hub name's) last part, made unique."""
    stem = Path(path).name or "model"
    label, n = stem, 1
    while label in seen or label == "base":
        n += 1
        label = f"{stem}-{n}"
    seen.add(label)
    return label
