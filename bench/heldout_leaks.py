"""Do held-out documents share a sentence with training? An independent check of the publish stage.

    python bench/heldout_leaks.py WORKDIR        # after python -m curation.run RECIPE (--until publish)

For every held-out document (`WORKDIR/heldout/<source>/`), every sentence (text cut at 。！？；… , at
. ! ? before a space or the end, and at newlines) long enough to count — 13 letters, digits or Han
characters when it holds Chinese, 6 words with a letter or digit otherwise, punctuation not counted, as
`curation.publish` counts — is searched for verbatim, as a substring, in the training text of the same
source (`WORKDIR/curated/<source>/`, whitespace runs collapsed). This shares no code with publish (no
hashing, no windows): a plain substring search, slow but simple. Prints every leaking document with
the first shared sentence, and the totals.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # not bench/: its files would shadow the packages

from common.documents import iter_documents  # noqa: E402

_SPLIT = re.compile(r"[。！？；…\n]|[.!?](?=\s|$)")
_HAN = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")


def counts(sentence: str) -> bool:
    if _HAN.search(sentence):
        return sum(c.isalnum() for c in sentence) >= 13
    return sum(any(c.isalnum() for c in word) for word in sentence.split()) >= 6


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    work = Path(sys.argv[1])
    total = leaking = 0
    for folder in sorted((work / "heldout").iterdir()):
        train = "\n".join(re.sub(r"\s+", " ", d["text"]) for d in iter_documents(work / "curated" / folder.name))
        for doc in iter_documents(folder):
            total += 1
            pieces = (p.strip() for p in _SPLIT.split(re.sub(r"[ \t]+", " ", doc["text"])))
            shared = next((p for p in pieces if counts(p) and p in train), None)
            if shared is not None:
                leaking += 1
                print(f"{folder.name}\t{doc['id']}\t{shared[:80]}")
    print(f"held-out documents: {total}, sharing a sentence with the training documents of their source: {leaking}")


if __name__ == "__main__":
    main()
