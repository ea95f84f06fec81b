"""`python -m curation.run RECIPE`: filter, deduplicate, decontaminate, publish and tokenize every source.

Stages run in order, each reading the previous one's output (docs/formats.md). Finished datatrove
tasks are recorded under `logs/` and skipped when the command is run again, so a killed run continues
where it stopped. `--force STAGE` recomputes that stage and every stage after it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType

from rich.console import Console

from common.recipe import Recipe, RecipeError
from common.sources import load_sources
from common.tokens import ShardError
from curation._logging import quiet_datatrove
from curation.config import load_curation
from curation.readers import BadInputError
from curation.report import build_report, print_report, write_report
from curation.stages import StageContext, StageError, Submitted, excluded_names, stages

DEFAULT_RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "demo.yaml"


def validate_recipe(ctx: StageContext) -> None:
    """Before the first stage runs, so that a typo in `tokenize` is reported at once, not after hours of
    filtering: every stage's `validate(ctx)` (its recipe section, and e.g. that the evaluation files
    parse), with the recipe problems of all sections reported together."""
    problems: list[str] = []
    for stage in stages():
        if hasattr(stage, "validate"):
            try:
                stage.validate(ctx)
            except RecipeError as err:
                problems += err.problems
    if problems:
        raise RecipeError(problems, ctx.recipe.path)


# Logs and CI are not terminals: give the funnel table room instead of Rich's 80-column default.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _clear(ctx: StageContext, stage: ModuleType) -> None:
    """What `--force STAGE` drops before the stage runs again: its logs (so that every task reruns), outputs
    and scratch, and the excluded/ folder of every step it has, also of steps the recipe no longer enables."""
    name = stage.STAGE
    for folder in (ctx.workdir / "logs" / name, ctx.workdir / "stages" / f"{name}.work"):
        shutil.rmtree(folder, ignore_errors=True)
    for source in ctx.sources:
        shutil.rmtree(ctx.stage_dir(name, source.name), ignore_errors=True)
        for step in excluded_names(stage):
            shutil.rmtree(ctx.excluded_dir(source.name, step), ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    modules = stages()
    names = [stage.STAGE for stage in modules]
    parser = argparse.ArgumentParser(prog="python -m curation.run", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", default=str(DEFAULT_RECIPE), help="recipe YAML (default: recipes/demo.yaml)")
    parser.add_argument("--executor", choices=["local", "ray", "slurm"], help="override curation.executor")
    parser.add_argument("--workers", type=int, help="local processes (default: curation.workers)")
    parser.add_argument("--workdir", help="override the recipe's workdir")
    parser.add_argument("--until", choices=names, help="stop after this stage")
    parser.add_argument("--force", choices=names, help="recompute this stage and all after it")
    parser.add_argument("--verbose", action="store_true", help="show datatrove's INFO logs")
    args = parser.parse_args(argv)

    try:
        recipe = Recipe.load(args.recipe)
        if args.workdir:
            recipe.data["workdir"] = str(Path(args.workdir).resolve())
        config = load_curation(recipe)
        sources = load_sources(recipe)
    except RecipeError as err:
        console.print(f"error: {err}", style="red", markup=False, soft_wrap=True)  # one line, whatever its length
        return 2
    if not args.verbose:
        os.environ["CURATION_QUIET"] = "1"
        quiet_datatrove()
    ctx = StageContext(
        recipe=recipe,
        workdir=recipe.workdir,
        sources=sources,
        config=config,
        executor_kind=args.executor or config.executor,
        workers=args.workers if args.workers is not None else config.workers,
        force=set(names[names.index(args.force) :]) if args.force else set(),
    )
    console.print(f"curation: recipe {recipe.path} -> {ctx.workdir} ({len(sources)} sources, {ctx.executor_kind} executor)")
    if ctx.executor_kind == "ray":  # one Ray instance for every stage; RAY_ADDRESS selects a cluster
        import ray

        ray.init(ignore_reinit_error=True, log_to_driver=args.verbose)
    inputs: dict[str, Path] = {}
    started = time.time()
    try:
        validate_recipe(ctx)
        for module in modules:
            stage = module.STAGE
            if hasattr(module, "enabled") and not module.enabled(ctx):
                console.print(f"[dim]{stage:>13}: disabled in the recipe[/dim]")
                continue
            if stage in ctx.force:
                _clear(ctx, module)
            t0 = time.time()
            with console.status(f"{stage}: running ...") as status:
                ctx.on_progress = lambda message, status=status: status.update(message)
                inputs = module.run(ctx, inputs)
            if ctx.submitted:
                raise Submitted(
                    f"{stage}: submitted Slurm jobs {', '.join(ctx.submitted)}. When they have finished, run the same "
                    "command again: finished tasks are skipped and the next stage starts."
                )
            console.print(f"{stage:>13}: done in {time.time() - t0:.1f}s")
            if args.until == stage:
                break
    except Submitted as submitted:
        console.print(str(submitted))
        return 0
    except (BadInputError, StageError, RecipeError, ShardError) as err:
        console.print(f"error: {err}", style="red", markup=False, soft_wrap=True)  # one line, whatever its length
        return 2
    published = all(ctx.is_complete("publish", s.name, 1) for s in ctx.sources)
    report = build_report(ctx, complete=published)
    path = write_report(ctx, report)
    print_report(report, console)
    unbalanced = [name for name, src in report["sources"].items() if src["balanced"] is False]
    console.print(f"report: {path} (+ {path.with_suffix('.png').name}); curated: {ctx.workdir / 'curated'}; "
                  f"excluded: {ctx.workdir / 'excluded'}; {time.time() - started:.1f}s")
    if unbalanced:
        console.print(f"error: documents unaccounted for in {', '.join(unbalanced)}", style="red")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
