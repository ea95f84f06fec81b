"""`python -m merge.run` with the flags every command shares (issue 16, point 15): the demo recipe by default,
--output, --workdir, --fresh, --dry-run, --version, -v/-q, --help without heavy imports, one line for Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from merge import engine
from merge.demo_models import build_demo_models
from merge.run import main

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return build_demo_models(tmp_path_factory.mktemp("models"), seed=0)


def recipe(tmp_path: Path, models: dict[str, Path], extra: str = "") -> Path:
    path = tmp_path / "merge.yaml"
    path.write_text(
        f"workdir: {tmp_path / 'work'}\nmerge:\n  method: ties\n"
        f"  base: {models['base']}\n  models: [{{name: ct, path: {models['ct']}}}, {{name: sft, path: {models['sft']}}}]\n"
        f"  tokenizer_from: ct\n{extra}"
    )
    return path


def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_without_a_recipe_it_names_the_demo_recipe_and_points_at_the_merge_demo():
    result = subprocess.run([sys.executable, "-m", "merge.run"], capture_output=True, text=True, cwd=ROOT, env=ENV,
                            timeout=120)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: recipe {ROOT / 'recipes' / 'demo.yaml'}: no `merge` section")
    assert "recipes/merge_demo.yaml" in lines[0] and "merge/merge.yaml" in lines[0]


def test_help_imports_neither_torch_nor_safetensors():
    code = ("import runpy, sys\nsys.argv = ['merge.run', '--help']\ntry:\n    runpy.run_module('merge.run', run_name='__main__')\n"
            "except SystemExit:\n    pass\nprint(sorted(m for m in ('torch', 'safetensors', 'transformers', 'pydantic') if m in sys.modules))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--dry-run" in result.stdout and "--mergekit" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and "zh-adapt" in capsys.readouterr().out


def test_dry_run_prints_the_plan_and_writes_nothing(models, tmp_path, capsys):
    path = recipe(tmp_path, models, "  parameters: {density: 0.3}\n")
    before = files_under(tmp_path)
    assert main([str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "merge (dry run): ties {'density': 0.3, 'lambda': 1.0, 'normalize': True}" in out
    assert f"ct: {models['ct']} (weight 1)" in out and f"base: {models['base']} (base)" in out
    assert "tensors: 21 (21 merged, 0 copied)" in out and "tokenizer from ct, vocabulary 350" in out
    assert f"output: {tmp_path / 'work' / 'merged'} (about " in out and "nothing written (dry run)" in out
    assert files_under(tmp_path) == before and not (tmp_path / "work").exists()


def test_dry_run_lists_every_check_that_would_refuse_with_exit_code_2(models, tmp_path, capsys):
    path = recipe(tmp_path, models)
    (tmp_path / "work" / "merged").mkdir(parents=True)
    assert main([str(path), "--dry-run"]) == 2
    out = capsys.readouterr().out
    assert f"would refuse: output {tmp_path / 'work' / 'merged'} exists; pass --fresh" in out
    assert main([str(path), "--dry-run", "--output", str(models["ct"] / "sub")]) == 2
    assert f"would refuse: output {models['ct'] / 'sub'} overlaps the input model {models['ct']}" in capsys.readouterr().out
    assert not (models["ct"] / "sub").exists() and list((tmp_path / "work" / "merged").iterdir()) == []


def test_fresh_replaces_the_output_and_workdir_moves_it(models, tmp_path, capsys):
    path = recipe(tmp_path, models)
    assert main([str(path), "-q"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"wrote {tmp_path / 'work' / 'merged'}"  # -q: the result only
    (tmp_path / "work" / "merged" / "stale.txt").write_text("old")
    assert main([str(path)]) == 2
    assert "exists; pass --fresh (or set merge.overwrite: true) to replace it" in capsys.readouterr().err
    assert main([str(path), "--fresh"]) == 0
    assert not (tmp_path / "work" / "merged" / "stale.txt").exists()
    assert (tmp_path / "work" / "merged" / "merge_report.json").is_file()
    assert main([str(path), "--workdir", str(tmp_path / "other")]) == 0
    assert (tmp_path / "other" / "merged" / "merge_report.json").is_file()


def test_ctrl_c_is_one_line_and_leaves_no_partial_output(models, tmp_path, capsys, monkeypatch):
    calls = []
    tensor = engine.Engine.tensor

    def interrupted_after_three(self, plan):
        calls.append(plan.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return tensor(self, plan)

    monkeypatch.setattr(engine.Engine, "tensor", interrupted_after_three)
    assert main([str(recipe(tmp_path, models))]) == 130
    err = capsys.readouterr().err.strip()
    output = tmp_path / "work" / "merged"
    assert err == (f"merge.run: interrupted during the merge (nothing was written to {output}; the partial .tmp "
                   "folder was removed); run the same command again to resume")
    assert not output.exists() and not output.with_name("merged.tmp").exists()


def test_dry_run_does_not_fetch_hub_models(models, tmp_path, capsys, monkeypatch):
    import huggingface_hub

    def no_download(*args, **kwargs):
        raise AssertionError("a dry run must not download")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_download)
    path = tmp_path / "hub.yaml"
    path.write_text(f"workdir: {tmp_path / 'work'}\nmerge:\n  method: ties\n  base: meta-llama/Llama-2-7b-hf\n"
                    f"  models: [{{name: ct, path: {models['ct']}}}]\n")
    assert main([str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "base: meta-llama/Llama-2-7b-hf (base; hub model, not fetched in a dry run)" in out
    assert "unknown until the hub models are fetched" in out and not (tmp_path / "work").exists()
