"""The end-to-end demo (`python -m demo`): clean failure on a broken recipe (fast), and the whole
pipeline on a copy of the demo recipe in a temporary folder (slow)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import demo

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def copy_demo(tmp_path: Path, **changes) -> Path:
    """recipes/demo.yaml with its data in tmp_path/recipes/, workdir tmp_path/work, sections updated."""
    folder = tmp_path / "recipes"
    folder.mkdir()
    for name in ("demo_data", "eval_samples"):
        shutil.copytree(RECIPES / name, folder / name)
    data = yaml.safe_load((RECIPES / "demo.yaml").read_text(encoding="utf-8"))
    data["workdir"] = "../work"
    for section, values in changes.items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            data[section].update(values)
        else:
            data[section] = values
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def quiet_main(monkeypatch) -> None:
    """demo.main sets these for its stages; set them here so they are restored after the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def test_broken_recipe_fails_before_any_stage_with_one_message(tmp_path, capsys, monkeypatch):
    # One problem in a section the trainer checks (`python -m train.run --check`), two the demo checks itself:
    # all three are reported together, with their YAML lines.
    quiet_main(monkeypatch)
    recipe = copy_demo(tmp_path, train={"micro_batch_sise": 4}, demo={"branch_step": 5},
                       mixture={"global_batch": "eight"})
    code = demo.main([str(recipe), "--threads", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("error:") == 1 and "Traceback" not in err
    for expected in ("train.micro_batch_sise: unknown key (did you mean 'micro_batch_size'?)",
                     "demo.branch_step: unknown key (did you mean 'branch_steps'?)", "mixture.global_batch"):
        line = next((line for line in err.splitlines() if expected in line), "")
        assert "line " in line, (expected, err)
    assert not (tmp_path / "work").exists()  # validated before curation wrote anything


def test_missing_recipe_is_one_message(tmp_path, capsys, monkeypatch):
    quiet_main(monkeypatch)
    assert demo.main([str(tmp_path / "nope.yaml"), "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: recipe: no such recipe file: {tmp_path / 'nope.yaml'}"


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


@pytest.mark.slow
def test_demo_end_to_end_and_rerun(tmp_path):
    # The real demo recipe, shortened (30 + 2 x 4 steps) so the test takes a few minutes on 2 cores.
    recipe = copy_demo(tmp_path, mixture={"total": "30 steps", "schedule": {"kind": "chatflow", "t_grow": "20 steps"}},
                       train={"checkpoint_every": 10}, demo={"branch_steps": 4})
    command = [sys.executable, "-m", "demo", str(recipe), "--threads", "1"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert first.returncode == 0, first.stderr[-3000:]
    work = tmp_path / "work"
    for artifact in ("curated/_report.json", "tokenizer/vocab_extension.json", "manifest/plan.json",
                     "manifest/schedule.png", "train_logs/metrics.jsonl", "model/model.safetensors",
                     "eval/results.json", "eval/results.md", "merge/ct/model/model.safetensors",
                     "merge/sft/model/model.safetensors", "merge/merged/merge_report.json", "demo_summary.json"):
        assert (work / artifact).is_file(), artifact
    summary = json.loads((work / "demo_summary.json").read_text(encoding="utf-8"))
    assert "demo: summary" in first.stdout and "survival of top-0.2" in first.stdout

    sources = summary["sources"]
    assert set(sources) == {"zh_web", "zh_wiki", "en_web", "zh_en_pairs", "alpaca", "sharegpt", "chat_messages"}
    for name, s in sources.items():
        assert 0 < s["kept_docs"] <= s["read_docs"], name
        assert s["tokens"] > 0 and s["sequences"] > 0, name
        assert _finite(s["final_loss"]) and s["final_loss"] > 0, name
    assert set(summary["models"]) == {"base", "ct", "sft", "merged"}
    for name, model in summary["models"].items():
        assert set(model["perplexity"]) == {"zh", "en", "zh-en"}, name
        for lang, p in model["perplexity"].items():
            assert _finite(p["perplexity"]) and p["perplexity"] > 1 and _finite(p["bits_per_char"]), (name, lang)
        assert set(model["benchmarks"]) == {"ceval", "cmmlu", "mmlu", "gaokao"}
        assert all(0 <= b["accuracy"] <= 1 and b["n"] > 0 for b in model["benchmarks"].values())
    assert set(summary["merge"]["survival"]) == {"ct", "sft"}
    assert all(0 <= v <= 1 for v in summary["merge"]["survival"].values())
    # Training really moved the model: the per-source loss went down on the sources seen throughout.
    assert sources["en_web"]["final_loss"] < sources["en_web"]["first_loss"]

    # Re-running reuses the finished work: the same trained model, the branches are not retrained.
    model_hash = demo.model_sha256(work / "model")
    ct_hash = demo.model_sha256(work / "merge" / "ct" / "model")
    second = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert second.returncode == 0, second.stderr[-3000:]
    assert demo.model_sha256(work / "model") == model_hash
    assert demo.model_sha256(work / "merge" / "ct" / "model") == ct_hash
    assert "removing the old branches" not in second.stderr
