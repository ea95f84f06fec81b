"""Plots a reader can use (issue 16: 18): what the plotting functions draw, not how it looks pixel by pixel."""

from __future__ import annotations

import math

import matplotlib
import pytest
from matplotlib.container import ErrorbarContainer

from curation.report import FUNNEL_MAX_HEIGHT, funnel_figure, plot_funnel
from evaluation.report import benchmarks_figure, markdown_table, perplexity_figure, write_plots

matplotlib.use("Agg")


def metrics(bpc: float, docs: int = 3) -> dict:
    return {"docs": docs, "tokens": 10, "chars": 20, "nll": 1.0, "loss": 0.1, "perplexity": 1.1, "bits_per_char": bpc}


def bench(correct: int, n: int) -> dict:
    return {"format": "ceval", "split": "val", "shots": 0, "prompt": "raw", "n": n, "correct": correct,
            "average": correct / n, "micro": correct / n, "chance": 0.25,
            "subjects": {"s": {"n": n, "correct": correct, "accuracy": correct / n}}}


def results() -> dict:
    base = {"perplexity": {"by_source": {"wiki_zh": metrics(1.5), "web_en": metrics(1.2), "code": metrics(0.9)},
                           "by_language": {"zh": metrics(1.5), "en": metrics(1.1)}, "all": metrics(1.3)},
            "benchmarks": {"ceval": bench(12, 40), "mmlu": bench(30, 100)}}
    # the second model has no `code` source and no mmlu: those bars are absent, not zero
    other = {"perplexity": {"by_source": {"wiki_zh": metrics(1.4), "web_en": metrics(1.25)},
                            "by_language": {"zh": metrics(1.4), "en": metrics(1.25)}, "all": metrics(1.3)},
             "benchmarks": {"ceval": bench(20, 40)}}
    return {"format_version": 1, "recipe": "r.yaml", "models": {"base": base, "zh": other}}


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text()]


def test_perplexity_bars_have_value_labels_and_languages_apart_from_sources():
    fig = perplexity_figure(results())
    languages, sources = fig.axes
    assert languages.get_xlabel() == "language" and sources.get_xlabel() == "source"
    assert [t.get_text() for t in languages.get_xticklabels()] == ["all", "zh", "en"]
    assert [t.get_text() for t in sources.get_xticklabels()] == ["wiki_zh", "web_en", "code"]
    assert "bits per character" in languages.get_ylabel()
    # one value label per bar that has a value: 3 + 3 on the left, 3 + 2 on the right
    assert sorted(texts(languages)) == sorted(["1.30", "1.10", "1.50", "1.30", "1.25", "1.40"])
    assert sorted(texts(sources)) == sorted(["0.90", "1.20", "1.50", "1.25", "1.40"])
    heights = [p.get_height() for p in sources.patches]
    assert sum(not math.isnan(h) for h in heights) == 5


def test_accuracy_bars_have_n_and_a_wilson_interval_each():
    data = results()
    fig = benchmarks_figure(data)
    (ax,) = fig.axes
    errorbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(errorbars) == 2  # one per model
    # base: ceval and mmlu; zh: ceval only
    assert [len(c.lines[2][0].get_segments()) for c in errorbars] == [2, 1]
    low, high = data["models"]["base"]["benchmarks"]["ceval"]["micro_ci95"]
    segment = errorbars[0].lines[2][0].get_segments()[0]
    assert segment[0][1] == pytest.approx(100 * low) and segment[1][1] == pytest.approx(100 * high)
    assert sorted(texts(ax)) == sorted(["30.0\nn=40", "30.0\nn=100", "50.0\nn=40"])
    assert "95%" in ax.get_ylabel() and ax.get_xlabel() == "benchmark"


def test_tables_have_intervals_and_the_pngs_are_written(tmp_path):
    data = results()
    written = write_plots(data, tmp_path)
    assert written == [tmp_path / "perplexity.png", tmp_path / "benchmarks.png"]
    assert all(p.stat().st_size > 1000 for p in written)
    table = markdown_table(data)
    low, high = data["models"]["base"]["benchmarks"]["ceval"]["micro_ci95"]
    assert f"30.0 [{100 * low:.1f}, {100 * high:.1f}]" in table


def funnel_report(n_sources: int) -> dict:
    steps = ["quality_zh", "dedup_exact", "dedup_near", "decontaminate"]
    sources = {}
    for i in range(n_sources):
        removed = {s: {"docs": 5 + i + k, "reasons": {}} for k, s in enumerate(steps[: 1 + i % 4])}
        read = 200 + i
        kept = read - 10 - sum(r["docs"] for r in removed.values())
        sources[f"source_{i:02d}"] = {"kind": "web", "language": "zh", "read": {"docs": read}, "removed": removed,
                                      "kept": {"docs": kept, "bytes": 0}, "heldout": {"docs": 10}}
    return {"sources": sources}


@pytest.mark.parametrize("n_sources", [1, 3, 40, 200])
def test_funnel_has_axis_labels_and_a_bounded_height(tmp_path, n_sources):
    report = funnel_report(n_sources)
    fig = funnel_figure(report)
    (ax,) = fig.axes
    width, height = fig.get_size_inches()
    assert height <= FUNNEL_MAX_HEIGHT and height >= 2.5
    if n_sources == 40:
        assert height >= 10  # still a readable row per source
    assert ax.get_xlabel() == "documents, % of those read" and ax.get_ylabel() == "source"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(report["sources"])
    assert len(texts(ax)) == n_sources and texts(ax)[0].startswith("200 read → ")
    # kept + held out + every removal adds up to 100% of what was read, per source
    totals = {}
    for patch in ax.patches:
        y = round(patch.get_y() + patch.get_height() / 2)
        totals[y] = totals.get(y, 0) + patch.get_width()
    assert all(total == pytest.approx(100) for total in totals.values())
    plot_funnel(report, tmp_path / "funnel.png")
    assert (tmp_path / "funnel.png").stat().st_size > 1000
