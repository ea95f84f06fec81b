"""Held-out perplexity: batched, windowed scoring equals a direct unbatched computation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from curation.io import DOCUMENT_SCHEMA
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
    result = evaluate_perplexity(lm, heldout, heldout_sources(heldout, None), batch_tokens=64)
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
    got = evaluate_perplexity(lm, heldout, ["zh"], batch_tokens=48).as_dict()["all"]
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


@pytest.mark.parametrize("template", [None, GENERATION_TEMPLATE])
def test_instruction_documents_score_assistant_turns_only(tmp_path, template):
    lm, heldout = conversation_setup(tmp_path, template)
    got = evaluate_perplexity(lm, heldout, ["sft"], batch_tokens=256).as_dict()["all"]
    answers = [m["content"] for m in MESSAGES if m["role"] == "assistant"]
    assert got["chars"] == sum(map(len, answers))
    # The generation template also scores each answer's closing </s>.
    assert got["tokens"] == sum(map(len, answers)) + (len(answers) if template else 0)


@pytest.mark.parametrize("template", [None, GENERATION_TEMPLATE])
def test_conversations_are_scored_on_the_tokens_training_learns(tmp_path, template):
    # with the recipe's tokenize section, evaluation renders a conversation as the tokenize stage packs it
    from common.encoding import TokenizeSection
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
