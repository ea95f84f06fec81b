"""Quality filters: character-based heuristics for Chinese, datatrove's Gopher/C4/FineWeb for English.

datatrove's English defaults measure *words* (whitespace or spaCy tokens, average word length, stop
words); Chinese has no spaces, so those rules remove almost every Chinese document. The Chinese filter
below applies the same families of rules (Gopher repetition, FineWeb line statistics, a stop-character
check; thresholds after FineWeb-2's cmn_Hani settings) to characters, vectorised with NumPy so it is
not slower than the English word-level filters. For English, datatrove's Gopher repetition rules are
computed the same way (`FastGopherRepetitionFilter`: identical decisions, several times faster).
"""

from __future__ import annotations

import bisect
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

from curation.config import ChineseQualitySection, EnglishQualitySection

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

    def __init__(self, config: ChineseQualitySection, exclusion_writer: DiskWriter | None = None):
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


_IS_SPACE = np.array([chr(c).isspace() for c in range(0x3100)])  # what str.split() splits on (none above U+3000)
_B = 0x9E3779B97F4A7C15  # odd, so invertible mod 2**64
_B_INVERSE = pow(_B, -1, 2**64)
_POWERS = np.zeros(0, dtype=np.uint64)  # B**j, grown on demand
_INVERSE_POWERS = np.zeros(0, dtype=np.uint64)  # B**-j


def _cumulative_powers(base: int, size: int) -> np.ndarray:
    factors = np.full(size, base, dtype=np.uint64)
    factors[0] = 1
    return np.cumprod(factors, dtype=np.uint64)  # wraps mod 2**64, as intended


def _powers(length: int) -> tuple[np.ndarray, np.ndarray]:
    """B**j and B**-j for j < length."""
    global _POWERS, _INVERSE_POWERS
    if len(_POWERS) < length:
        size = max(length, 2 * len(_POWERS), 1 << 14)
        _POWERS, _INVERSE_POWERS = _cumulative_powers(_B, size), _cumulative_powers(_B_INVERSE, size)
    return _POWERS[:length], _INVERSE_POWERS[:length]


class WordNgrams:
    """The word n-grams of a text as 64-bit keys, computed with NumPy from the code points.

    Words are `text.split()`'s. Two keys are equal when the n-grams are equal as datatrove's
    GopherRepetitionFilter compares them (up to 64-bit polynomial hash collisions): `" ".join` of the
    words for the top n-gram rule, `"".join` (the characters without the spaces) for the duplicated
    n-gram rule.
    """

    def __init__(self, text: str):
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        space = _IS_SPACE[np.minimum(codes, len(_IS_SPACE) - 1)]  # the last entry, U+30FF, is not a space
        chars = codes[~space].astype(np.uint64)
        # word i is chars[starts[i]:starts[i + 1]] (starts has the end appended)
        word_start = ~space
        word_start[1:] &= space[:-1]
        self.starts = np.append(np.cumsum(~space)[word_start] - 1, len(chars)).astype(np.int64)
        self.n_words = len(self.starts) - 1
        # hash of chars[a:b] = (prefix[b] - prefix[a]) * B**a with prefix[k] = sum_{j<k} chars[j] * B**-j:
        # the same for the same characters wherever they are
        self._powers, inverse = _powers(len(chars) + 1)
        self._prefix = np.zeros(len(chars) + 1, dtype=np.uint64)
        np.cumsum(chars * inverse[:-1], out=self._prefix[1:])
        self._words = self._span_keys(self.starts[:-1], self.starts[1:])

    def _span_keys(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Keys of chars[a:b] for arrays of spans (length mixed in, so spans of different lengths differ)."""
        return (self._prefix[b] - self._prefix[a]) * self._powers[a] ^ (b - a).astype(np.uint64)

    def concatenated(self, n: int) -> np.ndarray:
        """Per n-gram start, the key of its words joined without spaces."""
        return self._span_keys(self.starts[: -n], self.starts[n:])

    def spaced(self, n: int) -> np.ndarray:
        """Per n-gram start, the key of its tuple of words (equal iff `" ".join` is equal)."""
        count = self.n_words - n + 1
        keys = self._words[:count] * _NGRAM_WEIGHTS[0]
        for j in range(1, n):
            keys += self._words[j : j + count] * _NGRAM_WEIGHTS[j]
        return keys

    def chars(self, n: int) -> np.ndarray:
        """Per n-gram start, the number of characters of its words (without spaces)."""
        return self.starts[n:] - self.starts[:-n]


_NGRAM_WEIGHTS = np.random.default_rng(0x6F9).integers(1, 2**63, size=16, dtype=np.uint64) | np.uint64(1)


def _has_repeat(keys: np.ndarray) -> bool:
    ordered = np.sort(keys)
    return bool((ordered[1:] == ordered[:-1]).any())


def top_ngram_chars(ngrams: WordNgrams, n: int) -> int:
    """datatrove's `find_top_duplicate(get_n_grams(words, n))`: characters of the most frequent n-gram
    (spaces included) times its count; among equally frequent ones, the first to occur."""
    keys = ngrams.spaced(n)
    if _has_repeat(keys):
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        top, start = int(counts.max()), int(first[counts == counts.max()].min())
    else:
        top, start = 1, 0
    return top * (int(ngrams.starts[start + n] - ngrams.starts[start]) + n - 1)


def repeated_ngram_chars(ngrams: WordNgrams, n: int) -> int:
    """datatrove's `find_all_duplicate(words, n)`: a left-to-right scan that counts the characters of an
    n-gram seen before and then jumps past it, remembering only the n-grams at positions it visits.

    Only positions whose n-gram occurred earlier can count, so the scan runs over those alone (none, in
    most documents); whether an earlier occurrence was visited follows from the jumps taken so far.
    """
    if ngrams.n_words < n:
        return 0
    keys = ngrams.concatenated(n)
    if not _has_repeat(keys):
        return 0
    count = len(keys)
    _, first, group = np.unique(keys, return_index=True, return_inverse=True)
    first_of = first[group]
    repeats = np.flatnonzero(first_of != np.arange(count))
    lengths = ngrams.chars(n)
    hits: list[int] = []  # positions counted as repeated; the scan skips the n - 1 positions after each
    groups_in_set: set[int] = set()  # groups with a visited position other than their first
    repeated = 0
    for position in repeats.tolist():
        if hits and position < hits[-1] + n:
            continue  # jumped over
        g = int(group[position])
        earlier = first_of[position]
        k = bisect.bisect_right(hits, earlier) - 1
        first_visited = k < 0 or earlier >= hits[k] + n
        if g in groups_in_set or first_visited:
            repeated += int(lengths[position])
            hits.append(position)
        else:
            groups_in_set.add(g)
    return repeated


class FastGopherRepetitionFilter(GopherRepetitionFilter):
    """datatrove's `GopherRepetitionFilter`, the same rules, thresholds, order and reasons, with the word
    n-gram rules computed on NumPy arrays instead of joined strings (those were ~45% of the English
    filter stage's time). Words are whitespace-separated, as with `FastEnglishWordTokenizer`."""

    name = "👯 Gopher Repetition (vectorised)"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(self.language, FastEnglishWordTokenizer):
            raise ValueError("FastGopherRepetitionFilter splits words on whitespace: pass language=FastEnglishWordTokenizer()")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not text:
            return False, "empty"
        paragraphs = self.paragraph_exp.split(text.strip())
        paragraphs_duplicates, char_duplicates = _duplicates(paragraphs)
        if self.dup_para_frac and paragraphs_duplicates / len(paragraphs) > self.dup_para_frac:
            return False, "dup_para_frac"
        if self.dup_para_char_frac and char_duplicates / len(text) > self.dup_para_char_frac:
            return False, "dup_para_char_frac"
        lines = self._line_splitter.split(text)
        line_duplicates, char_duplicates = _duplicates(lines)
        if self.dup_line_frac and line_duplicates / len(lines) > self.dup_line_frac:
            return False, "dup_line_frac"
        if self.dup_line_char_frac and char_duplicates / len(text) > self.dup_line_char_frac:
            return False, "dup_line_char_frac"
        ngrams = WordNgrams(text)
        for n, n_frac in self.top_n_grams:
            if ngrams.n_words >= n and top_ngram_chars(ngrams, n) / len(text) > n_frac:
                return False, f"top_{n}_gram"
        for n, n_frac in self.dup_n_grams:
            if repeated_ngram_chars(ngrams, n) / len(text) > n_frac:
                return False, f"duplicated_{n}_n_grams"
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


def english_filters(config: EnglishQualitySection, excluded) -> list[BaseFilter]:
    """datatrove's English filters with their published defaults, each writing its own excluded/ folder."""
    tokenizer = FastEnglishWordTokenizer()
    steps: list[BaseFilter] = []
    if config.gopher_repetition:
        steps.append(FastGopherRepetitionFilter(language=tokenizer, exclusion_writer=excluded("gopher_repetition")))
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
