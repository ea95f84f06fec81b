"""The manifest: which sequences of which sources form the global batch of every optimizer step.

On disk (`workdir/manifest/`):

    plan.json       everything the plan was built from and its fingerprint, the per-source summary
    counts.parquet  one row per step, one int32 column per source: samples of that source in the step
    schedule.png    target proportions over training and cumulative samples per source

Rows are not stored. Source s's samples are numbered in training order m = 0, 1, 2, ...; sample m is
sequence perm_{s,e}(m mod n_s) of epoch e = m // n_s, where perm_{s,e} is a seeded Feistel
permutation (`mixer.permute`). `.step(i)` finds each source's range of m from the cumulative counts and
evaluates the permutation there, so a step costs microseconds and the plan stays a few MB.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from common.tokens import ShardError, read_meta
from mixer.permute import permute, round_keys

FORMAT_VERSION = 1
PLAN = "plan.json"
COUNTS = "counts.parquet"


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
        path = Path(path)
        plan_path = path / PLAN
        if not plan_path.is_file():
            raise ManifestError(f"{path}: no {PLAN}; plan a manifest first (python -m mixer.plan RECIPE)")
        try:
            plan = json.loads(plan_path.read_text())
        except json.JSONDecodeError as err:
            raise ManifestError(f"{plan_path}: not valid JSON ({err})") from None
        if plan.get("format_version") != FORMAT_VERSION:
            raise ManifestError(f"{plan_path}: format_version {plan.get('format_version')}, this toolkit reads "
                                f"{FORMAT_VERSION}; re-plan (python -m mixer.plan RECIPE)")
        counts_path = path / COUNTS
        if not counts_path.is_file():
            raise ManifestError(f"{path}: no {COUNTS}; the manifest is incomplete, re-plan it")
        frame = pl.read_parquet(counts_path)
        names = [s["name"] for s in plan["sources"]]
        if frame.columns != names or frame.height != plan["num_steps"]:
            raise ManifestError(f"{counts_path}: columns {frame.columns} x {frame.height} rows do not match "
                                f"{PLAN} ({names} x {plan['num_steps']} steps); re-plan")
        counts = frame.to_numpy().astype(np.int32, copy=False).reshape(frame.height, len(names))
        if frame.height and not (counts.sum(axis=1) == plan["global_batch"]).all():
            raise ManifestError(f"{counts_path}: some step does not have global_batch={plan['global_batch']} samples")
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


def summary_frame(plan: dict) -> pl.DataFrame:
    """The per-source summary table of a plan dict."""
    return pl.DataFrame(plan["summary"], schema={
        "source": pl.String, "kind": pl.String, "n_sequences": pl.Int64, "samples": pl.Int64, "share": pl.Float64,
        "tokens": pl.Int64, "epochs": pl.Float64, "max_epochs": pl.Float64,
    })


def check_shards(manifest: Manifest, tokens_dir: str | Path) -> None:
    """Raise ManifestError unless every source's shard in `tokens_dir` is the one the plan was built from
    (same content fingerprint, sequence count and seq_len)."""
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
            problems.append(str(err))
            continue
        for key, planned in (("fingerprint", source["shard_fingerprint"]), ("n_sequences", source["n_sequences"]),
                             ("seq_len", source["seq_len"])):
            if meta.get(key) != planned:
                problems.append(f"{name}: shard {key} is {str(meta.get(key))[:16]} but the plan was built from "
                                f"{str(planned)[:16]}")
    if problems:
        raise ManifestError(
            f"manifest {manifest.path} was planned from other token shards than those in {tokens_dir}:\n  "
            + "\n  ".join(problems) + "\nre-plan it: python -m mixer.plan RECIPE"
        )
