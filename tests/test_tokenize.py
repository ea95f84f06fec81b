"""Tokenize stage: packed shards per source, EOS between documents, loss mask only on assistant
tokens, both directions of parallel pairs, and a clear error when the tokenizer changes."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from common.tokens import ShardError, TokenShard
from curation.tokenize import TokenizeSection, tokenize_source
from tests.curation_helpers import write_documents

CORPUS = ["你好，世界。今天天气很好。", "Hello world, the weather is nice today.", "Human: Assistant: 翻译"] * 20


def byte_level_bpe(tmp_path, vocab_size: int = 400) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def docs():
    return [
        {"id": "m/0", "text": "你好，世界。", "metadata": {"kind": "mono"}},
        {"id": "p/0", "text": "你好\nhello", "metadata": {"kind": "parallel", "zh": "你好", "en": "hello"}},
        {"id": "i/0", "text": "hi\n\n你好", "metadata": {"kind": "instruct", "messages": [
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "你好"}]}},
    ]


def test_documents_packed_with_eos_and_assistant_only_mask(tmp_path):
    tok = byte_level_bpe(tmp_path)
    folder = write_documents(tmp_path / "curated", docs())
    cfg = TokenizeSection(seq_len=16)
    meta = tokenize_source(folder, tmp_path / "tokens", tok, cfg)
    shard = TokenShard(tmp_path / "tokens")
    ids = [int(i) for k in range(len(shard)) for i in shard[k].input_ids][: meta["n_tokens"]]
    masks = [int(m) for k in range(len(shard)) for m in shard[k].loss_mask][: meta["n_tokens"]]
    assert meta["n_documents"] == 4  # mono + two directions of the pair + the conversation
    assert meta["seq_len"] == 16 and meta["n_sequences"] == -(-meta["n_tokens"] // 16)
    assert ids.count(tok.eos_token_id) == 4
    text = tok.decode(ids)
    assert "你好\nhello" in text and "hello\n你好" in text
    # the conversation: only the assistant's content, its suffix and the final EOS train
    conv_start = len(ids) - ids[::-1].index(tok.eos_token_id, 1)
    trained = tok.decode([i for i, m in zip(ids[conv_start:], masks[conv_start:], strict=True) if m and i != tok.eos_token_id])
    assert trained == "你好\n\n"
    assert "Human: hi" in tok.decode(ids[conv_start:])
    assert sum(masks[:conv_start]) == conv_start  # mono and parallel train on every token


def test_chat_template_with_generation_marks_assistant_tokens(tmp_path):
    tok = byte_level_bpe(tmp_path)
    tok.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'assistant' %}A: {% generation %}{{ m['content'] }}"
        "{% endgeneration %}\n{% else %}U: {{ m['content'] }}\n{% endif %}{% endfor %}"
    )
    folder = write_documents(tmp_path / "curated", docs()[2:])
    tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=64))
    seq = TokenShard(tmp_path / "tokens")[0]
    trained = [int(i) for i, m in zip(seq.input_ids, seq.loss_mask, strict=True) if m and i != tok.eos_token_id]
    assert tok.decode(trained) == "你好"


def test_changed_tokenizer_or_seq_len_is_refused_unless_forced(tmp_path):
    tok = byte_level_bpe(tmp_path)
    folder = write_documents(tmp_path / "curated", docs())
    tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=16))
    with pytest.raises(ShardError, match="seq_len 16.*seq_len 32.*--force tokenize"):
        tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=32))
    other = byte_level_bpe(tmp_path)
    other.add_tokens(["鱼"])  # any change to the tokenizer changes its fingerprint
    with pytest.raises(ShardError, match="already tokenized with tokenizer"):
        tokenize_source(folder, tmp_path / "tokens", other, TokenizeSection(seq_len=16))
    meta = tokenize_source(folder, tmp_path / "tokens", other, TokenizeSection(seq_len=32), force=True)
    assert TokenShard(tmp_path / "tokens").seq_len == 32 and meta["vocab_size"] == len(other)
