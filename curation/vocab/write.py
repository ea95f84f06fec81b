"""Writing the extended tokenizer folder, and checking what it promises by loading it again."""

from __future__ import annotations

import json
from pathlib import Path

from common.tokenizer import TokenizerLoadError
from common.tokenizer import load_tokenizer as common_load_tokenizer
from curation.vocab import VocabError
from curation.vocab.select import running_text_ids


def load_tokenizer(path: Path | str, trust_remote_code: bool = False):
    """A Hugging Face tokenizer from a folder; it must be a fast (tokenizers) one for extension."""
    try:
        return common_load_tokenizer(path, trust_remote_code=trust_remote_code, require_fast=True)
    except TokenizerLoadError as err:
        raise VocabError(f"{err}; vocabulary extension needs one") from None


def _has_byte_level(component: dict | None) -> bool:
    if not component:
        return False
    if component.get("type") == "ByteLevel":
        return True
    return any(_has_byte_level(c) for c in component.get("pretokenizers", []) + component.get("normalizers", []))


def extension_method(tokenizer) -> str:
    """`model_vocab` for character-level BPE (SentencePiece style), else `added_tokens` (see module doc)."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model", {})
    if model.get("type") == "BPE" and not _has_byte_level(spec.get("pre_tokenizer")) and not _has_byte_level(spec.get("normalizer")):
        return "model_vocab"
    return "added_tokens"


def write_extended(base, tokens: list[str], out: Path, merges: list[tuple[str, str]] = ()) -> str:
    """Write `base` plus `tokens` (ids from the first free id on, in order; `merges` appended after the
    base merges, `model_vocab` only) to `out`; returns the method."""
    from tokenizers import AddedToken

    method = extension_method(base)
    first_id = max(base.get_vocab().values()) + 1
    if method == "added_tokens":
        added = base.add_tokens([AddedToken(t, normalized=False, special=False) for t in tokens])
        if added != len(tokens):
            raise VocabError(f"the tokenizer accepted {added} of {len(tokens)} new tokens")
        base.save_pretrained(str(out))
        return method
    base.save_pretrained(str(out))
    spec_file = out / "tokenizer.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    for offset, token in enumerate(tokens):
        vocab[token] = first_id + offset
    old_merges = spec["model"].setdefault("merges", [])
    as_strings = bool(old_merges) and isinstance(old_merges[0], str)
    old_merges.extend(f"{left} {right}" if as_strings else [left, right] for left, right in merges)
    spec_file.write_text(json.dumps(spec, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "tokenizer.model").unlink(missing_ok=True)  # a stale SentencePiece model must not be picked up instead
    return method


def verify(base, path: Path, added: list[dict], trust_remote_code: bool = False):
    """Load the written tokenizer and check the promises: old ids kept, new tokens used, round trip."""
    new = load_tokenizer(path, trust_remote_code)
    new_vocab = new.get_vocab()
    moved = [t for t, i in base.get_vocab().items() if new_vocab.get(t) != i]
    if moved:
        raise VocabError(f"{path}: {len(moved)} base tokens changed id (e.g. {moved[:3]})")
    for entry in added:
        if new_vocab.get(entry["token"]) != entry["id"]:
            raise VocabError(f"{path}: new token {entry['token']!r} has id {new_vocab.get(entry['token'])}, not {entry['id']}")
    tokens = [e["token"] for e in added]
    not_produced = [e["token"] for e, ids in zip(added, running_text_ids(new, tokens), strict=True) if ids != [e["id"]]]
    if not_produced:
        raise VocabError(f"{path}: {len(not_produced)} new tokens do not encode to their id in running text "
                         f"(e.g. {not_produced[:3]})")
    probe = "\n".join(tokens) + " mixed 中英 text, 鱼 and fish."
    ids = new.backend_tokenizer.encode(probe, add_special_tokens=False).ids  # no warning past model_max_length
    unused = {e["id"] for e in added} - set(ids)
    if unused:
        raise VocabError(f"{path}: {len(unused)} new tokens are not used when encoding text that contains them")
    if new.decode(ids) != probe:
        raise VocabError(f"{path}: encode/decode does not round-trip: {new.decode(ids)!r}")
    return new
