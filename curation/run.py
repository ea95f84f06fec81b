"""`python -m curation.run [RECIPE]`: filter, deduplicate, decontaminate, publish and tokenize every source.

Stages run in order, each reading the previous one's output (docs/formats.md). Finished datatrove
tasks are recorded under `logs/` and skipped when the command is run again, so a killed or interrupted
run continues where it stopped. `--force STAGE` recomputes that stage and every stage after it;
`--fresh` deletes the workdir's curation outputs first (only those: see OUTPUTS); `--dry-run` says per
stage and source what would run, read and be written, with a time estimate, and writes nothing.

One curation run per workdir at a time (`WORKDIR/.curation.lock`). While a stage runs, the status line
shows the documents and MB done, the rate and the time left (curation/progress.py); datatrove's own
INFO logs only with `-v`. Endings (common/cli.py): 0 done, 1 finished with documents unaccounted for,
2 a mistake in the recipe or an input (one `error:` line), 130 interrupted (one line; a rerun resumes).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from common.cli import WorkdirLock, add_common, one_line, quiet_libraries, run_main, verbosity

# The stages in the order they run: their modules' STAGE (curation.stages.STAGE_MODULES; a test checks that
# the two agree), spelled out so that `--help` imports no stage (and so no datatrove).
STAGE_NAMES = ("filter", "dedup", "decontaminate", "publish", "vocab", "tokenize")
# What curation writes under the workdir: what --fresh deletes, nothing else (checkpoints/, eval/, ... stay).
OUTPUTS = ("stages", "excluded", "curated", "heldout", "tokens", "tokenizer", "logs")
CHAIN_LOGS = "chain"  # logs/chain/<stage>/: a stage run as one job of the Slurm chain (curation.stages.CHAIN_LOGS)
CHAIN_FILE = "slurm_chain.json"  # logs/slurm_chain.json: the jobs of the chain last submitted (--status)
MB = 1_000_000


class UserError(Exception):
    """A mistake in the recipe, an input or the command line: one `error:` line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m curation.run", description=__doc__.splitlines()[0])
    add_common(
        parser,
        output=None,
        fresh=f"delete the workdir's curation outputs first ({', '.join(name + '/' for name in OUTPUTS)}); "
              "other commands' outputs stay",
        dry_run="say per stage and source the tasks, the input files and sizes, the outputs and an estimate "
                "of the time, without running or writing anything",
    )
    parser.add_argument("--executor", choices=["local", "ray", "slurm"], help="override curation.executor")
    parser.add_argument("--workers", type=int, help="local processes (default: curation.workers)")
    parser.add_argument("--until", choices=STAGE_NAMES, metavar="STAGE",
                        help=f"stop after this stage ({', '.join(STAGE_NAMES)})")
    parser.add_argument("--force", choices=STAGE_NAMES, metavar="STAGE",
                        help="recompute this stage and all after it")
    parser.add_argument("--status", action="store_true",
                        help="show the Slurm chain submitted for this recipe: each stage's jobs, their state and "
                             "the tasks finished")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = CurationRun(args)
    return run_main(run.main, prog="curation.run", user_errors=(UserError,), interrupted=run.interrupted)


def validate_recipe(ctx) -> None:
    """Before the first stage runs, so that a typo in `tokenize` is reported at once, not after hours of
    filtering: every stage's `validate(ctx)` (its recipe section, and e.g. that the evaluation files
    parse), with the recipe problems of all sections reported together."""
    from common.recipe import RecipeError
    from curation.stages import stages

    problems: list[str] = []
    for stage in stages():
        if hasattr(stage, "validate"):
            try:
                stage.validate(ctx)
            except RecipeError as err:
                problems += err.problems
    if problems:
        raise RecipeError(problems, ctx.recipe.path)


def _clear(ctx, stage) -> None:
    """What `--force STAGE` drops before the stage runs again: its logs (so that every task reruns), outputs
    and scratch, and the excluded/ folder of every step it has, also of steps the recipe no longer enables."""
    from curation.stages import excluded_names

    name = stage.STAGE
    for folder in (ctx.workdir / "logs" / name, ctx.workdir / "stages" / f"{name}.work",
                   ctx.workdir / "logs" / CHAIN_LOGS / name):
        shutil.rmtree(folder, ignore_errors=True)
    for source in ctx.sources:
        shutil.rmtree(ctx.stage_dir(name, source.name), ignore_errors=True)
        for step in excluded_names(stage):
            shutil.rmtree(ctx.excluded_dir(source.name, step), ignore_errors=True)


def fresh(workdir: Path) -> list[str]:
    """Delete the curation outputs in `workdir` (OUTPUTS); returns the names deleted."""
    gone = []
    for name in OUTPUTS:
        path = workdir / name
        if path.is_dir():
            shutil.rmtree(path)
            gone.append(name + "/")
        elif path.exists():
            path.unlink()
            gone.append(name)
    return gone


class Poller:
    """Shows the running pipeline's progress (ctx.running) on the status line, twice a second."""

    def __init__(self, ctx, status):
        self.ctx, self.status = ctx, status
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="curation-progress", daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(0.5):
            running = self.ctx.running
            if running is not None:
                with contextlib.suppress(Exception):  # a progress line is never worth a failed run
                    self.status.update(running.line())

    def __enter__(self) -> Poller:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=2)


class CurationRun:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.level = verbosity(args)
        self.ctx = None
        self.stage = ""  # the stage running now, for the line when interrupted

    def interrupted(self) -> str:
        if not self.stage:
            return "before any stage ran"
        current = self.ctx.current if self.ctx is not None else ""
        where = current if current.startswith(f"{self.stage} /") else self.stage
        return f"during {where} (finished tasks are kept)"

    def main(self) -> int:
        from common.recipe import RecipeError
        from common.tokens import ShardError
        from curation.readers import BadInputError
        from curation.stages import StageError

        try:
            return self._main()
        except (RecipeError, BadInputError, StageError, ShardError) as err:
            raise UserError(one_line(err)) from None

    def _main(self) -> int:
        args = self.args
        from rich.console import Console

        from common.recipe import Recipe
        from common.sources import load_sources
        from curation._logging import quiet_datatrove, quiet_workers
        from curation.config import load_curation
        from curation.stages import StageContext, stages

        # Logs and CI are not terminals: give the funnel table room instead of Rich's 80-column default.
        console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
        say = console.print if self.level >= 0 else (lambda *a, **k: None)
        quiet_libraries(self.level)
        quiet_workers()
        if self.level < 1:
            os.environ["CURATION_QUIET"] = "1"  # inherited by datatrove's worker processes (curation/__init__.py)
            quiet_datatrove()
        modules = stages()
        names = [module.STAGE for module in modules]
        assert tuple(names) == STAGE_NAMES, f"curation.run.STAGE_NAMES is out of date: {names}"

        recipe = Recipe.load(args.recipe)
        if args.workdir:
            recipe.data["workdir"] = str(Path(args.workdir).resolve())
        config = load_curation(recipe)
        sources = load_sources(recipe)
        ctx = self.ctx = StageContext(
            recipe=recipe,
            workdir=recipe.workdir,
            sources=sources,
            config=config,
            executor_kind=args.executor or config.executor,
            workers=args.workers if args.workers is not None else config.workers,
            force=set(names[names.index(args.force):]) if args.force else set(),
        )
        if ctx.executor_kind == "slurm" and shutil.which("sbatch") is None and not args.dry_run and not args.status:
            raise UserError(
                f"the Slurm executor ({'--executor slurm' if args.executor else f'curation.executor in {recipe.path}'}) "
                "submits jobs with `sbatch`, which is not on PATH: run on a Slurm login node (or load its module), "
                "or use --executor local"
            )
        validate_recipe(ctx)
        if args.status:
            return show_status(ctx, say=console.print)
        if args.dry_run:
            dry_run(ctx, modules, say=console.print, fresh_start=args.fresh, until=args.until)
            return 0

        with WorkdirLock(ctx.workdir, f"curation.run {recipe.path}"):
            if args.fresh:
                gone = fresh(ctx.workdir)
                say(f"curation: --fresh: deleted {', '.join(gone) if gone else 'nothing (no curation outputs yet)'} "
                    f"in {ctx.workdir}")
            return self._stages(ctx, modules, console, say)

    def _stages(self, ctx, modules, console, say) -> int:
        from curation.progress import stage_totals
        from curation.report import build_report, print_report, write_report
        from curation.stages import Submitted

        args = self.args
        say(f"curation: recipe {ctx.recipe.path} -> {ctx.workdir} ({len(ctx.sources)} sources, "
            f"{ctx.executor_kind} executor)")
        if ctx.executor_kind == "ray":  # one Ray instance for every stage; RAY_ADDRESS selects a cluster
            import ray

            ray.init(ignore_reinit_error=True, log_to_driver=self.level >= 1)
        if ctx.executor_kind == "slurm":
            return submit_chain(ctx, modules, say=console.print, until=args.until)
        started = time.time()
        inputs: dict[str, Path] = {}
        try:
            for module in modules:
                stage = self.stage = module.STAGE
                if hasattr(module, "enabled") and not module.enabled(ctx):
                    say(f"[dim]{stage:>13}: disabled in the recipe[/dim]")
                    continue
                if stage in ctx.force:
                    _clear(ctx, module)
                t0 = time.time()
                ctx.running, ctx.current = None, ""
                if self.level >= 0:
                    with console.status(f"{stage}: running ...") as status, Poller(ctx, status):
                        ctx.on_progress = status.update
                        inputs = module.run(ctx, inputs)
                else:
                    inputs = module.run(ctx, inputs)
                ctx.on_progress, ctx.running = None, None
                if ctx.submitted:
                    raise Submitted(
                        f"{stage}: submitted Slurm jobs {', '.join(ctx.submitted)}. When they have finished, run the "
                        "same command again: finished tasks are skipped and the next stage starts."
                    )
                took = time.time() - t0
                docs, n_bytes = stage_totals(ctx.workdir, stage)
                read = (f": {docs:,} documents, {n_bytes / MB:.1f} MB read, {n_bytes / MB / max(took, 1e-9):.2f} MB/s"
                        if docs else "")
                say(f"{stage:>13}: done in {took:.1f}s{read}", highlight=False, soft_wrap=True)
                if args.until == stage:
                    break
            self.stage = ""
        except Submitted as submitted:
            console.print(str(submitted))
            return 0
        published = all(ctx.is_complete("publish", s.name, 1) for s in ctx.sources)
        report = build_report(ctx, complete=published)
        path = write_report(ctx, report)
        if self.level >= 0:
            print_report(report, console)
        unbalanced = [name for name, src in report["sources"].items() if src["balanced"] is False]
        console.print(f"report: {path} (+ {path.with_suffix('.png').name}); curated: {ctx.workdir / 'curated'}; "
                      f"excluded: {ctx.workdir / 'excluded'}; {time.time() - started:.1f}s", highlight=False, soft_wrap=True)
        if unbalanced:
            console.print(f"error: documents unaccounted for in {', '.join(unbalanced)}", style="red")
            return 1
        return 0


# -- Slurm: the whole chain at once, --status ---------------------------------------------------------------

def submit_chain(ctx, modules, *, say, until: str | None = None) -> int:
    """Submit every stage (up to `until`) as Slurm jobs, each stage's after the stage before's (afterok).

    A stage module with `CHAIN = "tasks"` (filter) needs nothing of an earlier stage: its `run` submits its
    array jobs itself (ctx.run_pipeline on the Slurm executor). Every other stage reads what the stage before
    wrote, so it is one job (`curation.stages.StageJob`, a one-task datatrove pipeline) that runs `python -m
    curation.run RECIPE --executor local --until STAGE` on a node with the stage's CPUs
    (`curation.slurm.stages.<stage>`): the stages before are finished then and skipped. The chain is recorded
    in logs/slurm_chain.json for `--status`."""
    import json

    from curation.stages import StageJob

    chain_file = ctx.workdir / "logs" / CHAIN_FILE
    old = {}
    if chain_file.is_file():
        with contextlib.suppress(ValueError, OSError):
            old = {(j["stage"], j["source"]): j for j in json.loads(chain_file.read_text()).get("jobs", [])}
    recipe = str(Path(ctx.recipe.path).resolve())
    after = ""
    inputs: dict[str, Path] = {}
    for module in modules:
        stage = module.STAGE
        if hasattr(module, "enabled") and not module.enabled(ctx):
            say(f"{stage:>13}: disabled in the recipe", style="dim")
        else:
            if stage in ctx.force:
                _clear(ctx, module)
            ctx.slurm_after, ctx.submitted = after, []
            first = len(ctx.slurm_jobs)
            if getattr(module, "CHAIN", "job") == "tasks":
                inputs = module.run(ctx, inputs)
            else:
                cpus = ctx.config.slurm.for_stage(stage)["cpus_per_task"]
                args = [recipe, "--workdir", str(ctx.workdir), "--executor", "local", "--until", stage,
                        "--workers", str(cpus)]
                ctx.run_pipeline([StageJob(args)], stage=CHAIN_LOGS, source=stage, tasks=1, workers=1)
                ctx.slurm_jobs[-1]["stage"], ctx.slurm_jobs[-1]["source"] = stage, "(stage job)"
            ids = [job["job_id"] for job in ctx.slurm_jobs[first:] if job["job_id"] not in (None, "-1")]
            for job in ctx.slurm_jobs[first:]:
                if job["job_id"] is None:  # finished before: the job that did it, for --status
                    job["job_id"] = old.get((job["stage"], job["source"]), {}).get("job_id")
                say(f"{stage:>13}: {job['source']}: " + (f"job {job['job_id']}, {job['tasks']} task(s)"
                    + (f", after {after.replace(':', ', ')}" if after else "") if job["job_id"] in ids
                    else "finished before, not submitted"), highlight=False, soft_wrap=True)
            if ids:
                after = ":".join(ids)
        if until == stage:
            break
    chain_file.parent.mkdir(parents=True, exist_ok=True)
    chain_file.write_text(json.dumps({"recipe": recipe, "jobs": ctx.slurm_jobs}, indent=1) + "\n")
    say(f"curation: the chain is submitted ({sum(1 for j in ctx.slurm_jobs if j['job_id'])} job(s)); "
        f"`python -m curation.run {ctx.recipe.path} --status` shows it; the last job writes the report",
        highlight=False, soft_wrap=True)
    return 0


def _slurm_states(ids: list[str]) -> dict[str, str]:
    """{job id: state} from squeue (queued, running), then sacct (finished); array tasks' states joined."""
    import subprocess

    found: dict[str, set[str]] = {}
    queries = [(["squeue", "-h", "-o", "%i %T", "-j", ",".join(ids)], " "),
               (["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(ids)], "|")]
    for command, sep in queries:
        wanted = [i for i in ids if i not in found]
        if not wanted or shutil.which(command[0]) is None:
            continue
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            parts = line.strip().split(sep)
            if len(parts) < 2:
                continue
            job = parts[0].split("_")[0]
            if job in wanted:
                found.setdefault(job, set()).add(parts[1].split()[0] if parts[1] else "?")
    return {job: "/".join(sorted(states)) for job, states in found.items()}


def show_status(ctx, *, say) -> int:
    """`--status`: per stage and source of the chain last submitted, the job id, its Slurm state and the
    tasks finished (datatrove's completion markers)."""
    import json

    chain_file = ctx.workdir / "logs" / CHAIN_FILE
    if not chain_file.is_file():
        raise UserError(f"{chain_file}: no Slurm chain submitted for this workdir yet; "
                        f"`python -m curation.run {ctx.recipe.path} --executor slurm` submits one")
    jobs = json.loads(chain_file.read_text())["jobs"]
    states = _slurm_states(sorted({str(j["job_id"]) for j in jobs if j.get("job_id")}))
    say(f"curation: Slurm chain of {ctx.recipe.path} ({chain_file})", highlight=False, soft_wrap=True)
    for job in jobs:
        completions = ctx.workdir / job["logs"] / "completions"
        done = len(list(completions.iterdir())) if completions.is_dir() else 0
        state = states.get(str(job.get("job_id")), "finished before" if job.get("job_id") is None else "unknown")
        if done >= job["tasks"] and state == "unknown":
            state = "COMPLETED"
        say(f"{job['stage']:>13} / {job['source']}: job {job.get('job_id') or '-'}  {state}  "
            f"{done}/{job['tasks']} task(s) done", highlight=False, soft_wrap=True)
    return 0


# -- --dry-run ------------------------------------------------------------------------------------------

# where each stage writes, per source (`{s}`), under the workdir; and how many datatrove pipelines it runs
# per source (each starts its processes: see progress.STARTUP_S)
WRITES = {"filter": "stages/filter/{s}/", "dedup": "stages/dedup/{s}/", "decontaminate": "stages/decontaminate/{s}/",
          "publish": "curated/{s}/, heldout/{s}/", "vocab": "tokenizer/", "tokenize": "tokens/{s}/"}
PIPELINES = {"filter": 1, "dedup": 3, "decontaminate": 1, "publish": 3, "vocab": 0, "tokenize": 0}


def _size(n_bytes: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} B"


def _stage_tasks(ctx, stage: str, source) -> tuple[int, str]:
    """(tasks, how many run at once) of `stage` for one source, as the stage will choose them."""
    if stage == "filter":
        files = source.input.files()
        tasks = max(1, min(ctx.tasks_for(source), len(files))) if files else ctx.tasks_for(source)
        workers = ctx.workers
    elif stage in ("dedup", "decontaminate"):
        from curation.decontam import DecontaminationSection
        from curation.dedup import DedupSection

        section = ctx.recipe.section(*(("dedup", DedupSection) if stage == "dedup"
                                       else ("decontamination", DecontaminationSection)))
        tasks, workers = section.tasks, section.workers or ctx.workers
    elif stage == "publish":
        folder = ctx.stage_dir("filter", source.name)
        tasks, workers = max(1, len(list(folder.glob("*.parquet")))), ctx.workers
    else:
        return 1, "1"
    if ctx.executor_kind == "slurm":  # array tasks at once: the recipe's (curation.slurm.stages.<stage>.workers)
        own = ctx.config.slurm.for_stage(stage)["workers"]
        workers = own if own is not None else workers
        return tasks, str(tasks if workers in (-1, None) else min(workers, tasks))
    workers = min(tasks, os.cpu_count() or 1) if workers in (-1, None) else min(workers, tasks)
    return tasks, str(workers)


def dry_run(ctx, modules, *, say, fresh_start: bool = False, until: str | None = None) -> None:
    """Print what a run would do; read only (file sizes, parquet footers, completion markers)."""
    from curation.progress import (
        POOL_STARTUP_S,
        RATES,
        STARTUP_S,
        estimate_seconds,
        format_seconds,
        text_bytes,
    )
    from curation.stages import excluded_names

    work = ctx.workdir
    say(f"curation.run --dry-run: recipe {ctx.recipe.path} -> {work} ({len(ctx.sources)} sources, "
        f"{ctx.executor_kind} executor); nothing is run or written", highlight=False, soft_wrap=True)
    say(f"  estimates: text MB / (MB/s per core x workers) + {STARTUP_S:g}s per pipeline (+{POOL_STARTUP_S:g}s with worker processes); MB/s per core: "
        + ", ".join(f"{k} {v:g}" for k, v in RATES.items()) + " (curation/progress.py, from BENCHMARKS.md)",
        highlight=False, soft_wrap=True)
    if ctx.executor_kind == "slurm" and shutil.which("sbatch") is None:
        say("  note: `sbatch` is not on PATH here: a real run with the Slurm executor stops before submitting",
            highlight=False, soft_wrap=True)
    if fresh_start:
        there = [name + "/" for name in OUTPUTS if (work / name).exists()]
        say(f"  --fresh would first delete {', '.join(there) if there else 'nothing (no curation outputs yet)'}"
            f" in {work}", highlight=False, soft_wrap=True)
    # text bytes of each source's raw input: later stages read at most that much
    raw: dict[str, tuple[list[Path], int]] = {}
    for source in ctx.sources:
        files = source.input.files()
        if source.input.format == "hf_disk" and source.input.path is not None:
            files = sorted(p for p in Path(source.input.path).rglob("*.arrow") if p.is_file())
        raw[source.name] = (files, sum(text_bytes(f) for f in files))
    total = 0.0
    for module in modules:
        stage = module.STAGE
        if hasattr(module, "enabled") and not module.enabled(ctx):
            say(f"{stage}: disabled in the recipe", highlight=False, soft_wrap=True)
            if until == stage:
                break
            continue
        forced = stage in ctx.force or fresh_start
        excluded = [f"excluded/{{s}}/{name}/" for name in excluded_names(module)]
        say(f"{stage}: writes {', '.join([WRITES[stage], *excluded])}" + (" (--force: recomputed)" if stage in ctx.force else ""),
            highlight=False, soft_wrap=True)
        if stage == "vocab":
            done = (work / "tokenizer" / "vocab_extension.json").is_file() and not forced
            n_bytes = sum(b for _, b in raw.values())
            seconds = 0.0 if done else estimate_seconds(stage, n_bytes, 0, 1)
            say(f"  all sources: reads curated/*/ (at most ~{_size(n_bytes)} of text) -> tokenizer/; "
                + ("built in an earlier run, kept" if done else f"about {format_seconds(seconds)}"), highlight=False, soft_wrap=True)
            total += seconds
        else:
            for source in ctx.sources:
                files, n_bytes = raw[source.name]
                if stage == "filter":
                    sizes = sum(f.stat().st_size for f in files)
                    shown = ", ".join(_display(f, ctx.recipe.root) for f in files[:3]) + (
                        f" and {len(files) - 3} more" if len(files) > 3 else "")
                    reads = (f"{shown or source.input.hub or source.input.path} ({len(files)} file(s), {_size(sizes)}, "
                             f"~{_size(n_bytes)} of text)")
                else:
                    reads = f"the output of the stage before (at most ~{_size(n_bytes)} of text)"
                tasks, workers = _stage_tasks(ctx, stage, source)
                out = WRITES[stage].format(s=source.name)
                done = _finished(ctx, stage, source.name) and not forced
                seconds = 0.0 if done else estimate_seconds(stage, n_bytes, PIPELINES[stage], int(workers))
                total += seconds
                say(f"  {source.name}: {tasks} task(s), {workers} at once; reads {reads} -> {out}; "
                    + ("finished in an earlier run, skipped" if done else f"about {format_seconds(seconds)}"),
                    highlight=False, soft_wrap=True)
        if until == stage:
            break
    say(f"total: about {format_seconds(total)} (finished tasks are skipped; an estimate: the rates vary with the "
        "text and the machine)", highlight=False, soft_wrap=True)


def _display(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def _finished(ctx, stage: str, source: str) -> bool:
    """Whether `stage` finished for `source` in an earlier run (its last pipeline's completion markers)."""
    last = {"dedup": f"filter/{source}", "publish": source}.get(stage, source)
    if stage == "tokenize":
        return (ctx.workdir / "tokens" / source / "meta.json").is_file()
    if stage == "dedup" and not (ctx.workdir / "logs" / "dedup" / "filter" / source).exists():
        last = f"exact/{source}"
    return ctx.is_complete(stage, last, 1)


if __name__ == "__main__":
    sys.exit(main())
