"""English repetition filter: datatrove's `GopherRepetitionFilter` vs ours (`FastGopherRepetitionFilter`,
the same rules computed on NumPy arrays), on the same documents in the same process. Both use our
whitespace word tokenizer (as the English filter stage does). Passes alternate between the two, and the
best pass of each is reported. Every document's decision (kept, or the reason) must be identical.

    python bench/gopher_repetition.py [--mb 8] [--passes 3]

Corpus: the demo's English web source (recipes/demo_data/en_web.jsonl.zst: clean pages, spam, near and
exact duplicates, short and technical documents), repeated up to `--mb` megabytes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its files shadow packages and stdlib modules

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.filters import GopherRepetitionFilter  # noqa: E402

from curation.quality_en import FastEnglishWordTokenizer, FastGopherRepetitionFilter  # noqa: E402


def corpus(mb: float) -> list[str]:
    with open(ROOT / "recipes" / "demo_data" / "en_web.jsonl.zst", "rb") as f:
        lines = zstandard.ZstdDecompressor().stream_reader(f).read().decode().splitlines()
    texts = []
    for line in lines:
        try:
            texts.append(json.loads(line)["text"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # the demo's planted malformed records
    out, size = [], 0
    while size < mb * 1e6:
        for text in texts:
            out.append(text)
            size += len(text.encode())
    return out


def run(step, texts: list[str]) -> tuple[float, list]:
    start = time.process_time()
    decisions = [step.filter(Document(text=text, id=str(i))) for i, text in enumerate(texts)]
    return time.process_time() - start, decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8.0)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    texts = corpus(args.mb)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    tokenizer = FastEnglishWordTokenizer()
    steps = {"datatrove GopherRepetitionFilter": GopherRepetitionFilter(language=tokenizer),
             "ours FastGopherRepetitionFilter": FastGopherRepetitionFilter(language=tokenizer)}
    best, decisions = {}, {}
    for _ in range(args.passes):
        for name, step in steps.items():
            seconds, decisions[name] = run(step, texts)
            best[name] = min(best.get(name, seconds), seconds)
    stock, ours = decisions.values()
    same = sum(a == b for a, b in zip(stock, ours, strict=True))
    print(f"{len(texts)} documents, {mb:.2f} MB; {platform.processor() or platform.machine()}; best of {args.passes} passes, CPU seconds")
    print("| filter | CPU s | MB/s per core | time vs ours |")
    print("|---|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.2f} | {mb / seconds:.2f} | {seconds / best['ours FastGopherRepetitionFilter']:.2f}x |")
    print(f"identical decisions: {same}/{len(texts)}; outcomes: {dict(Counter(str(d) for d in ours).most_common())}")


if __name__ == "__main__":
    main()
