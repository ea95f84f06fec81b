"""Issue 16 (merge): output over input, leftover temporaries, bad sizes and weights, a full disk."""

from __future__ import annotations

import errno
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from merge import io as merge_io
from merge.demo_models import build_demo_models
from merge.io import MergeError

from .test_merge import recipe_for, run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Path]:
    return build_demo_models(tmp_path_factory.mktemp("models"), seed=0)


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def cli(recipe: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "merge.run", str(recipe)], cwd=ROOT, capture_output=True, text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def write_recipe(tmp_path: Path, demo, extra: str, weight: str = "1.0") -> Path:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"workdir: {tmp_path / 'w'}\nmerge:\n  method: ties\n  base: {demo['base']}\n"
        f"  models:\n    - {{path: {demo['ct']}, weight: {weight}}}\n    - {{path: {demo['sft']}}}\n"
        f"  tokenizer_from: model0\n{extra}"
    )
    return recipe


@pytest.mark.parametrize("where", ["base", "inside_base", "parent_of_ct", "symlink_to_sft"])
def test_output_over_an_input_is_refused_and_nothing_changes(demo, tmp_path, where):
    before = {k: snapshot(demo[k]) for k in ("base", "ct", "sft")}
    output = {
        "base": demo["base"],
        "inside_base": demo["base"] / "merged",
        "parent_of_ct": demo["ct"].parent,
        "symlink_to_sft": tmp_path / "link",
    }[where]
    if where == "symlink_to_sft":
        output.symlink_to(demo["sft"])
    result = cli(write_recipe(tmp_path, demo, f"  output: {output}\n  overwrite: true\n"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "overlaps the input model" in lines[0] and str(output) in lines[0]
    assert {k: snapshot(demo[k]) for k in ("base", "ct", "sft")} == before
    assert not (demo["base"] / "merged").exists()
    assert not list(output.parent.glob("*.tmp"))


def test_bad_max_shard_size_is_refused_at_load(demo, tmp_path):
    result = cli(write_recipe(tmp_path, demo, "  max_shard_size: 2XB\n"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "merge.max_shard_size" in result.stderr and "2XB" in result.stderr and "GiB" in result.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("weight", [".inf", "-.inf", ".nan"])
def test_non_finite_weight_is_refused_at_load(demo, tmp_path, weight):
    result = cli(write_recipe(tmp_path, demo, "", weight=weight))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "merge.models[0].weight" in result.stderr and "finite" in result.stderr
    assert not (tmp_path / "w").exists()


def test_full_disk_leaves_no_partial_output(demo, tmp_path, monkeypatch):
    real_open = open

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.f.close()

    def full_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return Full(handle) if "w" in mode else handle

    monkeypatch.setattr(merge_io, "open", full_open, raising=False)
    output = tmp_path / "out"
    with pytest.raises(MergeError, match="No space left on device") as err:
        run(recipe_for(demo, "ties"), output)
    assert "\n" not in str(err.value)
    assert not output.exists() and not (tmp_path / "out.tmp").exists()


def test_leftover_staging_is_removed_and_never_a_result(demo, tmp_path):
    output = tmp_path / "out"
    staging = tmp_path / "out.tmp"
    staging.mkdir()
    (staging / "model.safetensors").write_bytes(b"partial")
    with pytest.raises(MergeError):
        run(recipe_for(demo, "ties", max_shard_size="1B", device="nope"), output)
    assert not output.exists()
    run(recipe_for(demo, "ties"), output)
    assert not staging.exists() and (output / "merge_report.json").is_file()
    assert (output / "model.safetensors").read_bytes() != b"partial"


def test_failure_mid_merge_removes_the_staging_folder(demo, tmp_path, monkeypatch):
    def boom(self, name, tensor):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(merge_io.ShardedWriter, "write", boom)
    output = tmp_path / "out"
    with pytest.raises(RuntimeError):
        run(recipe_for(demo, "ties"), output)
    assert not output.exists() and not (tmp_path / "out.tmp").exists()
