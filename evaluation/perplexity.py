"""Held-out perplexity per source and per language, plus bits per character.

Perplexity depends on the tokenizer (extending the vocabulary changes what a "token" is), so every
group also reports bits per character: total negative log-likelihood in bits over the characters it
covers, comparable between a base model and its extended-vocabulary descendant.

Each document is scored as `[BOS] + tokens(text)` so that its first token is predicted too. Long
documents are cut into windows of the model's context that overlap by one token, so every token
after BOS is predicted exactly once (context restarts at a window boundary). Instruction documents
score the assistant turns only, rendered and masked exactly as the tokenize stage renders them for
training (`common.encoding.DocumentEncoder` with the recipe's `tokenize` section: the recipe's or the
tokenizer's chat template, else `turn_templates`), each answer's end-of-turn token and the final EOS
included; their characters are the answers' characters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.documents import iter_documents
from common.encoding import DocumentEncoder, TokenizeSection
from evaluation.config import heldout_sources  # noqa: F401  (evaluation.run's use, kept importable here)
from evaluation.models import LoadedModel, target_logprobs

GROUP_DOCUMENTS = 256  # documents scored per call, bounding memory on large held-out sets


@dataclass
class Totals:
    """Sums over a group of documents; the metrics are derived so groups can be merged exactly."""

    docs: int = 0
    tokens: int = 0
    chars: int = 0
    nll: float = 0.0  # nats

    def add(self, other: Totals) -> None:
        self.docs += other.docs
        self.tokens += other.tokens
        self.chars += other.chars
        self.nll += other.nll

    def as_dict(self) -> dict:
        loss = self.nll / self.tokens if self.tokens else float("nan")
        return {
            "docs": self.docs,
            "tokens": self.tokens,
            "chars": self.chars,
            "nll": self.nll,
            "loss": loss,
            "perplexity": math.exp(loss) if self.tokens else float("nan"),
            "bits_per_char": self.nll / math.log(2) / self.chars if self.chars else float("nan"),
        }


@dataclass
class ScoredText:
    """A document as the model sees it: ids, which positions are scored, how many characters they cover."""

    input_ids: list[int]
    loss_mask: list[int]
    chars: int


def _as_trained(lm: LoadedModel, encoder: DocumentEncoder, document: dict, messages: list[dict]) -> ScoredText:
    """A conversation as the tokenize stage packs it: its ids and loss mask, then EOS (trained)."""
    doc = {"id": str(document.get("id")), "text": document.get("text") or "", "metadata": document.get("metadata") or {}}
    ((ids, mask),) = list(encoder.encode([doc]))
    ids, mask = list(ids), [int(m) for m in mask]
    if encoder.eos_id is not None:
        ids, mask = ids + [encoder.eos_id], mask + [1]
    prefix = lm.prefix_ids
    if prefix and ids[: len(prefix)] != prefix:  # so the first token is predicted too
        ids, mask = prefix + ids, [0] * len(prefix) + mask
    chars = sum(len(m.get("content") or "") for m in messages if m.get("role") == "assistant")
    return ScoredText(ids, mask, chars)


def document_tokens(lm: LoadedModel, document: dict, encoder: DocumentEncoder) -> ScoredText:
    """Token ids and scored positions for one held-out document (see the module docstring)."""
    metadata = document.get("metadata") or {}
    messages = metadata.get("messages")
    if metadata.get("kind") == "instruct" and messages:
        return _as_trained(lm, encoder, document, messages)
    text = document["text"]
    encoded = lm.encode(text)
    return ScoredText(lm.prefix_ids + encoded, [0] * len(lm.prefix_ids) + [1] * len(encoded), len(text))


def windows(scored: ScoredText, max_length: int) -> Iterator[tuple[list[int], np.ndarray]]:
    """(ids, mask of the predicted tokens ids[1:]) per window; windows overlap by one token."""
    ids, mask = scored.input_ids, np.asarray(scored.loss_mask, dtype=np.float64)
    step = max_length - 1
    for start in range(0, max(len(ids) - 1, 1), step):
        window = ids[start : start + max_length]
        if len(window) >= 2:
            yield window, mask[start + 1 : start + len(window)]


@dataclass
class DocumentScore:
    id: str
    source: str
    language: str
    totals: Totals


def score_documents(
    lm: LoadedModel, documents: Iterable[dict], source: str, batch_tokens: int, encoder: DocumentEncoder
) -> Iterator[DocumentScore]:
    """Per-document NLL sums, scoring `GROUP_DOCUMENTS` documents per batched call."""
    group: list[dict] = []

    def flush() -> Iterator[DocumentScore]:
        texts = [document_tokens(lm, doc, encoder) for doc in group]
        owner, sequences, masks = [], [], []
        for k, scored in enumerate(texts):
            for window, mask in windows(scored, lm.max_length):
                owner.append(k)
                sequences.append(window)
                masks.append(mask)
        nll = np.zeros(len(group))
        tokens = np.zeros(len(group), dtype=np.int64)
        for k, logprobs, mask in zip(owner, target_logprobs(lm, sequences, batch_tokens), masks, strict=True):
            nll[k] -= float(np.dot(logprobs, mask))
            tokens[k] += int(mask.sum())
        for k, doc in enumerate(group):
            language = str((doc.get("metadata") or {}).get("language", "unknown"))
            totals = Totals(docs=1, tokens=int(tokens[k]), chars=texts[k].chars, nll=float(nll[k]))
            yield DocumentScore(id=str(doc["id"]), source=source, language=language, totals=totals)

    for doc in documents:
        group.append(doc)
        if len(group) == GROUP_DOCUMENTS:
            yield from flush()
            group = []
    if group:
        yield from flush()


@dataclass
class PerplexityResult:
    by_source: dict[str, Totals] = field(default_factory=dict)
    by_language: dict[str, Totals] = field(default_factory=dict)
    overall: Totals = field(default_factory=Totals)
    documents: list[DocumentScore] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "by_source": {k: v.as_dict() for k, v in sorted(self.by_source.items())},
            "by_language": {k: v.as_dict() for k, v in sorted(self.by_language.items())},
            "all": self.overall.as_dict(),
        }


def evaluate_perplexity(
    lm: LoadedModel,
    heldout: Path,
    sources: list[str],
    batch_tokens: int,
    tokenize: TokenizeSection,
    max_documents: int | None = None,
) -> PerplexityResult:
    """Score every held-out document of `sources`, aggregated per source, per language and overall;
    conversations rendered as the recipe's `tokenize` section renders them for training."""
    result = PerplexityResult()
    encoder = DocumentEncoder(lm.tokenizer, tokenize)
    for source in sources:
        documents: Iterable[dict] = iter_documents(heldout / source)
        if max_documents is not None:
            documents = itertools.islice(documents, max_documents)
        for scored in score_documents(lm, documents, source, batch_tokens, encoder):
            result.by_source.setdefault(source, Totals()).add(scored.totals)
            result.by_language.setdefault(scored.language, Totals()).add(scored.totals)
            result.overall.add(scored.totals)
            result.documents.append(scored)
    return result
