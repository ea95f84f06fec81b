"""A changed recipe or input never reuses old curation results: each stage records what it ran with and
refuses, in one line naming the stage, the source, the change and `--force STAGE`, when that differs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from curation.run import main as curation_main
from tests.curation_samples import ZH_GOOD, ZH_SPAM

ROOT = Path(__file__).resolve().parent.parent


def setup(root: Path, **sections) -> Path:
    """A Chinese source (four good documents, one spam, one duplicate) and its recipe; returns the recipe."""
    texts = [*ZH_GOOD, ZH_SPAM, ZH_GOOD[0]]
    (root / "zh.jsonl").write_text("".join(json.dumps({"id": f"z{i}", "text": t}, ensure_ascii=False) + "\n"
                                           for i, t in enumerate(texts)), encoding="utf-8")
    recipe = {"workdir": "work", "seed": 3,
              "sources": [{"kind": "mono", "name": "zh", "language": "zh", "input": {"path": "zh.jsonl"}}],
              "curation": {"heldout_fraction": 0.0, "workers": 1}, "dedup": {"near": {"enabled": False}}}
    for key, value in sections.items():
        recipe[key] = {**recipe.get(key, {}), **value}
    return save(root / "recipe.yaml", recipe)


def save(path: Path, recipe: dict) -> Path:
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return path


def edit(path: Path, change) -> None:
    recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(recipe)
    save(path, recipe)


def report(path: Path) -> dict:
    return json.loads((path.parent / "work" / "curated" / "_report.json").read_text())["sources"]["zh"]


def refusal(capsys) -> str:
    """The one `error:` line of a refused run."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow
def test_a_disabled_filter_is_refused_until_forced_and_the_report_never_shows_its_old_removals(tmp_path):
    recipe = setup(tmp_path)
    assert curation_main([str(recipe)]) == 0
    assert report(recipe)["removed"]["quality_zh"]["docs"] == 1
    before = (tmp_path / "work" / "curated" / "_report.json").read_text()
    edit(recipe, lambda r: r["curation"].update(quality_zh={"enabled": False}))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "curation.run", str(recipe)], env=env, capture_output=True,
                            text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in output, output
    [line] = [line for line in output.splitlines() if line.startswith("error:")]
    assert "filter / zh: " in line and "curation.quality_zh.enabled true -> false" in line
    assert f"python -m curation.run {recipe} --force filter" in line
    assert "done in" not in output  # nothing ran
    assert (tmp_path / "work" / "curated" / "_report.json").read_text() == before

    assert curation_main([str(recipe), "--force", "filter"]) == 0
    after = report(recipe)
    assert "quality_zh" not in after["removed"] and after["kept"]["docs"] == 5 and after["balanced"]
    assert not (tmp_path / "work" / "excluded" / "zh" / "quality_zh").exists()
    assert curation_main([str(recipe)]) == 0  # recorded: the same recipe runs (and skips) as before
    assert report(recipe) == after


def test_a_fixed_text_field_is_refused_then_forced(tmp_path, capsys):
    recipe = setup(tmp_path)
    edit(recipe, lambda r: r["sources"][0].update(text_field="body"))
    assert curation_main([str(recipe)]) == 0  # every record set aside: an empty source, skipped
    assert report(recipe)["kept"]["docs"] == 0 and report(recipe)["removed"]["read"]["docs"] == 6
    edit(recipe, lambda r: r["sources"][0].update(text_field="text"))
    assert curation_main([str(recipe)]) == 2
    assert 'filter / zh: the recipe or the input changed since this stage ran (sources[zh].text_field "body" -> "text")' \
        in refusal(capsys)
    assert curation_main([str(recipe), "--force", "filter"]) == 0
    fixed = report(recipe)
    assert "read" not in fixed["removed"] and fixed["kept"]["docs"] == 4 and fixed["balanced"]


def test_a_changed_input_file_is_refused(tmp_path, capsys):
    recipe = setup(tmp_path)
    assert curation_main([str(recipe)]) == 0
    with open(tmp_path / "zh.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new", "text": ZH_GOOD[1] + "又一段。"}, ensure_ascii=False) + "\n")
    assert curation_main([str(recipe)]) == 2
    line = refusal(capsys)
    assert "filter / zh: " in line and "zh.jsonl modified (" in line and "--force filter" in line
    assert curation_main([str(recipe), "--force", "filter"]) == 0
    assert report(recipe)["read"]["docs"] == 7 and report(recipe)["balanced"]


def test_later_stages_refuse_their_own_changes(tmp_path, capsys):
    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": ZH_GOOD[2][:30]}, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    recipe = setup(tmp_path, decontamination={"eval_files": ["eval.jsonl"]})
    assert curation_main([str(recipe)]) == 0
    first = report(recipe)
    assert first["removed"]["exact_dedup"]["docs"] == 1 and first["removed"]["decontaminate"]["docs"] == 1

    edit(recipe, lambda r: r["curation"].update(heldout_fraction=0.5))
    assert curation_main([str(recipe)]) == 2
    assert "publish / zh: the recipe or the input changed since this stage ran (curation.heldout_fraction 0.0 -> 0.5)" \
        in refusal(capsys)
    edit(recipe, lambda r: r["curation"].update(heldout_fraction=0.0))

    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": ZH_GOOD[3][:30]}, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    assert curation_main([str(recipe)]) == 2
    line = refusal(capsys)
    assert "decontaminate / zh: " in line and "eval.jsonl modified" in line and "--force decontaminate" in line

    edit(recipe, lambda r: r["dedup"].update(exact=False, near={"enabled": True}))
    assert curation_main([str(recipe)]) == 2
    line = refusal(capsys)
    assert "dedup / zh: " in line and "dedup.exact true -> false, dedup.near.enabled false -> true" in line

    # a stage turned off with its results still there: refused, then removed by --force
    edit(recipe, lambda r: r.update(dedup={"enabled": False}))
    assert curation_main([str(recipe)]) == 2
    assert "dedup: dedup.enabled is off in the recipe, but" in refusal(capsys)
    assert curation_main([str(recipe), "--force", "dedup"]) == 0
    after = report(recipe)
    assert list(after["removed"]) == ["quality_zh", "decontaminate"] and after["balanced"]
    assert after["removed"]["decontaminate"]["docs"] == 1 and after["kept"]["docs"] == 4
    assert curation_main([str(recipe)]) == 0 and report(recipe) == after


def test_a_workdir_from_before_the_records_is_recorded_with_one_note(tmp_path, capsys):
    recipe = setup(tmp_path)
    assert curation_main([str(recipe)]) == 0
    first = report(recipe)
    records = sorted((tmp_path / "work" / "logs").rglob("settings.json"))
    assert [str(p.relative_to(tmp_path / "work" / "logs")) for p in records] == [
        "dedup/zh/settings.json", "filter/zh/settings.json", "publish/zh/settings.json"]
    for path in records:
        path.unlink()
    capsys.readouterr()
    assert curation_main([str(recipe)]) == 0
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "from before the curation stages recorded their settings" in err
    assert all(path.is_file() for path in records) and report(recipe) == first
    assert curation_main([str(recipe)]) == 0
    assert "note:" not in capsys.readouterr().err


def test_forcing_a_stage_until_itself_leaves_the_old_later_results_out_of_the_report(tmp_path, capsys):
    recipe = setup(tmp_path)
    assert curation_main([str(recipe)]) == 0
    edit(recipe, lambda r: r["curation"].update(quality_zh={"enabled": False}))
    assert curation_main([str(recipe), "--force", "filter", "--until", "filter"]) == 0
    partial = report(recipe)
    # dedup and publish ran on the old filter output: their removals and documents are not counted
    assert partial["removed"] == {} and partial["kept"]["docs"] == 0 and partial["not_counted"] == ["dedup", "publish"]
    assert partial["balanced"] is None
    assert "the results of dedup, publish were made from an earlier output" in capsys.readouterr().err
    assert curation_main([str(recipe)]) == 2
    assert "dedup / zh: the recipe or the input changed since this stage ran (input of zh (from filter) changed)" \
        in refusal(capsys)
    assert curation_main([str(recipe), "--force", "dedup"]) == 0
    after = report(recipe)
    assert list(after["removed"]) == ["exact_dedup"] and after["kept"]["docs"] == 5 and after["balanced"]
