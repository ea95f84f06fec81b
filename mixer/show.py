"""Print the rows of some steps of a manifest, or its summary.

    python -m mixer.show MANIFEST_DIR --steps 100:103 [--summary]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from mixer.manifest import Manifest, ManifestError
from mixer.plan import format_summary


def parse_steps(text: str, num_steps: int) -> range:
    """`100:103` -> steps 100, 101, 102; `7` -> step 7; `-1` -> the last step."""
    try:
        if ":" in text:
            start, _, stop = text.partition(":")
            begin = int(start) if start else 0
            end = int(stop) if stop else num_steps
        else:
            begin = int(text)
            end = begin + 1 if begin != -1 else num_steps
        begin = begin + num_steps if begin < 0 else begin
        end = end + num_steps if end < 0 else end
    except ValueError:
        raise ManifestError(f"--steps: expected START:STOP or a step number, got {text!r}") from None
    if not 0 <= begin <= end <= num_steps:
        raise ManifestError(f"--steps {text}: outside [0, {num_steps})")
    return range(begin, end)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mixer.show", description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, help="manifest folder (e.g. work/demo/manifest)")
    parser.add_argument("--steps", default="0:1", help="START:STOP (half-open) or one step; default 0:1")
    parser.add_argument("--summary", action="store_true", help="print the plan's summary table too")
    args = parser.parse_args(argv)
    try:
        manifest = Manifest.open(args.manifest)
        steps = parse_steps(args.steps, manifest.num_steps)
        rows = manifest.steps(steps.start, steps.stop)
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.summary:
        print(format_summary(manifest.plan))
    with pl.Config(tbl_rows=max(rows.height, 10), tbl_hide_dataframe_shape=False):
        print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
