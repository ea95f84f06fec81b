"""Vocabulary extension: frequent Chinese characters the base splits become one new token each, for a
byte-level BPE (GPT-2/LLaMA-3 style, added tokens) and a SentencePiece BPE with byte fallback (LLaMA-2
style, model vocab); old ids never move, text round-trips, and chars/token improves only on Chinese."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from common.recipe import Recipe, RecipeError
from common.tokenizer import tokenizer_in_effect
from curation.stages import StageError
from curation.vocab import VocabError
from curation.vocab import stage as vocab_stage
from curation.vocab.__main__ import main
from curation.vocab.extend import extend_vocabulary
from curation.vocab.select import is_single_token
from tests.curation_helpers import stage_context, write_documents
from train.model_loading import read_vocab_extension, resize_embeddings

# Chinese the base tokenizers barely saw: a few sentences of it go into their training data
ZH_CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"
EN_WORDS = "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her".split()


def zh_sentence(rng: random.Random, alphabet: str) -> str:
    # a skewed (Zipf-like) draw, so character frequencies differ as in real text
    return "".join(alphabet[min(int(rng.paretovariate(1.1)) - 1, len(alphabet) - 1)] for _ in range(rng.randint(8, 30))) + "。"


def en_sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(EN_WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."


def corpus(seed: int, n: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    alphabet = "".join(rng.sample(ZH_CHARS, len(ZH_CHARS)))
    return [zh_sentence(rng, alphabet) for _ in range(n)], [en_sentence(rng) for _ in range(n)]


def byte_level_tokenizer(folder):
    """An English-first byte-level BPE: a little Chinese in training, so few characters are whole tokens."""
    zh, en = corpus(0, 300)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>", "<s>", "</s>", "<pad>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(en + zh[:10], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    fast.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    fast.save_pretrained(str(folder))
    return folder


def sentencepiece_tokenizer(folder):
    """A LLaMA-style SentencePiece BPE with byte fallback, converted as transformers 5 does (LlamaTokenizer)."""
    import sentencepiece as spm
    from transformers import LlamaTokenizer

    zh, en = corpus(0, 300)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(en + zh[:3]), model_writer=model, vocab_size=450, model_type="bpe", byte_fallback=True,
        character_coverage=0.9995, split_digits=True, normalization_rule_name="identity", minloglevel=2,
    )
    folder.mkdir(parents=True)
    (folder / "tokenizer.model").write_bytes(model.getvalue())
    tok = LlamaTokenizer.from_pretrained(str(folder))
    tok.save_pretrained(str(folder))  # tokenizer.json + tokenizer_config.json next to tokenizer.model, as on the Hub
    return folder


BUILDERS = {"byte_level": byte_level_tokenizer, "sentencepiece": sentencepiece_tokenizer}


def write_workdir(root, *, heldout: bool = True, texts: tuple[list[str], list[str]] | None = None):
    """curated/ (zh mono, parallel, instruct, en mono) and heldout/ in the documents layout."""
    zh, en = texts or corpus(1, 400)
    curated = root / "work" / "curated"
    write_documents(curated / "zh_web", [{"id": f"z/{i}", "text": t, "metadata": {"kind": "mono", "language": "zh"}}
                                         for i, t in enumerate(zh[:200])])
    write_documents(curated / "en_web", [{"id": f"e/{i}", "text": t, "metadata": {"kind": "mono", "language": "en"}}
                                         for i, t in enumerate(en[:200])])
    write_documents(curated / "pairs", [{"id": f"p/{i}", "text": f"{z}\n{e}", "metadata": {
        "kind": "parallel", "language": "zh-en", "zh": z, "en": e}} for i, (z, e) in enumerate(zip(zh[200:300], en[200:300], strict=True))])
    write_documents(curated / "chat", [{"id": f"c/{i}", "text": f"{e}\n\n{z}", "metadata": {
        "kind": "instruct", "language": "zh", "messages": [{"role": "user", "content": e}, {"role": "assistant", "content": z}]}}
        for i, (z, e) in enumerate(zip(zh[300:350], en[300:350], strict=True))])
    if heldout:
        write_documents(root / "work" / "heldout" / "zh_web", [{"id": f"hz/{i}", "text": t, "metadata": {"kind": "mono", "language": "zh"}}
                                                               for i, t in enumerate(zh[350:])])
        write_documents(root / "work" / "heldout" / "en_web", [{"id": f"he/{i}", "text": t, "metadata": {"kind": "mono", "language": "en"}}
                                                               for i, t in enumerate(en[350:])])
    return zh, en


def recipe_for(root, tokenizer_path, **extend) -> Recipe:
    extend = {"enabled": True, "max_new_tokens": 60, "min_frequency": 3, **extend}
    return Recipe.from_dict({"workdir": "work", "tokenizer": {"path": str(tokenizer_path), "extend": extend}}, root=root)


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def extended(request, tmp_path_factory):
    """(kind, base tokenizer, extended tokenizer, vocab_extension.json, curated zh texts) for each kind."""
    root = tmp_path_factory.mktemp(request.param)
    base_path = BUILDERS[request.param](root / "base")
    zh, _ = write_workdir(root)
    result = extend_vocabulary(recipe_for(root, base_path))
    base = AutoTokenizer.from_pretrained(str(base_path))
    new = AutoTokenizer.from_pretrained(str(root / "work" / "tokenizer"))
    return SimpleNamespace(kind=request.param, base=base, new=new, result=result, zh=zh, root=root)


def test_json_matches_contract_and_tokenizer(extended):
    r, base, new = extended.result, extended.base, extended.new
    on_disk = json.loads((extended.root / "work" / "tokenizer" / "vocab_extension.json").read_text(encoding="utf-8"))
    assert on_disk == r
    assert r["method"] == {"byte_level": "added_tokens", "sentencepiece": "model_vocab"}[extended.kind]
    assert r["base_vocab_size"] == len(base) and r["vocab_size"] == len(new) == len(base) + len(r["added"])
    assert 0 < len(r["added"]) <= 60
    assert [e["id"] for e in r["added"]] == list(range(len(base), len(new)))
    for e in r["added"]:
        assert e["kind"] == "char" and len(e["base_ids"]) > 1  # the base split it
        assert e["count"] >= 3
    assert r["built_from"]["base_sha256"] and r["built_from"]["extend"]["max_new_tokens"] == 60 and r["words"] is None
    counts = [e["count"] for e in r["added"]]
    assert counts == sorted(counts, reverse=True)  # most frequent first
    assert set(r["chars_per_token"]) == {"zh", "en"} and r["measured_on"]["zh"]["from"] == "heldout"
    # the special tokens and the chat template travel with the tokenizer
    assert (new.bos_token, new.eos_token) == (base.bos_token, base.eos_token)
    assert new.chat_template == base.chat_template


def test_old_ids_unchanged_new_tokens_used_and_round_trip(extended):
    base, new, r = extended.base, extended.new, extended.result
    base_vocab = base.get_vocab()
    assert all(new.convert_tokens_to_ids(t) == i for t, i in base_vocab.items())
    text = "".join(extended.zh[:20])
    ids = new.encode(text, add_special_tokens=False)
    assert new.decode(ids) == text
    expected = {e["id"] for e in r["added"] if e["token"] in text}
    assert expected and expected <= set(ids)
    one = r["added"][0]
    assert new.convert_ids_to_tokens(new.encode(f"吃{one['token']}了", add_special_tokens=False)).count(one["token"]) == 1


def test_chars_per_token_improves_on_chinese_only(extended):
    cpt = extended.result["chars_per_token"]
    assert cpt["zh"]["after"] > 1.5 * cpt["zh"]["before"]
    assert cpt["en"]["after"] == cpt["en"]["before"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list(ZH_CHARS[:80]) + EN_WORDS + [" ", "，", "\n", "ß", "🙂", "  "]), max_size=30))
def test_property_round_trip_and_english_untouched(extended, pieces):
    text = "".join(pieces)
    base, new = extended.base, extended.new
    new_ids = new.encode(text, add_special_tokens=False)
    assert new.decode(new_ids) == base.decode(base.encode(text, add_special_tokens=False))
    added = {e["token"] for e in extended.result["added"]}
    if not set(text) & added:
        assert new_ids == base.encode(text, add_special_tokens=False)
    assert len(new_ids) <= len(base.encode(text, add_special_tokens=False))


def test_frequency_limits_and_already_single_characters(tmp_path):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path)
    result = extend_vocabulary(recipe_for(tmp_path, base_path, max_new_tokens=5, min_frequency=1))
    base = AutoTokenizer.from_pretrained(str(base_path))
    counts = Counter(c for c in "".join(corpus(1, 400)[0][:350]) if "\u4e00" <= c <= "\u9fff" or c == "。")
    split = {c: n for c, n in counts.items() if not is_single_token(base, c)}
    assert len(split) < len(counts)  # some characters were already whole tokens and are not added again
    top = sorted(split.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(e["token"], e["count"]) for e in result["added"]] == top
    high = extend_vocabulary(recipe_for(tmp_path, base_path, min_frequency=10**6), force=True)
    assert high["added"] == [] and high["vocab_size"] == high["base_vocab_size"]


def test_a_failed_rebuild_leaves_the_previous_tokenizer_and_no_leftover(tmp_path, monkeypatch):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path)
    extend_vocabulary(recipe_for(tmp_path, base_path, max_new_tokens=5, min_frequency=1))
    out = tmp_path / "work" / "tokenizer"
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("curation.vocab.extend.verify", fail)
    with pytest.raises(OSError, match="No space"):
        extend_vocabulary(recipe_for(tmp_path, base_path, max_new_tokens=7, min_frequency=1), force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not (tmp_path / "work" / "tokenizer.new").exists()


def test_without_heldout_measures_on_curated_and_says_so(tmp_path):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path, heldout=False)
    result = extend_vocabulary(recipe_for(tmp_path, base_path))
    assert result["measured_on"]["zh"]["from"] == "curated" and result["measured_on"]["zh"]["chars"] > 0


def test_curation_stage_runs_once_and_leaves_inputs(tmp_path):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path)
    recipe = recipe_for(tmp_path, base_path)
    ctx = stage_context(recipe)
    assert vocab_stage.enabled(ctx)
    inputs = {"zh_web": tmp_path / "x"}
    assert vocab_stage.run(ctx, inputs) is inputs
    written = recipe.workdir / "tokenizer" / "vocab_extension.json"
    mtime = written.stat().st_mtime_ns
    vocab_stage.run(ctx, inputs)
    assert written.stat().st_mtime_ns == mtime  # exists: not rebuilt
    ctx.force = {"vocab", "tokenize"}
    vocab_stage.run(ctx, inputs)
    assert written.stat().st_mtime_ns != mtime
    off = Recipe.from_dict({"workdir": "fresh", "tokenizer": {"path": str(base_path)}}, root=tmp_path)
    assert not vocab_stage.enabled(stage_context(off))


def test_errors_are_clear(tmp_path, capsys):
    base_path = byte_level_tokenizer(tmp_path / "base")
    with pytest.raises(VocabError, match="no curated documents; run `python -m curation.run"):
        extend_vocabulary(recipe_for(tmp_path, base_path))
    with pytest.raises(RecipeError, match=r"tokenizer.extend.max_new_token: unknown key \(did you mean 'max_new_tokens'"):
        extend_vocabulary(Recipe.from_dict({"tokenizer": {"path": str(base_path), "extend": {"max_new_token": 3}}}, root=tmp_path))
    with pytest.raises(RecipeError, match="tokenizer.path: no such file or folder"):
        extend_vocabulary(Recipe.from_dict({"tokenizer": {"path": "nope"}}, root=tmp_path))
    with pytest.raises(RecipeError, match="tokenizer: section is missing"):
        extend_vocabulary(Recipe.from_dict({"workdir": "work"}, root=tmp_path))
    write_workdir(tmp_path)
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(f"workdir: work\ntokenizer:\n  path: {base_path}\n  extend: {{enabled: true, max_new_tokens: 10}}\n")
    assert main([str(recipe_file)]) == 0
    assert main([str(recipe_file)]) == 2
    assert "already exists and matches the recipe; pass --fresh" in capsys.readouterr().err
    assert main([str(recipe_file), "--fresh", "-q"]) == 0
    assert main([str(recipe_file), "--force"]) == 0  # the old name of --fresh
    recipe_file.write_text(f"tokenizer:\n  path: {base_path}\n  extend: {{min_frequency: 0}}\n")
    assert main([str(recipe_file)]) == 2
    assert "line 3: tokenizer.extend.min_frequency: Input should be greater than or equal to 1" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# base_ids are the tokens of the running text, never SentencePiece's prefix space


def prefix_space_ids(tokenizer) -> set[int]:
    vocab = tokenizer.get_vocab()
    return {vocab[t] for t in ("▁", "Ġ") if t in vocab}


def test_base_ids_are_the_running_text_tokens(extended):
    base = extended.base
    if extended.kind == "sentencepiece":  # the bug this guards against: base.encode("鱼") starts with "▁"
        assert base.convert_ids_to_tokens(base.encode("等", add_special_tokens=False))[0] == "▁"
    for e in extended.result["added"]:
        assert not set(e["base_ids"]) & prefix_space_ids(base), e
        assert base.decode(e["base_ids"]) == e["token"]
        # after another character (here 。, which no merge joins to it) the base encodes it as exactly base_ids
        in_text = base.encode("。" + e["token"], add_special_tokens=False)
        assert in_text[-len(e["base_ids"]):] == e["base_ids"]


def test_trainer_initialises_new_rows_as_mean_of_base_ids(extended):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(extended.base), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    before = model.get_input_embeddings().weight.detach().clone()
    record = read_vocab_extension(extended.root / "work" / "tokenizer")
    assert resize_embeddings(model, len(extended.new), record) == len(record["added"])
    after = model.get_input_embeddings().weight
    for e in record["added"]:
        torch.testing.assert_close(after[e["id"]], before[e["base_ids"]].mean(0))


# ---------------------------------------------------------------------------------------------------
# word mode (jieba)

ZH_WORDS = ("中国 我们 发展 经济 社会 人民 时间 工作 问题 国家 学生 老师 朋友 今天 历史 文化 科学 技术 世界 城市 "
            "生活 电脑 手机 医院 学校 公司 市场 天气 音乐 电影 数学 语言 汉字 计算机 为什么 图书馆 大学生").split()


def word_corpus(seed: int, n: int) -> tuple[list[str], list[str]]:
    """Chinese sentences of real words (Zipf-like draw) with single characters between them, and English."""
    rng = random.Random(seed)
    words = rng.sample(ZH_WORDS, len(ZH_WORDS))
    zh = []
    for _ in range(n):
        pieces = [words[min(int(rng.paretovariate(0.8)) - 1, len(words) - 1)] if rng.random() < 0.7
                  else rng.choice("的了是在有和也就都很") for _ in range(rng.randint(4, 12))]
        zh.append("".join(pieces) + rng.choice("。，？"))
    return zh, [en_sentence(rng) for _ in range(n)]


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def with_words(request, tmp_path_factory):
    """The same curated data extended without and then with words, for each tokenizer kind."""
    root = tmp_path_factory.mktemp(f"words_{request.param}")
    base_path = BUILDERS[request.param](root / "base")
    zh, _ = write_workdir(root, texts=word_corpus(2, 400))
    settings = {"max_new_tokens": 300, "min_frequency": 3}
    chars_only = extend_vocabulary(recipe_for(root, base_path, **settings))
    recipe = recipe_for(root, base_path, **settings, words={"enabled": True, "max_new_words": 25, "min_frequency": 5})
    result = extend_vocabulary(recipe, force=True)
    base = AutoTokenizer.from_pretrained(str(base_path))
    new = AutoTokenizer.from_pretrained(str(root / "work" / "tokenizer"))
    return SimpleNamespace(kind=request.param, base=base, new=new, result=result, chars_only=chars_only, zh=zh,
                           root=root, base_path=base_path, recipe=recipe)


def test_words_are_added_after_the_characters_and_produced_in_running_text(with_words):
    r, base, new = with_words.result, with_words.base, with_words.new
    chars = [e for e in r["added"] if e["kind"] == "char"]
    words = [e for e in r["added"] if e["kind"] == "word"]
    assert [e["token"] for e in chars] == [e["token"] for e in with_words.chars_only["added"]]
    assert 10 <= len(words) <= 25 and r["added"] == chars + words  # characters first, then words
    assert [e["id"] for e in r["added"]] == list(range(len(base), len(new)))
    assert r["words"]["covered_by_added"] == sum(e["count"] for e in words) and r["words"]["segmented_chars"] > 0
    # the most frequent jieba words of 2+ characters (the curated zh texts are zh[:350])
    import jieba

    counts = Counter(w for text in with_words.zh[:350] for w in jieba.cut(text) if len(w) >= 2)
    expected = [(w, n) for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 5]
    if with_words.kind == "byte_level":  # added tokens: any word can be added
        assert [(e["token"], e["count"]) for e in words] == expected[:25]
    else:  # merges: a word is added once BPE builds it from two tokens (大学生 = 大 + 学生 after 学生)
        assert {(e["token"], e["count"]) for e in words} <= set(expected)
        assert [e["token"] for e in words].index("大学生") > [e["token"] for e in words].index("学生")
    for e in words:
        assert len(e["token"]) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in e["token"]) and e["count"] >= 5
        assert not set(e["base_ids"]) & prefix_space_ids(base) and base.decode(e["base_ids"]) == e["token"]
        assert len(e["base_ids"]) > 1  # the base did not have it as one token
        assert e["id"] in new.encode(f"。{e['token']}。", add_special_tokens=False), e["token"]


def test_words_keep_old_ids_round_trip_and_shorten_chinese_only(with_words):
    base, new, r = with_words.base, with_words.new, with_words.result
    assert all(new.convert_tokens_to_ids(t) == i for t, i in base.get_vocab().items())
    text = "".join(with_words.zh[:30])
    ids = new.encode(text, add_special_tokens=False)
    assert new.decode(ids) == text
    assert {e["id"] for e in r["added"] if e["kind"] == "word"} & set(ids)
    cpt, chars_only = r["chars_per_token"], with_words.chars_only["chars_per_token"]
    assert cpt["zh"]["after"] > 1.2 * chars_only["zh"]["after"] > 1.2 * cpt["zh"]["before"]
    assert cpt["en"]["after"] == cpt["en"]["before"]
    if with_words.kind == "sentencepiece":  # words are merges ranked after the base merges, which are unchanged
        spec = json.loads((with_words.root / "work" / "tokenizer" / "tokenizer.json").read_text(encoding="utf-8"))
        base_merges = json.loads((with_words.base_path / "tokenizer.json").read_text(encoding="utf-8"))["model"]["merges"]
        n_words = sum(e["kind"] == "word" for e in r["added"])
        assert spec["model"]["merges"][: len(base_merges)] == base_merges
        assert len(spec["model"]["merges"]) == len(base_merges) + n_words
        assert not spec["added_tokens"] or all(t["special"] for t in spec["added_tokens"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(ZH_WORDS + list("的了是在，。") + EN_WORDS + [" ", "\n", "ß", "🙂"]), max_size=25))
def test_property_words_round_trip_and_english_untouched(with_words, pieces):
    text = "".join(pieces)
    base, new = with_words.base, with_words.new
    new_ids, base_ids = new.encode(text, add_special_tokens=False), base.encode(text, add_special_tokens=False)
    assert new.decode(new_ids) == base.decode(base_ids)
    if not set(text) & {c for e in with_words.result["added"] for c in e["token"]}:
        assert new_ids == base_ids


def test_word_keys_are_validated_and_jieba_missing_is_clear(tmp_path, monkeypatch):
    base_path = byte_level_tokenizer(tmp_path / "base")
    with pytest.raises(RecipeError, match=r"tokenizer.extend.words.max_new_word: unknown key \(did you mean 'max_new_words'"):
        extend_vocabulary(recipe_for(tmp_path, base_path, words={"enabled": True, "max_new_word": 3}))
    with pytest.raises(RecipeError, match="tokenizer.extend.words.min_frequency: Input should be greater than or equal to 1"):
        extend_vocabulary(recipe_for(tmp_path, base_path, words={"min_frequency": 0}))
    write_workdir(tmp_path)
    monkeypatch.setitem(__import__("sys").modules, "jieba", None)  # as if it were not installed
    with pytest.raises(VocabError, match=r"needs the jieba word segmenter: `pip install jieba`"):
        extend_vocabulary(recipe_for(tmp_path, base_path, words={"enabled": True}))
    assert not (tmp_path / "work" / "tokenizer").exists()


# ---------------------------------------------------------------------------------------------------
# the recipe decides the tokenizer in effect: a change is an error, never a silent mix


def test_tokenizer_in_effect_follows_the_recipe_or_fails(tmp_path):
    import shutil

    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path)
    extended_dir = tmp_path / "work" / "tokenizer"
    with pytest.raises(RecipeError, match=r"tokenizer.extend.enabled is true but .*vocab_extension.json does not exist"):
        tokenizer_in_effect(recipe_for(tmp_path, base_path, max_new_tokens=10))
    extend_vocabulary(recipe_for(tmp_path, base_path, max_new_tokens=10))
    assert tokenizer_in_effect(recipe_for(tmp_path, base_path, max_new_tokens=10)) == extended_dir
    # measure_chars only changes the report; a moved copy of the same base is the same base
    shutil.copytree(base_path, tmp_path / "moved")
    assert tokenizer_in_effect(recipe_for(tmp_path, tmp_path / "moved", max_new_tokens=10, measure_chars=5000)) == extended_dir

    def error(recipe) -> str:
        with pytest.raises(RecipeError) as info:
            tokenizer_in_effect(recipe)
        message = str(info.value)
        assert "\n" not in message and "--force vocab" in message
        return message

    assert "tokenizer.extend.max_new_tokens is 20, was 10" in error(recipe_for(tmp_path, base_path, max_new_tokens=20))
    assert "tokenizer.extend.words.enabled is true, was false" in error(
        recipe_for(tmp_path, base_path, max_new_tokens=10, words={"enabled": True}))
    other = sentencepiece_tokenizer(tmp_path / "other")
    assert f"tokenizer.path is {other}, was {base_path}" in error(recipe_for(tmp_path, other, max_new_tokens=10))
    config = base_path / "tokenizer_config.json"
    config.write_text(config.read_text().replace("<pad>", "<unk>"))
    assert f"tokenizer.path: the files of {base_path} changed" in error(recipe_for(tmp_path, base_path, max_new_tokens=10))
    disabled = Recipe.from_dict({"workdir": "work", "tokenizer": {"path": str(base_path)}}, root=tmp_path)
    assert "tokenizer.extend.enabled is false but" in error(disabled)
    # a format_version 1 record (before built_from) is still compared on what it recorded
    record = json.loads((extended_dir / "vocab_extension.json").read_text(encoding="utf-8"))
    del record["built_from"]
    (extended_dir / "vocab_extension.json").write_text(json.dumps(record), encoding="utf-8")
    assert "tokenizer.extend.min_frequency is 4, was 3" in error(
        recipe_for(tmp_path, base_path, max_new_tokens=10, min_frequency=4))


def test_curation_stage_refuses_a_stale_tokenizer_until_forced(tmp_path):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path)
    extend_vocabulary(recipe_for(tmp_path, base_path, max_new_tokens=10))
    changed = recipe_for(tmp_path, base_path, max_new_tokens=20)
    ctx = stage_context(changed)
    with pytest.raises(StageError, match=r"^vocab: .*tokenizer.extend.max_new_tokens is 20, was 10.*--force vocab"):
        vocab_stage.run(ctx, {})
    ctx.force = {"vocab", "tokenize"}
    vocab_stage.run(ctx, {})
    assert len(json.loads((changed.workdir / "tokenizer" / "vocab_extension.json").read_text())["added"]) == 20
    assert tokenizer_in_effect(changed) == changed.workdir / "tokenizer"
    # extension switched off: the stage refuses the stale folder, `--force vocab` removes it
    off = Recipe.from_dict({"workdir": "work", "tokenizer": {"path": str(base_path)}}, root=tmp_path)
    ctx = stage_context(off)
    assert vocab_stage.enabled(ctx)  # the stage runs, to say so
    with pytest.raises(StageError, match="tokenizer.extend.enabled is false but .* holds an extended tokenizer"):
        vocab_stage.run(ctx, {})
    ctx.force = {"vocab", "tokenize"}
    vocab_stage.run(ctx, {})
    assert not (off.workdir / "tokenizer").exists() and tokenizer_in_effect(off) == base_path
    assert not vocab_stage.enabled(ctx)


def test_command_refuses_a_recipe_with_extension_disabled(tmp_path, capsys):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path)
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(f"workdir: work\ntokenizer:\n  path: {base_path}\n  extend:\n    enabled: false\n")
    assert main([str(recipe_file)]) == 2
    err = capsys.readouterr().err
    assert "line 5: tokenizer.extend.enabled is false: the recipe asks for no vocabulary extension" in err
    assert not (tmp_path / "work" / "tokenizer").exists()
    recipe_file.write_text(f"workdir: work\ntokenizer:\n  path: {base_path}\n  extend: {{enabled: true, max_new_tokens: 5}}\n")
    assert main([str(recipe_file)]) == 0
    recipe_file.write_text(f"workdir: work\ntokenizer:\n  path: {base_path}\n  extend: {{enabled: true, max_new_tokens: 6}}\n")
    assert main([str(recipe_file)]) == 2
    assert "was built from another tokenizer recipe (tokenizer.extend.max_new_tokens is 6, was 5)" in capsys.readouterr().err
