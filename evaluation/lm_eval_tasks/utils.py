"""Loader for lm-evaluation-harness tasks over local C-Eval / CMMLU / MMLU folders (see docs/evaluation.md).

Self-contained (runs inside lm_eval's own environment, which does not have this project installed):
reads every subject file of `dev/` and of the scored split into a DatasetDict of text columns
`subject, question, A, B, C, D, answer`, so option text such as numbers is never re-typed.
"""

import csv
from pathlib import Path

import datasets

COLUMNS = ("question", "A", "B", "C", "D", "answer")


def _rows(file: Path, fmt: str, subject: str) -> list[dict]:
    with file.open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.reader(f))
    if fmt == "mmlu":
        header, body = list(COLUMNS), records
    else:
        header, body = [h.strip().lower() for h in records[0]], records[1:]
    rows = []
    for record in body:
        row = dict(zip(header, record, strict=True))
        rows.append({"subject": subject, **{c: row.get(c, "") for c in COLUMNS}})
    return rows


def load(format: str, path: str, split: str, **_) -> datasets.DatasetDict:
    """{"dev": ..., split: ...} for a benchmark folder in its distribution layout."""
    root = Path(path)
    out = {}
    for name in ("dev", split):
        rows = []
        for file in sorted((root / name).glob("*.csv")):
            subject = file.stem if format == "cmmlu" else file.stem.rsplit("_", 1)[0]
            rows += _rows(file, format, subject)
        out[name] = datasets.Dataset.from_list(rows)
    return datasets.DatasetDict(out)
