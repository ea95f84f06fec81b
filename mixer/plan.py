"""Plan a manifest: turn the recipe's mixture schedule into exact per-step sample counts.

    python -m mixer.plan [RECIPE] [--schedule NAME] [--counts en_web=2M,zh_web=1.5M] [--output DIR]
                         [--workdir DIR] [--dry-run] [-v | -q] [--version]

Reads how many sequences each source has (`WORKDIR/tokens/<source>/meta.json`, or `--counts` for
what-if planning) and the recipe's `mixture:` section; writes `WORKDIR/manifest/` (or `--output`) and
prints the summary. Same inputs give a byte-identical manifest. Planning always starts over (it takes a
second), so there is no `--fresh`: the new manifest replaces the old one whole, only once it is complete.

This module is the command: it parses its arguments before importing anything heavy (so `--help` is
instant); the planning itself is `mixer.planning`, whose names are also reachable from here
(`mixer.plan.plan_from_recipe`, `mixer.plan.write_manifest`, ...) for code written against them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import add_common, run_main, verbosity

PROG = "python -m mixer.plan"


class PlanError(Exception):
    """A mistake in the input (recipe, --counts, token shards): printed as one `error:` line, exit 2."""


def __getattr__(name: str):
    """`mixer.plan.X` is `mixer.planning.X` (imported on first use, not for `--help`)."""
    if name.startswith("__"):
        raise AttributeError(name)
    from mixer import planning

    try:
        return getattr(planning, name)
    except AttributeError:
        raise AttributeError(f"module 'mixer.plan' has no attribute {name!r}") from None


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_common(parser, recipe="demo", output="manifest folder to write (default: WORKDIR/manifest)", fresh=None,
               dry_run="plan and print the summary, write nothing")
    parser.add_argument("--schedule", help="replace the recipe's curve, keeping its mixtures (e.g. cosine, constant)")
    parser.add_argument("--counts", help="what-if sizes instead of meta.json: en_web=2000000,zh_web=1.5M")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_main(lambda: plan_command(args), prog=PROG, user_errors=(PlanError,),
                    interrupted="while planning (nothing was written: a manifest is replaced only when complete)")


def plan_command(args: argparse.Namespace) -> int:
    from common.recipe import Recipe, RecipeError
    from common.tokens import ShardError
    from mixer.manifest import ManifestError
    from mixer.planning import format_summary, parse_counts, plan_from_recipe, write_manifest
    from mixer.units import MixerError

    level = verbosity(args)
    try:
        recipe = Recipe.load(args.recipe)
        if args.workdir:
            recipe.data["workdir"] = str(Path(args.workdir).expanduser().resolve())
        counts = parse_counts(args.counts) if args.counts else None
        result = plan_from_recipe(recipe, schedule_name=args.schedule, counts=counts)
        out = None
        if not args.dry_run:
            out = write_manifest(result, Path(args.output).expanduser() if args.output else recipe.workdir / "manifest")
    except (RecipeError, MixerError, ShardError, ManifestError) as err:
        raise PlanError(str(err)) from None
    if level >= 1:  # -v: where each size came from
        tokens = recipe.workdir / "tokens"
        for source in result.plan["sources"]:
            where = (f"{tokens / source['name'] / 'meta.json'} (shard {source['shard_fingerprint'][:16]})"
                     if source["shard_fingerprint"] else "--counts")
            print(f"{source['name']}: {source['n_sequences']:,} sequences, from {where}")
    if level >= 0:
        print(format_summary(result.plan))
    print("dry run: nothing written" if out is None else f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
