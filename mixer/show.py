"""Print the rows of some steps of a manifest, or its summary.

    python -m mixer.show [RECIPE] [--manifest DIR] [--steps 100:103] [--summary] [--workdir DIR] [-v | -q]

Reads `WORKDIR/manifest` of the recipe (the demo's by default), or `--manifest DIR`; a manifest folder
given in place of the recipe (`python -m mixer.show work/demo/manifest`, the old form) still works.
Steps are numbered from 0, as the trainer numbers them in its console and `metrics.jsonl`: step s is the
global batch of the trainer's step s (`checkpoints/step-N` is the state after steps 0 .. N-1).
With a recipe, a manifest planned from other settings or token shards than the recipe's is shown with a
`warning:` line saying so (the trainer refuses it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import add_common, run_main, verbosity

PROG = "python -m mixer.show"


class ShowError(Exception):
    """A mistake in the input (a damaged manifest, a bad --steps): one `error:` line, exit 2."""


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
        raise ShowError(f"--steps: expected START:STOP or a step number, got {text!r}") from None
    if not 0 <= begin <= end <= num_steps:
        raise ShowError(f"--steps {text}: outside the manifest's steps 0 .. {num_steps - 1}")
    return range(begin, end)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_common(parser, recipe="demo", output=None, fresh=None, dry_run=None)
    for action in parser._actions:
        if action.dest == "recipe":
            action.help = "recipe YAML (default: recipes/demo.yaml), or a manifest folder (the older form)"
    parser.add_argument("--manifest", metavar="DIR", help="manifest folder (default: WORKDIR/manifest of the recipe)")
    parser.add_argument("--steps", default="0:1", help="START:STOP (half-open, from 0) or one step; default 0:1")
    parser.add_argument("--summary", action="store_true", help="print the plan's summary table too")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_main(lambda: show(args), prog=PROG, user_errors=(ShowError,), interrupted="")


def show(args: argparse.Namespace) -> int:
    import polars as pl

    from common.recipe import Recipe, RecipeError
    from mixer.manifest import Manifest, ManifestError, check_recipe
    from mixer.planning import format_summary

    try:
        recipe = None
        folder = Path(args.manifest) if args.manifest else None
        if folder is None and Path(args.recipe).is_dir():  # the old form: a manifest folder in place of the recipe
            folder = Path(args.recipe)
        else:
            recipe = Recipe.load(args.recipe)
            if args.workdir:
                recipe.data["workdir"] = str(Path(args.workdir).expanduser().resolve())
            folder = folder or recipe.workdir / "manifest"
        manifest = Manifest.open(folder)
        steps = parse_steps(args.steps, manifest.num_steps)
        rows = manifest.steps(steps.start, steps.stop)
    except (RecipeError, ManifestError) as err:
        raise ShowError(str(err)) from None
    if recipe is not None:
        try:
            check_recipe(manifest, recipe)
        except ManifestError as err:
            print(f"warning: {err}", file=sys.stderr)
    if args.summary:
        print(format_summary(manifest.plan))
    with pl.Config(tbl_rows=max(rows.height, 10), tbl_hide_dataframe_shape=verbosity(args) < 0):
        print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
