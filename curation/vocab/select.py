"""Which counted characters and words the base tokenizer splits into pieces in running text, and which of
them to add: the most frequent."""

from __future__ import annotations

import json
from collections import Counter


def _without_prefix_space(component: dict | None) -> dict | None:
    """A normalizer or pre-tokenizer spec that no longer puts a space ("▁", "Ġ") before the text."""
    if not isinstance(component, dict):
        return component
    kind = component.get("type")
    if kind == "Prepend":
        return None
    if kind == "Sequence":
        key = "normalizers" if "normalizers" in component else "pretokenizers"
        parts = [_without_prefix_space(c) for c in component.get(key, [])]
        return {**component, key: [c for c in parts if c is not None]}
    if kind == "Metaspace":
        return {**component, "prepend_scheme": "never"} if "prepend_scheme" in component \
            else {**component, "add_prefix_space": False}
    if kind == "ByteLevel":
        return {**component, "add_prefix_space": False}
    return component


def running_text_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """The ids each text gets inside running text: encoded alone, but without the prefix space that
    SentencePiece-style tokenizers put before the first word (LLaMA-2 encodes "鱼" alone as "▁" + bytes,
    after another character as the bytes only)."""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec["normalizer"] = _without_prefix_space(spec.get("normalizer"))
    spec["pre_tokenizer"] = _without_prefix_space(spec.get("pre_tokenizer"))
    bare = Tokenizer.from_str(json.dumps(spec))
    return [encoding.ids for encoding in bare.encode_batch(list(texts), add_special_tokens=False)]


def single_tokens(tokenizer, texts: list[str]) -> set[str]:
    """The texts the tokenizer encodes as one token of their own inside running text."""
    return {text for text, ids in zip(texts, running_text_ids(tokenizer, texts), strict=True)
            if len(ids) == 1 and tokenizer.decode(ids) == text}


def is_single_token(tokenizer, text: str) -> bool:
    """Whether the tokenizer encodes `text` as one token of its own inside running text."""
    return text in single_tokens(tokenizer, [text])


def split_by_base(base, counts: Counter) -> Counter:
    """The counted characters (or words) the base tokenizer does not have as one token in running text."""
    single = single_tokens(base, sorted(counts))
    return Counter({text: n for text, n in counts.items() if text not in single})


def select_new_tokens(split: Counter, max_new_tokens: int, min_frequency: int) -> list[tuple[str, int]]:
    """The most frequent (ties: by code point) of `split` that occur at least `min_frequency` times."""
    ranked = sorted(split.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(char, n) for char, n in ranked if n >= min_frequency][:max_new_tokens]
