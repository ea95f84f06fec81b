"""Issue 16, points 2 and 3: a misspelt `model.config` key and a tokenizer whose ids are not the model's
vocabulary are refused with one line before anything is built or written."""

from __future__ import annotations

import pytest
import yaml
from transformers import AutoModelForCausalLM, LlamaConfig

from common.tokens import tokenizer_fingerprint
from tests.test_train_cli import planned_recipe
from tests.test_train_fixtures import TINY_LLAMA, char_tokenizer
from train import run
from train.model_loading import check_model_vocabulary
from train.recipe_sections import TrainError

LETTERS = list("abcdefghijklmnopqrstuvwxyz")


def _recipe(tmp_path, config: dict) -> str:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"workdir": "w", "model": {"config": config}, "train": {}}, sort_keys=False))
    return str(path)


@pytest.mark.parametrize("flag", ["--check", "--dry-run"])
def test_a_misspelt_model_config_key_names_its_line_and_the_closest_key(tmp_path, capsys, flag):
    """`hiden_size: 64` used to build a 170M model from the defaults; now: exit 2, the YAML line, the key,
    the closest valid key, nothing written."""
    path = _recipe(tmp_path, {**TINY_LLAMA, "hiden_size": 64})
    assert run.main([path, flag]) == 2
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(open(path).read().splitlines(), 1) if "hiden_size" in text)
    assert f"line {line}: model.config.hiden_size: not a llama config key (did you mean 'hidden_size'?)" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "w").exists()


def test_a_misspelt_config_key_stops_training_before_anything_is_written(tmp_path, capsys):
    recipe = planned_recipe(tmp_path)
    data = yaml.safe_load(recipe.read_text())
    data["model"]["config"]["num_hidden_layer"] = 1
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    assert run.main([str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "model.config.num_hidden_layer: not a llama config key (did you mean 'num_hidden_layers'?)" in err
    assert not (tmp_path / "work" / "checkpoints").exists() and not (tmp_path / "work" / "model").exists()


@pytest.mark.parametrize("key", ["rope_theta", "output_attentions", "tie_word_embeddings", "head_dim"])
def test_keys_of_the_config_class_and_of_pretrained_config_are_accepted(tmp_path, capsys, key):
    value = {"rope_theta": 5000.0, "output_attentions": False, "tie_word_embeddings": True, "head_dim": 8}[key]
    assert run.main([_recipe(tmp_path, {**TINY_LLAMA, key: value}), "--check"]) == 0, capsys.readouterr().err


def _model_folder(folder, tokens):
    """A tiny LLaMA saved with its own character tokenizer (its vocabulary: ids 0-2 specials, then tokens)."""
    tokenizer = char_tokenizer(folder, tokens)
    config = LlamaConfig(**{k: v for k, v in TINY_LLAMA.items() if k != "model_type"}, vocab_size=len(tokenizer))
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    return folder


def _recipe_with(tmp_path, model_dir, tokenizer_dir, tokenizer):
    recipe = planned_recipe(tmp_path)
    data = yaml.safe_load(recipe.read_text())
    data["model"] = {"path": str(model_dir)}
    data["tokenizer"] = {"path": str(tokenizer_dir)}
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    # the shards say which tokenizer made them: the one in effect here
    from tests.test_train_fixtures import write_shards

    write_shards(tmp_path / "work" / "tokens", {"en_web": 16, "zh_web": 16}, seq_len=16,
                 vocab_size=len(tokenizer), tokenizer_fingerprint=tokenizer_fingerprint(tokenizer))
    from common.recipe import Recipe
    from mixer import plan as planner

    planner.write_manifest(planner.plan_from_recipe(Recipe.load(recipe)), tmp_path / "work" / "manifest")
    return recipe


def test_a_tokenizer_extended_from_another_base_is_refused(tmp_path, capsys):
    """The issue's case: a model with its own vocabulary, trained with a tokenizer extended from another
    base (same size of base, other strings at the same ids, plus added tokens): exit 2, one line naming the
    first id that differs, nothing trained."""
    model_dir = _model_folder(tmp_path / "model", LETTERS)
    other = char_tokenizer(tmp_path / "other", LETTERS[::-1] + ["需", "字"])  # another base, "extended"
    recipe = _recipe_with(tmp_path / "run", model_dir, tmp_path / "other", other)
    assert run.main([str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "disagree: id 3 is 'a' for the model but 'z' in the tokenizer" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "run" / "work" / "checkpoints").exists()
    assert run.main([str(recipe), "--dry-run"]) == 2  # the dry run says so too
    assert "disagree: id 3" in capsys.readouterr().err


def test_same_strings_at_other_ids_are_refused_and_an_extension_of_the_models_vocabulary_trains(tmp_path, capsys):
    model_dir = _model_folder(tmp_path / "model", LETTERS)
    swapped = char_tokenizer(tmp_path / "swapped", ["b", "a", *LETTERS[2:]])  # ids checked, not just strings
    with pytest.raises(TrainError, match="id 3 is 'a' for the model but 'b'"):
        check_model_vocabulary(model_dir, swapped, tmp_path / "swapped")
    shorter = char_tokenizer(tmp_path / "shorter", LETTERS[:10])  # the model's tokens must all be there
    with pytest.raises(TrainError, match="id 13 is 'k' for the model but missing"):
        check_model_vocabulary(model_dir, shorter, tmp_path / "shorter")

    extended = char_tokenizer(tmp_path / "extended", [*LETTERS, "需", "字"])  # the model's vocabulary + 2
    recipe = _recipe_with(tmp_path / "run", model_dir, tmp_path / "extended", extended)
    assert run.main([str(recipe)]) == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "work" / "model" / "model.safetensors").is_file()
