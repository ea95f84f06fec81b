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
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from common.recipe import Recipe, RecipeError
from curation import vocab
from curation.vocab import VocabError, extend_vocabulary, main
from tests.curation_helpers import write_documents

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


def write_workdir(root, *, heldout: bool = True):
    """curated/ (zh mono, parallel, instruct, en mono) and heldout/ in the documents layout."""
    zh, en = corpus(1, 400)
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
        assert e["base_ids"] == base.encode(e["token"], add_special_tokens=False)
        assert len([i for i in e["base_ids"] if base.decode([i]).strip()]) > 1  # the base split it
        assert e["count"] >= 3
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
    split = {c: n for c, n in counts.items() if not vocab.is_single_token(base, c)}
    assert len(split) < len(counts)  # some characters were already whole tokens and are not added again
    top = sorted(split.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(e["token"], e["count"]) for e in result["added"]] == top
    high = extend_vocabulary(recipe_for(tmp_path, base_path, min_frequency=10**6), force=True)
    assert high["added"] == [] and high["vocab_size"] == high["base_vocab_size"]


def test_without_heldout_measures_on_curated_and_says_so(tmp_path):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path, heldout=False)
    result = extend_vocabulary(recipe_for(tmp_path, base_path))
    assert result["measured_on"]["zh"]["from"] == "curated" and result["measured_on"]["zh"]["chars"] > 0


def test_curation_stage_runs_once_and_leaves_inputs(tmp_path):
    base_path = byte_level_tokenizer(tmp_path / "base")
    write_workdir(tmp_path)
    recipe = recipe_for(tmp_path, base_path)
    ctx = SimpleNamespace(recipe=recipe, workdir=recipe.workdir, force=set())
    assert vocab.enabled(ctx)
    inputs = {"zh_web": tmp_path / "x"}
    assert vocab.run(ctx, inputs) is inputs
    written = recipe.workdir / "tokenizer" / "vocab_extension.json"
    mtime = written.stat().st_mtime_ns
    vocab.run(ctx, inputs)
    assert written.stat().st_mtime_ns == mtime  # exists: not rebuilt
    ctx.force = {"vocab", "tokenize"}
    vocab.run(ctx, inputs)
    assert written.stat().st_mtime_ns != mtime
    off = Recipe.from_dict({"workdir": "work", "tokenizer": {"path": str(base_path)}}, root=tmp_path)
    assert not vocab.enabled(SimpleNamespace(recipe=off, workdir=off.workdir, force=set()))


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
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main([str(recipe_file), "--force"]) == 0
    recipe_file.write_text(f"tokenizer:\n  path: {base_path}\n  extend: {{min_frequency: 0}}\n")
    assert main([str(recipe_file)]) == 2
    assert "line 3: tokenizer.extend.min_frequency: Input should be greater than or equal to 1" in capsys.readouterr().err
