"""The curation report: the funnel per source, computed from what is on disk.

Read counts come from the reader's own statistics; removed, kept and held-out counts are measured on
the files in `excluded/`, `curated/` and `heldout/`, so the report cannot disagree with the data.
Document counts balance exactly (read = kept + held out + removed); characters and bytes are measured
on the text as each step saw it (normalisation can change them slightly).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.sources import ParallelSource
from curation.publish import LEAK_STATS, MOVED_GLOB
from curation.stages import StageContext, excluded_names, read_stats, stages, stat_total

FORMAT_VERSION = 1


def _zero() -> dict:
    return {"docs": 0, "chars": 0, "bytes": 0}


def measure_documents(folder: Path, pattern: str = "*.parquet") -> dict:
    """docs/chars/bytes of the `text` column of every parquet file (matching `pattern`) in a documents folder."""
    out = _zero()
    for file in sorted(Path(folder).glob(pattern)):
        table = pq.read_table(file, columns=["text"])
        out["docs"] += table.num_rows
        if table.num_rows:
            out["chars"] += int(pc.sum(pc.utf8_length(table["text"])).as_py() or 0)
            out["bytes"] += int(pc.sum(pc.binary_length(table["text"])).as_py() or 0)
    return out


def measure_excluded(folder: Path) -> dict:
    out = _zero() | {"reasons": Counter()}
    for file in sorted(Path(folder).glob("*.jsonl.gz")):
        with gzip.open(file, "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                text = doc.get("text") or ""
                out["docs"] += 1
                out["chars"] += len(text)
                out["bytes"] += len(text.encode("utf-8", errors="replace"))
                out["reasons"][(doc.get("metadata") or {}).get("filter_reason") or "unspecified"] += 1
    out["reasons"] = dict(sorted(out["reasons"].items(), key=lambda kv: -kv[1]))
    return out


def step_order() -> list[str]:
    """The excluded/ folders in the order their steps run, stage after stage."""
    return list(dict.fromkeys(name for stage in stages() for name in excluded_names(stage)))


def _by_step(order: list[str]):
    """Sort key for excluded/ folder names: pipeline order, then folders no step declares (left from an
    older version) by name."""
    return lambda name: (order.index(name) if name in order else len(order), name)


def build_report(ctx: StageContext, complete: bool = True) -> dict:
    """The funnel of every source; `balanced` is checked only once `publish` has run (`complete`), for a source
    left with no documents (which the later stages skip) also when it has not."""
    report = {"format_version": FORMAT_VERSION, "recipe": str(ctx.recipe.path or ""), "complete": complete, "sources": {}}
    by_step = _by_step(step_order())
    done = {s.name: complete or s.name in ctx.empty or ctx.is_complete("publish", s.name, 1) for s in ctx.sources}
    report["complete"] = all(done.values())
    for source in ctx.sources:
        stats = read_stats(ctx.logs_dir("filter", source.name))
        read = {k: stat_total(stats, f"read_{k}") for k in ("docs", "chars", "bytes")}
        # results of a stage made from another input than its predecessor's current output are not counted
        stale = ctx.stale_stages(source.name)
        if stale:
            done[source.name] = False
            report["complete"] = False
        left_out = {name for stage in stages() if stage.STAGE in stale for name in excluded_names(stage)}
        removed = {}
        excluded_root = ctx.workdir / "excluded" / source.name
        if excluded_root.is_dir():
            for step_dir in sorted((p for p in excluded_root.iterdir() if p.is_dir() and p.name not in left_out),
                                   key=lambda p: by_step(p.name)):
                removed[step_dir.name] = measure_excluded(step_dir)
        published = "publish" not in stale
        kept = measure_documents(ctx.workdir / "curated" / source.name) if published else _zero()
        moved = measure_documents(ctx.workdir / "curated" / source.name, MOVED_GLOB) if published else _zero()
        publish_stats = read_stats(ctx.logs_dir("publish", source.name)) if published else []
        heldout = measure_documents(ctx.workdir / "heldout" / source.name) if published else _zero()
        accounted = kept["docs"] + heldout["docs"] + sum(r["docs"] for r in removed.values())
        report["sources"][source.name] = {
            "kind": source.kind,
            "language": "zh-en" if isinstance(source, ParallelSource) else source.language,
            "read": read,
            "removed": removed,
            "kept": kept,
            "heldout": heldout,
            # held-out candidates that shared a sentence with training (directly, or with another leaking
            # candidate): moved back into kept (counted there too) or dropped (in removed.heldout_leak)
            "heldout_leaks": {
                "docs": sum(stat_total(publish_stats, key) for key in LEAK_STATS),
                "sharing_with_training": stat_total(publish_stats, LEAK_STATS[0]),
                "moved": moved,
                "dropped": removed.get("heldout_leak", {}).get("docs", 0),
            },
            "balanced": (accounted == read["docs"]) if done[source.name] else None,
            **({"empty": ctx.empty[source.name]} if source.name in ctx.empty else {}),
            **({"not_counted": stale} if stale else {}),
        }
    return report


def write_report(ctx: StageContext, report: dict) -> Path:
    path = ctx.workdir / "curated" / "_report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    plot_funnel(report, path.with_suffix(".png"))
    return path


def print_report(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="Curation funnel (documents)", show_lines=False)
    table.add_column("source")
    table.add_column("read", justify="right")
    steps = sorted({s for src in report["sources"].values() for s in src["removed"]}, key=_by_step(step_order()))
    for step in steps:
        table.add_column(f"-{step}", justify="right")
    table.add_column("held out", justify="right")
    table.add_column("leaks moved", justify="right")
    table.add_column("kept", justify="right")
    table.add_column("kept MB", justify="right")
    for name, src in report["sources"].items():
        row = [name, f"{src['read']['docs']:,}"]
        row += [f"{src['removed'][s]['docs']:,}" if s in src["removed"] else "" for s in steps]
        moved = src.get("heldout_leaks", {}).get("moved", {}).get("docs", 0)
        row += [f"{src['heldout']['docs']:,}", f"{moved:,}", f"{src['kept']['docs']:,}", f"{src['kept']['bytes'] / 1e6:.2f}"]
        if src.get("empty"):
            row[0] += " [dim](no documents)[/dim]"
        if src["balanced"] is False:
            row[0] += " [red](unbalanced!)[/red]"
        table.add_row(*row)
    console.print(table)
    for name, src in report["sources"].items():
        if src.get("not_counted"):
            console.print(f"[yellow]{name}: the results of {', '.join(src['not_counted'])} were made from an earlier "
                          "output of the stage before them and are not counted; --force "
                          f"{src['not_counted'][0]} redoes them[/yellow]", markup=True, soft_wrap=True)
    for name, src in report["sources"].items():
        reasons = Counter()
        for step, r in src["removed"].items():
            for reason, n in r["reasons"].items():
                reasons[f"{step}:{reason}"] += n
        if reasons:
            console.print(f"[bold]{name}[/bold] removed: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common(8)))


def plot_funnel(report: dict, path: Path) -> None:
    """The funnel as a PNG (`funnel_figure`); nothing when the report has no source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = funnel_figure(report)
    if fig is None:
        return
    fig.savefig(path, dpi=110)
    plt.close(fig)


FUNNEL_MAX_HEIGHT = 16.0  # inches: rows get thinner beyond ~45 sources instead of the figure growing


def funnel_figure(report: dict):
    """One horizontal bar per source, as shares of the documents read: kept, held out, then what each
    step removed (one colour per step, in pipeline order); each bar ends with `read → kept` counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sources = list(report["sources"].items())
    if not sources:
        return None
    steps = list(dict.fromkeys(step for _, src in sources for step in src["removed"]))
    row = min(0.32, (FUNNEL_MAX_HEIGHT - 2.2) / len(sources))
    fig, ax = plt.subplots(figsize=(9, min(2.2 + row * len(sources) + 0.2 * ((len(steps) + 2) // 4),
                                           FUNNEL_MAX_HEIGHT)))
    segments = [("kept", "#4C72B0", lambda s: s["kept"]["docs"]), ("held out", "#55A868", lambda s: s["heldout"]["docs"])]
    removed_colors = plt.get_cmap("OrRd")
    segments += [(f"removed by {step}", removed_colors(0.35 + 0.6 * k / max(len(steps) - 1, 1)),
                  lambda s, step=step: s["removed"].get(step, {}).get("docs", 0)) for k, step in enumerate(steps)]
    ys = list(range(len(sources)))[::-1]  # the first source on top
    left = [0.0] * len(sources)
    for label, color, docs in segments:
        shares = [100 * docs(src) / src["read"]["docs"] if src["read"]["docs"] else 0.0 for _, src in sources]
        ax.barh(ys, shares, left=left, color=color, label=label, height=0.8)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    fontsize = 8 if len(sources) <= 20 else 6
    for y, (_, src) in zip(ys, sources, strict=True):
        ax.text(101, y, f"{src['read']['docs']:,} read → {src['kept']['docs']:,} kept", va="center", fontsize=fontsize)
    ax.set_yticks(ys)
    ax.set_yticklabels([name for name, _ in sources], fontsize=fontsize)
    ax.set_ylim(-0.6, len(sources) - 0.4)
    ax.set_xlim(0, 135)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("documents, % of those read")
    ax.set_ylabel("source")
    ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Curation funnel: what became of each source's documents", fontsize=10)
    ax.legend(fontsize=7, ncol=min(len(segments), 4), loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
    fig.tight_layout()
    return fig
