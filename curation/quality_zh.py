"""Quality filter for Chinese: character-based heuristics, since Chinese has no spaces to find words by.

datatrove's English defaults measure *words* (whitespace or spaCy tokens, average word length, stop
words); Chinese has no spaces, so those rules remove almost every Chinese document. This filter applies
the same families of rules (Gopher repetition, FineWeb line statistics, a stop-character check;
FineWeb-2's cmn_Hani settings as the starting point) to characters, vectorised with NumPy so it is not
slower than the English word-level filters (`curation.quality_en`).

Chinese technical documentation holds code, commands, option lists and tables between its sentences,
repeats its terms (软件包, 正则表达式 are one word each) and may end sentences with full-width ．: the
line rules look at Chinese prose lines only, sentence ends include full-width forms and closing quotes,
and the n-gram limits were measured on the Debian documentation in Chinese (docs/recipes.md).
"""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.pipeline.writers.disk_base import DiskWriter
from pydantic import Field

from common.ngrams import MAX_N, ngram_sums
from common.recipe import Section
from common.text import HAN_RE, codepoints, is_han

ZH_TERMINAL = "。！？；：．｡…!?.;:"  # full-width (U+FF0E ．, U+FF61 ｡ too) and ASCII sentence ends
ZH_CLOSING = "」』”’\"'）)]】》〉"  # may follow the sentence end: 。」  ．）  ?”
# Lines that are not Chinese prose even when they hold Han characters: an option (-x, --foo), a shell
# prompt or comment ($ # %), a table row (cells joined by "|" or tabs, as extractors write them) with
# a command, name or number in it. A row of Chinese words only ("首页 | 新闻 | 关于我们") is a menu: prose.
# List items ("- 安装软件包") are prose: menus and link lists are made of them.
_CODE_START = re.compile(r"[-+]{1,2}[A-Za-z0-9]|[$#%] ")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")


def is_prose(line: str) -> bool:
    """A Chinese prose line: it holds a Han character and is no option, prompt or table row (above)."""
    if not HAN_RE.search(line) or _CODE_START.match(line):
        return False
    return not (("|" in line or "\t" in line) and _ASCII_ALNUM.search(line))


# "…的方法。→ https://…": the sentence ends before the link
_TRAILING_URL = re.compile(r"\s*(?:→\s*)?[a-z]+://\S+$")
_DIGITS = re.compile(r"[0-9]+")
_WHITESPACE = re.compile(r"\s+")
_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


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


def duplicate_lines(lines: list[str], keys: list[str]) -> tuple[int, int]:
    """Gopher's duplicate count, with lines compared by `keys`: (repeated lines, their characters)."""
    seen: set[str] = set()
    count = chars = 0
    for line, key in zip(lines, keys, strict=True):
        if key in seen:
            count += 1
            chars += len(line)
        else:
            seen.add(key)
    return count, chars


NgramSize = Annotated[int, Field(ge=1, le=MAX_N)]  # the n-gram hashing's limit


class ChineseQualitySection(Section):
    """Character-based heuristics for Chinese (FineWeb-2 cmn_Hani-style), run on characters, not words."""

    enabled: bool = True
    min_chars: int = 50  # fewer Chinese characters + ASCII words than this: too short
    max_chars: int = 200_000
    min_stop_chars: int = 2  # at least this many occurrences of common function characters
    stop_chars: str = "的了是在和有我不这也就都而及与着或"
    dup_line_frac: float = 0.3
    dup_line_char_frac: float = 0.2
    dup_para_frac: float = 0.3
    dup_para_char_frac: float = 0.2
    # n-gram size (1..64, the hashing's limit) -> threshold. A Chinese technical term is one 3-5
    # character n-gram ("软件包管理", "正则表达式"), so technical text repeats character n-grams far more
    # than English repeats word n-grams: Gopher's word thresholds (0.20..0.10) removed 30% of good
    # Debian documentation. The defaults sit above the 99th percentile of good Chinese technical
    # documents and far below keyword spam and repeated boilerplate (docs/recipes.md has the numbers).
    top_ngrams: dict[NgramSize, float] = Field(default_factory=lambda: {2: 0.30, 3: 0.28, 4: 0.26})
    dup_ngrams: dict[NgramSize, float] = Field(
        default_factory=lambda: {5: 0.40, 6: 0.35, 7: 0.32, 8: 0.30, 9: 0.28, 10: 0.25}
    )
    line_punct_thr: float = 0.12  # fraction of prose lines ending in terminal punctuation (FineWeb)
    terminal_punct: str = ZH_TERMINAL
    closing_punct: str = ZH_CLOSING  # closing quotes/brackets allowed after the terminal punctuation
    # the line rules (duplicate lines, terminal punctuation, short lines, zh_char_dup_ratio) count only
    # Chinese prose lines: lines without Han characters (code, command output, English), option lines
    # (-x, --foo), shell prompts and table rows are left out. false: every line counts (before 2026-12)
    prose_lines_only: bool = True
    dup_lines_ignore_digits: bool = True  # lines equal but for their numbers are duplicates
    short_line_thr: float = 0.67
    short_line_length: int = 10  # characters (Chinese lines carry ~3x the content of English ones)
    char_dup_ratio: float = 0.1
    new_line_ratio: float = 0.3


class ChineseQualityFilter(BaseFilter):
    """Character-level Gopher repetition + FineWeb line rules + stop characters, for Chinese text."""

    name = "🀄 Chinese quality"
    excluded_name = "quality_zh"

    def __init__(self, config: ChineseQualitySection, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self._longest = max([*config.top_ngrams, *config.dup_ngrams, 1])
        if self._longest > MAX_N:
            raise ValueError(f"quality_zh: {self._longest}-grams are longer than the {MAX_N} supported")
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
        codes = codepoints(chars)
        if int(np.count_nonzero(self._is_stop[codes])) < c.min_stop_chars:
            return False, "zh_stop_chars"
        # Repetition is measured on the Han characters only: code, shell output and option lists in
        # technical Chinese text repeat ASCII n-grams by nature and are not Chinese spam.
        han = codes[is_han(codes)]

        paragraphs = _PARAGRAPHS.split(text)
        n_dup, dup_chars = find_duplicates(paragraphs)
        if n_dup / len(paragraphs) > c.dup_para_frac:
            return False, "zh_dup_para_frac"
        if dup_chars / len(text) > c.dup_para_char_frac:
            return False, "zh_dup_para_char_frac"
        lines = [line.strip() for line in _LINES.split(text) if line.strip()]
        # Chinese prose lines: code, commands, option lines and table rows repeat by nature ("$ pwd",
        # "Pin-Priority: -1", "同上" cells) and are left out of the line rules unless prose_lines_only is off
        prose = [line for line in lines if is_prose(line)] if c.prose_lines_only else lines
        # lines that differ only in numbers (ads with a different phone or QQ number each time) repeat
        keys = _DIGITS.sub("0", "\n".join(prose)).split("\n") if c.dup_lines_ignore_digits else prose
        n_dup, line_dup_chars = duplicate_lines(prose, keys)
        if n_dup > c.dup_line_frac * len(prose):
            return False, "zh_dup_line_frac"
        if line_dup_chars / len(text) > c.dup_line_char_frac:
            return False, "zh_dup_line_char_frac"

        # unmixed sums suffice: these rules only count equal n-grams (64-bit collisions aside)
        hashes = dict(enumerate(ngram_sums(han, self._longest), start=1))
        for n, limit in sorted(c.top_ngrams.items()):
            if n in hashes and top_ngram_fraction(hashes[n], n, len(han)) > limit:
                return False, f"zh_top_{n}_gram"
        # the fraction never grows with n (a repeated n-gram is two repeated (n-1)-grams over the same
        # characters), so a shorter n's value under this n's limit decides without counting
        bound = 1.0
        for n, limit in sorted(c.dup_ngrams.items()):
            if n not in hashes or bound <= limit:
                continue
            bound = duplicate_ngram_fraction(hashes[n], n, len(han))
            if bound > limit:
                return False, f"zh_dup_{n}_gram"

        # FineWeb line statistics, with Chinese terminal punctuation and character-based line length
        ends = tuple(c.terminal_punct)
        ended = sum(
            (_TRAILING_URL.sub("", line) if "://" in line else line).rstrip(c.closing_punct).endswith(ends)
            for line in prose
        )
        if ended < c.line_punct_thr * len(prose) or not prose:
            return False, "zh_line_punct_ratio"
        if sum(len(line) <= c.short_line_length for line in prose) > c.short_line_thr * len(prose):
            return False, "zh_short_line_ratio"
        if line_dup_chars / max(1, len(chars)) > c.char_dup_ratio:
            return False, "zh_char_dup_ratio"
        if text.count("\n") / len(chars) > c.new_line_ratio:
            return False, "zh_list_ratio"
        return True
