"""Held-out perplexity: batched, windowed scoring equals a direct unbatched computation; conversations
are scored on exactly their answer tokens."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from common.documents import DOCUMENT_SCHEMA
from common.encoding import TokenizeSection
from evaluation.models import load_model
from evaluation.perplexity import evaluate_perplexity, heldout_sources
from tests.eval_helpers import save_model

DOCS = {
    "wiki_zh": ("zh", ["广州是广东省的省会，也是一座历史悠久的城市。", "杭州", "长江是中国最长的河流。" * 4]),
    "web_en": ("en", ["The quick brown fox jumps over the lazy dog.", "Hi", "Paris is the capital of France. " * 5]),
}
ALL_TEXT = "".join(t for _, texts in DOCS.values() for t in texts)


def write_heldout(root: Path, docs: dict = DOCS, kind: str = "mono", extra: dict | None = None) -> Path:
    for source, (language, texts) in docs.items():
        folder = root / source
        folder.mkdir(parents=True, exist_ok=True)
        rows = [
            {
                "id": f"{source}/{k}",
                "text": text,
                "metadata": json.dumps({"source": source, "language": language, "kind": kind, **(extra or {})}),
            }
            for k, text in enumerate(texts)
        ]
        pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), folder / "00000.parquet")
    return root


def direct_nll(model, ids: list[int]) -> tuple[float, int]:
    """Sum of -log p(ids[t] | ids[:t]) for t >= 1, one unpadded forward pass."""
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :-1].float()
    nll = torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]), reduction="sum")
    return float(nll), len(ids) - 1


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_model(tmp_path_factory.mktemp("m") / "tiny", ALL_TEXT, seed=3, max_positions=256)


def test_perplexity_equals_exp_of_mean_nll_computed_directly(tmp_path, model_dir):
    heldout = write_heldout(tmp_path / "heldout")
    # A small token budget forces several padded batches of mixed lengths.
    lm = load_model(model_dir)
    result = evaluate_perplexity(lm, heldout, heldout_sources(heldout, None), batch_tokens=64, tokenize=TokenizeSection())
    for source, (language, texts) in DOCS.items():
        total_nll, total_tokens = 0.0, 0
        for text in texts:
            ids = [lm.tokenizer.bos_token_id, *lm.tokenizer(text, add_special_tokens=False)["input_ids"]]
            nll, n = direct_nll(lm.model, ids)
            total_nll, total_tokens = total_nll + nll, total_tokens + n
        got = result.as_dict()["by_source"][source]
        assert got["tokens"] == total_tokens == sum(len(t) for t in texts)  # one token per character
        assert got["perplexity"] == pytest.approx(math.exp(total_nll / total_tokens), rel=1e-5)
        assert got["bits_per_char"] == pytest.approx(total_nll / math.log(2) / sum(map(len, texts)), rel=1e-5)
        assert result.as_dict()["by_language"][language]["nll"] == pytest.approx(got["nll"])
    overall = result.as_dict()["all"]
    assert overall["docs"] == 6
    assert overall["nll"] == pytest.approx(sum(v.nll for v in result.by_source.values()))


def test_documents_longer_than_the_context_are_scored_in_windows_every_token_once(tmp_path, model_dir):
    text = "长江是中国最长的河流。" * 5  # 55 tokens + BOS
    heldout = write_heldout(tmp_path / "heldout", {"zh": ("zh", [text])})
    lm = load_model(model_dir, max_length=16)
    got = evaluate_perplexity(lm, heldout, ["zh"], batch_tokens=48, tokenize=TokenizeSection()).as_dict()["all"]
    ids = [lm.tokenizer.bos_token_id, *lm.tokenizer(text, add_special_tokens=False)["input_ids"]]
    expected = 0.0
    for start in range(0, len(ids) - 1, 15):  # windows of 16 overlapping by one token
        expected += direct_nll(lm.model, ids[start : start + 16])[0]
    assert got["tokens"] == len(text)
    assert got["nll"] == pytest.approx(expected, rel=1e-5)


MESSAGES = [
    {"role": "user", "content": "广州在哪里？"},
    {"role": "assistant", "content": "广州在广东省。"},
    {"role": "user", "content": "Thanks"},
    {"role": "assistant", "content": "You are welcome"},
]
GENERATION_TEMPLATE = (
    "{% for m in messages %}{% if m.role == 'assistant' %}A: {% generation %}{{ m.content }}</s>{% endgeneration %}"
    "{% else %}U: {{ m.content }}\n{% endif %}{% endfor %}"
)


def conversation_setup(tmp_path, template):
    """A model whose tokenizer knows the conversation's characters, and the conversation held out."""
    text = "\n\n".join(m["content"] for m in MESSAGES)
    model = save_model(tmp_path / "m", text + "AU:", chat_template=template)
    heldout = write_heldout(tmp_path / "heldout", {"sft": ("zh", [text])}, kind="instruct", extra={"messages": MESSAGES})
    return load_model(model), heldout


def rendered_by_hand(lm, template: str | None) -> tuple[list[int], list[int]]:
    """MESSAGES rendered without the encoder, as `template` (None: the default `tokenize.turn_templates`)
    renders them: token ids (one per character, `</s>` is EOS) and 1 on each answer token, on what closes
    each answer (the turn suffix, or `</s>`) and on the final EOS, i.e. what training learns."""
    char_id = lm.tokenizer.convert_tokens_to_ids
    ids, answer = [lm.tokenizer.bos_token_id], [0]

    def add(text: str, scored: int) -> None:
        ids.extend(char_id(ch) for ch in text)
        answer.extend([scored] * len(text))

    for message in MESSAGES:
        content = message["content"]
        if message["role"] == "user":
            add(f"Human: {content}\n\n" if template is None else f"U: {content}\n", 0)
        elif template is None:
            add("Assistant: ", 0)
            add(content + "\n\n", 1)
        else:
            add("A: ", 0)
            add(content, 1)
            ids.append(lm.tokenizer.eos_token_id)
            answer.append(1)
    if template is None:  # the EOS the token shards append after every document (GENERATION_TEMPLATE ends with it)
        ids.append(lm.tokenizer.eos_token_id)
        answer.append(1)
    return ids, answer


@pytest.mark.parametrize("template", [None, GENERATION_TEMPLATE], ids=["turn_templates", "generation"])
def test_conversations_score_exactly_the_answer_tokens(tmp_path, template):
    lm, heldout = conversation_setup(tmp_path, template)
    got = evaluate_perplexity(lm, heldout, ["sft"], batch_tokens=256, tokenize=TokenizeSection()).as_dict()["all"]
    ids, answer = rendered_by_hand(lm, template)
    with torch.no_grad():
        logprobs = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0, :-1].double(), -1)
    targets = torch.tensor(ids[1:])
    scored = torch.tensor(answer[1:], dtype=torch.bool)
    nll = -float(logprobs[torch.arange(len(targets)), targets][scored].sum())
    chars = sum(len(m["content"]) for m in MESSAGES if m["role"] == "assistant")
    assert got["tokens"] == sum(answer)
    assert got["chars"] == chars
    # the same token count with the mask shifted by one position would give another sum
    assert got["nll"] == pytest.approx(nll, rel=1e-6)
    assert got["bits_per_char"] == pytest.approx(nll / math.log(2) / chars, rel=1e-6)


@pytest.mark.parametrize("template", [None, GENERATION_TEMPLATE], ids=["turn_templates", "generation"])
def test_conversations_are_scored_on_the_tokens_training_learns(tmp_path, template):
    # evaluation renders a conversation as the tokenize stage packs it
    from curation.tokenize import tokenize_source

    lm, heldout = conversation_setup(tmp_path, template)
    cfg = TokenizeSection(seq_len=64)
    got = evaluate_perplexity(lm, heldout, ["sft"], batch_tokens=256, tokenize=cfg).as_dict()["all"]
    packed = tokenize_source(heldout / "sft", tmp_path / "tokens", lm.tokenizer, cfg)  # its meta.json
    assert got["tokens"] == packed["n_loss_tokens"] > 0
    assert got["chars"] == sum(len(m["content"]) for m in MESSAGES if m["role"] == "assistant")


def test_unknown_heldout_source_is_a_clear_error(tmp_path):
    heldout = write_heldout(tmp_path / "heldout")
    with pytest.raises(FileNotFoundError, match=r"no held-out folder for sources \['typo'\]"):
        heldout_sources(heldout, ["typo"])
