"""Dedup stage: exact copies within and across sources, near duplicates in Chinese and English,
every removed document in excluded/ with the id it duplicates, recall and precision on planted data."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import curation.dedup as dedup
from common.recipe import RecipeError
from curation.dedup.minhash import PAIR
from curation.dedup.shingles import (
    BottomKSketcher,
    MinHasher,
    bounded_edits,
    contained,
    normalize,
    sketch_similarity,
    text_ngrams,
)
from tests.curation_helpers import (
    read_excluded,
    read_ids,
    recipe_with,
    source,
    stage_context,
    write_documents,
)

ZH_CHARS = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
EN_WORDS = ["".join(random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=6)) for i in range(3000)]


def zh_paragraph(rng: random.Random, n: int = 60) -> str:
    return "".join(rng.choice(ZH_CHARS) for _ in range(n)) + "。"


def en_paragraph(rng: random.Random, n: int = 40) -> str:
    return " ".join(rng.choice(EN_WORDS) for _ in range(n)) + "."


def planted(lang: str, seed: int = 0, n_docs: int = 40):
    """Documents plus labels: for each planted near duplicate, the original it came from."""
    rng = random.Random(seed)
    para = zh_paragraph if lang == "zh" else en_paragraph
    sep = "\n\n"
    originals = [[para(rng) for _ in range(5)] for _ in range(n_docs)]
    docs = [{"id": f"{lang}/{i:03d}", "text": sep.join(p)} for i, p in enumerate(originals)]
    labels = {}
    for i in range(0, n_docs, 4):  # four kinds of edits, one per original
        p = list(originals[i])
        kind = (i // 4) % 3
        if kind == 0:  # one sentence changed
            p[2] = para(rng)[: len(p[2]) // 3] + p[2][len(p[2]) // 3 :]
        elif kind == 1:  # paragraphs reordered
            p[0], p[3] = p[3], p[0]
        else:  # boilerplate added
            p.append("版权所有，转载请注明出处。" if lang == "zh" else "All rights reserved. Subscribe to our newsletter.")
        dup_id = f"{lang}/dup{i:03d}"
        docs.append({"id": dup_id, "text": sep.join(p)})
        labels[dup_id] = f"{lang}/{i:03d}"
    for d in docs:
        d["metadata"] = {"kind": "mono", "language": lang}
    return docs, labels


def run_dedup(tmp_path, sources: dict[str, list[dict]], languages: dict[str, str], section: dict | None = None):
    inputs = {name: write_documents(tmp_path / "in" / name, docs) for name, docs in sources.items()}
    ctx = stage_context(recipe_with(tmp_path, *(source(name, "mono", languages[name]) for name in sources),
                                    dedup=section or {}))
    return ctx, dedup.run(ctx, inputs)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_near_duplicates_found_with_recall_and_precision(tmp_path, lang):
    docs, labels = planted(lang)
    ctx, out = run_dedup(tmp_path, {"s": docs}, {"s": lang})
    removed = {e["id"]: e["metadata"] for e in read_excluded(ctx.excluded_dir("s", "near_dedup"))}
    true_pos = sum(1 for doc_id, meta in removed.items() if labels.get(doc_id) == meta["duplicate_of"])
    recall, precision = true_pos / len(labels), true_pos / max(len(removed), 1)
    print(f"{lang}: recall {recall:.2f} precision {precision:.2f} ({true_pos}/{len(labels)} found, {len(removed)} removed)")
    assert recall == 1.0 and precision == 1.0
    assert all(meta["filter_reason"] == "near_duplicate" for meta in removed.values())
    threshold = dedup.NearDedupSection().similarity("chars" if lang == "zh" else "words")
    assert all(threshold <= meta["similarity"] <= 1 for meta in removed.values())  # verified on the whole signature
    assert len(read_ids(out["s"])) + len(removed) == len(docs)  # kept + excluded = read


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_documents_that_share_a_template_are_not_near_duplicates(tmp_path, lang):
    # hard negatives: the same header, sidebar and footer paragraphs (a site template), different bodies
    rng = random.Random(9)
    para = zh_paragraph if lang == "zh" else en_paragraph
    header, sidebar, footer = para(rng), para(rng), para(rng)
    docs = [{"id": f"{lang}/{i}", "text": "\n\n".join([header, para(rng), sidebar, para(rng), footer]),
             "metadata": {"kind": "mono", "language": lang}} for i in range(30)]
    similarity = jaccard(docs[0]["text"], docs[1]["text"]) if lang == "zh" else None
    assert similarity is None or 0.35 < similarity < 0.5  # 3 of 7 distinct paragraphs shared
    ctx, out = run_dedup(tmp_path, {"s": docs}, {"s": lang})
    assert read_ids(out["s"]) == [d["id"] for d in docs]  # precision: nothing removed
    pairs = np.fromfile(next((tmp_path / "work").rglob("candidates.pairs")), dtype=PAIR)
    assert len(pairs) > 0 and pairs["similarity"].max() < 0.5  # they were candidates, verification kept them


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = np.unique(text_ngrams(a, "chars", n)), np.unique(text_ngrams(b, "chars", n))
    return len(np.intersect1d(sa, sb)) / len(np.union1d(sa, sb))


def test_a_chain_removes_only_what_resembles_a_kept_document(tmp_path):
    # B is A with 3 of 20 paragraphs replaced, C is B with 3 more replaced: A~B and B~C, but C is not A
    rng = random.Random(5)
    a = [zh_paragraph(rng) for _ in range(20)]
    b = a[:17] + [zh_paragraph(rng) for _ in range(3)]
    c = b[:3] + [zh_paragraph(rng) for _ in range(3)] + b[6:]
    texts = {"A": "\n".join(a), "B": "\n".join(b), "C": "\n".join(c)}
    assert jaccard(texts["A"], texts["B"]) > 0.72 and jaccard(texts["B"], texts["C"]) > 0.72
    assert jaccard(texts["A"], texts["C"]) < 0.58
    docs = [{"id": k, "text": t, "metadata": {"kind": "mono"}} for k, t in texts.items()]
    section = {"near": {"zh_similarity": 0.65, "num_buckets": 64, "hashes_per_bucket": 4}}  # 256 hashes: tight estimates
    ctx, out = run_dedup(tmp_path, {"s": docs}, {"s": "zh"}, section)
    assert read_ids(out["s"]) == ["A", "C"]  # union-find clustering would also drop C, for a document it does not resemble
    (removed,) = read_excluded(ctx.excluded_dir("s", "near_dedup"))
    assert removed["id"] == "B" and removed["metadata"]["duplicate_of"] == "A"
    assert abs(removed["metadata"]["similarity"] - jaccard(texts["A"], texts["B"])) < 0.1
    # every candidate pair is kept for inspection, with its estimated similarity
    pairs = np.fromfile(next((tmp_path / "work").rglob("candidates.pairs")), dtype=PAIR)
    estimated = {(int(p["doc_a"]), int(p["doc_b"])): float(p["similarity"]) for p in pairs}
    assert set(estimated) >= {(0, 1), (1, 2)}
    for (i, j), sim in estimated.items():
        assert abs(sim - jaccard(*(list(texts.values())[k] for k in (i, j)))) < 0.1


def test_every_copy_goes_though_the_bucket_stage_pairs_only_neighbours(tmp_path):
    # four copies with equal signatures: datatrove's bucket stage reports A-B, B-C, C-D, never A-C or A-D
    rng = random.Random(7)
    text = "\n".join(zh_paragraph(rng) for _ in range(5))
    docs = [{"id": k, "text": text + "！" * i, "metadata": {"kind": "mono"}} for i, k in enumerate("ABCD")]
    ctx, out = run_dedup(tmp_path, {"s": docs}, {"s": "zh"}, {"exact": False})
    assert read_ids(out["s"]) == ["A"]
    removed = {e["id"]: e["metadata"] for e in read_excluded(ctx.excluded_dir("s", "near_dedup"))}
    assert {k: (m["duplicate_of"], m["similarity"]) for k, m in removed.items()} == {k: ("A", 1.0) for k in "BCD"}


def test_near_duplicates_across_sources_name_the_first_source(tmp_path):
    docs, labels = planted("zh", n_docs=16)
    originals = [d for d in docs if d["id"] not in labels]
    dups = [d for d in docs if d["id"] in labels]
    ctx, out = run_dedup(tmp_path, {"first": originals, "second": dups}, {"first": "zh", "second": "zh"})
    assert read_ids(out["first"]) == [d["id"] for d in originals] and read_ids(ctx.stage_dir("dedup", "second")) == []
    assert "second" not in out and "near_dedup/near_duplicate" in ctx.empty["second"]  # the later stages skip it
    removed = {e["id"]: e["metadata"] for e in read_excluded(ctx.excluded_dir("second", "near_dedup"))}
    assert {k: m["duplicate_of"] for k, m in removed.items()} == labels
    assert all(m["similarity"] >= 0.6 for m in removed.values())


def test_without_verification_every_candidate_is_a_duplicate(tmp_path):
    docs, labels = planted("zh", n_docs=12)
    section = {"near": {"zh_similarity": None, "en_similarity": None, "num_buckets": 14, "hashes_per_bucket": 8}}
    ctx, _ = run_dedup(tmp_path, {"s": docs}, {"s": "zh"}, section)
    removed = {e["id"]: e["metadata"]["duplicate_of"] for e in read_excluded(ctx.excluded_dir("s", "near_dedup"))}
    assert removed == labels


def test_bands_that_cannot_reach_the_similarity_are_a_recipe_error(tmp_path):
    recipe = {"dedup": {"near": {"zh_similarity": 0.6, "num_buckets": 14, "hashes_per_bucket": 8}}}
    ctx = stage_context(recipe_with(tmp_path, workdir=".", **recipe))
    with pytest.raises(RecipeError, match=r"dedup.near: .*zh_similarity=0.6 a candidate with probability 0.21"):
        dedup.run(ctx, {})


def test_exact_duplicates_within_and_across_sources(tmp_path):
    rng = random.Random(1)
    texts = [zh_paragraph(rng) for _ in range(6)]
    first = [{"id": f"a/{i}", "text": t, "metadata": {"kind": "mono"}} for i, t in enumerate(texts)]
    first.append({"id": "a/copy", "text": "  " + texts[0].replace("。", "。 ") + "\n"})  # whitespace only differs
    second = [{"id": "b/0", "text": texts[1], "metadata": {"kind": "mono"}}, {"id": "b/1", "text": zh_paragraph(rng)}]
    ctx, out = run_dedup(tmp_path, {"a": first, "b": second}, {"a": "zh", "b": "zh"}, {"near": {"enabled": False}})
    assert read_ids(out["a"]) == [f"a/{i}" for i in range(6)]
    assert read_ids(out["b"]) == ["b/1"]  # the copy in the later source goes, the first source's stays
    excluded = {e["id"]: e["metadata"] for src in "ab" for e in read_excluded(ctx.excluded_dir(src, "exact_dedup"))}
    assert excluded == {
        "a/copy": excluded["a/copy"] | {"duplicate_of": "a/0", "filter_reason": "exact_duplicate"},
        "b/0": excluded["b/0"] | {"duplicate_of": "a/1", "filter_reason": "exact_duplicate"},
    }


@pytest.mark.parametrize("tasks", [1, 2, 3])
def test_a_source_read_twice_keeps_one_copy_of_each_record(tmp_path, tasks):
    # the same records (same ids) in three files, as when a dump is concatenated twice; every task count
    from datatrove.data import Document

    from curation.io import documents_writer

    rng = random.Random(3)
    records = [{"id": f"s/{i}", "text": zh_paragraph(rng)} for i in range(5)]
    folder = tmp_path / "in" / "s"
    with documents_writer(folder) as writer:
        for rank, part in enumerate([records[:3], records[3:] + records[:2], records[2:]]):
            for r in part:
                writer.write(Document(text=r["text"], id=r["id"], metadata={"kind": "mono"}), rank)
    ctx = stage_context(recipe_with(tmp_path, source("s", "mono", "zh"), dedup={"near": {"enabled": False}, "tasks": tasks}))
    out = dedup.run(ctx, {"s": folder})
    assert sorted(read_ids(out["s"])) == [r["id"] for r in records]
    removed = [e["metadata"]["duplicate_of"] for e in read_excluded(ctx.excluded_dir("s", "exact_dedup"))]
    assert sorted(removed) == [r["id"] for r in records]  # kept 5 + excluded 5 = read 10


def test_parallel_pairs_deduplicated_on_the_pair(tmp_path):
    pairs = [("你好世界", "hello world"), ("你好世界", "hello there"), ("你好世界", "hello world")]
    docs = [
        {"id": f"p/{i}", "text": f"{zh}\n{en}", "metadata": {"kind": "parallel", "zh": zh, "en": en}}
        for i, (zh, en) in enumerate(pairs)
    ]
    ctx = stage_context(recipe_with(tmp_path, source("p", "parallel"), workdir="w", dedup={"near": {"enabled": False}}))
    out = dedup.run(ctx, {"p": write_documents(tmp_path / "p", docs)})
    assert read_ids(out["p"]) == ["p/0", "p/1"]
    assert [e["metadata"]["duplicate_of"] for e in read_excluded(ctx.excluded_dir("p", "exact_dedup"))] == ["p/0"]


def templated_arithmetic(n: int = 12) -> list[dict]:
    rng = random.Random(5)
    docs = []
    for i in range(n):
        a, b = rng.randrange(100, 1000), rng.randrange(100, 1000)
        text = f"User: 请计算 {a} 加 {b} 等于多少？请写出计算过程。\nAssistant: {a} + {b} = {a + b}。所以答案是 {a + b}。"
        docs.append({"id": f"i/{i}", "text": text, "metadata": {"kind": "instruct"}})
    return docs


@pytest.mark.parametrize("keep_digits", [["instruct"], []])
def test_instruction_records_that_differ_in_their_numbers_are_kept(tmp_path, keep_digits):
    docs = templated_arithmetic()
    copy = {"id": "i/copy", "text": docs[0]["text"].replace("请写出", "请你写出"), "metadata": {"kind": "instruct"}}
    inputs = {"i": write_documents(tmp_path / "in", docs + [copy])}
    ctx = stage_context(recipe_with(tmp_path, source("i", "instruct"), dedup={"near": {"keep_digits": keep_digits}}))
    out = dedup.run(ctx, inputs)
    removed = {e["id"]: e["metadata"]["duplicate_of"] for e in read_excluded(ctx.excluded_dir("i", "near_dedup"))}
    if keep_digits:  # the numbers count: only the reworded copy of i/0 is a near duplicate
        assert removed == {"i/copy": "i/0"} and read_ids(out["i"]) == [d["id"] for d in docs]
    else:  # datatrove's normalisation: every number is 0, so every record is the first one
        assert removed == {d["id"]: "i/0" for d in docs[1:] + [copy]} and read_ids(out["i"]) == ["i/0"]


def test_instruction_records_are_shingled_in_their_own_language(tmp_path):
    # one instruction source, records in either language: English on words (en_similarity 0.7), Chinese on
    # characters (zh_similarity 0.6); on characters the two arithmetic templates would be 0.68 similar
    texts = {
        "i/41": "User: How many seconds are in 41 minutes?\nAssistant: There are 2460 seconds in 41 minutes, "
                "since each minute has 60 seconds.",
        "i/50": "User: How many seconds are in 50 minutes?\nAssistant: There are 3000 seconds in 50 minutes, "
                "since each minute has 60 seconds.",
        "i/poem": "User: Write a short poem about the sea at night, with the moon and the stars in it.\n"
                  "Assistant: The sea at night is calm and deep, the moon above, the stars asleep.",
        "i/poem2": "User: Write a short poem about the sea at night, with the moon and the stars in it please.\n"
                   "Assistant: The sea at night is calm and deep, the moon above, the stars asleep.",
        "i/zh": "User: 请用三句话介绍一下长城的历史。\nAssistant: 长城始建于春秋战国时期，秦朝把各国的长城连接起来，"
                "明朝又大规模重修，形成了今天看到的样子。",
        "i/zh2": "User: 请用三句话介绍一下长城的历史吧。\nAssistant: 长城始建于春秋战国时期，秦朝把各国的长城连接起来，"
                 "明朝又大规模重修，形成了我们今天看到的样子。",
    }
    docs = [{"id": k, "text": t, "metadata": {"kind": "instruct"}} for k, t in texts.items()]
    ctx = stage_context(recipe_with(tmp_path, source("i", "instruct"), dedup={}))
    out = dedup.run(ctx, {"i": write_documents(tmp_path / "in", docs)})
    removed = {e["id"]: e["metadata"] for e in read_excluded(ctx.excluded_dir("i", "near_dedup"))}
    assert {k: m["duplicate_of"] for k, m in removed.items()} == {"i/poem2": "i/poem", "i/zh2": "i/zh"}
    assert removed["i/poem2"]["similarity"] >= 0.7 and removed["i/zh2"]["similarity"] >= 0.6
    assert read_ids(out["i"]) == ["i/41", "i/50", "i/poem", "i/zh"]


def test_keep_digits_names_unknown_kinds(tmp_path):
    ctx = stage_context(recipe_with(tmp_path, workdir=".", dedup={"near": {"keep_digits": ["web"]}}))
    with pytest.raises(RecipeError, match=r"dedup.near.keep_digits"):
        dedup.run(ctx, {})


def test_short_chinese_documents_still_have_shingles():
    # datatrove's default English word tokenizer gives no 5-gram for a short Chinese text
    assert text_ngrams("今天天气很好", "chars", 5).size == 2
    assert text_ngrams("你好", "chars", 5).size == 1  # shorter than n: one shingle of the whole text


def test_normalisation_ignores_case_punctuation_and_spaces():
    assert normalize("Hello, 世界！ 12 3", "chars") == "hello世界00"
    assert normalize("Hello,  World!", "words") == "hello world"
    # keep_digits: each digit of any script is its ASCII digit, nothing collapses
    assert normalize("第１２章 共 305 页", "chars", keep_digits=True) == "第12章共305页"
    assert normalize("Add 37 and 45: ٨٢", "words", keep_digits=True) == "add 37 and 45 82"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_keep_digits_changes_only_the_digits(text):
    # with every digit run collapsed to 0 (before separators go, as datatrove does) the text is
    # what datatrove's normalisation gives; characters are words without the separators
    words = normalize(text, "words", keep_digits=True)
    assert re.sub(r"[0-9]+", "0", words) == normalize(text, "words")
    assert re.sub(r"[0-9]+", "0", words).replace(" ", "") == normalize(text, "chars")
    assert words.replace(" ", "") == normalize(text, "chars", keep_digits=True)
    assert not (set(words) & set("０１２３４５６７８９٠١٢٣٤٥٦٧٨٩"))


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="天地玄黄宇宙洪荒日月盈昃", min_size=6, max_size=60), st.text(alphabet="天地玄黄宇宙洪荒", min_size=6, max_size=60))
def test_minhash_agreement_estimates_jaccard(a, b):
    sa, sb = np.unique(text_ngrams(a, "chars", 3)), np.unique(text_ngrams(b, "chars", 3))
    jaccard = len(np.intersect1d(sa, sb)) / len(np.union1d(sa, sb))
    sig = MinHasher(256, seed=3).signatures([sa, sb])
    agreement = float(np.mean(sig[0] == sig[1]))
    assert abs(agreement - jaccard) < 0.2
    if jaccard == 1.0:
        assert agreement == 1.0


def set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.unique(a), np.unique(b)
    return len(np.intersect1d(a, b)) / len(np.union1d(a, b))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_sketches_estimate_jaccard_exactly_below_k_and_closely_above(data):
    # two documents sharing a random part of their shingles, some repeated; k = 64 values per sketch
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    shared, only_a, only_b = (data.draw(st.integers(0, 400)) for _ in range(3))
    pool = rng.integers(0, 2**64 - 1, size=shared + only_a + only_b + 1, dtype=np.uint64, endpoint=True)
    a = np.concatenate([pool[:shared], pool[shared : shared + only_a], pool[:shared][: data.draw(st.integers(0, 50))]])
    b = np.concatenate([pool[:shared], pool[shared + only_a : -1]])
    if not a.size or not b.size:
        return
    sketcher = BottomKSketcher(64, seed=data.draw(st.integers(0, 1000)))
    sketches = sketcher.sketches([a, b])
    for row, values in zip(sketches, (a, b), strict=True):  # the k smallest distinct hashes, padded
        expected = np.unique(sketcher.sketches([np.unique(values)])[0])
        assert np.array_equal(np.unique(row), expected) and np.all(np.diff(row.astype(np.int64)) >= 0)
    estimate = float(sketch_similarity(sketches[:1], sketches[1:])[0])
    truth = set_jaccard(a, b)
    if np.unique(a).size < 64 and np.unique(b).size < 64:  # a full sketch may hold only part of its set
        assert estimate == pytest.approx(truth, abs=1e-6)
    else:  # at least 64 values: standard deviation <= 0.0625, so 0.35 is more than 5.5 of them
        assert abs(estimate - truth) < 0.35


def test_sketches_are_closer_to_jaccard_than_the_signature():
    # 800-character Chinese documents with a sixth replaced, over 40 independent hash functions
    rng = random.Random(11)
    errors = {"sketch": [], "signature": []}
    for trial in range(40):
        a = "".join(rng.choice(ZH_CHARS) for _ in range(800))
        b = a[:300] + "".join(rng.choice(ZH_CHARS) for _ in range(130)) + a[430:]
        sa, sb = text_ngrams(a, "chars", 5), text_ngrams(b, "chars", 5)
        truth = set_jaccard(sa, sb)
        sketches = BottomKSketcher(256, seed=trial).sketches([sa, sb])
        errors["sketch"].append(float(sketch_similarity(sketches[:1], sketches[1:])[0]) - truth)
        signatures = MinHasher(112, seed=trial).signatures([sa, sb])
        errors["signature"].append(float(np.mean(signatures[0] == signatures[1])) - truth)
    spread = {name: float(np.sqrt(np.mean(np.square(e)))) for name, e in errors.items()}
    print(f"root mean square error: {spread}")
    assert spread["sketch"] < 0.03 < spread["signature"]


def test_unknown_key_is_a_recipe_error(tmp_path):
    ctx = stage_context(recipe_with(tmp_path, workdir=".", dedup={"near": {"num_bukets": 3}}))
    with pytest.raises(RecipeError, match=r"dedup.near.num_bukets: unknown key \(did you mean 'num_buckets'\?\)"):
        dedup.run(ctx, {})


# Short Chinese texts: UI strings, headings and one-line sentences of 10-30 characters, each with a copy
# one character away (substituted, added or dropped), and distinct texts that share a template with one of
# them (another word in the same frame). 5-gram Jaccard finds none of the copies: one character changed in
# the middle of a 15-character text leaves 6 of 16 distinct 5-grams shared.
SHORT_TEXTS = [
    ("打开图像文件的对话框可以预览缩略图", "打开图像文件的对话匡可以预览缩略图"),
    ("使用这个命令可以把当前图层向上移动一层", "使用这个命令可以把当时图层向上移动一层"),
    ("选区编辑器显示当前图像的选区", "选区编辑器显视当前图像的选区"),
    ("在画布上单击并拖动鼠标来创建矩形选区", "在画布上单击并拖动属标来创建矩形选区"),
    ("这个滤镜让图像看起来像是用油画颜料画的", "这个滤镜让图像看起来象是用油画颜料画的"),
    ("软件包管理系统会自动处理依赖关系", "软件包管理系统将会自动处理依赖关系"),
    ("请在终端中输入以下命令来安装软件包", "请在终端中输人以下命令来安装软件包"),
    ("修改配置文件之后需要重新启动服务", "修改配置文件以后需要重新启动服务"),
    ("系统启动时会按顺序执行这些脚本", "系统启动时会按照顺序执行这些脚本"),
    ("备份重要数据是系统管理员的基本职责", "备份重要数据是系统官理员的基本职责"),
    ("网络接口的配置保存在这个文件中", "网络接口的配制保存在这个文件中"),
    ("用户可以在图形界面中修改桌面背景", "用户可以在图形介面中修改桌面背景"),
    ("内核模块可以在系统运行时加载和卸载", "内核模块可以在系统运作时加载和卸载"),
    ("渐变工具用颜色的渐变来填充选定区域", "渐变工具用颜色的渐变去填充选定区域"),
    ("图层蒙版决定图层中每个像素的不透明度", "图层蒙版决定图层中每个象素的不透明度"),
    ("复制粘贴的内容会出现在一个浮动图层里", "复制粘贴的内容将出现在一个浮动图层里"),
    ("这一章介绍如何使用命令行管理软件包", "这一章介绍如何用命令行管理软件包"),
    ("文件系统的权限决定谁可以读取这个文件", "文件系统的权限决定准可以读取这个文件"),
    ("画笔的大小可以在工具选项里调整", "画笔的大小可在工具选项里调整"),
    ("导出图像时可以选择文件格式和压缩级别", "导出图像时可以选泽文件格式和压缩级别"),
]
TEMPLATE_TEXTS = [  # distinct texts: another word (two or more characters) in the same frame
    "打开图像文件的对话框可以调整颜色曲线", "使用这个命令可以把当前图层向下合并一层", "选区编辑器显示当前路径的锚点",
    "在画布上单击并拖动鼠标来创建椭圆选区", "这个滤镜让图像看起来像是用彩色铅笔画的", "软件包管理系统会自动处理版本冲突",
    "请在终端中输入以下命令来删除软件包", "修改配置文件之后需要重新加载防火墙", "打开文件对话框的使用方法", "保存文件对话框的使用方法",
    "内核模块可以在系统启动时自动加载", "这一章介绍如何使用图形界面管理用户账户",
]


def short_docs(pairs=SHORT_TEXTS, template=TEMPLATE_TEXTS):
    docs = [{"id": f"t/{i:02d}", "text": a} for i, (a, _) in enumerate(pairs)]
    docs += [{"id": f"t/{i:02d}c", "text": b} for i, (_, b) in enumerate(pairs)]
    docs += [{"id": f"tpl/{i:02d}", "text": t} for i, t in enumerate(template)]
    return [d | {"metadata": {"kind": "mono", "language": "zh"}} for d in docs]


def test_short_chinese_texts_one_character_apart_are_near_duplicates(tmp_path):
    docs = short_docs()
    ctx, out = run_dedup(tmp_path, {"s": docs}, {"s": "zh"}, {"exact": False})
    removed = {e["id"]: e["metadata"] for e in read_excluded(ctx.excluded_dir("s", "near_dedup"))}
    assert {k: m["duplicate_of"] for k, m in removed.items()} == {f"t/{i:02d}c": f"t/{i:02d}" for i in range(len(SHORT_TEXTS))}
    assert all(m["edits"] == 1 and m["filter_reason"] == "near_duplicate" for m in removed.values())
    # every text that shares a template with another (打开文件对话框 / 保存文件对话框) is kept
    assert read_ids(out["s"]) == [f"t/{i:02d}" for i in range(len(SHORT_TEXTS))] + [f"tpl/{i:02d}" for i in range(len(TEMPLATE_TEXTS))]
    # they were compared: the 2-gram bands made template pairs candidates, and verification kept them
    pairs = np.fromfile(next((tmp_path / "work").rglob("candidates.pairs")), dtype=PAIR)
    assert (pairs["edits"] >= 2).sum() >= 5


def test_without_the_short_path_5_grams_miss_one_character_copies_and_merge_a_template(tmp_path):
    # a character changed in the middle of a 14-19 character text: 5-gram Jaccard 0.33-0.5, under zh_similarity
    assert max(jaccard(a, b) for a, b in SHORT_TEXTS) < 0.6
    ctx, out = run_dedup(tmp_path, {"s": short_docs()}, {"s": "zh"}, {"exact": False, "near": {"zh_short_chars": 0}})
    removed = {e["id"]: e["metadata"]["duplicate_of"] for e in read_excluded(ctx.excluded_dir("s", "near_dedup"))}
    # and a template pair goes: 打开 / 保存 at the start of a 12-character text leave 6 of 10 5-grams shared
    assert removed == {"tpl/09": "tpl/08"}


def test_a_label_added_before_a_short_text_is_a_near_duplicate_a_word_inside_is_not(tmp_path):
    texts = {
        "caption": "解释器相关软件包列表",
        "labelled": "表 12.8. 解释器相关软件包列表",  # the same caption with its table number: a copy
        "rule": "匹配其它已安装软件包所依赖的软件包",
        "negated": "匹配没有被其它已安装软件包所依赖的软件包",  # 5-gram Jaccard 0.61, but a word added inside
        "prev": "上一页",  # under zh_short_min_chars: one character is another text
        "next": "下一页",
        "prev_copy": "上一页！",  # equal after normalisation: still a copy
    }
    docs = [{"id": k, "text": t, "metadata": {"kind": "mono"}} for k, t in texts.items()]
    ctx, out = run_dedup(tmp_path, {"s": docs}, {"s": "zh"}, {"exact": False})
    removed = {e["id"]: e["metadata"]["duplicate_of"] for e in read_excluded(ctx.excluded_dir("s", "near_dedup"))}
    assert removed == {"labelled": "caption", "prev_copy": "prev"}
    assert read_ids(out["s"]) == ["caption", "rule", "negated", "prev", "next"]


def test_short_texts_are_found_whatever_their_minhash_values(tmp_path):
    # one band of one hash: a pair is a candidate only if datatrove's bucket stage reads both records, and it
    # stops at the first hash >= 2**61 - 1, which the minimum of a 3-character text's two 2-grams exceeds
    # one time in four
    rng = random.Random(4)
    docs = []
    for i in range(40):
        text = "".join(rng.choice(ZH_CHARS) for _ in range(3))
        docs += [{"id": f"{i:02d}", "text": text}, {"id": f"{i:02d}!", "text": text + "！"}]
    section = {"exact": False, "near": {"zh_similarity": None, "en_similarity": None, "num_buckets": 1, "hashes_per_bucket": 1}}
    ctx, out = run_dedup(tmp_path, {"s": docs}, {"s": "zh"}, section)
    removed = {e["id"]: e["metadata"]["duplicate_of"] for e in read_excluded(ctx.excluded_dir("s", "near_dedup"))}
    assert removed == {f"{i:02d}!": f"{i:02d}" for i in range(40)}


def test_short_bands_that_cannot_reach_one_edit_are_a_recipe_error(tmp_path):
    recipe = {"dedup": {"near": {"zh_short_ngram": 3}}}
    ctx = stage_context(recipe_with(tmp_path, workdir=".", **recipe))
    with pytest.raises(RecipeError, match=r"dedup.near: .*two short texts 1 edit\(s\) apart .*3-grams: Jaccard 0.45\) a candidate with probability 0.71"):
        dedup.run(ctx, {})


def levenshtein(a, b) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text("天地玄黄", max_size=12), st.text("天地玄黄", max_size=12)), min_size=1, max_size=20),
       st.integers(0, 3))
def test_bounded_edits_and_contained_agree_with_their_definitions(pairs, k):
    def rows(texts):
        return np.array([[ord(c) for c in t] + [0] * (12 - len(t)) for t in texts], dtype=np.uint32)

    a, b = rows([p[0] for p in pairs]), rows([p[1] for p in pairs])
    assert bounded_edits(a, b, k).tolist() == [min(levenshtein(x, y), k + 1) for x, y in pairs]
    assert contained(a, b).tolist() == [min(x, y, key=len) in max(x, y, key=len) if len(x) != len(y) else x == y
                                        for x, y in pairs]
