"""Test-only builders for the trainer tests: tiny token shards, manifests and recipes (no network)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl

from common.recipe import Recipe
from common.tokens import TokenShardWriter

TINY_LLAMA = {
    "model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
}


def write_shards(tokens_dir: Path, sizes: dict[str, int], *, seq_len: int = 32, vocab_size: int = 128,
                 seed: int = 0, masked: tuple[str, ...] = ("chat",),
                 tokenizer_fingerprint: str = "test-tokenizer") -> dict[str, dict]:
    """Random documents (3..40 tokens) packed into `sizes[source]` sequences per source; sources named
    in `masked` train on the second half of each document only, like instruction answers."""
    rng = np.random.default_rng(seed)
    metas = {}
    for source, n_sequences in sizes.items():
        writer = TokenShardWriter(tokens_dir / source, seq_len=seq_len, vocab_size=vocab_size, eos_id=1, pad_id=0,
                                  tokenizer_fingerprint=tokenizer_fingerprint)
        while writer.n_tokens < n_sequences * seq_len:
            ids = rng.integers(2, vocab_size, size=int(rng.integers(3, 40)))
            mask = None
            if source in masked:
                mask = np.zeros(len(ids), dtype=np.uint8)
                mask[len(ids) // 2:] = 1
            writer.add(ids, mask)
        metas[source] = writer.close()
    return metas


class ListManifest:
    """The `mixer.manifest.Manifest` reading API over rows held in memory (the real mixer writes files)."""

    def __init__(self, steps: list[list[tuple[str, int]]], sources: list[str]):
        self.steps = steps
        self.sources = sources
        self.num_steps = len(steps)
        self.global_batch = len(steps[0])
        self.fingerprint = hashlib.sha256(repr(steps).encode()).hexdigest()

    def step(self, i: int) -> pl.DataFrame:
        rows = self.steps[i]
        return pl.DataFrame({
            "source": [s for s, _ in rows],
            "index": pl.Series([k for _, k in rows], dtype=pl.Int64),
            "epoch": pl.Series([0] * len(rows), dtype=pl.Int32),
        })


def random_manifest(sizes: dict[str, int], *, num_steps: int, global_batch: int, seed: int = 0) -> ListManifest:
    """Each step draws `global_batch` (source, index) rows at random from the shards."""
    rng = np.random.default_rng(seed)
    sources = list(sizes)
    steps = []
    for _ in range(num_steps):
        picks = rng.integers(0, len(sources), size=global_batch)
        steps.append([(sources[p], int(rng.integers(0, sizes[sources[p]]))) for p in picks])
    return ListManifest(steps, sources)


def tiny_recipe(root: Path, **train) -> Recipe:
    """A recipe with a 2-layer LLaMA built from config, data under root/work/tokens."""
    settings = {"checkpoint_every": 5, "keep_last": 2, "lr": 3e-3, "warmup_steps": 2, "prefetch": False, **train}
    return Recipe.from_dict({"workdir": str(root / "work"), "seed": 7, "model": {"config": dict(TINY_LLAMA)},
                             "train": settings}, root=root)


def char_tokenizer(folder: Path, tokens: list[str], *, max_length: int | None = None):
    """A Hugging Face fast tokenizer with ids 0-2 = <unk>, <s>, </s> and then `tokens` in order, one token
    per character (so any id can be given any string: two tokenizers that disagree are easy to make)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<unk>", "<s>", "</s>", *tokens])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), "isolated")
    kwargs = {"model_max_length": max_length} if max_length else {}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>",
                                        eos_token="</s>", **kwargs)
    tokenizer.save_pretrained(folder)
    return tokenizer
