"""Regenerate the project-written benchmark samples in the C-Eval, CMMLU and MMLU distribution layouts.

    python recipes/eval_samples/make_samples.py

The questions are our own (seeded arithmetic and capital-city questions), not copied from the real
benchmarks; only the file layouts are theirs (see docs/evaluation.md). Two subjects per benchmark,
5 dev questions and 10 questions in each scored split.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
LETTERS = "ABCD"

PROVINCE_CAPITALS = [
    ("广东省", "广州"), ("浙江省", "杭州"), ("江苏省", "南京"), ("四川省", "成都"), ("湖北省", "武汉"),
    ("湖南省", "长沙"), ("陕西省", "西安"), ("山东省", "济南"), ("河南省", "郑州"), ("福建省", "福州"),
    ("云南省", "昆明"), ("贵州省", "贵阳"), ("辽宁省", "沈阳"), ("吉林省", "长春"), ("江西省", "南昌"),
    ("安徽省", "合肥"), ("河北省", "石家庄"), ("山西省", "太原"), ("甘肃省", "兰州"), ("海南省", "海口"),
    ("黑龙江省", "哈尔滨"), ("青海省", "西宁"), ("广西壮族自治区", "南宁"), ("西藏自治区", "拉萨"),
    ("新疆维吾尔自治区", "乌鲁木齐"),
]
COUNTRY_CAPITALS = [
    ("France", "Paris"), ("Japan", "Tokyo"), ("Kenya", "Nairobi"), ("Canada", "Ottawa"), ("Peru", "Lima"),
    ("Egypt", "Cairo"), ("Norway", "Oslo"), ("Chile", "Santiago"), ("Poland", "Warsaw"), ("Spain", "Madrid"),
    ("Italy", "Rome"), ("Greece", "Athens"), ("Portugal", "Lisbon"), ("Austria", "Vienna"),
    ("Hungary", "Budapest"), ("Ireland", "Dublin"), ("Turkey", "Ankara"), ("Thailand", "Bangkok"),
    ("Vietnam", "Hanoi"), ("Argentina", "Buenos Aires"), ("Australia", "Canberra"), ("Brazil", "Brasilia"),
    ("Morocco", "Rabat"), ("Finland", "Helsinki"), ("Sweden", "Stockholm"),
]


def _options(rng: random.Random, correct: str, distractors: list[str]) -> tuple[list[str], str]:
    choices = [correct, *rng.sample(distractors, 3)]
    rng.shuffle(choices)
    return choices, LETTERS[choices.index(correct)]


def arithmetic(rng: random.Random, n: int, chinese: bool) -> list[tuple[str, list[str], str]]:
    questions = []
    for _ in range(n):
        a, b = rng.randint(12, 99), rng.randint(3, 29)
        op = rng.choice(["+", "-", "×"])
        value = a + b if op == "+" else a - b if op == "-" else a * b
        wrong = sorted({value + d for d in (-10, -2, -1, 1, 2, 10)} - {value})
        choices, answer = _options(rng, str(value), [str(w) for w in wrong])
        text = f"计算：{a} {op} {b} = ____" if chinese else f"What is {a} {op.replace('×', '*')} {b}?"
        questions.append((text, choices, answer))
    return questions


def capitals(rng: random.Random, pairs: list[tuple[str, str]], n: int, chinese: bool):
    questions = []
    for place, capital in rng.sample(pairs, n):
        others = [c for _, c in pairs if c != capital]
        choices, answer = _options(rng, capital, others)
        text = f"{place}的省会（首府）是哪座城市？" if chinese else f"What is the capital city of {place}?"
        questions.append((text, choices, answer))
    return questions


def write_ceval(root: Path, subject: str, questions, counts: dict[str, int]) -> None:
    it = iter(questions)
    for split, n in counts.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{subject}_{split}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            if split == "dev":
                writer.writerow(["id", "question", *LETTERS, "answer", "explanation"])
            elif split == "val":
                writer.writerow(["id", "question", *LETTERS, "answer"])
            else:  # the public C-Eval test split withholds answers
                writer.writerow(["id", "question", *LETTERS])
            for k in range(n):
                text, choices, answer = next(it)
                if split == "dev":
                    writer.writerow([k, text, *choices, answer, f"1. 正确答案是{answer}。"])
                elif split == "val":
                    writer.writerow([k, text, *choices, answer])
                else:
                    writer.writerow([k, text, *choices])


def write_cmmlu(root: Path, subject: str, questions, counts: dict[str, int]) -> None:
    it = iter(questions)
    for split, n in counts.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{subject}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["", "Question", *LETTERS, "Answer"])
            for k in range(n):
                text, choices, answer = next(it)
                writer.writerow([k, text, *choices, answer])


def write_mmlu(root: Path, subject: str, questions, counts: dict[str, int]) -> None:
    it = iter(questions)
    for split, n in counts.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{subject}_{split}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            for _ in range(n):
                text, choices, answer = next(it)
                writer.writerow([text, *choices, answer])


def main() -> None:
    rng = random.Random(20261122)
    three = {"dev": 5, "val": 10, "test": 10}
    write_ceval(HERE / "ceval", "elementary_mathematics", arithmetic(rng, 25, True), three)
    write_ceval(HERE / "ceval", "high_school_geography", capitals(rng, PROVINCE_CAPITALS, 25, True), three)
    mapping = {
        "elementary_mathematics": ["Elementary Mathematics", "小学数学", "STEM"],
        "high_school_geography": ["High School Geography", "高中地理", "Social Science"],
    }
    (HERE / "ceval" / "subject_mapping.json").write_text(
        json.dumps(mapping, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    two = {"dev": 5, "test": 10}
    write_cmmlu(HERE / "cmmlu", "elementary_mathematics", arithmetic(rng, 15, True), two)
    write_cmmlu(HERE / "cmmlu", "chinese_geography", capitals(rng, PROVINCE_CAPITALS, 15, True), two)
    write_mmlu(HERE / "mmlu", "elementary_mathematics", arithmetic(rng, 25, False), three)
    write_mmlu(HERE / "mmlu", "high_school_geography", capitals(rng, COUNTRY_CAPITALS, 25, False), three)


if __name__ == "__main__":
    main()
