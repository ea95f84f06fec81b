"""A changed recipe or changed token shards never reuse an old manifest (issue 16 (1), mixer part): the
manifest is replaced whole or not at all, and a manifest whose token shards or recipe changed since
planning is refused (the trainer reads it through check_shards) with one line naming what changed and the
command that re-plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from common.recipe import Recipe
from mixer import planning
from mixer.manifest import Manifest, ManifestError, check_recipe, check_shards
from mixer.plan import main as plan_main
from tests.test_mixer import CHATFLOW, COUNTS, make_recipe, write_shard

MIXTURE = {**CHATFLOW, "total": "20 steps", "max_epochs": 50}


def planned(tmp_path: Path, mixture: dict | None = None) -> tuple[Path, Path]:
    """Shards for the four sources, a recipe and its manifest planned by the command (WORKDIR/manifest)."""
    tokens = tmp_path / "work" / "tokens"
    for i, name in enumerate(COUNTS):
        write_shard(tokens / name, 30, i)
    recipe = make_recipe(tmp_path, mixture or MIXTURE)
    assert plan_main([str(recipe), "-q"]) == 0
    return recipe, tmp_path / "work" / "manifest"


def edit_recipe(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_plan_json_records_how_it_was_planned(tmp_path):
    recipe, manifest_dir = planned(tmp_path)
    plan = json.loads((manifest_dir / "plan.json").read_text())
    assert plan["planned_with"] == {"recipe": str(recipe.resolve()), "schedule": None}
    assert all(s["shard_fingerprint"] for s in plan["sources"])
    check_shards(Manifest.open(manifest_dir), tmp_path / "work" / "tokens")  # unchanged: accepted


def test_changed_shards_are_refused_in_one_line_naming_the_source_and_the_command(tmp_path):
    recipe, manifest_dir = planned(tmp_path)
    write_shard(tmp_path / "work" / "tokens" / "zh_web", 31, 9)  # re-tokenized: other sequences
    with pytest.raises(ManifestError) as err:
        check_shards(Manifest.open(manifest_dir), tmp_path / "work" / "tokens")
    message = str(err.value)
    assert "\n" not in message
    assert "zh_web: shard fingerprint" in message and "en_web" not in message
    assert message.endswith(f"re-plan it: python -m mixer.plan {recipe.resolve()}")  # WORKDIR/manifest: no --output


def test_the_re_plan_command_names_a_manifest_outside_the_workdir(tmp_path):
    """A manifest planned with --output (as the demo's branches are) is re-planned to the same folder, never
    over WORKDIR/manifest."""
    recipe, _ = planned(tmp_path)
    branch = tmp_path / "work" / "merge" / "ct" / "manifest"
    assert plan_main([str(recipe), "--output", str(branch), "-q"]) == 0
    edit_recipe(recipe, lambda d: d["mixture"].update(total="24 steps"))
    with pytest.raises(ManifestError) as err:
        check_shards(Manifest.open(branch), tmp_path / "work" / "tokens")
    assert str(err.value).endswith(f"re-plan it: python -m mixer.plan {recipe.resolve()} --output {branch}")


def test_a_changed_mixture_refuses_the_old_manifest_until_re_planned(tmp_path):
    recipe, manifest_dir = planned(tmp_path)
    edit_recipe(recipe, lambda d: d["mixture"].update(total="24 steps"))
    with pytest.raises(ManifestError, match=r"out of date: .*recipe\.yaml or its token shards changed since it was "
                                            r"planned \(mixture\.total\); re-plan it: python -m mixer\.plan ") as err:
        check_shards(Manifest.open(manifest_dir), tmp_path / "work" / "tokens")  # what the trainer calls
    assert "\n" not in str(err.value)
    edit_recipe(recipe, lambda d: d.update(seed=8))
    with pytest.raises(ManifestError, match=r"\(mixture\.total, seed\)"):
        check_recipe(Manifest.open(manifest_dir), Recipe.load(recipe))
    assert plan_main([str(recipe), "-q"]) == 0  # re-planned: accepted again
    manifest = Manifest.open(manifest_dir)
    assert manifest.num_steps == 24
    check_shards(manifest, tmp_path / "work" / "tokens")


def test_a_schedule_option_is_remembered_and_a_changed_source_kind_is_named(tmp_path):
    recipe, manifest_dir = planned(tmp_path)
    assert plan_main([str(recipe), "--schedule", "linear", "-q"]) == 0
    manifest = Manifest.open(manifest_dir)
    check_shards(manifest, tmp_path / "work" / "tokens")  # compared with the recipe under --schedule linear
    edit_recipe(recipe, lambda d: d["sources"][2].update(kind="instruct"))  # para becomes an instruction source
    with pytest.raises(ManifestError, match=r"source para \(kind\).*python -m mixer\.plan \S+ --schedule linear$"):
        check_recipe(manifest, Recipe.load(recipe))


def test_a_failed_re_plan_keeps_the_old_manifest_whole_and_refused(tmp_path):
    """Tokens changed and re-planning fails (a source was not tokenized again): the old manifest is left as it
    was (nothing half-written), and the trainer's check refuses it."""
    recipe, manifest_dir = planned(tmp_path)
    before = files(manifest_dir)
    (tmp_path / "work" / "tokens" / "para" / "meta.json").unlink()
    assert plan_main([str(recipe)]) == 2
    assert files(manifest_dir) == before
    with pytest.raises(ManifestError, match=r"para: .*meta\.json.*re-plan it: python -m mixer\.plan"):
        check_shards(Manifest.open(manifest_dir), tmp_path / "work" / "tokens")


def test_a_write_that_fails_midway_leaves_the_old_manifest_untouched(tmp_path, monkeypatch):
    """The manifest is written to manifest.tmp/ and swapped in only when complete: a failure while writing
    (here: the plot) never leaves old and new files side by side."""
    recipe, manifest_dir = planned(tmp_path)
    before = files(manifest_dir)
    edit_recipe(recipe, lambda d: d["mixture"].update(total="30 steps"))

    def broken_plot(*_args, **_kw):
        raise OSError("No space left on device")

    monkeypatch.setattr(planning, "plot_schedule", broken_plot)
    with pytest.raises(OSError):
        planning.write_manifest(planning.plan_from_recipe(Recipe.load(recipe)), manifest_dir)
    assert files(manifest_dir) == before
    assert not (tmp_path / "work" / "manifest.tmp").exists()  # removed on failure
    monkeypatch.undo()
    assert plan_main([str(recipe), "-q"]) == 0  # the next plan clears manifest.tmp and writes the new one
    assert not (tmp_path / "work" / "manifest.tmp").exists()
    assert Manifest.open(manifest_dir).num_steps == 30
