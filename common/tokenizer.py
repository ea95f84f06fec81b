"""The recipe's `tokenizer` section and the rule that says which tokenizer every stage uses.

The tokenizer in effect (docs/formats.md) is `workdir/tokenizer/` when `tokenizer.extend.enabled` and that
folder was built from the recipe's base tokenizer and extend settings (recorded in its
`vocab_extension.json`), else `tokenizer.path`; any mismatch is an error naming the change, never a
silent mix. curation.vocab builds the extension; tokenize, train and evaluation load what this module names.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import Field

from common.recipe import InputPath, Recipe, RecipeError, Section

# the files that make a Hugging Face tokenizer folder what it is (the fingerprint of the base)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json", "vocab.json", "merges.txt", "vocab.txt", "chat_template.jinja",
                   "chat_template.json")



class WordsSection(Section):
    """`tokenizer.extend.words`: also add frequent multi-character words (jieba), after the characters."""

    enabled: bool = False
    max_new_words: int = Field(2000, ge=1, description="add at most this many words, on top of the characters")
    min_frequency: int = Field(10, ge=1, description="a word must occur this often in the segmented text")
    max_chars: int = Field(50_000_000, ge=1000, description="segment at most this many characters of Chinese text")


class ExtendSection(Section):
    """`tokenizer.extend`: add frequent Chinese characters the base tokenizer splits into pieces."""

    enabled: bool = False
    max_new_tokens: int = Field(8076, ge=1, description="add at most this many characters (ChatFlow: 8,076)")
    min_frequency: int = Field(5, ge=1, description="a character must occur this often in curated Chinese data")
    punctuation: bool = Field(True, description="also count CJK punctuation and full-width forms (，。？「」)")
    measure_chars: int = Field(2_000_000, ge=1000, description="characters per language for chars_per_token")
    words: WordsSection = Field(default_factory=WordsSection)


class TokenizerSection(Section):
    """Recipe section `tokenizer`."""

    path: InputPath = Field(description="Hugging Face tokenizer folder (tokenizer.json and/or tokenizer.model)")
    trust_remote_code: bool = False
    extend: ExtendSection = Field(default_factory=ExtendSection)


# ---------------------------------------------------------------------------------------------------
# which tokenizer is in effect, and whether workdir/tokenizer/ still matches the recipe


def tokenizer_files_sha256(path: Path) -> str:
    """sha256 over the tokenizer files of a folder (not the model weights beside them)."""
    path = Path(path)
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        if (path / name).is_file():
            digest.update(name.encode() + b"\0" + hashlib.sha256((path / name).read_bytes()).digest())
    return digest.hexdigest()


def extend_settings(extend: ExtendSection) -> dict:
    """The `tokenizer.extend` keys that decide what is added (not `measure_chars`: only the report)."""
    settings = {"max_new_tokens": extend.max_new_tokens, "min_frequency": extend.min_frequency,
                "punctuation": extend.punctuation, "words.enabled": extend.words.enabled}
    if extend.words.enabled:
        settings.update({"words.max_new_words": extend.words.max_new_words,
                         "words.min_frequency": extend.words.min_frequency, "words.max_chars": extend.words.max_chars})
    return settings


def read_extension_record(extended: Path) -> dict | None:
    try:
        record = json.loads((extended / "vocab_extension.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def is_extension_built(extended: Path) -> bool:
    return (extended / "vocab_extension.json").is_file() or (extended / "tokenizer_config.json").is_file()


def recipe_changes(cfg: TokenizerSection, record: dict) -> list[str]:
    """What the recipe's tokenizer section now says differently from what `record` was built from."""
    built = record.get("built_from")
    if built is None:  # format_version 1 recorded the base path and two settings only
        built = {"base": record.get("base"), "base_sha256": None,
                 "extend": {"max_new_tokens": record.get("max_new_tokens"),
                            "min_frequency": record.get("min_frequency"), "words.enabled": False}}
    changes = []
    same_path = Path(str(built.get("base"))) == Path(cfg.path)
    if built.get("base_sha256") is not None:
        if built["base_sha256"] != tokenizer_files_sha256(cfg.path):
            changes.append(f"tokenizer.path: the files of {cfg.path} changed" if same_path
                           else f"tokenizer.path is {cfg.path}, was {built.get('base')}")
    elif not same_path:
        changes.append(f"tokenizer.path is {cfg.path}, was {built.get('base')}")
    now, then = extend_settings(cfg.extend), built.get("extend") or {}
    for key in now:
        if key in then and then[key] != now[key]:
            changes.append(f"tokenizer.extend.{key} is {json.dumps(now[key])}, was {json.dumps(then[key])}")
    return changes


def check_extension(recipe: Recipe) -> str | None:
    """Why `workdir/tokenizer/` must not be used with this recipe (one line), or None when it may."""
    extended = recipe.workdir / "tokenizer"
    cfg = recipe.section("tokenizer", TokenizerSection)
    rebuild = f"`python -m curation.run {recipe.path or 'RECIPE'} --force vocab`"
    if not cfg.extend.enabled:
        if is_extension_built(extended):
            return (f"tokenizer.extend.enabled is false but {extended} holds an extended tokenizer from an earlier "
                    f"run; {rebuild} removes it and re-tokenizes with tokenizer.path, or set tokenizer.extend.enabled: true")
        return None
    record_file = extended / "vocab_extension.json"
    if not record_file.is_file():
        return (f"tokenizer.extend.enabled is true but {record_file} does not exist; build the extension with "
                f"`python -m curation.vocab {recipe.path or 'RECIPE'}` (curation.run does it after publish)")
    record = read_extension_record(extended)
    if record is None:
        return f"{record_file}: not valid JSON; rebuild it with {rebuild}"
    changes = recipe_changes(cfg, record)
    if changes:
        return (f"{extended} was built from another tokenizer recipe ({'; '.join(changes)}); rebuild it with "
                f"{rebuild} (re-tokenizes too) or restore those settings")
    return None


def tokenizer_in_effect(recipe: Recipe) -> Path | None:
    """The tokenizer every stage uses (docs/formats.md): `workdir/tokenizer/` when the extension is enabled
    and was built from this recipe's tokenizer settings, `tokenizer.path` when it is disabled; None when
    the recipe names none. Raises RecipeError (one line) when the two disagree."""
    extended = recipe.workdir / "tokenizer"
    if not recipe.has("tokenizer"):
        return extended if (extended / "tokenizer_config.json").is_file() else None
    problem = check_extension(recipe)
    if problem is not None:
        raise RecipeError([recipe._where(("tokenizer", "extend")) + problem], recipe.path)
    cfg = recipe.section("tokenizer", TokenizerSection)
    return extended if cfg.extend.enabled else cfg.path


class TokenizerLoadError(ValueError):
    """A folder is not a loadable Hugging Face tokenizer (the message is one line naming the folder)."""


def load_tokenizer(path: Path | str, *, trust_remote_code: bool = False, require_fast: bool = False):
    """A Hugging Face tokenizer from a folder (remote code only when the recipe asks); `require_fast`
    refuses tokenizers without a `tokenizers` backend (vocabulary extension and offsets need one)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    except Exception as err:  # transformers raises ValueError, OSError, KeyError... for a broken folder
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise TokenizerLoadError(f"{path}: cannot load the tokenizer ({reason}); it must be a Hugging Face tokenizer "
                                 "folder (tokenizer.json and/or tokenizer.model with tokenizer_config.json)") from None
    if require_fast and getattr(tokenizer, "backend_tokenizer", None) is None:
        raise TokenizerLoadError(f"{path}: {type(tokenizer).__name__} has no `tokenizers` backend (tokenizer.json)")
    return tokenizer


def has_tokenizer(folder: Path | str) -> bool:
    """Whether a folder holds tokenizer files (a model folder may or may not)."""
    return any((Path(folder) / name).is_file() for name in TOKENIZER_FILES)


def load_tokenizer_in_effect(recipe: Recipe):
    """The tokenizer every stage of this recipe uses, loaded (remote code only when `tokenizer` asks)."""
    cfg = recipe.section("tokenizer", TokenizerSection)
    return load_tokenizer(tokenizer_in_effect(recipe), trust_remote_code=cfg.trust_remote_code)
