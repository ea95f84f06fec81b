"""`evaluation.run`'s output folder (issue 16: 1, 6, 15): a run replaces it whole, a failed or interrupted run
leaves it as it was, `--append` carries the kept models and their files and refuses models scored under other
settings, evaluating nothing is an error, and the shared CLI conventions (dry run, default model, --help
without torch)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluation.run import main
from tests.eval_helpers import save_model
from tests.test_eval_mc import SAMPLE_TEXT, SAMPLES
from tests.test_eval_perplexity import ALL_TEXT, DOCS, write_heldout

ROOT = Path(__file__).resolve().parents[1]
CEVAL = f"    - {{name: ceval, format: ceval, path: {SAMPLES / 'ceval'}, shots: SHOTS, subjects: [high_school_geography]}}\n"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    text = SAMPLE_TEXT + ALL_TEXT
    return {name: save_model(root / name, text, seed=seed, max_positions=512)
            for name, seed in (("a", 1), ("b", 2), ("c", 3))}


def recipe(tmp_path: Path, *, shots: int = 1, benchmarks: bool = True, extra: str = "") -> Path:
    path = tmp_path / "recipe.yaml"
    section = "  batch_tokens: 4096\n" + extra
    if benchmarks:
        section += "  benchmarks:\n" + CEVAL.replace("SHOTS", str(shots))
    path.write_text(f"name: t\nworkdir: work\nevaluation:\n{section}", encoding="utf-8")
    return path


def cli(*args, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "evaluation.run", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name + "."))


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_second_run_replaces_the_first_runs_files(tmp_path, models):
    path = recipe(tmp_path)
    write_heldout(tmp_path / "work" / "heldout")
    out = tmp_path / "work" / "eval"
    assert main([str(path), "-q", "--model", str(models["a"]), "--model", str(models["b"])]) == 0
    assert (out / "predictions" / "a" / "ceval.jsonl").is_file() and (out / "documents" / "b.jsonl").is_file()

    assert main([str(path), "-q", "--model", str(models["c"]), "--no-benchmarks"]) == 0
    assert list(json.loads((out / "results.json").read_text())["models"]) == ["c"]
    assert sorted(p.name for p in out.iterdir()) == ["documents", "perplexity.png", "results.json", "results.md"]
    assert [p.name for p in (out / "documents").iterdir()] == ["c.jsonl"]
    assert "| a |" not in (out / "results.md").read_text()
    assert leftovers(out) == []


def test_append_carries_the_kept_models_and_their_files(tmp_path, models):
    path = recipe(tmp_path)
    write_heldout(tmp_path / "work" / "heldout")
    out = tmp_path / "work" / "eval"
    assert main([str(path), "-q", "--model", str(models["a"])]) == 0
    before = (out / "predictions" / "a" / "ceval.jsonl").read_bytes()
    assert main([str(path), "-q", "--append", "--model", str(models["b"])]) == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["a", "b"]
    assert (out / "predictions" / "a" / "ceval.jsonl").read_bytes() == before
    assert (out / "documents" / "a.jsonl").is_file() and (out / "predictions" / "b" / "ceval.jsonl").is_file()
    # the paired comparison needs the kept model's predictions: they were carried over
    assert "missing" not in results["comparisons"]["models"]["b"]["ceval"]
    a, b = results["models"]["a"], results["models"]["b"]
    assert a["settings_sha256"] == b["settings_sha256"]
    assert a["settings"]["benchmarks"]["ceval"]["shots"] == 1 and a["settings"]["perplexity"]["sources"] == sorted(DOCS)
    # the same model evaluated again replaces its entry in place and its files
    assert main([str(path), "-q", "--append", "--model", str(models["a"]), "--no-benchmarks"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["a", "b"] and results["models"]["a"]["benchmarks"] == {}
    assert not (out / "predictions" / "a").exists() and (out / "predictions" / "b").is_dir()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("shots", "a: benchmark ceval: shots 1 → 0"),
        ("max_length", "a: max_length null → 64"),
        ("heldout", "a: held-out perplexity: the held-out documents changed"),
        ("prompt", "a: benchmark ceval: prompt \"raw\" → \"chat\""),
        ("old", "a: no settings recorded (scored by an older version)"),
        ("weights", "a: the model files in "),
    ],
)
def test_append_refuses_models_scored_under_other_settings(tmp_path, models, capsys, change, message):
    path = recipe(tmp_path)
    heldout = tmp_path / "work" / "heldout"
    write_heldout(heldout)
    out = tmp_path / "work" / "eval"
    model_a = models["a"]
    if change == "weights":  # a copy, trained further after it was scored
        model_a = Path(shutil.copytree(models["a"], tmp_path / "a"))
    assert main([str(path), "-q", "--model", str(model_a)]) == 0
    if change == "weights":
        save_model(model_a, SAMPLE_TEXT + ALL_TEXT, seed=7, max_positions=512)
    elif change == "shots":
        recipe(tmp_path, shots=0)
    elif change == "max_length":
        recipe(tmp_path, extra="  max_length: 64\n")
    elif change == "heldout":
        write_heldout(heldout, {"wiki_zh": ("zh", ["另一个文档。"]), "web_en": DOCS["web_en"]})
    elif change == "prompt":
        recipe(tmp_path, extra="  prompt: chat\n")
    elif change == "old":
        results = json.loads((out / "results.json").read_text())
        del results["models"]["a"]["settings"]
        (out / "results.json").write_text(json.dumps(results))
    before = snapshot(out)
    capsys.readouterr()
    assert main([str(path), "--append", "--model", str(models["b"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    if change in ("shots", "max_length", "prompt"):
        assert "changed" not in err  # only what differs is named (other shots load other dev examples)
    assert f"--model a={model_a}" in err and "drop --append" in err
    assert snapshot(out) == before and leftovers(out) == []
    # what this run does not score is not compared: perplexity only, when only the benchmark changed
    if change in ("shots", "prompt"):
        assert main([str(path), "-q", "--append", "--model", str(models["b"]), "--no-benchmarks"]) == 0


def test_append_refusal_from_the_command_line(tmp_path, models):
    path = recipe(tmp_path)
    write_heldout(tmp_path / "work" / "heldout")
    out = tmp_path / "work" / "eval"
    assert main([str(path), "-q", "--model", str(models["a"])]) == 0
    before = snapshot(out)
    recipe(tmp_path, shots=0)
    done = cli(path, "--append", "--model", models["b"], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "shots 1 → 0" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(out) == before and leftovers(out) == []


@pytest.mark.parametrize(
    ("flags", "benchmarks", "heldout", "why"),
    [
        (["--no-perplexity", "--no-benchmarks"], True, True, "no benchmarks (--no-benchmarks) and no held-out "
                                                              "perplexity (--no-perplexity)"),
        ([], False, False, "no benchmarks (the recipe lists no evaluation.benchmarks) and no held-out perplexity "
                           "(no held-out documents in"),
        (["--no-benchmarks"], True, "empty", "no held-out documents in"),
    ],
)
def test_nothing_to_evaluate_is_one_line_and_exit_2(tmp_path, models, flags, benchmarks, heldout, why):
    path = recipe(tmp_path, benchmarks=benchmarks)
    if heldout is True:
        write_heldout(tmp_path / "work" / "heldout")
    elif heldout == "empty":
        (tmp_path / "work" / "heldout" / "wiki_zh").mkdir(parents=True)
    done = cli(path, "--model", models["a"], *flags, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: nothing to evaluate: ") and why in lines[-1], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "work" / "eval").exists()


def test_a_failed_run_leaves_the_previous_output_as_it_was(tmp_path, models, capsys):
    path = recipe(tmp_path, benchmarks=False)
    write_heldout(tmp_path / "work" / "heldout")
    out = tmp_path / "work" / "eval"
    assert main([str(path), "-q", "--model", str(models["a"])]) == 0
    before = snapshot(out)
    broken = tmp_path / "broken"  # a config but no weights and no tokenizer: fails after `a` was scored again
    broken.mkdir()
    shutil.copy(models["a"] / "config.json", broken / "config.json")
    capsys.readouterr()
    assert main([str(path), "--model", str(models["b"]), "--model", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and str(broken) in err and "Traceback" not in err
    assert snapshot(out) == before and leftovers(out) == []


def test_leftovers_of_a_killed_run_are_cleaned_at_the_next_start(tmp_path, models, capsys):
    path = recipe(tmp_path, benchmarks=False)
    write_heldout(tmp_path / "work" / "heldout")
    out = tmp_path / "work" / "eval"
    assert main([str(path), "-q", "--model", str(models["a"])]) == 0
    # killed while writing: a half-written OUT.tmp/
    (out.parent / "eval.tmp" / "documents").mkdir(parents=True)
    (out.parent / "eval.tmp" / "results.json").write_text("{")
    # killed between the two renames of the swap: OUT is missing, the previous results wait in OUT.old/
    out.rename(out.parent / "eval.old")
    assert main([str(path), "--append", "--model", str(models["b"])]) == 0
    err = capsys.readouterr().err
    assert "removed" in err and "eval.tmp" in err and "restored" in err
    assert list(json.loads((out / "results.json").read_text())["models"]) == ["a", "b"]
    assert leftovers(out) == []


def test_ctrl_c_leaves_the_previous_output_and_no_temporary_folder(tmp_path, models):
    many = {"wiki_zh": ("zh", [DOCS["wiki_zh"][1][2] * 3] * 400), "web_en": ("en", [DOCS["web_en"][1][2] * 3] * 400)}
    path = recipe(tmp_path, benchmarks=False)
    write_heldout(tmp_path / "work" / "heldout", DOCS)
    out = tmp_path / "work" / "eval"
    assert main([str(path), "-q", "--model", str(models["a"])]) == 0
    before = snapshot(out)
    recipe(tmp_path, benchmarks=False)
    write_heldout(tmp_path / "work" / "heldout", many)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "evaluation.run", str(path), "--model", str(models["b"])],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out.parent / "eval.tmp").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("python -m evaluation.run: interrupted")
    assert snapshot(out) == before and leftovers(out) == []


def test_dry_run_says_what_would_run_and_writes_nothing(tmp_path, models):
    path = recipe(tmp_path)
    write_heldout(tmp_path / "work" / "heldout")
    done = cli(path, "--dry-run", "--model", f"mine={models['a']}", "--output", tmp_path / "o", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"mine: {models['a']}" in text
    assert "ceval: 10 questions in 1 subjects" in text
    assert "6 documents in 2 sources" in text and "wiki_zh: 3 documents" in text
    assert f"output: {tmp_path / 'o'}" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.yaml", "work"]
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["heldout"]


def test_help_and_version_import_no_torch(tmp_path):
    code = ("import sys\nfrom evaluation.run import main\n"
            "for flag in ('--help', '--version'):\n"
            "    try:\n        main([flag])\n    except SystemExit as e:\n        assert e.code == 0\n"
            "heavy = sorted(m for m in ('torch', 'transformers', 'pyarrow', 'matplotlib') if m in sys.modules)\n"
            "print('HEAVY', heavy)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--dry-run" in done.stdout and "--output DIR, --out DIR" in done.stdout and "zh-adapt" in done.stdout
    assert "HEAVY []" in done.stdout


def test_default_model_is_the_trainers_final_model(tmp_path, models, capsys):
    path = recipe(tmp_path, benchmarks=False)
    write_heldout(tmp_path / "work" / "heldout")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no --model given and ") and "work/model" in err
    shutil.copytree(models["a"], tmp_path / "work" / "model")
    assert main([str(path), "-q"]) == 0
    results = json.loads((tmp_path / "work" / "eval" / "results.json").read_text())
    assert list(results["models"]) == ["model"]


def test_workdir_and_output_flags(tmp_path, models):
    path = recipe(tmp_path, benchmarks=False)
    write_heldout(tmp_path / "elsewhere" / "heldout")
    assert main([str(path), "-q", "--workdir", str(tmp_path / "elsewhere"), "--out", str(tmp_path / "o"),
                 "--model", str(models["a"])]) == 0
    assert (tmp_path / "o" / "results.json").is_file() and not (tmp_path / "work").exists()


@pytest.mark.parametrize("where", ["workdir", "foreign", "model"])
def test_output_that_is_not_an_evaluation_folder_is_refused(tmp_path, models, capsys, where):
    path = recipe(tmp_path, benchmarks=False)
    write_heldout(tmp_path / "work" / "heldout")
    output = {"workdir": tmp_path / "work", "foreign": tmp_path / "notes", "model": models["a"].parent}[where]
    if where == "foreign":
        output.mkdir()
        (output / "mine.txt").write_text("keep me")
    before = sorted(str(p) for p in output.rglob("*"))
    assert main([str(path), "--output", str(output), "--model", str(models["a"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: output folder ") and "choose another --output" in err
    assert sorted(str(p) for p in output.rglob("*")) == before


def test_append_and_fresh_contradict(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--append", "--fresh", "--model", "x"])
    assert exit_.value.code == 2 and "--append" in capsys.readouterr().err
