"""A Chinese cloze multiple-choice set from held-out real text (issue 15, point 3).

    python bench/cloze_zh.py WORKDIR [--source zh_docs] [--items 200] [--seed 0] [--out FILE]

Reads the held-out documents of one Chinese source (`WORKDIR/heldout/<source>/`, which by the publish
stage share no sentence with training), splits them into sentences, and in each usable sentence blanks
one two-character content word (jieba's part of speech: noun, verb, verbal noun or adjective). The three
distractors are two-character words of the same part of speech from the same held-out text, of similar
frequency (nearest in log frequency), absent from the sentence and sharing no character with the answer.
Options are all two characters long, so a model is scored by the log-likelihood of the whole sentence
with each option in place (evaluation format `cloze`: `{name: cloze_zh, format: cloze, path:
WORKDIR/benchmarks/cloze_zh}`); chance is 25%.

Writes JSON lines: id (document id + sentence number), sentence with `____` for the blank, options
(4, shuffled), answer (index), answer_text, pos. Deterministic for a given held-out folder and seed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.documents import iter_documents  # noqa: E402
from common.text import HAN_RANGES  # noqa: E402

BLANK = "____"
HAN = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in HAN_RANGES) + "]")


def is_han(char: str) -> bool:
    return HAN.fullmatch(char) is not None


POS = {"n": "n", "v": "v", "vn": "v", "a": "a"}  # jieba flags kept, grouped
SENTENCE = re.compile(r"[^。！？\n]+[。！？]")


def sentences(text: str) -> list[str]:
    out = []
    for match in SENTENCE.finditer(text):
        s = match.group().strip()
        han = sum(is_han(c) for c in s)
        if 12 <= len(s) <= 80 and han >= 0.7 * len(s):
            out.append(s)
    return out


def build(heldout: Path, *, items: int, seed: int) -> list[dict]:
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)
    docs = sorted(iter_documents(heldout), key=lambda d: str(d["id"]))
    cut: list[tuple[str, int, str, list[tuple[str, str]]]] = []
    freq: Counter = Counter()
    pos_of: dict[str, Counter] = {}
    for doc in docs:
        for n, s in enumerate(sentences(doc["text"])):
            words = [(w.word, w.flag) for w in pseg.cut(s)]
            cut.append((str(doc["id"]), n, s, words))
            for word, flag in words:
                if len(word) == 2 and all(is_han(c) for c in word) and flag in POS:
                    freq[word] += 1
                    pos_of.setdefault(word, Counter())[POS[flag]] += 1
    by_pos: dict[str, list[str]] = {}
    for word, flags in pos_of.items():
        by_pos.setdefault(flags.most_common(1)[0][0], []).append(word)
    rng = random.Random(seed)
    rng.shuffle(cut)
    out: list[dict] = []
    for doc_id, n, s, words in cut:
        spans, at = [], 0
        for word, flag in words:
            if (at > 0 and len(word) == 2 and all(is_han(c) for c in word) and flag in POS
                    and s.count(word) == 1):
                spans.append((at, word, POS[flag]))
            at += len(word)
        if not spans:
            continue
        at, answer, pos = rng.choice(spans)
        pool = [w for w in by_pos.get(pos, []) if w != answer and w not in s and not set(w) & set(answer)]
        if len(pool) < 3:
            continue
        target = math.log(freq[answer])
        pool.sort(key=lambda w: (abs(math.log(freq[w]) - target), w))
        distractors = rng.sample(pool[:12], 3)
        options = [answer, *distractors]
        rng.shuffle(options)
        out.append({"id": f"{doc_id}#{n}", "sentence": s[:at] + BLANK + s[at + 2:], "options": options,
                    "answer": options.index(answer), "answer_text": answer, "pos": pos})
        if len(out) >= items:
            break
    return sorted(out, key=lambda item: item["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path, help="a curation workdir with heldout/<source>/")
    parser.add_argument("--source", default="zh_docs")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="default: WORKDIR/benchmarks/cloze_zh/test/cloze_zh.jsonl")
    args = parser.parse_args(argv)
    heldout = args.workdir / "heldout" / args.source
    if not heldout.is_dir():
        print(f"error: {heldout}: no held-out documents (run curation with heldout_fraction > 0)", file=sys.stderr)
        return 2
    items = build(heldout, items=args.items, seed=args.seed)
    out = args.out or args.workdir / "benchmarks" / "cloze_zh" / "test" / "cloze_zh.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    print(f"{len(items)} items from {heldout} -> {out}")
    return 0 if len(items) >= args.items else 1


if __name__ == "__main__":
    sys.exit(main())
