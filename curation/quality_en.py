"""Quality filters for English: datatrove's Gopher, C4 and FineWeb filters, Gopher repetition vectorised.

datatrove's Gopher repetition rules are computed here on NumPy arrays (`FastGopherRepetitionFilter`:
identical decisions, several times faster), with whitespace words (`FastEnglishWordTokenizer`) instead
of spaCy's. The Chinese rules are in `curation.quality_zh`.
"""

from __future__ import annotations

import bisect

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
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.word_tokenizers import WordTokenizer

from common.ngrams import MAX_N, ngram_sums
from common.recipe import Section
from common.text import codepoints

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


class EnglishQualitySection(Section):
    """datatrove's Gopher, C4 and FineWeb filters with their published English defaults."""

    enabled: bool = True
    gopher_quality: bool = True
    gopher_repetition: bool = True
    c4: bool = True
    fineweb: bool = True
    min_doc_words: int = 50
    c4_filter_no_terminal_punct: bool = False  # as FineWeb does: C4's line rule removes too much
    # C4 drops every document containing "{": all technical text with code (measured on the demo:
    # 17 of 24 English technical documents). Off, as the Chinese filters keep technical text too.
    c4_filter_curly_bracket: bool = False


class WordNgrams:
    """The word n-grams of a text as 64-bit keys, computed with NumPy from the code points.

    Words are `text.split()`'s. Two keys are equal when the n-grams are equal as datatrove's
    GopherRepetitionFilter compares them (up to 64-bit hash collisions): `" ".join` of the words for
    the top n-gram rule (`common.ngrams` over the word keys), `"".join` (the characters without the
    spaces) for the duplicated n-gram rule (a polynomial hash of the characters, so that "ab c" and
    "a bc" are equal).
    """

    def __init__(self, text: str):
        codes = codepoints(text)
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
        # the rules ask for n = 2, 3, 4...: each n's keys follow from n - 1's, computed when first asked for
        self._more_spaced = ngram_sums(self._words, MAX_N)
        self._spaced: list[np.ndarray] = []

    def _span_keys(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Keys of chars[a:b] for arrays of spans (length mixed in, so spans of different lengths differ)."""
        return (self._prefix[b] - self._prefix[a]) * self._powers[a] ^ (b - a).astype(np.uint64)

    def concatenated(self, n: int) -> np.ndarray:
        """Per n-gram start, the key of its words joined without spaces."""
        return self._span_keys(self.starts[: -n], self.starts[n:])

    def spaced(self, n: int) -> np.ndarray:
        """Per n-gram start (n <= n_words), the key of its tuple of words (equal iff `" ".join` is equal)."""
        while len(self._spaced) < n:
            self._spaced.append(next(self._more_spaced))
        return self._spaced[n - 1]

    def chars(self, n: int) -> np.ndarray:
        """Per n-gram start, the number of characters of its words (without spaces)."""
        return self.starts[n:] - self.starts[:-n]


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
    excluded_name = "gopher_repetition"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(self.language, FastEnglishWordTokenizer):
            raise ValueError("FastGopherRepetitionFilter splits words on whitespace: pass language=FastEnglishWordTokenizer()")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not text:
            return False, "empty"
        paragraphs = self.paragraph_exp.split(text.strip())
        paragraphs_duplicates, char_duplicates = find_duplicates(paragraphs)
        if self.dup_para_frac and paragraphs_duplicates / len(paragraphs) > self.dup_para_frac:
            return False, "dup_para_frac"
        if self.dup_para_char_frac and char_duplicates / len(text) > self.dup_para_char_frac:
            return False, "dup_para_char_frac"
        lines = self._line_splitter.split(text)
        line_duplicates, char_duplicates = find_duplicates(lines)
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


class EnglishGopherQualityFilter(GopherQualityFilter):
    """datatrove's `GopherQualityFilter`, setting its removals aside in their own excluded/ folder."""

    excluded_name = "gopher_quality"


class EnglishC4QualityFilter(C4QualityFilter):
    """datatrove's `C4QualityFilter`, setting its removals aside in their own excluded/ folder."""

    excluded_name = "c4"


class EnglishFineWebQualityFilter(FineWebQualityFilter):
    """datatrove's `FineWebQualityFilter`, setting its removals aside in their own excluded/ folder."""

    excluded_name = "fineweb"


# every step `english_filters` can return, in pipeline order
ENGLISH_FILTERS = (
    FastGopherRepetitionFilter,
    EnglishGopherQualityFilter,
    EnglishC4QualityFilter,
    EnglishFineWebQualityFilter,
)


def english_filters(config: EnglishQualitySection) -> list[BaseFilter]:
    """datatrove's English filters with their published defaults, those the recipe enables, in order."""
    tokenizer = FastEnglishWordTokenizer()
    steps: list[BaseFilter] = []
    if config.gopher_repetition:
        steps.append(FastGopherRepetitionFilter(language=tokenizer))
    if config.gopher_quality:
        steps.append(EnglishGopherQualityFilter(min_doc_words=config.min_doc_words, language=tokenizer))
    if config.c4:
        steps.append(
            EnglishC4QualityFilter(
                filter_no_terminal_punct=config.c4_filter_no_terminal_punct,
                filter_curly_bracket=config.c4_filter_curly_bracket,
                language=tokenizer,
            )
        )
    if config.fineweb:
        steps.append(EnglishFineWebQualityFilter(language=tokenizer))
    return steps
