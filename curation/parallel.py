"""Filters for Chinese–English pairs: each side's language, lengths, copies, numbers, URLs, duplicates.

Many pairs are short interface strings ("认证" / "Authentication", "文件(_F)" / "_File", "%d 个文件" /
"%d files"). Before the length, number and copy checks, and before a side's language is judged, the
parts that are not words of either language are taken out (`plain`): format placeholders, markup tags,
character entities and keyboard accelerators. fastText gives one or two words no usable label, so a
short side is judged by its script (`chinese_by_script`, `english_by_script`); a longer one by lid.176.
"""

from __future__ import annotations

import hashlib
import html
import re
from decimal import Decimal

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from common.text import CJK_PUNCTUATION, HAN, HAN_RE, has_han
from curation.config import ParallelSection
from curation.lid import OfflineLID176, language_score

# a URL ends at whitespace, quotes (also curly ones) and brackets, and at the Chinese text that often
# follows it unspaced
_URL = re.compile(f"(?:https?://|www\\.)[^\\s{CJK_PUNCTUATION}{HAN}<>\"'\u2018-\u201f]+")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# a number, unless it is part of a word (I18N, x86, mp3) or an ordinal (2nd, 4th: 第二, 第四)
_NUMBER = re.compile(r"(?<![A-Za-z\d.,])\d+(?:[.,]\d+)*(?!\d|[.,]\d|st\b|nd\b|rd\b|th\b)")
# small numbers a translation often writes as a word ("squash the last 2 commits" / "压缩最后两个提交")
_ZH_NUMERALS = {
    0: "零〇",
    1: "一单",
    2: "二两双",
    3: "三",
    4: "四",
    5: "五",
    6: "六",
    7: "七",
    8: "八",
    9: "九",
    10: "十",
    11: "十",
    12: "十",
}
_EN_NUMERALS = (
    "zero|no|none", "one|a|an|single|once|first|january", "two|twice|both|double|pair|second|february",
    "three|third|march", "four|fourth|april", "five|fifth|may", "six|sixth|june", "seven|seventh|july",
    "eight|eighth|august", "nine|ninth|september", "ten|tenth|october", "eleven|eleventh|november",
    "twelve|twelfth|december",
)  # fmt: skip
_DIGITS = re.compile(r"\d+")

# printf (%s, %5.2f, %lu, %1$s, %(name)s), Qt (%1), Python/.NET/ICU ({0}, {name}, {0:.2f}), shell (${x})
_PLACEHOLDER = re.compile(
    r"%\(\w+\)[-+#0]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%\d+\$[-+#0]*\d*(?:\.\d+)?(?:hh|ll|[hlLqjzt])?[diouxXeEfFgGcspa]"
    r"|%[-+#0]*\d*(?:\.\d+)?(?:hh|ll|[hlLqjzt])?[diouxXeEfFgGcspaA@]"
    r"|%\d{1,2}(?!\d)"
    r"|\$\{\w+\}|\{\w*(?:[:!][^{}\s]*)?\}"
)
_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
# "文件(_F)", "打开(&O)…": the Chinese translation of "_File" keeps the English accelerator in brackets
_BRACKETED_ACCELERATOR = re.compile(r"\s*[(（]\s*[_&][A-Za-z0-9]\s*[)）]")
# "_File", "&Open", "Save _As": the marker before a word's first letter ("AT&T", "file_name" stay)
_ACCELERATOR = re.compile(r"(?<![\w&])[_&](?=[^\W_])")
_SPACES = re.compile(r"\s+")

# a sentence's end: final punctuation, then maybe closing quotes and brackets; a cut: a word or a comma
_SENTENCE_END = re.compile(r"[。.！!？?][”\"’')）\]」』]*$")
_EN_CUT = re.compile(r"[\w,，、-]$")
# a Chinese list item or caption often drops the 。 its English has: only a comma is a cut there
_ZH_CUT = re.compile(r"[,，、]$")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_LATIN = re.compile(r"[A-Za-z]")


def _plain_segment(text: str) -> str:
    text = _TAG.sub(" ", text)
    text = _PLACEHOLDER.sub(" ", text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    text = _BRACKETED_ACCELERATOR.sub("", text)
    return _ACCELERATOR.sub("", text)


def plain(text: str) -> str:
    """`text` without placeholders, markup tags, entities (decoded) and accelerators; URLs kept whole."""
    parts, start = [], 0
    for url in _URL.finditer(text):
        parts += [_plain_segment(text[start : url.start()]), url.group()]
        start = url.end()
    parts.append(_plain_segment(text[start:]))
    return _SPACES.sub(" ", "".join(parts)).strip()


# a number with a word for its magnitude: 6600万 / 66 million are both 66000000
_MAGNITUDE = re.compile(r"(?<![\d.,])(\d+(?:\.\d+)?)\s*(万|亿|thousand\b|million\b|billion\b)", re.I)
_MAGNITUDES = {"万": 10**4, "亿": 10**8, "thousand": 10**3, "million": 10**6, "billion": 10**9}


def _scaled(match: re.Match) -> str:
    value = Decimal(match.group(1)) * _MAGNITUDES[match.group(2).lower()]
    return f"{value.normalize():f} "


def numbers(text: str) -> set[str]:
    """Arabic numbers in a text, normalised (full-width digits, thousands separators, 万/亿/million);
    not in URLs or words."""
    text = _MAGNITUDE.sub(_scaled, _URL.sub(" ", text.translate(_FULLWIDTH_DIGITS)).replace(",000", "000"))
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def numbers_agree(zh: str, en: str) -> bool:
    """Each number of one side is on the other: as a number, as digits inside a word (版本 3 / v3,
    9 / 9th) or, up to 12, as a word (2 / 两, 2 / two, 4 月 / April)."""
    zh_numbers, en_numbers = numbers(zh), numbers(en)
    zh, en = zh.translate(_FULLWIDTH_DIGITS), en.translate(_FULLWIDTH_DIGITS)
    zh_digits, en_digits = set(_DIGITS.findall(zh)) | zh_numbers, set(_DIGITS.findall(en)) | en_numbers
    en_words = {w.lower() for w in _LATIN_WORD.findall(en)}
    for n in zh_numbers - en_digits:
        if not (
            n.isdigit() and int(n) < len(_EN_NUMERALS) and en_words & set(_EN_NUMERALS[int(n)].split("|"))
        ):
            return False
    for n in en_numbers - zh_digits:
        if not (n.isdigit() and int(n) in _ZH_NUMERALS and any(c in zh for c in _ZH_NUMERALS[int(n)])):
            return False
    return True


def one_side_cut(zh: str, en: str) -> bool:
    """One side ends a sentence (。 . ！ ？, maybe then quotes or brackets), the other was cut: the en side
    stops on a word or a comma, the zh side on a comma (Chinese list items often drop the 。 their English
    has). A side ending in "…", ":" or a bracket may end either way."""
    return bool(
        (_SENTENCE_END.search(zh) and _EN_CUT.search(en)) or (_SENTENCE_END.search(en) and _ZH_CUT.search(zh))
    )


def urls(text: str) -> list[str]:
    """URLs in a text, lowercased and without trailing punctuation, so the two sides can be compared."""
    return sorted(u.rstrip(".,;:)").lower() for u in _URL.findall(text))


def han_count(text: str) -> int:
    return len(HAN_RE.findall(text))


def chinese_by_script(text: str, min_han_share: float) -> bool:
    """A short zh side: Han characters, no kana or hangul, and Han at least `min_han_share` of the words
    (each Han character is a word, each run of Latin letters one: "GNU 核心工具" is 4 of 5)."""
    han = han_count(text)
    if han == 0 or _KANA_HANGUL.search(text):
        return False
    return han / (han + len(_LATIN_WORD.findall(text))) >= min_han_share


def english_by_script(text: str, min_latin_share: float) -> bool:
    """A short en side: Latin letters, no Han, kana or hangul, and Latin at least `min_latin_share` of
    the letters (the rest would be Cyrillic, Greek, ...)."""
    if has_han(text) or _KANA_HANGUL.search(text):
        return False
    letters = sum(c.isalpha() for c in text)
    return letters > 0 and len(_LATIN.findall(text)) / letters >= min_latin_share


class ParallelPairFilter(BaseFilter):
    """Drops a pair when either side is wrong; the reason names the first failing check."""

    name = "🔀 Parallel pairs"
    excluded_name = "parallel"

    def __init__(self, config: ParallelSection, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.config = config
        self.lid = OfflineLID176(k=5)
        self._seen: set[bytes] = set()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        c = self.config
        zh, en = doc.metadata["zh"].strip(), doc.metadata["en"].strip()
        if not zh or not en:
            return False, "empty_side"
        if len(zh) > c.max_chars or len(en) > c.max_chars:
            return False, "too_long"
        zh_plain, en_plain = plain(zh), plain(en)
        if len(zh_plain) < c.min_chars or len(en_plain) < c.min_chars:
            return False, "too_short"  # also a side that is nothing but placeholders and markup
        if zh_plain.casefold() == en_plain.casefold():
            return False, "identical_sides"
        if zh_plain in en_plain or (
            en_plain in zh_plain
            and (not _LATIN.search(en_plain) or not has_han(zh_plain.replace(en_plain, "")))
        ):
            # "umask值" / "umask" is a translation: the zh side adds Chinese to the English it contains
            return False, "copied_side"
        zh_short = han_count(zh_plain) < c.short_zh_han
        en_short = len(_LATIN.findall(en_plain)) < c.short_en_letters
        if zh_short:
            if not chinese_by_script(zh_plain, c.short_zh_min_han_share):
                return False, "zh_side_not_chinese"
        else:
            zh_score = language_score(self.lid.scores(zh_plain), "zh", zh_plain)
            doc.metadata["lid_zh"] = round(zh_score, 4)
            if zh_score < c.zh_lid_threshold or _KANA_HANGUL.search(zh_plain):
                return False, "zh_side_not_chinese"
        if en_short:
            if not english_by_script(en_plain, c.short_en_min_latin_share):
                return False, "en_side_not_english"
        else:
            en_score = language_score(self.lid.scores(en_plain), "en")
            doc.metadata["lid_en"] = round(en_score, 4)
            if en_score < c.en_lid_threshold or has_han(en_plain):
                return False, "en_side_not_english"
        ratio = len(en_plain) / len(zh_plain)
        if zh_short and en_short:  # 描述 / description of key binding: only a much shorter en side
            if ratio < c.short_min_length_ratio:
                return False, "length_ratio"
        elif not c.min_length_ratio <= ratio <= c.max_length_ratio:
            return False, "length_ratio"
        if c.check_truncation and not (zh_short and en_short) and one_side_cut(zh_plain, en_plain):
            return False, "truncated_side"
        if c.check_numbers and not numbers_agree(zh_plain, en_plain):
            return False, "numbers_mismatch"
        if c.check_urls and urls(zh) != urls(en):
            return False, "urls_mismatch"
        if c.drop_duplicate_pairs:
            key = hashlib.blake2b(f"{zh}\t{en}".encode(), digest_size=16).digest()
            if key in self._seen:
                return False, "duplicate_pair"
            self._seen.add(key)
        return True
