"""The manifest's content is verified on open (issue 16 (5)) and damaged manifests or impossible totals give one
line, not a traceback (issue 16 (11)): plan.json records the sha256 of every manifest file, counts are
non-negative and sum to global_batch, a truncated counts.parquet or a plan.json without sources is one
ManifestError, and `total: 1T steps` is refused before allocating anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from common.recipe import Recipe
from mixer import plan as planner
from mixer.manifest import COUNTS, PLAN, Manifest, ManifestError, file_sha256, plan_sha256
from mixer.show import main as show_main
from mixer.units import MixerError
from tests.test_mixer import CHATFLOW, make_recipe, plan
from tests.test_mixer import COUNTS as SIZES

REPO = Path(__file__).resolve().parents[1]
CLI_COUNTS = "en_web=4000,zh_web=3000,para=1000,inst=500"


@pytest.fixture
def manifest_dir(tmp_path) -> Path:
    return planner.write_manifest(plan(tmp_path, {**CHATFLOW, "total": "20 steps"}), tmp_path / "m")


def rewrite_counts(folder: Path, change) -> None:
    """Replace counts.parquet by change(counts) written the way the planner writes it (same dtypes)."""
    frame = pl.read_parquet(folder / COUNTS)
    counts = change(frame.to_numpy().astype(np.int64))
    pl.DataFrame({name: counts[:, s] for s, name in enumerate(frame.columns)},
                 schema=dict.fromkeys(frame.columns, pl.Int32)).write_parquet(folder / COUNTS, compression="zstd",
                                                                               statistics=False)


def rehash(folder: Path) -> None:
    """Record the current files' sha256 in plan.json, as someone forging a manifest would."""
    plan_dict = json.loads((folder / PLAN).read_text())
    plan_dict["sha256"][COUNTS] = file_sha256(folder / COUNTS)
    plan_dict["sha256"][PLAN] = plan_sha256(plan_dict)
    (folder / PLAN).write_text(json.dumps(plan_dict))


def negative_keeping_sums(counts: np.ndarray) -> np.ndarray:
    counts = counts.copy()
    counts[0, 1] += counts[0, 0] + 1
    counts[0, 0] = -1
    return counts


def move_one_sample(counts: np.ndarray) -> np.ndarray:
    counts = counts.copy()
    s = int(np.flatnonzero(counts[3] > 0)[0])
    counts[3, s] -= 1
    counts[3, (s + 1) % counts.shape[1]] += 1
    return counts


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# ---------------------------------------------------------------- hashes recorded and verified

def test_plan_json_records_the_sha256_of_every_file_and_opens(manifest_dir):
    recorded = json.loads((manifest_dir / PLAN).read_text())["sha256"]
    assert recorded[COUNTS] == file_sha256(manifest_dir / COUNTS)
    assert recorded["schedule.png"] == file_sha256(manifest_dir / "schedule.png")
    manifest = Manifest.open(manifest_dir)
    assert recorded[PLAN] == plan_sha256(manifest.plan)
    assert manifest.num_steps == 20 and (manifest.counts.sum(axis=1) == 8).all()


@pytest.mark.parametrize("change", [negative_keeping_sums, move_one_sample], ids=["negative", "moved-sample"])
def test_a_hand_edited_counts_parquet_is_refused_naming_the_file(manifest_dir, change):
    rewrite_counts(manifest_dir, change)
    with pytest.raises(ManifestError, match=r"counts\.parquet: changed after planning.*python -m mixer\.plan"):
        Manifest.open(manifest_dir)


def short_row(counts: np.ndarray) -> np.ndarray:
    counts = counts.copy()
    counts[2, int(np.argmax(counts[2]))] -= 2
    return counts


@pytest.mark.parametrize(("change", "message"), [
    (negative_keeping_sums, r"counts\.parquet: step 0 has a negative count \(-1\) of en_web"),
    (short_row, r"counts\.parquet: step 2 has 6 samples, not global_batch=8"),
], ids=["negative", "short-row"])
def test_counts_are_validated_even_with_matching_hashes(manifest_dir, change, message):
    """A forged manifest (hashes recomputed) is still refused for negative counts or a wrong row sum."""
    rewrite_counts(manifest_dir, change)
    rehash(manifest_dir)
    with pytest.raises(ManifestError, match=message):
        Manifest.open(manifest_dir)


def test_an_edited_plan_json_is_refused(manifest_dir):
    plan_dict = json.loads((manifest_dir / PLAN).read_text())
    plan_dict["sources"][0]["n_sequences"] += 1
    (manifest_dir / PLAN).write_text(json.dumps(plan_dict))
    with pytest.raises(ManifestError, match=r"plan\.json: its content was changed after planning"):
        Manifest.open(manifest_dir)


def test_a_manifest_without_hashes_is_refused_with_re_plan(manifest_dir):
    """Older manifests (written before the hashes: no sha256) are refused: they cannot be verified."""
    plan_dict = json.loads((manifest_dir / PLAN).read_text())
    del plan_dict["sha256"]
    (manifest_dir / PLAN).write_text(json.dumps(plan_dict))
    with pytest.raises(ManifestError, match=r"no sha256 of the manifest files.*re-run python -m mixer\.plan"):
        Manifest.open(manifest_dir)
    plan_dict["format_version"] = 99
    (manifest_dir / PLAN).write_text(json.dumps(plan_dict))
    with pytest.raises(ManifestError, match=r"format_version 99.*re-run python -m mixer\.plan"):
        Manifest.open(manifest_dir)


def test_a_missing_schedule_png_is_refused(manifest_dir):
    (manifest_dir / "schedule.png").unlink()
    with pytest.raises(ManifestError, match=r"schedule\.png: missing"):
        Manifest.open(manifest_dir)


# ---------------------------------------------------------------- one line, not a traceback

def test_truncated_counts_parquet_is_one_line(manifest_dir, capsys):
    data = (manifest_dir / COUNTS).read_bytes()
    (manifest_dir / COUNTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(ManifestError, match=r"counts\.parquet: changed after planning"):
        Manifest.open(manifest_dir)
    rehash(manifest_dir)  # even with matching hashes the damaged file is one error, not polars' traceback
    with pytest.raises(ManifestError, match=r"counts\.parquet: not a readable parquet file") as err:
        Manifest.open(manifest_dir)
    assert "\n" not in str(err.value)
    assert show_main([str(manifest_dir)]) == 2
    assert "counts.parquet" in capsys.readouterr().err


def test_plan_json_without_sources_is_one_line(manifest_dir):
    plan_dict = json.loads((manifest_dir / PLAN).read_text())
    del plan_dict["sources"]
    plan_dict["sha256"][PLAN] = plan_sha256(plan_dict)
    (manifest_dir / PLAN).write_text(json.dumps(plan_dict))
    with pytest.raises(ManifestError, match=r"plan\.json: no sources; re-run python -m mixer\.plan") as err:
        Manifest.open(manifest_dir)  # what the trainer calls: one line, the module's error type
    assert "\n" not in str(err.value)
    assert_one_line_error(run_cli("mixer.show", str(manifest_dir)), "plan.json", "no sources")
    assert_one_line_error(run_cli("mixer.show", "--manifest", str(manifest_dir)), "plan.json", "no sources")


def test_show_truncated_parquet_in_a_subprocess_is_one_line(manifest_dir):
    data = (manifest_dir / COUNTS).read_bytes()
    (manifest_dir / COUNTS).write_bytes(data[:40])
    assert_one_line_error(run_cli("mixer.show", str(manifest_dir)), "counts.parquet", "mixer.plan")


def test_plan_json_that_is_not_an_object_is_one_line(manifest_dir):
    (manifest_dir / PLAN).write_text("[1, 2]")
    with pytest.raises(ManifestError, match="not a JSON object"):
        Manifest.open(manifest_dir)


@pytest.mark.slow  # imports torch and the trainer
def test_trainer_refuses_a_tampered_manifest_with_one_line(manifest_dir, tmp_path):
    from train.recipe_sections import TrainError
    from train.run import open_manifest

    rewrite_counts(manifest_dir, move_one_sample)
    with pytest.raises(TrainError, match=r"counts\.parquet: changed after planning") as err:
        open_manifest(manifest_dir, tmp_path / "tokens")
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- impossible totals

def test_a_total_too_large_to_plan_is_refused_before_allocating(tmp_path):
    with pytest.raises(MixerError, match=r"1,000,000,000,000 steps .* over the planner's limit of 2 GiB"):
        plan(tmp_path, {**CHATFLOW, "total": "1T steps"})
    # the limit is on steps x sources x 8 bytes: a long but plannable total still plans
    assert planner.MAX_TABLE_BYTES // (len(SIZES) * 8) > 10_000_000


def test_total_1t_steps_from_the_cli_is_one_line_exit_2(tmp_path):
    recipe = make_recipe(tmp_path, {**CHATFLOW, "total": "1T steps"})
    result = run_cli("mixer.plan", str(recipe), "--counts", CLI_COUNTS, "--dry-run")
    assert_one_line_error(result, "1,000,000,000,000 steps", "limit of 2 GiB")
    assert not (tmp_path / "work").exists()


def test_a_planned_manifest_round_trips_through_the_cli(tmp_path):
    recipe = make_recipe(tmp_path, {**CHATFLOW, "total": "12 steps"})
    assert run_cli("mixer.plan", str(recipe), "--counts", CLI_COUNTS).returncode == 0
    shown = run_cli("mixer.show", str(tmp_path / "work" / "manifest"), "--steps", "11")
    assert shown.returncode == 0, shown.stderr
    assert Manifest.open(tmp_path / "work" / "manifest").fingerprint == planner.plan_from_recipe(
        Recipe.load(recipe), counts=SIZES).plan["fingerprint"]
