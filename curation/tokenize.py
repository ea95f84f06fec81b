"""The `tokenize` curation stage: curated documents -> packed fixed-length training sequences.

Reads `curated/<source>/`, writes `tokens/<source>/` with `common.tokens.TokenShardWriter` (EOS after
every document, sequences of `tokenize.seq_len`, document boundaries kept). Per kind:

- mono: the text, trained on every token.
- parallel: each pair rendered with `tokenize.parallel_templates` (both directions by default).
- instruct: the conversation rendered with the tokenizer's chat template when it marks assistant turns
  with `{% generation %}` (or `tokenize.chat_template`), else with `tokenize.turn_templates`; the loss
  mask is 1 only on assistant tokens.

The tokenizer in effect is `workdir/tokenizer/` when `curation.vocab` wrote one, else `tokenizer.path`.
A shard made with another tokenizer or seq_len is refused with a clear error (or rebuilt with
`--force tokenize`), never mixed.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import Field

from common.recipe import Section
from common.tokens import ShardError, TokenShardWriter, read_meta, tokenizer_fingerprint
from curation.io import iter_documents

DEFAULT_PARALLEL_TEMPLATES = {"zh-en": "{zh}\n{en}", "en-zh": "{en}\n{zh}"}


class TurnTemplates(Section):
    """Fallback chat rendering: each turn is `prefix[role] + content + suffix`; only assistant content
    and its suffix are trained on."""

    system: str = "{content}\n\n"
    user: str = "Human: {content}\n\n"
    assistant_prefix: str = "Assistant: "
    assistant_suffix: str = "\n\n"


class TokenizeSection(Section):
    """Recipe section `tokenize`."""

    enabled: bool = True
    seq_len: int = Field(2048, ge=2)
    batch_size: int = Field(512, ge=1, description="documents per batched encode call")
    add_bos: bool = Field(True, description="let the tokenizer add its BOS (if it has one) to every document")
    parallel_templates: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PARALLEL_TEMPLATES),
        description="one rendering per direction; {zh} and {en} are the two sides",
    )
    chat_template: str | None = Field(None, description="Jinja chat template with {% generation %} (overrides the tokenizer's)")
    turn_templates: TurnTemplates = Field(default_factory=TurnTemplates)
    sources: list[str] | None = Field(None, description="sources to tokenize (default: all)")


def load_tokenizer(recipe):
    """The tokenizer in effect, loaded with transformers (remote code only when the recipe asks)."""
    from transformers import AutoTokenizer

    from curation.vocab import TokenizerSection, tokenizer_in_effect

    cfg = recipe.section("tokenizer", TokenizerSection)
    return AutoTokenizer.from_pretrained(str(tokenizer_in_effect(recipe)), trust_remote_code=cfg.trust_remote_code)


class DocumentEncoder:
    """Turns curated documents into (ids, loss_mask or None) per kind, encoding in batches."""

    def __init__(self, tokenizer, cfg: TokenizeSection):
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.chat_template = cfg.chat_template or getattr(tokenizer, "chat_template", None)
        if self.chat_template and "{% generation %}" not in self.chat_template.replace("{%- generation %}", "{% generation %}"):
            self.chat_template = None  # no assistant markers: the mask could not be right, use turn templates

    def _encode(self, texts: list[str], special: bool) -> list[list[int]]:
        if not texts:
            return []
        return self.tokenizer(texts, add_special_tokens=special, return_attention_mask=False)["input_ids"]

    def encode(self, docs: list[dict]) -> Iterator[tuple[list[int], np.ndarray | None]]:
        plain: list[str] = []
        for doc in docs:
            meta = doc["metadata"]
            kind = meta.get("kind", "mono")
            if kind == "parallel" and "zh" in meta and "en" in meta:
                plain.extend(t.format(zh=meta["zh"], en=meta["en"]) for t in self.cfg.parallel_templates.values())
            elif kind != "instruct":
                plain.append(doc["text"])
        encoded = iter(self._encode(plain, self.cfg.add_bos))
        for doc in docs:
            meta = doc["metadata"]
            kind = meta.get("kind", "mono")
            if kind == "instruct" and meta.get("messages"):
                yield self._conversation(meta["messages"], doc["id"])
            elif kind == "parallel" and "zh" in meta and "en" in meta:
                for _ in self.cfg.parallel_templates:
                    yield next(encoded), None
            elif kind != "instruct":
                yield next(encoded), None

    def _conversation(self, messages: list[dict], doc_id: str) -> tuple[list[int], np.ndarray]:
        if self.chat_template:
            out = self.tokenizer.apply_chat_template(
                messages, chat_template=self.chat_template, tokenize=True, return_dict=True,
                return_assistant_tokens_mask=True,
            )
            return list(out["input_ids"]), np.asarray(out["assistant_masks"], dtype=np.uint8)
        turns = self.cfg.turn_templates
        ids: list[int] = []
        mask: list[int] = []
        bos = self.tokenizer.bos_token_id
        if self.cfg.add_bos and bos is not None:
            ids.append(bos)
            mask.append(0)
        for message in messages:
            role, content = message.get("role"), str(message.get("content", ""))
            if role == "assistant":
                pieces = [(turns.assistant_prefix, 0), (content + turns.assistant_suffix, 1)]
            elif role in ("user", "system"):
                pieces = [(getattr(turns, role).format(content=content), 0)]
            else:
                raise ValueError(f"document {doc_id}: message role {role!r} is not system, user or assistant")
            for text, trained in pieces:
                piece = self._encode([text], False)[0]
                ids.extend(piece)
                mask.extend([trained] * len(piece))
        return ids, np.asarray(mask, dtype=np.uint8)


def curated_fingerprint(folder: Path) -> str:
    """Identity of a curated folder (file names and sizes), to notice that curation changed."""
    digest = hashlib.sha256()
    for file in sorted(Path(folder).glob("*.parquet")):
        digest.update(f"{file.name}:{file.stat().st_size};".encode())
    return digest.hexdigest()


def tokenize_source(folder: Path, out: Path, tokenizer, cfg: TokenizeSection, *, fingerprint: str | None = None,
                    force: bool = False) -> dict:
    """Tokenize and pack one curated documents folder into `out`; returns the shard's meta.json."""
    fingerprint = fingerprint or tokenizer_fingerprint(tokenizer)
    source_fp = curated_fingerprint(folder)
    if (out / "meta.json").is_file() and not force:
        meta = read_meta(out)
        if meta["tokenizer_fingerprint"] != fingerprint or meta["seq_len"] != cfg.seq_len:
            raise ShardError(
                f"{out}: already tokenized with tokenizer {meta['tokenizer_fingerprint'][:12]} and seq_len "
                f"{meta['seq_len']}, but the recipe now gives tokenizer {fingerprint[:12]} and seq_len {cfg.seq_len}; "
                "re-tokenize with `python -m curation.run RECIPE --force tokenize` (and re-plan the mixture)"
            )
        if meta.get("curated_fingerprint") == source_fp:
            return meta  # up to date
    if tokenizer.eos_token_id is None:
        raise ShardError("the tokenizer has no EOS token; documents could not be separated")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    writer = TokenShardWriter(
        out.with_name(out.name + ".new"), seq_len=cfg.seq_len, vocab_size=len(tokenizer),
        eos_id=tokenizer.eos_token_id, pad_id=pad_id, tokenizer_fingerprint=fingerprint,
    )
    encoder = DocumentEncoder(tokenizer, cfg)
    n_bytes = 0
    try:
        batch: list[dict] = []
        for doc in iter_documents(folder):
            batch.append(doc)
            n_bytes += len(doc["text"].encode("utf-8"))
            if len(batch) >= cfg.batch_size:
                for ids, mask in encoder.encode(batch):
                    writer.add(ids, mask)
                batch = []
        for ids, mask in encoder.encode(batch):
            writer.add(ids, mask)
        meta = writer.close(curated_fingerprint=source_fp, text_bytes=n_bytes)
    except BaseException:
        writer.abort()
        raise
    # swap in the complete shard only now: a failed run leaves the previous one untouched
    if out.exists():
        shutil.rmtree(out)
    out.with_name(out.name + ".new").rename(out)
    return meta


def enabled(ctx) -> bool:
    """Whether the recipe runs this stage."""
    return ctx.recipe.has("tokenizer") and ctx.recipe.section("tokenize", TokenizeSection).enabled


def run(ctx, inputs: dict[str, Path]) -> dict[str, Path]:
    """Tokenize every source's `curated/<source>/` into `tokens/<source>/`; returns the shard folders."""
    cfg: TokenizeSection = ctx.recipe.section("tokenize", TokenizeSection)
    tokenizer = load_tokenizer(ctx.recipe)
    fingerprint = tokenizer_fingerprint(tokenizer)
    force = "tokenize" in getattr(ctx, "force", ())
    outputs = {}
    names = cfg.sources or [s.name for s in ctx.sources]
    unknown = sorted(set(names) - {s.name for s in ctx.sources})
    if unknown:
        raise ShardError(f"tokenize.sources: {unknown} are not sources of this recipe")
    for name in names:
        curated = ctx.workdir / "curated" / name
        if not curated.is_dir():
            raise ShardError(f"{curated}: no curated documents for source {name}; run the publish stage first")
        out = ctx.workdir / "tokens" / name
        tokenize_source(curated, out, tokenizer, cfg, fingerprint=fingerprint, force=force)
        outputs[name] = out
    return outputs
