"""Compare two workdirs of the same recipe file by file, by content: did a change alter any result?

    python bench/compare_workdirs.py BEFORE AFTER [--written-at PATH] [--ignore KEY,KEY]

Parquet tables must be equal (schema and rows), JSON equal after dropping timings (`seconds`,
`tokens_per_s`, ...) and the workdir's own path, gzip files equal once decompressed (the header holds a
time stamp), everything else byte-identical. Logs, checkpoints, TensorBoard events, plots and the
recipes the demo writes (absolute paths) are not compared. Exit code 1 when anything differs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

SKIP = ("logs/", "stages/", "train_logs/", "checkpoints/", ".png", "demo_summary.json", "recipe.yaml", "merge.yaml",
        "/events.", ".lock")
TIMING = {"seconds", "elapsed", "elapsed_s", "wall_s", "time_s", "tokens_per_s", "duration_s"}


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not any(s in str(p.relative_to(root)) for s in SKIP)}


def without_timings(value, ignore: set[str]):
    if isinstance(value, dict):
        return {k: without_timings(v, ignore) for k, v in value.items() if k not in TIMING | ignore}
    if isinstance(value, list):
        return [without_timings(v, ignore) for v in value]
    return value


def same(a: Path, b: Path, ignore: set[str]) -> bool:
    name = a.name
    if name.endswith(".parquet"):
        return pq.read_table(a).equals(pq.read_table(b))
    if name.endswith(".gz"):
        return gzip.open(a).read() == gzip.open(b).read()
    if name.endswith((".json", ".md", ".txt", ".jsonl")):
        text_a, text_b = a.read_text(), b.read_text()
        if name.endswith(".json"):
            text_a = json.dumps(without_timings(json.loads(text_a), ignore), sort_keys=True)
            text_b = json.dumps(without_timings(json.loads(text_b), ignore), sort_keys=True)
        return normalised(text_a, 0) == normalised(text_b, 1)
    return a.read_bytes() == b.read_bytes()


def normalised(text: str, side: int) -> str:
    """The text with its workdir's path (and where it was written, if it was moved since) as WORKDIR."""
    for root in (ROOTS[side], *WRITTEN_AT[side:side + 1]):
        text = text.replace(str(root), "WORKDIR")
    return text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--written-at", type=Path, help="where BEFORE was written, when it was copied elsewhere since")
    parser.add_argument("--ignore", default="", help="JSON keys not to compare, e.g. a field added on purpose")
    args = parser.parse_args(argv)
    ROOTS[:] = [args.before.resolve(), args.after.resolve()]
    WRITTEN_AT[:] = [args.written_at.resolve()] if args.written_at else []
    ignore = {key for key in args.ignore.split(",") if key}
    before, after = files(ROOTS[0]), files(ROOTS[1])
    differ = sorted(f"only in {'BEFORE' if f in before else 'AFTER'}: {f}" for f in before ^ after)
    differ += [f"differs: {f}" for f in sorted(before & after) if not same(ROOTS[0] / f, ROOTS[1] / f, ignore)]
    print("\n".join(differ + [f"{len(before & after)} files compared, {len(differ)} differences"]))
    return 1 if differ else 0


ROOTS: list[Path] = []  # BEFORE, AFTER
WRITTEN_AT: list[Path] = []  # where BEFORE was written (--written-at)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
