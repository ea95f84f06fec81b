"""Where should the language-ID threshold be? lid.176 scores of the demo corpus by planted label.

    python bench/lid_thresholds.py

For the Chinese and English web sources of recipes/demo_data, every document is normalised as the
filter stage does (ftfy, controls, OpenCC), scored with lid.176 (probability of the expected
language; zh sums zh/wuu/yue), and grouped by its label in labels.json: clean prose, mixed
Chinese/English technical text (must be kept), wrong language (must be removed). For each candidate
threshold the table shows the fraction of each group that is kept. The defaults in
curation/config.py are chosen from this table.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # not bench/: its files shadow packages and stdlib modules

from curation.config import NormalizeSection  # noqa: E402
from curation.lid import OfflineLID176, language_score  # noqa: E402
from curation.normalize import Normalizer  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "recipes" / "demo_data"
THRESHOLDS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.8, 0.9]


def records(name: str) -> list[dict]:
    import gzip
    import io

    import zstandard

    raw = (DEMO / name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif name.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def group_of(label: str | None) -> str:
    if label is None:
        return "clean"
    if label.startswith("mixed"):
        return "mixed zh/en (keep)"
    if label == "tech_code_keep":
        return "technical with code (keep)"
    if label == "wrong_language":
        return "wrong language (drop)"
    if label == "traditional":
        return "traditional (keep)"
    return "other problems"


def main() -> None:
    labels = json.loads((DEMO / "labels.json").read_text())
    lid = OfflineLID176(k=5)
    print("| source | group | docs | median score | " + " | ".join(f"kept@{t}" for t in THRESHOLDS) + " |")
    print("|---|---|---|---|" + "---|" * len(THRESHOLDS))
    for name, language in (("zh_web.jsonl.gz", "zh"), ("en_web.jsonl.zst", "en")):
        file_labels = labels.get(name, {})
        norm = Normalizer(NormalizeSection(), chinese=language == "zh")
        scores: dict[str, list[float]] = defaultdict(list)
        for record in records(name):
            text = norm.fix(record["text"], chinese=language == "zh")
            scores[group_of(file_labels.get(str(record["id"])))].append(language_score(lid.scores(text), language, text))
        for group in sorted(scores):
            values = sorted(scores[group])
            kept = [sum(v >= t for v in values) / len(values) for t in THRESHOLDS]
            print(f"| {name.split('.')[0]} | {group} | {len(values)} | {values[len(values) // 2]:.3f} | "
                  + " | ".join(f"{k:.2f}" for k in kept) + " |")


if __name__ == "__main__":
    main()
