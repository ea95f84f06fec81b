"""Tokenize stage: packed shards per source, EOS between documents, loss mask only on assistant
tokens, both directions of parallel pairs, chat templates rendered and tokenized as one string, and a
clear error when the tokenizer, seq_len or rendering settings change. Also the packer's invariants."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from common.encoding import TokenizeSection
from common.recipe import Recipe
from common.tokens import ShardError, TokenShard, TokenShardWriter
from curation.stages import StageError
from curation.tokenize import load_tokenizer, tokenize_source
from tests.curation_helpers import write_documents

CORPUS = ["你好，世界。今天天气很好。", "Hello world, the weather is nice today.", "Human: Assistant: 翻译 hi there hello"] * 20
# LLaMA-2-chat's template as published with the model (no {% generation %} markers)
LLAMA2_CHAT = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)
# the demo tokenizer's template: BOS, answers and their EOS in {% generation %}, a newline after each turn
DEMO_CHAT = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{{ 'Assistant:\\n' }}"
    "{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '\\n' }}{% else %}"
    "{{ (message['role'] | capitalize) + ':\\n' + message['content'] + '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:\\n' }}{% endif %}"
)


def byte_level_bpe(tmp_path, vocab_size: int = 400) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def sentencepiece_like() -> PreTrainedTokenizerFast:
    """LLaMA-2 style: BPE over `▁`-marked words (Metaspace, prefix space on the first word), byte fallback
    for unknown characters, BOS added by the post-processor."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"]))
    spec = json.loads(tok.to_str())
    for byte in range(256):
        spec["model"]["vocab"].setdefault(f"<0x{byte:02X}>", len(spec["model"]["vocab"]))
    spec["model"].update(byte_fallback=True, unk_token="<unk>")
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def documents(shard_dir: Path) -> list[tuple[list[int], list[int]]]:
    """(ids, loss mask) of every document of a one-sequence shard, each ending with its EOS."""
    shard = TokenShard(shard_dir)
    assert len(shard) == 1
    seq = shard[0]
    bounds = [*seq.doc_starts.tolist(), shard.n_tokens]
    return [(seq.input_ids[a:b].tolist(), seq.loss_mask[a:b].tolist()) for a, b in zip(bounds, bounds[1:], strict=False)]


def trained_text(tok, ids: list[int], mask: list[int]) -> str:
    return tok.decode([i for i, m in zip(ids, mask, strict=True) if m])


CONVERSATION = [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello 你好"},
                {"role": "user", "content": "翻译"}, {"role": "assistant", "content": "translate 鱼"}]


def conversation_doc(messages=CONVERSATION) -> list[dict]:
    text = "\n\n".join(m["content"] for m in messages)
    return [{"id": "i/0", "text": text, "metadata": {"kind": "instruct", "messages": messages}}]


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


def test_instruct_loss_all_trains_on_the_whole_conversation_and_is_a_rendering_change(tmp_path):
    tok = byte_level_bpe(tmp_path)
    folder = write_documents(tmp_path / "curated", docs()[2:])  # the conversation only
    answers = tokenize_source(folder, tmp_path / "a", tok, TokenizeSection(seq_len=16))
    whole = tokenize_source(folder, tmp_path / "w", tok, TokenizeSection(seq_len=16, instruct_loss="all"))
    masks = {name: [int(m) for k in range(len(TokenShard(tmp_path / name)))
                    for m in TokenShard(tmp_path / name)[k].loss_mask][: meta["n_tokens"]]
             for name, meta in (("a", answers), ("w", whole))}
    ids = [int(i) for k in range(len(TokenShard(tmp_path / "w"))) for i in TokenShard(tmp_path / "w")[k].input_ids]
    assert answers["n_tokens"] == whole["n_tokens"]  # the same tokens, only the mask differs
    assert 0 < sum(masks["a"]) < len(masks["a"])
    bos = 1 if ids[0] == tok.bos_token_id else 0
    assert masks["w"] == [0] * bos + [1] * (len(masks["w"]) - bos)
    with pytest.raises(ShardError, match="instruct_loss"):  # a shard made the other way is refused, not mixed
        tokenize_source(folder, tmp_path / "a", tok, TokenizeSection(seq_len=16, instruct_loss="all"))


def test_progress_is_reported_per_batch_up_to_every_document(tmp_path):
    tok = byte_level_bpe(tmp_path)
    many = [{"id": f"m/{i}", "text": f"你好，世界{i}。", "metadata": {"kind": "mono"}} for i in range(10)]
    folder = write_documents(tmp_path / "curated", many)
    calls = []
    tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=16, batch_size=4),
                    progress=lambda docs, n_bytes: calls.append((docs, n_bytes)))
    assert [docs for docs, _ in calls] == [4, 8]  # after each full batch; the last, partial one ends the stage
    assert calls[-1][1] == sum(len(d["text"].encode()) for d in many[:8])


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


# --- chat rendering --------------------------------------------------------------------------------


def test_tokenizer_template_without_generation_markers_is_used_with_exact_assistant_mask(tmp_path):
    tok = sentencepiece_like()
    tok.chat_template = LLAMA2_CHAT
    folder = write_documents(tmp_path / "curated", conversation_doc())
    meta = tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=512))
    [(ids, mask)] = documents(tmp_path / "tokens")
    rendered = tok.apply_chat_template(CONVERSATION, tokenize=False)
    assert rendered == "<s>[INST] hi there [/INST] hello 你好 </s><s>[INST] 翻译 [/INST] translate 鱼 </s>"
    # the template's text, tokenized once; it emits BOS and ends with EOS: neither is doubled
    assert ids == tok(rendered, add_special_tokens=False)["input_ids"]
    assert ids.count(tok.bos_token_id) == 2 and ids[:2] != [tok.bos_token_id] * 2 and ids.count(tok.eos_token_id) == 2
    # trained: each answer with the space around it and the end-of-turn EOS the template emits (the
    # decoder drops the leading space of a decoded text)
    assert trained_text(tok, ids, mask) == "hello 你好 </s> translate 鱼 </s>"
    assert mask[-1] == 1 and tok.decode(ids[: mask.index(1)]) == "<s>[INST] hi there [/INST]"
    assert meta["chat_rendering"] == {"template": "tokenizer", "assistant_spans": "prefix"}


@pytest.mark.parametrize("tag", ["{% generation %}", "{%- generation -%}"])
def test_generation_markers_in_any_whitespace_form_mark_the_answers(tmp_path, tag):
    tok = byte_level_bpe(tmp_path)
    end = tag.replace("generation", "endgeneration")
    tok.chat_template = ("{% for m in messages %}{% if m['role'] == 'assistant' %}A: " + tag + " {{ m['content'] }} "
                         + end + "\n{% else %}U: {{ m['content'] }}\n{% endif %}{% endfor %}")
    folder = write_documents(tmp_path / "curated", conversation_doc())
    meta = tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=512))
    [(ids, mask)] = documents(tmp_path / "tokens")
    rendered = tok.apply_chat_template(CONVERSATION, tokenize=False)
    assert tok.decode(ids[:-1]) == rendered and "Human:" not in rendered  # the tokenizer's template, not the fallback
    inner = " " if tag == "{% generation %}" else ""  # `-` strips the spaces inside the block
    assert trained_text(tok, ids, mask) == f"{inner}hello 你好{inner}{inner}translate 鱼{inner}</s>"
    assert meta["chat_rendering"] == {"template": "tokenizer", "assistant_spans": "generation"}


def test_demo_template_ends_with_one_trained_eos(tmp_path):
    tok = sentencepiece_like()
    tok.chat_template = DEMO_CHAT
    folder = write_documents(tmp_path / "curated", conversation_doc())
    tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=512))
    [(ids, mask)] = documents(tmp_path / "tokens")
    rendered = tok.apply_chat_template(CONVERSATION, tokenize=False)
    assert rendered.endswith("</s>\n")
    assert tok.decode(ids) == rendered.rstrip()  # ... </s> once: no newline + second EOS
    assert ids[0] == tok.bos_token_id != ids[1]
    assert ids.count(tok.eos_token_id) == 2 and mask[-1] == 1
    assert trained_text(tok, ids, mask) == "hello 你好</s>translate 鱼</s>"


def test_add_bos_decides_the_bos_of_templated_conversations(tmp_path):
    tok = sentencepiece_like()
    for template, add_bos in [(DEMO_CHAT, False), (LLAMA2_CHAT, False), (None, True), (None, False)]:
        tok.chat_template = template
        out = tmp_path / f"tokens_{template is None}_{add_bos}"
        folder = write_documents(tmp_path / "curated", conversation_doc())
        tokenize_source(folder, out, tok, TokenizeSection(seq_len=512, add_bos=add_bos), force=True)
        [(ids, _)] = documents(out)
        assert (ids[0] == tok.bos_token_id) is add_bos and ids[1] != tok.bos_token_id


@pytest.mark.parametrize("kind", ["sentencepiece", "byte_level"])
def test_turn_templates_are_rendered_and_tokenized_as_one_string(tmp_path, kind):
    tok = sentencepiece_like() if kind == "sentencepiece" else byte_level_bpe(tmp_path)
    folder = write_documents(tmp_path / "curated", conversation_doc())
    meta = tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=512))
    [(ids, mask)] = documents(tmp_path / "tokens")
    rendered = "Human: hi there\n\nAssistant: hello 你好\n\nHuman: 翻译\n\nAssistant: translate 鱼\n\n"
    body = ids[1:-1] if kind == "sentencepiece" else ids[:-1]  # the SentencePiece-like one adds BOS
    assert tok.decode(body) == rendered
    assert body == tok(rendered, add_special_tokens=False)["input_ids"]
    assert trained_text(tok, ids, mask).lstrip() == "hello 你好\n\ntranslate 鱼\n\n</s>"
    assert meta["chat_rendering"] == {"template": "turn_templates", "assistant_spans": "turn_templates"}


def test_parallel_templates_are_tokenized_as_one_string(tmp_path):
    tok = sentencepiece_like()
    pair = {"id": "p/0", "text": "你好\nhello there", "metadata": {"kind": "parallel", "zh": "你好", "en": "hello there"}}
    folder = write_documents(tmp_path / "curated", [pair])
    tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=512))
    decoded = [tok.decode(ids[1:-1]) for ids, _ in documents(tmp_path / "tokens")]
    assert decoded == ["你好\nhello there", "hello there\n你好"]


def test_template_that_is_not_prefix_consistent_is_refused(tmp_path):
    tok = byte_level_bpe(tmp_path)
    # the generation prompt says "Assistant:" but answers are rendered after "A:": no answer span can be found
    tok.chat_template = ("{% for m in messages %}{% if m['role'] == 'assistant' %}A: {{ m['content'] }}\n"
                         "{% else %}U: {{ m['content'] }}\n{% endif %}{% endfor %}"
                         "{% if add_generation_prompt %}Assistant:{% endif %}")
    folder = write_documents(tmp_path / "curated", conversation_doc())
    with pytest.raises(ShardError, match=r"i/0: the tokenizer chat template .* \{% generation %\}"):
        tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=512))
    assert not (tmp_path / "tokens").exists()
    # the recipe can give a template that marks its answers instead
    fixed = tok.chat_template.replace("A: {{ m['content'] }}", "A: {% generation %}{{ m['content'] }}{% endgeneration %}")
    tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=512, chat_template=fixed))
    [(ids, mask)] = documents(tmp_path / "tokens")
    # `Ġhello` holds the space before the answer and is trained; `translate` follows a lone `Ġ` token
    assert trained_text(tok, ids, mask) == " hello 你好translate 鱼</s>"


# --- stale shards and errors -----------------------------------------------------------------------


@pytest.mark.parametrize("change, named", [
    ({"add_bos": False}, "add_bos true -> false"),
    ({"parallel_templates": {"zh-en": "{zh} = {en}"}}, "parallel_templates changed"),
    ({"chat_template": DEMO_CHAT}, "chat_template changed"),
    ({"turn_templates": {"user": "User: {content}\n"}}, "turn_templates changed"),
])
def test_changed_rendering_settings_are_refused_unless_forced(tmp_path, change, named):
    tok = byte_level_bpe(tmp_path)
    folder = write_documents(tmp_path / "curated", docs())
    first = tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=16))
    assert tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=16, batch_size=1)) == first
    changed = TokenizeSection(seq_len=16, **change)
    with pytest.raises(ShardError, match=f"other tokenize settings \\({named}\\).*--force tokenize"):
        tokenize_source(folder, tmp_path / "tokens", tok, changed)
    rebuilt = tokenize_source(folder, tmp_path / "tokens", tok, changed, force=True)
    assert rebuilt["rendering_fingerprint"] != first["rendering_fingerprint"]
    assert tokenize_source(folder, tmp_path / "tokens", tok, changed) == rebuilt  # up to date now


def test_shard_without_recorded_rendering_is_refused(tmp_path):
    tok = byte_level_bpe(tmp_path)
    folder = write_documents(tmp_path / "curated", docs())
    tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=16))
    meta = json.loads((tmp_path / "tokens" / "meta.json").read_text())
    del meta["rendering"]  # as written before rendering settings were recorded
    (tmp_path / "tokens" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ShardError, match="predates recorded rendering settings.*--force tokenize"):
        tokenize_source(folder, tmp_path / "tokens", tok, TokenizeSection(seq_len=16))


def test_unloadable_tokenizer_folder_is_a_one_line_error(tmp_path):
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_text("{not json")
    (folder / "tokenizer_config.json").write_text('{"tokenizer_class": "PreTrainedTokenizerFast"}')
    (tmp_path / "recipe.yaml").write_text(f"name: t\nworkdir: {tmp_path / 'work'}\ntokenizer: {{path: {folder}}}\n")
    with pytest.raises(StageError, match=f"^{folder}: cannot load the tokenizer ") as err:
        load_tokenizer(Recipe.load(tmp_path / "recipe.yaml"))
    assert "\n" not in str(err.value)


# --- the packer ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(0, 40), max_size=12), seq_len=st.integers(2, 24), masked=st.booleans(),
       seed=st.integers(0, 2**16))
def test_packed_shards_hold_exactly_the_document_stream(lengths, seq_len, masked, seed):
    rng = np.random.default_rng(seed)
    eos, pad = 1, 0
    docs = [rng.integers(2, 50, n).tolist() for n in lengths]
    masks = [rng.integers(0, 2, n).tolist() for n in lengths] if masked else [None] * len(docs)
    with tempfile.TemporaryDirectory() as tmp:
        writer = TokenShardWriter(Path(tmp) / "s", seq_len=seq_len, vocab_size=50, eos_id=eos, pad_id=pad,
                                  tokenizer_fingerprint="t")
        for ids, mask in zip(docs, masks, strict=True):
            writer.add(ids, mask)
        meta = writer.close()
        shard = TokenShard(Path(tmp) / "s")
        stream = [t for ids in docs for t in [*ids, eos]]
        stream_mask = [m for ids, mask in zip(docs, masks, strict=True) for m in [*(mask or [1] * len(ids)), 1]]
        starts = np.cumsum([0] + [n + 1 for n in lengths])[:-1]
        n = len(stream)
        assert meta["n_tokens"] == n and meta["n_documents"] == len(docs)
        assert meta["n_sequences"] == -(-n // seq_len) and meta["n_loss_tokens"] == sum(stream_mask)
        padding = meta["n_sequences"] * seq_len - n
        assert 0 <= padding < seq_len or n == 0
        padded = np.array(stream + [pad] * padding, dtype=np.int64)
        padded_mask = np.array(stream_mask + [0] * padding, dtype=np.uint8)
        for k in range(meta["n_sequences"]):
            alone = TokenShard(Path(tmp) / "s")[k]  # a fresh reader: sequence k on its own
            window = slice(k * seq_len, (k + 1) * seq_len)
            assert np.array_equal(alone.input_ids, padded[window])
            assert np.array_equal(alone.loss_mask, padded_mask[window])
            inside = [int(s - k * seq_len) for s in starts if k * seq_len <= s < min((k + 1) * seq_len, n)]
            assert alone.doc_starts.tolist() == sorted({0, *inside})
        assert sum(int(shard[k].loss_mask.sum()) for k in range(len(shard))) == meta["n_loss_tokens"]
