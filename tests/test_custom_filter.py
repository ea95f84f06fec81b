"""The worked example of docs/custom_filter.md, run as the page shows it: the page's first `python` block is
the code under test, so the documentation cannot drift from what works (issue 16, point 19)."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest
import yaml
from datatrove.data import Document

from common.recipe import Recipe, RecipeError, Section
from curation import filter_stage
from curation.run import main as curation_main
from tests.curation_samples import ZH_GOOD

DOC = Path(__file__).resolve().parents[1] / "docs" / "custom_filter.md"


def example_module() -> types.ModuleType:
    """The page's first ```python block, imported as a module."""
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    module = types.ModuleType("custom_filter_example")
    sys.modules[module.__name__] = module  # pydantic and pickling look classes up by module
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    return module


example = example_module()
LINK_FARM = "相关链接：\n" + "\n".join(f"https://mirror{i}.example.com/download/file-{i}.zip" for i in range(8))
NAV_PAGE = "导航 " + " ".join(f"www.site{i}.example.org/path/{i}" for i in range(6)) + " 首页"
SHORT = "见 www.x.cn"  # under min_chars: left to the other steps


def test_the_example_keeps_prose_and_removes_pages_of_links_with_a_reason():
    step = example.LinkDensityFilter(example.LinkDensitySection(enabled=True))
    assert step.excluded_name == "link_density"
    results = {name: step.filter(Document(text=text, id=name)) for name, text in
               [("good", ZH_GOOD[0]), ("tech", ZH_GOOD[1] + " 详见 https://docs.example.com/guide"),
                ("farm", LINK_FARM), ("nav", NAV_PAGE), ("short", SHORT)]}  # fmt: skip
    assert results == {"good": True, "tech": True, "farm": (False, "mostly_links"), "nav": (False, "mostly_links"),
                       "short": True}  # fmt: skip
    strict = example.LinkDensityFilter(example.LinkDensitySection(max_link_char_frac=0.01))
    assert strict.filter(Document(text=ZH_GOOD[1] + " 详见 https://docs.example.com/guide", id="t")) == (False, "mostly_links")


def test_the_recipe_section_checks_keys_and_values(tmp_path):
    wrapper = type("Curation", (Section,), {"__annotations__": {"link_density": example.LinkDensitySection}})
    path = tmp_path / "recipe.yaml"
    path.write_text("curation:\n  link_density:\n    enabled: true\n    max_link_frac: 0.2\n")
    recipe = Recipe.load(path)
    with pytest.raises(RecipeError, match=r"line 4: curation.link_density.max_link_frac: unknown key \(did you mean 'max_link_char_frac'\?\)"):
        recipe.validate("curation", recipe.data["curation"], wrapper)
    path.write_text("curation:\n  link_density: {enabled: true, max_link_char_frac: 1.5}\n")
    recipe = Recipe.load(path)
    with pytest.raises(RecipeError, match=r"curation.link_density.max_link_char_frac"):
        recipe.validate("curation", recipe.data["curation"], wrapper)


@pytest.mark.slow  # a whole curation run, twice (~6 s)
def test_the_example_in_a_curation_run_is_counted_and_cleared_by_force_filter(tmp_path, monkeypatch):
    docs = [("a", ZH_GOOD[0]), ("b", ZH_GOOD[1]), ("c", LINK_FARM), ("d", NAV_PAGE), ("e", ZH_GOOD[2])]
    (tmp_path / "zh.jsonl").write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in docs))
    recipe = {"workdir": "work", "sources": [{"kind": "mono", "name": "zh", "language": "zh", "input": {"path": "zh.jsonl"}}],
              "curation": {"heldout_fraction": 0.0, "workers": 1}, "dedup": {"enabled": False}}  # fmt: skip
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))

    # step 3 of the page: the step after the normaliser, and in EXCLUDING_STEPS in pipeline order
    build_pipeline = filter_stage.build_pipeline
    config = example.LinkDensitySection(enabled=True)

    def with_link_density(ctx, source):
        reader, normalizer, *rest = build_pipeline(ctx, source)
        return [reader, normalizer, ctx.excluding(example.LinkDensityFilter(config), source.name), *rest]

    reader, *steps = filter_stage.EXCLUDING_STEPS
    monkeypatch.setattr(filter_stage, "EXCLUDING_STEPS", (reader, example.LinkDensityFilter, *steps))
    monkeypatch.setattr(filter_stage, "build_pipeline", with_link_density)
    assert curation_main([str(tmp_path / "recipe.yaml")]) == 0
    work = tmp_path / "work"
    report = json.loads((work / "curated" / "_report.json").read_text())["sources"]["zh"]
    assert list(report["removed"])[0] == "link_density"
    assert report["removed"]["link_density"] == report["removed"]["link_density"] | {"docs": 2, "reasons": {"mostly_links": 2}}
    assert report["read"]["docs"] == 5 and report["kept"]["docs"] == 3 and report["balanced"]
    removed = [json.loads(line) for file in sorted((work / "excluded" / "zh" / "link_density").rglob("*.jsonl*"))
               for line in _lines(file)]  # fmt: skip
    assert sorted(d["id"].rsplit("/", 1)[-1] for d in removed) == ["c", "d"]

    # the step turned off (back to the stock pipeline): --force filter clears its folder and its row
    monkeypatch.setattr(filter_stage, "build_pipeline", build_pipeline)
    assert curation_main([str(tmp_path / "recipe.yaml"), "--force", "filter"]) == 0
    assert not (work / "excluded" / "zh" / "link_density").exists()
    report = json.loads((work / "curated" / "_report.json").read_text())["sources"]["zh"]
    assert "link_density" not in report["removed"] and report["balanced"]


def _lines(file: Path) -> list[str]:
    import gzip

    opener = gzip.open if file.suffix == ".gz" else open
    with opener(file, "rt", encoding="utf-8") as handle:
        return [line for line in handle if line.strip()]
