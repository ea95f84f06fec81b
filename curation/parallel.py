"""Filters for Chinese–English pairs: each side's language, lengths, copies, numbers, URLs, duplicates."""

from __future__ import annotations

import hashlib
import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from common.text import CJK_PUNCTUATION, HAN, has_han
from curation.config import ParallelSection
from curation.lid import OfflineLID176, language_score

# a URL ends at whitespace, quotes and brackets, and at the Chinese text that often follows it unspaced
_URL = re.compile(f"(?:https?://|www\\.)[^\\s{CJK_PUNCTUATION}{HAN}<>\"']+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def numbers(text: str) -> list[str]:
    """Arabic numbers in a text, normalised (full-width digits, thousands separators, trailing dots)."""
    found = _NUMBER.findall(_URL.sub(" ", text.translate(_FULLWIDTH_DIGITS)))
    return sorted(n.replace(",", "").rstrip(".") for n in found)


def urls(text: str) -> list[str]:
    """URLs in a text, lowercased and without trailing punctuation, so the two sides can be compared."""
    return sorted(u.rstrip(".,;:)").lower() for u in _URL.findall(text))


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
        if len(zh) < c.min_chars or len(en) < c.min_chars:
            return False, "too_short"
        if len(zh) > c.max_chars or len(en) > c.max_chars:
            return False, "too_long"
        if zh == en:
            return False, "identical_sides"
        if zh in en or en in zh:
            return False, "copied_side"
        if not has_han(zh):
            return False, "zh_side_not_chinese"
        zh_score = language_score(self.lid.scores(zh), "zh", zh)
        en_score = language_score(self.lid.scores(en), "en")
        doc.metadata["lid_zh"], doc.metadata["lid_en"] = round(zh_score, 4), round(en_score, 4)
        if zh_score < c.zh_lid_threshold:
            return False, "zh_side_not_chinese"
        if en_score < c.en_lid_threshold:
            return False, "en_side_not_english"
        ratio = len(en) / len(zh)
        if not c.min_length_ratio <= ratio <= c.max_length_ratio:
            return False, "length_ratio"
        if c.check_numbers and numbers(zh) != numbers(en):
            return False, "numbers_mismatch"
        if c.check_urls and urls(zh) != urls(en):
            return False, "urls_mismatch"
        if c.drop_duplicate_pairs:
            key = hashlib.blake2b(f"{zh}\t{en}".encode(), digest_size=16).digest()
            if key in self._seen:
                return False, "duplicate_pair"
            self._seen.add(key)
        return True
