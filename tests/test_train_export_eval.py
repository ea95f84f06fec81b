"""Issue 16, points 17 and 18 (training): any checkpoint exported as a Hugging Face folder
(`python -m train.export`), held-out bits per character every N steps during training (metrics.jsonl,
TensorBoard, console; the same number `evaluation.run` computes), and the loss plot (smoothed per source,
raw faint behind, titled with the run)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from safetensors.torch import load_file

from common.documents import DOCUMENT_SCHEMA, iter_documents
from common.recipe import Recipe
from common.tokens import tokenizer_fingerprint
from mixer import plan as planner
from tests.test_train_cli import planned_recipe
from tests.test_train_fixtures import char_tokenizer, write_shards
from train import export, run
from train.step_metrics import plot_loss_per_source, smooth

CHARS = list("abcdefghijklmnopqrstuvwxyz中文字需的是")
HELDOUT = {"en_web": ["the cat sat", "a dog ran far away", "hello"],
           "zh_web": ["中文的字", "是中文", "需字的是中文字"]}


def eval_recipe(tmp_path: Path, *, max_length: int | None = None, **train) -> Path:
    """A 4-step run with a character tokenizer, held-out documents per source and `train.eval_every: 2`."""
    recipe = planned_recipe(tmp_path)
    tokenizer = char_tokenizer(tmp_path / "tokenizer", [*CHARS, " "], max_length=max_length)
    write_shards(tmp_path / "work" / "tokens", {"en_web": 16, "zh_web": 16}, seq_len=16,
                 tokenizer_fingerprint=tokenizer_fingerprint(tokenizer))
    data = yaml.safe_load(recipe.read_text())
    data["tokenizer"] = {"path": "tokenizer"}
    data["train"].update(max_steps=4, checkpoint_every=2, keep_last=5, eval_every=2, eval_batch_size=2, **train)
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    planner.write_manifest(planner.plan_from_recipe(Recipe.load(recipe)), tmp_path / "work" / "manifest")
    for source, texts in HELDOUT.items():
        folder = tmp_path / "work" / "heldout" / source
        folder.mkdir(parents=True)
        table = pa.table({"id": [f"{source}-{i}" for i in range(len(texts))], "text": texts,
                          "metadata": [json.dumps({"kind": "mono", "language": source[:2]})] * len(texts)},
                         schema=DOCUMENT_SCHEMA)
        pq.write_table(table, folder / "00000.parquet")
    return recipe


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluated")
    recipe = eval_recipe(root)
    assert run.main([str(recipe)]) == 0
    return root, recipe


def test_held_out_bits_per_char_every_n_steps_equal_what_evaluation_computes(trained):
    root, _ = trained
    logs = root / "work" / "train_logs"
    records = [json.loads(line) for line in (logs / "metrics.jsonl").open()]
    evals = [r for r in records if "eval" in r]
    assert [r["step"] for r in evals] == [1, 3]  # after 2 and after 4 steps (the last)
    assert [r["step"] for r in records if "loss" in r] == [0, 1, 2, 3]
    for record in evals:
        assert set(record["eval"]["bits_per_char"]) == set(HELDOUT)
        assert record["eval"]["documents"] == {s: len(t) for s, t in HELDOUT.items()}
    events = b"".join(p.read_bytes() for p in (logs / "tensorboard").rglob("events.*"))
    assert b"eval/bpc/en_web" in events and b"eval/bpc/zh_web" in events

    # evaluation.run's own scoring of the final model (the weights after step 3) gives the same numbers
    from common.encoding import DocumentEncoder, TokenizeSection
    from evaluation.models import load_model
    from evaluation.perplexity import score_documents

    lm = load_model(root / "work" / "model", device="cpu", dtype="float32")
    encoder = DocumentEncoder(lm.tokenizer, TokenizeSection())
    for source in HELDOUT:
        scores = list(score_documents(lm, iter_documents(root / "work" / "heldout" / source), source, 4096, encoder))
        nll, chars = sum(s.totals.nll for s in scores), sum(s.totals.chars for s in scores)
        assert evals[-1]["eval"]["bits_per_char"][source] == pytest.approx(nll / math.log(2) / chars, rel=1e-5)


def test_eval_caps_documents_and_tokens_and_needs_held_out_documents(tmp_path, capsys):
    recipe = eval_recipe(tmp_path, eval_max_documents=2, eval_max_tokens=12)
    assert run.main([str(recipe)]) == 0
    last = [json.loads(line) for line in (tmp_path / "work" / "train_logs" / "metrics.jsonl").open()][-1]
    # en_web: 11 + 18 tokens > 12, so the first document only (whole documents); zh_web: 4 + 3 <= 12, then the cap of 2
    assert last["eval"]["documents"] == {"en_web": 1, "zh_web": 2}

    import shutil

    shutil.rmtree(tmp_path / "work" / "heldout")
    capsys.readouterr()
    assert run.main([str(recipe), "--fresh"]) == 2
    err = capsys.readouterr().err
    assert "train.eval_every: no held-out documents in" in err and err.count("\n") == 1


def test_export_writes_any_checkpoint_as_a_model_folder_transformers_and_evaluation_load(trained, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evaluation.models import load_model

    root, recipe = trained
    work = root / "work"
    out = root / "step2"
    assert export.main([str(recipe), "--step", "2", "--output", str(out)]) == 0
    assert f"exported to {out}" in capsys.readouterr().out
    model = AutoModelForCausalLM.from_pretrained(out)
    saved = load_file(work / "checkpoints" / "step-2" / "model.safetensors")
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    assert len(AutoTokenizer.from_pretrained(out)) == len(CHARS) + 4
    assert json.loads((out / "export.json").read_text())["step"] == 2
    assert load_model(out, device="cpu").model is not None  # what `evaluation.run --model DIR` loads

    # the newest checkpoint by default, into WORKDIR/exports/step-N; the same weights as the final model
    assert export.main([str(recipe)]) == 0
    final = AutoModelForCausalLM.from_pretrained(work / "model").state_dict()
    exported = AutoModelForCausalLM.from_pretrained(work / "exports" / "step-4").state_dict()
    assert all(torch.equal(final[k], exported[k]) for k in final)
    assert export.main([str(recipe), "--checkpoint", str(work / "checkpoints" / "step-4"), "--output", str(out)]) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--step", "3"], "checkpoints/step-3: not a complete checkpoint (no state.json); complete ones: step-2, step-4"),
    (["--step", "2", "--output", "{recipe_dir}"], "exists and is not an earlier export"),
])
def test_export_refuses_with_one_line_and_writes_nothing(trained, capsys, args, message):
    root, recipe = trained
    args = [a.format(recipe_dir=root) for a in args]
    before = sorted(p.name for p in root.iterdir())
    assert export.main([str(recipe), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in root.iterdir()) == before


def test_loss_plot_is_smoothed_and_titled_with_the_run(trained, tmp_path):
    from PIL import Image

    root, recipe = trained
    png = root / "work" / "train_logs" / "loss_per_source.png"
    title = Image.open(png).info["Title"]
    assert Recipe.load(recipe).name in title and str(root / "work") in title and "training loss per source" in title
    # the EMA is TensorBoard's debiased one: a constant stays constant, noise is damped, a step is followed
    assert smooth([2.0] * 5, 0.9) == pytest.approx([2.0] * 5)
    noisy = [1.0 + (-1) ** i * 0.5 for i in range(100)]
    assert np.std(smooth(noisy, 0.9)[20:]) < 0.1 * np.std(noisy)
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps({"step": i, "loss": 3 - i / 50, "loss_per_source": {"a": 3.0, "b": 2.0}}) + "\n"
                               for i in range(100)) + json.dumps({"step": 99, "eval": {"bits_per_char": {}}}) + "\n")
    out = plot_loss_per_source(metrics, tmp_path / "plot.png", title="demo (/w)")
    assert Image.open(out).info["Title"].startswith("demo (/w): training loss per source (EMA 0.82")
