"""Curation inputs a user gets wrong: a CSV with rows in another encoding, sources left with no documents.

The empty-source cases run the real `python -m curation.run` in a subprocess (exit code, no traceback, the
funnel printed) and check the files it wrote: kept + excluded = read for every source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common.documents import iter_documents, iter_excluded
from common.recipe import Recipe
from common.sources import load_sources
from curation.readers import SourceReader
from curation.run import main as curation_main
from tests.curation_samples import ZH_GOOD, ZH_SPAM

ROOT = Path(__file__).resolve().parent.parent
# filters that would judge the text itself are off: these tests are about reading
READ_ONLY = {"heldout_fraction": 0.0, "workers": 1, "language_id": {"enabled": False}, "quality_zh": {"enabled": False}}


def write_recipe(root: Path, sources: list[dict], curation: dict | None = None, **sections) -> Path:
    recipe = {"workdir": "work", "sources": sources, "curation": {**READ_ONLY, **(curation or {})},
              "dedup": {"enabled": False}, **sections}
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return path


def curate(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "curation.run", str(recipe), *args], cwd=recipe.parent, env=env,
                          capture_output=True, text=True, timeout=300)


# -- point 4: a CSV with rows in another encoding --------------------------------------------------------------

GBK_CSV_LINES = [  # the lines of the file: rows 3, 5 and 8 were saved as GBK, row 6 spans two lines
    b"text,url",
    "今天天气很好，我们去公园散步吧。,https://a/1".encode(),
    "这本书一共有三百页，我花了两天读完。".encode("gbk") + b",https://a/2",
    "他在上海工作了很多年，非常喜欢这座城市。,https://a/3".encode(),
    "我们明天早上八点在学校门口集合。".encode("gbk") + b",https://a/4",
    "\"第一行，\n第二行\",https://a/5".encode(),
    "坏的编码".encode("gbk") + b",https://a/6",
    "最后一行是好的。,https://a/7".encode(),
]


def test_every_csv_row_in_another_encoding_is_set_aside_and_ids_name_their_lines(tmp_path):
    (tmp_path / "in.csv").write_bytes(b"\n".join(GBK_CSV_LINES) + b"\n")
    recipe = write_recipe(tmp_path, [{"kind": "mono", "name": "c", "language": "zh", "input": {"path": "in.csv"}}])
    assert curation_main([str(recipe)]) == 0
    work = tmp_path / "work"
    bad = list(iter_excluded(work / "excluded" / "c" / "read"))
    assert sorted(d["metadata"]["line"] for d in bad) == [3, 5, 8]
    assert {d["metadata"]["filter_reason"] for d in bad} == {"invalid_utf8"}
    assert sorted(d["id"] for d in bad) == ["c/in.csv/3", "c/in.csv/5", "c/in.csv/8"]
    kept = {d["id"]: d for d in iter_documents(work / "curated" / "c")}
    # each id names the line its row starts on; no two records share one
    assert sorted(kept) == ["c/in.csv/2", "c/in.csv/4", "c/in.csv/6", "c/in.csv/9"]
    assert kept["c/in.csv/4"]["metadata"]["url"] == "https://a/3"
    assert kept["c/in.csv/6"]["text"] == "第一行，\n第二行" and kept["c/in.csv/9"]["metadata"]["url"] == "https://a/7"
    assert not any("\ufffd" in d["text"] for d in kept.values())
    report = json.loads((work / "curated" / "_report.json").read_text())["sources"]["c"]
    assert report["read"]["docs"] == 7 and report["removed"]["read"]["reasons"] == {"invalid_utf8": 3}
    assert report["kept"]["docs"] == 4 and report["balanced"]


def test_a_csv_row_in_another_encoding_under_bad_records_error_names_its_line(tmp_path, capsys):
    (tmp_path / "in.csv").write_bytes(b"\n".join(GBK_CSV_LINES) + b"\n")
    recipe = write_recipe(tmp_path, [{"kind": "mono", "name": "c", "language": "zh", "input": {"path": "in.csv"}}],
                          {"bad_records": "error"})
    assert curation_main([str(recipe)]) == 2
    assert "in.csv:3: invalid_utf8" in capsys.readouterr().err.replace("\n", "")
    # the file converted: no task had finished, so the changed input is simply read (no --force needed)
    converted = [line.decode("gbk") if n in (2, 4, 6) else line.decode() for n, line in enumerate(GBK_CSV_LINES)]
    (tmp_path / "in.csv").write_text("\n".join(converted) + "\n", encoding="utf-8")
    assert curation_main([str(recipe)]) == 0, capsys.readouterr().err
    assert not (tmp_path / "work" / "excluded" / "c" / "read").exists()


def test_tsv_rows_in_another_encoding_with_windows_line_ends_keep_their_line_numbers(tmp_path):
    lines = [b"zh\ten", "你好。\tHello.".encode(), "再见。".encode("gbk") + b"\tBye.", b"", "谢谢。\tThanks.".encode(),
             "對不起。".encode("big5") + b"\tSorry.", "好的。\tOK.".encode()]
    (tmp_path / "pairs.tsv").write_bytes(b"\r\n".join(lines) + b"\r\n")
    recipe = Recipe.from_dict({"sources": [{"kind": "parallel", "name": "p", "input": {"path": "pairs.tsv"}}]}, root=tmp_path)
    records = list(SourceReader(load_sources(recipe)[0])._records(0, 1))
    assert [(line, error.split(":")[0] if error else None) for _, line, _, error in records] == [
        (2, None), (3, "invalid_utf8"), (5, None), (6, "invalid_utf8"), (7, None)]
    assert records[4][2] == {"zh": "好的。", "en": "OK."}


# -- point 8: sources left with no documents ---------------------------------------------------------------------

def write_empty_sources(root: Path) -> tuple[list[dict], dict[str, int]]:
    """A good source and four that end with no documents; returns the sources and how many records each has."""
    good = [json.dumps({"text": t}, ensure_ascii=False) for t in ZH_GOOD]
    (root / "good.jsonl").write_text("\n".join(good) + "\n", encoding="utf-8")
    (root / "zero.jsonl").write_bytes(b"")
    (root / "binary.jsonl").write_bytes(bytes(range(256)) * 4)  # 4 "lines" (0x0a ends one), none UTF-8 JSON
    (root / "field.jsonl").write_text("\n".join(json.dumps({"body": t}, ensure_ascii=False) for t in ZH_GOOD) + "\n",
                                      encoding="utf-8")
    (root / "spam.jsonl").write_text("\n".join(json.dumps({"text": ZH_SPAM + str(i)}, ensure_ascii=False)
                                               for i in range(3)) + "\n", encoding="utf-8")

    def mono(name: str) -> dict:
        return {"kind": "mono", "name": name, "language": "zh", "input": {"path": f"{name}.jsonl"}}

    sources = [mono("good"), mono("zero"), mono("binary"), mono("field"), mono("spam")]
    return sources, {"good": len(good), "zero": 1, "binary": 5, "field": len(ZH_GOOD), "spam": 3}


@pytest.mark.slow
def test_sources_left_with_no_documents_are_reported_and_skipped(tmp_path):
    sources, records = write_empty_sources(tmp_path)
    # everything filtered: the spam source meets the quality filter; dedup runs over what is left
    recipe = write_recipe(tmp_path, sources, {"quality_zh": {"enabled": True}}, dedup={"enabled": True})
    result = curate(recipe)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output and "Curation funnel" in output
    for name, why in [("zero", "the input file is empty"), ("binary", "read/invalid_utf8 4"),
                      ("field", "read/missing_field 4 (no field 'text' (fields: body))"), ("spam", "quality_zh/")]:
        line = next(line for line in output.splitlines() if f"filter / {name}: no documents left" in line)
        assert why in line, line
    work = tmp_path / "work"
    report = json.loads((work / "curated" / "_report.json").read_text())
    assert report["complete"]
    for name, n_records in records.items():
        entry = report["sources"][name]
        kept = list(iter_documents(work / "curated" / name)) if (work / "curated" / name).is_dir() else []
        excluded = [d for step in (work / "excluded" / name).glob("*") for d in iter_excluded(step)]
        assert entry["read"]["docs"] == n_records == len(kept) + len(excluded), name
        assert entry["balanced"] and entry["kept"]["docs"] == len(kept), name
        assert (name == "good") == bool(kept) and (name == "good") != ("empty" in entry), name
    assert report["sources"]["good"]["kept"]["docs"] == len(ZH_GOOD)  # the other sources are curated as always
    assert not (work / "stages" / "dedup" / "zero").exists(), "the later stages skip an empty source"
    # a rerun resumes: nothing to do, the same report
    again = curate(recipe)
    assert again.returncode == 0 and "Traceback" not in again.stderr
    assert json.loads((work / "curated" / "_report.json").read_text()) == report


def test_empty_source_error_stops_with_one_line_naming_the_source(tmp_path):
    sources, _ = write_empty_sources(tmp_path)
    recipe = write_recipe(tmp_path, [sources[0], sources[3]], {"empty_source": "error"})
    result = curate(recipe)
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in output
    [line] = [line for line in output.splitlines() if line.startswith("error:")]
    assert "filter / field: no documents left" in line and "no field 'text'" in line
    assert "curation.empty_source: skip" in line
