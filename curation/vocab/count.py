"""Counting what the extension may add: Chinese characters and jieba words in the curated documents."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from common.documents import iter_documents
from common.text import CJK_PUNCTUATION, HAN
from curation.vocab import VocabError

WORD = re.compile(f"[{HAN}]{{2,}}")


def documents_in(folder: Path) -> Iterator[dict]:
    """The documents of a folder; none when it holds no parquet file (a source with nothing kept)."""
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
        for doc in documents_in(folder):
            for language, text in texts_by_language(doc):
                if language != "en":
                    yield text


def count_characters(folders: Iterable[Path], *, punctuation: bool = True) -> tuple[Counter, dict]:
    """Occurrences of every Chinese character in the Chinese text of `folders`, and what was read."""
    pattern = re.compile(f"[{HAN}{CJK_PUNCTUATION if punctuation else ''}]")
    counts: Counter = Counter()
    stats = {"documents": 0, "chars": 0}
    for folder in folders:
        for doc in documents_in(folder):
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
