"""Curation filter stage: what a user sees in curated/, excluded/ and the report."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
import zstandard
from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.filters.base_filter import BaseFilter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.documents import iter_documents, iter_excluded
from common.recipe import Recipe
from common.sources import load_sources
from curation import filter_stage
from curation.config import InstructSection, NormalizeSection, ParallelSection, load_curation
from curation.instruct import InstructionFilter
from curation.lid import ExpectedLanguageFilter
from curation.normalize import Normalizer
from curation.parallel import ParallelPairFilter
from curation.quality_en import FastEnglishWordTokenizer
from curation.quality_zh import ChineseQualityFilter
from curation.readers import SourceReader, record_to_document
from curation.run import main as curation_main
from tests.curation_helpers import recipe_with, source, stage_context
from tests.curation_samples import EN_GOOD, EN_SPAM, FR_TEXT, ZH_GOOD, ZH_MIXED_TECH, ZH_SPAM, ZH_TRADITIONAL


def write_sources(root: Path) -> dict[str, int]:
    """Writes one source of every kind and input format; returns how many records each has."""
    root.mkdir(parents=True, exist_ok=True)
    zh_lines = [json.dumps({"id": f"z{i}", "text": t, "url": f"https://zh.example/{i}"}, ensure_ascii=False).encode()
                for i, t in enumerate([*ZH_GOOD, ZH_MIXED_TECH, ZH_TRADITIONAL, ZH_SPAM, EN_GOOD[0]])]
    zh_lines += [b'{"id": "broken", "text": "unterminated', b'{"id": "bad-utf8", "text": "\xff\xfe oops"}',
                 b'{"id": "nofield", "body": "no text field"}']
    with gzip.open(root / "zh.jsonl.gz", "wb") as f:
        f.write(b"\n".join(zh_lines) + b"\n")
    en = [json.dumps({"text": t}) for t in [*EN_GOOD, EN_SPAM, FR_TEXT]]
    (root / "en.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(("\n".join(en) + "\n").encode()))
    pairs = [
        ("今天天气很好，我们去公园散步吧。", "The weather is nice today, let's take a walk in the park."),
        ("他在2019年搬到了上海。", "He moved to Shanghai in 2021."),
        ("Hello world, this is English.", "Hello world, this is English."),
        ("这本书一共有三百页，我花了两天读完。", "This book has three hundred pages and I finished it in two days."),
        ("这本书一共有三百页，我花了两天读完。", "This book has three hundred pages and I finished it in two days."),
        ("请访问 https://a.example.com 了解更多。", "Please visit https://b.example.com to learn more."),
    ]
    (root / "pairs.tsv").write_text("zh\ten\n" + "\n".join(f"{z}\t{e}" for z, e in pairs) + "\nonly one column\n")
    alpaca = [
        {"instruction": "解释一下光合作用。", "input": "", "output": "光合作用是植物利用光能，把二氧化碳和水转化为有机物并释放氧气的过程。"},
        {"instruction": "Say hello.", "input": "", "output": "   "},
        {"instruction": "解释一下光合作用。", "input": "", "output": "光合作用发生在叶绿体中，需要阳光、水和二氧化碳。"},
    ]
    sharegpt = [{"conversations": [{"from": "human", "value": "What is the capital of France?"},
                                   {"from": "gpt", "value": "The capital of France is Paris."}]}]
    with open(root / "instruct.jsonl", "w") as f:
        for record in alpaca + sharegpt:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {"zh_web": len(zh_lines), "en_web": len(en), "pairs": len(pairs) + 1, "chat": len(alpaca) + len(sharegpt)}


def write_recipe(root: Path, **curation) -> Path:
    recipe = {
        "workdir": "work",
        "seed": 7,
        "sources": [
            {"kind": "mono", "name": "zh_web", "language": "zh", "input": {"path": "zh.jsonl.gz"}},
            {"kind": "mono", "name": "en_web", "language": "en", "input": {"path": "en.jsonl.zst"}},
            {"kind": "parallel", "name": "pairs", "input": {"path": "pairs.tsv"}},
            {"kind": "instruct", "name": "chat", "input": {"path": "instruct.jsonl"}},
        ],
        "curation": {"heldout_fraction": 0.0, "workers": 1, **curation},
    }
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    root = tmp_path_factory.mktemp("curation")
    counts = write_sources(root)
    assert curation_main([str(write_recipe(root))]) == 0
    return root / "work", counts


def excluded_by_id(workdir: Path, source: str) -> dict[str, dict]:
    out = {}
    for step_dir in (workdir / "excluded" / source).iterdir():
        for doc in iter_excluded(step_dir):
            out[doc["id"]] = {"step": step_dir.name, **doc["metadata"]}
    return out


def test_kept_plus_excluded_equals_read_for_every_source(curated):
    workdir, counts = curated
    report = json.loads((workdir / "curated" / "_report.json").read_text())
    for name, n_records in counts.items():
        kept = list(iter_documents(workdir / "curated" / name))
        excluded = excluded_by_id(workdir, name)
        assert len(kept) + len(excluded) == n_records, name
        entry = report["sources"][name]
        assert entry["read"]["docs"] == n_records
        assert entry["kept"]["docs"] == len(kept)
        assert sum(step["docs"] for step in entry["removed"].values()) == len(excluded)
        assert entry["balanced"]
    assert (workdir / "curated" / "_report.png").stat().st_size > 1000


def test_chinese_source_keeps_mixed_text_converts_traditional_and_drops_the_rest(curated):
    workdir, _ = curated
    kept = {d["id"]: d for d in iter_documents(workdir / "curated" / "zh_web")}
    assert {f"zh_web/z{i}" for i in range(len(ZH_GOOD))} <= set(kept)
    assert "zh_web/z4" in kept, "mixed Chinese/English technical text must survive language ID"
    assert "臺灣" not in kept["zh_web/z5"]["text"] and "台湾的夜市非常有名" in kept["zh_web/z5"]["text"]
    assert kept["zh_web/z0"]["metadata"]["url"] == "https://zh.example/0"
    assert kept["zh_web/z0"]["metadata"]["lid_score"] > 0.9
    excluded = excluded_by_id(workdir, "zh_web")
    assert excluded["zh_web/z6"]["step"] in {"language", "quality_zh"}  # spam
    assert excluded["zh_web/z7"] == excluded["zh_web/z7"] | {"step": "language", "filter_reason": "not_zh"}
    bad = {k: v for k, v in excluded.items() if v["step"] == "read"}
    assert {v["filter_reason"] for v in bad.values()} == {"malformed_json", "invalid_utf8", "missing_field"}
    assert sorted(v["line"] for v in bad.values()) == [9, 10, 11]
    assert all(v["file"].endswith("zh.jsonl.gz") for v in bad.values())


def test_english_pairs_and_instructions(curated):
    workdir, _ = curated
    en_excluded = excluded_by_id(workdir, "en_web")
    assert {v["filter_reason"] for v in en_excluded.values()} >= {"not_en"}
    assert len(list(iter_documents(workdir / "curated" / "en_web"))) == len(EN_GOOD)
    pair_reasons = {v["filter_reason"] for v in excluded_by_id(workdir, "pairs").values()}
    assert pair_reasons == {"numbers_mismatch", "identical_sides", "duplicate_pair", "urls_mismatch", "wrong_column_count"}
    pairs = list(iter_documents(workdir / "curated" / "pairs"))
    assert len(pairs) == 2 and all(set(p["metadata"]) >= {"zh", "en"} for p in pairs)
    chats = {d["id"]: d for d in iter_documents(workdir / "curated" / "chat")}
    reasons = sorted(v["filter_reason"] for v in excluded_by_id(workdir, "chat").values())
    assert reasons == ["duplicate_prompt", "empty_answer"]
    messages = [d["metadata"]["messages"] for d in chats.values()]
    assert [{"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "The capital of France is Paris."}] in messages
    assert {d["metadata"]["language"] for d in chats.values()} == {"zh", "en"}


def test_bad_records_error_policy_names_file_and_line(tmp_path, capsys):
    write_sources(tmp_path)
    assert curation_main([str(write_recipe(tmp_path, bad_records="error"))]) == 2
    err = capsys.readouterr().err
    assert "zh.jsonl.gz:9: malformed_json" in err.replace("\n", "")


def test_restart_after_a_crash_skips_finished_tasks_and_gives_the_same_output(tmp_path):
    """Two tasks over two files; task 1 'crashes' (no completion marker, truncated output); rerun repairs it."""
    def setup(root: Path) -> Path:
        root.mkdir()
        (root / "zh").mkdir()
        for part in range(2):
            with open(root / "zh" / f"part{part}.jsonl", "w") as f:
                for i, text in enumerate(ZH_GOOD + [ZH_SPAM]):
                    f.write(json.dumps({"id": f"{part}-{i}", "text": text}, ensure_ascii=False) + "\n")
        recipe = {"workdir": "work", "sources": [{"kind": "mono", "name": "zh", "language": "zh", "input": {"path": "zh"}, "tasks": 2}],
                  "curation": {"heldout_fraction": 0.4, "workers": 1}}
        (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
        return root / "recipe.yaml"

    reference = setup(tmp_path / "reference")
    assert curation_main([str(reference)]) == 0
    crashed = setup(tmp_path / "crashed")
    assert curation_main([str(crashed)]) == 0
    work = crashed.parent / "work"
    (work / "logs/filter/zh/completions/00001").unlink()
    [task1_output] = (work / "stages/filter/zh").glob("*_00001.parquet")
    task1_output.write_bytes(b"PAR1 truncated")
    shutil.rmtree(work / "logs/publish")
    shutil.rmtree(work / "curated")
    [finished_task_output] = (work / "stages/filter/zh").glob("*_00000.parquet")
    before = finished_task_output.stat().st_mtime_ns
    assert curation_main([str(crashed)]) == 0
    assert finished_task_output.stat().st_mtime_ns == before, "a finished task was run again"
    for folder in ("curated/zh", "heldout/zh"):
        ref = sorted((d["id"], d["text"]) for d in iter_documents(reference.parent / "work" / folder))
        got = sorted((d["id"], d["text"]) for d in iter_documents(work / folder))
        assert ref == got
        assert ref or folder == "heldout/zh"
    ref_report = json.loads((reference.parent / "work/curated/_report.json").read_text())["sources"]
    got_report = json.loads((work / "curated/_report.json").read_text())["sources"]
    assert ref_report == got_report


class NoDigits(BaseFilter):
    """A filter step added to the stage: it only declares its excluded/ folder, nothing else."""

    name = "🔢 No digits"
    excluded_name = "no_digits"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return (False, "has_digits") if any(ch.isdigit() for ch in doc.text) else True


def test_a_new_filter_step_is_reported_and_cleared_by_force_filter(tmp_path, monkeypatch):
    (tmp_path / "zh.jsonl").write_text("".join(
        json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n"
        for doc_id, text in [("a", ZH_GOOD[0] + "2024"), ("b", ZH_GOOD[1]), ("c", ZH_GOOD[2] + "(3)"), ("d", ZH_SPAM)]
    ))
    recipe = {"workdir": "work", "sources": [{"kind": "mono", "name": "zh", "language": "zh", "input": {"path": "zh.jsonl"}}],
              "curation": {"heldout_fraction": 0.0, "workers": 1}, "dedup": {"enabled": False}}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    build_pipeline = filter_stage.build_pipeline

    def with_no_digits(ctx, source):
        reader, *rest = build_pipeline(ctx, source)
        return [reader, ctx.excluding(NoDigits(), source.name), *rest]

    reader, *steps = filter_stage.EXCLUDING_STEPS
    monkeypatch.setattr(filter_stage, "EXCLUDING_STEPS", (reader, NoDigits, *steps))
    monkeypatch.setattr(filter_stage, "build_pipeline", with_no_digits)
    assert curation_main([str(tmp_path / "recipe.yaml")]) == 0
    work = tmp_path / "work"
    report = json.loads((work / "curated" / "_report.json").read_text())["sources"]["zh"]
    assert list(report["removed"]) == ["no_digits", "quality_zh"]  # in the order of the stage's steps
    assert report["removed"]["no_digits"]["docs"] == 2 and report["removed"]["no_digits"]["reasons"] == {"has_digits": 2}
    assert report["read"]["docs"] == 4 and report["kept"]["docs"] == 1 and report["balanced"]

    # the step leaves the pipeline (as when a recipe turns it off): --force filter clears its folder
    monkeypatch.setattr(filter_stage, "build_pipeline", build_pipeline)
    assert curation_main([str(tmp_path / "recipe.yaml"), "--force", "filter"]) == 0
    assert not (work / "excluded" / "zh" / "no_digits").exists()
    report = json.loads((work / "curated" / "_report.json").read_text())["sources"]["zh"]
    assert list(report["removed"]) == ["quality_zh"] and report["kept"]["docs"] == 3 and report["balanced"]


def test_a_step_no_stage_declares_cannot_write_excluded_documents(tmp_path):
    ctx = stage_context(recipe_with(tmp_path, source("s", "mono", "zh")))
    with pytest.raises(TypeError, match=r"NoDigits writes excluded/s/no_digits/ but is in no stage's EXCLUDING_STEPS"):
        ctx.excluding(NoDigits(), "s")


record = st.one_of(
    st.builds(lambda t: json.dumps({"text": t}, ensure_ascii=False).encode(), st.text(min_size=1, max_size=30)),
    st.just(b'{"text": "cut'),
    st.just(b'{"other": 1}'),
    st.just(b'{"text": 5}'),
    st.just(b"[1, 2]"),
    st.just(b'{"text": "\xc3\x28 invalid"}'),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(record, max_size=25))
def test_reader_accounts_for_every_record(tmp_path, lines):
    """Property: documents yielded + records set aside = non-blank lines in the file."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    recipe = Recipe.from_dict({"sources": [{"kind": "mono", "name": "s", "language": "en", "input": {"path": str(path)}}]})
    source = load_sources(recipe)[0]

    class Collect:
        def __init__(self):
            self.docs = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, doc, rank=0):
            self.docs.append(doc)

    bad = Collect()
    docs = list(SourceReader(source, "exclude", bad).run())
    non_blank = [line for line in lines if line.strip()]
    assert len(docs) + len(bad.docs) == (len(non_blank) or 1)  # an empty file is one set-aside record
    assert all(d.metadata["filter_reason"] for d in bad.docs)
    assert all(isinstance(d.text, str) for d in docs)


def test_chinese_quality_keeps_chinese_that_stock_english_filters_remove():
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(ZH_GOOD + [ZH_MIXED_TECH])]
    ours = ChineseQualityFilter(load_curation(Recipe.from_dict({})).quality_zh)
    assert all(ours.filter(d) is True for d in docs)
    assert ours.filter(Document(text=ZH_SPAM, id="spam"))[0] is False
    assert ours.filter(Document(text="的" * 60, id="rep"))[0] is False
    # datatrove's English defaults drop good Chinese: no whitespace words, no English stop words
    stock = GopherQualityFilter(language=FastEnglishWordTokenizer())
    assert all(stock.filter(d) is not True for d in docs[:4])
    stock_rep = GopherRepetitionFilter(language=FastEnglishWordTokenizer())
    assert all(stock_rep.filter(Document(text=EN_GOOD[i], id="e")) is True for i in range(2))


def test_language_id_threshold_on_mixed_text_and_wrong_language():
    zh = ExpectedLanguageFilter("zh", 0.5)
    assert zh.filter(Document(text=ZH_MIXED_TECH, id="m")) is True
    assert zh.filter(Document(text=EN_GOOD[0], id="e")) == (False, "not_zh")
    en = ExpectedLanguageFilter("en", 0.65)
    assert en.filter(Document(text=FR_TEXT, id="f")) == (False, "not_en")


def test_normalizer_repairs_text_but_keeps_chinese_punctuation():
    norm = Normalizer(NormalizeSection(), chinese=True)
    assert norm.fix("这是一个中文句子，“引号”也要保留！".encode().decode("latin-1"), chinese=True) == "这是一个中文句子，“引号”也要保留！"
    assert "\x00" not in norm.fix("控制\x00字符\x1b", chinese=True)
    assert norm.fix("這是繁體中文，（測試）", chinese=True) == "这是繁体中文，（测试）"
    assert norm.fix("ＡＢＣ，full width stays", chinese=False) == "ＡＢＣ，full width stays"


@pytest.mark.parametrize(
    "zh,en,reason",
    [
        ("", "Hello there.", "empty_side"),
        ("我有三个苹果，它们都很甜。", "I have three apples, and they are all sweet.", None),
        ("我有3个苹果。", "I have 5 apples.", "numbers_mismatch"),
        ("我在2019年毕业，后来去了北京工作。", "I graduated in 2019 and then went to work in Beijing.", None),
        ("Good morning everyone.", "Good morning everyone!", "zh_side_not_chinese"),
        ("早上好，大家好，今天我们来学习新的课文。", "早上好", "copied_side"),
        ("今天我们来学习一篇非常长而且非常有意思的新课文，大家要认真听讲，下课以后还要写一篇读后感。", "It is short.", "length_ratio"),
        ("今天我们学习新课文。", "Nous apprenons une nouvelle leçon aujourd'hui, mes amis.", "en_side_not_english"),
    ],
)
def test_parallel_pair_checks(zh, en, reason):
    result = ParallelPairFilter(ParallelSection()).filter(Document(text=f"{zh}\n{en}", id="p", metadata={"zh": zh, "en": en}))
    assert result is True if reason is None else result == (False, reason)


def test_instruction_schemas_normalise_to_the_same_messages():
    from common.sources import InstructSource

    source = InstructSource(kind="instruct", name="i", input={"hub": "x/y"})
    expected = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]
    alpaca = record_to_document(source, {"instruction": "Hi?", "input": "", "output": "Hello."}, "a")
    sharegpt = record_to_document(source, {"conversations": [{"from": "human", "value": "Hi?"}, {"from": "gpt", "value": "Hello."}]}, "b")
    messages = record_to_document(source, {"messages": expected}, "c")
    assert alpaca.metadata["messages"] == sharegpt.metadata["messages"] == messages.metadata["messages"] == expected


@pytest.mark.parametrize(
    "messages,reason",
    [
        ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A complete answer."}], None),
        ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": " "}], "empty_answer"),
        ([{"role": "user", "content": "Q?"}], "no_user_or_assistant_turn"),
        ([{"role": "user", "content": "Explain."}, {"role": "assistant", "content": "Packages in stable are well tested. Packages in unstable are the newest, but they might have bu"}], "truncated_answer"),
        ([{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "The capital of France is Paris"}], None),
        ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "x" * 9000 + "."}], "overlong"),
    ],
)
def test_instruction_filter_reasons(messages, reason):
    doc = Document(text="", id="c", metadata={"messages": messages})
    result = InstructionFilter(InstructSection()).filter(doc)
    assert result is True if reason is None else result == (False, reason)


def test_slurm_executor_writes_a_job_script_without_a_cluster(tmp_path, monkeypatch):
    import datatrove.executor.slurm as slurm

    write_sources(tmp_path)
    recipe_path = write_recipe(tmp_path, executor="slurm", slurm={"partition": "cpu", "time": "02:00:00", "cpus_per_task": 4})
    submitted = []
    monkeypatch.setattr(slurm, "launch_slurm_job", lambda contents, retriever, *args: submitted.append(contents) or "4242")
    monkeypatch.setattr(slurm.SlurmPipelineExecutor, "launch_merge_stats", lambda self: None)
    bin_dir = tmp_path / "bin"  # curation.run checks that Slurm's sbatch is there before submitting anything
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert curation_main([recipe_path.as_posix()]) == 0
    assert len(submitted) == 6  # one array job per source, then dedup and publish as one job each (the chain)
    script = submitted[0]
    assert "#SBATCH --partition=cpu" in script and "#SBATCH --time=02:00:00" in script
    assert "#SBATCH --cpus-per-task=4" in script and "launch_pickled_pipeline" in script
    assert (tmp_path / "work/logs/filter/zh_web/executor.pik").exists()


@pytest.mark.slow
def test_ray_executor_gives_the_same_output_as_local(tmp_path):
    """The same pipeline on datatrove's Ray executor (a local Ray instance) and the local executor."""
    pytest.importorskip("ray")
    outputs = {}
    for executor in ("local", "ray"):
        root = tmp_path / executor
        write_sources(root)
        assert curation_main([str(write_recipe(root)), "--executor", executor, "--until", "filter"]) == 0
        outputs[executor] = sorted((d["id"], d["text"]) for d in iter_documents(root / "work/stages/filter/zh_web"))
    assert outputs["ray"] == outputs["local"] and outputs["local"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tokenize": {"seqlen": 64}}, "tokenize.seqlen: unknown key (did you mean 'seq_len'?)"),
        ({"decontamination": {"eval_files": ["bad.jsonl"]}}, "bad.jsonl: line 2: not valid JSON"),
        ({"curation": {"quality_zh": {"dup_ngrams": {65: 0.1}}}},
         "curation.quality_zh.dup_ngrams[65]: Input should be less than or equal to 64"),
    ],
)
def test_recipe_and_evaluation_file_errors_come_before_any_stage_runs(tmp_path, capsys, extra, message):
    write_sources(tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"q": "ok"}\n{"q": broken\n')
    path = write_recipe(tmp_path)
    recipe = yaml.safe_load(path.read_text()) | extra
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True))
    assert curation_main([str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "work" / "stages").exists()  # found before filtering started
