"""Quality filters for English: datatrove's Gopher, C4 and FineWeb filters, Gopher repetition vectorised.

datatrove's Gopher repetition rules are computed here on NumPy arrays (`FastGopherRepetitionFilter`:
identical decisions, several times faster), with whitespace words (`FastEnglishWordTokenizer`) instead
of spaCy's. The Chinese rules are in `curation.quality_zh`.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

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
from datatrove.pipeline.filters.c4_filters import CITATION_REGEX, ELLIPSIS, END_PUNCTUATION, POLICY_SUBSTRINGS
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import split_into_sentences, split_into_words
from datatrove.utils.word_tokenizers import WordTokenizer
from pydantic import Field

from common.ngrams import MAX_N, ngram_sums
from common.recipe import Section
from common.text import codepoints

# what str.split() splits on (none above U+3000)
_IS_SPACE = np.array([chr(c).isspace() for c in range(0x3100)])
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
    """datatrove's Gopher, C4 and FineWeb filters; every threshold a recipe key.

    Defaults are datatrove's published English ones except where measured on English technical
    documentation (Debian reference, FAQ, maintainers' guide, handbook, GIMP help) and web text:
    docs/curation_stages.md gives the numbers.
    """

    enabled: bool = True
    mojibake: bool = True
    gopher_quality: bool = True
    gopher_repetition: bool = True
    c4: bool = True
    fineweb: bool = True
    # mojibake: removed when prose lines hold at least this many traces of broken encoding that the
    # normaliser (ftfy) could not repair: U+FFFD, or UTF-8 read as cp1252/Latin-1 (â€, Ã©, Â)
    mojibake_min_count: int = 3
    # Gopher repetition (datatrove's defaults but dup_n_grams; None turns a rule off)
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_n_grams: list[tuple[int, float]] = Field(default_factory=lambda: [(2, 0.2), (3, 0.18), (4, 0.16)])
    # Gopher: 0.15 for 5-grams down to 0.10 for 10-grams. Technical text repeats 5-10 word phrases
    # (option descriptions, table rows, "This command ..."): 10 points higher, measured (docs).
    dup_n_grams: list[tuple[int, float]] = Field(
        default_factory=lambda: [(5, 0.25), (6, 0.24), (7, 0.23), (8, 0.22), (9, 0.21), (10, 0.20)]
    )
    # Gopher quality (datatrove's defaults; None turns a rule off)
    # Gopher: 50. 40 keeps short documentation sections (a filter's description, a chapter intro):
    # labelled real English text 146 -> 151 of 158 good kept, junk removed unchanged (docs/recipes.md)
    min_doc_words: int | None = 40
    max_doc_words: int | None = 100000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8  # datatrove's max_non_alpha_words_ratio
    min_stop_words: int | None = 2
    # the alphabetic-words rule counts the words of prose lines only (see is_technical_line)
    gopher_skip_technical_lines: bool = True
    # C4. By default C4 only decides on the whole document and never changes its text.
    # c4_remove_lines: also drop the lines C4's line rules reject (as C4 and datatrove do) from kept
    # documents, recording the count in metadata `c4_lines_removed` / `c4_chars_removed`.
    c4_remove_lines: bool = False
    c4_filter_no_terminal_punct: bool = False  # as FineWeb does: C4's line rule removes too much
    # C4 drops every document containing "{": all technical text with code (measured on the demo:
    # 17 of 24 English technical documents). Off, as the Chinese filters keep technical text too.
    c4_filter_curly_bracket: bool = False
    c4_min_num_sentences: int = 3  # -1: off; C4: 5
    c4_min_words_per_line: int = 3  # -1: off
    c4_max_word_length: int = 1000  # -1: off
    c4_filter_lorem_ipsum: bool = True
    c4_filter_javascript: bool = True
    c4_filter_policy: bool = True
    c4_remove_citations: bool = True
    # FineWeb
    fineweb_line_punct_thr: float = 0.12
    # FineWeb: 0.67. Option lists and example sessions are short lines (labelled: 3 good removed at 0.67)
    fineweb_short_line_thr: float = 0.75
    fineweb_short_line_length: int = 30
    # char_dup_ratio: characters of repeated prose lines over all characters, counting only lines that
    # occur at least fineweb_char_dup_min_repeats times (FineWeb: 2, threshold 0.01). A heading repeated
    # once (table of contents and section) removed half of the documentation pages.
    fineweb_char_dup_ratio: float = 0.03
    fineweb_char_dup_min_repeats: int = 3
    fineweb_new_line_ratio: float = 0.3
    # list_ratio: False counts the line breaks between non-empty lines (blank lines separate paragraphs)
    fineweb_list_ratio_blank_lines: bool = False
    # FineWeb's line rules count only prose lines: code, shell, option and table lines
    # (`is_technical_line`) are left out of every line ratio.
    fineweb_skip_technical_lines: bool = True


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
        return self._span_keys(self.starts[:-n], self.starts[n:])

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
            raise ValueError(
                "FastGopherRepetitionFilter splits words on whitespace: pass language=FastEnglishWordTokenizer()"
            )

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


_CODE_START = re.compile(
    r"(?:[$#%>]|>>>|\.\.\.)\s|--?[A-Za-z0-9]|[|+]|[{}()\[\]<;=/\\]|[A-Za-z_][\w.-]*[:=(]\S"
)
_CODE_END = (";", "{", "}", "\\", "(", "[", "=", "|", "&&")
# two cells separated by runs of spaces, tabs or " | "
_TABLE = re.compile(r"\S(?: {2,}|\t)\S")
_SYMBOLS = "{}[]()<>=;:/\\$|&*_#~@`'\"+-%^"
_DROP_SYMBOLS = str.maketrans("", "", _SYMBOLS)  # len(line) - len(translated) = symbols in the line


def is_technical_line(line: str) -> bool:
    """Whether a line is code, a shell command or its output, a command-line option or a table row,
    rather than prose: such lines legitimately lack end punctuation, are short and repeat.

    Indented lines (two spaces or a tab), lines starting like code (a prompt, an option, a bracket, an
    assignment or call), lines ending like code, table rows (two columns separated by runs of spaces or
    tabs or " | ") and lines of which a fifth or more are symbols.
    """
    if line.startswith(("  ", "\t")):
        return True
    stripped = line.strip()
    if not stripped:
        return False
    if _CODE_START.match(stripped) or stripped.endswith(_CODE_END) or _TABLE.search(stripped):
        return True
    if " | " in stripped:  # a table row, not a menu ("Home | About us | Blog": short cells, no digits)
        cells = stripped.split(" | ")
        if any(c.isdigit() for c in stripped) or any(len(cell.split()) > 3 for cell in cells):
            return True
    symbols = len(stripped) - len(stripped.translate(_DROP_SYMBOLS))
    return symbols * 5 >= len(stripped)


_PROSE_CACHE: list = [None, None]  # (text, its prose lines): Gopher and FineWeb see the same text object


def prose_lines(text: str) -> list[str]:
    """The non-empty lines of `text` that are not `is_technical_line` (all non-empty lines when every
    one is technical), computed once per document for the filters that ask in turn."""
    if _PROSE_CACHE[0] is not text:
        lines = [line for line in text.split("\n") if line.strip()]
        _PROSE_CACHE[:] = [text, [line for line in lines if not is_technical_line(line)] or lines]
    return _PROSE_CACHE[1]


class EnglishGopherQualityFilter(GopherQualityFilter):
    """datatrove's `GopherQualityFilter`, its removals set aside in their own excluded/ folder.

    With `skip_technical_lines`, the alphabetic-words rule (`gopher_below_alpha_threshold`: at least
    80% of words contain a letter) counts the words of prose lines only (not `is_technical_line`):
    tables of numbers, addresses and code are technical text's own words. It is then checked after the
    other Gopher rules.
    """

    excluded_name = "gopher_quality"

    def __init__(self, *args, skip_technical_lines: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_technical_lines = skip_technical_lines
        self.min_alpha_words_ratio = self.max_non_alpha_words_ratio
        if skip_technical_lines:
            self.max_non_alpha_words_ratio = None  # checked in `filter`, on prose lines

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        result = super().filter(doc)
        if result is not True or not self.skip_technical_lines or not self.min_alpha_words_ratio:
            return result
        words = " ".join(prose_lines(doc.text)).split()
        if (
            words
            # w.isalpha(): most words, decided in C; the rest (file.txt, don't, 42) character by character
            and sum(w.isalpha() or any(c.isalpha() for c in w) for w in words) / len(words)
            < self.min_alpha_words_ratio
        ):
            return False, "gopher_below_alpha_threshold"
        return True


class EnglishC4QualityFilter(C4QualityFilter):
    """datatrove's `C4QualityFilter`: the same line rules and document decisions, its removals set aside
    in their own excluded/ folder.

    `remove_lines=False` (the recipe's default): C4 decides on the document only (`lorem_ipsum`,
    `curly_bracket`, `too_few_sentences`: fewer than `min_num_sentences` sentences in the lines its line
    rules accept) and leaves the text of kept documents as it is. `remove_lines=True`: kept documents
    lose the lines the line rules reject (and Wikipedia citation marks), as in C4, and their metadata
    records `c4_lines_removed` (lines dropped) and `c4_chars_removed` (characters of the text before
    minus after).
    """

    excluded_name = "c4"

    def __init__(self, *args, remove_lines: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.remove_lines = remove_lines

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        # datatrove's C4QualityFilter.filter, with the dropped lines counted and the text kept unless asked
        text = doc.text
        lines = text.splitlines() if self.split_paragraph else split_into_sentences(text, self.language)
        num_sentences = 0
        kept_lines = []
        for line in lines:
            line = line.strip()
            words = line.split()
            self.stat_update("line-total")
            if self.max_word_length != -1 and any(len(word) > self.max_word_length for word in words):
                self.stat_update("line-filter-too_long_word")
                continue
            if self.remove_citations:
                line = CITATION_REGEX.sub("", line)
            if self.filter_no_terminal_punct and (
                not line.endswith(END_PUNCTUATION) or line.endswith(ELLIPSIS)
            ):
                self.stat_update("line-filter-no_terminal_punc")
                continue
            if len(words) < self.min_words_per_line:
                self.stat_update("line-filter-too_few_words")
                continue
            line_l = line.lower()
            if self.filter_lorem_ipsum and "lorem ipsum" in line_l:
                return False, "lorem_ipsum"
            if self.filter_javascript and "javascript" in line_l:
                self.stat_update("line-filter-javascript")
                continue
            if self.filter_curly_bracket and "{" in line:
                return False, "curly_bracket"
            if self.filter_policy and any(p in line_l for p in POLICY_SUBSTRINGS):
                self.stat_update("line-filter-policy")
                continue
            if self.min_num_sentences != -1:
                num_sentences += len(split_into_sentences(line, self.language)) if self.split_paragraph else 1
            kept_lines.append(line)
            self.stat_update("line-kept")
        if num_sentences < self.min_num_sentences:
            return False, "too_few_sentences"
        if self.remove_lines:
            doc.text = ("\n" if self.split_paragraph else " ").join(kept_lines).strip()
            doc.metadata["c4_lines_removed"] = len(lines) - len(kept_lines)
            doc.metadata["c4_chars_removed"] = len(text) - len(doc.text)
        return True


class EnglishFineWebQualityFilter(FineWebQualityFilter):
    """datatrove's `FineWebQualityFilter`, its removals set aside in their own excluded/ folder.

    `count_blank_lines=False`: `list_ratio` (line breaks per word) counts the breaks between non-empty
    lines, so that a blank line between paragraphs does not count as a list item.

    `char_dup_min_repeats`: `char_dup_ratio` counts only lines that occur at least that many times.
    A heading that is both in a page's table of contents and above its section occurs twice; FineWeb's
    measure (2) removed most documentation pages for that alone, boilerplate repeats more often.

    With `skip_technical_lines`, the line rules (`line_punct_ratio`, `short_line_ratio`,
    `char_dup_ratio`) look at prose lines only (not `is_technical_line`): technical documentation has
    commands, options, code and tables whose lines have no end punctuation, are short and repeat
    (`fi`, `}`, `$ ls`, a table's header), which removed most Debian documentation. A document that is
    all technical lines is judged on all its lines, as datatrove does.
    """

    excluded_name = "fineweb"

    def __init__(
        self,
        *args,
        skip_technical_lines: bool = True,
        char_dup_min_repeats: int = 2,
        count_blank_lines: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.skip_technical_lines = skip_technical_lines
        self.char_dup_min_repeats = char_dup_min_repeats
        self.count_blank_lines = count_blank_lines

    def _duplicate_chars(self, lines: list[str]) -> int:
        """Characters of the repeats (every occurrence after the first) of the lines that occur at least
        `char_dup_min_repeats` times; 2 is FineWeb's measure."""
        if self.char_dup_min_repeats <= 2:
            return find_duplicates(lines)[1]
        counts = Counter(lines)
        return sum(len(line) * (n - 1) for line, n in counts.items() if n >= self.char_dup_min_repeats)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        lines_all = lines = [line for line in doc.text.split("\n") if line.strip() != ""]
        if not lines:
            return False, "empty"
        if self.skip_technical_lines:
            lines = prose_lines(doc.text)
        ratio = sum(1 for line in lines if line.endswith(self.stop_chars)) / len(lines)
        if ratio < self.line_punct_thr and not (ratio == 0 and self.line_punct_exclude_zero):
            return False, "line_punct_ratio"
        ratio = sum(1 for line in lines if len(line) <= self.short_line_length) / len(lines)
        if ratio > self.short_line_threshold:
            return False, "short_line_ratio"
        if self._duplicate_chars(lines) / len(doc.text.replace("\n", "")) > self.char_duplicates_ratio:
            return False, "char_dup_ratio"
        words = split_into_words(doc.text, self.language)
        breaks = doc.text.count("\n") if self.count_blank_lines else len(lines_all) - 1
        if breaks / len(words) > self.new_line_ratio:
            return False, "list_ratio"
        return True


_MOJIBAKE = regex.compile(r"\ufffd|â€|Ã[\x80-\xbf]|Â[\x80-\xbf\xa0]")


class EnglishMojibakeFilter(BaseFilter):
    """Removes English text whose prose still shows broken encoding after normalisation: U+FFFD
    replacement characters (bytes lost when UTF-8 was decoded as cp1252) and UTF-8 read as cp1252 or
    Latin-1 that ftfy could not undo. None of datatrove's rules looks at encoding; lines that are code
    or command output (`is_technical_line`) are not counted, as a manual may show mojibake on purpose.
    """

    name = "🔣 Mojibake"
    excluded_name = "mojibake"

    def __init__(self, min_count: int = 3, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.min_count = min_count

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not _MOJIBAKE.search(doc.text):
            return True
        prose = "\n".join(line for line in doc.text.split("\n") if not is_technical_line(line))
        if len(_MOJIBAKE.findall(prose)) >= self.min_count:
            return False, "mojibake"
        return True


# every step `english_filters` can return, in pipeline order
ENGLISH_FILTERS = (
    EnglishMojibakeFilter,
    FastGopherRepetitionFilter,
    EnglishGopherQualityFilter,
    EnglishC4QualityFilter,
    EnglishFineWebQualityFilter,
)


def english_filters(config: EnglishQualitySection) -> list[BaseFilter]:
    """datatrove's English filters with the recipe's thresholds, those the recipe enables, in order."""
    tokenizer = FastEnglishWordTokenizer()
    steps: list[BaseFilter] = []
    if config.mojibake:
        steps.append(EnglishMojibakeFilter(config.mojibake_min_count))
    if config.gopher_repetition:
        steps.append(
            FastGopherRepetitionFilter(
                dup_line_frac=config.dup_line_frac,
                dup_para_frac=config.dup_para_frac,
                dup_line_char_frac=config.dup_line_char_frac,
                dup_para_char_frac=config.dup_para_char_frac,
                top_n_grams=tuple(map(tuple, config.top_n_grams)),
                dup_n_grams=tuple(map(tuple, config.dup_n_grams)),
                language=tokenizer,
            )
        )
    if config.gopher_quality:
        steps.append(
            EnglishGopherQualityFilter(
                min_doc_words=config.min_doc_words,
                max_doc_words=config.max_doc_words,
                min_avg_word_length=config.min_avg_word_length,
                max_avg_word_length=config.max_avg_word_length,
                max_symbol_word_ratio=config.max_symbol_word_ratio,
                max_bullet_lines_ratio=config.max_bullet_lines_ratio,
                max_ellipsis_lines_ratio=config.max_ellipsis_lines_ratio,
                max_non_alpha_words_ratio=config.min_alpha_words_ratio,
                min_stop_words=config.min_stop_words,
                skip_technical_lines=config.gopher_skip_technical_lines,
                language=tokenizer,
            )
        )
    if config.c4:
        steps.append(
            EnglishC4QualityFilter(
                remove_lines=config.c4_remove_lines,
                remove_citations=config.c4_remove_citations,
                filter_no_terminal_punct=config.c4_filter_no_terminal_punct,
                min_num_sentences=config.c4_min_num_sentences,
                min_words_per_line=config.c4_min_words_per_line,
                max_word_length=config.c4_max_word_length,
                filter_lorem_ipsum=config.c4_filter_lorem_ipsum,
                filter_javascript=config.c4_filter_javascript,
                filter_curly_bracket=config.c4_filter_curly_bracket,
                filter_policy=config.c4_filter_policy,
                language=tokenizer,
            )
        )
    if config.fineweb:
        steps.append(
            EnglishFineWebQualityFilter(
                line_punct_thr=config.fineweb_line_punct_thr,
                short_line_thr=config.fineweb_short_line_thr,
                short_line_length=config.fineweb_short_line_length,
                char_duplicates_ratio=config.fineweb_char_dup_ratio,
                char_dup_min_repeats=config.fineweb_char_dup_min_repeats,
                new_line_ratio=config.fineweb_new_line_ratio,
                skip_technical_lines=config.fineweb_skip_technical_lines,
                count_blank_lines=config.fineweb_list_ratio_blank_lines,
                language=tokenizer,
            )
        )
    return steps
