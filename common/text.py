"""Which code points are Chinese: the one definition every stage uses (quality, dedup, parallel pairs,
decontamination, vocabulary extension).

Han characters are the CJK Unified Ideographs (basic block, Extensions A to H) and the compatibility
ideographs, as Unicode 15.1 assigns them; CJK punctuation is the CJK symbols-and-punctuation block
(without the ideographic space U+3000) and the full-width forms (，。、！？：；「」《》（）).
"""

from __future__ import annotations

import re

import numpy as np

# (first, last) code point, inclusive
HAN_RANGES: tuple[tuple[int, int], ...] = (
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # basic block
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x2FA1F),  # Extensions B-F, compatibility supplement (plane 2)
    (0x30000, 0x323AF),  # Extensions G-H (plane 3)
)
CJK_PUNCTUATION_RANGES: tuple[tuple[int, int], ...] = (
    (0x3001, 0x303F),  # CJK symbols and punctuation, without the ideographic space
    (0xFF01, 0xFF65),  # full-width forms
)


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)


HAN = _class(HAN_RANGES)  # for a regex character class: f"[{HAN}]"
CJK_PUNCTUATION = _class(CJK_PUNCTUATION_RANGES)
HAN_RE = re.compile(f"[{HAN}]")


def _flags(ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    # one flag per code point (1.1 MB): a lookup is several times faster than comparing against every
    # range, and the quality filter asks this of every character
    flags = np.zeros(0x110000, dtype=bool)
    for lo, hi in ranges:
        flags[lo : hi + 1] = True
    return flags


_IS_HAN = _flags(HAN_RANGES)


def is_han(codepoints: np.ndarray) -> np.ndarray:
    """Element-wise: is this code point (0 to 0x10FFFF, any integer dtype) a Han character."""
    return _IS_HAN[codepoints]


def codepoints(text: str) -> np.ndarray:
    """The code points of `text` as uint32, without a Python loop."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def has_han(text: str) -> bool:
    """Whether `text` holds a Han character."""
    return HAN_RE.search(text) is not None
