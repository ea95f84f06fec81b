"""Multiple choice: the chosen letter is the one with the highest log-probability after the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from evaluation.benchmarks import LETTERS, load_benchmark
from evaluation.config import BenchmarkSection
from evaluation.models import load_model
from evaluation.multiple_choice import STYLES, build_prompt, evaluate_benchmark, make_request
from tests.eval_helpers import always_letter_model, save_model

SAMPLES = Path(__file__).resolve().parents[1] / "recipes" / "eval_samples"
SAMPLE_TEXT = "".join(p.read_text(encoding="utf-8") for p in SAMPLES.rglob("*.csv")) + "".join(
    s.header + s.question_prefix + s.answer_cue for s in STYLES.values()
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
    letter_ids = [lm.tokenizer.convert_tokens_to_ids(letter) for letter in LETTERS]
    correct = 0
    for question, prediction in zip(subject.questions, result.predictions, strict=True):
        prompt = build_prompt(settings, subject, question, shots=3) + STYLES[fmt].letter_prefix
        ids = [lm.tokenizer.bos_token_id, *lm.tokenizer(prompt, add_special_tokens=False)["input_ids"]]
        with torch.no_grad():
            logprobs = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0, -1], -1)[letter_ids]
        assert [prediction["logprobs"][letter] for letter in LETTERS] == pytest.approx(logprobs.tolist(), abs=1e-4)
        predicted = LETTERS[int(logprobs.argmax())]
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
