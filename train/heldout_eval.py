"""Held-out bits per character during training (`train.eval_every: N`): every N steps, each source's first
held-out documents (`WORKDIR/heldout/<source>/`, read with `common.documents`) are scored by the model
being trained and the result is logged to metrics.jsonl, TensorBoard (`eval/bpc/<source>`) and the console.

Documents are scored as `evaluation.run` scores them: `[BOS] + tokens(text)` with every token after BOS
predicted, instruction documents rendered and masked as the tokenize stage packs them for training
(`common.encoding.DocumentEncoder`: assistant turns only, their characters counted); long documents are
cut into windows of the model's context (`max_position_embeddings`) that overlap by one token. Bits per character =
summed negative log-likelihood / ln 2 / characters, so it compares across tokenizers. Per source at most
`train.eval_max_documents` whole documents and `train.eval_max_tokens` tokens are scored (the first
document always), in batches of `train.eval_batch_size` windows; every process scores the same set with
its full copy of the model (one device or DDP), so no process waits for another.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from common.documents import iter_documents
from common.encoding import DocumentEncoder, TokenizeSection
from common.recipe import Recipe
from train.recipe_sections import TrainError, TrainSection


@dataclass
class SourceSet:
    """One source's scored windows: ids and the mask of the predicted positions (ids[1:])."""

    windows: list[np.ndarray]
    masks: list[np.ndarray]
    chars: int
    documents: int


def prefix_ids(tokenizer) -> list[int]:
    """Prepended to every scored text so that its first token is predicted too: BOS, else EOS (as
    evaluation.run does)."""
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return [int(token_id)]
    return []


def scored_tokens(document: dict, tokenizer, encoder: DocumentEncoder) -> tuple[list[int], list[int], int]:
    """(ids, mask of scored positions, characters) of one held-out document, as evaluation.run scores it."""
    metadata = document.get("metadata") or {}
    messages = metadata.get("messages")
    prefix = prefix_ids(tokenizer)
    if metadata.get("kind") == "instruct" and messages:
        doc = {"id": str(document.get("id")), "text": document.get("text") or "", "metadata": metadata}
        ((ids, mask),) = list(encoder.encode([doc]))
        ids, mask = list(ids), [int(m) for m in mask]
        if encoder.eos_id is not None:
            ids, mask = ids + [encoder.eos_id], mask + [1]
        if prefix and ids[:len(prefix)] != prefix:
            ids, mask = prefix + ids, [0] * len(prefix) + mask
        chars = sum(len(m.get("content") or "") for m in messages if m.get("role") == "assistant")
        return ids, mask, chars
    text = document.get("text") or ""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return prefix + ids, [0] * len(prefix) + [1] * len(ids), len(text)


def windows(ids: list[int], mask: list[int], length: int):
    """(window ids, mask of its predicted tokens) of `length` tokens overlapping by one."""
    ids_a, mask_a = np.asarray(ids, dtype=np.int64), np.asarray(mask, dtype=np.float64)
    for start in range(0, max(len(ids_a) - 1, 1), length - 1):
        window = ids_a[start:start + length]
        if len(window) >= 2:
            yield window, mask_a[start + 1:start + len(window)]


class HeldoutEvaluator:
    """The held-out sets, tokenized once at the start; `evaluate(model)` scores them."""

    def __init__(self, recipe: Recipe, tokenizer, cfg: TrainSection, accelerator, context: int):
        if tokenizer is None:
            raise TrainError("train.eval_every needs the tokenizer in effect (a `tokenizer` section or "
                             "WORKDIR/tokenizer/) to read the held-out documents")
        if accelerator.distributed_type.name in {"FSDP", "DEEPSPEED", "MEGATRON_LM"}:
            raise TrainError("train.eval_every works on one device or DDP, not FSDP/DeepSpeed (sharded parameters)")
        heldout = recipe.workdir / "heldout"
        folders = sorted(p for p in heldout.iterdir() if p.is_dir() and any(p.glob("*.parquet"))) \
            if heldout.is_dir() else []
        if not folders:
            raise TrainError(f"train.eval_every: no held-out documents in {heldout} (curation.run writes them); "
                             "remove train.eval_every or run the curation first")
        encoder = DocumentEncoder(tokenizer, recipe.section("tokenize", TokenizeSection))
        self.accelerator, self.batch_size = accelerator, cfg.eval_batch_size
        self.sources: dict[str, SourceSet] = {}
        for folder in folders:
            self.sources[folder.name] = self._load(folder, tokenizer, encoder, cfg, context)

    @staticmethod
    def _load(folder: Path, tokenizer, encoder: DocumentEncoder, cfg: TrainSection, seq_len: int) -> SourceSet:
        out = SourceSet([], [], 0, 0)
        tokens = 0
        for document in iter_documents(folder):
            if out.documents >= cfg.eval_max_documents:
                break
            ids, mask, chars = scored_tokens(document, tokenizer, encoder)
            scored = sum(mask)
            if not scored or not chars:
                continue
            if out.documents and tokens + scored > cfg.eval_max_tokens:
                break  # whole documents only, so characters and tokens stay paired
            for window, window_mask in windows(ids, mask, seq_len):
                out.windows.append(window)
                out.masks.append(window_mask)
            tokens += scored
            out.chars += chars
            out.documents += 1
        return out

    @torch.no_grad()
    def evaluate(self, model) -> dict:
        """{"bits_per_char": {source: bpc}, "loss": {source: nats per token}, "documents": {...}, "tokens": n,
        "seconds": s}; the model is left in training mode."""
        t0 = time.perf_counter()
        net = self.accelerator.unwrap_model(model)
        was_training = net.training
        net.eval()
        device = self.accelerator.device
        bpc, loss, docs, total_tokens = {}, {}, {}, 0
        try:
            for source, data in self.sources.items():
                nll, n_tokens = 0.0, 0.0
                for start in range(0, len(data.windows), self.batch_size):
                    batch, masks = data.windows[start:start + self.batch_size], data.masks[start:start + self.batch_size]
                    width = max(len(w) for w in batch)
                    # right padding needs no attention mask in a causal model: no real token sees a later pad
                    ids = torch.zeros(len(batch), width, dtype=torch.long)
                    target_mask = torch.zeros(len(batch), width - 1, dtype=torch.float32)
                    for k, (w, m) in enumerate(zip(batch, masks, strict=True)):
                        ids[k, :len(w)] = torch.from_numpy(w)
                        target_mask[k, :len(m)] = torch.from_numpy(m)
                    ids, target_mask = ids.to(device), target_mask.to(device)
                    with self.accelerator.autocast():
                        logits = net(input_ids=ids, use_cache=False).logits[:, :-1].float()
                    token_nll = F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten(), reduction="none")
                    nll += float((token_nll * target_mask.flatten()).sum())
                    n_tokens += float(target_mask.sum())
                bpc[source] = nll / math.log(2) / data.chars
                loss[source] = nll / n_tokens if n_tokens else float("nan")
                docs[source] = data.documents
                total_tokens += int(n_tokens)
        finally:
            net.train(was_training)
        return {"bits_per_char": bpc, "loss": loss, "documents": docs, "tokens": total_tokens,
                "seconds": time.perf_counter() - t0}
