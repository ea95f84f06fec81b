"""Benchmark files in the C-Eval, CMMLU and MMLU layouts: parsing, errors that name file and line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.recipe import Recipe, RecipeError
from evaluation.benchmarks import BenchmarkError, load_benchmark, read_file
from evaluation.config import BenchmarkSection, EvaluationSection

SAMPLES = Path(__file__).resolve().parents[1] / "recipes" / "eval_samples"


def bench(fmt: str, path: Path, **kw) -> BenchmarkSection:
    return BenchmarkSection.model_validate({"name": fmt, "format": fmt, "path": str(path), **kw})


@pytest.mark.parametrize(
    ("fmt", "split", "subjects"),
    [
        ("ceval", "val", ["elementary_mathematics", "high_school_geography"]),
        ("cmmlu", "test", ["chinese_geography", "elementary_mathematics"]),
        ("mmlu", "test", ["elementary_mathematics", "high_school_geography"]),
    ],
)
def test_project_samples_parse_in_their_distribution_layout(fmt, split, subjects):
    loaded = load_benchmark(bench(fmt, SAMPLES / fmt, shots=5))
    assert [s.name for s in loaded] == subjects
    for subject in loaded:
        assert len(subject.questions) == 10 and len(subject.dev) == 5
        assert all(q.answer in "ABCD" and len(q.choices) == 4 and q.question for q in subject.questions)
        assert subject.questions[0].line == 1 if fmt == "mmlu" else subject.questions[0].line == 2


def test_ceval_subject_mapping_gives_chinese_names_and_recipe_overrides():
    names = {s.name: s.display_name for s in load_benchmark(bench("ceval", SAMPLES / "ceval"))}
    assert names == {"elementary_mathematics": "小学数学", "high_school_geography": "高中地理"}
    override = bench("ceval", SAMPLES / "ceval", subject_names={"elementary_mathematics": "算术"})
    assert load_benchmark(override)[0].display_name == "算术"
    assert load_benchmark(bench("mmlu", SAMPLES / "mmlu"))[1].display_name == "high school geography"


def test_ceval_test_split_has_no_answers_and_is_refused_for_scoring():
    questions = read_file(SAMPLES / "ceval" / "test" / "elementary_mathematics_test.csv", "ceval", "test")
    assert len(questions) == 10 and all(q.answer is None for q in questions)
    with pytest.raises(BenchmarkError, match="no answers.*split: val"):
        load_benchmark(bench("ceval", SAMPLES / "ceval", split="test"))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_mmlu_row_names_file_and_line(tmp_path):
    file = _write(
        tmp_path / "mmlu" / "test" / "x_test.csv",
        'q1,a,b,c,d,A\n"multi\nline q",a,b,c,d,B\nq3,a,b,c,D\n',
    )
    with pytest.raises(BenchmarkError, match=rf"{file}:4: 5 fields, expected 6"):
        read_file(file, "mmlu", "test")


def test_bad_answer_letter_names_file_and_line(tmp_path):
    file = _write(tmp_path / "val" / "s_val.csv", "id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n1,q,a,b,c,d,E\n")
    with pytest.raises(BenchmarkError, match=rf"{file}:3: answer 'E' is not one of A, B, C, D"):
        read_file(file, "ceval", "val")


def test_missing_cmmlu_column_and_ragged_row(tmp_path):
    file = _write(tmp_path / "test" / "s.csv", ",Question,A,B,C,Answer\n0,q,a,b,c,A\n")
    with pytest.raises(BenchmarkError, match=rf"{file}:1: missing column 'D'"):
        read_file(file, "cmmlu", "test")
    file = _write(tmp_path / "test" / "t.csv", ",Question,A,B,C,D,Answer\n0,q,a,b,c,d,A,extra\n")
    with pytest.raises(BenchmarkError, match=rf"{file}:2: 8 fields, the header has 7"):
        read_file(file, "cmmlu", "test")


def test_missing_dev_file_and_unknown_subject(tmp_path):
    _write(tmp_path / "test" / "s_test.csv", "q,a,b,c,d,A\n")
    with pytest.raises(BenchmarkError, match=r"s_dev.csv: missing; 5-shot"):
        load_benchmark(bench("mmlu", tmp_path, shots=5))
    with pytest.raises(BenchmarkError, match=r"no file for subjects \['nope'\]"):
        load_benchmark(bench("mmlu", tmp_path, shots=0, subjects=["nope"]))
    with pytest.raises(BenchmarkError, match="no such folder"):
        load_benchmark(bench("mmlu", tmp_path, shots=0, split="val"))


def test_recipe_section_errors_name_the_yaml_path_and_line(tmp_path):
    recipe_file = _write(
        tmp_path / "r.yaml",
        f"evaluation:\n  benchmarks:\n    - name: m\n      format: mmlu\n      path: {SAMPLES / 'mmlu'}\n"
        "      shot: 5\n",
    )
    with pytest.raises(RecipeError, match=r"line 6: evaluation.benchmarks\[0\].shot: unknown key \(did you mean 'shots'"):
        Recipe.load(recipe_file).section("evaluation", EvaluationSection)
    bad_template = {"benchmarks": [{"name": "m", "format": "mmlu", "path": str(SAMPLES / "mmlu"), "template": "x"}]}
    with pytest.raises(RecipeError, match=r"template: must contain \{prompt\}"):
        Recipe.from_dict({"evaluation": bad_template}).section("evaluation", EvaluationSection)
    dev_split = {"benchmarks": [{"name": "m", "format": "cmmlu", "path": str(SAMPLES / "cmmlu"), "split": "val"}]}
    with pytest.raises(RecipeError, match=r"split 'val' is not a scored split of cmmlu"):
        Recipe.from_dict({"evaluation": dev_split}).section("evaluation", EvaluationSection)
    unknown = {"benchmarks": [{"name": "m", "format": "mmlu_pro", "path": str(SAMPLES / "mmlu")}]}
    with pytest.raises(RecipeError, match=r"format: .*unknown benchmark format 'mmlu_pro' \(did you mean 'mmlu'\?\); known: ceval, cmmlu, mmlu"):
        Recipe.from_dict({"evaluation": unknown}).section("evaluation", EvaluationSection)


cell = st.text(st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from(",\"\n，。"), min_size=1, max_size=30)
cell = cell.filter(lambda s: s.strip() != "")
rows = st.lists(st.tuples(cell, cell, cell, cell, cell, st.sampled_from("ABCD")), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(rows=rows, fmt=st.sampled_from(["ceval", "cmmlu", "mmlu"]))
def test_any_text_written_with_csv_reads_back_identically(tmp_path_factory, rows, fmt):
    file = tmp_path_factory.mktemp("b") / "s.csv"
    with file.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        if fmt == "ceval":
            writer.writerow(["id", "question", "A", "B", "C", "D", "answer"])
        elif fmt == "cmmlu":
            writer.writerow(["", "Question", "A", "B", "C", "D", "Answer"])
        for k, row in enumerate(rows):
            writer.writerow(list(row) if fmt == "mmlu" else [k, *row])
    parsed = read_file(file, fmt, "test" if fmt != "ceval" else "val")
    assert [(q.question, *q.choices, q.answer) for q in parsed] == [tuple(r) for r in rows]
