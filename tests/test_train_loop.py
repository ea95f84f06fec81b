"""The training loop end to end on CPU: exact resume, checkpoints, logs, final model, vocabulary growth."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM

from common.recipe import Recipe
from tests.test_train_fixtures import TINY_LLAMA, random_manifest, tiny_recipe, write_shards
from train import run
from train.model_loading import resize_embeddings
from train.recipe_sections import TrainError
from train.run import setup, train, train_step

SIZES = {"zh": 24, "en": 16, "chat": 12}


def _losses(workdir):
    lines = (workdir / "train_logs" / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], r["loss"], r["loss_per_source"]) for r in map(json.loads, lines)]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """20 steps in one go (global batch 4 as 2 micro-steps of 2)."""
    root = tmp_path_factory.mktemp("straight")
    write_shards(root / "work" / "tokens", SIZES)
    manifest = random_manifest(SIZES, num_steps=20, global_batch=4)
    model_dir = train(tiny_recipe(root, micro_batch_size=2), manifest=manifest)
    return root / "work", model_dir, manifest


def test_resume_after_a_kill_gives_identical_losses_and_weights(straight_run, tmp_path):
    workdir, model_dir, manifest = straight_run
    write_shards(tmp_path / "work" / "tokens", SIZES)
    train(tiny_recipe(tmp_path, micro_batch_size=2, max_steps=10), manifest=manifest)  # "killed" after step 10
    shutil.rmtree(tmp_path / "work" / "model")
    train(tiny_recipe(tmp_path, micro_batch_size=2), manifest=manifest)
    resumed = _losses(tmp_path / "work")
    assert [s for s, *_ in resumed] == list(range(20))
    assert resumed == _losses(workdir)  # bit-identical floats, overall and per source
    a = load_file(model_dir / "model.safetensors")
    b = load_file(tmp_path / "work" / "model" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoints_keep_the_last_k_and_logs_are_written(straight_run):
    workdir, _, manifest = straight_run
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["step-15", "step-20"]
    step20 = workdir / "checkpoints" / "step-20"
    state = json.loads((step20 / "state.json").read_text())
    assert state["step"] == 20 and state["manifest_fingerprint"] == manifest.fingerprint
    assert {"model.safetensors", "optimizer.bin", "scheduler.bin", "random_states_0.pkl"} <= {p.name for p in step20.iterdir()}
    logs = workdir / "train_logs"
    assert (logs / "loss_per_source.png").stat().st_size > 1000
    assert list((logs / "tensorboard").glob("events.out.tfevents.*"))
    record = json.loads((logs / "metrics.jsonl").read_text().splitlines()[-1])
    assert set(record["loss_per_source"]) <= set(SIZES) and record["tokens_per_s"] > 0
    assert 0 <= record["data_wait_frac"] < 1 and record["lr"] > 0


def test_the_final_model_loads_with_from_pretrained_and_generates(straight_run):
    _, model_dir, _ = straight_run
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    out = model.generate(torch.tensor([[5, 6, 7]]), max_new_tokens=5, do_sample=False)
    assert out.shape == (1, 8)


def test_incomplete_checkpoints_are_ignored_with_a_warning(straight_run, tmp_path, caplog):
    workdir, _, manifest = straight_run
    write_shards(tmp_path / "work" / "tokens", SIZES)
    train(tiny_recipe(tmp_path, micro_batch_size=4, max_steps=5, checkpoint_every=5), manifest=manifest)
    checkpoints = tmp_path / "work" / "checkpoints"
    shutil.copytree(checkpoints / "step-5", checkpoints / "step-7.tmp")
    (checkpoints / "step-9").mkdir()  # crashed before state.json
    with caplog.at_level(logging.WARNING, logger="train"):
        train(tiny_recipe(tmp_path, micro_batch_size=4, max_steps=6), manifest=manifest)
    assert "incomplete checkpoint" in caplog.text and "step-7.tmp" in caplog.text
    assert [s for s, *_ in _losses(tmp_path / "work")] == [0, 1, 2, 3, 4, 5]
    # micro-batch 4 (no accumulation) trains the same first steps as 2 x 2: the split is invisible
    for (_, a, _), (_, b, _) in zip(_losses(tmp_path / "work")[:5], _losses(workdir)[:5], strict=True):
        assert a == pytest.approx(b, rel=1e-5)


def test_resuming_with_another_manifest_is_refused(straight_run, tmp_path):
    _, _, manifest = straight_run
    write_shards(tmp_path / "work" / "tokens", SIZES)
    train(tiny_recipe(tmp_path, micro_batch_size=4, max_steps=5), manifest=manifest)
    other = random_manifest(SIZES, num_steps=20, global_batch=4, seed=1)
    with pytest.raises(TrainError, match="another manifest"):
        train(tiny_recipe(tmp_path, micro_batch_size=4), manifest=other)


def test_embedding_only_phase_leaves_the_other_weights_untouched(tmp_path):
    write_shards(tmp_path / "work" / "tokens", SIZES)
    manifest = random_manifest(SIZES, num_steps=3, global_batch=4)
    train(tiny_recipe(tmp_path, micro_batch_size=4, max_steps=1, embedding_only_steps=2, weight_decay=0.5,
                      checkpoint_every=1), manifest=manifest)
    train(tiny_recipe(tmp_path, micro_batch_size=4, max_steps=2, embedding_only_steps=2, weight_decay=0.5,
                      checkpoint_every=1), manifest=manifest)
    step1 = load_file(tmp_path / "work" / "checkpoints" / "step-1" / "model.safetensors")
    step2 = load_file(tmp_path / "work" / "checkpoints" / "step-2" / "model.safetensors")
    for name in step1:
        changed = not torch.equal(step1[name], step2[name])
        assert changed == (name in {"model.embed_tokens.weight", "lm_head.weight"}), name


def test_new_vocabulary_rows_are_the_mean_of_their_base_sub_tokens():
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**{**TINY_LLAMA, "vocab_size": 50}))
    before_in = model.get_input_embeddings().weight.detach().clone()
    before_out = model.get_output_embeddings().weight.detach().clone()
    extension = {"base_vocab_size": 50, "added": [{"token": "鱼", "id": 50, "base_ids": [3, 4, 9]},
                                                   {"token": "你好", "id": 51, "base_ids": [7]}]}
    assert resize_embeddings(model, 52, extension) == 2
    emb, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert emb.shape[0] == 52 and head.shape[0] == 52
    torch.testing.assert_close(emb[50], before_in[[3, 4, 9]].mean(0))
    torch.testing.assert_close(head[50], before_out[[3, 4, 9]].mean(0))
    torch.testing.assert_close(emb[51], before_in[7])
    torch.testing.assert_close(emb[:50], before_in)


@pytest.mark.parametrize("new_rows", ["random", "global_mean"])
def test_new_rows_random_or_global_mean(new_rows):
    torch.manual_seed(0)
    config = AutoConfig.for_model(**{**TINY_LLAMA, "vocab_size": 50, "initializer_range": 0.5})
    model = AutoModelForCausalLM.from_config(config)
    before_in = model.get_input_embeddings().weight.detach().clone()
    extension = {"base_vocab_size": 50, "added": [{"token": "鱼", "id": 50 + i, "base_ids": [3, 4]} for i in range(400)]}
    assert resize_embeddings(model, 450, extension, new_rows) == 400
    emb, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    torch.testing.assert_close(emb[:50], before_in)
    for weight in (emb, head):
        new = weight[50:].detach()
        if new_rows == "random":  # the model's own init scale, not its sub-tokens
            assert abs(new.std().item() - 0.5) < 0.02 and abs(new.mean().item()) < 0.02
            assert not torch.allclose(new[0], before_in[[3, 4]].mean(0))
        else:
            torch.testing.assert_close(new, weight[:50].detach().mean(0).expand_as(new))


def test_bad_base_ids_are_refused():
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**{**TINY_LLAMA, "vocab_size": 50}))
    with pytest.raises(TrainError, match="base_ids"):
        resize_embeddings(model, 51, {"added": [{"token": "x", "id": 50, "base_ids": [60]}]})


def test_cli_reports_recipe_mistakes_in_one_line_with_exit_code_2(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model:\n  config: {model_type: llama}\ntrain:\n  micro_batch_sise: 2\n")
    assert run.main([str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "line 4: train.micro_batch_sise: unknown key (did you mean 'micro_batch_size'?)" in err


def test_cli_says_when_there_is_no_manifest(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("workdir: w\nmodel:\n  config: {model_type: llama}\n")
    assert run.main([str(recipe)]) == 2
    assert "manifest" in capsys.readouterr().err


def test_model_section_needs_exactly_one_source(tmp_path):
    from common.recipe import RecipeError
    from train.recipe_sections import ModelSection

    with pytest.raises(RecipeError, match="exactly one of model.path"):
        Recipe.from_dict({"model": {}}, root=tmp_path).section("model", ModelSection)


def test_logged_losses_match_a_direct_computation_from_the_initial_weights(tmp_path):
    """Step 0's logged loss, overall and per source, is the mean next-token loss of the initial model
    over that step's loss tokens (the per-source numbers come from the same per-token losses)."""
    from accelerate.utils import set_seed

    from train.manifest_batches import IGNORE_INDEX, ShardSet

    write_shards(tmp_path / "work" / "tokens", SIZES)
    manifest = random_manifest(SIZES, num_steps=2, global_batch=6)
    train(tiny_recipe(tmp_path, micro_batch_size=3, max_steps=1), manifest=manifest)
    _, loss, per_source = _losses(tmp_path / "work")[0]

    shards = ShardSet(tmp_path / "work" / "tokens", manifest.sources)
    set_seed(7)  # tiny_recipe's seed: the same initial weights as the run
    config = AutoConfig.for_model(**{**TINY_LLAMA, "vocab_size": shards.vocab_size})
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    batch = shards.micro_batch(*zip(*manifest.steps[0], strict=True), flatten=False)
    with torch.no_grad():
        logits = model(input_ids=batch.input_ids, position_ids=batch.position_ids, use_cache=False).logits
    token_loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch.labels.flatten(),
                                                   ignore_index=IGNORE_INDEX, reduction="none").view(6, -1)
    trained = batch.labels != IGNORE_INDEX
    assert loss == pytest.approx(float(token_loss.sum() / trained.sum()), rel=1e-5)
    row_sources = [source for source, _ in manifest.steps[0]]
    expected = {s: float(sum(token_loss[i].sum() for i, r in enumerate(row_sources) if r == s)
                         / sum(trained[i].sum() for i, r in enumerate(row_sources) if r == s))
                for s in set(row_sources)}
    assert per_source == pytest.approx(expected, rel=1e-5)


def test_one_train_step_is_the_same_update_however_the_batch_is_split(tmp_path):
    """`setup` then one `train_step`, without the loop: 1 micro-step of 4 and 2 of 2 measure the same
    losses and leave the same weights (the loss is normalised over the whole global batch)."""
    write_shards(tmp_path / "tokens", SIZES)
    manifest = random_manifest(SIZES, num_steps=3, global_batch=4)
    after = {}
    for micro in (4, 2):
        state = setup(tiny_recipe(tmp_path / f"micro{micro}", micro_batch_size=micro, tokens=str(tmp_path / "tokens")),
                      manifest=manifest)
        assert (state.start_step, state.total_steps, state.batches.grad_accum) == (0, 3, 4 // micro)
        micro_batches, _ = state.batches.get(0)
        result = train_step(state, 0, micro_batches)
        state.batches.close()
        assert result.lr == pytest.approx(3e-3 / 2)  # step 0 of a 2-step warmup
        after[micro] = (result, {n: p.detach().clone() for n, p in state.model.named_parameters()})
    (one, weights_one), (two, weights_two) = after[4], after[2]
    torch.testing.assert_close(one.loss_sum, two.loss_sum, rtol=1e-5, atol=0)
    assert torch.equal(one.loss_tokens, two.loss_tokens) and one.loss_tokens.sum() > 0
    for name, weight in weights_one.items():
        torch.testing.assert_close(weight, weights_two[name], rtol=1e-4, atol=1e-6)
    assert not (tmp_path / "micro4" / "work" / "checkpoints").exists()  # checkpoints are the loop's job


def _word_level_tokenizer(folder):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, **{f"w{i}": i for i in range(1, 128)}}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="[UNK]")))
    tokenizer.save_pretrained(folder)
    return tokenizer


def test_the_tokenizer_in_effect_goes_into_the_model_folder_and_must_match_the_shards(tmp_path, caplog):
    from common.tokens import tokenizer_fingerprint

    manifest = random_manifest(SIZES, num_steps=2, global_batch=4)
    tokenizer_dir = tmp_path / "tokenizer"
    tokenizer_dir.mkdir()

    def run_with_tokenizer(root, fingerprint):
        write_shards(root / "work" / "tokens", SIZES, tokenizer_fingerprint=fingerprint)
        recipe = tiny_recipe(root, micro_batch_size=4, max_steps=1)
        recipe.data["tokenizer"] = {"path": str(tokenizer_dir)}
        return train(recipe, manifest=manifest)

    # not a tokenizer: a warning, and the model folder has none (training needs only the token ids)
    with caplog.at_level(logging.WARNING, logger="train"):
        model_dir = run_with_tokenizer(tmp_path / "none", "test-tokenizer")
    assert "cannot load the tokenizer" in caplog.text and "no tokenizer" in caplog.text
    assert (model_dir / "model.safetensors").is_file() and not (model_dir / "tokenizer.json").exists()

    fingerprint = tokenizer_fingerprint(_word_level_tokenizer(tokenizer_dir))
    with pytest.raises(TrainError, match="re-run tokenization"):
        run_with_tokenizer(tmp_path / "other", "another-tokenizer")
    model_dir = run_with_tokenizer(tmp_path / "same", fingerprint)
    assert (model_dir / "tokenizer.json").is_file()
