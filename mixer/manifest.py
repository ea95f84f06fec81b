"""The manifest: which sequences of which sources form the global batch of every optimizer step.

On disk (`workdir/manifest/`):

    plan.json       everything the plan was built from and its fingerprint, the per-source summary, and
                    `sha256`: the sha256 of every other file and of plan.json's own content (verified on open)
    counts.parquet  one row per step, one int32 column per source: samples of that source in the step
    schedule.png    target proportions over training and cumulative samples per source

Rows are not stored. Source s's samples are numbered in training order m = 0, 1, 2, ...; sample m is
sequence perm_{s,e}(m mod n_s) of epoch e = m // n_s, where perm_{s,e} is a seeded Feistel
permutation (`mixer.permute`). `.step(i)` finds each source's range of m from the cumulative counts and
evaluates the permutation there, so a step costs microseconds and the plan stays a few MB.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl

from common.files import file_sha256
from common.tokens import ShardError, read_meta
from mixer.permute import permute, round_keys

# plan.json's `sha256` (of every manifest file) is an added key: older readers still read new manifests, and this
# reader refuses a manifest without it (written before the hashes) with "re-run python -m mixer.plan"
FORMAT_VERSION = 1
PLAN = "plan.json"
COUNTS = "counts.parquet"
SCHEDULE_PNG = "schedule.png"
FILES = (COUNTS, SCHEDULE_PNG)  # hashed into plan.json's `sha256`, with PLAN itself (its content without `sha256`)
REPLAN = "re-run python -m mixer.plan RECIPE"


class ManifestError(ValueError):
    """A manifest is missing, damaged, or does not match the token shards it is used with."""


class Manifest:
    """Read access to a manifest folder written by `python -m mixer.plan`."""

    def __init__(self, path: Path, plan: dict, counts: np.ndarray):
        self.path = path
        self.plan = plan
        self.sources: list[str] = [s["name"] for s in plan["sources"]]
        self.global_batch: int = int(plan["global_batch"])
        self.num_steps: int = int(plan["num_steps"])
        self.fingerprint: str = plan["fingerprint"]
        self.seed: int = int(plan["seed"])
        self.n_sequences = np.array([s["n_sequences"] for s in plan["sources"]], dtype=np.int64)
        self.counts = counts  # (num_steps, n_sources) int32
        self._after = np.cumsum(counts, axis=0, dtype=np.int64)  # samples drawn up to and including step i

    @classmethod
    def open(cls, path: str | Path) -> Manifest:
        """Read and verify a manifest: every file must have the sha256 plan.json records, and the counts must be
        non-negative with every step summing to global_batch. Any problem is one ManifestError naming the file."""
        path = Path(path)
        plan_path = path / PLAN
        if not plan_path.is_file():
            raise ManifestError(f"{path}: no {PLAN}; plan a manifest first (python -m mixer.plan RECIPE)")
        try:
            plan = json.loads(plan_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ManifestError(f"{plan_path}: not readable JSON ({err}); {REPLAN}") from None
        if not isinstance(plan, dict):
            raise ManifestError(f"{plan_path}: not a JSON object; {REPLAN}")
        if plan.get("format_version") != FORMAT_VERSION:
            raise ManifestError(f"{plan_path}: format_version {plan.get('format_version')}, this toolkit reads "
                                f"{FORMAT_VERSION}; {REPLAN}")
        verify_files(path, plan)
        names = check_plan(plan, plan_path)
        counts_path = path / COUNTS
        try:
            frame = pl.read_parquet(counts_path)
        except Exception as err:  # noqa: BLE001 - polars raises several kinds on a damaged file
            raise ManifestError(f"{counts_path}: not a readable parquet file ({type(err).__name__}); {REPLAN}") from None
        if frame.columns != names or frame.height != plan["num_steps"]:
            raise ManifestError(f"{counts_path}: columns {frame.columns} x {frame.height} rows do not match "
                                f"{PLAN} ({names} x {plan['num_steps']} steps); {REPLAN}")
        counts = check_counts(frame, counts_path, plan["global_batch"])
        return cls(path, plan, counts)

    def __len__(self) -> int:
        return self.num_steps

    def step(self, i: int) -> pl.DataFrame:
        """The global batch of step i: columns source (str), index (int64), epoch (int32), one row per sample."""
        if not 0 <= i < self.num_steps:
            raise IndexError(f"step {i} out of range [0, {self.num_steps})")
        after = self._after[i]
        before = after - self.counts[i]
        names, indices, epochs = [], [], []
        for s, name in enumerate(self.sources):
            if after[s] == before[s]:
                continue
            drawn = np.arange(before[s], after[s], dtype=np.int64)
            epoch, position = np.divmod(drawn, self.n_sequences[s])
            index = np.empty_like(drawn)
            for e in np.unique(epoch).tolist():
                here = epoch == e
                index[here] = permute(position[here], int(self.n_sequences[s]), round_keys(self.seed, name, e))
            names.append(np.full(len(drawn), s, dtype=np.int32))
            indices.append(index)
            epochs.append(epoch.astype(np.int32))
        source_ids, index, epoch = (np.concatenate(a) for a in (names, indices, epochs))
        # Interleave sources within the step (seeded), so every rank and micro-batch sees the mixture.
        order = np.empty(self.global_batch, dtype=np.int64)
        order[permute(np.arange(self.global_batch), self.global_batch, round_keys(self.seed, "step-order", i))] = (
            np.arange(self.global_batch)
        )
        return pl.DataFrame(
            {
                "source": pl.Series("source", np.asarray(self.sources, dtype=object)[source_ids[order]], pl.String),
                "index": pl.Series("index", index[order], pl.Int64),
                "epoch": pl.Series("epoch", epoch[order], pl.Int32),
            }
        )

    def steps(self, start: int, stop: int) -> pl.DataFrame:
        """Rows of steps [start, stop) with a `step` column first (for inspection)."""
        frames = [self.step(i).with_columns(pl.lit(i, pl.Int64).alias("step")) for i in range(start, stop)]
        if not frames:
            return pl.DataFrame(schema={"step": pl.Int64, "source": pl.String, "index": pl.Int64, "epoch": pl.Int32})
        return pl.concat(frames).select("step", "source", "index", "epoch")

    def summary(self) -> pl.DataFrame:
        """Samples, tokens and epochs per source over the whole plan."""
        return summary_frame(self.plan)



def plan_sha256(plan: dict) -> str:
    """The sha256 of plan.json's content without its `sha256` entry (canonical JSON: sorted keys)."""
    content = {k: v for k, v in plan.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def manifest_hashes(folder: Path, plan: dict) -> dict[str, str]:
    """plan.json's `sha256` entry for the files written in `folder` (and the plan itself)."""
    return {PLAN: plan_sha256(plan), **{name: file_sha256(folder / name) for name in FILES}}


def verify_files(path: Path, plan: dict) -> None:
    """Raise ManifestError unless every manifest file (and plan.json's content) has the recorded sha256."""
    recorded = plan.get("sha256")
    if not isinstance(recorded, dict) or set(recorded) != {PLAN, *FILES}:
        raise ManifestError(f"{path / PLAN}: no sha256 of the manifest files ({', '.join((PLAN, *FILES))}); {REPLAN}")
    if plan_sha256(plan) != recorded[PLAN]:
        raise ManifestError(f"{path / PLAN}: its content was changed after planning (sha256 differs); {REPLAN}")
    for name in FILES:
        file = path / name
        if not file.is_file():
            raise ManifestError(f"{file}: missing; the manifest is incomplete, {REPLAN}")
        if file_sha256(file) != recorded[name]:
            raise ManifestError(f"{file}: changed after planning (its sha256 is not the one in {PLAN}); {REPLAN}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_plan(plan: dict, plan_path: Path) -> list[str]:
    """The source names of a plan dict, after checking the fields the reader uses (one ManifestError if not)."""
    problems = []
    for key in ("global_batch", "num_steps", "seed"):
        if not _is_int(plan.get(key)) or (key != "seed" and plan[key] < (1 if key == "global_batch" else 0)):
            problems.append(f"{key} is {plan.get(key)!r}")
    if not isinstance(plan.get("fingerprint"), str):
        problems.append("no fingerprint")
    sources = plan.get("sources")
    if not isinstance(sources, list) or not sources:
        problems.append("no sources")
        sources = []
    for i, source in enumerate(sources):
        if not (isinstance(source, dict) and isinstance(source.get("name"), str) and _is_int(source.get("n_sequences"))
                and source["n_sequences"] >= 0):
            problems.append(f"sources[{i}] has no name or n_sequences")
    for key in ("summary", "phases", "notes"):
        if not isinstance(plan.get(key), list):
            problems.append(f"no {key}")
    if problems:
        raise ManifestError(f"{plan_path}: {'; '.join(problems)}; {REPLAN}")
    names = [s["name"] for s in sources]
    if len(set(names)) != len(names):
        raise ManifestError(f"{plan_path}: a source name appears twice in sources; {REPLAN}")
    return names


def check_counts(frame: pl.DataFrame, counts_path: Path, global_batch: int) -> np.ndarray:
    """The counts table as (num_steps, n_sources) int32, refused unless whole, non-negative numbers whose every
    row sums to global_batch."""
    if frame.height == 0:
        return np.zeros((0, frame.width), dtype=np.int32)
    if not all(dtype.is_integer() for dtype in frame.dtypes) or frame.null_count().sum_horizontal().item():
        raise ManifestError(f"{counts_path}: counts must be whole numbers without nulls; {REPLAN}")
    counts = frame.to_numpy().astype(np.int64, copy=False).reshape(frame.height, frame.width)
    negative = np.argwhere(counts < 0)
    if len(negative):
        step, s = negative[0].tolist()
        raise ManifestError(f"{counts_path}: step {step} has a negative count ({counts[step, s]}) of "
                            f"{frame.columns[s]}; {REPLAN}")
    wrong = np.flatnonzero(counts.sum(axis=1) != global_batch)
    if len(wrong):
        raise ManifestError(f"{counts_path}: step {int(wrong[0])} has {int(counts[wrong[0]].sum())} samples, not "
                            f"global_batch={global_batch} ({len(wrong)} such steps); {REPLAN}")
    return counts.astype(np.int32)


def summary_frame(plan: dict) -> pl.DataFrame:
    """The per-source summary table of a plan dict."""
    return pl.DataFrame(plan["summary"], schema={
        "source": pl.String, "kind": pl.String, "n_sequences": pl.Int64, "samples": pl.Int64, "share": pl.Float64,
        "tokens": pl.Int64, "epochs": pl.Float64, "max_epochs": pl.Float64,
    })


def replan_command(manifest: Manifest) -> str:
    """`python -m mixer.plan RECIPE [--schedule NAME]` as this manifest was planned (RECIPE when not recorded)."""
    planned = manifest.plan.get("planned_with")
    planned = planned if isinstance(planned, dict) else {}
    command = f"python -m mixer.plan {planned.get('recipe') or 'RECIPE'}"
    if planned.get("schedule"):
        command += f" --schedule {planned['schedule']}"
    if Path(manifest.path).resolve() != _default_manifest(planned.get("recipe")):
        command += f" --output {manifest.path}"  # e.g. a branch's own manifest: never re-plan over the main one
    return command


def _default_manifest(recipe_path) -> Path | None:
    """WORKDIR/manifest of the recipe at `recipe_path`; None when it cannot be read."""
    if not isinstance(recipe_path, str) or not Path(recipe_path).is_file():
        return None
    from common.recipe import Recipe, RecipeError

    try:
        return (Recipe.load(recipe_path).workdir / "manifest").resolve()
    except (RecipeError, OSError):
        return None


def check_shards(manifest: Manifest, tokens_dir: str | Path, *, recipe_too: bool = True) -> None:
    """Raise ManifestError unless every source's shard in `tokens_dir` is the one the plan was built from
    (same content fingerprint, sequence count and seq_len). One line: each changed source, and the command
    that re-plans.

    With `recipe_too` (the default), the recipe file the manifest was planned from (plan.json's
    `planned_with.recipe`), if it is still there, is checked too (`check_recipe`): a mixture, seed or source
    changed in it since planning refuses the manifest, so that the trainer never trains on an out-of-date
    plan. A recipe that no longer exists at that path cannot be checked and is skipped."""
    tokens_dir = Path(tokens_dir)
    problems = []
    for source in manifest.plan["sources"]:
        name = source["name"]
        if source.get("shard_fingerprint") is None:
            problems.append(f"{name}: the plan was made from --counts (what-if), not from token shards")
            continue
        try:
            meta = read_meta(tokens_dir / name)
        except ShardError as err:
            problems.append(f"{name}: {err}")
            continue
        for key, planned in (("fingerprint", source["shard_fingerprint"]), ("n_sequences", source["n_sequences"]),
                             ("seq_len", source["seq_len"])):
            if meta.get(key) != planned:
                problems.append(f"{name}: shard {key} is {str(meta.get(key))[:16]} but the plan was built from "
                                f"{str(planned)[:16]}")
    if problems:
        raise ManifestError(
            f"manifest {manifest.path} was planned from other token shards than those in {tokens_dir}: "
            + "; ".join(problems) + f"; re-plan it: {replan_command(manifest)}"
        )
    planned = manifest.plan.get("planned_with")
    recipe_path = planned.get("recipe") if isinstance(planned, dict) else None
    if recipe_too and isinstance(recipe_path, str) and Path(recipe_path).is_file():
        from common.recipe import Recipe, RecipeError

        try:
            recipe = Recipe.load(recipe_path)
        except RecipeError as err:
            raise ManifestError(f"manifest {manifest.path}: the recipe it was planned from cannot be read any more "
                                f"({' '.join(str(err).split())})") from None
        check_recipe(manifest, recipe, tokens_dir)


def check_recipe(manifest: Manifest, recipe, tokens_dir: str | Path | None = None) -> None:
    """Raise ManifestError unless `manifest` is what `python -m mixer.plan` would plan from `recipe` (a
    common.recipe.Recipe) and the token shards in `tokens_dir` (default WORKDIR/tokens) now: same mixture
    section (with the `--schedule` it was planned with), groups, seed, sources, shards and seq_len. One line
    naming what changed and the command that re-plans. A plan made with `--counts` is compared with those
    counts."""
    from common.recipe import RecipeError  # planning imports this module: import it only when checking
    from mixer.planning import current_inputs, fingerprint
    from mixer.units import MixerError

    planned = manifest.plan.get("planned_with") if isinstance(manifest.plan.get("planned_with"), dict) else {}
    counts = {s["name"]: s["n_sequences"] for s in manifest.plan["sources"] if s.get("shard_fingerprint") is None}
    try:
        now = current_inputs(recipe, schedule_name=planned.get("schedule"), counts=counts,
                             tokens_dir=Path(tokens_dir) if tokens_dir else None)
    except (RecipeError, MixerError, ShardError) as err:
        raise ManifestError(f"manifest {manifest.path} cannot be planned from {recipe.path} any more "
                            f"({' '.join(str(err).split())}); fix that, then re-plan: {replan_command(manifest)}") from None
    if fingerprint(now) == manifest.fingerprint:
        return
    plan = manifest.plan
    changes = [f"mixture.{key}" for key in sorted(set(now["mixture"]) | set(plan.get("mixture", {})))
               if now["mixture"].get(key) != plan.get("mixture", {}).get(key)]
    planned_sources = {s["name"]: s for s in plan["sources"]}
    for source in now["sources"]:
        before = planned_sources.pop(source["name"], None)
        if before is None:
            changes.append(f"source {source['name']} added")
        elif any(before.get(k) != v for k, v in source.items()):
            what = [k for k, v in source.items() if before.get(k) != v]
            changes.append(f"source {source['name']} ({', '.join(what)})")
    changes += [f"source {name} no longer planned" for name in planned_sources]
    changes += [key for key in ("groups", "seed", "seq_len") if now[key] != plan.get(key)]
    if now["algorithm_version"] != plan.get("algorithm_version"):
        changes.append(f"planner version {plan.get('algorithm_version')} -> {now['algorithm_version']}")
    raise ManifestError(f"manifest {manifest.path} is out of date: {recipe.path} or its token shards changed since "
                        f"it was planned ({', '.join(changes) or 'settings'}); re-plan it: {replan_command(manifest)}")
