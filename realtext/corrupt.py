"""Documented corruptions of real text, each a small deterministic function seeded by the item id.

Every function returns `(text, detail)`: the corrupted text and one line saying what was done (the
line becomes the junk label's reason). Definitions are in docs/real_text.md.
"""

from __future__ import annotations

import hashlib
import random
import re


def rng(item_id: str, salt: str = "") -> random.Random:
    """A random generator that depends only on the id (and salt): same corruption every build."""
    digest = hashlib.sha256(f"{salt}\0{item_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _paragraphs(text: str) -> list[str]:
    return [part for part in text.split("\n\n") if part.strip()]


def _has_cjk(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def boilerplate_repetition(text: str, item_id: str) -> tuple[str, str]:
    """The shortest of the document's first three body paragraphs (heading excluded) repeated 8-15
    times back to back after the heading, then the whole document: the repeated-block pattern of
    scraped pages."""
    paragraphs = _paragraphs(text)
    body = [p for p in paragraphs[1:] if len(p) >= 20] or paragraphs
    block = min(body[:3], key=len)
    times = rng(item_id, "boilerplate").randint(8, 15)
    out = "\n\n".join([paragraphs[0]] + [block] * times + paragraphs[1:])
    return out, f"boilerplate_repetition: a {len(block)}-character paragraph repeated {times} times"


def _keywords(text: str, count: int, item_id: str) -> list[str]:
    if _has_cjk(text):
        words = re.findall(r"[\u4e00-\u9fff]{2,4}", text)
    else:
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]{4,}", text)]
    frequency: dict[str, int] = {}
    for word in words:
        frequency[word] = frequency.get(word, 0) + 1
    ranked = sorted(frequency, key=lambda w: (-frequency[w], w))[: count * 3]
    chosen = rng(item_id, "keywords").sample(ranked, min(count, len(ranked)))
    return chosen or ["Debian"]


def keyword_spam(text: str, item_id: str) -> tuple[str, str]:
    """The first two paragraphs (heading and first body paragraph), then 3-6 of the document's
    frequent words repeated 30-60 times as a comma-separated (Chinese: 、-separated) run:
    search-engine keyword stuffing."""
    generator = rng(item_id, "spam")
    words = _keywords(text, generator.randint(3, 6), item_id)
    times = generator.randint(30, 60)
    separator = "、" if _has_cjk(text) else ", "
    run = separator.join(words[i % len(words)] for i in range(times))
    first = _paragraphs(text)[:2]
    return "\n\n".join(
        first + [run]
    ), f"keyword_spam: {len(words)} words ({', '.join(words)}) repeated in a run of {times}"


def mojibake(text: str, item_id: str) -> tuple[str, str]:
    """Chinese: the UTF-8 bytes decoded as GBK (鍙互...). Other text: UTF-8 bytes decoded as
    cp1252 (â€œ...); undecodable bytes become U+FFFD."""
    if _has_cjk(text):
        out = text.encode("utf-8").decode("gbk", errors="replace")
        return out, "mojibake: UTF-8 bytes decoded as GBK"
    out = text.encode("utf-8").decode("cp1252", errors="replace")
    changed = sum(1 for a in text if ord(a) > 127)
    return out, f"mojibake: UTF-8 bytes decoded as cp1252 ({changed} non-ASCII characters garbled)"


def cut_off(text: str, item_id: str) -> tuple[str, str]:
    """A short fragment: the first 60-200 characters of the document, then (English) back to the
    middle of the last word of 4+ letters, (Chinese) back past trailing punctuation: it ends inside
    a word or mid-sentence."""
    generator = rng(item_id, "cut")
    flat = re.sub(r"\s+", " ", text).strip()
    end = min(len(flat) - 1, generator.randint(60, 200))
    while end > 10 and (flat[end - 1] in " 。，.,;:!?！？；：" or not flat[end - 1].isalnum()):
        end -= 1
    if not _has_cjk(flat):
        # inside a word: stop halfway into the last word of 4+ letters before `end`
        words = list(re.finditer(r"[A-Za-z]{4,}", flat[:end]))
        if words:
            end = words[-1].start() + len(words[-1].group()) // 2
    return flat[:end], f"cut_off: only the first {end} characters, cut mid-word/mid-sentence"


def machine_list(text: str, item_id: str) -> tuple[str, str]:
    """A machine-generated listing built from the document's own words: 40-80 numbered lines
    `item-NNNN: <word> <word> <hex id> <number>`, no sentences."""
    generator = rng(item_id, "machine")
    if _has_cjk(text):
        words = re.findall(r"[\u4e00-\u9fff]{2,4}", text)
    else:
        words = re.findall(r"[A-Za-z][A-Za-z-]{2,}", text)
    words = words or ["debian"]
    lines = []
    for number in range(generator.randint(40, 80)):
        a, b = generator.choice(words), generator.choice(words)
        lines.append(
            f"item-{number:04d}: {a} {b} 0x{generator.getrandbits(32):08x} {generator.randint(0, 99999)}"
        )
    return "\n".join(lines), f"machine_list: {len(lines)} generated lines of word/hex/number fields"


DOC_CORRUPTIONS = {
    "boilerplate_repetition": boilerplate_repetition,
    "keyword_spam": keyword_spam,
    "mojibake": mojibake,
    "cut_off": cut_off,
    "machine_list": machine_list,
}


def truncate_mid_word(text: str, item_id: str, keep: float = 0.4) -> str:
    """The first `keep` share of the text (at least 3 characters), ending inside a word."""
    flat = text.rstrip()
    end = max(3, int(len(flat) * keep))
    while end > 3 and not flat[end - 1].isalnum():
        end -= 1
    return flat[:end]
