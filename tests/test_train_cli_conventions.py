"""Issue 16, points 10, 15 and 16 for `train.run`: the shared flags, `--help` before any heavy import,
`--dry-run` (alias `--check`), `--fresh` (alias `--no-resume`), `--output`, `--workdir`, one line on Ctrl-C,
steps numbered as the manifest numbers them, and library chatter only with -v."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from common.recipe import Recipe
from mixer import plan as planner
from mixer.manifest import Manifest
from tests.test_train_cli import planned_recipe
from tests.test_train_fixtures import write_shards
from train import run

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def test_help_and_version_answer_without_importing_torch_transformers_or_accelerate():
    code = ("import sys, contextlib, io\nfrom train import run\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    run.main(['--help'])\n"
            "print(sorted(m for m in ('torch', 'transformers', 'accelerate', 'pydantic', 'polars') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    for command in ([sys.executable, "-m", "train.run", "--help"], [sys.executable, str(REPO / "train" / "run.py"), "-h"],
                    [sys.executable, "-m", "train.export", "--help"]):
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)
        elapsed = time.perf_counter() - t0
        assert done.returncode == 0 and "--workdir" in done.stdout and "--output" in done.stdout, done.stderr
        assert elapsed < 5, elapsed  # about 0.3 s measured; generous for a loaded test machine
    done = subprocess.run([sys.executable, "-m", "train.run", "--version"], capture_output=True, text=True, env=ENV)
    assert done.returncode == 0 and "zh-adapt" in done.stdout


def test_dry_run_says_what_would_run_and_writes_nothing(tmp_path, capsys):
    recipe = planned_recipe(tmp_path, max_steps=None)
    before = _tree(tmp_path)
    assert run.main([str(recipe), "--dry-run", "--output", str(tmp_path / "final")]) == 0
    out = capsys.readouterr().out
    assert "model and train sections are valid" in out
    assert "26,784 parameters" in out  # TINY_LLAMA with the shards' 128-token vocabulary
    assert "6 steps (0..5 of the manifest's 6) x global batch 4 x 16 tokens = 384 tokens" in out
    assert "start: step 0 (no checkpoint yet)" in out and f"model {tmp_path / 'final'}" in out
    assert _tree(tmp_path) == before  # not even a lock or a log folder


def test_dry_run_checks_the_data_and_check_reads_the_recipe_only(tmp_path, capsys):
    """--dry-run refuses shards changed since planning (as a run would); --check, which the demo runs before
    re-planning, reads nothing but the recipe."""
    recipe = planned_recipe(tmp_path)
    write_shards(tmp_path / "work" / "tokens", {"zh_web": 16}, seq_len=16, seed=99)
    assert run.main([str(recipe), "--dry-run"]) == 2
    assert "zh_web: shard fingerprint" in capsys.readouterr().err
    assert run.main([str(recipe), "--check"]) == 0
    out = capsys.readouterr().out
    assert "model and train sections are valid" in out and "data: not read (--check)" in out


def test_dry_run_before_the_manifest_is_planned_as_the_demo_calls_it(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"workdir": "w", "model": {"config": {"model_type": "llama", "hidden_size": 32,
                                      "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}},
                                      "train": {}}))
    assert run.main([str(recipe), "--check"]) == 0
    out = capsys.readouterr().out
    assert "data: not read (--check)" in out and "parameters" in out
    assert run.main([str(recipe), "--dry-run"]) == 0
    assert "no manifest yet" in capsys.readouterr().out
    assert not (tmp_path / "w").exists()


def test_fresh_starts_from_step_0_and_drops_the_old_checkpoints_output_and_workdir_move_the_results(tmp_path, capsys):
    recipe = planned_recipe(tmp_path, max_steps=3, checkpoint_every=1, keep_last=5)
    assert run.main([str(recipe)]) == 0
    checkpoints = tmp_path / "work" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step-1", "step-2", "step-3"]
    data = yaml.safe_load(recipe.read_text())
    data["train"]["max_steps"] = 1
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    assert run.main([str(recipe), "--fresh", "--output", str(tmp_path / "final")]) == 0
    out = capsys.readouterr().out
    assert "removed 3 checkpoint(s)" in out and "from step 0" in out
    # a later resume cannot pick the old run's step-3
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step-1"]
    steps = [json.loads(line)["step"] for line in (tmp_path / "work" / "train_logs" / "metrics.jsonl").open()]
    assert steps == [0]
    assert (tmp_path / "final" / "model.safetensors").is_file()
    capsys.readouterr()
    assert run.main([str(recipe), "--no-resume", "-q"]) == 0  # the old spelling still works
    out = capsys.readouterr().out  # -q: no per-step lines, the result only
    assert "step 0 [" not in out and "training " not in out and "model written to" in out

    other = tmp_path / "elsewhere"
    (other / "manifest").parent.mkdir(parents=True)
    import shutil

    shutil.copytree(tmp_path / "work" / "tokens", other / "tokens")
    shutil.copytree(tmp_path / "work" / "manifest", other / "manifest")
    assert run.main([str(recipe), "--workdir", str(other)]) == 0
    assert (other / "model" / "model.safetensors").is_file() and (other / "checkpoints" / "step-1").is_dir()
    assert not (other / ".train.lock").exists()  # the lock is released


def test_steps_are_numbered_as_the_manifest_numbers_them(tmp_path, capsys):
    """Console `step s`, metrics.jsonl `step: s` and the rows of manifest step s (`mixer.show --steps s`) are
    the same step; checkpoints/step-N is the state after N steps (0..N-1)."""
    recipe = planned_recipe(tmp_path, max_steps=4, checkpoint_every=2, keep_last=5, log_samples=True)
    assert run.main([str(recipe)]) == 0
    out = capsys.readouterr().out
    console = [int(m) for m in re.findall(r"^step (\d+) \[\d+/4\] loss", out, flags=re.M)]
    logs = tmp_path / "work" / "train_logs"
    metrics = [json.loads(line)["step"] for line in (logs / "metrics.jsonl").open()]
    assert console == metrics == [0, 1, 2, 3]
    manifest = Manifest.open(tmp_path / "work" / "manifest")
    used: dict[int, list] = {}
    for line in (logs / "samples-rank-0.jsonl").open():
        row = json.loads(line)
        used.setdefault(row["step"], []).append((row["source"], row["index"]))
    for step in metrics:
        assert used[step] == list(manifest.step(step).select("source", "index").iter_rows())
    state = json.loads((tmp_path / "work" / "checkpoints" / "step-2" / "state.json").read_text())
    assert state["step"] == 2 and state["tokens_seen"] == 2 * 4 * 16


@pytest.mark.slow  # two subprocesses (the libraries' loggers keep the stderr of the process that first imported them)
def test_library_warnings_only_with_verbose(tmp_path):
    """transformers' "Token indices sequence length is longer than the specified maximum" (here from the
    held-out evaluation's tokenizer) and its progress bars appear with -v only."""
    from tests.test_train_export_eval import eval_recipe

    recipe = eval_recipe(tmp_path, max_length=4)
    quiet = subprocess.run([sys.executable, "-m", "train.run", str(recipe)], env=ENV, capture_output=True, text=True,
                           timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "", quiet.stderr  # nothing but our own lines, on stdout
    loud = subprocess.run([sys.executable, "-m", "train.run", str(recipe), "--fresh", "-v"], env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0, loud.stderr
    assert "Token indices sequence length is longer than the specified maximum" in loud.stderr
    assert "Writing model shards" in loud.stderr


@pytest.mark.slow  # a subprocess that imports torch and trains until interrupted
def test_ctrl_c_is_one_line_naming_the_step_and_the_checkpoint_a_rerun_resumes_from(tmp_path):
    write = planned_recipe(tmp_path, max_steps=None, checkpoint_every=2)
    data = yaml.safe_load(write.read_text())
    data["mixture"]["total"] = "400 steps"
    data["mixture"]["max_epochs"] = 1000
    write.write_text(yaml.safe_dump(data, sort_keys=False))
    planner.write_manifest(planner.plan_from_recipe(Recipe.load(write)), tmp_path / "work" / "manifest")
    metrics = tmp_path / "work" / "train_logs" / "metrics.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "train.run", str(write)], env=ENV, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and not (metrics.exists() and len(metrics.read_text().splitlines()) >= 3):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err + out and "KeyboardInterrupt" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    match = re.fullmatch(r"train\.run: interrupted at step (\d+) \(newest checkpoint (.+)/step-(\d+): a rerun resumes "
                         r"there, at step (\d+)\); run the same command again to resume", lines[0])
    assert match, lines[0]
    step, checkpoint = int(match[1]), int(match[3])
    assert checkpoint == int(match[4]) and checkpoint <= step and checkpoint % 2 == 0
    assert (Path(match[2]) / f"step-{checkpoint}" / "state.json").is_file()
    assert not (tmp_path / "work" / ".train.lock").exists()
    logged = [json.loads(line)["step"] for line in metrics.open()]
    assert logged == list(range(len(logged)))

    # the rerun resumes there (a short one: stop after two more steps)
    data["train"]["max_steps"] = checkpoint + 2
    write.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "train.run", str(write)], env=ENV, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    assert f"resuming at step {checkpoint} from checkpoints/step-{checkpoint}" in done.stdout
    assert [json.loads(line)["step"] for line in metrics.open()] == list(range(checkpoint + 2))


def test_a_second_run_on_the_same_output_is_refused(tmp_path, capsys):
    recipe = planned_recipe(tmp_path)
    lock = tmp_path / "work" / ".train.lock"
    # a live run's lock (this very process, which is alive)
    import socket

    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now",
                                "command": "train.run other.yaml"}))
    assert run.main([str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "is in use by train.run other.yaml" in err and err.count("\n") == 1
    assert not (tmp_path / "work" / "checkpoints").exists() and lock.exists()
