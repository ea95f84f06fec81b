"""How right are the filters on real text? Per rule, on the labelled real-text set (docs/real_text.md).

    python -m realtext.build                       # once: extract the Debian documentation packages
    python bench/curation_real.py [--rev REV ...] [--data work/realtext] [--recipe RECIPE] [--out DIR]

Every labelled item of the four sets (Chinese documents, English documents, Chinese–English pairs,
instruction records in Chinese and in English) becomes a source of its kind, and the filter stage runs
on them exactly as `python -m curation.run RECIPE --until filter` runs it: readers, normalisation,
language ID, the quality filters, the pair and instruction filters, with the recipe's `curation`
settings (default: the defaults of the checkout). Each item ends up kept or in `excluded/<source>/<step>/`
with a reason; joined with the labels, that gives per set and per rule:

- good items kept (the share the goals speak of) and the good items each rule removes (false removals),
- junk items removed, and of all removed items the share that is junk,
- the same per package of origin and per kind of item (real, or the corruption applied).

`--rev` runs the same measurement with other commits' filters side by side (e.g. `--rev 442cdc9`, the
rules before issue 14), each from a clean `git worktree` of that commit, so old and new rules are judged
on the same items in the same run. The false removals are listed in `<out>/<checkout>/false_removals.tsv`
(id, set, rule, reason of the label) so every number can be read item by item.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its files would shadow the packages they are named after

import realtext  # noqa: E402
from common.documents import iter_documents, iter_excluded  # noqa: E402

# labelled set -> the sources it becomes (name, kind, language, how an item is written as a record)
SETS = {
    "zh_docs": [("zh_docs", "mono", "zh")],
    "en_docs": [("en_docs", "mono", "en")],
    "pairs": [("pairs", "parallel", None)],
    "instruct": [("instruct_zh", "instruct", "zh"), ("instruct_en", "instruct", "en")],
}


def write_inputs(folder: Path, items: dict[str, list[dict]], curation: dict) -> Path:
    """One jsonl per source and a recipe that reads them; returns the recipe's path."""
    sources = []
    for set_name, targets in SETS.items():
        for name, kind, language in targets:
            chosen = [it for it in items[set_name] if kind != "instruct" or it.get("language") == language]
            path = folder / f"{name}.jsonl"
            with path.open("w", encoding="utf-8") as f:
                for item in chosen:
                    f.write(json.dumps(realtext.record(item, kind), ensure_ascii=False) + "\n")
            sources.append({"kind": kind, "name": name, "input": {"path": path.name}}
                           | ({"language": language} if language else {}))
    recipe = {"name": "curation_real", "workdir": "work", "sources": sources,
              "curation": {"workers": 1, **curation}}
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_filter(checkout: Path, recipe: Path) -> float:
    """`python -m curation.run RECIPE --until filter` with the code of `checkout`; returns wall seconds."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "curation.run", str(recipe), "--until", "filter"],
                          cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"curation.run failed in {checkout}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return time.perf_counter() - start


def outcomes(workdir: Path, source: str) -> dict[str, str]:
    """Item id -> "kept" or "<step>:<reason>" for one source after the filter stage (the pipeline's
    document ids are `<source>/<record id>`)."""
    def item_id(doc_id: str) -> str:
        return doc_id.removeprefix(f"{source}/")

    result = {item_id(d["id"]): "kept" for d in iter_documents(workdir / "stages" / "filter" / source)}
    excluded = workdir / "excluded" / source
    for step in sorted(excluded.iterdir()) if excluded.exists() else []:
        for doc in iter_excluded(step):
            result[item_id(doc["id"])] = f"{step.name}:{doc['metadata'].get('filter_reason')}"
    return result


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def summarise(items: list[dict], fate: dict[str, str]) -> dict:
    """Counts for one set: good kept, junk removed, precision of removals, per rule, per origin and kind."""
    missing = [it["id"] for it in items if it["id"] not in fate]
    if missing:
        sys.exit(f"{len(missing)} items have no outcome (neither kept nor excluded), e.g. {missing[:3]}: data lost")
    good = [it for it in items if it["label"] == "good"]
    junk = [it for it in items if it["label"] == "junk"]
    removed = [it for it in items if fate[it["id"]] != "kept"]
    rules: dict[str, Counter] = defaultdict(Counter)
    groups: dict[str, Counter] = defaultdict(Counter)
    for it in items:
        outcome = fate[it["id"]]
        if outcome != "kept":
            rules[outcome][it["label"]] += 1
        for group in (f"package {it['id'].split('/')[0]}", f"kind {it.get('kind', 'real')}"):
            groups[group][f"{it['label']}_{'kept' if outcome == 'kept' else 'removed'}"] += 1
    return {
        "good": len(good), "good_kept": sum(fate[it["id"]] == "kept" for it in good),
        "junk": len(junk), "junk_removed": sum(fate[it["id"]] != "kept" for it in junk),
        "removed": len(removed), "removed_junk": sum(it["label"] == "junk" for it in removed),
        "rules": {rule: dict(c) for rule, c in sorted(rules.items(), key=lambda kv: -sum(kv[1].values()))},
        "groups": {g: dict(c) for g, c in sorted(groups.items())},
    }


def measure(checkout: Path, items: dict[str, list[dict]], curation: dict, out: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="curation_real_") as tmp:
        recipe = write_inputs(Path(tmp), items, curation)
        seconds = run_filter(checkout, recipe)
        workdir = Path(tmp) / "work"
        fates = {}  # per set: ids are unique within a set only (zh and en pages share section anchors)
        for set_name, targets in SETS.items():
            fates[set_name] = {}
            for name, _, _ in targets:
                fates[set_name].update(outcomes(workdir, name))
    out.mkdir(parents=True, exist_ok=True)
    result = {"seconds": round(seconds, 1), "sets": {}}
    with (out / "false_removals.tsv").open("w", encoding="utf-8") as f:
        f.write("id\tset\trule\tlabel_reason\n")
        for set_name, set_items in items.items():
            fate = fates[set_name]
            result["sets"][set_name] = summarise(set_items, fate)
            for it in set_items:
                if it["label"] == "good" and fate[it["id"]] != "kept":
                    f.write(f"{it['id']}\t{set_name}\t{fate[it['id']]}\t{it['reason']}\n")
    (out / "result.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return result


def checkout_of(rev: str, keep: list) -> Path:
    """A clean worktree of `rev` (removed at exit), or the working tree for "HEAD+" (uncommitted changes)."""
    if rev == "WORKTREE":
        return ROOT
    folder = Path(tempfile.mkdtemp(prefix=f"rev_{rev[:12]}_"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(folder), rev], check=True)
    keep.append(folder)
    return folder


def print_tables(results: dict[str, dict]) -> None:
    names = list(results)
    print("\n## All filters together, per set (good kept · junk removed · removed that are junk)\n")
    print("| set | items (good/junk) | " + " | ".join(f"{n}: good kept | junk removed | removed = junk" for n in names) + " |")
    print("|---|---|" + "---|---|---|" * len(names))
    for set_name in SETS:
        first = results[names[0]]["sets"][set_name]
        cells = []
        for n in names:
            s = results[n]["sets"][set_name]
            cells += [f"{s['good_kept']}/{s['good']} ({pct(s['good_kept'], s['good'])})",
                      f"{s['junk_removed']}/{s['junk']} ({pct(s['junk_removed'], s['junk'])})",
                      f"{s['removed_junk']}/{s['removed']} ({pct(s['removed_junk'], s['removed'])})"]
        print(f"| {set_name} | {first['good']}/{first['junk']} | " + " | ".join(cells) + " |")
    for n in names:
        print(f"\n## Per rule ({n}): items each rule removed (the first rule to fail removes an item)\n")
        print("| set | step:reason | good removed (false removals) | junk removed | removed that are junk |")
        print("|---|---|---|---|---|")
        for set_name, s in results[n]["sets"].items():
            for rule, c in s["rules"].items():
                g, j = c.get("good", 0), c.get("junk", 0)
                print(f"| {set_name} | {rule} | {g} ({pct(g, s['good'])} of good) | {j} | {pct(j, g + j)} |")
    last = names[-1]
    print(f"\n## Per package and kind of item ({last})\n")
    print("| set | group | good kept | junk removed |\n|---|---|---|---|")
    for set_name, s in results[last]["sets"].items():
        for group, c in s["groups"].items():
            g, j = c.get("good_kept", 0) + c.get("good_removed", 0), c.get("junk_kept", 0) + c.get("junk_removed", 0)
            print(f"| {set_name} | {group} | {c.get('good_kept', 0)}/{g} | {c.get('junk_removed', 0)}/{j} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="realtext build folder (default work/realtext)")
    parser.add_argument("--rev", action="append", default=[],
                        help="also measure this commit's filters (repeatable); WORKTREE = the working tree")
    parser.add_argument("--recipe", type=Path, help="take the `curation` section from this recipe")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "curation_real")
    args = parser.parse_args()
    try:
        items = {name: realtext.load(name, args.data) for name in SETS}
    except realtext.RealTextMissing as error:
        sys.exit(str(error))
    curation = {}
    if args.recipe:
        curation = (yaml.safe_load(args.recipe.read_text(encoding="utf-8")) or {}).get("curation", {})
        curation = {k: v for k, v in curation.items() if k not in ("executor", "workers", "tasks", "slurm")}
    print(f"# Filters on the labelled real-text set ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n")
    print("| set | items | good | junk |\n|---|---|---|---|")
    for name, its in items.items():
        good = sum(it["label"] == "good" for it in its)
        print(f"| {name} | {len(its)} | {good} | {len(its) - good} |")
    keep: list[Path] = []
    results = {}
    try:
        for rev in [*args.rev, "WORKTREE"]:
            label = "this tree" if rev == "WORKTREE" else rev
            results[label] = measure(checkout_of(rev, keep), items, curation, args.out / label.replace(" ", "_"))
            print(f"\n{label}: filter stage on {sum(map(len, items.values()))} items in {results[label]['seconds']} s",
                  file=sys.stderr)
    finally:
        for folder in keep:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)
    print_tables(results)
    print(f"\nfalse removals, item by item: {args.out}/<checkout>/false_removals.tsv")


if __name__ == "__main__":
    main()
