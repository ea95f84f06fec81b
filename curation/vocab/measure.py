"""Characters per token before and after the extension, measured on held-out (else curated) text."""

from __future__ import annotations

from pathlib import Path

from curation.vocab.count import documents_in, texts_by_language


def measurement_texts(heldout: list[Path], curated: list[Path], limit: int) -> tuple[dict[str, list[str]], dict]:
    """Up to `limit` characters of zh and of en text (mono documents and the sides of pairs): held-out
    documents, else (said so in `measured_on`) curated ones."""
    texts: dict[str, list[str]] = {}
    origin: dict[str, dict] = {}
    for language in ("zh", "en"):
        for where, folders in (("heldout", heldout), ("curated", curated)):
            picked, n_chars = [], 0
            for folder in folders:
                for doc in documents_in(folder):
                    if (doc.get("metadata") or {}).get("kind") == "instruct":
                        continue  # conversations mix languages (translation prompts): not a clean measure
                    for lang, text in texts_by_language(doc):
                        if lang == language and text.strip() and n_chars < limit:
                            picked.append(text)
                            n_chars += len(text)
                    if n_chars >= limit:
                        break
                if n_chars >= limit:
                    break
            if picked:
                texts[language] = picked
                origin[language] = {"from": where, "texts": len(picked), "chars": n_chars}
                break
        else:
            origin[language] = {"from": None, "texts": 0, "chars": 0}
    return texts, origin


def chars_per_token(tokenizer, texts: list[str]) -> float | None:
    """Characters per token (no special tokens); higher means shorter sequences for the same text."""
    if not texts:
        return None
    n_tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"])
    return round(sum(len(t) for t in texts) / max(n_tokens, 1), 4)
