"""The publish stage: a seeded held-out split in which no held-out document shares a sentence with training."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from datatrove.data import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.documents import iter_documents
from curation import publish
from curation.io import documents_writer
from curation.publish import is_heldout, sentences
from curation.report import build_report, print_report
from tests.curation_helpers import read_excluded, recipe_with, source, stage_context

SEED = 11
SHARED = "这一句在训练文档和评估文档里都出现过，而且足够长。"  # 23 characters, punctuation not counted
CHAIN = "这一句只在两个被留出的文档里出现，它们因此一起移动。"
SHORT = "例如："  # a common phrase, shorter than heldout_leak_min_chars: never a leak


def unique(i: int) -> str:
    return f"第{i}号文档的内容独一无二，编号{i}不会在别处出现。"


def write_input(folder: Path, docs: list[dict], files: int = 1) -> Path:
    """The documents as the stage before publish leaves them, spread over `files` parquet files."""
    writers = [documents_writer(folder) for _ in range(files)]
    for i, doc in enumerate(docs):
        writers[i % files].write(Document(text=doc["text"], id=doc["id"], metadata={"kind": "mono", "language": "zh"}), i % files)
    for writer in writers:
        writer.close()
    return folder


def run_publish(root: Path, docs: list[dict], *, files: int = 1, kind: str = "mono", force=(), **curation):
    curation = {"heldout_fraction": 0.3, "workers": 1} | curation
    recipe = recipe_with(root, source("s", kind, "zh" if kind == "mono" else None), seed=SEED, curation=curation)
    ctx = stage_context(recipe, force=force)
    folder = root / "input"
    if not folder.exists():
        write_input(folder, docs, files)
    publish.run(ctx, {"s": folder})
    return ctx


def contents(folder: Path) -> list[tuple[str, str]]:
    return sorted((d["id"], d["text"]) for d in iter_documents(folder))


def ids(folder: Path) -> set[str]:
    return {d["id"] for d in iter_documents(folder)}


def leak_fixture(n: int = 60, fraction: float = 0.3) -> tuple[list[dict], dict[str, set[str]]]:
    """Documents where some held-out ones share a sentence with training (directly, or through another
    held-out one), and some share only a short phrase; what publish must do with each."""
    held = [f"d{i}" for i in range(n) if is_heldout(f"d{i}", SEED, fraction)]
    train = [f"d{i}" for i in range(n) if not is_heldout(f"d{i}", SEED, fraction)]
    assert len(held) >= 5 and len(train) >= 5
    texts = {f"d{i}": unique(i) for i in range(n)}
    texts[train[0]] += SHARED + "\n" + SHORT
    texts[held[0]] = SHORT + unique(1000) + SHARED  # shares a sentence with training
    texts[held[1]] = SHARED + "\n" + CHAIN  # with training, and CHAIN with held[2]
    texts[held[2]] = unique(1002) + CHAIN  # only with held[1]: moving held[1] would make it leak
    texts[held[3]] = SHORT + "\n" + unique(1003)  # only the short phrase: stays held out
    docs = [{"id": i, "text": t} for i, t in texts.items()]
    return docs, {"moved": set(held[:3]), "heldout": set(held[3:]), "training": set(train)}


def assert_no_leak(workdir: Path, min_chars: int = 13, min_words: int = 6):
    training = {s for d in iter_documents(workdir / "curated" / "s") for s in sentences(d["text"], min_chars, min_words)}
    for doc in iter_documents(workdir / "heldout" / "s"):
        assert not set(sentences(doc["text"], min_chars, min_words)) & training, doc["id"]


def test_heldout_documents_sharing_a_sentence_with_training_move_to_curated(tmp_path, capsys):
    docs, expected = leak_fixture()
    ctx = run_publish(tmp_path, docs)
    work = ctx.workdir
    assert ids(work / "heldout" / "s") == expected["heldout"]
    assert ids(work / "curated" / "s") == expected["training"] | expected["moved"]
    assert sorted(contents(work / "curated" / "s") + contents(work / "heldout" / "s")) == sorted((d["id"], d["text"]) for d in docs)
    assert not (work / "excluded" / "s").exists()
    leaks = build_report(ctx)["sources"]["s"]["heldout_leaks"]
    assert leaks["docs"] == 3 and leaks["sharing_with_training"] == 2 and leaks["dropped"] == 0
    assert leaks["moved"]["docs"] == 3
    assert leaks["moved"]["chars"] == sum(len(d["text"]) for d in docs if d["id"] in expected["moved"])
    assert_no_leak(work)
    report = build_report(ctx)
    print_report(report)
    assert "leaks moved" in capsys.readouterr().out


def test_drop_excludes_leaking_heldout_documents_with_the_shared_sentence(tmp_path):
    docs, expected = leak_fixture()
    ctx = run_publish(tmp_path, docs, heldout_leaks="drop")
    work = ctx.workdir
    dropped = read_excluded(work / "excluded" / "s" / "heldout_leak")
    assert {d["id"] for d in dropped} == expected["moved"]
    assert all(d["metadata"]["filter_reason"] == "heldout_leak" for d in dropped)
    by_id = {d["id"]: d["metadata"]["leaked_sentence"] for d in dropped}
    [direct1, direct2, via_heldout] = sorted(expected["moved"], key=lambda i: int(i[1:]))
    assert by_id == {direct1: SHARED.rstrip("。"), direct2: SHARED.rstrip("。"), via_heldout: CHAIN.rstrip("。")}
    assert ids(work / "curated" / "s") == expected["training"]
    assert ids(work / "heldout" / "s") == expected["heldout"]
    source_report = build_report(ctx)["sources"]["s"]
    assert source_report["removed"]["heldout_leak"]["docs"] == 3
    assert source_report["heldout_leaks"]["dropped"] == 3 and source_report["heldout_leaks"]["moved"]["docs"] == 0
    kept, held = source_report["kept"]["docs"], source_report["heldout"]["docs"]
    assert kept + held + source_report["removed"]["heldout_leak"]["docs"] == len(docs)  # kept + excluded = read
    assert_no_leak(work)


def test_short_sentences_do_not_count_and_longer_minimums_are_recipe_keys(tmp_path):
    assert sentences("例如：\n如下所示。这是一个足够长的句子，有十三个字以上。", 13, 6) == ["这是一个足够长的句子，有十三个字以上"]
    assert sentences("See below. The value 3.14 is not the end of a sentence here!", 13, 6) == [
        "The value 3.14 is not the end of a sentence here"]
    assert sentences("运行  apt-get   update 命令来更新软件包列表", 13, 6) == ["运行 apt-get update 命令来更新软件包列表"]
    docs, expected = leak_fixture()
    shared = len(SHARED.rstrip("。").replace("，", ""))  # 23 characters, punctuation not counted; CHAIN has 24
    ctx = run_publish(tmp_path, docs, heldout_leak_min_chars=shared)  # both count
    assert ids(ctx.workdir / "heldout" / "s") == expected["heldout"]
    ctx = run_publish(tmp_path, docs, force={"publish"}, heldout_leak_min_chars=shared + 1)  # only CHAIN, in held-out docs only
    assert ids(ctx.workdir / "heldout" / "s") == expected["heldout"] | expected["moved"]
    ctx = run_publish(tmp_path, docs, force={"publish"}, heldout_leak_min_chars=shared + 2)  # neither
    assert ids(ctx.workdir / "heldout" / "s") == expected["heldout"] | expected["moved"]


def test_parallel_pairs_leak_through_either_side(tmp_path):
    """A pair is stored as zh + newline + en (docs/formats.md): a held-out pair whose English side is a
    training pair's English side leaks, as does one sharing a Chinese side."""
    fraction = 0.3
    n = 40
    held = [f"p{i}" for i in range(n) if is_heldout(f"p{i}", SEED, fraction)]
    train = [f"p{i}" for i in range(n) if not is_heldout(f"p{i}", SEED, fraction)]
    texts = {f"p{i}": f"{unique(i)}\nThis is the English side of pair number {i}." for i in range(n)}
    texts[train[0]] = f"{unique(0)}\nThe same English sentence appears in two pairs."
    texts[held[0]] = f"{unique(500)}\nThe same English sentence appears in two pairs."
    texts[held[1]] = f"{unique(int(train[1][1:]))}\nA different translation of the same Chinese sentence."
    docs = [{"id": i, "text": t} for i, t in texts.items()]
    ctx = run_publish(tmp_path, docs, kind="parallel", heldout_fraction=fraction)
    assert ids(ctx.workdir / "heldout" / "s") == set(held[2:])
    assert build_report(ctx)["sources"]["s"]["heldout_leaks"]["moved"]["docs"] == 2


def test_same_result_for_one_and_three_tasks(tmp_path):
    docs, expected = leak_fixture(n=90)
    one = run_publish(tmp_path / "one", docs, files=1)
    three = run_publish(tmp_path / "three", docs, files=3)
    assert len(list((tmp_path / "three" / "input").glob("*.parquet"))) == 3
    for folder in ("curated/s", "heldout/s"):
        assert contents(one.workdir / folder) == contents(three.workdir / folder)
    assert ids(three.workdir / "heldout" / "s") == expected["heldout"]
    leaks = lambda ctx: build_report(ctx)["sources"]["s"]["heldout_leaks"]  # noqa: E731
    assert leaks(one) == leaks(three)


def test_rerun_restart_and_force_give_the_same_result(tmp_path):
    docs, expected = leak_fixture()
    ctx = run_publish(tmp_path, docs, files=2)
    work = ctx.workdir
    reference = {f: contents(work / f) for f in ("curated/s", "heldout/s")}
    files = sorted(p.name for p in (work / "curated" / "s").iterdir())
    run_publish(tmp_path, docs)  # finished: nothing runs again, nothing is written twice
    assert sorted(p.name for p in (work / "curated" / "s").iterdir()) == files
    assert {f: contents(work / f) for f in reference} == reference
    # killed during the last pass: its markers and its outputs gone, the first two passes finished
    for marker in (work / "logs" / "publish" / "s" / "completions").iterdir():
        marker.unlink()
    for moved in (work / "curated" / "s").glob(publish.MOVED_GLOB):
        moved.unlink()
    run_publish(tmp_path, docs)
    assert {f: contents(work / f) for f in reference} == reference
    run_publish(tmp_path, docs, force={"publish"})
    assert {f: contents(work / f) for f in reference} == reference
    assert build_report(ctx)["sources"]["s"]["heldout_leaks"]["moved"]["docs"] == len(expected["moved"])


def test_source_with_no_heldout_documents(tmp_path):
    docs, expected = leak_fixture()
    ctx = run_publish(tmp_path, docs, heldout_fraction=0.0)
    assert ids(ctx.workdir / "curated" / "s") == {d["id"] for d in docs}
    assert (ctx.workdir / "heldout" / "s").is_dir() and not ids(ctx.workdir / "heldout" / "s")
    leaks = build_report(ctx)["sources"]["s"]["heldout_leaks"]
    assert leaks["docs"] == 0 and leaks["moved"]["docs"] == 0
    json.dumps(leaks)


LONG = [f"长句{i}号在这里足够长，超过了十三个字的最低要求" for i in range(6)] + [
    f"long sentence number {i} has more than six words" for i in range(4)]
SHORTS = ["例如", "如下所示", "see below", "thanks"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(LONG + SHORTS), min_size=1, max_size=4), min_size=4, max_size=16),
       st.sampled_from(["。", "\n", "！", ". "]))
def test_no_heldout_document_shares_a_long_sentence_with_training(doc_sentences, end):
    """Documents made of sentences from a small pool: after publish no held-out document holds a sentence
    of 13+ characters (or 6+ words) that a training document also holds."""
    docs = [{"id": f"h{i}", "text": end.join(parts) + end} for i, parts in enumerate(doc_sentences)]
    with tempfile.TemporaryDirectory() as tmp:
        ctx = run_publish(Path(tmp), docs, heldout_fraction=0.5)
        by_id = dict(enumerate(doc_sentences))
        held = ids(ctx.workdir / "heldout" / "s")
        training = {s for i, parts in by_id.items() if f"h{i}" not in held for s in parts if s in LONG}
        for i, parts in by_id.items():
            if f"h{i}" in held:
                assert not set(parts) & training
        assert len(held) + len(ids(ctx.workdir / "curated" / "s")) == len(docs)


@pytest.mark.parametrize("value", [-1, 0])
def test_minimum_sentence_lengths_must_be_positive(tmp_path, value):
    from common.recipe import RecipeError
    from curation.config import load_curation

    with pytest.raises(RecipeError, match="heldout_leak_min_chars"):
        load_curation(recipe_with(tmp_path, curation={"heldout_leak_min_chars": value}))


def test_a_heldout_sentence_inside_a_longer_training_text_leaks_a_shared_opening_does_not(tmp_path):
    """A held-out table cell or heading that occurs inside a training paragraph or table row leaks (both
    its end windows are in that training document); held-out sentences that only open like a training
    sentence (a template) do not."""
    fraction = 0.3
    n = 40
    held = [f"d{i}" for i in range(n) if is_heldout(f"d{i}", SEED, fraction)]
    train = [f"d{i}" for i in range(n) if not is_heldout(f"d{i}", SEED, fraction)]
    texts = {f"d{i}": unique(i) for i in range(n)}
    cell = "列出软件包安装的所有文件和目录"  # 15 characters
    texts[train[0]] = f"命令 | 说明\ndpkg -L 软件包名 | {cell} | 常用\n" + unique(0)
    texts[held[0]] = cell  # inside a training table row
    texts[train[1]] = "Use the following command to list every file that a package installed on this system."
    texts[held[1]] = "Use the following command to remove every configuration file of the package."  # same opening
    texts[held[2]] = "列出软件包安装的所有文件和相关的配置说明"  # opens like the cell (13 characters), ends otherwise
    ctx = run_publish(tmp_path, [{"id": i, "text": t} for i, t in texts.items()], heldout_fraction=fraction)
    assert held[0] not in ids(ctx.workdir / "heldout" / "s")
    assert held[0] in ids(ctx.workdir / "curated" / "s")
    assert {held[1], held[2]} <= ids(ctx.workdir / "heldout" / "s")
