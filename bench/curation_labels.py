"""How well does the filter stage do on the demo's planted problems? Outcome per planted label.

    python -m curation.run recipes/demo.yaml && python bench/curation_labels.py [WORKDIR]

recipes/demo_data/labels.json says, for every planted document, what is wrong with it (or that it
must be kept: `traditional`, `mixed_zh_en_keep`, `tech_code_keep`, `mojibake`, `control_chars` are
repairable or valuable). For each source and label this prints how many documents were kept and
which step removed the others, so a threshold change can be judged on what it removes.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its files would shadow the packages (and stdlib modules) they are named after

from common.documents import iter_documents, iter_excluded  # noqa: E402

FILES = {
    "zh_web": "zh_web.jsonl.gz", "zh_wiki": "zh_wiki.parquet", "en_web": "en_web.jsonl.zst",
    "zh_en_pairs": "parallel.tsv", "alpaca": "instruct_alpaca.jsonl", "sharegpt": "instruct_sharegpt.jsonl",
    "chat_messages": "instruct_messages",
}
KEEP = {"CLEAN", "traditional", "mixed_zh_en_keep", "tech_code_keep", "mojibake", "control_chars"}


def label_of(doc_id: str, labels: dict, file: str) -> str:
    """Map our document id back to the generator's id (record id, or 0-based row for tsv/alpaca)."""
    raw = doc_id.split("/", 1)[1]
    if "/" in raw:  # <source>/<file>/<1-based line>
        line = int(raw.rsplit("/", 1)[1])
        raw = str(line - 2 if file.endswith(".tsv") else line - 1)  # tsv has a header row
    return (labels.get(raw) or "CLEAN").split(":")[0]


def main() -> None:
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "work" / "demo"
    labels = json.loads((ROOT / "recipes/demo_data/labels.json").read_text())
    print("| source | label | docs | kept | removed by (step:reason) |\n|---|---|---|---|---|")
    for source, file in FILES.items():
        kept: Counter = Counter()
        removed: dict[str, Counter] = defaultdict(Counter)
        for folder in ("curated", "heldout"):
            for doc in iter_documents(workdir / folder / source):
                kept[label_of(doc["id"], labels.get(file, {}), file)] += 1
        for step in sorted((workdir / "excluded" / source).iterdir()):
            for doc in iter_excluded(step):
                label = label_of(doc["id"], labels.get(file, {}), file)
                removed[label][f"{step.name}:{doc['metadata'].get('filter_reason')}"] += 1
        for label in sorted(set(kept) | set(removed), key=lambda x: (x not in KEEP, x)):
            total = kept[label] + sum(removed[label].values())
            why = ", ".join(f"{k} {v}" for k, v in removed[label].most_common())
            marker = " (keep)" if label in KEEP else ""
            print(f"| {source} | {label}{marker} | {total} | {kept[label]} | {why} |")


if __name__ == "__main__":
    main()
