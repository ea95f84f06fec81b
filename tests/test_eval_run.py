"""`python -m evaluation.run`: several models in one table, files written, clear errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from evaluation.run import main
from tests.eval_helpers import save_model
from tests.test_eval_mc import SAMPLE_TEXT, SAMPLES
from tests.test_eval_perplexity import ALL_TEXT, DOCS, write_heldout


def write_recipe(tmp_path: Path, evaluation: str) -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: t\nworkdir: work\nevaluation:\n{evaluation}", encoding="utf-8")
    return recipe


BENCHMARKS = f"""  batch_tokens: 4096
  benchmarks:
    - {{name: ceval, format: ceval, path: {SAMPLES / 'ceval'}, shots: 1, subjects: [high_school_geography]}}
    - {{name: cmmlu, format: cmmlu, path: {SAMPLES / 'cmmlu'}, shots: 1, subjects: [chinese_geography]}}
    - {{name: mmlu, format: mmlu, path: {SAMPLES / 'mmlu'}, shots: 0, subjects: [elementary_mathematics]}}
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("models")
    text = SAMPLE_TEXT + ALL_TEXT
    return [save_model(root / name, text, seed=seed, max_positions=512) for name, seed in (("base", 1), ("zh", 2))]


def test_two_models_side_by_side(tmp_path, models, capsys):
    recipe = write_recipe(tmp_path, BENCHMARKS)
    write_heldout(tmp_path / "work" / "heldout")
    assert main([str(recipe), "--model", str(models[0]), "--model", f"chinese={models[1]}"]) == 0
    out = tmp_path / "work" / "eval"
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["base", "chinese"]
    for model in results["models"].values():
        assert set(model["perplexity"]["by_source"]) == set(DOCS)
        assert set(model["perplexity"]["by_language"]) == {"zh", "en"}
        assert model["benchmarks"]["ceval"]["n"] == 10 and model["benchmarks"]["cmmlu"]["n"] == 10
        for bench in model["benchmarks"].values():
            subjects = bench["subjects"].values()
            assert bench["average"] == pytest.approx(sum(s["accuracy"] for s in subjects) / len(subjects))
    table = (out / "results.md").read_text()
    assert "| group | docs | base | chinese |" in table
    assert "| benchmark / subject | questions | base | chinese |" in table
    assert "| language zh | 3 |" in table and "ceval · high_school_geography" in table
    assert (out / "perplexity.png").stat().st_size > 1000 and (out / "benchmarks.png").stat().st_size > 1000
    predictions = (out / "predictions" / "chinese" / "cmmlu.jsonl").read_text().splitlines()
    assert len(predictions) == 10 and json.loads(predictions[0])["predicted"] in "ABCD"
    assert len((out / "documents" / "base.jsonl").read_text().splitlines()) == 6
    assert "| base | chinese |" in capsys.readouterr().out

    # A later run with --append adds a model to the same table.
    assert main([str(recipe), "--model", f"again={models[0]}", "--append", "--no-benchmarks"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["base", "chinese", "again"]
    assert results["models"]["again"]["perplexity"]["all"] == results["models"]["base"]["perplexity"]["all"]
    assert "| all | 6 |" in (out / "results.md").read_text()


@pytest.mark.parametrize(
    ("evaluation", "setup", "message"),
    [
        ("  batch_tokns: 8\n", None, "line 4: evaluation.batch_tokns: unknown key (did you mean 'batch_tokens'?)"),
        ("  perplexity: {sources: [nope]}\n", "heldout", "no held-out folder for sources ['nope']"),
        (
            "  benchmarks:\n    - {name: m, format: mmlu, path: BAD, shots: 0}\n",
            "bad_mmlu",
            "x_test.csv:2: 5 fields, expected 6",
        ),
        pytest.param(
            "  device: cuda\n",
            "heldout",
            "evaluation.device is cuda but no CUDA device is available",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),
        ),
    ],
)
def test_cli_errors_are_one_clear_line_and_exit_2(tmp_path, models, capsys, evaluation, setup, message):
    if setup == "heldout":
        write_heldout(tmp_path / "work" / "heldout")
    if setup == "bad_mmlu":
        bad = tmp_path / "bad"
        (bad / "test").mkdir(parents=True)
        (bad / "test" / "x_test.csv").write_text("q,a,b,c,d,A\nq,a,b,c,D\n")
        evaluation = evaluation.replace("BAD", str(bad))
    recipe = write_recipe(tmp_path, evaluation)
    assert main([str(recipe), "--model", str(models[0])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_missing_model_folder_and_tokenizer_mismatch(tmp_path, models, capsys):
    recipe = write_recipe(tmp_path, "  perplexity: {enabled: false}\n")
    assert main([str(recipe), "--model", str(tmp_path / "nope")]) == 2
    assert "no config.json" in capsys.readouterr().err
    small = save_model(tmp_path / "small", "")
    (small / "tokenizer.json").unlink()
    (small / "tokenizer_config.json").unlink()
    write_heldout(tmp_path / "work" / "heldout")
    recipe.write_text(f"workdir: work\ntokenizer: {{path: {models[0]}}}\n")
    assert main([str(recipe), "--model", str(small)]) == 2
    assert "embedding has" in capsys.readouterr().err
