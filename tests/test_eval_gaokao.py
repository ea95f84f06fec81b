"""GAOKAO-Bench objective questions (native JSON, options inside the text, multiple-answer sets with the
benchmark's partial credit, points), the papers' suite recipe, leaderboard categories and chat prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.recipe import Recipe, RecipeError
from evaluation.benchmarks import FORMATS, BenchmarkError, Question, load_benchmark, option_groups
from evaluation.categories import CEVAL, CMMLU, MMLU, aggregate
from evaluation.config import BenchmarkSection, load_section
from evaluation.models import load_model
from evaluation.multiple_choice import evaluate_benchmark, make_request
from evaluation.run import main as evaluate_main
from tests.eval_helpers import always_letter_model, save_model
from tests.test_eval_mc import SAMPLE_TEXT, SAMPLES

ROOT = Path(__file__).resolve().parents[1]
GAOKAO = SAMPLES / "gaokao"
TEXT = SAMPLE_TEXT + "".join(p.read_text(encoding="utf-8") for p in GAOKAO.glob("*.json")) + "请你做一道选择题答案：第小题物理数学地理"
CHAT = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def gaokao(**kw) -> BenchmarkSection:
    return BenchmarkSection.model_validate({"name": "gaokao", "format": "gaokao", "path": str(GAOKAO), "shots": 0, **kw})


def write_items(tmp_path: Path, items: list, name: str = "2010-2022_Physics_MCQs") -> Path:
    folder = tmp_path / "gk"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"keywords": name, "example": items}, ensure_ascii=False),
                                         encoding="utf-8")
    return folder / f"{name}.json"


def test_samples_hold_both_item_kinds():
    subjects = {s.name: s for s in load_benchmark(gaokao())}
    assert set(subjects) == {"2010-2022_Math_I_MCQs", "2010-2022_Physics_MCQs", "2010-2022_Geography_MCQs"}
    physics = subjects["2010-2022_Physics_MCQs"].questions
    assert all(q.multiple and q.partial_credit and q.score == 6 for q in physics)
    assert any(len(q.answer) > 1 for q in physics) and any(len(q.answer) == 1 for q in physics)
    assert physics[0].candidates[:5] == ["A", "B", "C", "D", "AB"] and len(physics[0].candidates) == 15
    geo = subjects["2010-2022_Geography_MCQs"].questions
    assert len(geo) == 12 and geo[0].id.endswith(".1") and geo[1].cue == "\n第2小题答案："
    assert not any(q.multiple for q in subjects["2010-2022_Math_I_MCQs"].questions)
    assert subjects["2010-2022_Physics_MCQs"].display_name == "物理"


def test_partial_credit_is_gaokao_benchs_physics_rule():
    q = Question("0", "x", ("a", "b", "c", "d"), "AC", Path("f"), 0, multiple=True, score=6, partial_credit=True)
    assert [q.points(p) for p in ("AC", "A", "C", "AB", "B", "ABC", "ACD")] == [6, 3, 3, 0, 0, 0, 0]
    strict = Question("0", "x", ("a", "b", "c", "d"), "AC", Path("f"), 0, multiple=True, score=6)
    assert strict.points("A") == 0 and strict.points("AC") == 6


def test_points_of_a_model_that_always_says_a_match_a_hand_calculation(tmp_path):
    # Always "A": single-letter "A" beats every letter set (a set's log-prob adds tokens after "A").
    lm = load_model(always_letter_model(tmp_path / "a", "A", TEXT))
    settings = gaokao()
    subjects = load_benchmark(settings)
    results = evaluate_benchmark(lm, settings, subjects, batch_tokens=4096)
    assert {p["predicted"] for r in results.values() for p in r.predictions} == {"A"}
    # By hand from the sample files: math answers A six times (5 points each); physics "A" once (6) and six
    # answers containing A with other letters (AD, ACD, AB, AB, ABD, ABD: 3 each); geography A once (4).
    math, physics, geo = (results[f"2010-2022_{s}_MCQs"] for s in ("Math_I", "Physics", "Geography"))
    assert (math.points, math.max_points, math.correct) == (30, 60, 6)
    assert (physics.points, physics.max_points, physics.correct) == (24, 72, 1)
    assert (geo.points, geo.max_points, geo.correct) == (4, 48, 1)


def test_results_json_has_points_per_benchmark_and_subject(tmp_path):
    model = save_model(tmp_path / "m", TEXT, seed=3, max_positions=1024)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: t\nworkdir: work\nevaluation:\n  perplexity: {{enabled: false}}\n  benchmarks:\n"
                      f"    - {{name: gaokao, format: gaokao, path: {GAOKAO}, shots: 0}}\n", encoding="utf-8")
    assert evaluate_main([str(recipe), "--model", str(model)]) == 0
    bench = json.loads((tmp_path / "work" / "eval" / "results.json").read_text())["models"]["m"]["benchmarks"]["gaokao"]
    assert bench["max_points"] == 180 and bench["prompt"] == "raw" and bench["n"] == 36
    assert bench["points"] == pytest.approx(sum(s["points"] for s in bench["subjects"].values()))
    rows = [json.loads(line) for line in
            (tmp_path / "work" / "eval" / "predictions" / "m" / "gaokao.jsonl").read_text().splitlines()]
    for row in rows:  # recompute every question's points from its answer and prediction
        full, partial = row["max_points"], row["max_points"] / 2 if row["subject"].endswith("Physics_MCQs") else 0
        expected = full if row["predicted"] == row["answer"] else (
            partial if set(row["predicted"]) <= set(row["answer"]) else 0)
        assert row["points"] == expected
    assert sum(r["points"] for r in rows) == pytest.approx(bench["points"])
    assert bench["chance"] == pytest.approx((1 / 4 + 1 / 15 + 1 / 4) / 3)


@pytest.mark.parametrize("text, expected", [
    ("题（ ）\nA．一\nB．二\nC．三\nD．四", [["一", "二", "三", "四"]]),
    ("题 (A)一 (B)二 (C)三", [["一", "二", "三"]]),
    ("题 A、一 B、二", [["一", "二"]]),
    ("题（）A．只有一个", []),  # "A．" without a B is not an option list
    ("含 DNA. 的题 A.一 B.二增加C.三 D.四", [["一", "二增加", "三", "四"]]),
    ("1．甲（ ） A．一 B．二 2．乙（ ） A．三 B．四", [["一", "二 2．乙（ ）"], ["三", "四"]]),
])
def test_option_forms_are_parsed(text, expected):
    assert option_groups(text) == expected


@pytest.mark.parametrize("items, message", [
    ([{"question": "题 A．一 B．二", "answer": ["A"]}], "item 0: missing key 'score'"),
    ([{"question": "题 A．一 B．二", "answer": ["A"], "score": 6},
      {"question": "题 A．一 B．二", "answer": ["C"], "score": 6}], "item 1: answer 'C' is not among the options A, B"),
    ([{"question": "没有选项的题", "answer": ["A"], "score": 6}], "item 0: no options"),
    ([{"question": "题 A．一 B．二", "answer": "A", "score": 6}], "item 0: \"answer\" must be a non-empty list"),
    ([{"question": "1．甲 A．一 B．二 2．乙 A．三 B．四", "answer": ["A", "B", "A"], "score": 6}],
     "item 0: 3 answers but 2 option lists"),
])
def test_malformed_items_are_one_line_naming_file_and_item(tmp_path, items, message):
    file = write_items(tmp_path, items)
    with pytest.raises(BenchmarkError) as err:
        FORMATS["gaokao"].read(file, answers=True)
    assert str(err.value) == f"{file}: {message}" or str(err.value).startswith(f"{file}: {message}")
    assert "\n" not in str(err.value)


def test_bad_json_names_file_and_line(tmp_path):
    file = tmp_path / "x.json"
    file.write_text('{"example": [\n  {"question": }\n]}', encoding="utf-8")
    with pytest.raises(BenchmarkError, match=r"x\.json:2: not valid JSON"):
        FORMATS["gaokao"].read(file, answers=True)


def test_gaokao_has_no_dev_examples():
    with pytest.raises(ValueError, match="no dev examples: shots must be 0"):
        gaokao(shots=5)


def test_eval_papers_recipe_loads_and_names_missing_data(capsys):
    recipe = Recipe.load(ROOT / "recipes" / "eval_papers.yaml")
    section = load_section(recipe, check_inputs=False)
    assert [(b.name, b.format, b.shots) for b in section.benchmarks] == [
        ("mmlu", "mmlu", 5), ("ceval", "ceval", 5), ("cmmlu", "cmmlu", 5), ("gaokao", "gaokao", 0)]
    assert all(Path(b.path).parent == ROOT / "data" for b in section.benchmarks)
    if (ROOT / "data" / "mmlu").exists():
        pytest.skip("data/mmlu is filled on this machine")
    with pytest.raises(RecipeError):
        load_section(recipe)
    assert evaluate_main([str(ROOT / "recipes" / "eval_papers.yaml"), "--model", "nowhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(ROOT / "data" / "mmlu") in err and "docs/evaluation.md" in err


def test_category_tables_and_aggregation():
    assert len(MMLU) == 57 and len(CEVAL) == 52 and len(CMMLU) == 67
    subjects = {  # MMLU: micro over questions
        "college_physics": {"n": 10, "correct": 5, "accuracy": 0.5},
        "abstract_algebra": {"n": 30, "correct": 3, "accuracy": 0.1},
        "philosophy": {"n": 4, "correct": 4, "accuracy": 1.0},
    }
    cats = aggregate("mmlu", subjects)
    assert cats["STEM"]["accuracy"] == pytest.approx(8 / 40) and cats["STEM"]["n"] == 40
    assert cats["humanities"]["subjects"] == ["philosophy"] and "micro" in cats["STEM"]["averaged"]
    ceval = aggregate("ceval", {  # C-Eval: mean of subjects, Hard subset
        "college_physics": {"n": 10, "correct": 5, "accuracy": 0.5},
        "computer_network": {"n": 30, "correct": 3, "accuracy": 0.1},
        "law": {"n": 4, "correct": 4, "accuracy": 1.0},
    })
    assert ceval["STEM"]["accuracy"] == pytest.approx(0.3) and ceval["STEM"]["correct"] == 8
    assert ceval["Hard"]["subjects"] == ["college_physics"] and ceval["Humanities"]["accuracy"] == 1.0
    cmmlu = aggregate("cmmlu", {"chinese_history": {"n": 2, "correct": 1, "accuracy": 0.5},
                                "world_history": {"n": 2, "correct": 2, "accuracy": 1.0}})
    assert cmmlu["Humanities"]["accuracy"] == pytest.approx(0.75)
    assert cmmlu["China specific"]["subjects"] == ["chinese_history"]
    assert aggregate("gaokao", subjects) is None


@pytest.fixture(scope="module")
def chat_lm(tmp_path_factory):
    return load_model(save_model(tmp_path_factory.mktemp("c") / "chat", TEXT, seed=5, chat_template=CHAT,
                                 max_positions=1024))


def test_chat_prompt_wraps_the_question_as_a_user_turn(chat_lm):
    raw, chat = gaokao(prompt="raw"), gaokao(prompt="chat")
    subject = load_benchmark(raw)[0]
    question = subject.questions[0]
    raw_request, chat_request = make_request(chat_lm, raw, subject, question), make_request(chat_lm, chat, subject, question)
    raw_text = "".join(chat_lm.tokenizer.convert_ids_to_tokens(raw_request.context))
    chat_text = "".join(chat_lm.tokenizer.convert_ids_to_tokens(chat_request.context))
    assert chat_text.startswith("<s><|user|>请你做一道地理选择题") and chat_text.endswith("答案：\n<|assistant|>")
    assert raw_text.startswith("<s>请你做一道地理选择题") and raw_text.endswith("答案：")
    raw_scores = evaluate_benchmark(chat_lm, raw, [subject], 4096)[subject.name]
    chat_scores = evaluate_benchmark(chat_lm, chat, [subject], 4096)[subject.name]
    assert [p["logprobs"] for p in raw_scores.predictions] != [p["logprobs"] for p in chat_scores.predictions]


def test_prompt_is_recorded_and_chat_without_template_is_one_error(tmp_path, chat_lm, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: t\nworkdir: work\nevaluation:\n  perplexity: {{enabled: false}}\n  prompt: chat\n  benchmarks:\n"
        f"    - {{name: gaokao, format: gaokao, path: {GAOKAO}, shots: 0, subjects: [2010-2022_Math_I_MCQs]}}\n"
        f"    - {{name: raw_gaokao, format: gaokao, path: {GAOKAO}, shots: 0, prompt: raw, "
        f"subjects: [2010-2022_Math_I_MCQs]}}\n", encoding="utf-8")
    assert evaluate_main([str(recipe), "--model", str(chat_lm.path)]) == 0
    benches = json.loads((tmp_path / "work" / "eval" / "results.json").read_text())["models"]["chat"]["benchmarks"]
    assert benches["gaokao"]["prompt"] == "chat" and benches["raw_gaokao"]["prompt"] == "raw"
    plain = save_model(tmp_path / "plain", TEXT, seed=1)
    capsys.readouterr()
    assert evaluate_main([str(recipe), "--model", str(plain)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "has none" in errors[0] and "chat template" in errors[0] and str(plain) in errors[0]
