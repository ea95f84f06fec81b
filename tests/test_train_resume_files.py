"""Resume after a kill (issue 16): metrics.jsonl and samples-rank-R.jsonl hold each step once, torn last
lines are dropped, and leftover `step-N.tmp/` checkpoints are removed and never resumed from."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from tests.test_train_fixtures import random_manifest, tiny_recipe, write_shards
from train.run import train
from train.step_metrics import plot_loss_per_source, read_step_log, truncate_step_log

SIZES = {"zh": 24, "en": 16, "chat": 12}
SETTINGS = {"micro_batch_size": 2, "checkpoint_every": 3, "log_samples": True}


def _metrics(workdir):
    """Per-step numbers that do not depend on timing."""
    lines = (workdir / "train_logs" / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], r["loss"], r["loss_per_source"], r["lr"], r["tokens_seen"]) for r in map(json.loads, lines)]


def _samples(workdir):
    return (workdir / "train_logs" / "samples-rank-0.jsonl").read_text()


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """6 steps in one go, checkpoints after steps 3 and 6."""
    root = tmp_path_factory.mktemp("straight")
    write_shards(root / "work" / "tokens", SIZES)
    manifest = random_manifest(SIZES, num_steps=6, global_batch=4)
    train(tiny_recipe(root, **SETTINGS), manifest=manifest)
    return root / "work", manifest


def _killed_after_step_6_logs(tmp_path, manifest):
    """A run whose logs reached step 6 but whose step-6 checkpoint was never completed: the newest
    complete checkpoint is step-3, so steps 3..5 are trained again on resume."""
    write_shards(tmp_path / "work" / "tokens", SIZES)
    train(tiny_recipe(tmp_path, **SETTINGS), manifest=manifest)
    work = tmp_path / "work"
    shutil.rmtree(work / "model")
    return work


def _check_resumed_like_straight(work, straight_work):
    assert [s for s, *_ in _metrics(work)] == list(range(6))
    assert _metrics(work) == _metrics(straight_work)  # bit-identical losses, lr, tokens seen
    steps = [json.loads(line)["step"] for line in _samples(work).splitlines()]
    assert steps == sorted(steps) and sorted(set(steps)) == list(range(6))
    assert _samples(work) == _samples(straight_work)  # the same rows, each once


def test_samples_and_metrics_have_each_step_once_after_resume(straight, tmp_path):
    straight_work, manifest = straight
    work = _killed_after_step_6_logs(tmp_path, manifest)
    shutil.rmtree(work / "checkpoints" / "step-6")
    train(tiny_recipe(tmp_path, **SETTINGS), manifest=manifest)
    _check_resumed_like_straight(work, straight_work)


def test_torn_last_lines_are_dropped_on_resume(straight, tmp_path, caplog):
    straight_work, manifest = straight
    work = _killed_after_step_6_logs(tmp_path, manifest)
    shutil.rmtree(work / "checkpoints" / "step-6")
    for name in ("metrics.jsonl", "samples-rank-0.jsonl"):
        with (work / "train_logs" / name).open("a") as f:
            f.write('{"step": 6, "lo')  # killed while writing the next line
    with caplog.at_level(logging.WARNING, logger="train"):
        train(tiny_recipe(tmp_path, **SETTINGS), manifest=manifest)
    assert "torn" in caplog.text
    _check_resumed_like_straight(work, straight_work)


def test_a_leftover_tmp_checkpoint_is_removed_and_not_resumed_from(straight, tmp_path, caplog):
    straight_work, manifest = straight
    work = _killed_after_step_6_logs(tmp_path, manifest)
    checkpoints = work / "checkpoints"
    # killed while renaming: a full state with state.json, but still under its .tmp name
    (checkpoints / "step-6").rename(checkpoints / "step-6.tmp")
    with caplog.at_level(logging.WARNING, logger="train"):
        train(tiny_recipe(tmp_path, **SETTINGS), manifest=manifest)
    assert "step-6.tmp" in caplog.text
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step-3", "step-6"]
    _check_resumed_like_straight(work, straight_work)  # steps 3..5 were trained again from step-3


def test_truncate_step_log_keeps_earlier_steps_and_drops_torn_and_repeated_lines(tmp_path):
    path = tmp_path / "samples.jsonl"
    rows = [{"step": s, "index": i} for s in range(5) for i in range(2)]
    # an older trainer appended steps 2..4 again after resuming from step 2, then was killed mid-line
    rerun = [{"step": s, "index": 10 + i} for s in range(2, 5) for i in range(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows + rerun) + '{"step": 5, "ind')
    assert truncate_step_log(path, 4) == 4
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    assert kept == rows[:4] + rerun[:4]
    assert truncate_step_log(path, 0) == 0 and path.read_text() == ""
    missing = tmp_path / "logs" / "none.jsonl"
    assert truncate_step_log(missing, 3) == 0 and missing.read_text() == ""


def test_the_loss_plot_reads_a_metrics_file_with_a_torn_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    records = [{"step": s, "loss": 3.0 - s / 10, "loss_per_source": {"zh": 3.1, "en": 2.9}} for s in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"step": 4, "loss": 2.')
    assert read_step_log(path) == records
    assert plot_loss_per_source(path, tmp_path / "loss.png").stat().st_size > 1000
