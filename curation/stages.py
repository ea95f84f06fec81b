"""The curation stages in order, and what every stage gets: the recipe, the sources, folders, executors.

A stage is a module with `STAGE` (its name), `EXCLUDING_STEPS` (the classes of its steps that set documents
aside, each naming its folder `excluded/<source>/<excluded_name>/`), `run(ctx, inputs)` and optionally
`validate(ctx)` and `enabled(ctx)`. `run` takes the documents folder of every source from the stage before
and returns its own. Stages run datatrove pipelines with `ctx.run_pipeline(...)`, so the recipe (or
`--executor`) decides between the local, Ray and Slurm executors, and a restarted run skips finished tasks.
`curation.run` derives from the stages what `--force STAGE` clears and the order of the report's steps.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from datatrove.executor import LocalPipelineExecutor
from datatrove.executor.base import PipelineExecutor
from datatrove.pipeline.base import PipelineStep

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

    def progress(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    def stage_dir(self, stage: str, source: str) -> Path:
        return self.workdir / "stages" / stage / source

    def excluded_dir(self, source: str, step: str) -> Path:
        return self.workdir / "excluded" / source / step

    def logs_dir(self, stage: str, source: str) -> Path:
        return self.workdir / "logs" / stage / source

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
        if workers == -1:
            workers = min(tasks, os.cpu_count() or 1)
        if self.executor_kind == "ray":
            from datatrove.executor.ray import RayPipelineExecutor

            return RayPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir)
        if self.executor_kind == "slurm":
            from datatrove.executor.slurm import SlurmPipelineExecutor

            slurm = self.config.slurm
            return SlurmPipelineExecutor(
                pipeline,
                tasks=tasks,
                workers=workers,
                time=slurm.time,
                partition=slurm.partition or "",
                cpus_per_task=slurm.cpus_per_task,
                mem_per_cpu_gb=slurm.mem_per_cpu_gb,
                qos=slurm.qos or "normal",
                sbatch_args=dict(slurm.sbatch_args) or None,
                venv_path=slurm.venv_path,
                job_name=f"{self.recipe.name}-{stage}-{source}",
                logging_dir=logging_dir,
            )
        return LocalPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir, start_method="spawn")

    def run_executor(self, executor: PipelineExecutor, *, stage: str, source: str) -> None:
        """Run (or, on Slurm, submit) an executor and check that every task finished."""
        if stage in self.force:
            _clear_completions(self.logs_dir(stage, source))
        if self.executor_kind == "slurm":
            if executor.get_incomplete_ranks():
                executor.run()  # submits an sbatch array job and returns
                self.submitted.append(f"{stage}/{source} (job {executor.job_id})")
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
