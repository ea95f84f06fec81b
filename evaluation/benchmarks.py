"""Multiple-choice benchmarks read from local files in the layouts they are distributed in.

    C-Eval  (ceval-exam.zip)   <root>/{dev,val,test}/<subject>_<split>.csv
            header `id,question,A,B,C,D,answer[,explanation]`; dev has `explanation`; the public test
            split has no answers (empty or missing `answer`), so C-Eval is scored on `val`.
            An optional `<root>/subject_mapping.json` ({subject: [English, 中文, category]}, as in the
            C-Eval repository) gives the Chinese subject names used in the prompt.
    CMMLU   (cmmlu_v1_0_1.zip) <root>/{dev,test}/<subject>.csv
            header `,Question,A,B,C,D,Answer` (the first column is the pandas index, unnamed).
    MMLU    (data.tar)         <root>/{dev,val,test}/<subject>_<split>.csv
            no header; each row is `question,A,B,C,D,answer`.

Every problem in a file (missing column, wrong number of fields, an answer that is not A-D) is a
`BenchmarkError` naming the file and the line, because these files are often hand-edited or converted.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evaluation.config import SPLITS, BenchmarkSection

LETTERS = ("A", "B", "C", "D")


class BenchmarkError(ValueError):
    """A benchmark folder or file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; `answer` is None where the split's answers are withheld."""

    id: str
    question: str
    choices: tuple[str, str, str, str]
    answer: str | None
    file: Path
    line: int
    explanation: str | None = None


def _records(file: Path) -> Iterator[tuple[int, list[str]]]:
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


def _answer(value: str, file: Path, line: int, *, required: bool) -> str | None:
    value = value.strip().upper()
    if not value:
        if required:
            raise BenchmarkError(f"{file}:{line}: empty answer (expected one of A, B, C, D)")
        return None
    if value not in LETTERS:
        raise BenchmarkError(f"{file}:{line}: answer {value!r} is not one of A, B, C, D")
    return value


def _read_with_header(file: Path, columns: dict[str, str], *, answer_required: bool) -> list[Question]:
    """CSV with a header row; `columns` maps our field names to the file's column names."""
    records = _records(file)
    try:
        _, header = next(records)
    except StopIteration:
        raise BenchmarkError(f"{file}:1: empty file (expected a header row)") from None
    header = [h.strip() for h in header]
    index = {}
    for field, column in columns.items():
        if column in header:
            index[field] = header.index(column)
        elif field not in ("answer", "explanation"):
            raise BenchmarkError(f"{file}:1: missing column {column!r} in header {header}")
    if "answer" not in index and answer_required:
        raise BenchmarkError(f"{file}:1: missing column {columns['answer']!r} in header {header}")
    questions = []
    for line, row in records:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BenchmarkError(f"{file}:{line}: {len(row)} fields, the header has {len(header)}")
        answer = _answer(row[index["answer"]], file, line, required=answer_required) if "answer" in index else None
        explanation = row[index["explanation"]] if "explanation" in index else None
        qid = row[index["id"]].strip() if "id" in index else str(len(questions))
        questions.append(
            Question(
                id=qid or str(len(questions)),
                question=row[index["question"]],
                choices=tuple(row[index[letter]] for letter in LETTERS),  # type: ignore[arg-type]
                answer=answer,
                file=file,
                line=line,
                explanation=explanation or None,
            )
        )
    return questions


def _read_headerless(file: Path, *, answer_required: bool) -> list[Question]:
    questions = []
    for line, row in _records(file):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 6:
            raise BenchmarkError(f"{file}:{line}: {len(row)} fields, expected 6 (question,A,B,C,D,answer)")
        questions.append(
            Question(
                id=str(len(questions)),
                question=row[0],
                choices=(row[1], row[2], row[3], row[4]),
                answer=_answer(row[5], file, line, required=answer_required),
                file=file,
                line=line,
            )
        )
    return questions


def read_file(file: Path, fmt: str, split: str) -> list[Question]:
    """Parse one subject file of `fmt` (ceval, cmmlu, mmlu); dev and scored splits need answers."""
    answer_required = not (fmt == "ceval" and split == "test")
    if fmt == "ceval":
        columns = {k: k for k in ("id", "question", *LETTERS, "answer", "explanation")}
        return _read_with_header(file, columns, answer_required=answer_required)
    if fmt == "cmmlu":
        columns = {"question": "Question", **{k: k for k in LETTERS}, "answer": "Answer"}
        return _read_with_header(file, columns, answer_required=answer_required)
    if fmt == "mmlu":
        return _read_headerless(file, answer_required=answer_required)
    raise ValueError(f"unknown benchmark format {fmt!r}")


def subject_file(root: Path, fmt: str, split: str, subject: str) -> Path:
    """Where a subject's file for `split` lives in the distribution layout."""
    name = f"{subject}.csv" if fmt == "cmmlu" else f"{subject}_{split}.csv"
    return root / split / name


def list_subjects(root: Path, fmt: str, split: str) -> list[str]:
    """Subjects that have a file in `split`, sorted."""
    folder = root / split
    if not folder.is_dir():
        raise BenchmarkError(f"{folder}: no such folder; a {fmt} benchmark has {', '.join(SPLITS[fmt])}/ folders")
    suffix = ".csv" if fmt == "cmmlu" else f"_{split}.csv"
    return sorted(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}"))


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
        chinese = bench.format in ("ceval", "cmmlu")
        for subject, value in mapping.items():
            if isinstance(value, str):
                names[subject] = value
            elif isinstance(value, list) and len(value) >= 2:
                names[subject] = str(value[1] if chinese else value[0])
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
    root = Path(bench.path)
    split = bench.eval_split()
    found = list_subjects(root, bench.format, split)
    subjects = bench.subjects if bench.subjects is not None else found
    missing = [s for s in subjects if s not in found]
    if missing:
        raise BenchmarkError(f"{root / split}: no file for subjects {missing} (found: {found})")
    if not subjects:
        raise BenchmarkError(f"{root / split}: no subject files ({bench.format} layout, see docs/evaluation.md)")
    names = subject_display_names(bench)
    loaded = []
    for subject in subjects:
        questions = read_file(subject_file(root, bench.format, split, subject), bench.format, split)
        if any(q.answer is None for q in questions):
            raise BenchmarkError(
                f"{subject_file(root, bench.format, split, subject)}: the {split} split has no answers "
                f"(C-Eval withholds its test answers); score split: val"
            )
        dev: list[Question] = []
        if bench.shots:
            dev_file = subject_file(root, bench.format, "dev", subject)
            if not dev_file.is_file():
                raise BenchmarkError(f"{dev_file}: missing; {bench.shots}-shot prompts take examples from dev")
            dev = read_file(dev_file, bench.format, "dev")
            if len(dev) < bench.shots:
                raise BenchmarkError(f"{dev_file}: {len(dev)} questions, fewer than shots={bench.shots}")
        display = names.get(subject, subject.replace("_", " "))
        loaded.append(Subject(name=subject, display_name=display, questions=questions, dev=dev[: bench.shots]))
    return loaded


def iter_benchmark_texts(bench: BenchmarkSection) -> Iterator[tuple[str, str, Question]]:
    """(split, subject, question) for every question of every split on disk: what decontamination
    must keep out of training data (dev examples are prompt material, test/val are scored)."""
    root = Path(bench.path)
    for split in SPLITS[bench.format]:
        if not (root / split).is_dir():
            continue
        subjects = bench.subjects if bench.subjects is not None else list_subjects(root, bench.format, split)
        for subject in subjects:
            file = subject_file(root, bench.format, split, subject)
            if file.is_file():
                for question in read_file(file, bench.format, split):
                    yield split, subject, question
