"""Decontamination: documents that share a long n-gram with an evaluation file are removed."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import curation.decontam as decontam
from common.recipe import Recipe, RecipeError
from tests.curation_helpers import (
    read_excluded,
    read_ids,
    recipe_with,
    source,
    stage_context,
    write_documents,
)

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
    ctx = stage_context(recipe_with(tmp_path, source("s", "mono", "zh"), decontamination={"eval_files": files}))
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
    ctx = stage_context(recipe_with(tmp_path, source("s", "mono", "zh"), decontamination={"eval_files": ["ceval"]}))
    assert decontam.eval_file_list([tmp_path / "ceval"]) == [tmp_path / "ceval/dev/law.csv", tmp_path / "ceval/test/law.csv"]
    out = decontam.run(ctx, {"s": write_documents(tmp_path / "in", docs)})
    assert read_ids(out["s"]) == ["zh/clean"]
    (removed,) = read_excluded(ctx.excluded_dir("s", "decontaminate"))
    assert removed["metadata"]["contaminated_by"] == "ceval/dev/law.csv"  # dev and test told apart


SPLIT_QUESTIONS = {  # one question per split of each benchmark, in the layouts they are distributed in
    "ceval/dev/law_dev.csv": "根据我国宪法的规定，全国人民代表大会常务委员会行使下列哪一项职权",
    "ceval/val/biology_val.csv": "下列关于光合作用过程中能量转换的说法中，哪一项是完全正确的",
    "ceval/test/poetry_test.csv": "唐代诗人杜甫被后人尊称为诗圣，他的代表作品不包括下列哪一首诗",
    "cmmlu/dev/geography.csv": "我国面积最大的淡水湖是位于江西省北部的哪一个湖泊，请选择正确答案",
    "cmmlu/test/grammar.csv": "在古代汉语语法中，宾语前置现象最常出现在下列哪一种句式之中",
    "mmlu/dev/geology_dev.csv": "Which of the following statements about the structure of the inner core of the Earth is correct",
    "mmlu/val/farming_val.csv": "A farmer plants three fields with different crops and wants to know which one grows the fastest",
    "mmlu/test/economics_test.csv": "According to the theory of comparative advantage which country should specialise in producing wine",
}


def test_decontamination_sees_every_split(tmp_path):
    """Benchmark folders in `eval_files`: a document quoting a question of any split (the few-shot dev split,
    val, test) is removed and names that split's file."""
    rows = {"ceval": "id,question,A,B,C,D,answer\n0,{q},a,b,c,d,A\n", "cmmlu": ",Question,A,B,C,D,Answer\n0,{q},a,b,c,d,A\n",
            "mmlu": "{q},a,b,c,d,A\n"}  # C-Eval, CMMLU with a header row, MMLU without
    for name, question in SPLIT_QUESTIONS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rows[name.split("/")[0]].format(q=question), encoding="utf-8")

    def quoting(question: str) -> str:
        return f"Study notes: {question}? See the answer key." if question.isascii() else f"复习资料：{question}？答案见书后。"

    docs = [{"id": name, "text": quoting(question)} for name, question in SPLIT_QUESTIONS.items()]
    docs.append({"id": "clean", "text": "今天天气很好，我们去公园散步，看到很多人在放风筝。"})
    ctx = stage_context(recipe_with(tmp_path, source("s", "mono", "zh"),
                                    decontamination={"eval_files": ["ceval", "cmmlu", "mmlu"]}))
    out = decontam.run(ctx, {"s": write_documents(tmp_path / "in", docs)})
    assert read_ids(out["s"]) == ["clean"]
    removed = {e["id"]: e["metadata"]["contaminated_by"] for e in read_excluded(ctx.excluded_dir("s", "decontaminate"))}
    assert removed == {name: name for name in SPLIT_QUESTIONS}


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
    ctx = stage_context(recipe_with(tmp_path, source("s", "mono", "zh"), decontamination={"eval_files": ["gaokao.json"]}))
    out = decontam.run(ctx, {"s": write_documents(tmp_path / "in", docs)})
    assert read_ids(out["s"]) == ["zh/other", "en/math"]
