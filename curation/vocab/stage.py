"""The `vocab` curation stage: extend the vocabulary after `publish` when the recipe asks for it."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from common.tokenizer import TokenizerSection, check_extension, is_extension_built
from curation.stages import StageContext, StageError
from curation.vocab import VocabError
from curation.vocab.extend import extend_vocabulary

STAGE = "vocab"
EXCLUDING_STEPS = ()


def validate(ctx: StageContext) -> None:
    """The recipe's `tokenizer` section (curation.run checks it before any stage runs)."""
    if ctx.recipe.has("tokenizer"):
        ctx.recipe.section("tokenizer", TokenizerSection)


def enabled(ctx: StageContext) -> bool:
    """Run as a curation stage when the recipe enables the extension, or when it does not but an extended
    tokenizer from an earlier run is left (which `run` then refuses, or removes under `--force vocab`)."""
    if not ctx.recipe.has("tokenizer"):
        return False
    return ctx.recipe.section("tokenizer", TokenizerSection).extend.enabled or is_extension_built(ctx.workdir / "tokenizer")


def run(ctx: StageContext, inputs: dict[str, Path]) -> dict[str, Path]:
    """Extend the vocabulary unless `workdir/tokenizer/` exists and matches the recipe (or the stage is
    forced); one that does not match is an error."""
    console = Console(stderr=True)
    written = ctx.workdir / "tokenizer" / "vocab_extension.json"
    forced = STAGE in ctx.force
    if not ctx.recipe.section("tokenizer", TokenizerSection).extend.enabled:  # a stale extended tokenizer
        if not forced:
            raise StageError(f"vocab: {check_extension(ctx.recipe)}")
        shutil.rmtree(written.parent)
        console.print(f"[dim]        vocab: extension disabled, {written.parent} removed[/dim]")
        return inputs
    if not forced and written.is_file():
        problem = check_extension(ctx.recipe)
        if problem is not None:
            raise StageError(f"vocab: {problem}")
    # the curated documents it counted: every source's publish record ("" = one record for all sources)
    ctx.record_settings(STAGE, "", {}, upstream=sorted(inputs), results=written.is_file())
    if not forced and written.is_file():
        console.print(f"[dim]        vocab: {written.parent} exists and matches the recipe, kept "
                      "(--force vocab rebuilds it)[/dim]", soft_wrap=True)
        return inputs
    try:
        extend_vocabulary(ctx.recipe, force=True, console=console)
    except VocabError as err:
        raise StageError(f"vocab: {err}") from None
    return inputs
