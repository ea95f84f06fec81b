"""The trainer's command line: `python -m train.run RECIPE` and `python train/run.py RECIPE` with a manifest
planned by the real mixer, refused changed shards, and `--check` (the recipe only, nothing trained or written)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common.recipe import Recipe
from mixer import plan as planner
from tests.test_train_fixtures import TINY_LLAMA, write_shards
from train import run

REPO = Path(__file__).resolve().parents[1]


def planned_recipe(tmp_path: Path, **train) -> Path:
    """recipe.yaml with two 16-sequence sources, a 6-step manifest of global batch 4 planned by the mixer."""
    write_shards(tmp_path / "work" / "tokens", {"en_web": 16, "zh_web": 16}, seq_len=16)
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump({
        "workdir": "work", "seed": 3,
        "sources": [{"name": "en_web", "kind": "mono", "language": "en", "input": {"path": "raw/en.jsonl"}},
                    {"name": "zh_web", "kind": "mono", "language": "zh", "input": {"path": "raw/zh.jsonl"}}],
        "mixture": {"global_batch": 4, "total": "6 steps",
                    "schedule": {"kind": "constant", "mixture": {"en_web": 0.5, "zh_web": 0.5}}},
        "model": {"config": TINY_LLAMA},
        "train": {"micro_batch_size": 2, "max_steps": 2, "prefetch": True, **train},
    }, sort_keys=False))
    planner.write_manifest(planner.plan_from_recipe(Recipe.load(recipe_path)), tmp_path / "work" / "manifest")
    return recipe_path


def test_cli_trains_from_a_planned_manifest_and_refuses_shards_that_changed(tmp_path, capsys):
    recipe_path = planned_recipe(tmp_path)
    assert run.main([str(recipe_path)]) == 0
    assert (tmp_path / "work" / "model" / "model.safetensors").is_file()
    assert (tmp_path / "work" / "checkpoints" / "step-2" / "state.json").is_file()

    write_shards(tmp_path / "work" / "tokens", {"zh_web": 16}, seq_len=16, seed=99)  # re-tokenized differently
    assert run.main([str(recipe_path)]) == 2
    err = capsys.readouterr().err
    assert "zh_web: shard fingerprint" in err and "re-plan" in err and "Traceback" not in err


def test_runs_as_a_module_and_as_a_script_from_any_folder(tmp_path):
    """`python train/run.py` and `python -m train.run` each train a step (side by side, one process each),
    from an unrelated folder, without the repository on sys.path: the project is installed, nothing else."""
    recipes = {form: planned_recipe(tmp_path / form, max_steps=1) for form in ("script", "module")}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    commands = {"script": [sys.executable, str(REPO / "train" / "run.py"), str(recipes["script"])],
                "module": [sys.executable, "-m", "train.run", str(recipes["module"])]}
    running = {form: subprocess.Popen(command, cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for form, command in commands.items()}
    for form, process in running.items():
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{form}: {err[-3000:]}"
        work = tmp_path / form / "work"
        records = [json.loads(line) for line in (work / "train_logs" / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [0]
        assert (work / "model" / "model.safetensors").is_file()


def test_no_trainer_module_can_shadow_another_when_run_as_a_script():
    """`python train/run.py` puts train/ first on sys.path: none of its file names may be a standard-library
    or installed top-level module (torch, transformers or accelerate would import ours instead)."""
    names = sorted(p.stem for p in (REPO / "train").glob("*.py") if p.stem != "__init__")
    assert "run" in names and len(names) > 1
    assert not [n for n in names if n in sys.stdlib_module_names]
    assert str(REPO / "train") not in sys.path
    assert not [n for n in names if importlib.util.find_spec(n) is not None]


def test_check_validates_the_model_and_train_sections_without_touching_the_workdir(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"workdir": "w", "model": {"config": TINY_LLAMA},
                                      "train": {"micro_batch_size": 2, "lr_schedule": "wsd"}}))
    assert run.main([str(recipe), "--check"]) == 0  # no manifest, no shards: nothing but the recipe is read
    assert not (tmp_path / "w").exists()
    assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize(("model", "train", "message"), [
    ({"config": TINY_LLAMA}, {"schedule": "cosine"},
     "train.schedule: unknown key (did you mean 'lr_schedule'?)"),
    ({"config": TINY_LLAMA}, {"lr_schedule": "cosin"}, "train.lr_schedule: Input should be"),
    ({"config": {**TINY_LLAMA, "hidden_sise": 64}}, {},
     "model.config.hidden_sise: not a llama config key (did you mean 'hidden_size'?)"),
    ({"config": {**TINY_LLAMA, "model_type": "lama"}}, {},
     "model.config.model_type: unknown model type 'lama' (did you mean 'llama'?)"),
    ({"path": "."}, {}, "not a Hugging Face model folder (no config.json)"),
])
def test_check_reports_one_problem_per_line_with_exit_code_2(tmp_path, capsys, model, train, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"workdir": "w", "model": model, "train": train}, sort_keys=False))
    assert run.main([str(recipe), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "w").exists()


@pytest.mark.slow  # a fresh interpreter imports torch and transformers; the in-process tests above check the rules
def test_check_as_the_demo_calls_it(tmp_path):
    """`python -m train.run RECIPE --check` in its own process: exit 2 and the one-line error on stderr."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"model": {"config": TINY_LLAMA}, "train": {"micro_batch_sise": 2}}))
    done = subprocess.run([sys.executable, "-m", "train.run", str(recipe), "--check"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "train.micro_batch_sise: unknown key (did you mean 'micro_batch_size'?)" in done.stderr
    assert not (tmp_path / "work").exists()
