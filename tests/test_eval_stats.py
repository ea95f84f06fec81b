"""Intervals on accuracies (evaluation/stats.py) and their place in results.json / results.md."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.report import add_uncertainty, markdown_table, write_report
from evaluation.stats import Z95, mean_of_subjects_interval, newcombe_paired, paired_difference, wilson

Z2 = Z95 * Z95


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        # by hand: centre (k + z²/2) / (n + z²), half z·sqrt(k(n-k)/n + z²/4) / (n + z²)
        (5, 10, (0.236593, 0.763407)),
        (1, 10, (0.017876, 0.404150)),
        (0, 10, (0.0, Z2 / (10 + Z2))),  # k = 0: low 0, high z²/(n + z²)
        (10, 10, (10 / (10 + Z2), 1.0)),  # k = n: low n/(n + z²), high 1
        (0, 1, (0.0, Z2 / (1 + Z2))),
        (37, 50, (0.604468, 0.841285)),
    ],
)
def test_wilson_closed_form(k, n, expected):
    centre = (k + Z2 / 2) / (n + Z2)
    half = Z95 * math.sqrt(k * (n - k) / n + Z2 / 4) / (n + Z2)
    assert wilson(k, n) == pytest.approx((max(0, centre - half), min(1, centre + half)), abs=1e-12)
    assert wilson(k, n) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("k", "n"), [(0, 7), (3, 7), (7, 7), (1, 200), (99, 100), (50, 100)])
def test_wilson_equals_scipy_and_statsmodels(k, n):
    scipy_stats = pytest.importorskip("scipy.stats")
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    try:
        from statsmodels.stats.proportion import proportion_confint
    except ImportError:
        return
    assert wilson(k, n) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-9)


def test_no_items_no_interval():
    assert wilson(0, 0) is None
    assert mean_of_subjects_interval([]) is None
    assert mean_of_subjects_interval([(0, 0)]) is None
    assert paired_difference([], []).ci95 is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_paired_difference_known_cases():
    n = 10
    low = n / (n + Z2)  # Wilson low at k = n; 1 - low is the high at k = 0
    # both always right: difference 0, interval ±(1 - low) (phi is 0 when a margin is empty)
    same = paired_difference([True] * n, [True] * n)
    assert same.difference == 0 and same.ci95 == pytest.approx((-(1 - low), 1 - low))
    # model right exactly where the base is wrong (and the base never right): difference 1
    flip = paired_difference([False] * n, [True] * n)
    assert flip.difference == 1 and flip.only_b == n
    assert flip.ci95 == pytest.approx((1 - math.sqrt(2) * (1 - low), 1.0))
    # the point estimate is the mean of per-item differences; swapping the models negates everything
    rng = np.random.default_rng(1)
    a, b = rng.random(40) < 0.4, rng.random(40) < 0.6
    d = paired_difference(a, b)
    assert d.difference == pytest.approx(np.mean(b.astype(int) - a.astype(int)))
    back = paired_difference(b, a)
    assert back.ci95 == pytest.approx((-d.ci95[1], -d.ci95[0]))


def test_newcombe_by_hand():
    # e=12 both, f=9 first only, g=2 second only, h=4 neither (n=27), Newcombe's method 10 step by step
    e, f, g, h = 12, 9, 2, 4
    n = 27
    p1, p2 = 21 / n, 14 / n
    l1, u1 = wilson(21, n)
    l2, u2 = wilson(14, n)
    cross = e * h - f * g  # 30 > n/2: reduced by n/2
    phi = (cross - n / 2) / math.sqrt(21 * 6 * 14 * 13)
    lo = (p1 - p2) - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    hi = (p1 - p2) + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    assert newcombe_paired(e, f, g, h) == pytest.approx((lo, hi), abs=1e-12)
    assert (lo, hi) == pytest.approx((0.019224, 0.461469), abs=1e-6)


def test_mean_of_subjects_bootstrap():
    counts = [(3, 10), (8, 10), (5, 20)]
    point = np.mean([0.3, 0.8, 0.25])
    lo, hi = mean_of_subjects_interval(counts)
    assert lo < point < hi
    assert mean_of_subjects_interval(counts) == (lo, hi)  # seeded
    # one subject: close to the Wilson/normal width of that proportion
    lo1, hi1 = mean_of_subjects_interval([(50, 100)])
    assert lo1 == pytest.approx(0.40, abs=0.02) and hi1 == pytest.approx(0.60, abs=0.02)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_estimate(kn):
    k, n = kn
    interval = wilson(k, n)
    if n == 0:
        assert interval is None
        return
    lo, hi = interval
    assert 0 <= lo <= k / n <= hi <= 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=200))
def test_paired_interval_contains_difference(pairs):
    a, b = zip(*pairs, strict=True)
    d = paired_difference(list(a), list(b))
    lo, hi = d.ci95
    assert -1 <= lo <= d.difference <= hi <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 30).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), min_size=1, max_size=6))
def test_bootstrap_contains_mean(counts):
    lo, hi = mean_of_subjects_interval(counts)
    assert 0 <= lo <= np.mean([k / n for k, n in counts]) <= hi <= 1


def _bench(subjects: dict[str, tuple[int, int]], **extra) -> dict:
    n = sum(v[1] for v in subjects.values())
    correct = sum(v[0] for v in subjects.values())
    return {
        "format": "ceval", "split": "val", "shots": 5, "template": None, "n": n, "correct": correct,
        "average": float(np.mean([k / m for k, m in subjects.values()])), "micro": correct / n, "chance": 0.25,
        "subjects": {s: {"n": m, "correct": k, "accuracy": k / m} for s, (k, m) in subjects.items()},
        **extra,
    }


def _results() -> dict:
    categories = {
        "STEM": {"correct": 3, "n": 10, "accuracy": 0.3, "subjects": ["math"]},
        "all (macro)": {"correct": 15, "n": 30, "accuracy": 0.45, "subjects": ["math", "geo"]},
    }
    base = _bench({"math": (3, 10), "geo": (12, 20)}, points=45.0, max_points=100.0, prompt="raw",
                  categories=categories)
    zh = _bench({"math": (5, 10), "geo": (18, 20)}, points=70.0, max_points=100.0, prompt="raw",
                categories=json.loads(json.dumps(categories)))
    return {"format_version": 1, "recipe": "r.yaml",
            "models": {"base": {"benchmarks": {"ceval": base}}, "zh/v1": {"benchmarks": {"ceval": zh}}}}


def _write_predictions(out, model, rows):
    folder = out / "predictions" / model.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "ceval.jsonl").open("w") as f:
        for subject, i, answer, predicted in rows:
            f.write(json.dumps({"subject": subject, "id": i, "line": i + 2, "answer": answer, "predicted": predicted,
                                "logprobs": {}, "shots": 5}) + "\n")


def test_report_json_and_table_carry_n_intervals_and_paired_differences(tmp_path):
    results = _results()
    # base right on math 0-2 and geo 0-11; zh right on math 0-4 and geo 0-17 (so zh never loses an item)
    _write_predictions(tmp_path, "base", [("math", i, "A", "A" if i < 3 else "B") for i in range(10)]
                       + [("geo", i, "C", "C" if i < 12 else "D") for i in range(20)])
    _write_predictions(tmp_path, "zh/v1", [("math", i, "A", "A" if i < 5 else "B") for i in range(10)]
                       + [("geo", i, "C", "C" if i < 18 else "D") for i in range(20)])
    written = write_report(results, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    bench = saved["models"]["base"]["benchmarks"]["ceval"]
    assert bench["subjects"]["math"]["ci95"] == pytest.approx(wilson(3, 10))
    assert bench["micro_ci95"] == pytest.approx(wilson(15, 30))
    assert bench["average_ci95"] == pytest.approx(mean_of_subjects_interval([(3, 10), (12, 20)]))
    assert bench["categories"]["STEM"]["ci95"] == pytest.approx(wilson(3, 10))  # micro: Wilson
    assert bench["categories"]["all (macro)"]["ci95"] == pytest.approx(mean_of_subjects_interval([(3, 10), (12, 20)]))
    assert set(saved["intervals"]) == {"proportion", "mean_of_subjects", "paired_difference"}
    comparison = saved["comparisons"]["models"]["zh/v1"]["ceval"]
    assert saved["comparisons"]["base"] == "base"
    assert comparison["n"] == 30 and comparison["difference"] == pytest.approx(8 / 30)
    assert (comparison["only_base_correct"], comparison["only_model_correct"]) == (0, 8)
    assert comparison["ci95"] == pytest.approx(newcombe_paired(15, 8, 0, 7))
    assert comparison["subjects"]["geo"]["difference"] == pytest.approx(0.3)
    table = (tmp_path / "results.md").read_text()
    lo, hi = wilson(3, 10)
    assert f"| ceval · math | 10 | 30.0 [{100 * lo:.1f}, {100 * hi:.1f}] |" in table
    assert "| ceval · all questions pooled | 30 |" in table
    assert "raw prompt" in table and "| ceval · points / max | 30 | 45.0 / 100.0 | 70.0 / 100.0 |" in table
    assert "| ceval · category STEM | 10 |" in table
    lo, hi = comparison["ci95"]
    assert f"| **ceval** | 30 | +26.7 [{100 * lo:+.1f}, {100 * hi:+.1f}] |" in table
    assert tmp_path / "benchmarks.png" in written


def test_report_without_predictions_or_items(tmp_path):
    results = _results()
    results["models"]["base"]["benchmarks"]["ceval"]["subjects"]["empty"] = {"n": 0, "correct": 0,
                                                                           "accuracy": float("nan")}
    add_uncertainty(results, tmp_path)
    assert results["models"]["base"]["benchmarks"]["ceval"]["subjects"]["empty"]["ci95"] is None
    assert "missing" in results["comparisons"]["models"]["zh/v1"]["ceval"]
    table = markdown_table(results)
    assert "– (no items)" in table
    assert "– (no predictions file for base)" in table
    single = {"models": {"base": _results()["models"]["base"]}}
    assert "comparisons" not in add_uncertainty(single)
    assert "Paired difference" not in markdown_table(single)
