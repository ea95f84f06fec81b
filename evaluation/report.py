"""Results of several models side by side: `results.json`, `results.md` and PNG plots.

`results.json` (format_version 1):
    {"format_version": 1, "recipe": str, "models": {name: {
        "path", "tokenizer", "device", "dtype", "max_length",
        "perplexity": {"by_source"|"by_language": {group: METRICS}, "all": METRICS} | null,
        "benchmarks": {name: {"format", "split", "shots", "template", "n", "correct",
                              "average" (mean of subject accuracies), "micro" (correct / n),
                              "chance" (mean of subjects' expected accuracy of guessing),
                              "subjects": {subject: {"n", "correct", "accuracy"}}}},
        "settings": what the model was scored under (evaluation.run's `run_settings`: "max_length",
                    "perplexity": {"sources", "max_documents", "heldout_sha256", "rendering_sha256"} | null,
                    "benchmarks": {name: {"format", "split", "shots", "prompt", "template", "subjects",
                                          "subject_names", "items_sha256", "dev_sha256"}}),
        "settings_sha256": sha256 of "settings" (evaluation/outputs.py compares them for --append),
        "model_fingerprint": sha256 of the model folder's config and weight files' names, sizes and mtimes}}}
    METRICS = {"docs", "tokens", "chars", "nll" (nats), "loss", "perplexity", "bits_per_char"}

Intervals (added by `add_uncertainty`, evaluation/stats.py; every interval is [low, high] as fractions,
or null when there are no items):
    benchmark: "average_ci95" (stratified bootstrap), "micro_ci95" (Wilson); subject: "ci95" (Wilson);
    category (when present): "ci95" (Wilson when its accuracy is correct / n, else the bootstrap over
    its subjects); top level "intervals": {kind: method} and
    "comparisons": {"base": first model, "method", "models": {name: {benchmark: PAIRED |
        {"missing": why}}}}, PAIRED = {"n", "both_correct", "only_base_correct", "only_model_correct",
        "neither_correct", "difference" (model - base, micro), "ci95", "subjects": {subject: PAIRED}}
    read from `predictions/<model>/<benchmark>.jsonl` (items matched on subject, id, line).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from evaluation.stats import METHODS, mean_of_subjects_interval, paired_difference, wilson

FORMAT_VERSION = 1


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _ci(interval) -> list[float] | None:
    return [float(interval[0]), float(interval[1])] if interval else None


def _pct_ci(value: float | None, interval, signed: bool = False) -> str:
    """`45.0 [32.1, 58.3]` (percent); `–` for no value; `(no interval)` when there are no items."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "– (no items)"
    number = f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"
    if not interval:
        return f"{number} (no interval)"
    if signed:
        return f"{number} [{100 * interval[0]:+.1f}, {100 * interval[1]:+.1f}]"
    return f"{number} [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def _benchmark_intervals(bench: dict) -> None:
    subjects = bench.get("subjects", {})
    for stats in subjects.values():
        stats["ci95"] = _ci(wilson(stats["correct"], stats["n"]))
    bench["micro_ci95"] = _ci(wilson(bench["correct"], bench["n"]))
    bench["average_ci95"] = _ci(mean_of_subjects_interval([(s["correct"], s["n"]) for s in subjects.values()]))
    for category in (bench.get("categories") or {}).values():
        n, correct = category.get("n", 0), category.get("correct", 0)
        accuracy = category.get("accuracy")
        micro = n > 0 and accuracy is not None and abs(accuracy - correct / n) < 1e-9
        members = category.get("subjects")
        members = list(members) if isinstance(members, (list, tuple, dict)) else []
        counts = [(subjects[s]["correct"], subjects[s]["n"]) for s in members if s in subjects]
        if micro or not counts:
            category["ci95"] = _ci(wilson(correct, n))
        else:
            category["ci95"] = _ci(mean_of_subjects_interval(counts))


def safe_name(model: str) -> str:
    """The model's folder name under predictions/ (as evaluation.run writes it)."""
    return model.replace("/", "__")


def read_correctness(out: Path, model: str, benchmark: str) -> dict[tuple, bool] | None:
    """Per-item correctness {(subject, id, line): predicted == answer} from the predictions file
    evaluation.run wrote; None when there is no such file."""
    path = out / "predictions" / safe_name(model) / f"{benchmark}.jsonl"
    if not path.is_file():
        return None
    items = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                items[(row.get("subject"), str(row.get("id")), row.get("line"))] = row["predicted"] == row["answer"]
    return items


def compare_models(results: dict, out: Path | None) -> dict | None:
    """Every model vs the first one, per benchmark both ran, on the items both predicted."""
    names = list(results["models"])
    if len(names) < 2:
        return None
    base = names[0]
    comparisons: dict = {"base": base, "method": METHODS["paired_difference"], "models": {}}
    for name in names[1:]:
        per_bench: dict = {}
        shared = [b for b in results["models"][name].get("benchmarks", {})
                  if b in results["models"][base].get("benchmarks", {})]
        for bench in shared:
            a = read_correctness(out, base, bench) if out else None
            b = read_correctness(out, name, bench) if out else None
            if a is None or b is None:
                per_bench[bench] = {"missing": "no predictions file for " + (base if a is None else name)}
                continue
            keys = [k for k in a if k in b]
            entry = paired_difference([a[k] for k in keys], [b[k] for k in keys]).as_dict()
            entry["subjects"] = {}
            for subject in dict.fromkeys(k[0] for k in keys):
                sub = [k for k in keys if k[0] == subject]
                entry["subjects"][subject] = paired_difference([a[k] for k in sub], [b[k] for k in sub]).as_dict()
            per_bench[bench] = entry
        comparisons["models"][name] = per_bench
    return comparisons


def add_uncertainty(results: dict, out: Path | None = None) -> dict:
    """Add 95% intervals to every accuracy and the paired differences vs the first model (in place)."""
    for model in results["models"].values():
        for bench in model.get("benchmarks", {}).values():
            _benchmark_intervals(bench)
    results["intervals"] = dict(METHODS)
    comparisons = compare_models(results, out)
    if comparisons:
        results["comparisons"] = comparisons
    else:
        results.pop("comparisons", None)
    return results


def perplexity_rows(results: dict) -> list[tuple[str, str]]:
    """(group key, label) for every perplexity group any model has: overall, languages, sources."""
    keys: dict[tuple[str, str], str] = {("all", "all"): "all"}
    for model in results["models"].values():
        ppl = model.get("perplexity")
        if not ppl:
            continue
        for lang in ppl["by_language"]:
            keys[("by_language", lang)] = f"language {lang}"
        for source in ppl["by_source"]:
            keys[("by_source", source)] = f"source {source}"
    return [(f"{kind}/{name}", label) for (kind, name), label in keys.items()]


def _group(model: dict, key: str) -> dict | None:
    ppl = model.get("perplexity")
    if not ppl:
        return None
    kind, name = key.split("/", 1)
    return ppl["all"] if kind == "all" else ppl[kind].get(name)


def markdown_table(results: dict) -> str:
    """Two tables (perplexity, benchmarks) with one column per model."""
    names = list(results["models"])
    lines: list[str] = []
    if any(m.get("perplexity") for m in results["models"].values()):
        lines += [
            "### Held-out perplexity",
            "",
            "Each cell: bits per character (comparable across tokenizers) / token perplexity.",
            "",
            _row(["group", "docs", *names]),
            _row(["---"] * (len(names) + 2)),
        ]
        for key, label in perplexity_rows(results):
            groups = [_group(results["models"][n], key) for n in names]
            docs = next((str(g["docs"]) for g in groups if g), "–")
            cells = [
                f"{_fmt(g['bits_per_char'])} / {_fmt(g['perplexity'], 2)}" if g else "–" for g in groups
            ]
            lines.append(_row([label, docs, *cells]))
        lines.append("")
    benchmarks: dict[str, dict] = {}
    for model in results["models"].values():
        for name, bench in model.get("benchmarks", {}).items():
            benchmarks.setdefault(name, bench)
    if benchmarks:
        lines += [
            "### Multiple choice (accuracy, %, with 95% interval)",
            "",
            "Subjects and pooled rows: Wilson score interval; mean-of-subjects rows: bootstrap over "
            "items stratified by subject (docs/evaluation.md). questions = n.",
            "",
            _row(["benchmark / subject", "questions", *names]),
            _row(["---"] * (len(names) + 2)),
        ]

        def bench_of(model_name: str, name: str) -> dict | None:
            return results["models"][model_name].get("benchmarks", {}).get(name)

        for name, first in benchmarks.items():
            prompt = f", {first['prompt']} prompt" if first.get("prompt") else ""
            label = f"**{name}** ({first['split']}, {first['shots']}-shot{prompt}, mean of subjects)"
            cells = []
            for model_name in names:
                bench = bench_of(model_name, name)
                if bench and "average_ci95" not in bench:
                    _benchmark_intervals(bench)
                cells.append(_pct_ci(bench["average"], bench["average_ci95"]) if bench else "–")
            lines.append(_row([label, str(first["n"]), *cells]))
            cells = [_pct_ci(b["micro"], b["micro_ci95"]) if (b := bench_of(m, name)) else "–" for m in names]
            lines.append(_row([f"{name} · all questions pooled", str(first["n"]), *cells]))
            if any("points" in (bench_of(m, name) or {}) for m in names):
                cells = []
                for model_name in names:
                    bench = bench_of(model_name, name) or {}
                    cells.append(f"{_fmt(bench['points'], 1)} / {_fmt(bench.get('max_points'), 1)}"
                                 if "points" in bench else "–")
                lines.append(_row([f"{name} · points / max", str(first["n"]), *cells]))
            for category, stats in (first.get("categories") or {}).items():
                cells = []
                for model_name in names:
                    cat = ((bench_of(model_name, name) or {}).get("categories") or {}).get(category)
                    cells.append(_pct_ci(cat["accuracy"], cat.get("ci95")) if cat else "–")
                lines.append(_row([f"{name} · category {category}", str(stats["n"]), *cells]))
            for subject, stats in first["subjects"].items():
                cells = []
                for model_name in names:
                    bench = bench_of(model_name, name)
                    sub = bench["subjects"].get(subject) if bench else None
                    cells.append(_pct_ci(sub["accuracy"], sub.get("ci95")) if sub else "–")
                lines.append(_row([f"{name} · {subject}", str(stats["n"]), *cells]))
        lines.append("")
    comparisons = results.get("comparisons")
    if comparisons and comparisons.get("models"):
        others = list(comparisons["models"])
        base = comparisons["base"]
        lines += [
            f"### Paired difference vs {base} (accuracy points, %, same questions, with 95% interval)",
            "",
            "Model minus base over the questions both answered (pooled, not the mean of subjects); "
            "Newcombe's paired score interval. questions = paired questions.",
            "",
            _row(["benchmark / subject", "questions", *others]),
            _row(["---"] * (len(others) + 2)),
        ]
        bench_names = list(dict.fromkeys(b for m in others for b in comparisons["models"][m]))
        for bench in bench_names:
            entries = [comparisons["models"][m].get(bench) for m in others]
            found = [e for e in entries if e and "missing" not in e]
            n = str(found[0]["n"]) if found else "–"
            cells = [("– (" + e["missing"] + ")" if "missing" in e else _pct_ci(e["difference"], e["ci95"], True))
                     if e else "–" for e in entries]
            lines.append(_row([f"**{bench}**", n, *cells]))
            subjects = list(dict.fromkeys(s for e in found for s in e.get("subjects", {})))
            for subject in subjects:
                subs = [e.get("subjects", {}).get(subject) if e and "missing" not in e else None for e in entries]
                n = next((str(x["n"]) for x in subs if x), "–")
                cells = [_pct_ci(x["difference"], x["ci95"], True) if x else "–" for x in subs]
                lines.append(_row([f"{bench} · {subject}", n, *cells]))
        lines.append("")
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


MAX_FIGURE_WIDTH = 40.0  # inches; bars get thinner beyond it


def perplexity_figure(results: dict):
    """Bits per character, one bar per model with its value written on it: overall and per language on
    the left, per source on the right (separate panels, so a language is never read as a source)."""
    plt = _pyplot()
    names = list(results["models"])
    rows = perplexity_rows(results)
    panels = [
        ("overall and per language", "language", [(k, lbl.removeprefix("language ")) for k, lbl in rows
                                                  if not k.startswith("by_source/")]),
        ("per source", "source", [(k, lbl.removeprefix("source ")) for k, lbl in rows if k.startswith("by_source/")]),
    ]
    panels = [p for p in panels if p[2]]
    bars = sum(len(p[2]) for p in panels) * len(names)
    fig, axes = plt.subplots(
        1, len(panels), squeeze=False, sharey=True,
        figsize=(min(max(6.0, 0.45 * bars + 2.5), MAX_FIGURE_WIDTH), 4.8),
        gridspec_kw={"width_ratios": [len(p[2]) for p in panels]},
    )
    width = 0.8 / max(len(names), 1)
    top = 0.0
    for ax, (title, xlabel, groups) in zip(axes[0], panels, strict=True):
        for k, name in enumerate(names):
            values = []
            for key, _ in groups:
                group = _group(results["models"][name], key)
                values.append(group["bits_per_char"] if group and _finite(group["bits_per_char"]) else float("nan"))
            xs = [i + k * width for i in range(len(groups))]
            ax.bar(xs, values, width, label=name, color=f"C{k % 10}")
            for x, value in zip(xs, values, strict=True):
                if _finite(value):
                    ax.text(x, value, f"{value:.2f}", ha="center", va="bottom", fontsize=7,
                            rotation=90 if len(names) > 2 else 0)
                    top = max(top, value)
        ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(groups))])
        ax.set_xticklabels([label for _, label in groups], rotation=30 if len(groups) > 4 else 0, ha="right"
                           if len(groups) > 4 else "center")
        ax.set_xlabel(xlabel)
        ax.set_title(title, fontsize=10)
    axes[0][0].set_ylabel("bits per character (lower is better)")
    axes[0][0].set_ylim(0, top * 1.35 if top > 0 else 1)
    axes[0][-1].legend(fontsize=8, loc="upper right", ncol=min(len(names), 4))
    fig.suptitle("Held-out documents")
    fig.tight_layout()
    return fig


def benchmarks_figure(results: dict):
    """Accuracy over all questions per benchmark, one bar per model with its 95% Wilson interval and its
    value and number of questions written above; each benchmark's chance level dashed."""
    plt = _pyplot()
    names = list(results["models"])
    bench_names = sorted({b for m in results["models"].values() for b in m.get("benchmarks", {})})
    bars = len(bench_names) * len(names)
    fig, ax = plt.subplots(figsize=(min(max(6.0, 0.6 * bars + 2.5), MAX_FIGURE_WIDTH), 4.8))
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        benches = results["models"][name].get("benchmarks", {})
        xs, values, low, high, labels = [], [], [], [], []
        for i, b in enumerate(bench_names):
            bench = benches.get(b)
            if bench is None or not _finite(bench.get("micro")):
                continue
            if "micro_ci95" not in bench:
                _benchmark_intervals(bench)
            interval = bench["micro_ci95"] or [bench["micro"], bench["micro"]]
            xs.append(i + k * width)
            values.append(100 * bench["micro"])
            low.append(100 * (bench["micro"] - interval[0]))
            high.append(100 * (interval[1] - bench["micro"]))
            labels.append(f"{100 * bench['micro']:.1f}\nn={bench['n']}")
        ax.bar(xs, values, width, label=name, color=f"C{k % 10}")
        if xs:
            ax.errorbar(xs, values, yerr=[low, high], fmt="none", ecolor="black", elinewidth=1, capsize=3)
        for x, value, up, label in zip(xs, values, high, labels, strict=True):
            ax.text(x, value + up + 1, label, ha="center", va="bottom", fontsize=7)
    # benchmarks may have different numbers of options: one chance mark per benchmark
    label = "chance"
    for i, bench in enumerate(bench_names):
        chance = next((m["benchmarks"][bench]["chance"] for m in results["models"].values()
                       if "chance" in m.get("benchmarks", {}).get(bench, {})), None)
        if chance is not None and _finite(chance):
            ax.hlines(100 * chance, i - width / 2, i + 0.8 - width / 2, color="grey", linestyle="--",
                      linewidth=1, label=label)
            label = None
    ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(bench_names))])
    ax.set_xticklabels(bench_names)
    ax.set_xlabel("benchmark")
    ax.set_ylabel("accuracy, % (all questions; 95% Wilson interval)")
    ax.set_ylim(0, 115)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title("Multiple choice (n = questions)")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def write_plots(results: dict, out: Path) -> list[Path]:
    """`perplexity.png` (bits per character per group) and `benchmarks.png` (accuracy per benchmark)."""
    plt = _pyplot()
    written = []
    if any(m.get("perplexity") for m in results["models"].values()):
        fig = perplexity_figure(results)
        fig.savefig(out / "perplexity.png", dpi=120)
        plt.close(fig)
        written.append(out / "perplexity.png")
    if any(m.get("benchmarks") for m in results["models"].values()):
        fig = benchmarks_figure(results)
        fig.savefig(out / "benchmarks.png", dpi=120)
        plt.close(fig)
        written.append(out / "benchmarks.png")
    return written


def write_report(results: dict, out: Path) -> list[Path]:
    """Write results.json, results.md and the plots under `out`; return the paths written. Adds the
    intervals and paired comparisons (`add_uncertainty`, from `out/predictions/`) to `results`."""
    out.mkdir(parents=True, exist_ok=True)
    add_uncertainty(results, out)
    json_path = out / "results.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False, allow_nan=True) + "\n", encoding="utf-8")
    tmp.replace(json_path)
    md_path = out / "results.md"
    title = f"# Evaluation: {results.get('recipe', '')}\n\n"
    md_path.write_text(title + markdown_table(results), encoding="utf-8")
    return [json_path, md_path, *write_plots(results, out)]
