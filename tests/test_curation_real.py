"""The filter stage on the labelled real-text set (docs/real_text.md): the goals of docs/curation_stages.md
("`filter`") hold with the default settings. The same measurement, per rule and with other commits'
rules side by side, is `bench/curation_real.py`."""

from __future__ import annotations

import json

import pytest

import realtext
from common.documents import iter_documents, iter_excluded
from curation import filter_stage
from tests.curation_helpers import recipe_with, stage_context

# labelled set -> (source kind, language) of the sources it becomes
SOURCES = {"zh_docs": ("mono", "zh"), "en_docs": ("mono", "en"), "pairs": ("parallel", None),
           "instruct_zh": ("instruct", "zh"), "instruct_en": ("instruct", "en")}


@pytest.fixture(scope="module")
def outcomes(labelled, tmp_path_factory):
    """Per source: the labelled items and, per item id, "kept" or the excluded/ step that removed it."""
    root = tmp_path_factory.mktemp("curation_real")
    items = {name: labelled(name.split("_")[0] if name.startswith("instruct") else name) for name in SOURCES}
    sources = []
    for name, (kind, language) in SOURCES.items():
        chosen = [it for it in items[name] if kind != "instruct" or it["language"] == language]
        items[name] = chosen
        with (root / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(realtext.record(it, kind), ensure_ascii=False) + "\n" for it in chosen)
        sources.append({"kind": kind, "name": name, "input": {"path": f"{name}.jsonl"}}
                       | ({"language": language} if language else {}))
    ctx = stage_context(recipe_with(root, *sources, curation={"workers": 1}))
    filter_stage.run(ctx)
    result = {}
    for name in SOURCES:
        fate = {d["id"].removeprefix(f"{name}/"): "kept" for d in iter_documents(ctx.stage_dir("filter", name))}
        excluded = ctx.workdir / "excluded" / name
        for step in excluded.iterdir() if excluded.exists() else []:
            fate |= {d["id"].removeprefix(f"{name}/"): step.name for d in iter_excluded(step)}
        result[name] = (items[name], fate)
    return result


@pytest.mark.parametrize("sets", [("zh_docs",), ("en_docs",), ("pairs",), ("instruct_zh", "instruct_en")])
def test_good_items_are_kept_and_removals_are_junk(outcomes, sets):
    items = [it for name in sets for it in outcomes[name][0]]
    fate = {k: v for name in sets for k, v in outcomes[name][1].items()}
    assert all(it["id"] in fate for it in items), "an item was neither kept nor excluded"
    good = [it for it in items if it["label"] == "good"]
    removed = [it for it in items if fate[it["id"]] != "kept"]
    kept_good = sum(fate[it["id"]] == "kept" for it in good)
    assert len(good) >= 90
    assert kept_good >= 0.95 * len(good), [(it["id"], fate[it["id"]]) for it in good if fate[it["id"]] != "kept"]
    assert sum(it["label"] == "junk" for it in removed) >= 0.9 * len(removed)
