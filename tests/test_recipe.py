"""Recipe validation: every mistake is one clear message naming the YAML path and line."""

import subprocess
import sys
from pathlib import Path

import pytest

from common.recipe import Recipe, RecipeError
from common.sources import load_sources
from curation.config import load_curation

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data.jsonl").write_text('{"text": "x"}\n')
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def problems(path: Path, loader) -> list[str]:
    with pytest.raises(RecipeError) as err:
        loader(Recipe.load(path))
    return err.value.problems


def test_unknown_top_level_key_suggests_the_right_one(tmp_path):
    path = write(tmp_path, "sources: []\nmixtrue: {}\n")
    with pytest.raises(RecipeError) as err:
        Recipe.load(path)
    assert err.value.problems == ["line 2: mixtrue: unknown section (did you mean 'mixture'?)"]


def test_source_errors_name_path_and_line(tmp_path):
    path = write(
        tmp_path,
        """sources:
  - kind: mono
    name: ok
    language: zh
    input: {path: data.jsonl}
  - kind: mono
    name: missing
    language: zh
    input:
      path: nowhere.jsonl
  - kind: parallel
    name: typo
    input: {path: data.jsonl, fromat: tsv}
  - kind: mono
    name: lang
    language: fr
    input: {path: data.jsonl}
""",
    )
    found = problems(path, load_sources)
    assert f"line 10: sources[1].input.path: no such file or folder: {tmp_path / 'nowhere.jsonl'}" in found
    assert "line 13: sources[2].input.fromat: unknown key (did you mean 'format'?)" in found
    assert any(p.startswith("line 16: sources[3].language:") for p in found)
    assert len(found) == 3


def test_wrong_types_and_nested_typos_in_curation(tmp_path):
    path = write(tmp_path, "curation:\n  tasks: many\n  quality_zh:\n    min_char: 3\n")
    found = problems(path, load_curation)
    assert any(p.startswith("line 2: curation.tasks:") for p in found)
    assert "line 4: curation.quality_zh.min_char: unknown key (did you mean 'min_chars'?)" in found


def test_duplicate_source_names_and_format_inference(tmp_path):
    path = write(
        tmp_path,
        "sources:\n  - {kind: mono, name: a, language: en, input: {path: data.jsonl}}\n"
        "  - {kind: mono, name: a, language: en, input: {path: data.jsonl}}\n",
    )
    assert any("source name 'a' is used twice" in p for p in problems(path, load_sources))
    ok = write(tmp_path, "sources:\n  - {kind: mono, name: a, language: en, input: {path: data.jsonl}}\n")
    assert load_sources(Recipe.load(ok))[0].input.format == "jsonl"


def test_relative_paths_resolve_against_the_recipe_folder(tmp_path, monkeypatch):
    path = write(tmp_path, "workdir: out\nsources:\n  - {kind: mono, name: a, language: en, input: {path: data.jsonl}}\n")
    monkeypatch.chdir("/")
    recipe = Recipe.load(path)
    assert recipe.workdir == tmp_path / "out"
    assert load_sources(recipe)[0].input.path == tmp_path / "data.jsonl"


def test_cli_prints_one_clear_message_not_a_traceback(tmp_path):
    path = write(tmp_path, "sources:\n  - {kind: mono, name: a, language: en, input: {path: gone.jsonl}}\n")
    result = subprocess.run([sys.executable, "-m", "curation.run", str(path)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert "sources[0].input.path: no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_shipped_recipes_validate():
    for name in ("demo.yaml", "zh_en.yaml"):
        recipe = Recipe.load(REPO / "recipes" / name)
        load_curation(recipe)
        if name == "demo.yaml":  # zh_en.yaml names ~50 GB of local data that is not on a test machine
            load_sources(recipe)
