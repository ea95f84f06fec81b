"""Vocabulary extension (ChatFlow): add the frequent Chinese characters (and, optionally, words) the base
tokenizer splits into pieces.

    python -m curation.vocab RECIPE [--workdir DIR] [--force]

Counts Chinese characters in `workdir/curated/` (mono zh text, the zh side of parallel pairs, Chinese
instruction conversations), keeps those the base tokenizer does not encode as one token in running text,
adds the `tokenizer.extend.max_new_tokens` most frequent with at least `min_frequency` occurrences and,
with `tokenizer.extend.words.enabled`, then up to `words.max_new_words` multi-character words (jieba
segmentation), and writes `workdir/tokenizer/` (a Hugging Face tokenizer folder) and
`vocab_extension.json` (docs/formats.md). Old ids never change; new ids follow them. The command needs
`tokenizer.extend.enabled: true`: the recipe, not a flag, says which tokenizer the later stages use.

How a token is added depends on how the base tokenizer sees text:

- character-level BPE (SentencePiece/LLaMA-style, `byte_fallback`): the BPE model splits every word into
  characters before merging and falls back to bytes only for characters missing from its vocab, so a
  character is added to the model's vocab (`method: model_vocab`), no merges needed, and a word gets
  one new merge of the two tokens BPE already builds it from, ranked after every base merge; the
  tokenizer stays a plain BPE with the same normalizer, pre-tokenizer and decoder.
- anything else (byte-level BPE as in GPT-2/LLaMA-3, Unigram, WordPiece): the model never sees a whole
  CJK character (byte-level splits it into bytes first), so characters and words are added tokens,
  matched in the raw text before pre-tokenization, also inside words (`method: added_tokens`).

Both are checked after writing: the written folder is loaded again, every base token keeps its id,
every new token encodes to its new id in running text and a text of all new tokens decodes back unchanged.

Recipe section `tokenizer` (read also by tokenize, train and evaluation): the tokenizer in effect is
`workdir/tokenizer/` when the extension is enabled and that folder was built from the recipe's base
tokenizer and extend settings (recorded in `vocab_extension.json`), else `tokenizer.path`; any mismatch
is an error, never a silent mix.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from common.recipe import Recipe, RecipeError
from common.text import CJK_PUNCTUATION, HAN
from common.tokenizer import (
    TokenizerLoadError,
    TokenizerSection,
    check_extension,
    extend_settings,
    is_extension_built,
    read_extension_record,
    recipe_changes,
    tokenizer_files_sha256,
)
from common.tokenizer import load_tokenizer as common_load_tokenizer

FORMAT_VERSION = 2
WORD = re.compile(f"[{HAN}]{{2,}}")


class VocabError(RuntimeError):
    """The extension could not be built (no curated data, or the written tokenizer failed its checks)."""


# ---------------------------------------------------------------------------------------------------
# which text is Chinese, which English


def _documents(folder: Path) -> Iterator[dict]:
    from common.documents import iter_documents

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


def chinese_texts(folders: Iterable[Path]) -> Iterator[str]:
    """The texts of `folders` that are not English (what characters and words are counted on)."""
    for folder in folders:
        for doc in _documents(folder):
            for language, text in texts_by_language(doc):
                if language != "en":
                    yield text


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


def load_jieba():
    """jieba, quiet; a VocabError that says how to install it when it is missing."""
    try:
        import jieba
    except ImportError:
        raise VocabError("tokenizer.extend.words needs the jieba word segmenter: `pip install jieba` "
                         "(or disable tokenizer.extend.words)") from None
    jieba.setLogLevel(logging.WARNING)
    return jieba


def count_words(folders: Iterable[Path], max_chars: int) -> tuple[Counter, dict]:
    """Occurrences of every word of 2+ Chinese characters (jieba) in the first `max_chars` characters of
    the Chinese text of `folders`, and how much was segmented."""
    jieba = load_jieba()
    counts: Counter = Counter()
    segmented = 0
    for text in chinese_texts(folders):
        if segmented >= max_chars:
            break
        text = text[: max_chars - segmented]
        segmented += len(text)
        counts.update(word for word in jieba.cut(text) if WORD.fullmatch(word))
    return counts, {"segmented_chars": segmented}


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
    try:
        return common_load_tokenizer(path, trust_remote_code=trust_remote_code, require_fast=True)
    except TokenizerLoadError as err:
        raise VocabError(f"{err}; vocabulary extension needs one") from None


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


def _without_prefix_space(component: dict | None) -> dict | None:
    """A normalizer or pre-tokenizer spec that no longer puts a space ("▁", "Ġ") before the text."""
    if not isinstance(component, dict):
        return component
    kind = component.get("type")
    if kind == "Prepend":
        return None
    if kind == "Sequence":
        key = "normalizers" if "normalizers" in component else "pretokenizers"
        parts = [_without_prefix_space(c) for c in component.get(key, [])]
        return {**component, key: [c for c in parts if c is not None]}
    if kind == "Metaspace":
        return {**component, "prepend_scheme": "never"} if "prepend_scheme" in component \
            else {**component, "add_prefix_space": False}
    if kind == "ByteLevel":
        return {**component, "add_prefix_space": False}
    return component


def running_text_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """The ids each text gets inside running text: encoded alone, but without the prefix space that
    SentencePiece-style tokenizers put before the first word (LLaMA-2 encodes "鱼" alone as "▁" + bytes,
    after another character as the bytes only)."""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec["normalizer"] = _without_prefix_space(spec.get("normalizer"))
    spec["pre_tokenizer"] = _without_prefix_space(spec.get("pre_tokenizer"))
    bare = Tokenizer.from_str(json.dumps(spec))
    return [encoding.ids for encoding in bare.encode_batch(list(texts), add_special_tokens=False)]


def single_tokens(tokenizer, texts: list[str]) -> set[str]:
    """The texts the tokenizer encodes as one token of their own inside running text."""
    return {text for text, ids in zip(texts, running_text_ids(tokenizer, texts), strict=True)
            if len(ids) == 1 and tokenizer.decode(ids) == text}


def is_single_token(tokenizer, text: str) -> bool:
    """Whether the tokenizer encodes `text` as one token of its own inside running text."""
    return text in single_tokens(tokenizer, [text])


def split_by_base(base, counts: Counter) -> Counter:
    """The counted characters (or words) the base tokenizer does not have as one token in running text."""
    single = single_tokens(base, sorted(counts))
    return Counter({text: n for text, n in counts.items() if text not in single})


def select_new_tokens(split: Counter, max_new_tokens: int, min_frequency: int) -> list[tuple[str, int]]:
    """The most frequent (ties: by code point) of `split` that occur at least `min_frequency` times."""
    ranked = sorted(split.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(char, n) for char, n in ranked if n >= min_frequency][:max_new_tokens]


def _bpe(word: str, vocab: dict[str, int], ranks: dict[tuple[str, str], int]) -> list[str] | None:
    """The symbols a character-level BPE turns `word` into (None when a character is not in `vocab`,
    so byte fallback would split it and no merge could join it)."""
    if any(char not in vocab for char in word):
        return None
    symbols = list(word)
    while len(symbols) > 1:
        best = min(((ranks[pair], i) for i, pair in enumerate(zip(symbols, symbols[1:], strict=False)) if pair in ranks),
                   default=None)
        if best is None:
            break
        i = best[1]
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def plan_word_merges(base, chars: list[str], words: list[tuple[str, int]], max_new_words: int
                     ) -> tuple[list[tuple[str, int]], list[tuple[str, str]], int]:
    """For `model_vocab`: the words (most frequent first) that one new merge can build, the merges and
    how many candidates no merge could build. A merge (left, right) ranked after every existing merge
    applies only once no base merge can, so it never changes how text without both halves is segmented,
    and it joins exactly the two tokens BPE already builds the word from. A longer word that needs a
    shorter one first (大学生 = 大 + 学生) is retried once that one is in, so it may follow it."""
    spec = json.loads(base.backend_tokenizer.to_str())["model"]
    vocab = dict(spec["vocab"])
    vocab.update({char: -1 for char in chars})
    ranks = {tuple(m.split(" ", 1) if isinstance(m, str) else m): rank for rank, m in enumerate(spec.get("merges", []))}
    chosen, merges, rejected = [], [], set()
    pending = [(word, count) for word, count in words if word not in vocab]
    while pending and len(chosen) < max_new_words:
        retry = []
        for word, count in pending:
            if len(chosen) == max_new_words:
                break
            symbols = _bpe(word, vocab, ranks)
            if symbols is None:
                rejected.add(word)  # a character still needs byte fallback: no merge can join its bytes
            elif len(symbols) != 2:
                rejected.add(word)  # would need an intermediate token (3+ pieces)
                retry.append((word, count))
            else:
                rejected.discard(word)
                ranks[(symbols[0], symbols[1])] = len(ranks)
                vocab[word] = -1
                chosen.append((word, count))
                merges.append((symbols[0], symbols[1]))
        if len(retry) == len(pending):
            break
        pending = retry
    return chosen, merges, len(rejected)


def write_extended(base, tokens: list[str], out: Path, merges: list[tuple[str, str]] = ()) -> str:
    """Write `base` plus `tokens` (ids from the first free id on, in order; `merges` appended after the
    base merges, `model_vocab` only) to `out`; returns the method."""
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
    old_merges = spec["model"].setdefault("merges", [])
    as_strings = bool(old_merges) and isinstance(old_merges[0], str)
    old_merges.extend(f"{left} {right}" if as_strings else [left, right] for left, right in merges)
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
    tokens = [e["token"] for e in added]
    not_produced = [e["token"] for e, ids in zip(added, running_text_ids(new, tokens), strict=True) if ids != [e["id"]]]
    if not_produced:
        raise VocabError(f"{path}: {len(not_produced)} new tokens do not encode to their id in running text "
                         f"(e.g. {not_produced[:3]})")
    probe = "\n".join(tokens) + " mixed 中英 text, 鱼 and fish."
    ids = new.backend_tokenizer.encode(probe, add_special_tokens=False).ids  # no warning past model_max_length
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
    if not cfg.extend.enabled:
        raise RecipeError([recipe._where(("tokenizer", "extend", "enabled")) + "tokenizer.extend.enabled is false: "
                           "the recipe asks for no vocabulary extension; set it to true to build one"], recipe.path)
    workdir = recipe.workdir
    out = workdir / "tokenizer"
    if (out / "vocab_extension.json").is_file() and not force:
        record = read_extension_record(out)
        changes = recipe_changes(cfg, record) if record is not None else ["its vocab_extension.json is unreadable"]
        state = f"was built from another tokenizer recipe ({'; '.join(changes)})" if changes else "matches the recipe"
        raise VocabError(f"{out} already exists and {state}; pass --force to rebuild it (then re-tokenize with "
                         "`python -m curation.run RECIPE --force tokenize`)")
    words_cfg = cfg.extend.words
    if words_cfg.enabled:
        load_jieba()  # before minutes of counting
    curated = source_folders(workdir / "curated")
    if not curated:
        raise VocabError(f"{workdir / 'curated'}: no curated documents; run `python -m curation.run {recipe.path or 'RECIPE'}` first")
    counts, counted = count_characters(curated, punctuation=cfg.extend.punctuation)
    if not counts:
        raise VocabError(f"{workdir / 'curated'}: no Chinese characters in the curated Chinese data; nothing to add")
    base = load_tokenizer(cfg.path, cfg.trust_remote_code)
    base_vocab_size = max(base.get_vocab().values()) + 1
    method = extension_method(base)
    split = split_by_base(base, counts)
    chosen = select_new_tokens(split, cfg.extend.max_new_tokens, cfg.extend.min_frequency)
    merges: list[tuple[str, str]] = []
    words_record = None
    chosen_words: list[tuple[str, int]] = []
    if words_cfg.enabled:
        word_counts, segmented = count_words(curated, words_cfg.max_chars)
        split_words = split_by_base(base, word_counts)
        ranked = select_new_tokens(split_words, len(split_words), words_cfg.min_frequency)
        skipped = 0
        if method == "model_vocab":
            chosen_words, merges, skipped = plan_word_merges(base, [c for c, _ in chosen], ranked, words_cfg.max_new_words)
        else:
            chosen_words = ranked[: words_cfg.max_new_words]
        words_record = {**segmented, "distinct": len(word_counts), "occurrences": sum(word_counts.values()),
                        "split_by_base": sum(split_words.values()), "covered_by_added": sum(n for _, n in chosen_words),
                        "skipped_not_buildable": skipped}
    new_tokens = [(text, n, "char") for text, n in chosen] + [(text, n, "word") for text, n in chosen_words]
    base_ids = running_text_ids(base, [text for text, _, _ in new_tokens])  # no "▁" prefix: see running_text_ids
    added = [{"token": text, "id": base_vocab_size + k, "kind": kind, "base_ids": ids, "count": n}
             for k, ((text, n, kind), ids) in enumerate(zip(new_tokens, base_ids, strict=True))]
    texts, measured_on = measurement_texts(source_folders(workdir / "heldout"), curated, cfg.extend.measure_chars)
    before = {lang: chars_per_token(base, texts.get(lang, [])) for lang in ("zh", "en")}

    tmp = out.with_name(out.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    write_extended(base, [e["token"] for e in added], tmp, merges)
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
        "built_from": {"base": str(cfg.path), "base_sha256": tokenizer_files_sha256(cfg.path),
                       "extend": extend_settings(cfg.extend)},
        "counted": {**counted, "distinct": len(counts), "occurrences": sum(counts.values()),
                    "split_by_base": sum(split.values()), "covered_by_added": sum(n for _, n in chosen)},
        "words": words_record,
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

    n_words = sum(1 for e in result["added"] if e.get("kind") == "word")
    table = Table(title=f"vocabulary extension ({result['method']})", show_header=True)
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("ratio", justify="right")
    table.add_row("vocab size", f"{result['base_vocab_size']:,}", f"{result['vocab_size']:,}",
                  f"+{len(result['added']) - n_words:,} chars" + (f", +{n_words:,} words" if result.get("words") else ""))
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
    words = result.get("words")
    if words:
        share = f"{words['covered_by_added'] / words['split_by_base']:.1%}" if words["split_by_base"] else "-"
        skipped = f"; {words['skipped_not_buildable']:,} skipped (no single merge builds them)" \
            if result["method"] == "model_vocab" else ""
        console.print(f"words (jieba, {words['segmented_chars']:,} chars segmented): {n_words:,} added, {share} of the "
                      f"split word occurrences{skipped}; top: " + " ".join([f"{e['token']}({e['count']})" for e in result["added"] if e["kind"] == "word"][:10]))
    for lang in ("zh", "en"):
        if result["measured_on"][lang]["from"] == "curated":
            console.print(f"[yellow]note:[/yellow] no held-out {lang} text; chars/token {lang} measured on curated data "
                          "(the data the characters were chosen from, so optimistic)")


def validate(ctx) -> None:
    """The recipe's `tokenizer` section (curation.run checks it before any stage runs)."""
    if ctx.recipe.has("tokenizer"):
        ctx.recipe.section("tokenizer", TokenizerSection)


def enabled(ctx) -> bool:
    """Run as a curation stage when the recipe enables the extension, or when it does not but an extended
    tokenizer from an earlier run is left (which `run` then refuses, or removes under `--force vocab`)."""
    if not ctx.recipe.has("tokenizer"):
        return False
    return ctx.recipe.section("tokenizer", TokenizerSection).extend.enabled or is_extension_built(ctx.workdir / "tokenizer")


def run(ctx, inputs: dict[str, Path]) -> dict[str, Path]:
    """Curation stage: extend the vocabulary unless `workdir/tokenizer/` exists and matches the recipe
    (or the stage is forced); one that does not match is an error."""
    from rich.console import Console

    from curation.stages import StageError

    console = Console(stderr=True)
    written = ctx.workdir / "tokenizer" / "vocab_extension.json"
    forced = "vocab" in getattr(ctx, "force", ())
    if not ctx.recipe.section("tokenizer", TokenizerSection).extend.enabled:  # a stale extended tokenizer
        if not forced:
            raise StageError(f"vocab: {check_extension(ctx.recipe)}")
        shutil.rmtree(written.parent)
        console.print(f"[dim]        vocab: extension disabled, {written.parent} removed[/dim]")
        return inputs
    if not forced and written.is_file():
        problem = check_extension(ctx.recipe)
        if problem is not None:
            raise StageError(f"vocab: {problem}")
        console.print(f"[dim]        vocab: {written.parent} exists and matches the recipe, kept "
                      "(--force vocab rebuilds it)[/dim]")
        return inputs
    try:
        extend_vocabulary(ctx.recipe, force=True, console=console)
    except VocabError as err:
        raise StageError(f"vocab: {err}") from None
    return inputs


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    parser = argparse.ArgumentParser(
        prog="python -m curation.vocab", description=__doc__.splitlines()[0] + " " + __doc__.splitlines()[1],
        epilog="Needs tokenizer.extend.enabled: true in the recipe (exit 2 otherwise). Exit 0: written; 2: recipe "
               "or data error, or workdir/tokenizer/ exists (--force rebuilds it).")
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
