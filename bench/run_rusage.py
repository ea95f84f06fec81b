"""Wall time, CPU time and peak RSS of one `python -m curation.run ...` (issue 17's before/after of single stages).

    python bench/run_rusage.py LABEL RECIPE --workdir W --until dedup -q

runs `curation.run` with the arguments after LABEL in this process and prints one line `MEASURE {json}` to
stderr: wall and CPU seconds (this process and its workers), the peak RSS of this process (the driver; with
one worker the tasks run in it too) and of the largest worker process (getrusage's RUSAGE_CHILDREN: the
largest of the waited-for children, not their sum). To time one stage, copy a workdir in which the stages
before it finished and run with `--until STAGE`: the finished stages are skipped in well under a second.
"""

import json
import os
import resource
import runpy
import sys
import time
from pathlib import Path

# not bench/: its files would shadow the packages they are named after; BENCH_CHECKOUT measures another checkout
sys.path[0] = os.environ.get("BENCH_CHECKOUT") or str(Path(__file__).resolve().parents[1])

if __name__ == "__main__":  # spawned workers import this file again: only the parent runs the command
    label, sys.argv = sys.argv[1], ["curation.run", *sys.argv[2:]]
    start, code = time.perf_counter(), 0
    try:
        runpy.run_module("curation.run", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code or 0
    wall = time.perf_counter() - start
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print("MEASURE " + json.dumps({
        "label": label, "rc": code, "wall_s": round(wall, 1),
        "cpu_s": round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 1),
        "driver_peak_rss_mb": round(me.ru_maxrss / 1024), "largest_worker_peak_rss_mb": round(kids.ru_maxrss / 1024),
    }), file=sys.stderr)
    sys.exit(code)
