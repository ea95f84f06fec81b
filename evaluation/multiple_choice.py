"""k-shot multiple-choice scoring: the answer is the option letter the model gives the highest
log-probability after the prompt (as in the C-Eval, CMMLU and MMLU reference code), for questions with
any number of options. The prompt wording is the benchmark format's `PromptStyle` (evaluation.benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evaluation.benchmarks import FORMATS, PromptStyle, Question, Subject
from evaluation.config import BenchmarkSection
from evaluation.errors import ChatTemplateError
from evaluation.models import LoadedModel, next_token_logprobs, target_logprobs


def format_question(style: PromptStyle, question: Question, *, with_answer: bool) -> str:
    text = style.question_prefix + question.question
    if not question.options_in_text:
        for letter, choice in zip(question.letters, question.choices, strict=True):
            text += f"\n{letter}. {choice}"
    text += question.cue if question.cue is not None else style.answer_cue
    if with_answer:
        text += f"{style.letter_prefix}{question.answer}\n\n"
    return text


def build_prompt(bench: BenchmarkSection, subject: Subject, question: Question, shots: int) -> str:
    """Header, `shots` dev examples with answers, then the question up to its answer cue; wrapped in
    the recipe's instruction template when one is given."""
    style = FORMATS[bench.format].style
    prompt = style.header.replace("{subject}", subject.display_name)
    for example in subject.dev[:shots]:
        prompt += format_question(style, example, with_answer=True)
    prompt += format_question(style, question, with_answer=False)
    if bench.template is not None:
        prompt = bench.template.replace("{prompt}", prompt)
    return prompt


def chat_prompt(lm: LoadedModel, prompt: str) -> str:
    """The prompt as the user turn of the tokenizer's chat template, up to where the assistant's reply
    starts (add_generation_prompt); a leading BOS text is dropped, since scoring prepends BOS itself."""
    if not getattr(lm.tokenizer, "chat_template", None):
        raise ChatTemplateError(
            f"{lm.path}: prompt 'chat' needs a chat template, and tokenizer {lm.tokenizer_path} has none; "
            f"use evaluation.prompt: raw for a base model"
        )
    text = lm.tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    bos = lm.tokenizer.bos_token
    if bos and lm.prefix_ids and text.startswith(bos):
        text = text[len(bos):]
    return text


@dataclass
class Request:
    """Token ids for one question: a shared context and one continuation per option letter."""

    context: list[int]
    continuations: list[list[int]]
    shots: int


def _tokenize(lm: LoadedModel, prompt: str, continuations: list[str]) -> tuple[list[int], list[list[int]]]:
    """Context ids and per-option continuation ids, split where the tokenizer splits the joined text
    (a letter may merge with the cue's trailing space), with the options' common prefix moved into
    the context so that single-token letters need one forward pass for all of them."""
    context = lm.prefix_ids + lm.encode(prompt)
    wholes = [lm.prefix_ids + lm.encode(prompt + text) for text in continuations]
    split = len(context)
    for whole in wholes:
        shared = 0
        while shared < min(len(context), len(whole) - 1) and context[shared] == whole[shared]:
            shared += 1
        split = min(split, shared)
    # Every option shares whole[:split] with the context; what follows is what the option adds.
    conts = [whole[split:] for whole in wholes]
    common = 0
    while all(len(c) > common + 1 for c in conts) and len({c[common] for c in conts}) == 1:
        common += 1
    return context[:split] + conts[0][:common], [c[common:] for c in conts]


def make_request(lm: LoadedModel, bench: BenchmarkSection, subject: Subject, question: Question) -> Request:
    """Tokenized request, dropping few-shot examples (then the prompt's start) to fit the context."""
    benchmark = FORMATS[bench.format]
    if benchmark.scoring == "sentence":  # each option's whole sentence; their shared start becomes the context
        context, conts = _tokenize(lm, "", benchmark.filled(question))
        return Request(context=context[-lm.max_length:], continuations=conts, shots=0)
    chat = prompt_kind(bench) == "chat"
    # raw: the letter follows the cue as in the benchmark's code; chat: it opens the assistant's turn
    prefix = "" if chat else FORMATS[bench.format].style.letter_prefix
    letter_texts = [prefix + answer for answer in question.candidates]
    shots = min(bench.shots, len(subject.dev))
    while True:
        prompt = build_prompt(bench, subject, question, shots)
        if chat:
            prompt = chat_prompt(lm, prompt)
        context, conts = _tokenize(lm, prompt, letter_texts)
        longest = len(context) + max(len(c) for c in conts)
        if longest <= lm.max_length or shots == 0:
            break
        shots -= 1
    if longest > lm.max_length:
        # A single question longer than the context: keep its end, where the options and cue are.
        keep = lm.max_length - max(len(c) for c in conts)
        context = context[-keep:]
    return Request(context=context, continuations=conts, shots=shots)


def prompt_kind(bench: BenchmarkSection) -> str:
    """raw | chat for this benchmark (its own `prompt`, else evaluation.prompt, copied in by the section)."""
    return bench.prompt or "raw"


@dataclass
class SubjectResult:
    subject: str
    n: int
    correct: int
    predictions: list[dict] = field(default_factory=list)
    points: float = 0.0
    max_points: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")


def score_requests(lm: LoadedModel, requests: list[Request], batch_tokens: int) -> list[np.ndarray]:
    """Log-probability of each option's continuation, one array of (options,) per request."""
    scores: list[np.ndarray] = [np.zeros(len(r.continuations)) for r in requests]
    single = [i for i, r in enumerate(requests) if all(len(c) == 1 for c in r.continuations)]
    if single:
        found = next_token_logprobs(
            lm,
            [requests[i].context for i in single],
            [[c[0] for c in requests[i].continuations] for i in single],
            batch_tokens,
        )
        for i, logprobs in zip(single, found, strict=True):
            scores[i] = logprobs
    multi = sorted(set(range(len(requests))) - set(single))
    if multi:
        sequences = [requests[i].context + c for i in multi for c in requests[i].continuations]
        found = iter(target_logprobs(lm, sequences, batch_tokens))  # in the order of `sequences`
        for i in multi:
            scores[i] = np.array([float(next(found)[-len(c) :].sum()) for c in requests[i].continuations])
    return scores


def evaluate_benchmark(
    lm: LoadedModel, bench: BenchmarkSection, subjects: list[Subject], batch_tokens: int
) -> dict[str, SubjectResult]:
    """Accuracy per subject, with every question's option log-probabilities kept for inspection."""
    results = {}
    for subject in subjects:
        requests = [make_request(lm, bench, subject, q) for q in subject.questions]
        scores = score_requests(lm, requests, batch_tokens)
        result = SubjectResult(subject=subject.name, n=len(subject.questions), correct=0)
        for question, request, logprobs in zip(subject.questions, requests, scores, strict=True):
            predicted = question.candidates[int(np.argmax(logprobs))]
            result.correct += int(predicted == question.answer)
            points = question.points(predicted)
            result.points += points
            result.max_points += question.score
            row = {
                "id": question.id,
                "line": question.line,
                "answer": question.answer,
                "predicted": predicted,
                "logprobs": dict(zip(question.candidates, map(float, logprobs), strict=True)),
                "shots": request.shots,
            }
            if FORMATS[bench.format].reports_points:
                row |= {"points": points, "max_points": question.score}
            result.predictions.append(row)
        results[subject.name] = result
    return results
