"""Held-out perplexity per source and language and multiple-choice accuracy for one or more models, side by
side in one output folder (results.json, results.md, perplexity.png, benchmarks.png, per-item details).

Each run replaces the output folder as a whole (written next to it, swapped in at the end: an interrupted
or failed run leaves the previous one as it was); --append keeps the previous models and their files."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

from common.cli import WorkdirLock, add_common, quiet_libraries, run_main, verbosity

PROG = "python -m evaluation.run"


def _model_names(paths: list[str]) -> list[tuple[str, Path]]:
    """`NAME=DIR` or `DIR` (named after the folder; parent/folder when two folders share a name)."""
    from evaluation.errors import ModelError

    named = []
    for spec in paths:
        name, sep, path = spec.partition("=")
        named.append((name, Path(path)) if sep and not Path(spec).exists() else (None, Path(spec)))
    leaves = [p.name for n, p in named if n is None]
    out = []
    for name, path in named:
        if name is None:
            name = path.name if leaves.count(path.name) == 1 else f"{path.parent.name}/{path.name}"
        out.append((name, path))
    names = [n for n, _ in out]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ModelError(f"two --model arguments have the same name {repeated}; use NAME=DIR")
    return out


def default_model(recipe) -> Path:
    """The trainer's final model for this recipe: `train.output` (else the workdir) / model."""
    train = recipe.data.get("train")
    output = train.get("output") if isinstance(train, dict) else None
    base = recipe.root / Path(output).expanduser() if isinstance(output, str) else recipe.workdir
    return base / "model"


def chance(questions) -> float:
    """Expected accuracy of guessing: questions may have different numbers of options."""
    return sum(1 / len(q.candidates) for q in questions) / len(questions) if questions else float("nan")


def evaluate_model(lm, section, heldout: Path, sources: list[str], benchmarks: dict, out: Path, tokenize) -> dict:
    """All metrics for one model; per-document and per-question details go to files under `out`."""
    from evaluation.benchmarks import FORMATS
    from evaluation.categories import aggregate
    from evaluation.multiple_choice import chat_prompt, evaluate_benchmark, prompt_kind
    from evaluation.perplexity import evaluate_perplexity

    if any(prompt_kind(b) == "chat" for b in section.benchmarks):
        chat_prompt(lm, "")  # a model without a chat template fails before any scoring
    entry: dict = {
        "path": str(lm.path),
        "tokenizer": str(lm.tokenizer_path),
        "device": str(lm.device),
        "dtype": str(next(lm.model.parameters()).dtype).removeprefix("torch."),
        "max_length": lm.max_length,
        "perplexity": None,
        "benchmarks": {},
    }
    safe_name = lm.name.replace("/", "__")
    if sources:
        started = time.perf_counter()
        ppl = evaluate_perplexity(lm, heldout, sources, section.batch_tokens, tokenize, section.perplexity.max_documents)
        entry["perplexity"] = ppl.as_dict()
        entry["perplexity"]["seconds"] = round(time.perf_counter() - started, 3)
        details = out / "documents" / f"{safe_name}.jsonl"
        details.parent.mkdir(parents=True, exist_ok=True)
        with details.open("w", encoding="utf-8") as f:
            for doc in ppl.documents:
                row = {"id": doc.id, "source": doc.source, "language": doc.language, **doc.totals.as_dict()}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    for bench in section.benchmarks:
        started = time.perf_counter()
        per_subject = evaluate_benchmark(lm, bench, benchmarks[bench.name], section.batch_tokens)
        n = sum(r.n for r in per_subject.values())
        correct = sum(r.correct for r in per_subject.values())
        entry["benchmarks"][bench.name] = {
            "format": bench.format,
            "split": bench.eval_split(),
            "shots": bench.shots,
            "prompt": prompt_kind(bench),
            "template": bench.template,
            "n": n,
            "correct": correct,
            "average": sum(r.accuracy for r in per_subject.values()) / len(per_subject),
            "micro": correct / n if n else float("nan"),
            "chance": sum(chance(s.questions) for s in benchmarks[bench.name]) / len(benchmarks[bench.name]),
            "subjects": {
                s: {"n": r.n, "correct": r.correct, "accuracy": r.accuracy} for s, r in per_subject.items()
            },
            "seconds": round(time.perf_counter() - started, 3),
        }
        result = entry["benchmarks"][bench.name]
        if FORMATS[bench.format].reports_points:
            result["points"] = sum(r.points for r in per_subject.values())
            result["max_points"] = sum(r.max_points for r in per_subject.values())
            result["scoring_rate"] = result["points"] / result["max_points"]
            for s, r in per_subject.items():
                result["subjects"][s] |= {"points": r.points, "max_points": r.max_points,
                                          "scoring_rate": r.points / r.max_points if r.max_points else float("nan")}
        categories = aggregate(bench.format, result["subjects"])
        if categories is not None:
            result["categories"] = categories
        details = out / "predictions" / safe_name / f"{bench.name}.jsonl"
        details.parent.mkdir(parents=True, exist_ok=True)
        with details.open("w", encoding="utf-8") as f:
            for subject, result in per_subject.items():
                for row in result.predictions:
                    f.write(json.dumps({"subject": subject, **row}, ensure_ascii=False) + "\n")
    return entry


def heldout_counts(heldout: Path, sources: list[str], max_documents: int | None) -> dict[str, int]:
    """Documents each held-out source would be scored on (parquet metadata only)."""
    import pyarrow.parquet as pq

    counts = {}
    for source in sources:
        n = sum(pq.ParquetFile(f).metadata.num_rows for f in sorted((heldout / source).glob("*.parquet")))
        counts[source] = min(n, max_documents) if max_documents is not None else n
    return counts


def run_settings(section, heldout: Path, sources: list[str], benchmarks: dict, tokenize) -> dict:
    """What decides a model's numbers besides the model: recorded per model in results.json, compared when
    `--append` keeps earlier models."""
    from common.encoding import rendering_settings
    from evaluation.outputs import heldout_digest, items_digest, sha256_json

    return {
        "max_length": section.max_length,
        "perplexity": {
            "sources": sources,
            "max_documents": section.perplexity.max_documents,
            "heldout_sha256": heldout_digest(heldout, sources),
            "rendering_sha256": sha256_json(rendering_settings(tokenize)),
        } if sources else None,
        "benchmarks": {
            b.name: {
                "format": b.format,
                "split": b.eval_split(),
                "shots": b.shots,
                "prompt": b.prompt or "raw",
                "template": b.template,
                "subjects": [s.name for s in benchmarks[b.name]],
                "subject_names": dict(b.subject_names),
                "items_sha256": items_digest(benchmarks[b.name]),
                "dev_sha256": items_digest(benchmarks[b.name], dev=True),
            }
            for b in section.benchmarks
        },
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_common(
        parser,
        output="output folder (default: evaluation.out, else WORKDIR/eval); replaced as a whole by each run",
        fresh="start a new table: the previous models are not kept (the default; the opposite of --append)",
        dry_run="list the models, benchmarks (questions each), held-out sources (documents each) and the output "
                "folder this run would use, and write nothing",
    )
    parser.add_argument(
        "--model", action="append", metavar="[NAME=]DIR",
        help="Hugging Face model folder; repeat to compare (default: the trainer's final model, WORKDIR/model)",
    )
    parser.add_argument("--append", action="store_true",
                        help="keep the other models of OUT/results.json and their files (refused if they were "
                             "scored under other settings)")
    parser.add_argument("--no-perplexity", action="store_true", help="skip held-out perplexity")
    parser.add_argument("--no-benchmarks", action="store_true", help="skip multiple-choice benchmarks")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.append and args.fresh:
        build_parser().error("--append keeps the previous models and --fresh does not: give one of them")
    doing = {"what": ""}
    return run_main(lambda: _run(args, doing), prog=PROG, user_errors=_user_errors(),
                    interrupted=lambda: doing["what"])


def _user_errors() -> tuple[type[BaseException], ...]:
    from common.recipe import RecipeError
    from common.tokens import ShardError
    from evaluation.benchmarks import BenchmarkError
    from evaluation.errors import ChatTemplateError, EvaluationError, ModelError

    return (RecipeError, BenchmarkError, ModelError, ChatTemplateError, EvaluationError, FileNotFoundError, ShardError)


def _nothing_to_evaluate(args, section, perplexity_off: str | None) -> str:
    benchmarks = "--no-benchmarks" if args.no_benchmarks else "the recipe lists no evaluation.benchmarks"
    return f"nothing to evaluate: no benchmarks ({benchmarks}) and no held-out perplexity ({perplexity_off})"


def _run(args: argparse.Namespace, doing: dict) -> int:
    level = verbosity(args)
    quiet_libraries(level)

    def say(message: str) -> None:
        if level >= 0:
            print(message, file=sys.stderr, flush=True)

    from common.encoding import TokenizeSection
    from common.recipe import Recipe
    from common.tokenizer import tokenizer_in_effect
    from evaluation.benchmarks import load_benchmark
    from evaluation.config import check_benchmark_paths, heldout_sources, load_section
    from evaluation.errors import EvaluationError, ModelError
    from evaluation.outputs import (
        carry_files,
        check_output,
        clean_leftovers,
        kept_models,
        read_previous,
        staging,
        swap_in,
    )
    from evaluation.report import FORMAT_VERSION

    recipe = Recipe.load(args.recipe)
    if args.workdir:
        recipe.data["workdir"] = str(Path(args.workdir).expanduser().resolve())
    section = load_section(recipe, check_inputs=False)
    if not args.no_benchmarks:
        check_benchmark_paths(section)
    out = Path(args.output).expanduser() if args.output else (section.out or recipe.workdir / "eval")
    out = out.resolve()
    tokenize = recipe.section("tokenize", TokenizeSection)  # conversations rendered as for training

    if args.model:
        models = _model_names(args.model)
    else:
        path = default_model(recipe)
        if not (path / "config.json").is_file():
            raise ModelError(f"no --model given and {path} has no model (no config.json; train.run writes its final "
                             f"model there); pass --model DIR")
        models = [("model", path)]
    from common.gguf import GgufError, gguf_file, resolve_model_path

    resolved = []
    for name, path in models:
        if gguf_file(path) is not None and not args.dry_run:
            try:  # a GGUF file is converted once into a Hugging Face folder beside it (common.gguf)
                path = resolve_model_path(path)
            except GgufError as err:
                raise ModelError(str(err)) from None
        elif not (path / "config.json").is_file() and gguf_file(path) is None:
            raise ModelError(f"{path}: not a Hugging Face model folder (no config.json) or a .gguf file")
        resolved.append((name, path))
    models = resolved

    benchmarks = {} if args.no_benchmarks else {b.name: load_benchmark(b) for b in section.benchmarks}
    if args.no_benchmarks:
        section.benchmarks = []
    heldout = recipe.workdir / "heldout"
    sources: list[str] = []
    counts: dict[str, int] = {}
    perplexity_off = ("--no-perplexity" if args.no_perplexity
                      else "evaluation.perplexity.enabled is false" if not section.perplexity.enabled else None)
    if perplexity_off is None:
        counts = heldout_counts(heldout, heldout_sources(heldout, section.perplexity.sources),
                                section.perplexity.max_documents)
        sources = [s for s, n in counts.items() if n]
        for source in (s for s, n in counts.items() if not n):
            say(f"note: held-out source {source} has no documents in {heldout / source}; skipped")
        if not sources:
            perplexity_off = (f"no held-out documents in {heldout}; curation writes them when "
                              f"curation.heldout_fraction > 0")
            if section.benchmarks:
                say(f"note: {perplexity_off}; perplexity skipped")
    if not sources and not section.benchmarks:
        raise EvaluationError(_nothing_to_evaluate(args, section, perplexity_off))

    settings = run_settings(section, heldout, sources, benchmarks, tokenize)
    inputs = [heldout, *(p for _, p in models), *(Path(b.path) for b in section.benchmarks)]
    check_output(out, inputs, workdir=recipe.workdir)
    previous = read_previous(out) if args.append else {}
    kept = kept_models(previous, [n for n, _ in models], settings, out / "results.json")

    if args.dry_run:
        print_plan(models, section, benchmarks, heldout, counts, sources, perplexity_off, out, kept, previous, args)
        return 0

    fallback_tokenizer = tokenizer_in_effect(recipe)
    with WorkdirLock(out.parent, f"evaluation.run {args.recipe}"):
        for note in clean_leftovers(out):
            say(f"note: {note}")
        previous = read_previous(out) if args.append else {}  # as it is now that the run holds the lock
        kept = kept_models(previous, [n for n, _ in models], settings, out / "results.json")
        staged, _ = staging(out)
        try:
            staged.mkdir(parents=True)
            carry_files(out, staged, list(kept))
            results = {"format_version": FORMAT_VERSION, "recipe": str(recipe.path), "models": {}}
            # the previous models in their order (those evaluated again are replaced in place), then the new ones
            results["models"].update(previous)
            written = evaluate_all(models, section, heldout, sources, benchmarks, tokenize, staged, results,
                                   fallback_tokenizer, settings, say, doing, out)
            swap_in(staged, out)
        except BaseException:
            import shutil

            shutil.rmtree(staged, ignore_errors=True)
            raise
    print(_markdown(results))
    for path in written:
        print(f"wrote {out / path.relative_to(staged)}")
    return 0


def evaluate_all(models, section, heldout, sources, benchmarks, tokenize, staged, results, fallback_tokenizer,
                 settings, say, doing, out) -> list[Path]:
    """Score every model into `staged` and write the report there; returns the report's paths."""
    from evaluation.models import load_model
    from evaluation.outputs import model_fingerprint, sha256_json
    from evaluation.report import write_report

    for k, (name, path) in enumerate(models, 1):
        doing["what"] = f"while evaluating {name} ({k} of {len(models)}); {out} is as it was before this run"
        lm = load_model(
            path,
            fallback_tokenizer=fallback_tokenizer,
            device=section.device,
            dtype=section.dtype,
            max_length=section.max_length,
            trust_remote_code=section.trust_remote_code,
            name=name,
        )
        say(f"evaluating {name} ({path}) on {lm.device}, tokenizer {lm.tokenizer_path}")
        entry = evaluate_model(lm, section, heldout, sources, benchmarks, staged, tokenize)
        entry["settings"] = settings
        entry["model_fingerprint"] = model_fingerprint(path)
        entry["settings_sha256"] = sha256_json(settings)
        results["models"][name] = entry
        del lm
        gc.collect()
    doing["what"] = f"while writing the report; {out} is as it was before this run"
    return write_report(results, staged)


def _markdown(results: dict) -> str:
    from evaluation.report import markdown_table

    return markdown_table(results)


def print_plan(models, section, benchmarks, heldout, counts, sources, perplexity_off, out, kept, previous, args):
    """The dry run: what would be evaluated and written."""
    print("dry run: nothing is evaluated or written")
    print(f"models ({len(models)}):")
    for name, path in models:
        print(f"  {name}: {path}")
    if section.benchmarks:
        print(f"benchmarks ({len(section.benchmarks)}):")
        for b in section.benchmarks:
            subjects = benchmarks[b.name]
            questions = sum(len(s.questions) for s in subjects)
            print(f"  {b.name}: {questions} questions in {len(subjects)} subjects ({b.format} {b.eval_split()}, "
                  f"{b.shots}-shot, {b.prompt or 'raw'} prompt) from {b.path}")
    else:
        print("benchmarks: none" + (" (--no-benchmarks)" if args.no_benchmarks else ""))
    if sources:
        print(f"held-out perplexity: {sum(counts[s] for s in sources)} documents in {len(sources)} sources "
              f"under {heldout}")
        for source in sources:
            print(f"  {source}: {counts[source]} documents")
    else:
        print(f"held-out perplexity: none ({perplexity_off})")
    print(f"output: {out} (replaced as a whole at the end of the run)")
    if args.append:
        print(f"  kept from {out / 'results.json'}: {', '.join(kept) or 'none'}"
              + (f"; evaluated again: {', '.join(n for n in previous if n not in kept)}"
                 if any(n not in kept for n in previous) else ""))
    elif (out / "results.json").is_file():
        print("  its previous models are not kept (--append keeps them)")


if __name__ == "__main__":
    sys.exit(main())
