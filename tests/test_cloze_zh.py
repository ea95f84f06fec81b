"""bench/cloze_zh.py: Chinese cloze items built from real held-out text (the labelled real-text set's good
Chinese documents stand in for a held-out folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from common.documents import DOCUMENT_SCHEMA

ROOT = Path(__file__).resolve().parent.parent


def test_cloze_items_are_well_formed_and_reproducible(labelled, tmp_path):
    docs = [item for item in labelled("zh_docs") if item["label"] == "good"][:60]
    heldout = tmp_path / "work" / "heldout" / "zh_docs"
    heldout.mkdir(parents=True)
    table = pa.Table.from_pylist([{"id": d["id"], "text": d["text"], "metadata": "{}"} for d in docs], schema=DOCUMENT_SCHEMA)
    pq.write_table(table, heldout / "00000.parquet")
    outs = []
    for name in ("a.jsonl", "b.jsonl"):
        proc = subprocess.run([sys.executable, "bench/cloze_zh.py", str(tmp_path / "work"), "--items", "50",
                               "--out", str(tmp_path / name)], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        outs.append((tmp_path / name).read_text(encoding="utf-8"))
    assert outs[0] == outs[1]  # same held-out text and seed: the same items
    items = [json.loads(line) for line in outs[0].splitlines()]
    assert len(items) == 50
    texts = {d["id"]: d["text"] for d in docs}
    for item in items:
        options, answer = item["options"], item["options"][item["answer"]]
        assert len(options) == 4 == len(set(options)) and all(len(o) == 2 for o in options)
        assert answer == item["answer_text"] and item["sentence"].count("____") == 1
        filled = item["sentence"].replace("____", answer)
        assert filled in texts[item["id"].rsplit("#", 1)[0]]  # the blank restores a real held-out sentence
        assert not any(o in item["sentence"] or set(o) & set(answer) for o in options if o != answer)


def test_missing_heldout_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "bench/cloze_zh.py", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
