"""Vocabulary extension (ChatFlow): add the frequent Chinese characters the base tokenizer splits into pieces.

    python -m curation.vocab RECIPE [--workdir DIR] [--force]

Counts Chinese characters in `workdir/curated/` (mono zh text, the zh side of parallel pairs, Chinese
instruction conversations), keeps those the base tokenizer does not encode as one token, adds the
`tokenizer.extend.max_new_tokens` most frequent with at least `min_frequency` occurrences, and writes
`workdir/tokenizer/` (a Hugging Face tokenizer folder) and `vocab_extension.json` (docs/formats.md).
Old ids never change; new ids follow them.

How a character is added depends on how the base tokenizer sees text:

- character-level BPE (SentencePiece/LLaMA-style, `byte_fallback`): the BPE model splits every word into
  characters before merging and falls back to bytes only for characters missing from its vocab, so the
  character is added to the model's vocab (`method: model_vocab`), no merges needed; the tokenizer stays
  a plain BPE with the same normalizer, pre-tokenizer and decoder.
- anything else (byte-level BPE as in GPT-2/LLaMA-3, Unigram, WordPiece): the model never sees a whole
  CJK character (byte-level splits it into bytes first), so the character is an added token, matched in
  the raw text before pre-tokenization, also inside words (`method: added_tokens`).

Both are checked after writing: the written folder is loaded again, every base token keeps its id,
every new character encodes to its new id and a text of all new characters decodes back unchanged.

Recipe section `tokenizer` (read also by tokenize, train and evaluation): the tokenizer in effect is
`workdir/tokenizer/` when this tool wrote one, else `tokenizer.path`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import Field

from common.recipe import InputPath, Recipe, RecipeError, Section

FORMAT_VERSION = 1
# CJK Unified Ideographs + Extension A, compatibility ideographs, Extensions B-F (supplementary plane)
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# CJK symbols and punctuation (without the ideographic space) and full-width forms: ，。、！？：；「」《》
CJK_PUNCTUATION = "\u3001-\u303f\uff01-\uff65"


class VocabError(RuntimeError):
    """The extension could not be built (no curated data, or the written tokenizer failed its checks)."""


class ExtendSection(Section):
    """`tokenizer.extend`: add frequent Chinese characters the base tokenizer splits into pieces."""

    enabled: bool = False
    max_new_tokens: int = Field(8076, ge=1, description="add at most this many tokens (ChatFlow: 8,076)")
    min_frequency: int = Field(5, ge=1, description="a character must occur this often in curated Chinese data")
    punctuation: bool = Field(True, description="also count CJK punctuation and full-width forms (，。？「」)")
    measure_chars: int = Field(2_000_000, ge=1000, description="characters per language for chars_per_token")


class TokenizerSection(Section):
    """Recipe section `tokenizer`."""

    path: InputPath = Field(description="Hugging Face tokenizer folder (tokenizer.json and/or tokenizer.model)")
    trust_remote_code: bool = False
    extend: ExtendSection = Field(default_factory=ExtendSection)


def tokenizer_in_effect(recipe: Recipe) -> Path | None:
    """The tokenizer every stage uses (docs/formats.md): `workdir/tokenizer/` once the vocabulary
    extension has written it, else the recipe's `tokenizer.path`; None when the recipe names none."""
    extended = recipe.workdir / "tokenizer"
    if (extended / "tokenizer_config.json").is_file():
        return extended
    if not recipe.has("tokenizer"):
        return None
    return recipe.section("tokenizer", TokenizerSection).path


# ---------------------------------------------------------------------------------------------------
# which text is Chinese, which English


def _documents(folder: Path) -> Iterator[dict]:
    from curation.io import iter_documents

    if folder.is_dir() and any(folder.glob("*.parquet")):
        yield from iter_documents(folder)


def source_folders(root: Path) -> list[Path]:
    """The per-source document folders under `curated/` or `heldout/` (sorted, so runs are reproducible)."""
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def texts_by_language(doc: dict) -> Iterator[tuple[str, str]]:
    """(language, text) pieces of one curated document: both sides of a pair, a conversation as a whole."""
    meta = doc.get("metadata") or {}
    kind = meta.get("kind", "mono")
    language = meta.get("language")
    if kind == "parallel":
        if meta.get("zh"):
            yield "zh", str(meta["zh"])
        if meta.get("en"):
            yield "en", str(meta["en"])
    elif kind == "instruct":
        text = "\n\n".join(str(m.get("content", "")) for m in meta.get("messages") or []) or doc["text"]
        # a conversation of unknown or mixed language still teaches its Chinese characters
        yield (language if language in ("zh", "en") else "mixed"), text
    elif language in ("zh", "en"):
        yield language, doc["text"]


def count_characters(folders: Iterable[Path], *, punctuation: bool = True) -> tuple[Counter, dict]:
    """Occurrences of every Chinese character in the Chinese text of `folders`, and what was read."""
    pattern = re.compile(f"[{HAN}{CJK_PUNCTUATION if punctuation else ''}]")
    counts: Counter = Counter()
    stats = {"documents": 0, "chars": 0}
    for folder in folders:
        for doc in _documents(folder):
            stats["documents"] += 1
            for language, text in texts_by_language(doc):
                if language != "en":
                    stats["chars"] += len(text)
                    counts.update(pattern.findall(text))
    return counts, stats


def measurement_texts(heldout: list[Path], curated: list[Path], limit: int) -> tuple[dict[str, list[str]], dict]:
    """Up to `limit` characters of zh and of en text (mono documents and the sides of pairs): held-out
    documents, else (said so in `measured_on`) curated ones."""
    texts: dict[str, list[str]] = {}
    origin: dict[str, dict] = {}
    for language in ("zh", "en"):
        for where, folders in (("heldout", heldout), ("curated", curated)):
            picked, n_chars = [], 0
            for folder in folders:
                for doc in _documents(folder):
                    if (doc.get("metadata") or {}).get("kind") == "instruct":
                        continue  # conversations mix languages (translation prompts): not a clean measure
                    for lang, text in texts_by_language(doc):
                        if lang == language and text.strip() and n_chars < limit:
                            picked.append(text)
                            n_chars += len(text)
                    if n_chars >= limit:
                        break
                if n_chars >= limit:
                    break
            if picked:
                texts[language] = picked
                origin[language] = {"from": where, "texts": len(picked), "chars": n_chars}
                break
        else:
            origin[language] = {"from": None, "texts": 0, "chars": 0}
    return texts, origin


def chars_per_token(tokenizer, texts: list[str]) -> float | None:
    """Characters per token (no special tokens); higher means shorter sequences for the same text."""
    if not texts:
        return None
    n_tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"])
    return round(sum(len(t) for t in texts) / max(n_tokens, 1), 4)


# ---------------------------------------------------------------------------------------------------
# the tokenizer


def load_tokenizer(path: Path | str, trust_remote_code: bool = False):
    """A Hugging Face tokenizer from a folder; it must be a fast (tokenizers) one for extension."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise VocabError(f"{path}: not a loadable Hugging Face tokenizer folder: {err}") from None
    if getattr(tokenizer, "backend_tokenizer", None) is None:
        raise VocabError(f"{path}: {type(tokenizer).__name__} has no `tokenizers` backend (tokenizer.json); "
                         "vocabulary extension needs one")
    return tokenizer


def _has_byte_level(component: dict | None) -> bool:
    if not component:
        return False
    if component.get("type") == "ByteLevel":
        return True
    return any(_has_byte_level(c) for c in component.get("pretokenizers", []) + component.get("normalizers", []))


def extension_method(tokenizer) -> str:
    """`model_vocab` for character-level BPE (SentencePiece style), else `added_tokens` (see module doc)."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model", {})
    if model.get("type") == "BPE" and not _has_byte_level(spec.get("pre_tokenizer")) and not _has_byte_level(spec.get("normalizer")):
        return "model_vocab"
    return "added_tokens"


def is_single_token(tokenizer, text: str) -> bool:
    """Whether the tokenizer has `text` as one token of its own (SentencePiece's "▁" prefix aside)."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    content = [i for i in ids if tokenizer.decode([i]).strip()]
    return len(content) == 1 and tokenizer.decode(content) == text


def split_by_base(base, counts: Counter) -> Counter:
    """The counted characters the base tokenizer does not have as one token."""
    return Counter({char: n for char, n in counts.items() if not is_single_token(base, char)})


def select_new_tokens(split: Counter, max_new_tokens: int, min_frequency: int) -> list[tuple[str, int]]:
    """The most frequent (ties: by code point) of `split` that occur at least `min_frequency` times."""
    ranked = sorted(split.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(char, n) for char, n in ranked if n >= min_frequency][:max_new_tokens]


def write_extended(base, tokens: list[str], out: Path) -> str:
    """Write `base` plus `tokens` (ids from the first free id on, in order) to `out`; returns the method."""
    from tokenizers import AddedToken

    method = extension_method(base)
    first_id = max(base.get_vocab().values()) + 1
    if method == "added_tokens":
        added = base.add_tokens([AddedToken(t, normalized=False, special=False) for t in tokens])
        if added != len(tokens):
            raise VocabError(f"the tokenizer accepted {added} of {len(tokens)} new tokens")
        base.save_pretrained(str(out))
        return method
    base.save_pretrained(str(out))
    spec_file = out / "tokenizer.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    for offset, token in enumerate(tokens):
        vocab[token] = first_id + offset
    spec_file.write_text(json.dumps(spec, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "tokenizer.model").unlink(missing_ok=True)  # a stale SentencePiece model must not be picked up instead
    return method


def verify(base, path: Path, added: list[dict], trust_remote_code: bool = False):
    """Load the written tokenizer and check the promises: old ids kept, new tokens used, round trip."""
    new = load_tokenizer(path, trust_remote_code)
    new_vocab = new.get_vocab()
    moved = [t for t, i in base.get_vocab().items() if new_vocab.get(t) != i]
    if moved:
        raise VocabError(f"{path}: {len(moved)} base tokens changed id (e.g. {moved[:3]})")
    for entry in added:
        if new_vocab.get(entry["token"]) != entry["id"]:
            raise VocabError(f"{path}: new token {entry['token']!r} has id {new_vocab.get(entry['token'])}, not {entry['id']}")
    probe = "".join(e["token"] for e in added) + " mixed 中英 text, 鱼 and fish."
    ids = new.encode(probe, add_special_tokens=False)
    unused = {e["id"] for e in added} - set(ids)
    if unused:
        raise VocabError(f"{path}: {len(unused)} new tokens are not used when encoding text that contains them")
    if new.decode(ids) != probe:
        raise VocabError(f"{path}: encode/decode does not round-trip: {new.decode(ids)!r}")
    return new


# ---------------------------------------------------------------------------------------------------
# the command


def extend_vocabulary(recipe: Recipe, *, force: bool = False, console=None) -> dict:
    """Build `workdir/tokenizer/` and its `vocab_extension.json` from the recipe; returns the JSON."""
    if not recipe.has("tokenizer"):
        raise RecipeError(["tokenizer: section is missing; vocabulary extension needs tokenizer.path"], recipe.path)
    cfg = recipe.section("tokenizer", TokenizerSection)
    workdir = recipe.workdir
    out = workdir / "tokenizer"
    if (out / "vocab_extension.json").is_file() and not force:
        raise VocabError(f"{out} already exists; pass --force to rebuild it (then re-tokenize with "
                         "`python -m curation.run RECIPE --force tokenize`)")
    curated = source_folders(workdir / "curated")
    if not curated:
        raise VocabError(f"{workdir / 'curated'}: no curated documents; run `python -m curation.run {recipe.path or 'RECIPE'}` first")
    counts, counted = count_characters(curated, punctuation=cfg.extend.punctuation)
    if not counts:
        raise VocabError(f"{workdir / 'curated'}: no Chinese characters in the curated Chinese data; nothing to add")
    base = load_tokenizer(cfg.path, cfg.trust_remote_code)
    base_vocab_size = max(base.get_vocab().values()) + 1
    split = split_by_base(base, counts)
    chosen = select_new_tokens(split, cfg.extend.max_new_tokens, cfg.extend.min_frequency)
    added = [
        {"token": char, "id": base_vocab_size + k, "base_ids": base.encode(char, add_special_tokens=False), "count": count}
        for k, (char, count) in enumerate(chosen)
    ]
    texts, measured_on = measurement_texts(source_folders(workdir / "heldout"), curated, cfg.extend.measure_chars)
    before = {lang: chars_per_token(base, texts.get(lang, [])) for lang in ("zh", "en")}

    tmp = out.with_name(out.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    method = write_extended(base, [e["token"] for e in added], tmp)
    base = load_tokenizer(cfg.path, cfg.trust_remote_code)  # write_extended may have added tokens to the object
    new = verify(base, tmp, added, cfg.trust_remote_code) if added else load_tokenizer(tmp, cfg.trust_remote_code)
    result = {
        "format_version": FORMAT_VERSION,
        "base": str(cfg.path),
        "base_vocab_size": base_vocab_size,
        "vocab_size": len(new),
        "method": method,
        "max_new_tokens": cfg.extend.max_new_tokens,
        "min_frequency": cfg.extend.min_frequency,
        "counted": {**counted, "distinct": len(counts), "occurrences": sum(counts.values()),
                    "split_by_base": sum(split.values()), "covered_by_added": sum(e["count"] for e in added)},
        "added": added,
        "chars_per_token": {lang: {"before": before[lang], "after": chars_per_token(new, texts.get(lang, []))}
                            for lang in ("zh", "en")},
        "measured_on": measured_on,
    }
    (tmp / "vocab_extension.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    if console is not None:
        print_summary(result, console)
    return result


def print_summary(result: dict, console) -> None:
    """A short table: vocabulary sizes, coverage, characters per token before and after."""
    from rich.table import Table

    table = Table(title=f"vocabulary extension ({result['method']})", show_header=True)
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("ratio", justify="right")
    table.add_row("vocab size", f"{result['base_vocab_size']:,}", f"{result['vocab_size']:,}", f"+{len(result['added']):,}")
    for lang in ("zh", "en"):
        cpt = result["chars_per_token"][lang]
        where = result["measured_on"][lang]["from"] or "no text"
        if cpt["before"] is None:
            table.add_row(f"chars/token {lang} ({where})", "-", "-", "-")
        else:
            table.add_row(f"chars/token {lang} ({where})", f"{cpt['before']:.3f}", f"{cpt['after']:.3f}",
                          f"{cpt['after'] / cpt['before']:.2f}x")
    console.print(table)
    counted = result["counted"]
    if counted["split_by_base"]:
        console.print(f"{counted['covered_by_added'] / counted['split_by_base']:.1%} of the Chinese character occurrences "
                      f"the base split into pieces are now one token; top: "
                      + " ".join(f"{e['token']}({e['count']})" for e in result["added"][:10]))
    for lang in ("zh", "en"):
        if result["measured_on"][lang]["from"] == "curated":
            console.print(f"[yellow]note:[/yellow] no held-out {lang} text; chars/token {lang} measured on curated data "
                          "(the data the characters were chosen from, so optimistic)")


def enabled(ctx) -> bool:
    """Run as a curation stage only when the recipe enables the extension."""
    return ctx.recipe.has("tokenizer") and ctx.recipe.section("tokenizer", TokenizerSection).extend.enabled


def run(ctx, inputs: dict[str, Path]) -> dict[str, Path]:
    """Curation stage: extend the vocabulary unless `workdir/tokenizer/` exists (or the stage is forced)."""
    from rich.console import Console

    console = Console(stderr=True)
    written = ctx.workdir / "tokenizer" / "vocab_extension.json"
    if "vocab" not in getattr(ctx, "force", ()) and written.is_file():
        console.print(f"[dim]        vocab: {written.parent} exists, kept (--force vocab rebuilds it)[/dim]")
        return inputs
    try:
        extend_vocabulary(ctx.recipe, force=True, console=console)
    except VocabError as err:
        from curation.stages import StageError

        raise StageError(f"vocab: {err}") from None
    return inputs


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    parser = argparse.ArgumentParser(prog="python -m curation.vocab", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe YAML with a `tokenizer` section")
    parser.add_argument("--workdir", help="override the recipe's workdir")
    parser.add_argument("--force", action="store_true", help="rebuild workdir/tokenizer/ when it exists")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    try:
        recipe = Recipe.load(args.recipe)
        if args.workdir:
            recipe.data["workdir"] = str(Path(args.workdir).resolve())
        result = extend_vocabulary(recipe, force=args.force, console=console)
    except (RecipeError, VocabError) as err:
        console.print(f"error: {err}", style="red", markup=False, soft_wrap=True)
        return 2
    console.print(f"wrote {recipe.workdir / 'tokenizer'} ({len(result['added'])} new tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
