"""Recipe loading and validation, shared by every stage.

A recipe is one YAML file that describes an experiment end to end. Each stage validates only its own
section with a pydantic model (`Recipe.section`); every problem is reported as a YAML path with the
line it is on (`sources[2].input.path: no such file: ...`), never as a traceback.

Relative paths in a recipe are resolved against the folder that holds the recipe file, so a recipe
means the same thing whatever the current directory is.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, RootModel, ValidationError, ValidationInfo

# Every section any stage reads. A key outside this set is a typo or a stale recipe: an error.
TOP_LEVEL_KEYS: dict[str, str] = {
    "name": "experiment name (default: the recipe file's stem)",
    "workdir": "folder for every output (relative to the recipe file)",
    "seed": "global seed (default 0)",
    "sources": "curation: the raw sources",
    "curation": "curation: executor, tasks, bad-input policy, filter settings",
    "dedup": "curation: exact and near deduplication",
    "decontamination": "curation: removal of evaluation-set overlap",
    "tokenizer": "curation.vocab / tokenize: base tokenizer and vocabulary extension",
    "tokenize": "curation: tokenize and pack into training sequences",
    "mixture": "mixer: schedule of source proportions",
    "model": "train: the model to train",
    "train": "train: loop, optimizer, checkpoints",
    "evaluation": "evaluation: perplexity and benchmarks",
    "merge": "merge: models and method",
    "demo": "settings used only by the end-to-end demo",
}


class RecipeError(ValueError):
    """A recipe is wrong. The message lists every problem, one per line, as `yaml.path: problem`."""

    def __init__(self, problems: list[str], file: Path | None = None):
        self.problems = problems
        self.file = file
        where = f"recipe {file}" if file else "recipe"
        super().__init__(f"{where}: " + (problems[0] if len(problems) == 1 else "\n  " + "\n  ".join(problems)))


class Section(BaseModel):
    """Base of every recipe section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def _root(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("root", "."))


def _resolve(value: Path, info: ValidationInfo) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (_root(info) / path).resolve()


def _must_exist(value: Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if (info.context or {}).get("check_inputs", True) and not path.exists():
        raise ValueError(f"no such file or folder: {path}")
    return path


# A path resolved against the recipe's folder. InputPath must also exist when the recipe is read.
OutputPath = Annotated[Path, AfterValidator(_resolve)]
InputPath = Annotated[Path, AfterValidator(_must_exist)]

S = TypeVar("S", bound=BaseModel)


@dataclass
class Recipe:
    """A parsed recipe: raw data plus where it came from. Sections are validated on demand."""

    data: dict[str, Any]
    path: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    _lines: dict[tuple, int] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        path = Path(path)
        if not path.is_file():
            raise RecipeError([f"no such recipe file: {path}"])
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            raise RecipeError([f"not valid YAML: {err}"], path) from None
        if not isinstance(data, dict):
            raise RecipeError(["top level must be a mapping of sections"], path)
        recipe = cls(data=data, path=path.resolve(), root=path.resolve().parent, _lines=_line_index(node))
        recipe._check_top_level()
        return recipe

    @classmethod
    def from_dict(cls, data: dict[str, Any], root: str | Path = ".") -> Recipe:
        recipe = cls(data=data, path=None, root=Path(root).resolve())
        recipe._check_top_level()
        return recipe

    def _check_top_level(self) -> None:
        problems = []
        for key in self.data:
            if key not in TOP_LEVEL_KEYS:
                problems.append(self._where((key,)) + f"{key}: unknown section{suggest(str(key), TOP_LEVEL_KEYS)}")
        if problems:
            raise RecipeError(problems, self.path)

    @property
    def name(self) -> str:
        return str(self.data.get("name") or (self.path.stem if self.path else "recipe"))

    @property
    def seed(self) -> int:
        seed = self.data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise RecipeError([self._where(("seed",)) + f"seed: must be an integer, got {seed!r}"], self.path)
        return seed

    @property
    def workdir(self) -> Path:
        raw = self.data.get("workdir")
        if raw is None:
            return (self.root / "work" / self.name).resolve()
        if not isinstance(raw, str):
            raise RecipeError([self._where(("workdir",)) + f"workdir: must be a path, got {raw!r}"], self.path)
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (self.root / path).resolve()

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def section(self, name: str, model: type[S], *, default: Any = None, check_inputs: bool = True) -> S:
        """Validate section `name` with `model`; a missing section uses `default` (or model defaults).
        `check_inputs=False` accepts input paths that do not exist (a stage that only reads the names)."""
        if name not in TOP_LEVEL_KEYS:
            raise KeyError(f"{name} is not a recipe section")
        raw = self.data.get(name, default)
        if raw is None:
            raw = {} if issubclass(model, BaseModel) else raw
        return self.validate(name, raw, model, check_inputs=check_inputs)

    def validate(self, name: str, raw: Any, model: type[S], *, check_inputs: bool = True) -> S:
        try:
            return model.model_validate(raw, context={"root": self.root, "check_inputs": check_inputs})
        except ValidationError as err:
            raise RecipeError(self._problems(name, err, model), self.path) from None

    def _problems(self, name: str, err: ValidationError, model: type[BaseModel]) -> list[str]:
        problems = []
        for e in err.errors(include_url=False):
            loc = _clean_loc((name, *e["loc"]), model)
            where = self._where(loc)
            message = e["msg"]
            if e["type"] == "extra_forbidden":
                allowed = _fields_at(model, loc[1:-1])
                message = "unknown key" + suggest(str(loc[-1]), allowed)
            elif e["type"] == "missing":
                message = "required key is missing"
            elif message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            problems.append(f"{where}{format_loc(loc)}: {message}")
        return problems

    def _where(self, loc: tuple) -> str:
        """`line N: ` for the deepest part of `loc` the YAML file has, else empty."""
        for depth in range(len(loc), 0, -1):
            line = self._lines.get(tuple(loc[:depth]))
            if line is not None:
                return f"line {line}: "
        return ""


def format_loc(loc: tuple) -> str:
    """('sources', 2, 'input', 'path') -> 'sources[2].input.path'."""
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for a dict key that failed validation: the key is already named
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def registered(value: str, registry, what: str) -> str:
    """`value` when it names an entry of `registry` (a kind, a method, a format); else a ValueError for the
    recipe error, with the closest name and every registered one."""
    if value not in registry:
        raise ValueError(f"unknown {what} {value!r}{suggest(str(value), registry)}; known: {', '.join(registry)}")
    return value


def suggest(word: str, choices) -> str:
    """A " (did you mean 'x'?)" hint for the closest of `choices`, or an empty string when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _line_index(node: yaml.Node | None, prefix: tuple = ()) -> dict[tuple, int]:
    """Map every YAML path in the document to its 1-based line number."""
    index: dict[tuple, int] = {}
    if node is None:
        return index
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            loc = (*prefix, key_node.value)
            index[loc] = key_node.start_mark.line + 1
            index.update(_line_index(value_node, loc))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            loc = (*prefix, i)
            index[loc] = item.start_mark.line + 1
            index.update(_line_index(item, loc))
    return index


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation can hold (through Optional, unions, lists, dicts, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is None:
        return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []
    found = []
    for arg in typing.get_args(annotation):
        found.extend(_unwrap(arg))
    return found


def _expand(models: list[Any]) -> list[type[BaseModel]]:
    """Replace RootModels by the models their root can hold; a base class stands for its subclasses too
    (a field typed with a base that validates as the subclass its `kind` names, as mixture.schedule)."""
    out: list[type[BaseModel]] = []
    for m in models:
        if issubclass(m, RootModel):
            out.extend(_expand(_unwrap(m.model_fields["root"].annotation)))
        else:
            out.append(m)
            out.extend(_expand(m.__subclasses__()))
    return out


def _models_at(model: type[BaseModel], loc: tuple) -> list[type[BaseModel]]:
    models = _expand([model])
    for part in loc:
        if isinstance(part, int):
            continue
        models = _expand([a for m in models if part in m.model_fields for a in _unwrap(m.model_fields[part].annotation)])
    return models


def _fields_at(model: type[BaseModel], loc: tuple) -> set[str]:
    keys: set[str] = set()
    for m in _models_at(model, loc):
        keys.update(info.alias or name for name, info in m.model_fields.items())
    return keys


def _is_tag_of(model: type[BaseModel], value: str) -> bool:
    for info in model.model_fields.values():
        if typing.get_origin(info.annotation) is typing.Literal and value in typing.get_args(info.annotation):
            return True
    return False


def _clean_loc(loc: tuple, model: type[BaseModel]) -> tuple:
    """Drop the tags pydantic inserts for tagged unions (e.g. 'mono' in sources[2].mono.input)."""
    out: list = [loc[0]]
    models = _expand([model])
    for part in loc[1:]:
        if isinstance(part, int):
            out.append(part)
            continue
        owners = [m for m in models if part in m.model_fields]
        if owners:
            out.append(part)
            models = _expand([a for m in owners for a in _unwrap(m.model_fields[part].annotation)])
            continue
        tagged = [m for m in models if _is_tag_of(m, part)]
        if len(models) > 1 and tagged:
            models = tagged
            continue
        out.append(part)
        models = []
    return tuple(out)
