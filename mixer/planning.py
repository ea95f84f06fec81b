"""Planning a manifest: the recipe's mixture schedule turned into exact per-step sample counts.

The work behind `python -m mixer.plan` (the command itself, `mixer/plan.py`, parses its arguments before
importing this): reads how many sequences each source has (`workdir/tokens/<source>/meta.json`, or
`--counts` for what-if planning) and the recipe's `mixture:` section; writes `workdir/manifest/` (see
`mixer.manifest`). Same inputs give a byte-identical manifest.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from common.encoding import TokenizeSection
from common.recipe import Recipe, RecipeError, format_loc
from common.sources import load_sources
from common.tokens import ShardError, read_meta
from mixer.allocate import allocate, cap_epochs
from mixer.config import MixtureSection
from mixer.manifest import COUNTS, FORMAT_VERSION, PLAN, SCHEDULE_PNG, manifest_hashes, summary_frame
from mixer.schedules import AUTO_GROUPS, Context, MixtureError
from mixer.units import MixerError, parse_amount

ALGORITHM_VERSION = 2  # bump when the same inputs would give different rows (2: exact whole-number targets)
# Planning holds steps x sources tables of 8-byte numbers (proportions, cumulative targets, bounds, counts); its
# peak memory was measured at 12.7 times one table (3M steps x 2 sources: 610 MB). A plan is refused up front,
# instead of failing with MemoryError, when one table is over MAX_TABLE_BYTES (2 GiB: 67M steps of 4 sources)
# or PEAK_TABLES tables are more than the memory available now (MemAvailable).
MAX_TABLE_BYTES = 2 * 1024**3
PEAK_TABLES = 16


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_plan_size(total, num_steps: int, n_sources: int, batch: int) -> None:
    """MixerError unless a plan of num_steps x n_sources fits the limits above (before allocating anything)."""
    table_bytes = num_steps * n_sources * 8
    size = f"{num_steps:,} steps x {n_sources} sources x 8 bytes = {table_bytes / 1024**3:,.2f} GiB"
    if table_bytes > MAX_TABLE_BYTES:
        raise MixerError(
            f"mixture.total {total} is {num_steps:,} steps of {batch} sequences: the per-step table ({size}) is over "
            f"the planner's limit of {MAX_TABLE_BYTES / 1024**3:g} GiB; lower total or raise global_batch")
    available = available_memory()
    if available is not None and table_bytes * PEAK_TABLES > available:
        raise MixerError(
            f"mixture.total {total} is {num_steps:,} steps of {batch} sequences: planning needs about "
            f"{PEAK_TABLES} per-step tables ({size} each, {table_bytes * PEAK_TABLES / 1024**3:,.1f} GiB) but only "
            f"{available / 1024**3:,.1f} GiB of memory is available; lower total, raise global_batch or free memory")


@dataclass
class SourceInfo:
    """One source as the planner sees it: its size and where that size came from."""

    name: str
    n_sequences: int
    kind: str | None = None
    language: str | None = None
    seq_len: int | None = None
    n_tokens: int | None = None
    shard_fingerprint: str | None = None  # None: counted from --counts (what-if)


@dataclass
class Plan:
    """A computed plan: `plan` is plan.json's content, `counts` the per-step samples per source."""

    plan: dict
    counts: np.ndarray  # (num_steps, n_sources) int32
    proportions: np.ndarray  # (num_steps, n_sources) target proportions per step
    notes: list[str] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return [s["name"] for s in self.plan["sources"]]


def parse_counts(text: str) -> dict[str, int]:
    """`en_web=2M,zh_web=1500000` -> {'en_web': 2000000, 'zh_web': 1500000}."""
    counts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise MixerError(f"--counts: expected NAME=COUNT, got {item!r}")
        try:
            amount = parse_amount(value.strip())
        except ValueError as err:
            raise MixerError(f"--counts {name.strip()}: {err}") from None
        if amount < 0 or amount != int(amount):
            raise MixerError(f"--counts {name.strip()}: a count must be a whole number >= 0, got {value!r}")
        counts[name.strip()] = int(amount)
    return counts


def _recipe_sources(recipe: Recipe) -> dict[str, dict]:
    """name -> {kind, language} of the recipe's sources (none in a what-if recipe planned with --counts); the
    raw inputs need not exist any more: planning reads token shards."""
    if not recipe.has("sources"):
        return {}
    # the language as the recipe gives it (an instruction source's default "mixed" is not written): plan.json
    # records it and the manifest's fingerprint covers it
    return {s.name: {"kind": s.kind, "language": s.language if "language" in s.model_fields_set else None}
            for s in load_sources(recipe, check_inputs=False)}


def _groups(section: MixtureSection, known: dict[str, dict]) -> dict[str, list[str]]:
    """Automatic groups (mono en, mono zh, parallel, instruct) from the recipe's sources, plus the
    section's own `groups`, which win on a name clash. A group never shadows a source's name."""
    groups = {
        "en": [n for n, s in known.items() if s["kind"] == "mono" and s["language"] == "en"],
        "zh": [n for n, s in known.items() if s["kind"] == "mono" and s["language"] == "zh"],
        "parallel": [n for n, s in known.items() if s["kind"] == "parallel"],
        "instruct": [n for n, s in known.items() if s["kind"] == "instruct"],
    }
    groups = {g: members for g, members in groups.items() if g not in known}
    problems = []
    for name, members in section.groups.items():
        if name in known:
            problems.append(MixtureError(("groups", name), f"'{name}' is already a source name"))
        for i, member in enumerate(members):
            if member not in known:
                problems.append(MixtureError(("groups", name, i), f"unknown source '{member}'"))
        groups[name] = list(members)
    if problems:
        raise problems[0]
    return groups


def gather_sources(
    recipe: Recipe, section: MixtureSection, cli_counts: dict[str, int], tokens_dir: Path, schedule
) -> tuple[list[SourceInfo], dict[str, list[str]]]:
    """The sources a schedule refers to, with their sizes: --counts first, else the shard's meta.json."""
    known = _recipe_sources(recipe)
    for name in cli_counts:
        known.setdefault(name, {"kind": None, "language": None})
    groups = _groups(section, known)
    needed: list[str] = []
    for loc, mixture, is_default in schedule.mixtures(("schedule",)):
        for name in mixture:
            members = [name] if name in known else groups.get(name)
            if members is None:
                close = difflib.get_close_matches(name, [*known, *groups], n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                if name in AUTO_GROUPS:
                    hint = f" (no recipe source is {'mono ' + name if name in ('en', 'zh') else name})"
                if name in AUTO_GROUPS and is_default:
                    continue  # chatflow's defaults drop groups without sources
                raise MixtureError((*loc, name), f"unknown source or group{hint}; known: {', '.join([*known, *groups])}")
            needed.extend(m for m in members if m not in needed)
    infos = []
    missing = []
    tokenizers: dict[str, str] = {}  # source -> tokenizer fingerprint of its shards
    for name in [n for n in known if n in needed]:
        meta_kind = known[name]
        if name in cli_counts:
            infos.append(SourceInfo(name, cli_counts[name], meta_kind["kind"], meta_kind["language"]))
            continue
        try:
            meta = read_meta(tokens_dir / name)
        except ShardError:
            missing.append(name)
            continue
        infos.append(SourceInfo(name, int(meta["n_sequences"]), meta_kind["kind"], meta_kind["language"],
                                int(meta["seq_len"]), int(meta["n_tokens"]), meta["fingerprint"]))
        tokenizers[name] = str(meta.get("tokenizer_fingerprint", ""))
    if len(set(tokenizers.values())) > 1:  # token ids of two vocabularies must never share a batch
        raise MixerError("sources were tokenized with different tokenizers: "
                         + ", ".join(f"{n}={f[:12]}" for n, f in tokenizers.items())
                         + "; re-run tokenization (python -m curation.run RECIPE --force tokenize)")
    if missing:
        raise MixerError(f"no sequence counts for {', '.join(missing)}: no meta.json under {tokens_dir}; tokenize "
                         f"first (python -m curation.run RECIPE) or plan what-if with --counts "
                         + ",".join(f"{n}=N" for n in missing))
    if not infos:
        raise MixerError("the mixture refers to no source with sequences")
    return infos, groups


def _seq_len(recipe: Recipe, section: MixtureSection, infos: list[SourceInfo]) -> int | None:
    from_shards = {i.seq_len for i in infos if i.seq_len is not None}
    if len(from_shards) > 1:
        raise MixerError("sources were packed with different seq_len: "
                         + ", ".join(f"{i.name}={i.seq_len}" for i in infos if i.seq_len))
    if from_shards:
        seq_len = from_shards.pop()
        if section.seq_len is not None and section.seq_len != seq_len:
            raise MixerError(f"mixture.seq_len is {section.seq_len} but the shards have seq_len {seq_len}")
        return seq_len
    if section.seq_len is not None:
        return section.seq_len
    if recipe.has("tokenize"):
        return recipe.section("tokenize", TokenizeSection).seq_len
    return None


def fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def plan_inputs(section: MixtureSection, schedule, infos: list[SourceInfo], groups: dict[str, list[str]], *,
                seed: int, seq_len: int | None) -> dict:
    """Everything a plan's rows depend on; plan.json's `fingerprint` is its sha256 (`fingerprint`)."""
    mixture_settings = section.model_dump(mode="json")
    mixture_settings["schedule"] = schedule.model_dump(mode="json")
    sources = [
        {"name": i.name, "kind": i.kind, "language": i.language, "n_sequences": i.n_sequences, "seq_len": i.seq_len,
         "n_tokens": i.n_tokens, "shard_fingerprint": i.shard_fingerprint} for i in infos
    ]
    return {"algorithm_version": ALGORITHM_VERSION, "mixture": mixture_settings, "groups": groups,
            "sources": sources, "seed": seed, "seq_len": seq_len}


def build_plan(
    section: MixtureSection, infos: list[SourceInfo], groups: dict[str, list[str]], *, seed: int,
    seq_len: int | None, schedule=None,
) -> Plan:
    """Evaluate the schedule at every step, cap epochs if asked, and allocate exact integer counts."""
    schedule = schedule or section.schedule
    names = [i.name for i in infos]
    n_sequences = np.array([i.n_sequences for i in infos], dtype=np.int64)
    ctx = Context(names, n_sequences, groups, section.global_batch, seq_len, section.normalize)
    batch = section.global_batch
    total_samples = ctx.samples(section.total)
    if not math.isfinite(total_samples):
        raise MixerError(f"mixture.total {section.total} is not a finite amount")
    num_steps = max(1, math.ceil(total_samples / batch - 1e-9))
    check_plan_size(section.total, num_steps, len(names), batch)
    progress = np.arange(num_steps, dtype=np.float64) * batch
    proportions = schedule.proportions(progress, ctx, ("schedule",))
    if isinstance(section.max_epochs, dict):
        for key in section.max_epochs:
            if key != "default" and key not in names:
                raise MixtureError(("max_epochs", key), f"'{key}' is not a planned source ({', '.join(names)})")
    limits = np.array([section.epochs_limit(n) for n in names])
    budgets = np.floor(limits * n_sequences)
    notes = list(ctx.notes)
    if section.on_exhausted == "renormalize":
        proportions, capped = cap_epochs(proportions, batch, budgets, names)
        notes.extend(capped)
    counts = allocate(proportions, batch)
    drawn = counts.sum(axis=0, dtype=np.int64)
    over = np.flatnonzero(drawn > budgets)
    if len(over):
        cumulative = np.cumsum(counts[:, over], axis=0, dtype=np.int64)
        lines = []
        for j, s in enumerate(over):
            step = int(np.argmax(cumulative[:, j] > budgets[s]))
            lines.append(
                f"source '{names[s]}' runs out at step {step}: the schedule draws {drawn[s]:,} samples from it "
                f"({drawn[s] / max(n_sequences[s], 1):.2f} epochs of {n_sequences[s]:,} sequences) but max_epochs "
                f"{limits[s]:g} allows {int(budgets[s]):,}; over by {int(drawn[s] - budgets[s]):,} samples"
            )
        raise MixerError("\n  ".join(lines) + "\n  raise mixture.max_epochs, lower the share of the source, or set "
                         "mixture.on_exhausted: renormalize")
    phase_rows = [
        {"phase": name, "end_step": int(min(num_steps, math.ceil(end / batch - 1e-9))) if np.isfinite(end) else num_steps}
        for name, end in schedule.phases(ctx)
    ]
    summary = [
        {"source": info.name, "kind": info.kind, "n_sequences": info.n_sequences, "samples": int(drawn[s]),
         "share": float(drawn[s] / (num_steps * batch)),
         "tokens": int(drawn[s]) * seq_len if seq_len else None,
         "epochs": float(drawn[s] / info.n_sequences) if info.n_sequences else 0.0, "max_epochs": float(limits[s])}
        for s, info in enumerate(infos)
    ]
    inputs = plan_inputs(section, schedule, infos, groups, seed=seed, seq_len=seq_len)
    plan = {
        "format_version": FORMAT_VERSION,
        "algorithm_version": ALGORITHM_VERSION,
        "fingerprint": fingerprint(inputs),
        "seed": seed,
        "global_batch": batch,
        "num_steps": num_steps,
        "seq_len": seq_len,
        "sources": inputs["sources"],
        "groups": groups,
        "mixture": inputs["mixture"],
        "phases": phase_rows,
        "notes": notes,
        "summary": summary,
    }
    return Plan(plan=plan, counts=counts, proportions=proportions, notes=notes)


def _planning_inputs(recipe: Recipe, schedule_name: str | None, counts: dict[str, int] | None,
                     tokens_dir: Path | None):
    """The validated mixture section, the schedule in effect, the planned sources, groups, seq_len and seed."""
    if not recipe.has("mixture"):
        raise RecipeError(["mixture: the recipe has no mixture section (see docs/mixer.md)"], recipe.path)
    section = recipe.section("mixture", MixtureSection)
    try:
        schedule = section.schedule.override(schedule_name) if schedule_name else section.schedule
        infos, groups = gather_sources(recipe, section, counts or {}, tokens_dir or recipe.workdir / "tokens", schedule)
        seq_len = _seq_len(recipe, section, infos)
    except MixtureError as err:
        loc = ("mixture", *err.loc)
        raise RecipeError([recipe._where(loc) + f"{format_loc(loc)}: {err.message}"], recipe.path) from None
    seed = section.seed if section.seed is not None else recipe.seed
    return section, schedule, infos, groups, seq_len, seed


def plan_from_recipe(
    recipe: Recipe, *, schedule_name: str | None = None, counts: dict[str, int] | None = None,
    tokens_dir: Path | None = None,
) -> Plan:
    """Validate the recipe's mixture section, find the source sizes and build the plan. plan.json also records
    how it was asked for (`planned_with`: the recipe file and `--schedule`), so that `mixer.manifest.check_recipe`
    can tell later whether the recipe (or the token shards) changed since."""
    section, schedule, infos, groups, seq_len, seed = _planning_inputs(recipe, schedule_name, counts, tokens_dir)
    try:
        result = build_plan(section, infos, groups, seed=seed, seq_len=seq_len, schedule=schedule)
    except MixtureError as err:
        loc = ("mixture", *err.loc)
        raise RecipeError([recipe._where(loc) + f"{format_loc(loc)}: {err.message}"], recipe.path) from None
    result.plan["planned_with"] = {"recipe": str(recipe.path) if recipe.path else None, "schedule": schedule_name}
    return result


def current_inputs(recipe: Recipe, *, schedule_name: str | None = None, counts: dict[str, int] | None = None,
                   tokens_dir: Path | None = None) -> dict:
    """What `plan_from_recipe` would plan from now (see `plan_inputs`), without planning."""
    section, schedule, infos, groups, seq_len, seed = _planning_inputs(recipe, schedule_name, counts, tokens_dir)
    return plan_inputs(section, schedule, infos, groups, seed=seed, seq_len=seq_len)


def write_manifest(result: Plan, out: Path) -> Path:
    """Write counts.parquet, schedule.png and then plan.json, which records the sha256 of each (and of its own
    content) for `Manifest.open` to verify, into `out` (atomically: via `out.tmp`)."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        frame = pl.DataFrame({name: result.counts[:, s] for s, name in enumerate(result.sources)},
                             schema={name: pl.Int32 for name in result.sources})
        frame.write_parquet(tmp / COUNTS, compression="zstd", statistics=False)
        plot_schedule(result, tmp / SCHEDULE_PNG)
        plan = {**result.plan, "sha256": manifest_hashes(tmp, result.plan)}
        (tmp / PLAN).write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    except BaseException:  # a full disk, Ctrl-C: no half-written manifest.tmp/ left behind (the old manifest stays)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def plot_schedule(result: Plan, path: Path, max_points: int = 2000) -> None:
    """Stacked target proportions over training, and cumulative samples per source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = len(result.counts)
    at = np.unique(np.linspace(0, steps - 1, min(steps, max_points)).astype(np.int64))
    cumulative = np.cumsum(result.counts, axis=0, dtype=np.int64)[at]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    top.stackplot(at, result.proportions[at].T, labels=result.sources, step="post")
    top.set_ylabel("target proportion")
    top.set_ylim(0, 1)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    for s, name in enumerate(result.sources):
        bottom.plot(at, cumulative[:, s], label=name)
    bottom.set_ylabel("cumulative samples")
    bottom.set_xlabel("optimizer step")
    for phase in result.plan["phases"][:-1]:
        for ax in (top, bottom):
            ax.axvline(phase["end_step"], color="grey", linestyle=":", linewidth=1)
    top.set_title(f"schedule {result.plan['mixture']['schedule']['kind']}: {steps} steps x "
                  f"{result.plan['global_batch']} sequences")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def format_summary(plan: dict) -> str:
    """The summary table printed at the end of every plan."""
    frame = summary_frame(plan)
    lines = [f"manifest {plan['fingerprint'][:16]}: {plan['num_steps']:,} steps x {plan['global_batch']} sequences "
             f"= {plan['num_steps'] * plan['global_batch']:,} samples"
             + (f" x {plan['seq_len']} tokens" if plan["seq_len"] else "")]
    header = f"{'source':<20} {'kind':<9} {'sequences':>13} {'samples':>14} {'share':>7} {'tokens':>16} {'epochs':>7} {'max':>5}"
    lines += [header, "-" * len(header)]
    for row in frame.iter_rows(named=True):
        tokens = f"{row['tokens']:,}" if row["tokens"] is not None else "?"
        lines.append(f"{row['source']:<20} {row['kind'] or '?':<9} {row['n_sequences']:>13,} {row['samples']:>14,} "
                     f"{row['share']:>7.1%} {tokens:>16} {row['epochs']:>7.2f} {row['max_epochs']:>5g}")
    parts, start = [], 0
    for phase in plan["phases"]:
        end = phase["end_step"]
        parts.append(f"{phase['phase']} steps {start:,}-{end - 1:,}" if end > start else f"{phase['phase']} no steps")
        start = max(start, end)
    lines.append("phases: " + "; ".join(parts) + " (steps count from 0, as in mixer.show and the trainer's logs)")
    lines += [f"note: {note}" for note in plan["notes"]]
    return "\n".join(lines)
