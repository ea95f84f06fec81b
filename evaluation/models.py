"""Loading models and tokenizers, and the batched forward passes every metric is built on.

Two primitives, both batched by a padded-token budget so memory stays bounded:
`target_logprobs` (log p of each next token of each sequence, for perplexity and multi-token options)
and `next_token_logprobs` (log p of a few candidate tokens after each prompt, for option letters).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from common.device import DeviceError, pick_device
from common.tokenizer import has_tokenizer
from evaluation.errors import ModelError


@dataclass
class LoadedModel:
    """A causal LM ready for scoring, with the tokenizer its ids come from."""

    name: str
    path: Path
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    tokenizer_path: Path | str
    max_length: int
    device: torch.device

    @property
    def prefix_ids(self) -> list[int]:
        """Prepended to every scored text so that its first token is predicted too (BOS, else EOS)."""
        for token_id in (self.tokenizer.bos_token_id, self.tokenizer.eos_token_id):
            if token_id is not None:
                return [int(token_id)]
        return []

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def pad_id(self) -> int:
        for token_id in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id):
            if token_id is not None:
                return int(token_id)
        return 0


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)


def load_model(
    path: str | Path,
    *,
    fallback_tokenizer: Path | str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    max_length: int | None = None,
    trust_remote_code: bool = False,
    name: str | None = None,
) -> LoadedModel:
    """Load a Hugging Face model folder (safetensors only) and its tokenizer.

    The tokenizer is the model folder's own when it has one (a base and an extended-vocabulary model
    need different tokenizers), else `fallback_tokenizer` (the recipe's tokenizer in effect).
    """
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: not a Hugging Face model folder (no config.json)")
    tokenizer_path: Path | str | None = path if has_tokenizer(path) else fallback_tokenizer
    if tokenizer_path is None:
        raise ModelError(f"{path}: has no tokenizer files and the recipe names no tokenizer (tokenizer.path)")
    try:
        torch_device = pick_device(device, key="evaluation.device")
    except DeviceError as err:
        raise ModelError(str(err)) from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path), trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            str(path),
            dtype=pick_dtype(dtype, torch_device),
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
        )
    except (OSError, ValueError) as err:
        raise ModelError(f"{path}: cannot load: {err}") from None
    model.to(torch_device).eval()
    vocab_rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > vocab_rows:
        raise ModelError(
            f"{path}: tokenizer {tokenizer_path} has {len(tokenizer)} tokens but the model's embedding has "
            f"{vocab_rows} rows; pass the tokenizer the model was trained with"
        )
    context = getattr(model.config, "max_position_embeddings", None) or 2048
    return LoadedModel(
        name=name or path.name,
        path=path,
        model=model,
        tokenizer=tokenizer,
        tokenizer_path=tokenizer_path,
        max_length=min(max_length, context) if max_length else context,
        device=torch_device,
    )


def _batches(lengths: Sequence[int], batch_tokens: int) -> Iterator[list[int]]:
    """Indices grouped longest first so that (rows x longest row) stays within `batch_tokens`."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for i in order:
        longest = lengths[batch[0]] if batch else lengths[i]
        if batch and longest * (len(batch) + 1) > batch_tokens:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


@torch.inference_mode()
def target_logprobs(lm: LoadedModel, sequences: Sequence[Sequence[int]], batch_tokens: int) -> list[np.ndarray]:
    """For each sequence s, log p(s[t] | s[:t]) for t = 1..len(s)-1 (float64 arrays, len(s)-1 long)."""
    results: list[np.ndarray] = [np.zeros(0)] * len(sequences)
    lengths = [len(s) for s in sequences]
    for batch in _batches(lengths, batch_tokens):
        width = lengths[batch[0]]
        ids = torch.full((len(batch), width), lm.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            ids[row, : lengths[i]] = torch.as_tensor(sequences[i], dtype=torch.long)
            mask[row, : lengths[i]] = 1
        ids, mask = ids.to(lm.device), mask.to(lm.device)
        logits = lm.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        logprobs = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        logprobs = logprobs.double().cpu().numpy()
        for row, i in enumerate(batch):
            results[i] = logprobs[row, : lengths[i] - 1]
    return results


@torch.inference_mode()
def next_token_logprobs(
    lm: LoadedModel, prompts: Sequence[Sequence[int]], candidates: Sequence[Sequence[int]], batch_tokens: int
) -> list[np.ndarray]:
    """For each prompt, log p(token | prompt) of each of its candidate tokens (one forward pass per
    batch; left padding with explicit positions, and only the last position's logits are computed)."""
    results: list[np.ndarray] = [np.zeros(0)] * len(prompts)
    lengths = [len(p) for p in prompts]
    for batch in _batches(lengths, batch_tokens):
        width = lengths[batch[0]]
        ids = torch.full((len(batch), width), lm.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            ids[row, width - lengths[i] :] = torch.as_tensor(prompts[i], dtype=torch.long)
            mask[row, width - lengths[i] :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = lm.model(
            input_ids=ids.to(lm.device),
            attention_mask=mask.to(lm.device),
            position_ids=positions.to(lm.device),
            logits_to_keep=1,
        )
        logprobs = torch.log_softmax(out.logits[:, -1].float(), dim=-1).double().cpu()
        for row, i in enumerate(batch):
            results[i] = logprobs[row, list(candidates[i])].numpy()
    return results
