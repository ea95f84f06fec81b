"""Multiple choice: the chosen letter is the one with the highest log-probability after the prompt, for
the built-in benchmarks and for a new format with any number of options (one registered reader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from evaluation.benchmarks import (
    FORMATS,
    BenchmarkError,
    BenchmarkFormat,
    PromptStyle,
    Question,
    load_benchmark,
    register,
)
from evaluation.config import BenchmarkSection
from evaluation.models import load_model
from evaluation.multiple_choice import build_prompt, evaluate_benchmark, make_request
from evaluation.run import main as evaluate_main
from tests.eval_helpers import always_letter_model, save_model

SAMPLES = Path(__file__).resolve().parents[1] / "recipes" / "eval_samples"
BUILT_IN = ("ceval", "cmmlu", "mmlu")
SAMPLE_TEXT = "".join(p.read_text(encoding="utf-8") for p in SAMPLES.rglob("*.csv")) + "".join(
    FORMATS[f].style.header + FORMATS[f].style.question_prefix + FORMATS[f].style.answer_cue for f in BUILT_IN
) + "小学数学高中地理Q:"


def bench(fmt: str, **kw) -> BenchmarkSection:
    return BenchmarkSection.model_validate({"name": fmt, "format": fmt, "path": str(SAMPLES / fmt), **kw})


@pytest.mark.parametrize("fmt", ["ceval", "cmmlu", "mmlu"])
def test_a_model_that_always_says_b_scores_the_share_of_b_answers(tmp_path, fmt):
    lm = load_model(always_letter_model(tmp_path / "b", "B", SAMPLE_TEXT))
    settings = bench(fmt, shots=2)
    subjects = load_benchmark(settings)
    results = evaluate_benchmark(lm, settings, subjects, batch_tokens=2048)
    answers = [q.answer for s in subjects for q in s.questions]
    assert 0 < answers.count("B") < len(answers)  # the case discriminates
    for subject in subjects:
        expected = sum(q.answer == "B" for q in subject.questions)
        assert results[subject.name].correct == expected
        assert {p["predicted"] for p in results[subject.name].predictions} == {"B"}


@pytest.fixture(scope="module")
def random_lm(tmp_path_factory):
    return load_model(save_model(tmp_path_factory.mktemp("m") / "r", SAMPLE_TEXT, seed=7, max_positions=1024))


@pytest.mark.parametrize("fmt", ["ceval", "mmlu"])
def test_batched_letter_logprobs_equal_a_direct_computation(random_lm, fmt):
    lm = random_lm
    settings = bench(fmt, shots=3, subjects=["elementary_mathematics"])
    subject = load_benchmark(settings)[0]
    # A small budget mixes prompt lengths in left-padded batches.
    result = evaluate_benchmark(lm, settings, [subject], batch_tokens=1500)[subject.name]
    letter_ids = [lm.tokenizer.convert_tokens_to_ids(letter) for letter in "ABCD"]
    correct = 0
    for question, prediction in zip(subject.questions, result.predictions, strict=True):
        prompt = build_prompt(settings, subject, question, shots=3) + FORMATS[fmt].style.letter_prefix
        ids = [lm.tokenizer.bos_token_id, *lm.tokenizer(prompt, add_special_tokens=False)["input_ids"]]
        with torch.no_grad():
            logprobs = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0, -1], -1)[letter_ids]
        assert [prediction["logprobs"][letter] for letter in "ABCD"] == pytest.approx(logprobs.tolist(), abs=1e-4)
        predicted = "ABCD"[int(logprobs.argmax())]
        assert prediction["predicted"] == predicted
        correct += predicted == question.answer
    assert result.correct == correct


def test_prompt_wording_template_and_shot_dropping(random_lm):
    settings = bench("ceval", shots=2, template="Q: {prompt}")
    subject = load_benchmark(settings)[0]
    prompt = build_prompt(settings, subject, subject.questions[0], shots=2)
    assert prompt.startswith("Q: 以下是中国关于小学数学考试的单项选择题，请选出其中的正确答案。\n\n")
    assert prompt.endswith("\nD. " + subject.questions[0].choices[3] + "\n答案：")
    assert prompt.count("答案：") == 3 and f"答案：{subject.dev[1].answer}\n\n" in prompt
    mmlu = bench("mmlu", shots=1)
    mmlu_subject = load_benchmark(mmlu)[1]
    assert build_prompt(mmlu, mmlu_subject, mmlu_subject.questions[0], 1).startswith(
        "The following are multiple choice questions (with answers) about high school geography.\n\n"
    )
    # A context too short for 2 examples keeps fewer shots instead of cutting the question.
    full = make_request(random_lm, settings, subject, subject.questions[0])
    random_lm.max_length, saved = len(full.context) - 10, random_lm.max_length
    try:
        short = make_request(random_lm, settings, subject, subject.questions[0])
    finally:
        random_lm.max_length = saved
    assert full.shots == 2 and short.shots < 2
    assert len(short.context) + 1 <= len(full.context) - 10


# A new benchmark format, added the way docs/evaluation.md says: one registered class.
@register
class ChoicesJsonl(BenchmarkFormat):
    """Project-written: <root>/{dev,test}/<subject>.jsonl, one {"question", "options": [...], "answer"} per line."""

    name = "choices_jsonl"
    style = PromptStyle("Questions about {subject}.\n\n", "Q: ", "\nAnswer:", " ")
    splits = ("dev", "test")
    file_name = "{subject}.jsonl"

    def read(self, file: Path, *, answers: bool) -> list[Question]:
        rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
        return [Question(id=str(k), question=row["question"], choices=tuple(row["options"]), answer=row.get("answer"),
                         file=file, line=k + 1) for k, row in enumerate(rows)]


COLORS = ["red", "green", "blue", "black", "white"]
FIVE = [("sky", "C"), ("grass", "B"), ("snow", "E"), ("coal", "D"), ("blood", "A"), ("milk", "E"), ("night", "D"),
        ("leaf", "B"), ("sea", "C"), ("salt", "E")]
TWO = [("2 + 2 = 4", "A"), ("3 > 5", "B"), ("1 + 1 = 3", "B"), ("0 < 1", "A"), ("9 is even", "B")]


def write_jsonl_benchmark(root: Path, subject: str, rows: list[dict]) -> Path:
    """rows[:2] are the dev examples, the rest the scored test questions."""
    for split, part in (("dev", rows[:2]), ("test", rows[2:])):
        (root / split).mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(row) for row in part]
        (root / split / f"{subject}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def five_and_two_option_benchmarks(root: Path) -> tuple[Path, Path]:
    five = [{"question": f"The colour of {thing}?", "options": COLORS, "answer": answer} for thing, answer in FIVE]
    two = [{"question": claim, "options": ["true", "false"], "answer": answer} for claim, answer in TWO]
    return write_jsonl_benchmark(root / "five", "colours", five), write_jsonl_benchmark(root / "two", "logic", two)


def test_a_registered_format_with_five_and_two_options_is_scored_end_to_end(tmp_path):
    five, two = five_and_two_option_benchmarks(tmp_path / "bench")
    text = "".join(json.dumps(row) for row in FIVE + TWO) + "".join(COLORS) + "Questions about colours logic Q:trufals"
    models = {letter: always_letter_model(tmp_path / letter, letter, text + "?><=+") for letter in ("B", "E")}
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "workdir: work\nevaluation:\n  perplexity: {enabled: false}\n  benchmarks:\n"
        f"    - {{name: five, format: choices_jsonl, path: {five}, shots: 2}}\n"
        f"    - {{name: two, format: choices_jsonl, path: {two}, shots: 1}}\n", encoding="utf-8")
    args = [str(recipe)] + [f"--model={letter}={path}" for letter, path in models.items()]
    assert evaluate_main(args) == 0
    out = tmp_path / "work" / "eval"
    results = json.loads((out / "results.json").read_text())["models"]
    five_answers, two_answers = [a for _, a in FIVE[2:]], [a for _, a in TWO[2:]]
    # A model that always says E is right exactly on the E answers: the fifth option is a candidate.
    assert results["E"]["benchmarks"]["five"]["correct"] == five_answers.count("E") == 3
    assert results["B"]["benchmarks"]["five"]["correct"] == five_answers.count("B") == 1
    assert results["B"]["benchmarks"]["two"]["correct"] == two_answers.count("B") == 2
    assert results["B"]["benchmarks"]["five"]["chance"] == pytest.approx(0.2)
    assert results["B"]["benchmarks"]["two"]["chance"] == pytest.approx(0.5)
    for bench, letters, n in (("five", "ABCDE", 8), ("two", "AB", 3)):
        rows = [json.loads(line) for line in (out / "predictions" / "E" / f"{bench}.jsonl").read_text().splitlines()]
        assert len(rows) == n and all(list(row["logprobs"]) == list(letters) for row in rows)
    assert {json.loads(line)["predicted"] for line in (out / "predictions" / "E" / "five.jsonl").open()} == {"E"}


@pytest.mark.parametrize("merges", [(), ((" ", "C"),)], ids=["one_token_letters", "letters_of_1_or_2_tokens"])
def test_any_number_of_options_matches_a_direct_computation(tmp_path, merges):
    # With " C" one token and " A" two, the options are scored as multi-token continuations.
    five, _ = five_and_two_option_benchmarks(tmp_path / "bench")
    settings = BenchmarkSection.model_validate({"name": "five", "format": "choices_jsonl", "path": str(five), "shots": 2})
    subject = load_benchmark(settings)[0]
    lm = load_model(save_model(tmp_path / "m", "", seed=5, merges=merges, max_positions=512))
    result = evaluate_benchmark(lm, settings, [subject], batch_tokens=600)[subject.name]
    for question, prediction in zip(subject.questions, result.predictions, strict=True):
        prompt = build_prompt(settings, subject, question, shots=2)
        assert prompt.endswith("\nD. black\nE. white\nAnswer:")
        wholes = [[lm.tokenizer.bos_token_id, *lm.tokenizer(prompt + " " + letter, add_special_tokens=False)["input_ids"]]
                  for letter in "ABCDE"]
        # each option is scored on the tokens after what all options share (" " when no letter merges with it)
        shared = next(t for t in range(len(wholes[0])) if len({tuple(w[: t + 1]) for w in wholes}) > 1)
        assert len({len(w) - shared for w in wholes}) == (2 if merges else 1)
        expected = []
        for ids in wholes:
            with torch.no_grad():
                logprobs = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0].double(), -1)
            expected.append(sum(float(logprobs[t - 1, ids[t]]) for t in range(shared, len(ids))))
        assert list(prediction["logprobs"]) == list("ABCDE")
        assert list(prediction["logprobs"].values()) == pytest.approx(expected, abs=1e-4)
        assert prediction["predicted"] == "ABCDE"[max(range(5), key=expected.__getitem__)]


@pytest.mark.parametrize(
    ("options", "answer", "message"),
    [(["only"], "A", "1 options; a question has 2 to 26"), (["x", "y", "z"], "D", "answer 'D' is not one of A, B, C")],
)
def test_a_reader_cannot_deliver_impossible_questions(tmp_path, options, answer, message):
    root = write_jsonl_benchmark(tmp_path, "s", [{"question": "q", "options": ["a", "b"], "answer": "A"}] * 2
                                 + [{"question": "q", "options": options, "answer": answer}])
    settings = BenchmarkSection.model_validate({"name": "b", "format": "choices_jsonl", "path": str(root), "shots": 0})
    with pytest.raises(BenchmarkError, match=rf"s.jsonl:1: {message}"):
        load_benchmark(settings)


def test_cloze_items_are_scored_by_the_whole_sentences_likelihood(tmp_path):
    items = [{"id": "a", "sentence": "我们____软件包。", "options": ["安装", "删除", "天气", "红色"], "answer": 0},
             {"id": "b", "sentence": "____是自由的操作系统", "options": ["系统", "他们"], "answer": 1}]
    (tmp_path / "cloze" / "test").mkdir(parents=True)
    (tmp_path / "cloze" / "test" / "zh.jsonl").write_text(
        "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    settings = BenchmarkSection.model_validate({"name": "c", "format": "cloze", "path": str(tmp_path / "cloze")})
    (subject,) = load_benchmark(settings)
    text = "".join(i["sentence"] + "".join(i["options"]) for i in items)
    lm = load_model(save_model(tmp_path / "m", text, seed=3))
    result = evaluate_benchmark(lm, settings, [subject], batch_tokens=600)[subject.name]
    for item, prediction in zip(items, result.predictions, strict=True):
        expected = []
        for option in item["options"]:  # log p(whole sentence | BOS), computed directly
            ids = [lm.tokenizer.bos_token_id, *lm.tokenizer(item["sentence"].replace("____", option),
                                                           add_special_tokens=False)["input_ids"]]
            with torch.no_grad():
                logprobs = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0].double(), -1)
            expected.append(sum(float(logprobs[t - 1, ids[t]]) for t in range(1, len(ids))))
        got = list(prediction["logprobs"].values())
        # the options' shared start is context, so scores differ from log p(sentence) by one constant
        assert [g - got[0] for g in got] == pytest.approx([e - expected[0] for e in expected], abs=1e-4)
        assert prediction["predicted"] == "ABCD"[max(range(len(expected)), key=expected.__getitem__)]
        assert prediction["answer"] == "ABCD"[item["answer"]]


@pytest.mark.parametrize(("line", "message"), [
    ({"sentence": "no blank", "options": ["a", "b"], "answer": 0}, "exactly one ____"),
    ({"sentence": "x ____", "options": ["a", "a"], "answer": 0}, "distinct"),
    ({"sentence": "x ____", "options": ["a", "b"], "answer": 2}, "index into options"),
])
def test_a_malformed_cloze_line_names_its_file_and_line(tmp_path, line, message):
    (tmp_path / "test").mkdir()
    good = {"sentence": "x ____", "options": ["a", "b"], "answer": 1}
    (tmp_path / "test" / "s.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(line) + "\n")
    settings = BenchmarkSection.model_validate({"name": "c", "format": "cloze", "path": str(tmp_path)})
    with pytest.raises(BenchmarkError, match=rf"s\.jsonl:2: .*{message}"):
        load_benchmark(settings)
