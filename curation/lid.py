"""Language identification with fastText lid.176, fully offline.

The model file (lid.176.ftz) ships inside this package (curation/models/); nothing is downloaded at
run time. datatrove's `FT176LID` downloads lid.176.bin on first use, and the `fasttext` 0.9.3 Python
wrapper's `predict` fails under NumPy 2 (the `fasttext-numpy2` wheel we depend on fixes that, but other
builds of the module may be installed), so we subclass datatrove's LID and call the model's C++
`predict` directly.
"""

from __future__ import annotations

import re
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.lid import FastTextLID

# lid.176 labels that are Chinese for our purposes: Mandarin, Wu and Cantonese are routinely confused.
CHINESE_LABELS = ("zh", "wuu", "yue")


def lid176_path() -> Path:
    """Path of lid.176.ftz, shipped in this package (curation/models/README.md says where it comes from)."""
    path = Path(__file__).resolve().parent / "models" / "lid.176.ftz"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing; reinstall zh-adapt (pip install -e .)")
    return path


def one_line(text: str) -> str:
    """`text` as fastText's `predict` hands it to the model: no inner newline, one final "\n"."""
    return text.replace("\n", " ") + "\n"


class OfflineLID176(FastTextLID):
    """datatrove-compatible lid.176 predictor reading the packaged model file."""

    def __init__(self, languages: list[str] | None = None, k: int = -1):
        super().__init__(languages, k)

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(str(lid176_path()))
        return self._model

    def scores(self, text: str) -> dict[str, float]:
        """Probability of every language label (k of them) for `text`.

        Called exactly as fastText's own `_FastText.predict` calls the C++ model: one line of text
        ending in "\n" (the model reads that newline as the end-of-sentence token `</s>`, which it saw
        after every training line; without it short texts score differently). The wrapper refuses a
        "\n" inside the text, so newlines inside become spaces, which fastText splits words on too.
        """
        pairs = self.model.f.predict(one_line(text), self.k, 0.0, "strict")
        return {label.removeprefix("__label__"): prob for prob, label in pairs}

    def predict(self, doc: Document) -> tuple[tuple[str, float], dict[str, float]]:
        scores = self.scores(doc.text)
        best = max(scores.items(), key=lambda kv: kv[1]) if scores else ("unknown", 0.0)
        if self.languages:
            return best, {lang: scores.get(lang, 0.0) for lang in self.languages}
        return best, scores


_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")


def language_score(scores: dict[str, float], language: str, text: str | None = None) -> float:
    """Probability that text is in `language` (zh sums the Chinese varieties).

    lid.176.ftz often labels short Chinese sentences as Japanese (measured on the demo's parallel
    data: 12 of 303 good pairs had P(ja) > P(zh)). Japanese writing always contains kana and Korean
    hangul, so for text without them the ja/ko probability is counted as Chinese.
    """
    if language != "zh":
        return scores.get(language, 0.0)
    score = sum(scores.get(label, 0.0) for label in CHINESE_LABELS)
    if text is not None:
        if not _KANA.search(text):
            score += scores.get("ja", 0.0)
        if not _HANGUL.search(text):
            score += scores.get("ko", 0.0)
    return min(score, 1.0)


class ExpectedLanguageFilter(BaseFilter):
    """Keeps a document when the probability of its source's language reaches the threshold.

    Records `lid_language` (top label) and `lid_score` (probability of the expected language) in the
    metadata of every document, kept or not, so thresholds can be re-tuned from the outputs.
    """

    name = "🌍 Language ID"
    excluded_name = "language"

    def __init__(self, language: str, threshold: float, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.language = language
        self.threshold = threshold
        self.lid = OfflineLID176(k=5)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        scores = self.lid.scores(doc.text)
        score = language_score(scores, self.language, doc.text)
        top = max(scores.items(), key=lambda kv: kv[1])[0] if scores else "unknown"
        doc.metadata["lid_language"] = "zh" if top in CHINESE_LABELS else top
        doc.metadata["lid_score"] = round(score, 4)
        if score >= self.threshold:
            return True
        return False, f"not_{self.language}"


class ConversationLanguageTagger(BaseFilter):
    """Instruction data: records the conversation's language; drops only below an optional threshold."""

    name = "🌍 Language ID (conversations)"
    excluded_name = "language"

    def __init__(self, threshold: float | None = None, expected: str | None = None, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.threshold = threshold
        self.expected = expected
        self.lid = OfflineLID176(k=5)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        scores = self.lid.scores(doc.text)
        zh, en = language_score(scores, "zh", doc.text), language_score(scores, "en")
        doc.metadata["language"] = "zh" if zh >= en else "en"
        if self.threshold is None or self.expected is None:
            return True
        score = zh if self.expected == "zh" else en
        doc.metadata["lid_score"] = round(score, 4)
        return (True, None) if score >= self.threshold else (False, f"not_{self.expected}")
