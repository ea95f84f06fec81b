"""Decontamination: documents that share a long n-gram with an evaluation file are removed."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import curation.decontam as decontam
from common.recipe import Recipe, RecipeError
from tests.curation_helpers import Source, StageContext, read_excluded, read_ids, write_documents

CEVAL_Q = "下列关于中华人民共和国宪法修改程序的表述中正确的是哪一项"
MMLU_Q = "Which of the following best describes the function of the mitochondria in eukaryotic cells"


def write_eval_files(tmp_path):
    (tmp_path / "ceval.csv").write_text(f"id,question,A,B\n1,{CEVAL_Q},全国人大常委会提议,国务院提议\n", encoding="utf-8")
    (tmp_path / "mmlu.jsonl").write_text(json.dumps({"question": MMLU_Q, "choices": ["energy", "storage"]}) + "\n")
    pq.write_table(pa.table({"question": ["一道完全不同的高考语文阅读理解题目的题干内容在这里"]}), tmp_path / "gaokao.parquet")
    (tmp_path / "cmmlu.json").write_text(json.dumps([{"q": "古代汉语中“之”字用作代词时通常指代的对象是什么"}], ensure_ascii=False))
    return ["ceval.csv", "mmlu.jsonl", "gaokao.parquet", "cmmlu.json"]


def test_overlapping_documents_removed_with_reason(tmp_path):
    files = write_eval_files(tmp_path)
    docs = [
        {"id": "zh/clean", "text": "今天天气很好，我们去公园散步，看到很多人在放风筝。"},
        {"id": "zh/ceval", "text": "练习题：" + CEVAL_Q[2:20] + "。答案见下页。"},  # 18 shared characters
        {"id": "zh/cmmlu", "text": "复习资料 古代汉语中“之”字用作代词时通常指代 的内容"},
        {"id": "zh/short", "text": "中华人民共和国宪法"},  # a common phrase, shorter than the n-gram
        {"id": "en/mmlu", "text": "Quiz: which of the following best describes the function of the heart?"},
        {"id": "en/clean", "text": "The mitochondria is the powerhouse of the cell, as everyone knows."},
    ]
    recipe = Recipe.from_dict({"decontamination": {"eval_files": files}}, root=tmp_path)
    ctx = StageContext(recipe, tmp_path / "work", [Source("s")])
    out = decontam.run(ctx, {"s": write_documents(tmp_path / "in", docs)})
    assert read_ids(out["s"]) == ["zh/clean", "zh/short", "en/clean"]
    removed = {e["id"]: e["metadata"] for e in read_excluded(ctx.excluded_dir("s", "decontaminate"))}
    assert {k: (m["filter_reason"], m["contaminated_by"]) for k, m in removed.items()} == {
        "zh/ceval": ("decontaminate", "ceval.csv"),
        "zh/cmmlu": ("decontaminate", "cmmlu.json"),
        "en/mmlu": ("decontaminate", "mmlu.jsonl"),
    }


def test_missing_eval_file_names_the_key(tmp_path):
    with pytest.raises(RecipeError, match=r"decontamination.eval_files\[0\]: no such file or folder"):
        Recipe.from_dict({"decontamination": {"eval_files": ["nope.csv"]}}, root=tmp_path).section(
            "decontamination", decontam.DecontaminationSection
        )


def test_malformed_jsonl_names_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "ok"}\n{"q": broken\n')
    with pytest.raises(decontam.EvalFileError, match=r"bad.jsonl: line 2: not valid JSON"):
        decontam.build_index([bad], 13, 10)


def test_a_folder_stands_for_its_evaluation_files_and_records_name_the_file(tmp_path):
    for split in ("dev", "test"):
        (tmp_path / "ceval" / split).mkdir(parents=True)
        (tmp_path / "ceval" / split / "law.csv").write_text(f"id,question\n1,{CEVAL_Q}{split}\n", encoding="utf-8")
    (tmp_path / "ceval" / "README.md").write_text("not an evaluation file")
    docs = [{"id": "zh/ceval", "text": "练习：" + CEVAL_Q[3:20]}, {"id": "zh/clean", "text": "今天天气很好。"}]
    recipe = Recipe.from_dict({"decontamination": {"eval_files": ["ceval"]}}, root=tmp_path)
    ctx = StageContext(recipe, tmp_path / "work", [Source("s")])
    assert decontam.eval_file_list([tmp_path / "ceval"]) == [tmp_path / "ceval/dev/law.csv", tmp_path / "ceval/test/law.csv"]
    out = decontam.run(ctx, {"s": write_documents(tmp_path / "in", docs)})
    assert read_ids(out["s"]) == ["zh/clean"]
    (removed,) = read_excluded(ctx.excluded_dir("s", "decontaminate"))
    assert removed["metadata"]["contaminated_by"] == "ceval/dev/law.csv"  # dev and test told apart


def test_traditional_evaluation_text_matches_simplified_documents(tmp_path):
    (tmp_path / "tmmlu.jsonl").write_text(json.dumps({"question": "下列關於中華人民共和國憲法修改程序的表述中正確的是哪一項"},
                                                     ensure_ascii=False) + "\n", encoding="utf-8")
    index = decontam.build_index([tmp_path / "tmmlu.jsonl"], 13, 10)
    document = decontam.cjk_char_ngrams("练习题：" + CEVAL_Q[2:20], 13, 7)  # the filter stage made it Simplified
    assert decontam._first_match(document, index["chars_hashes"]) >= 0


def test_unreadable_evaluation_files_are_one_line_errors(tmp_path):
    (tmp_path / "gbk.csv").write_bytes(f"id,question\n1,{CEVAL_Q}\n".encode("gbk"))
    with pytest.raises(decontam.EvalFileError, match=r"gbk.csv: not UTF-8 text .*iconv -f GB18030"):
        decontam.build_index([tmp_path / "gbk.csv"], 13, 10)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(decontam.EvalFileError, match=r"notes.txt: unknown evaluation file type '.txt'"):
        decontam.build_index([tmp_path / "notes.txt"], 13, 10)
    (tmp_path / "empty").mkdir()
    with pytest.raises(decontam.EvalFileError, match=r"empty: a folder with no evaluation files"):
        decontam.eval_file_list([tmp_path / "empty"])
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(decontam.EvalFileError, match=r"broken.parquet: cannot be read"):
        decontam.build_index([tmp_path / "broken.parquet"], 13, 10)


def test_a_mostly_formula_gaokao_question_is_still_found(tmp_path):
    # GAOKAO-Bench's nested JSON; the question has 6 Chinese characters, too few for a half-Chinese window
    question = "设复数z满足(1+i)z=2i，则|z|=（　　）"
    (tmp_path / "gaokao.json").write_text(json.dumps({"example": [{"question": question, "answer": ["C"]}]},
                                                     ensure_ascii=False), encoding="utf-8")
    docs = [
        {"id": "zh/leak", "text": "2023年高考数学真题：设复数z满足(1+i)z=2i，则|z|=？答案为根号2。"},
        {"id": "zh/other", "text": "设复数z满足z的平方等于负一，求z的值。这是一道常见的练习题。"},
        {"id": "en/math", "text": "Solve (1+i)z=2i for z and report |z| = sqrt(2)."},
    ]
    recipe = Recipe.from_dict({"decontamination": {"eval_files": ["gaokao.json"]}}, root=tmp_path)
    ctx = StageContext(recipe, tmp_path / "work", [Source("s")])
    out = decontam.run(ctx, {"s": write_documents(tmp_path / "in", docs)})
    assert read_ids(out["s"]) == ["zh/other", "en/math"]
