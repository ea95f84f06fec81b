"""`train/run.py RECIPE` with a manifest planned by the real mixer: trains, and refuses changed shards."""

from __future__ import annotations

import yaml

from common.recipe import Recipe
from mixer import plan as planner
from tests.test_train_fixtures import TINY_LLAMA, write_shards
from train import run


def test_cli_trains_from_a_planned_manifest_and_refuses_shards_that_changed(tmp_path, capsys):
    sizes = {"en_web": 16, "zh_web": 16}
    write_shards(tmp_path / "work" / "tokens", sizes, seq_len=16)
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump({
        "workdir": "work", "seed": 3,
        "sources": [{"name": "en_web", "kind": "mono", "language": "en"},
                    {"name": "zh_web", "kind": "mono", "language": "zh"}],
        "mixture": {"global_batch": 4, "total": "6 steps",
                    "schedule": {"kind": "constant", "mixture": {"en_web": 0.5, "zh_web": 0.5}}},
        "model": {"config": TINY_LLAMA},
        "train": {"micro_batch_size": 2, "max_steps": 2, "prefetch": True},
    }, sort_keys=False))
    recipe = Recipe.load(recipe_path)
    planner.write_manifest(planner.plan_from_recipe(recipe), tmp_path / "work" / "manifest")
    assert run.main([str(recipe_path)]) == 0
    assert (tmp_path / "work" / "model" / "model.safetensors").is_file()
    assert (tmp_path / "work" / "checkpoints" / "step-2" / "state.json").is_file()

    write_shards(tmp_path / "work" / "tokens", {"zh_web": 16}, seq_len=16, seed=99)  # re-tokenized differently
    assert run.main([str(recipe_path)]) == 2
    err = capsys.readouterr().err
    assert "zh_web: shard fingerprint" in err and "re-plan" in err and "Traceback" not in err
