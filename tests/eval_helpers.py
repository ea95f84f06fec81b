"""Tiny LLaMA models and a character-level tokenizer for the evaluation tests (built, never downloaded)."""

from __future__ import annotations

import string
from pathlib import Path

import torch
from tokenizers import Tokenizer, models
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]


def char_tokenizer(
    extra_text: str = "", chat_template: str | None = None, merges: tuple[tuple[str, str], ...] = ()
) -> PreTrainedTokenizerFast:
    """One token per character (BPE with only the given `merges`): printable ASCII plus the characters of
    `extra_text`, plus one token per merge."""
    chars = sorted(set(string.printable) | set(extra_text))
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for token in [*chars, *("".join(pair) for pair in merges)]:
        vocab.setdefault(token, len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=list(merges), unk_token="<unk>"))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


def tiny_llama(vocab_size: int, seed: int = 0, hidden: int = 32, max_positions: int = 256) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    # Random init in HF is small; larger weights make next-token distributions far from uniform, so
    # the tests distinguish right from wrong positions and padding leaks.
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.normal_(0, 0.3)
    return model


def save_model(
    folder: Path,
    extra_text: str = "",
    seed: int = 0,
    chat_template: str | None = None,
    merges: tuple[tuple[str, str], ...] = (),
    **kw,
) -> Path:
    """A tiny LLaMA and its character tokenizer saved as a Hugging Face folder (safetensors)."""
    tokenizer = char_tokenizer(extra_text, chat_template, merges)
    model = tiny_llama(len(tokenizer), seed=seed, **kw)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def always_letter_model(folder: Path, letter: str, extra_text: str = "") -> Path:
    """A model whose every next-token distribution puts `letter` first: attention and MLP outputs are
    zero, every embedding is the same vector, and only `letter`'s LM-head row aligns with it."""
    tokenizer = char_tokenizer(extra_text)
    model = tiny_llama(len(tokenizer))
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.fill_(1.0)
        model.model.norm.weight.fill_(1.0)
        model.lm_head.weight.zero_()
        model.lm_head.weight[tokenizer.convert_tokens_to_ids(letter)] = 1.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
