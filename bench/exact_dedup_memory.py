"""Peak RSS of exact dedup's driver and tasks as the corpus grows (issue 17: no pass over all documents in
the driver).

    python bench/exact_dedup_memory.py --prepare DIR --docs 400000     # 3 sources x 4 files, 25% copies
    python bench/exact_dedup_memory.py --run DIR --tasks 2              # prints one MEASURE line

`--run` runs the dedup stage (exact only, near dedup off) on the prepared documents with `--tasks` tasks and
as many worker processes, in a fresh workdir, and reports wall and CPU seconds, the driver's peak RSS and the
largest worker's (getrusage). Run it with PYTHONPATH at the checkout to measure (e.g. a `git archive` of an
older commit for "before").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path

# not bench/: its files would shadow the packages they are named after; BENCH_CHECKOUT measures another checkout
sys.path[0] = os.environ.get("BENCH_CHECKOUT") or str(Path(__file__).resolve().parents[1])

SOURCES = ("a", "b", "c")
FILES = 4


def prepare(root: Path, docs: int) -> None:
    from datatrove.data import Document

    from curation.io import documents_writer

    rng = random.Random(0)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    pool: list[str] = []
    per_source = docs // len(SOURCES)
    for name in SOURCES:
        writers = [documents_writer(root / "in" / name) for _ in range(FILES)]
        for i in range(per_source):
            if pool and rng.random() < 0.25:
                text = rng.choice(pool)  # a copy, in this source or another
            else:
                text = "".join(rng.choices(chars, k=200))
                if len(pool) < 50_000:
                    pool.append(text)
            writers[i % FILES].write(Document(text=text, id=f"{name}/{i:08d}", metadata={"kind": "mono"}), i % FILES)
        for writer in writers:
            writer.close()


def run(root: Path, tasks: int) -> None:
    import curation.dedup as dedup
    from tests.curation_helpers import recipe_with, source, stage_context

    work = root / f"work-{tasks}"
    shutil.rmtree(work, ignore_errors=True)
    recipe = recipe_with(root, *(source(name, "mono", "zh") for name in SOURCES), workdir=work.name,
                         dedup={"tasks": tasks, "near": {"enabled": False}})
    ctx = stage_context(recipe)
    ctx.workers = tasks
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    out = dedup.run(ctx, {name: root / "in" / name for name in SOURCES})
    wall = time.perf_counter() - start
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    from common.documents import iter_excluded
    from curation.stages import count_documents

    kept = sum(count_documents(folder) for folder in out.values())
    removed = sum(1 for name in SOURCES for _ in iter_excluded(ctx.excluded_dir(name, "exact_dedup")))
    print("MEASURE " + json.dumps({
        "tasks": tasks, "kept": kept, "excluded": removed, "wall_s": round(wall, 1),
        "cpu_s": round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 1),
        "driver_rss_before_mb": round(before / 1024), "driver_peak_rss_mb": round(me.ru_maxrss / 1024),
        "largest_worker_peak_rss_mb": round(kids.ru_maxrss / 1024),
    }), file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", type=Path)
    parser.add_argument("--run", type=Path)
    parser.add_argument("--docs", type=int, default=400_000)
    parser.add_argument("--tasks", type=int, default=2)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.docs)
    if args.run:
        run(args.run, args.tasks)
