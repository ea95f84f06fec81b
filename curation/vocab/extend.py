"""`extend_vocabulary`: count, select, write and verify, and record it all in `vocab_extension.json`."""

from __future__ import annotations

import json
import shutil

from common.recipe import Recipe, RecipeError
from common.tokenizer import (
    TokenizerSection,
    extend_settings,
    read_extension_record,
    recipe_changes,
    tokenizer_files_sha256,
)
from curation.vocab import VocabError
from curation.vocab.count import count_characters, count_words, load_jieba, source_folders
from curation.vocab.measure import chars_per_token, measurement_texts
from curation.vocab.merges import plan_word_merges
from curation.vocab.select import running_text_ids, select_new_tokens, split_by_base
from curation.vocab.write import extension_method, load_tokenizer, verify, write_extended

FORMAT_VERSION = 2


def extend_vocabulary(recipe: Recipe, *, force: bool = False, console=None) -> dict:
    """Build `workdir/tokenizer/` and its `vocab_extension.json` from the recipe; returns the JSON."""
    if not recipe.has("tokenizer"):
        raise RecipeError(["tokenizer: section is missing; vocabulary extension needs tokenizer.path"], recipe.path)
    cfg = recipe.section("tokenizer", TokenizerSection)
    if not cfg.extend.enabled:
        raise RecipeError([recipe._where(("tokenizer", "extend", "enabled")) + "tokenizer.extend.enabled is false: "
                           "the recipe asks for no vocabulary extension; set it to true to build one"], recipe.path)
    workdir = recipe.workdir
    out = workdir / "tokenizer"
    if (out / "vocab_extension.json").is_file() and not force:
        record = read_extension_record(out)
        changes = recipe_changes(cfg, record) if record is not None else ["its vocab_extension.json is unreadable"]
        state = f"was built from another tokenizer recipe ({'; '.join(changes)})" if changes else "matches the recipe"
        raise VocabError(f"{out} already exists and {state}; pass --fresh (python -m curation.vocab) or --force vocab (curation.run) to rebuild it (then re-tokenize with "
                         "`python -m curation.run RECIPE --force tokenize`)")
    words_cfg = cfg.extend.words
    if words_cfg.enabled:
        load_jieba()  # before minutes of counting
    curated = source_folders(workdir / "curated")
    if not curated:
        raise VocabError(f"{workdir / 'curated'}: no curated documents; run `python -m curation.run {recipe.path or 'RECIPE'}` first")
    counts, counted = count_characters(curated, punctuation=cfg.extend.punctuation)
    if not counts:
        raise VocabError(f"{workdir / 'curated'}: no Chinese characters in the curated Chinese data; nothing to add")
    base = load_tokenizer(cfg.path, cfg.trust_remote_code)
    base_vocab_size = max(base.get_vocab().values()) + 1
    method = extension_method(base)
    split = split_by_base(base, counts)
    chosen = select_new_tokens(split, cfg.extend.max_new_tokens, cfg.extend.min_frequency)
    merges: list[tuple[str, str]] = []
    words_record = None
    chosen_words: list[tuple[str, int]] = []
    if words_cfg.enabled:
        word_counts, segmented = count_words(curated, words_cfg.max_chars)
        split_words = split_by_base(base, word_counts)
        ranked = select_new_tokens(split_words, len(split_words), words_cfg.min_frequency)
        skipped = 0
        if method == "model_vocab":
            chosen_words, merges, skipped = plan_word_merges(base, [c for c, _ in chosen], ranked, words_cfg.max_new_words)
        else:
            chosen_words = ranked[: words_cfg.max_new_words]
        words_record = {**segmented, "distinct": len(word_counts), "occurrences": sum(word_counts.values()),
                        "split_by_base": sum(split_words.values()), "covered_by_added": sum(n for _, n in chosen_words),
                        "skipped_not_buildable": skipped}
    new_tokens = [(text, n, "char") for text, n in chosen] + [(text, n, "word") for text, n in chosen_words]
    base_ids = running_text_ids(base, [text for text, _, _ in new_tokens])  # no "▁" prefix: see running_text_ids
    added = [{"token": text, "id": base_vocab_size + k, "kind": kind, "base_ids": ids, "count": n}
             for k, ((text, n, kind), ids) in enumerate(zip(new_tokens, base_ids, strict=True))]
    texts, measured_on = measurement_texts(source_folders(workdir / "heldout"), curated, cfg.extend.measure_chars)
    before = {lang: chars_per_token(base, texts.get(lang, [])) for lang in ("zh", "en")}

    tmp = out.with_name(out.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    try:  # a failed or interrupted build leaves no tokenizer.new/ behind
        write_extended(base, [e["token"] for e in added], tmp, merges)
        base = load_tokenizer(cfg.path, cfg.trust_remote_code)  # write_extended may have added tokens to the object
        new = verify(base, tmp, added, cfg.trust_remote_code) if added else load_tokenizer(tmp, cfg.trust_remote_code)
        result = {
            "format_version": FORMAT_VERSION,
            "base": str(cfg.path),
            "base_vocab_size": base_vocab_size,
            "vocab_size": len(new),
            "method": method,
            "max_new_tokens": cfg.extend.max_new_tokens,
            "min_frequency": cfg.extend.min_frequency,
            "built_from": {"base": str(cfg.path), "base_sha256": tokenizer_files_sha256(cfg.path),
                           "extend": extend_settings(cfg.extend)},
            "counted": {**counted, "distinct": len(counts), "occurrences": sum(counts.values()),
                        "split_by_base": sum(split.values()), "covered_by_added": sum(n for _, n in chosen)},
            "words": words_record,
            "added": added,
            "chars_per_token": {lang: {"before": before[lang], "after": chars_per_token(new, texts.get(lang, []))}
                                for lang in ("zh", "en")},
            "measured_on": measured_on,
        }
        (tmp / "vocab_extension.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    if console is not None:
        print_summary(result, console)
    return result


def print_summary(result: dict, console) -> None:
    """A short table: vocabulary sizes, coverage, characters per token before and after."""
    from rich.table import Table

    n_words = sum(1 for e in result["added"] if e.get("kind") == "word")
    table = Table(title=f"vocabulary extension ({result['method']})", show_header=True)
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("ratio", justify="right")
    table.add_row("vocab size", f"{result['base_vocab_size']:,}", f"{result['vocab_size']:,}",
                  f"+{len(result['added']) - n_words:,} chars" + (f", +{n_words:,} words" if result.get("words") else ""))
    for lang in ("zh", "en"):
        cpt = result["chars_per_token"][lang]
        where = result["measured_on"][lang]["from"] or "no text"
        if cpt["before"] is None:
            table.add_row(f"chars/token {lang} ({where})", "-", "-", "-")
        else:
            table.add_row(f"chars/token {lang} ({where})", f"{cpt['before']:.3f}", f"{cpt['after']:.3f}",
                          f"{cpt['after'] / cpt['before']:.2f}x")
    console.print(table)
    counted = result["counted"]
    if counted["split_by_base"]:
        console.print(f"{counted['covered_by_added'] / counted['split_by_base']:.1%} of the Chinese character occurrences "
                      f"the base split into pieces are now one token; top: "
                      + " ".join(f"{e['token']}({e['count']})" for e in result["added"][:10]))
    words = result.get("words")
    if words:
        share = f"{words['covered_by_added'] / words['split_by_base']:.1%}" if words["split_by_base"] else "-"
        skipped = f"; {words['skipped_not_buildable']:,} skipped (no single merge builds them)" \
            if result["method"] == "model_vocab" else ""
        console.print(f"words (jieba, {words['segmented_chars']:,} chars segmented): {n_words:,} added, {share} of the "
                      f"split word occurrences{skipped}; top: " + " ".join([f"{e['token']}({e['count']})" for e in result["added"] if e["kind"] == "word"][:10]))
    for lang in ("zh", "en"):
        if result["measured_on"][lang]["from"] == "curated":
            console.print(f"[yellow]note:[/yellow] no held-out {lang} text; chars/token {lang} measured on curated data "
                          "(the data the characters were chosen from, so optimistic)")
