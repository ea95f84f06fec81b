"""The curation stages in order, and what every stage gets: the recipe, the sources, folders, executors.

A stage is a module with `STAGE` (its name), `EXCLUDING_STEPS` (the classes of its steps that set documents
aside, each naming its folder `excluded/<source>/<excluded_name>/`), `run(ctx, inputs)` and optionally
`validate(ctx)` and `enabled(ctx)`. `run` takes the documents folder of every source from the stage before
and returns its own. Stages run datatrove pipelines with `ctx.run_pipeline(...)`, so the recipe (or
`--executor`) decides between the local, Ray and Slurm executors, and a restarted run skips finished tasks.
`curation.run` derives from the stages what `--force STAGE` clears and the order of the report's steps.

Every stage records, per source, the settings and inputs it ran with (`ctx.record_settings`, written to
`logs/<stage>/<source>/settings.json` before it runs): the recipe keys it reads, the source's definition,
its input files (name, size, modification time) or the record of the stage before it. A later run whose
record differs stops with one line naming the stage, the source, what changed and `--force STAGE`, so
results made with other settings are never reused; as each record holds the one before it, a change
reaches every later stage. `--force STAGE` deletes `logs/<stage>/` and with it the records.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pyarrow.parquet as pq
from datatrove.executor import LocalPipelineExecutor
from datatrove.executor.base import PipelineExecutor
from datatrove.pipeline.base import PipelineStep
from pydantic import BaseModel

from common.recipe import Recipe
from common.sources import Source
from curation.config import CurationSection
from curation.io import excluded_writer
from curation.progress import Running, instrument

# in the order they run; imported when first needed, as every stage module imports this one
STAGE_MODULES = (
    "curation.filter_stage",
    "curation.dedup",
    "curation.decontam",
    "curation.publish",
    "curation.vocab.stage",
    "curation.tokenize",
)


def stages() -> list[ModuleType]:
    """The stage modules, in the order they run."""
    return [importlib.import_module(name) for name in STAGE_MODULES]


def excluded_names(stage: ModuleType) -> list[str]:
    """The `excluded/<source>/` folders a stage's steps may write, in pipeline order."""
    return list(dict.fromkeys(step.excluded_name for step in stage.EXCLUDING_STEPS))


class StageError(RuntimeError):
    """A stage could not run (its input is missing or incomplete, an executor failed)."""


class Submitted(Exception):
    """Raised after submitting Slurm jobs: the next stages need their output, so the run stops here."""


@dataclass
class StageContext:
    recipe: Recipe
    workdir: Path
    sources: list[Source]
    config: CurationSection
    executor_kind: str = "local"
    workers: int = -1
    force: set[str] = field(default_factory=set)  # stages to recompute even if complete
    submitted: list[str] = field(default_factory=list)  # Slurm jobs submitted by the current stage
    on_progress: Callable[[str], None] | None = None  # the CLI shows what is running now
    running: Running | None = None  # the pipeline running now: its progress files, for the CLI's status line
    current: str = ""  # "stage / source" of that pipeline, for the CLI's line when interrupted
    # per source, the record of the last stage that produced its documents in this run: (stage, digest)
    upstream: dict[str, tuple[str, str]] = field(default_factory=dict)
    # sources left with no documents, and why (curation.empty_source: skip drops them from later stages)
    empty: dict[str, str] = field(default_factory=dict)
    noted_unrecorded: bool = False  # the note about a workdir from before settings records, printed once
    # Slurm chain (curation.run submits every stage at once): the job ids the jobs submitted now wait for
    # ("id[:id...]", afterok), and every job submitted: {"stage", "source", "job_id", "tasks", "logs"}
    slurm_after: str = ""
    slurm_jobs: list[dict] = field(default_factory=list)

    def progress(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    def stage_dir(self, stage: str, source: str) -> Path:
        return self.workdir / "stages" / stage / source

    def excluded_dir(self, source: str, step: str) -> Path:
        return self.workdir / "excluded" / source / step

    def logs_dir(self, stage: str, source: str) -> Path:
        return self.workdir / "logs" / stage / source

    def settings_file(self, stage: str, source: str) -> Path:
        return self.logs_dir(stage, source) / SETTINGS_FILE

    def record_settings(self, stage: str, source: str, settings: dict, *, inputs: dict | None = None,
                        upstream: str | list[str] | None = None, results: bool | None = None) -> str:
        """Record what `stage` runs with for `source` and return its digest; raise StageError (one line) when an
        earlier run of this stage made its results with other settings or inputs.

        `settings` are recipe keys (dotted paths, or nested dicts/pydantic models flattened to them), `inputs`
        anything else the results depend on (e.g. `file_identities`), `upstream` the source(s) whose record in
        `self.upstream` (the stage before) this stage reads; `results`, whether results of an earlier run exist
        (default: a finished datatrove task, `has_results`)."""
        flat: dict = {}
        for key, value in settings.items():
            flat.update(flatten(value, key, self.recipe.root))
        for key, value in (inputs or {}).items():
            flat[key] = value
        for name in [upstream] if isinstance(upstream, str) else (upstream or []):
            before, digest = self.upstream.get(name, ("raw input", ""))
            flat[f"input of {name}"] = f"{before} {digest[:16]}".strip()
        digest = hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()
        path = self.settings_file(stage, source)
        old = _read_json(path)
        has_results = self.has_results(stage, source) if results is None else results
        if old is not None and old.get("digest") != digest and stage not in self.force:
            if has_results:
                recipe = self.recipe.path or "RECIPE"
                where = f"{stage} / {source}" if source else stage
                raise StageError(
                    f"{where}: the recipe or the input changed since this stage ran "
                    f"({describe_changes(old.get('settings') or {}, flat)}); its results would be stale: rerun it "
                    f"with `python -m curation.run {recipe} --force {stage}` (reruns every stage after it too)"
                )
        elif old is None and has_results and not self.noted_unrecorded and stage not in self.force:
            self.noted_unrecorded = True
            print(f"note: {self.workdir} holds results from before the curation stages recorded their settings; "
                  "recording the current recipe's (if you changed it since, rerun with --force filter)", file=sys.stderr)
        if old is None or old.get("digest") != digest:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            record = {"format_version": 1, "stage": stage, "source": source, "digest": digest, "settings": flat}
            tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True, default=str) + "\n")
            tmp.replace(path)
        return digest

    def stale_stages(self, source: str) -> list[str]:
        """The stages whose recorded input for `source` is not what the stage before them recorded now (e.g.
        after `--force filter --until filter`, every stage after filter), and every stage after such a one:
        their results on disk were made from another input, so the report leaves them out."""
        stale: list[str] = []
        before: tuple[str, str] | None = None
        for module in stages():
            record = _read_json(self.settings_file(module.STAGE, source)) if source else None
            if record is None:
                continue
            read = (record.get("settings") or {}).get(f"input of {source}")
            if stale or (before is not None and read is not None and read != f"{before[0]} {before[1][:16]}"):
                stale.append(module.STAGE)
            before = (module.STAGE, str(record.get("digest", "")))
        return stale

    def has_results(self, stage: str, source: str) -> bool:
        """Whether a task of `stage` finished for `source` in an earlier run (its datatrove completion markers,
        also of the stage's sub-steps: logs/<stage>/<source>/*/, logs/<stage>/*/<source>/)."""
        logs = self.workdir / "logs" / stage
        candidates = [logs / source / "completions", *logs.glob(f"{source}/*/completions"),
                      *logs.glob(f"*/{source}/completions")]
        if any(folder.is_dir() and any(folder.iterdir()) for folder in candidates):
            return True
        # Slurm jobs submitted by an earlier run may still be writing results with the recorded settings
        return self.executor_kind == "slurm" and any((folder.parent / "executor.json").is_file() for folder in candidates)

    def ran_before(self, stage: str) -> bool:
        """Whether `logs/<stage>/` holds a finished task or a settings record of an earlier run."""
        logs = self.workdir / "logs" / stage
        return logs.is_dir() and any(
            path.name == SETTINGS_FILE or (path.name == "completions" and path.is_dir() and any(path.iterdir()))
            for path in logs.rglob("*")
        )

    def refuse_leftovers(self, stage: str, key: str) -> None:
        """A stage the recipe turns off, with results of an earlier run still in the workdir: StageError."""
        raise StageError(
            f"{stage}: {key} is off in the recipe, but {self.workdir} holds this stage's results of an earlier run "
            f"(the report would count its removals, the next stages would read its output); `python -m "
            f"curation.run {self.recipe.path or 'RECIPE'} --force {stage}` removes them and reruns the stages after it"
        )

    def without_empty(self, stage: str, outputs: dict[str, Path]) -> dict[str, Path]:
        """`outputs` without the sources `stage` left with no documents: a normal outcome (a wrong field, an
        empty or binary file, everything filtered), recorded in `self.empty` and said in one line; the later
        stages skip them. With `curation.empty_source: error` it stops the run (StageError, one line)."""
        kept = {}
        for name, folder in outputs.items():
            if count_documents(folder):
                kept[name] = folder
                continue
            why = self.why_empty(name)
            self.empty[name] = f"{stage}: {why}"
            if self.config.empty_source == "error":
                raise StageError(f"{stage} / {name}: no documents left ({why}); fix the source, or set "
                                 "curation.empty_source: skip to curate the other sources without it")
            print(f"note: {stage} / {name}: no documents left ({why}); the later stages skip it "
                  "(curation.empty_source: skip)", file=sys.stderr)
        return kept

    def why_empty(self, source: str) -> str:
        """Why a source has no documents: how many records were read and the reasons they were set aside."""
        read = stat_total(read_stats(self.logs_dir("filter", source)), "read_docs")
        reasons: dict[str, int] = {}
        example: dict[str, str] = {}  # the reader's detail, e.g. "no field 'body' (fields: id, text)"
        root = self.workdir / "excluded" / source
        for file in sorted(root.glob("*/*.jsonl.gz")):
            with gzip.open(file, "rt", encoding="utf-8") as f:
                for line in f:
                    meta = json.loads(line).get("metadata") or {}
                    reason = meta.get("filter_reason") or "unspecified"
                    key = "the input file is empty" if reason == "empty_file" else f"{file.parent.name}/{reason}"
                    reasons[key] = reasons.get(key, 0) + 1
                    error = str(meta.get("error") or "")
                    if " (" in error and key not in example:
                        example[key] = error.split(" (", 1)[1].removesuffix(")")
        if not reasons:
            return f"{read:,} records read, none removed" if read else "no records read"
        top = sorted(reasons.items(), key=lambda kv: -kv[1])
        listed = ", ".join(k if k == "the input file is empty" else f"{k} {n:,}" + (f" ({example[k]})" if k in example else "")
                           for k, n in top[:3])
        return f"{read:,} read, removed: {listed}" + (f" and {len(top) - 3} more reasons" if len(top) > 3 else "")

    def tasks_for(self, source: Source) -> int:
        return source.tasks or self.config.tasks

    def excluding(self, step: PipelineStep, source: str) -> PipelineStep:
        """`step`, writing every document it removes to `excluded/<source>/<its excluded_name>/`."""
        if not any(type(step) in stage.EXCLUDING_STEPS for stage in stages()):
            raise TypeError(
                f"{type(step).__name__} writes excluded/{source}/{step.excluded_name}/ but is in no stage's "
                "EXCLUDING_STEPS: add it to its stage's, or --force would leave that folder behind and the report "
                "would count its documents twice"
            )
        step.exclusion_writer = excluded_writer(self.excluded_dir(source, step.excluded_name))
        return step

    def run_pipeline(self, pipeline: list, *, stage: str, source: str, tasks: int = 1, workers: int | None = None) -> bool:
        """Run one datatrove pipeline; False when it was submitted to Slurm and what needs its output must wait
        for the next `curation.run` (finished tasks are skipped then)."""
        executor = self.executor(pipeline, stage=stage, source=source, tasks=tasks, workers=workers)
        self.run_executor(executor, stage=stage, source=source)
        return not self.submitted

    def executor(self, pipeline: list, *, stage: str, source: str, tasks: int = 1, workers: int | None = None) -> PipelineExecutor:
        """A datatrove executor for one stage of one source; logs and completion markers in logs/<stage>/<source>."""
        logging_dir = str(self.logs_dir(stage, source))
        resuming = self.is_complete(stage, source, 1)  # at least one task finished in an earlier run
        self.progress(f"{stage}: {source} ({tasks} task(s){', resuming' if resuming else ''}; logs in {logging_dir})")
        self.current = f"{stage} / {source}"
        pipeline, self.running = instrument(pipeline, stage=stage, source=source, logs_dir=self.logs_dir(stage, source),
                                            tasks=tasks)
        workers = self.workers if workers is None else workers
        if self.executor_kind == "slurm":
            return self.slurm_executor(pipeline, stage=stage, source=source, tasks=tasks, workers=workers,
                                       logging_dir=logging_dir)
        if workers == -1:
            workers = min(tasks, os.cpu_count() or 1)
        if self.executor_kind == "ray":
            from datatrove.executor.ray import RayPipelineExecutor

            return RayPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir)
        return LocalPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir, start_method="spawn")

    def slurm_executor(self, pipeline: list, *, stage: str, source: str, tasks: int, workers: int,
                       logging_dir: str) -> PipelineExecutor:
        """A Slurm array job: `curation.slurm` with the stage's own settings (`curation.slurm.stages.<stage>`),
        at most `workers` array tasks at once (the recipe's, never this machine's core count; -1: no limit),
        after the jobs in `self.slurm_after`."""
        from datatrove.executor.slurm import SlurmPipelineExecutor

        # a stage run as one job of the chain: logs/chain/<stage>/, with that stage's settings
        slurm = self.config.slurm.for_stage(source if stage == CHAIN_LOGS else stage)
        if slurm["workers"] is not None and stage != CHAIN_LOGS:
            workers = slurm["workers"]
        return SlurmPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=-1 if workers in (-1, None) or workers >= tasks else workers,
            time=slurm["time"],
            partition=slurm["partition"] or "",
            cpus_per_task=slurm["cpus_per_task"],
            mem_per_cpu_gb=slurm["mem_per_cpu_gb"],
            qos=slurm["qos"] or "normal",
            sbatch_args=slurm["sbatch_args"] or None,
            venv_path=self.config.slurm.venv_path,
            job_name=f"{self.recipe.name}-{stage}-{source}".replace("/", "-"),
            logging_dir=logging_dir,
            depends_job_id=self.slurm_after or None,
        )

    def run_executor(self, executor: PipelineExecutor, *, stage: str, source: str) -> None:
        """Run (or, on Slurm, submit) an executor and check that every task finished."""
        if stage in self.force:
            _clear_completions(self.logs_dir(stage, source))
        if self.executor_kind == "slurm":
            job = {"stage": stage, "source": source, "job_id": None, "tasks": executor.world_size,
                   "logs": str(self.logs_dir(stage, source).relative_to(self.workdir))}
            if executor.get_incomplete_ranks():
                executor.run()  # submits an sbatch array job (after self.slurm_after) and returns
                job["job_id"] = str(executor.job_id)
                self.submitted.append(f"{stage}/{source} (job {executor.job_id})")
            self.slurm_jobs.append(job)
            return
        executor.run()
        missing = executor.get_incomplete_ranks()
        if missing:
            raise StageError(
                f"{stage} / {source}: {len(missing)} task(s) did not finish ({missing[:5]}); see {self.logs_dir(stage, source)}/logs"
            )

    def is_complete(self, stage: str, source: str, tasks: int) -> bool:
        completions = self.logs_dir(stage, source) / "completions"
        return completions.is_dir() and len(list(completions.iterdir())) >= tasks


SETTINGS_FILE = "settings.json"
# where a stage submitted as one job of a Slurm chain keeps its datatrove logs: logs/chain/<stage>/
CHAIN_LOGS = "chain"


class StageJob(PipelineStep):
    """One stage of a Slurm chain as a one-task job: runs `python -m curation.run ARGS` (the local executor,
    `--until` the stage) on the node, once the jobs of the stages before it have finished. The stages before
    are finished then: their tasks are skipped, their outputs and settings records read."""

    name = "curation stage"
    type = "🔗 - CHAIN"

    def __init__(self, args: list[str]):
        super().__init__()
        self.args = list(args)

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        import subprocess

        done = subprocess.run([sys.executable, "-m", "curation.run", *self.args], check=False)
        if done.returncode != 0:
            raise StageError(f"`python -m curation.run {' '.join(self.args)}` ended with exit code {done.returncode}")
        yield from ()


def count_documents(folder: Path) -> int:
    """Documents in a documents folder (from the parquet footers, without reading them)."""
    return sum(pq.ParquetFile(file).metadata.num_rows for file in Path(folder).glob("*.parquet"))


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def flatten(value, key: str, root: Path | None = None) -> dict:
    """{dotted key path: scalar or list} of a nested dict or pydantic model; paths under `root` relative to it,
    so that a moved project keeps its records."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        out: dict = {}
        for k, v in value.items():
            out.update(flatten(v, f"{key}.{k}", root))
        return out or {key: {}}
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str) and root is not None and os.path.isabs(value):
        try:
            value = str(Path(value).relative_to(Path(root).resolve()))
        except ValueError:
            pass
    if isinstance(value, tuple):
        value = list(value)
    return {key: value}


def file_identities(files: list[Path], base: Path | None = None) -> dict[str, list[int]]:
    """{"file NAME": [size, mtime_ns]} of input files (NAME relative to `base` when under it)."""
    out = {}
    for file in files:
        try:
            name = str(Path(file).relative_to(base)) if base is not None and Path(file) != Path(base) else Path(file).name
        except ValueError:
            name = str(file)
        stat = Path(file).stat()
        out[f"file {name}"] = [stat.st_size, stat.st_mtime_ns]
    return out


def _short(value) -> str | None:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else None


def describe_changes(old: dict, new: dict, limit: int = 4) -> str:
    """What differs between two flattened records, e.g. `curation.quality_zh.enabled true -> false, file a.jsonl
    modified`."""
    changes = []
    # a step turned on or off: its `enabled` says it, not each of its settings
    switched = [key[: -len("enabled")] for key in set(old) | set(new)
                if key.endswith(".enabled") and old.get(key) != new.get(key)]
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after or any(key.startswith(prefix) and not key.endswith(".enabled") for prefix in switched):
            continue
        if key.startswith("file "):
            what = "added" if before is None else "removed" if after is None else "modified"
            changes.append(f"{key[5:]} {what}" if what != "modified" or before[0] == after[0]
                           else f"{key[5:]} modified ({before[0]:,} -> {after[0]:,} bytes)")
        elif key.startswith("input of ") and (before is None or after is None):
            changes.append(f"{key} {'added' if before is None else 'removed'}")
        elif key.startswith("input of "):
            was, now = str(before or "").split(" ")[0], str(after or "").split(" ")[0]
            changes.append(f"{key}: {was} -> {now}" if was != now else f"{key} (from {now}) changed")
        elif key not in old:
            changes.append(f"{key} added")
        elif key not in new:
            changes.append(f"{key} removed")
        elif _short(before) is not None and _short(after) is not None:
            changes.append(f"{key} {_short(before)} -> {_short(after)}")
        else:
            changes.append(f"{key} changed")
    if not changes:
        return "how the record was made changed"
    more = f" and {len(changes) - limit} more" if len(changes) > limit else ""
    return ", ".join(changes[:limit]) + more


def _clear_completions(logs: Path) -> None:
    completions = logs / "completions"
    if completions.is_dir():
        for marker in completions.iterdir():
            marker.unlink()


def read_stats(logs_dir: Path) -> list[dict]:
    """datatrove's per-step stats of a stage, summed over the per-task files in stats/.

    The executor's merged stats.json only covers the tasks of its last invocation, so after a restart
    it would miss the tasks that had finished before; the per-task files are always complete.
    """
    per_task = sorted((logs_dir / "stats").glob("*.json"))
    if not per_task:
        return []
    steps: list[dict] = []
    for file in per_task:
        for i, step in enumerate(json.loads(file.read_text())):
            if i >= len(steps):
                steps.append({"name": step["name"], "stats": {}})
            for key, value in step.get("stats", {}).items():
                total = value.get("total", 0) if isinstance(value, dict) else value
                prev = steps[i]["stats"].get(key, {"total": 0})
                steps[i]["stats"][key] = {"total": prev["total"] + total}
    return steps


def stat_total(steps: list[dict], key: str, step_name: str | None = None) -> int:
    total = 0
    for step in steps:
        if step_name and step_name not in step["name"]:
            continue
        value = step.get("stats", {}).get(key)
        if value is not None:
            total += value.get("total", 0) if isinstance(value, dict) else value
    return int(total)
