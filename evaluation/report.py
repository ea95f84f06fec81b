"""Results of several models side by side: `results.json`, `results.md` and PNG plots.

`results.json` (format_version 1):
    {"format_version": 1, "recipe": str, "models": {name: {
        "path", "tokenizer", "device", "dtype", "max_length",
        "perplexity": {"by_source"|"by_language": {group: METRICS}, "all": METRICS} | null,
        "benchmarks": {name: {"format", "split", "shots", "template", "n", "correct",
                              "average" (mean of subject accuracies), "micro" (correct / n),
                              "chance" (mean of subjects' expected accuracy of guessing),
                              "subjects": {subject: {"n", "correct", "accuracy"}}}}}}}
    METRICS = {"docs", "tokens", "chars", "nll" (nats), "loss", "perplexity", "bits_per_char"}
"""

from __future__ import annotations

import json
import math
from pathlib import Path

FORMAT_VERSION = 1


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


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
            "### Multiple choice (accuracy, %)",
            "",
            _row(["benchmark / subject", "questions", *names]),
            _row(["---"] * (len(names) + 2)),
        ]
        for name, first in benchmarks.items():
            label = f"**{name}** ({first['split']}, {first['shots']}-shot, mean of subjects)"
            cells = []
            for model_name in names:
                bench = results["models"][model_name].get("benchmarks", {}).get(name)
                cells.append(_fmt(100 * bench["average"], 1) if bench else "–")
            lines.append(_row([label, str(first["n"]), *cells]))
            for subject, stats in first["subjects"].items():
                cells = []
                for model_name in names:
                    bench = results["models"][model_name].get("benchmarks", {}).get(name)
                    sub = bench["subjects"].get(subject) if bench else None
                    cells.append(_fmt(100 * sub["accuracy"], 1) if sub else "–")
                lines.append(_row([f"{name} · {subject}", str(stats["n"]), *cells]))
        lines.append("")
    return "\n".join(lines)


def write_plots(results: dict, out: Path) -> list[Path]:
    """`perplexity.png` (bits per character per group) and `benchmarks.png` (average accuracy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["models"])
    written = []
    width = 0.8 / max(len(names), 1)
    rows = perplexity_rows(results)
    if any(m.get("perplexity") for m in results["models"].values()):
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(rows) + 2), 4))
        for k, name in enumerate(names):
            values = []
            for key, _ in rows:
                group = _group(results["models"][name], key)
                values.append(group["bits_per_char"] if group else float("nan"))
            ax.bar([i + k * width for i in range(len(rows))], values, width, label=name)
        ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(rows))])
        ax.set_xticklabels([label for _, label in rows], rotation=20, ha="right")
        ax.set_ylabel("bits per character (lower is better)")
        ax.set_title("Held-out documents")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "perplexity.png", dpi=120)
        plt.close(fig)
        written.append(out / "perplexity.png")
    bench_names = sorted({b for m in results["models"].values() for b in m.get("benchmarks", {})})
    if bench_names:
        fig, ax = plt.subplots(figsize=(max(5, 1.5 * len(bench_names) + 2), 4))
        for k, name in enumerate(names):
            benches = results["models"][name].get("benchmarks", {})
            values = [100 * benches[b]["average"] if b in benches else float("nan") for b in bench_names]
            ax.bar([i + k * width for i in range(len(bench_names))], values, width, label=name)
        # benchmarks may have different numbers of options: one chance mark per benchmark
        label = "chance"
        for i, bench in enumerate(bench_names):
            chance = next((m["benchmarks"][bench]["chance"] for m in results["models"].values()
                           if "chance" in m.get("benchmarks", {}).get(bench, {})), None)
            if chance is not None:
                ax.hlines(100 * chance, i - width / 2, i + 0.8 - width / 2, color="grey", linestyle="--",
                          linewidth=1, label=label)
                label = None
        ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(bench_names))])
        ax.set_xticklabels(bench_names)
        ax.set_ylabel("accuracy, % (mean of subjects)")
        ax.set_ylim(0, 100)
        ax.set_title("Multiple choice")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "benchmarks.png", dpi=120)
        plt.close(fig)
        written.append(out / "benchmarks.png")
    return written


def write_report(results: dict, out: Path) -> list[Path]:
    """Write results.json, results.md and the plots under `out`; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False, allow_nan=True) + "\n", encoding="utf-8")
    tmp.replace(json_path)
    md_path = out / "results.md"
    title = f"# Evaluation: {results.get('recipe', '')}\n\n"
    md_path.write_text(title + markdown_table(results), encoding="utf-8")
    return [json_path, md_path, *write_plots(results, out)]
