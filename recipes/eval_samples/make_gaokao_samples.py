"""Writes recipes/eval_samples/gaokao/: project-written questions in GAOKAO-Bench's objective-question layout
(Data/Objective_Questions/*.json), three subjects: single-answer arithmetic, multiple-answer physics
statements (scored with partial credit) and geography items with two sub-questions each. Our own
questions, not excerpts of the benchmark. Run: python recipes/eval_samples/make_gaokao_samples.py"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "gaokao"
MARKERS = ["{}．", "{}.", "{}、", "({})"]  # the option forms the benchmark's files use


def options(texts: list[str], form: str, sep: str) -> str:
    return sep.join(form.format(letter) + text for letter, text in zip("ABCD", texts, strict=True))


def item(index: int, question: str, answer: list[str], score: float, year: int) -> dict:
    return {"year": str(year), "category": "（样题）", "question": question, "answer": answer,
            "analysis": "", "index": index, "score": score}


def math(rng: random.Random) -> list[dict]:
    items = []
    for i in range(12):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        right = a + b
        wrong = rng.sample([right + d for d in (-11, -10, -2, -1, 1, 2, 10, 11)], 3)
        texts = [str(v) for v in [right, *wrong]]
        rng.shuffle(texts)
        letter = "ABCD"[texts.index(str(right))]
        form = MARKERS[i % len(MARKERS)]
        q = f"{i + 1}．（5分）计算 {a}+{b} 的值为（　　）\n" + options(texts, form, "\n") + "\n"
        items.append(item(i, q, [letter], 5, 2010 + i % 10))
    return items


TRUE = ["物体不受外力时保持静止或匀速直线运动状态", "在真空中光的传播速度约为三十万千米每秒",
        "同种电荷相互排斥，异种电荷相互吸引", "声音不能在真空中传播", "水在一个标准大气压下一百摄氏度沸腾",
        "电流通过导体会产生热量", "地球表面的物体受到重力作用", "平面镜成的像与物体大小相等"]
FALSE = ["物体的质量随位置改变而改变", "声音在真空中传播最快", "导体的电阻与其长度无关",
         "同种电荷相互吸引", "光在水中比在真空中传播得更快", "重力的方向总是竖直向上",
         "温度越高的物体所含热量一定越多", "凸透镜只能成虚像"]


def physics(rng: random.Random) -> list[dict]:
    items = []
    for i in range(12):
        n_true = [1, 2, 3, 2][i % 4]
        picked = rng.sample(TRUE, n_true) + rng.sample(FALSE, 4 - n_true)
        rng.shuffle(picked)
        answer = "".join(letter for letter, text in zip("ABCD", picked, strict=True) if text in TRUE)
        form = MARKERS[i % len(MARKERS)]
        q = f"{i + 1}．（6分）下列说法正确的是（　　）\n" + options(picked, form, "\n") + "\n"
        items.append(item(i, q, [answer], 6, 2011 + i % 10))
    return items


CAPITALS = [("河北", "石家庄"), ("山西", "太原"), ("辽宁", "沈阳"), ("吉林", "长春"), ("江苏", "南京"),
            ("浙江", "杭州"), ("安徽", "合肥"), ("福建", "福州"), ("江西", "南昌"), ("山东", "济南"),
            ("河南", "郑州"), ("湖北", "武汉"), ("湖南", "长沙"), ("广东", "广州"), ("四川", "成都")]


def geography(rng: random.Random) -> list[dict]:
    items = []
    for i in range(6):
        pair = rng.sample(CAPITALS, 2)
        q = f"阅读材料，完成{2 * i + 1}～{2 * i + 2}题。某旅行团计划游览两个省的省会城市。\n"
        answer = []
        for j, (province, capital) in enumerate(pair):
            others = rng.sample([c for p, c in CAPITALS if c != capital], 3)
            texts = [capital, *others]
            rng.shuffle(texts)
            answer.append("ABCD"[texts.index(capital)])
            q += f"{2 * i + j + 1}．（4分）{province}省的省会是（　　） " + options(texts, "{}．", " ") + "\n"
        items.append(item(i, q, answer, 4, 2012 + i))
    return items


def main() -> None:
    rng = random.Random(19)
    OUT.mkdir(parents=True, exist_ok=True)
    for keyword, build in (("2010-2022_Math_I_MCQs", math), ("2010-2022_Physics_MCQs", physics),
                           ("2010-2022_Geography_MCQs", geography)):
        data = {"keywords": keyword, "example": build(rng)}
        (OUT / f"{keyword}.json").write_text(json.dumps(data, ensure_ascii=False, indent=4) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
