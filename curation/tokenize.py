"""The `tokenize` curation stage: curated documents -> packed fixed-length training sequences.

Reads `curated/<source>/`, writes `tokens/<source>/` with `common.tokens.TokenShardWriter` (EOS after
every document, sequences of `tokenize.seq_len`, document boundaries kept). How each kind of document
becomes ids and a loss mask is `common.encoding` (shared with evaluation).

The tokenizer in effect is `common.tokenizer.tokenizer_in_effect`: `workdir/tokenizer/` when the extension
is enabled and was built from the recipe's settings, `tokenizer.path` when it is disabled.
A shard made with another tokenizer, seq_len or rendering settings is refused with a clear error (or
rebuilt with `--force tokenize`), never mixed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from common.documents import iter_documents
from common.encoding import DocumentEncoder, TokenizeSection, rendering_settings
from common.tokenizer import TokenizerLoadError, load_tokenizer_in_effect
from common.tokens import ShardError, TokenShardWriter, read_meta, tokenizer_fingerprint
from curation.progress import describe, parquet_rows
from curation.stages import StageContext, StageError

STAGE = "tokenize"
EXCLUDING_STEPS = ()


def load_tokenizer(recipe):
    """The tokenizer in effect (common.tokenizer), loaded; a broken folder is a StageError naming it."""
    try:
        return load_tokenizer_in_effect(recipe)
    except TokenizerLoadError as err:
        raise StageError(str(err)) from None


def curated_fingerprint(folder: Path) -> str:
    """Identity of a curated folder (file names and sizes), to notice that curation changed."""
    digest = hashlib.sha256()
    for file in sorted(Path(folder).glob("*.parquet")):
        digest.update(f"{file.name}:{file.stat().st_size};".encode())
    return digest.hexdigest()


def _digest(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _changes(old: dict | None, new: dict) -> str:
    """What differs between two rendering settings, e.g. `add_bos true -> false, chat_template changed`."""
    if not old:
        return "the shard predates recorded rendering settings"
    if old.get("version") != new["version"]:
        return f"rendering version {old.get('version')} -> {new['version']} of this toolkit"
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, bool | int | None) and isinstance(after, bool | int | None):
            changes.append(f"{key} {json.dumps(before)} -> {json.dumps(after)}")
        else:
            changes.append(f"{key} changed")
    return ", ".join(changes)


def tokenize_source(folder: Path, out: Path, tokenizer, cfg: TokenizeSection, *, fingerprint: str | None = None,
                    force: bool = False, progress: Callable[[int, int], None] | None = None) -> dict:
    """Tokenize and pack one curated documents folder into `out`; returns the shard's meta.json.
    `progress(documents, text bytes)` is called after every batch (the console's status line)."""
    fingerprint = fingerprint or tokenizer_fingerprint(tokenizer)
    source_fp = curated_fingerprint(folder)
    rendering = rendering_settings(cfg)
    if (out / "meta.json").is_file() and not force:
        meta = read_meta(out)
        if meta["tokenizer_fingerprint"] != fingerprint or meta["seq_len"] != cfg.seq_len:
            raise ShardError(
                f"{out}: already tokenized with tokenizer {meta['tokenizer_fingerprint'][:12]} and seq_len "
                f"{meta['seq_len']}, but the recipe now gives tokenizer {fingerprint[:12]} and seq_len {cfg.seq_len}; "
                "re-tokenize with `python -m curation.run RECIPE --force tokenize` (and re-plan the mixture)"
            )
        if meta.get("rendering") != rendering:
            raise ShardError(
                f"{out}: already tokenized with other tokenize settings ({_changes(meta.get('rendering'), rendering)}); "
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
    n_bytes = n_docs = 0
    try:
        batch: list[dict] = []
        for doc in iter_documents(folder):
            batch.append(doc)
            n_docs += 1
            n_bytes += len(doc["text"].encode("utf-8"))
            if len(batch) >= cfg.batch_size:
                for ids, mask in encoder.encode(batch):
                    writer.add(ids, mask)
                batch = []
                if progress is not None:
                    progress(n_docs, n_bytes)
        for ids, mask in encoder.encode(batch):
            writer.add(ids, mask)
        chat = {"chat_rendering": encoder.chat.describe()} if encoder.n_conversations else {}
        meta = writer.close(curated_fingerprint=source_fp, text_bytes=n_bytes, rendering=rendering,
                            rendering_fingerprint=_digest(rendering), **chat)
    except BaseException:
        writer.abort()
        raise
    # swap in the complete shard only now: a failed run leaves the previous one untouched
    if out.exists():
        shutil.rmtree(out)
    out.with_name(out.name + ".new").rename(out)
    return meta


def validate(ctx: StageContext) -> None:
    """The recipe's `tokenize` section (curation.run checks it before any stage runs)."""
    if ctx.recipe.has("tokenize"):
        ctx.recipe.section("tokenize", TokenizeSection)


def enabled(ctx: StageContext) -> bool:
    """Whether the recipe runs this stage."""
    return ctx.recipe.has("tokenizer") and ctx.recipe.section("tokenize", TokenizeSection).enabled


def run(ctx: StageContext, inputs: dict[str, Path]) -> dict[str, Path]:
    """Tokenize every source's `curated/<source>/` into `tokens/<source>/`; returns the shard folders."""
    cfg: TokenizeSection = ctx.recipe.section("tokenize", TokenizeSection)
    tokenizer = load_tokenizer(ctx.recipe)
    fingerprint = tokenizer_fingerprint(tokenizer)
    force = STAGE in ctx.force
    outputs = {}
    chats: dict[str, list[str]] = {}
    names = cfg.sources or [s.name for s in ctx.sources]
    unknown = sorted(set(names) - {s.name for s in ctx.sources})
    if unknown:
        raise ShardError(f"tokenize.sources: {unknown} are not sources of this recipe")
    for name in names:
        if name in ctx.empty:  # no documents to tokenize (curation.empty_source: skip said so)
            if force:
                shutil.rmtree(ctx.workdir / "tokens" / name, ignore_errors=True)
            continue
        curated = ctx.workdir / "curated" / name
        if not curated.is_dir():
            raise ShardError(f"{curated}: no curated documents for source {name}; run the publish stage first")
        out = ctx.workdir / "tokens" / name
        started, total = time.time(), parquet_rows(sorted(curated.glob("*.parquet")))

        def progress(docs: int, n_bytes: int, name: str = name, started: float = started, total: int = total) -> None:
            ctx.progress(describe(STAGE, name, docs, n_bytes, time.time() - started, total_docs=total))

        meta = tokenize_source(curated, out, tokenizer, cfg, fingerprint=fingerprint, force=force, progress=progress)
        if "chat_rendering" in meta:
            chats.setdefault(describe_chat(meta["chat_rendering"]), []).append(name)
        outputs[name] = out
    if chats:
        from rich.console import Console

        console = Console(stderr=True)
        for how, sources in chats.items():
            console.print(f"     tokenize: {', '.join(sources)}: {how}", style="dim", markup=False, highlight=False, soft_wrap=True)
    return outputs


def describe_chat(rendering: dict) -> str:
    """One line for the log: which chat template rendered the conversations, how the mask was found."""
    template = {"recipe": "tokenize.chat_template", "tokenizer": "the tokenizer's chat template",
                "turn_templates": "tokenize.turn_templates (no chat template)"}[rendering["template"]]
    spans = {"generation": "its {% generation %} blocks", "prefix": "rendering prefixes of each conversation",
             "turn_templates": "the assistant turns"}[rendering["assistant_spans"]]
    return f"conversations rendered with {template}; loss mask on {spans}"
