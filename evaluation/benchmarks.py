"""Multiple-choice benchmarks read from local files in the layouts they are distributed in.

A benchmark format is one `BenchmarkFormat` subclass registered with `@register`: its splits, where a
subject's file lives, its prompt wording, and `read`, which turns one file into questions with any number
of options (2 to 26, lettered A, B, C, ...). The built-in ones:

    C-Eval  (ceval-exam.zip)   <root>/{dev,val,test}/<subject>_<split>.csv
            header `id,question,A,B,C,D,answer[,explanation]`; dev has `explanation`; the public test
            split has no answers (empty or missing `answer`), so C-Eval is scored on `val`.
            An optional `<root>/subject_mapping.json` ({subject: [English, 中文, category]}, as in the
            C-Eval repository) gives the Chinese subject names used in the prompt.
    CMMLU   (cmmlu_v1_0_1.zip) <root>/{dev,test}/<subject>.csv
            header `,Question,A,B,C,D,Answer` (the first column is the pandas index, unnamed).
    MMLU    (data.tar)         <root>/{dev,val,test}/<subject>_<split>.csv
            no header; each row is `question,A,B,C,D,answer`.

Every problem in a file (missing column, wrong number of fields, an answer that is not one of the
question's letters) is a `BenchmarkError` naming the file and the line, because these files are often
hand-edited or converted.
"""

from __future__ import annotations

import csv
import json
import string
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # evaluation.config validates formats against FORMATS below
    from evaluation.config import BenchmarkSection

LETTERS = string.ascii_uppercase  # option labels in order: a question has 2 to 26 options


class BenchmarkError(ValueError):
    """A benchmark folder or file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; `answer` is None where the split's answers are withheld."""

    id: str
    question: str
    choices: tuple[str, ...]
    answer: str | None
    file: Path
    line: int
    explanation: str | None = None

    @property
    def letters(self) -> str:
        """The labels of this question's options: A, B, ... one per choice."""
        return LETTERS[: len(self.choices)]


@dataclass(frozen=True)
class PromptStyle:
    """A benchmark's prompt wording (as in its reference code); the option letter follows `answer_cue`."""

    header: str  # with {subject}
    question_prefix: str
    answer_cue: str
    letter_prefix: str  # between the cue and the letter (MMLU writes "Answer: A")


class BenchmarkFormat(ABC):
    """How one benchmark is distributed and prompted. A new benchmark is a subclass, decorated with
    `@register`, that sets `name` and `style` (and the layout attributes where they differ) and implements
    `read`; recipes then name it in `evaluation.benchmarks[].format`."""

    name: ClassVar[str]
    style: ClassVar[PromptStyle]
    # the splits as distributed (dev holds the few-shot examples); the one scored when the recipe names none;
    # those distributed without answers
    splits: ClassVar[tuple[str, ...]] = ("dev", "val", "test")
    scored_split: ClassVar[str] = "test"
    withheld: ClassVar[tuple[str, ...]] = ()
    file_name: ClassVar[str] = "{subject}_{split}.csv"  # a subject's file in <root>/<split>/; starts with {subject}
    subject_name_index: ClassVar[int] = 0  # the name of subject_mapping.json's [English, 中文, ...] shown

    @abstractmethod
    def read(self, file: Path, *, answers: bool) -> list[Question]:
        """The questions of one subject file, in file order; `answers`: each must have one (else None may be)."""

    def scored_splits(self) -> tuple[str, ...]:
        return tuple(split for split in self.splits if split != "dev")

    def subject_file(self, root: Path, split: str, subject: str) -> Path:
        """Where a subject's file for `split` lives in the distribution layout."""
        return root / split / self.file_name.format(subject=subject, split=split)

    def subjects(self, root: Path, split: str) -> list[str]:
        """Subjects that have a file in `split`, sorted."""
        folder = root / split
        if not folder.is_dir():
            raise BenchmarkError(
                f"{folder}: no such folder; a {self.name} benchmark has {', '.join(self.splits)}/ folders"
            )
        suffix = self.file_name.format(subject="", split=split)
        return sorted(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}"))


FORMATS: dict[str, BenchmarkFormat] = {}


def register(cls: type[BenchmarkFormat]) -> type[BenchmarkFormat]:
    """Class decorator: make a benchmark format available to recipes under `cls.name`."""
    if cls.name in FORMATS:
        raise ValueError(f"benchmark format {cls.name!r} is registered twice")
    FORMATS[cls.name] = cls()
    return cls


# ---------------------------------------------------------------------------------------------------
# reading helpers for formats: CSV records, answer letters, the two CSV shapes the built-in formats use


def csv_records(file: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) for each CSV record; records may span lines (quoted newlines)."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, strict=True)
            start = 1
            for row in reader:
                yield start, row
                start = reader.line_num + 1
    except UnicodeDecodeError as err:
        raise BenchmarkError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise BenchmarkError(f"{file}:{reader.line_num}: malformed CSV: {err}") from None


def answer_letter(value: str, letters: str, file: Path, line: int, *, required: bool) -> str | None:
    """The answer cell as an option letter (case and spaces ignored); None when empty and not required."""
    value = value.strip().upper()
    if not value:
        if required:
            raise BenchmarkError(f"{file}:{line}: empty answer (expected one of {', '.join(letters)})")
        return None
    if value not in letters:
        raise BenchmarkError(f"{file}:{line}: answer {value!r} is not one of {', '.join(letters)}")
    return value


def read_header_csv(
    file: Path,
    *,
    question: str,
    options: tuple[str, ...],
    answer: str,
    id: str | None = None,
    explanation: str | None = None,
    answers: bool,
) -> list[Question]:
    """A CSV with a header row; the arguments name its columns (`options` in letter order)."""
    records = csv_records(file)
    try:
        _, header = next(records)
    except StopIteration:
        raise BenchmarkError(f"{file}:1: empty file (expected a header row)") from None
    header = [h.strip() for h in header]
    required = [c for c in (id, question, *options) if c is not None] + ([answer] if answers else [])
    for column in required:
        if column not in header:
            raise BenchmarkError(f"{file}:1: missing column {column!r} in header {header}")
    index = {column: header.index(column) for column in (id, question, *options, answer, explanation)
             if column is not None and column in header}
    letters = LETTERS[: len(options)]
    questions = []
    for line, row in records:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BenchmarkError(f"{file}:{line}: {len(row)} fields, the header has {len(header)}")
        given = None
        if answer in index:
            given = answer_letter(row[index[answer]], letters, file, line, required=answers)
        qid = row[index[id]].strip() if id in index else str(len(questions))
        questions.append(
            Question(
                id=qid or str(len(questions)),
                question=row[index[question]],
                choices=tuple(row[index[option]] for option in options),
                answer=given,
                file=file,
                line=line,
                explanation=(row[index[explanation]] if explanation in index else None) or None,
            )
        )
    return questions


def read_headerless_csv(file: Path, *, options: int, answers: bool) -> list[Question]:
    """A CSV without a header: `question, <options> option texts, answer` per row."""
    letters = LETTERS[:options]
    questions = []
    for line, row in csv_records(file):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != options + 2:
            raise BenchmarkError(
                f"{file}:{line}: {len(row)} fields, expected {options + 2} (question,{','.join(letters)},answer)"
            )
        questions.append(
            Question(
                id=str(len(questions)),
                question=row[0],
                choices=tuple(row[1:-1]),
                answer=answer_letter(row[-1], letters, file, line, required=answers),
                file=file,
                line=line,
            )
        )
    return questions


# ---------------------------------------------------------------------------------------------------
# the built-in formats


@register
class CEval(BenchmarkFormat):
    name = "ceval"
    style = PromptStyle("以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n", "", "\n答案：", "")
    scored_split = "val"  # its public test split has no answers
    withheld = ("test",)
    subject_name_index = 1

    def read(self, file: Path, *, answers: bool) -> list[Question]:
        return read_header_csv(file, id="id", question="question", options=tuple("ABCD"), answer="answer",
                               explanation="explanation", answers=answers)


@register
class CMMLU(BenchmarkFormat):
    name = "cmmlu"
    style = PromptStyle("以下是关于{subject}的单项选择题，请直接给出正确答案的选项。\n\n", "题目：", "\n答案是：", "")
    splits = ("dev", "test")
    file_name = "{subject}.csv"
    subject_name_index = 1

    def read(self, file: Path, *, answers: bool) -> list[Question]:
        return read_header_csv(file, question="Question", options=tuple("ABCD"), answer="Answer",
                               answers=answers)


@register
class MMLU(BenchmarkFormat):
    name = "mmlu"
    style = PromptStyle("The following are multiple choice questions (with answers) about {subject}.\n\n", "",
                        "\nAnswer:", " ")

    def read(self, file: Path, *, answers: bool) -> list[Question]:
        return read_headerless_csv(file, options=4, answers=answers)


# ---------------------------------------------------------------------------------------------------
# loading a benchmark named in the recipe


def read_file(file: Path, fmt: str, split: str) -> list[Question]:
    """Parse one subject file of format `fmt`; every split but the withheld ones needs answers. Checks
    what any reader must deliver: 2 to 26 options, and an answer among the question's letters."""
    benchmark = FORMATS[fmt]
    answers = split not in benchmark.withheld
    questions = benchmark.read(file, answers=answers)
    for q in questions:
        if not 2 <= len(q.choices) <= len(LETTERS):
            raise BenchmarkError(f"{file}:{q.line}: {len(q.choices)} options; a question has 2 to 26")
        if q.answer is None and answers:
            raise BenchmarkError(f"{file}:{q.line}: no answer (expected one of {', '.join(q.letters)})")
        if q.answer is not None and q.answer not in q.letters:
            raise BenchmarkError(f"{file}:{q.line}: answer {q.answer!r} is not one of {', '.join(q.letters)}")
    return questions


def subject_display_names(bench: BenchmarkSection) -> dict[str, str]:
    """Subject names for prompt headers: recipe `subject_names`, then `subject_mapping.json`, then the
    file name with underscores as spaces."""
    names: dict[str, str] = {}
    mapping_file = Path(bench.path) / "subject_mapping.json"
    if mapping_file.is_file():
        try:
            mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise BenchmarkError(f"{mapping_file}:{err.lineno}: not valid JSON: {err.msg}") from None
        index = FORMATS[bench.format].subject_name_index
        for subject, value in mapping.items():
            if isinstance(value, str):
                names[subject] = value
            elif isinstance(value, list) and len(value) >= 2:
                names[subject] = str(value[index])
    names.update(bench.subject_names)
    return names


@dataclass(frozen=True)
class Subject:
    """A subject's scored questions and its dev questions (the few-shot examples)."""

    name: str
    display_name: str
    questions: list[Question]
    dev: list[Question]


def load_benchmark(bench: BenchmarkSection) -> list[Subject]:
    """Every selected subject of a benchmark, with the dev examples its `shots` need."""
    benchmark = FORMATS[bench.format]
    root = Path(bench.path)
    split = bench.eval_split()
    found = benchmark.subjects(root, split)
    subjects = bench.subjects if bench.subjects is not None else found
    missing = [s for s in subjects if s not in found]
    if missing:
        raise BenchmarkError(f"{root / split}: no file for subjects {missing} (found: {found})")
    if not subjects:
        raise BenchmarkError(f"{root / split}: no subject files ({bench.format} layout, see docs/evaluation.md)")
    names = subject_display_names(bench)
    loaded = []
    for subject in subjects:
        file = benchmark.subject_file(root, split, subject)
        questions = read_file(file, bench.format, split)
        if any(q.answer is None for q in questions):
            raise BenchmarkError(
                f"{file}: the {split} split has no answers ({bench.format} withholds its {split} answers); "
                f"score split: {benchmark.scored_split}"
            )
        dev: list[Question] = []
        if bench.shots:
            dev_file = benchmark.subject_file(root, "dev", subject)
            if not dev_file.is_file():
                raise BenchmarkError(f"{dev_file}: missing; {bench.shots}-shot prompts take examples from dev")
            dev = read_file(dev_file, bench.format, "dev")
            if len(dev) < bench.shots:
                raise BenchmarkError(f"{dev_file}: {len(dev)} questions, fewer than shots={bench.shots}")
        display = names.get(subject, subject.replace("_", " "))
        loaded.append(Subject(name=subject, display_name=display, questions=questions, dev=dev[: bench.shots]))
    return loaded
