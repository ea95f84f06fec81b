"""Quality filters: character-based heuristics for Chinese, datatrove's Gopher/C4/FineWeb for English.

datatrove's English defaults measure *words* (whitespace or spaCy tokens, average word length, stop
words); Chinese has no spaces, so those rules remove almost every Chinese document. The Chinese filter
below applies the same families of rules (Gopher repetition, FineWeb line statistics, a stop-character
check; thresholds after FineWeb-2's cmn_Hani settings) to characters, vectorised with NumPy so it is
not slower than the English word-level filters.
"""

from __future__ import annotations

import re

import numpy as np
import regex
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.word_tokenizers import WordTokenizer

from curation.config import ChineseQualityConfig, EnglishQualityConfig

ZH_TERMINAL = tuple("。！？…；」』”）!?.;:：")
_WHITESPACE = re.compile(r"\s+")
_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def _is_han(codes: np.ndarray) -> np.ndarray:
    """CJK unified ideographs (basic block, extension A, compatibility ideographs)."""
    return ((codes >= 0x4E00) & (codes <= 0x9FFF)) | ((codes >= 0x3400) & (codes <= 0x4DBF)) | (
        (codes >= 0xF900) & (codes <= 0xFAFF)
    )


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(number of repeated elements, characters in them), counting every occurrence after the first."""
    seen: set[str] = set()
    n_dup = chars = 0
    for item in items:
        if item in seen:
            n_dup += 1
            chars += len(item)
        else:
            seen.add(item)
    return n_dup, chars


_BASE = np.uint64(1_000_003)


def ngram_hashes(codes: np.ndarray, max_n: int) -> dict[int, np.ndarray]:
    """64-bit polynomial hashes of every character n-gram for n = 1..max_n, built incrementally.

    h_n[i] = h_{n-1}[i] * B + c[i+n-1] (wrap-around uint64 arithmetic is intended), so all n cost
    O(max_n * len) in NumPy instead of one sliding window per n.
    """
    hashes = {1: codes.astype(np.uint64)}
    with np.errstate(over="ignore"):
        for n in range(2, min(max_n, len(codes)) + 1):
            hashes[n] = hashes[n - 1][:-1] * _BASE + hashes[1][n - 1 :]
    return hashes


def top_ngram_fraction(hashes: np.ndarray, n: int, total: int) -> float:
    """Characters covered by the most frequent n-gram (count × n) over all `total` characters."""
    if len(hashes) < 2:
        return 0.0
    _, counts = np.unique(hashes, return_counts=True)
    top = counts.max()
    return float(top * n) / total if top > 1 else 0.0


def duplicate_ngram_fraction(hashes: np.ndarray, n: int, total: int) -> float:
    """Fraction of characters inside repeated occurrences (after the first) of any n-gram."""
    if total < 2 * n or len(hashes) < 2:
        return 0.0
    _, first = np.unique(hashes, return_index=True)
    if len(first) == len(hashes):
        return 0.0
    repeated = np.ones(len(hashes), dtype=bool)
    repeated[first] = False
    starts = np.flatnonzero(repeated)
    cover = np.zeros(total + 1, dtype=np.int32)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + n, -1)
    return float(np.count_nonzero(np.cumsum(cover[:-1]))) / total


class ChineseQualityFilter(BaseFilter):
    """Character-level Gopher repetition + FineWeb line rules + stop characters, for Chinese text."""

    name = "🀄 Chinese quality"

    def __init__(self, config: ChineseQualityConfig, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.config = config
        self._is_stop = np.zeros(0x110000, dtype=bool)  # code point -> is a stop character (1 MB table)
        self._is_stop[[ord(c) for c in config.stop_chars]] = True

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        c = self.config
        text = doc.text.strip()
        chars = _WHITESPACE.sub("", text)
        if len(chars) < c.min_chars:
            return False, "zh_too_short"
        if len(chars) > c.max_chars:
            return False, "zh_too_long"
        codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
        if int(np.count_nonzero(self._is_stop[codes])) < c.min_stop_chars:
            return False, "zh_stop_chars"
        # Repetition is measured on the Han characters only: code, shell output and option lists in
        # technical Chinese text repeat ASCII n-grams by nature and are not Chinese spam.
        han = codes[_is_han(codes)]

        paragraphs = _PARAGRAPHS.split(text)
        n_dup, dup_chars = _duplicates(paragraphs)
        if n_dup / len(paragraphs) > c.dup_para_frac:
            return False, "zh_dup_para_frac"
        if dup_chars / len(text) > c.dup_para_char_frac:
            return False, "zh_dup_para_char_frac"
        lines = [line.strip() for line in _LINES.split(text) if line.strip()]
        n_dup, line_dup_chars = _duplicates(lines)
        if n_dup / len(lines) > c.dup_line_frac:
            return False, "zh_dup_line_frac"
        if line_dup_chars / len(text) > c.dup_line_char_frac:
            return False, "zh_dup_line_char_frac"

        hashes = ngram_hashes(han, max([*c.top_ngrams, *c.dup_ngrams, 1]))
        for n, limit in sorted(c.top_ngrams.items()):
            if n in hashes and top_ngram_fraction(hashes[n], n, len(han)) > limit:
                return False, f"zh_top_{n}_gram"
        for n, limit in sorted(c.dup_ngrams.items()):
            if n in hashes and duplicate_ngram_fraction(hashes[n], n, len(han)) > limit:
                return False, f"zh_dup_{n}_gram"

        # FineWeb line statistics, with Chinese terminal punctuation and character-based line length
        if sum(line.endswith(ZH_TERMINAL) for line in lines) / len(lines) < c.line_punct_thr:
            return False, "zh_line_punct_ratio"
        if sum(len(line) <= c.short_line_length for line in lines) / len(lines) > c.short_line_thr:
            return False, "zh_short_line_ratio"
        if line_dup_chars / max(1, len(chars)) > c.char_dup_ratio:
            return False, "zh_char_dup_ratio"
        if text.count("\n") / len(chars) > c.new_line_ratio:
            return False, "zh_list_ratio"
        return True


class FastEnglishWordTokenizer(WordTokenizer):
    """Whitespace words and a regex sentence splitter for English, instead of datatrove's spaCy one.

    Words are whitespace-separated tokens, as in the Gopher paper's rules ("80% of words contain an
    alphabetic character"): spaCy splits `foo(bar)` and `--verbose` into symbol tokens, which makes
    datatrove remove English technical text with code. It is also several times faster.
    """
    _SENTENCES = regex.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)")

    def __init__(self):
        super().__init__("en")

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [s.strip() for s in self._SENTENCES.findall(text) if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self._SENTENCES.finditer(text) if m.group().strip()]

    def __reduce__(self):
        return (FastEnglishWordTokenizer, ())


def english_filters(config: EnglishQualityConfig, excluded) -> list[BaseFilter]:
    """datatrove's English filters with their published defaults, each writing its own excluded/ folder."""
    tokenizer = FastEnglishWordTokenizer()
    steps: list[BaseFilter] = []
    if config.gopher_repetition:
        steps.append(GopherRepetitionFilter(language=tokenizer, exclusion_writer=excluded("gopher_repetition")))
    if config.gopher_quality:
        steps.append(
            GopherQualityFilter(min_doc_words=config.min_doc_words, language=tokenizer, exclusion_writer=excluded("gopher_quality"))
        )
    if config.c4:
        steps.append(
            C4QualityFilter(
                filter_no_terminal_punct=config.c4_filter_no_terminal_punct,
                filter_curly_bracket=config.c4_filter_curly_bracket,
                language=tokenizer,
                exclusion_writer=excluded("c4"),
            )
        )
    if config.fineweb:
        steps.append(FineWebQualityFilter(language=tokenizer, exclusion_writer=excluded("fineweb")))
    return steps
