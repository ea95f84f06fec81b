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
    """One horizontal bar chart per source: documents remaining after each step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sources = list(report["sources"].items())
    if not sources:
        return
    fig, axes = plt.subplots(len(sources), 1, figsize=(8, 1.2 + 0.45 * max(len(s["removed"]) + 3 for _, s in sources) * len(sources) / 1.5), squeeze=False)
    for ax, (name, src) in zip(axes[:, 0], sources, strict=True):
        labels, values = ["read"], [src["read"]["docs"]]
        remaining = src["read"]["docs"]
        for step, r in src["removed"].items():
            remaining -= r["docs"]
            labels.append(f"after {step}")
            values.append(remaining)
        labels += ["kept (+held out)"]
        values += [src["kept"]["docs"] + src["heldout"]["docs"]]
        ax.barh(labels[::-1], values[::-1], color="#4C72B0")
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:,}", va="center", fontsize=7)
        ax.set_title(f"{name} ({src['kind']})", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
