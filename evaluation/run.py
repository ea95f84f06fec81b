"""`python -m evaluation.run RECIPE --model DIR [--model DIR2 ...]`: held-out perplexity per source and
language and multiple-choice accuracy for one or more models, written side by side to
`workdir/eval/` (results.json, results.md, perplexity.png, benchmarks.png, per-item details)."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

from common.encoding import TokenizeSection
from common.recipe import Recipe, RecipeError
from common.tokenizer import tokenizer_in_effect
from common.tokens import ShardError
from evaluation.benchmarks import FORMATS, BenchmarkError, Question, Subject, load_benchmark
from evaluation.categories import aggregate
from evaluation.config import EvaluationSection, check_benchmark_paths, load_section
from evaluation.models import LoadedModel, ModelError, load_model
from evaluation.multiple_choice import ChatTemplateError, chat_prompt, evaluate_benchmark, prompt_kind
from evaluation.perplexity import evaluate_perplexity, heldout_sources
from evaluation.report import FORMAT_VERSION, markdown_table, write_report


def _model_names(paths: list[str]) -> list[tuple[str, Path]]:
    """`NAME=DIR` or `DIR` (named after the folder; parent/folder when two folders share a name)."""
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


def chance(questions: list[Question]) -> float:
    """Expected accuracy of guessing: questions may have different numbers of options."""
    return sum(1 / len(q.candidates) for q in questions) / len(questions) if questions else float("nan")


def evaluate_model(
    lm: LoadedModel,
    section: EvaluationSection,
    heldout: Path,
    sources: list[str],
    benchmarks: dict[str, list[Subject]],
    out: Path,
    tokenize: TokenizeSection,
) -> dict:
    """All metrics for one model; per-document and per-question details go to files under `out`."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.run", description=__doc__)
    parser.add_argument("recipe", help="recipe YAML (its evaluation: section and workdir)")
    parser.add_argument(
        "--model", action="append", required=True, metavar="[NAME=]DIR", help="HF model folder; repeat to compare"
    )
    parser.add_argument("--out", help="output folder (default: evaluation.out, else workdir/eval)")
    parser.add_argument("--append", action="store_true", help="keep other models already in OUT/results.json")
    parser.add_argument("--no-perplexity", action="store_true", help="skip held-out perplexity")
    parser.add_argument("--no-benchmarks", action="store_true", help="skip multiple-choice benchmarks")
    args = parser.parse_args(argv)
    try:
        recipe = Recipe.load(args.recipe)
        section = load_section(recipe, check_inputs=False)
        if not args.no_benchmarks:
            check_benchmark_paths(section)
        out = Path(args.out) if args.out else (section.out or recipe.workdir / "eval")
        fallback_tokenizer = tokenizer_in_effect(recipe)
        tokenize = recipe.section("tokenize", TokenizeSection)  # conversations rendered as for training
        models = _model_names(args.model)
        benchmarks = {} if args.no_benchmarks else {b.name: load_benchmark(b) for b in section.benchmarks}
        if args.no_benchmarks:
            section.benchmarks = []
        heldout = recipe.workdir / "heldout"
        sources: list[str] = []
        if section.perplexity.enabled and not args.no_perplexity:
            sources = heldout_sources(heldout, section.perplexity.sources)
            if not sources:
                print(f"note: no held-out documents in {heldout}; perplexity skipped "
                      f"(curation writes them when curation.heldout_fraction > 0)", file=sys.stderr)
        previous: dict = {}
        if args.append and (out / "results.json").is_file():
            previous = json.loads((out / "results.json").read_text(encoding="utf-8")).get("models", {})
        results = {"format_version": FORMAT_VERSION, "recipe": str(recipe.path), "models": dict(previous)}
        for name, path in models:
            lm = load_model(
                path,
                fallback_tokenizer=fallback_tokenizer,
                device=section.device,
                dtype=section.dtype,
                max_length=section.max_length,
                trust_remote_code=section.trust_remote_code,
                name=name,
            )
            print(f"evaluating {name} ({path}) on {lm.device}, tokenizer {lm.tokenizer_path}", file=sys.stderr)
            results["models"][name] = evaluate_model(lm, section, heldout, sources, benchmarks, out, tokenize)
            del lm
            gc.collect()
        written = write_report(results, out)
    except (RecipeError, BenchmarkError, ModelError, ChatTemplateError, FileNotFoundError, ShardError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown_table(results))
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
