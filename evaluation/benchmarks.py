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
    GAOKAO  (GAOKAO-Bench Data/Objective_Questions/) <root>/<subject>.json, {"example": [item, ...]}, the
            options inside each item's question text; multiple-answer items and points (GaokaoBench).

Every problem in a file (missing column, wrong number of fields, an answer that is not one of the
question's letters) is a `BenchmarkError` naming the file and the line, because these files are often
hand-edited or converted.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
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
    # GAOKAO-style items: the options are written inside `question` (not repeated by the prompt), an
    # item with several sub-questions has one cue per sub-question, `multiple` answers are a set of
    # letters ("AC", sorted) chosen among every non-empty combination, each answer is worth `score` points,
    # and `partial_credit` gives half of them to a strict subset of the answer (GAOKAO-Bench's physics rule)
    options_in_text: bool = False
    cue: str | None = None
    multiple: bool = False
    score: float = 1.0
    partial_credit: bool = False

    @property
    def letters(self) -> str:
        """The labels of this question's options: A, B, ... one per choice."""
        return LETTERS[: len(self.choices)]

    @property
    def candidates(self) -> list[str]:
        """What the model may answer: one letter, or (multiple) every non-empty set of letters, smallest
        first, letters in order ("A", "B", ..., "AB", "AC", ..., "ABCD")."""
        if not self.multiple:
            return list(self.letters)
        return ["".join(c) for k in range(1, len(self.letters) + 1)
                for c in itertools.combinations(self.letters, k)]

    def points(self, predicted: str) -> float:
        """Points for answering `predicted`: `score` for the exact answer; with `partial_credit`, half of
        it when every predicted letter is in the answer (GAOKAO-Bench Bench/OBJ_score_evaluation.py:
        "Fully correct: 6 points; Partially correct: 3 points; Incorrect: 0 points"); else 0."""
        if predicted == self.answer:
            return self.score
        if self.partial_credit and self.answer and all(letter in self.answer for letter in predicted):
            return self.score / 2
        return 0.0


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
    has_dev: ClassVar[bool] = True  # False: no few-shot examples are distributed (recipes must use shots: 0)
    reports_points: ClassVar[bool] = False  # True: results carry points / max_points (GAOKAO's scoring)
    # letter: the model answers with the option letter after the prompt (C-Eval, MMLU, ...); sentence: each
    # option is put into the question's blank and the whole sentence with the highest log-likelihood wins
    # (cloze items, no prompt wording)
    scoring: ClassVar[str] = "letter"

    @abstractmethod
    def read(self, file: Path, *, answers: bool) -> list[Question]:
        """The questions of one subject file, in file order; `answers`: each must have one (else None may be)."""

    def display_name(self, subject: str) -> str:
        """The subject's name in the prompt header when neither the recipe nor subject_mapping.json names it."""
        return subject.replace("_", " ")

    def scored_splits(self) -> tuple[str, ...]:
        return tuple(split for split in self.splits if split != "dev")

    def subject_file(self, root: Path, split: str, subject: str) -> Path:
        """Where a subject's file for `split` lives in the distribution layout."""
        return root / split / self.file_name.format(subject=subject, split=split)

    def subjects(self, root: Path, split: str) -> list[str]:
        """Subjects that have a file in `split`, sorted."""
        folder = root / split
        if not root.is_dir():
            raise BenchmarkError(f"{root}: no such folder; put a local copy of the {self.name} benchmark there "
                                 f"(layout and where to get it: docs/evaluation.md)")
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


# GAOKAO-Bench objective questions (github.com/OpenLMLab/GAOKAO-Bench, Data/Objective_Questions/*.json):
# one JSON file per subject, {"keywords": "2010-2022_Physics_MCQs", "example": [item, ...]}, each item
# {"question": text with its options inside, "answer": ["D"] | ["B", "C"] (one entry per sub-question) |
#  ["AC"] (several letters: a multiple-answer question), "score": points per answer, "year", "category",
#  "index", "analysis"}.

# An option marker: "A．" "A." "A、" "(A)" "（A）", not right after a Latin letter or TeX character
# (the benchmark's files often glue an option to the previous text: "...增加C．给成年", "...初现16C．").
_OPTION = re.compile(r"(?<![A-Za-z_$\\{])(?:([A-Z])\s*[.．、]|[(（]([A-Z])[)）])")
_SUBJECT_ZH = {"Biology": "生物", "Chemistry": "化学", "Physics": "物理", "Math": "数学", "History": "历史",
               "Geography": "地理", "Political_Science": "政治", "Chinese": "语文", "English": "英语"}


def option_groups(text: str) -> list[list[str]]:
    """The option lists written in a question's text, each as its option texts in letter order: a list
    starts at an "A" marker and takes B, C, ... in turn (other capital letters followed by a dot are text);
    an item with several sub-questions has one list per sub-question."""
    groups: list[list[tuple[int, int]]] = []  # (marker start, text start) per option
    for match in _OPTION.finditer(text):
        letter = match.group(1) or match.group(2)
        current = groups[-1] if groups else None
        if letter == "A" and (current is None or len(current) != 1):
            groups.append([(match.start(), match.end())])
        elif current is not None and letter == LETTERS[len(current)]:
            current.append((match.start(), match.end()))
    groups = [g for g in groups if len(g) >= 2]
    out = []
    for k, group in enumerate(groups):
        end_of_group = groups[k + 1][0][0] if k + 1 < len(groups) else len(text)
        bounds = [start for start, _ in group[1:]] + [end_of_group]
        out.append([text[begin:end].strip() for (_, begin), end in zip(group, bounds, strict=True)])
    return out


@register
class GaokaoBench(BenchmarkFormat):
    """GAOKAO-Bench's objective questions, zero-shot (no dev examples are distributed)."""

    name = "gaokao"
    # GAOKAO-Bench's prompts (Bench/Obj_Prompt.json) open with "请你做一道{subject}选择题"; they then ask for
    # reasoning and an answer in 【答案】...<eoa>, which log-likelihood scoring replaces by the cue.
    style = PromptStyle("请你做一道{subject}选择题。\n\n", "", "\n答案：", "")
    splits = ("test",)
    scored_split = "test"
    file_name = "{subject}.json"
    has_dev = False
    reports_points = True

    def subject_file(self, root: Path, split: str, subject: str) -> Path:
        return root / f"{subject}.json"  # the files sit directly in the folder (Data/Objective_Questions/)

    def subjects(self, root: Path, split: str) -> list[str]:
        if not root.is_dir():
            raise BenchmarkError(f"{root}: no such folder; put a local copy of the gaokao benchmark there "
                                 f"(layout and where to get it: docs/evaluation.md)")
        return sorted(p.stem for p in root.glob("*.json"))

    def display_name(self, subject: str) -> str:
        for english, chinese in _SUBJECT_ZH.items():
            if english in subject:
                return chinese
        return subject.replace("_", " ")

    def read(self, file: Path, *, answers: bool) -> list[Question]:
        try:
            data = json.loads(file.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError as err:
            raise BenchmarkError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        except json.JSONDecodeError as err:
            raise BenchmarkError(f"{file}:{err.lineno}: not valid JSON: {err.msg}") from None
        if not isinstance(data, dict) or not isinstance(data.get("example"), list):
            raise BenchmarkError(f"{file}: expected an object with an \"example\" list (GAOKAO-Bench layout)")
        items = data["example"]
        # A file where some answer has several letters holds multiple-answer questions (GAOKAO-Bench's
        # physics): every item in it is scored over all letter sets, with partial credit.
        multiple = any(isinstance(item, dict) and isinstance(item.get("answer"), list)
                       and any(isinstance(a, str) and len(a.strip()) > 1 for a in item["answer"])
                       for item in items)
        questions = []
        for i, item in enumerate(items):
            where = f"{file}: item {i}"
            if not isinstance(item, dict):
                raise BenchmarkError(f"{where}: not an object")
            missing = [key for key in ("question", "answer", "score") if key not in item]
            if missing:
                raise BenchmarkError(f"{where}: missing key {missing[0]!r}")
            text, given, score = item["question"], item["answer"], item["score"]
            if not isinstance(text, str) or not text.strip():
                raise BenchmarkError(f"{where}: \"question\" is not a text")
            if not isinstance(given, list) or not given or not all(isinstance(a, str) for a in given):
                raise BenchmarkError(f"{where}: \"answer\" must be a non-empty list of letter strings")
            if isinstance(score, bool) or not isinstance(score, int | float) or score <= 0:
                raise BenchmarkError(f"{where}: \"score\" must be a positive number, not {score!r}")
            groups = option_groups(text)
            if not groups:
                raise BenchmarkError(f"{where}: no options (A. / A． / A、 / (A) ...) found in the question")
            if len(given) == 1 and len(groups) > 1:
                groups = groups[-1:]  # lettered rows of a table, say, before the options: the last list
            if len(groups) != len(given) and len(groups) != 1:
                raise BenchmarkError(f"{where}: {len(given)} answers but {len(groups)} option lists in the question")
            item_id = str(item.get("index", i))
            for j, answer in enumerate(given):
                choices = groups[j] if len(groups) > 1 else groups[0]
                letters = LETTERS[: len(choices)]
                answer = "".join(sorted(answer.strip().upper()))
                if not answer or any(letter not in letters for letter in answer) or len(set(answer)) != len(answer):
                    raise BenchmarkError(f"{where}: answer {given[j]!r} is not among the options {', '.join(letters)}")
                if len(answer) > 1 and not multiple:
                    raise BenchmarkError(f"{where}: answer {given[j]!r} has several letters")
                questions.append(
                    Question(
                        id=item_id if len(given) == 1 else f"{item_id}.{j + 1}",
                        question=text.strip(),
                        choices=tuple(choices),
                        answer=answer,
                        file=file,
                        line=i,
                        options_in_text=True,
                        cue=None if len(given) == 1 else f"\n第{j + 1}小题答案：",
                        multiple=multiple,
                        score=float(score),
                        partial_credit=multiple,
                    )
                )
        return questions


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
        if q.answer is not None and q.multiple:
            if q.answer not in q.candidates:
                raise BenchmarkError(f"{file}:{q.line}: answer {q.answer!r} is not a set of {', '.join(q.letters)}")
        elif q.answer is not None and q.answer not in q.letters:
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
        if bench.shots and not benchmark.has_dev:
            raise BenchmarkError(f"{root}: {bench.format} has no dev examples; set shots: 0 for {bench.name}")
        if bench.shots:
            dev_file = benchmark.subject_file(root, "dev", subject)
            if not dev_file.is_file():
                raise BenchmarkError(f"{dev_file}: missing; {bench.shots}-shot prompts take examples from dev")
            dev = read_file(dev_file, bench.format, "dev")
            if len(dev) < bench.shots:
                raise BenchmarkError(f"{dev_file}: {len(dev)} questions, fewer than shots={bench.shots}")
        display = names.get(subject, benchmark.display_name(subject))
        loaded.append(Subject(name=subject, display_name=display, questions=questions, dev=dev[: bench.shots]))
    return loaded


CLOZE_BLANK = "____"


@register
class Cloze(BenchmarkFormat):
    """Fill-in-the-blank items (e.g. `bench/cloze_zh.py`'s, built from held-out text): JSON lines with
    `id`, `sentence` (one `____`), `options` (texts) and `answer` (index); scored by the log-likelihood of
    the whole sentence with each option in the blank, zero-shot. Files: `<root>/test/<subject>.jsonl`."""

    name = "cloze"
    style = PromptStyle("", "", "", "")
    splits = ("test",)
    scored_split = "test"
    file_name = "{subject}.jsonl"
    has_dev = False
    scoring = "sentence"

    def read(self, file: Path, *, answers: bool) -> list[Question]:
        questions = []
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise BenchmarkError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        for line, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except json.JSONDecodeError as err:
                raise BenchmarkError(f"{file}:{line}: not valid JSON: {err.msg}") from None
            if not isinstance(item, dict):
                raise BenchmarkError(f"{file}:{line}: not an object")
            sentence, options, answer = item.get("sentence"), item.get("options"), item.get("answer")
            if not isinstance(sentence, str) or sentence.count(CLOZE_BLANK) != 1:
                raise BenchmarkError(f"{file}:{line}: \"sentence\" must be a text with exactly one {CLOZE_BLANK}")
            if (not isinstance(options, list) or not 2 <= len(options) <= len(LETTERS)
                    or not all(isinstance(o, str) and o for o in options) or len(set(options)) != len(options)):
                raise BenchmarkError(f"{file}:{line}: \"options\" must be 2 to 26 distinct non-empty texts")
            if answer is None and not answers:
                given = None
            elif isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options):
                raise BenchmarkError(f"{file}:{line}: \"answer\" must be an index into options, not {answer!r}")
            else:
                given = LETTERS[answer]
            questions.append(Question(id=str(item.get("id", line)), question=sentence, choices=tuple(options),
                                      answer=given, file=file, line=line))
        return questions

    def filled(self, question: Question) -> list[str]:
        """The question's sentence with each option in its blank, in letter order."""
        return [question.question.replace(CLOZE_BLANK, choice) for choice in question.choices]
