"""Exact dedup, decontamination and the held-out split run as tasks (issue 17): the same kept and excluded
documents, row for row, for 1 and 3 tasks; a restart runs only the unfinished tasks; kept + excluded = read.

Output folders hold one parquet file per task, so their contents are compared as rows sorted by id (then
text, then metadata); the excluded records likewise."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document

import curation.decontam as decontam
import curation.dedup as dedup
from common.documents import iter_documents, iter_excluded
from curation import publish
from curation.dedup.exact import normalize_for_hash
from curation.io import documents_writer
from tests.curation_helpers import recipe_with, source, stage_context

ZH = [chr(c) for c in range(0x4E00, 0x4E00 + 2000)]


def zh_text(rng: random.Random, n: int = 40) -> str:
    return "".join(rng.choice(ZH) for _ in range(n)) + "。"


def write_files(folder: Path, docs: list[dict], files: int = 3) -> Path:
    """`docs` spread round-robin over `files` parquet files (several files, so tasks read different ones)."""
    writers = [documents_writer(folder) for _ in range(files)]
    for i, doc in enumerate(docs):
        writers[i % files].write(Document(text=doc["text"], id=doc["id"], metadata=dict(doc.get("metadata", {}))), i % files)
    for writer in writers:
        writer.close()
    return folder


def rows(folder: Path) -> list[tuple]:
    return sorted((d["id"], d["text"], json.dumps(d["metadata"], sort_keys=True)) for d in iter_documents(folder))


def excluded(folder: Path) -> list[tuple]:
    return sorted((e["id"], e["text"], json.dumps(e["metadata"], sort_keys=True)) for e in iter_excluded(folder)) if folder.exists() else []


def dedup_fixture() -> dict[str, list[dict]]:
    """Three sources with copies inside a file, across files, across sources, repeated ids, copies that differ
    only in case and spaces, and records with the same id and text but other metadata."""
    rng = random.Random(7)
    pool = [zh_text(rng) for _ in range(30)]
    sources: dict[str, list[dict]] = {"a": [], "b": [], "c": []}
    for name, docs in sources.items():
        for i in range(40):
            text = pool[rng.randrange(len(pool))] if rng.random() < 0.5 else zh_text(rng)
            if rng.random() < 0.2:
                text = "  " + text.upper().replace("。", " 。 ") + "\n"
            doc_id = f"{name}/{rng.randrange(30):02d}"  # ids repeat
            docs.append({"id": doc_id, "text": text, "metadata": {"kind": "mono", "n": i}})
    return sources


def expected_exact(sources: dict[str, list[dict]], files: int, across: bool) -> dict[str, dict[str, str | None]]:
    """Per source, per record (id, n): the kept id it duplicates or None: the first source in recipe order, then
    the smallest id, then the first record (file, then row)."""
    best: dict = {}
    located = []
    for position, (name, docs) in enumerate(sources.items()):
        rows_in_file = [0] * files
        for i, doc in enumerate(docs):
            file = i % files
            key = (normalize_for_hash(doc["text"]),) if across else (name, normalize_for_hash(doc["text"]))
            rank = (position, doc["id"], file, rows_in_file[file])
            rows_in_file[file] += 1
            located.append((name, doc, key, rank))
            best[key] = min(best.get(key, rank), rank)
    out: dict[str, dict] = {name: {} for name in sources}
    for name, doc, key, rank in located:
        out[name][(doc["id"], doc["metadata"]["n"])] = None if best[key] == rank else best[key][1]
    return out


def run_dedup(root: Path, sources: dict[str, list[dict]], tasks: int, workers: int = 1, **section):
    for name, docs in sources.items():
        if not (root / "in" / name).exists():
            write_files(root / "in" / name, docs)
    inputs = {name: root / "in" / name for name in sources}
    ctx = stage_context(recipe_with(root, *(source(name, "mono", "zh") for name in sources),
                                    dedup={"tasks": tasks, "near": {"enabled": False}, **section}))
    ctx.workers = workers
    return ctx, dedup.run(ctx, inputs)


@pytest.mark.parametrize("across", [True, False])
def test_exact_dedup_same_rows_for_one_and_three_tasks(tmp_path, across):
    sources = dedup_fixture()
    results = {}
    for tasks in (1, 3):
        ctx, out = run_dedup(tmp_path / str(tasks), sources, tasks, exact_across_sources=across)
        assert len(list(out["a"].glob("*.parquet"))) == tasks
        results[tasks] = {name: (rows(out[name]), excluded(ctx.excluded_dir(name, "exact_dedup"))) for name in sources}
    assert results[1] == results[3]
    expected = expected_exact(sources, 3, across)
    for name, docs in sources.items():
        kept, removed = results[3][name]
        assert len(kept) + len(removed) == len(docs)  # kept + excluded = read
        got = {(i, json.loads(m)["n"]): None for i, _, m in kept}
        got |= {(i, json.loads(m)["n"]): json.loads(m)["duplicate_of"] for i, _, m in removed}
        assert got == expected[name]
        assert all(json.loads(m)["filter_reason"] == "exact_duplicate" for _, _, m in removed)
        assert removed  # the fixture has copies in every source


def test_exact_dedup_restart_runs_only_the_unfinished_task(tmp_path):
    sources = dedup_fixture()
    ctx, out = run_dedup(tmp_path, sources, 3)
    reference = {name: (rows(out[name]), excluded(ctx.excluded_dir(name, "exact_dedup"))) for name in sources}
    logs = ctx.workdir / "logs" / "dedup"
    signatures = {p: p.stat().st_mtime_ns for p in (ctx.workdir / "stages" / "dedup.work").rglob("*.parquet")}
    assert signatures
    # task 1 of source b's filter killed: its marker, output and excluded file gone
    (logs / "exact" / "b" / "completions" / "00001").unlink()
    for file in out["b"].glob("*00001.parquet"):
        file.unlink()
    for file in ctx.excluded_dir("b", "exact_dedup").glob("00001*"):
        file.unlink()
    before = {p: p.stat().st_mtime_ns for p in out["a"].glob("*.parquet")} | {p: p.stat().st_mtime_ns for p in out["b"].glob("*.parquet")}
    ctx, out = run_dedup(tmp_path, sources, 3)
    assert {name: (rows(out[name]), excluded(ctx.excluded_dir(name, "exact_dedup"))) for name in sources} == reference
    assert {p: p.stat().st_mtime_ns for p in before} == before  # finished tasks did not run again
    assert {p: p.stat().st_mtime_ns for p in signatures} == signatures  # nor did the signature and find passes
    assert list(out["b"].glob("*00001.parquet"))


def test_exact_dedup_finder_reading_its_range_in_parts_finds_the_same(tmp_path, monkeypatch):
    import curation.dedup.exact as exact

    sources = dedup_fixture()
    ctx, out = run_dedup(tmp_path / "whole", sources, 3)
    reference = {name: (rows(out[name]), excluded(ctx.excluded_dir(name, "exact_dedup"))) for name in sources}
    monkeypatch.setattr(exact, "FIND_ROWS", 7)  # 120 signatures: about 6 parts per finder
    ctx, out = run_dedup(tmp_path / "parts", sources, 3)
    assert {name: (rows(out[name]), excluded(ctx.excluded_dir(name, "exact_dedup"))) for name in sources} == reference
    chunks = {p.name.split(".")[1] for p in (ctx.workdir / "stages" / "dedup.work" / "exact_duplicates").rglob("*.parquet")}
    assert len(chunks) > 3


def decontam_fixture(tmp_path: Path) -> tuple[list[dict], list[str]]:
    question = "下列关于中华人民共和国宪法修改程序的表述中正确的是哪一项"
    (tmp_path / "ceval.csv").write_text(f"id,question\n1,{question}\n", encoding="utf-8")
    (tmp_path / "mmlu.jsonl").write_text(json.dumps({"q": "Which of the following best describes the function of the mitochondria"}) + "\n")
    rng = random.Random(3)
    docs = []
    for i in range(60):
        text = zh_text(rng)
        if i % 7 == 0:
            text += question[1:18]
        if i % 11 == 0:
            text += " which of the following best describes the function of the mitochondria in cells"
        docs.append({"id": f"d{i:03d}", "text": text, "metadata": {"kind": "mono"}})
    return docs, ["ceval.csv", "mmlu.jsonl"]


def test_decontamination_same_rows_for_one_and_three_tasks(tmp_path):
    docs, files = decontam_fixture(tmp_path)
    folder = write_files(tmp_path / "in", docs)
    results = {}
    for tasks in (1, 3):
        recipe = recipe_with(tmp_path, source("s", "mono", "zh"), workdir=f"w{tasks}",
                             decontamination={"eval_files": files, "tasks": tasks})
        ctx = stage_context(recipe)
        out = decontam.run(ctx, {"s": folder})
        assert len(list(out["s"].glob("*.parquet"))) == tasks
        results[tasks] = (rows(out["s"]), excluded(ctx.excluded_dir("s", "decontaminate")))
    assert results[1] == results[3]
    kept, removed = results[3]
    assert len(kept) + len(removed) == len(docs)
    assert {i for i, _, _ in removed} == {f"d{i:03d}" for i in range(60) if i % 7 == 0 or i % 11 == 0}


def test_decontamination_restart_runs_only_the_unfinished_task(tmp_path):
    docs, files = decontam_fixture(tmp_path)
    folder = write_files(tmp_path / "in", docs)
    recipe = recipe_with(tmp_path, source("s", "mono", "zh"), decontamination={"eval_files": files, "tasks": 3})
    ctx = stage_context(recipe)
    out = decontam.run(ctx, {"s": folder})
    reference = (rows(out["s"]), excluded(ctx.excluded_dir("s", "decontaminate")))
    (ctx.workdir / "logs" / "decontaminate" / "s" / "completions" / "00001").unlink()
    for file in [*out["s"].glob("*00001.parquet"), *ctx.excluded_dir("s", "decontaminate").glob("00001*")]:
        file.unlink()
    finished = {p: p.stat().st_mtime_ns for p in out["s"].glob("*.parquet")}
    out = decontam.run(stage_context(recipe), {"s": folder})
    assert (rows(out["s"]), excluded(ctx.excluded_dir("s", "decontaminate"))) == reference
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    assert list(out["s"].glob("*00001.parquet"))


def publish_fixture(n: int = 120) -> list[dict]:
    rng = random.Random(5)
    shared = [zh_text(rng, 20) for _ in range(12)]
    docs = []
    for i in range(n):
        parts = [zh_text(rng)]
        if i % 3 == 0:
            parts.append(shared[i % len(shared)])  # a sentence several documents hold
        if i % 5 == 0:
            parts.insert(0, shared[(i + 1) % len(shared)])
        if i % 7 == 0:  # another document's sentence inside a longer one: linked by the link pass
            parts.append("引用：" + shared[(i + 2) % len(shared)][:-1] + "，等等。")
        docs.append({"id": f"p{i:03d}", "text": "\n".join(parts), "metadata": {"kind": "mono", "language": "zh"}})
    return docs


@pytest.mark.parametrize("leaks", ["move", "drop"])
def test_publish_same_rows_for_one_and_three_tasks(tmp_path, leaks):
    docs = publish_fixture()
    results = {}
    for files in (1, 3):
        root = tmp_path / str(files)
        write_files(root / "input", docs, files)
        recipe = recipe_with(root, source("s", "mono", "zh"), seed=3,
                             curation={"heldout_fraction": 0.3, "workers": 1, "heldout_leaks": leaks})
        ctx = stage_context(recipe)
        publish.run(ctx, {"s": root / "input"})
        results[files] = {folder: rows(ctx.workdir / folder / "s") for folder in ("curated", "heldout")}
        results[files]["excluded"] = excluded(ctx.excluded_dir("s", "heldout_leak"))
        assert sum(map(len, results[files].values())) == len(docs)  # kept + held out + excluded = read
    assert results[1] == results[3]
    held = {i for i, _, _ in results[3]["heldout"]}
    leaking = {d["id"] for d in docs if publish.is_heldout(d["id"], 3, 0.3)} - held
    assert held and leaking  # some candidates leak through the shared sentences
    assert {i for i, _, _ in results[3]["excluded"]} == (leaking if leaks == "drop" else set())


def test_publish_restart_runs_only_the_unfinished_link_task(tmp_path):
    docs = publish_fixture()
    write_files(tmp_path / "input", docs, 3)
    recipe = recipe_with(tmp_path, source("s", "mono", "zh"), seed=3, curation={"heldout_fraction": 0.3, "workers": 1})
    ctx = stage_context(recipe)
    publish.run(ctx, {"s": tmp_path / "input"})
    reference = {folder: rows(ctx.workdir / folder / "s") for folder in ("curated", "heldout")}
    links = ctx.workdir / "stages" / "publish.work" / "s" / "links"
    done = {p: p.stat().st_mtime_ns for p in links.glob("*.npz")}
    assert len(done) >= 2
    assert sum(len(np.load(p)["heads"]) for p in done)  # candidates quoting another candidate's sentence
    killed = sorted(done)[-1]
    killed.unlink()
    (ctx.workdir / "logs" / "publish" / "s" / "link" / "completions" / killed.name.removesuffix(".npz")).unlink()
    publish.run(stage_context(recipe), {"s": tmp_path / "input"})
    assert {folder: rows(ctx.workdir / folder / "s") for folder in ("curated", "heldout")} == reference
    assert {p: p.stat().st_mtime_ns for p in done if p != killed} == {p: t for p, t in done.items() if p != killed}
    assert killed.exists()


@pytest.mark.slow
def test_exact_dedup_in_worker_processes_matches_one_task(tmp_path):
    """The three passes pickled to spawned workers (2 at once, 3 tasks) give what one task in the driver gives."""
    sources = dedup_fixture()
    ctx, out = run_dedup(tmp_path / "one", sources, 1)
    reference = {name: (rows(out[name]), excluded(ctx.excluded_dir(name, "exact_dedup"))) for name in sources}
    ctx, out = run_dedup(tmp_path / "three", sources, 3, workers=2)
    assert {name: (rows(out[name]), excluded(ctx.excluded_dir(name, "exact_dedup"))) for name in sources} == reference
