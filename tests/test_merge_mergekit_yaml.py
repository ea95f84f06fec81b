"""mergekit configs (`mergekit-yaml`'s YAML) given to `python -m merge.run`: translated into our `merge` section,
they merge tiny models into exactly the tensors the native recipe gives; what we do not support is one line
naming the key (issue 16, point 20)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from common.recipe import Recipe
from merge.config import load_section
from merge.demo_models import build_demo_models
from merge.mergekit import MergekitConfigError, translate
from merge.methods import METHODS, DareSection, TensorContext
from merge.run import main, merge
from tests.test_merge import read_tensors  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return build_demo_models(tmp_path_factory.mktemp("kit") / "models", seed=0)


# Written as mergekit documents them (its examples/ties.yml and examples/linear.yml, docs/merge_methods.md),
# with model paths relative to the current directory, as mergekit-yaml reads them.
MERGEKIT = {
    "linear": """\
models:
  - model: models/sft
    parameters:
      weight: 0.7
  - model: models/base
    parameters:
      weight: 0.3
merge_method: linear
dtype: float32
""",
    "task_arithmetic": """\
models:
  - model: models/ct
    parameters:
      weight: 1.0
  - model: models/sft
    parameters:
      weight: 0.5
merge_method: task_arithmetic
base_model: models/base
parameters:
  lambda: 0.8
  normalize: true
dtype: float32
tokenizer_source: models/ct
""",
    "ties": """\
models:
  - model: models/base
  - model: models/ct
    parameters:
      density: 0.3
      weight: 1.0
  - model: models/sft
    parameters:
      density: 0.3
      weight: 0.6
merge_method: ties
base_model: models/base
parameters:
  normalize: true
  int8_mask: true
  lambda: 0.9
dtype: float32
tokenizer_source: models/ct
""",
    "dare_linear": """\
models:
  - model: models/ct
    parameters:
      weight: 1.0
  - model: models/sft
    parameters:
      weight: 0.6
merge_method: dare_linear
base_model: models/base
parameters:
  density: 0.4
dtype: float32
tokenizer_source: models/ct
""",
    "dare_ties": """\
models:
  - model: models/base
    # no parameters necessary for base model
  - model: models/ct
    parameters:
      density: 0.53
      weight: 0.4
  - model: models/sft
    parameters:
      density: 0.53
      weight: 0.6
merge_method: dare_ties
base_model: models/base
parameters:
  int8_mask: true
dtype: bfloat16
tokenizer_source: models/ct
""",
}

# The same merges as our recipes' `merge` sections (what docs/merge.md says each mergekit key becomes).
NATIVE = {
    "linear": {"method": "linear", "models": [{"name": "sft", "path": "sft", "weight": 0.7},
                                              {"name": "base", "path": "base", "weight": 0.3}],
               "dtype": "float32"},
    "task_arithmetic": {"method": "task_arithmetic", "base": "base",
                        "models": [{"name": "ct", "path": "ct", "weight": 1.0}, {"name": "sft", "path": "sft", "weight": 0.5}],
                        "parameters": {"lambda": 0.8, "normalize": True}, "tokenizer_from": "ct", "dtype": "float32"},
    "ties": {"method": "ties", "base": "base",
             "models": [{"name": "ct", "path": "ct", "weight": 1.0}, {"name": "sft", "path": "sft", "weight": 0.6}],
             "parameters": {"density": 0.3, "lambda": 0.9}, "tokenizer_from": "ct", "dtype": "float32"},
    "dare_linear": {"method": "dare", "base": "base",
                    "models": [{"name": "ct", "path": "ct", "weight": 1.0}, {"name": "sft", "path": "sft", "weight": 0.6}],
                    "parameters": {"density": 0.4, "rescale": "l1"}, "tokenizer_from": "ct", "dtype": "float32"},
    "dare_ties": {"method": "dare_ties", "base": "base",
                  "models": [{"name": "ct", "path": "ct", "weight": 0.4}, {"name": "sft", "path": "sft", "weight": 0.6}],
                  "parameters": {"density": 0.53, "rescale": "l1", "normalize": False}, "tokenizer_from": "ct",
                  "dtype": "bfloat16"},
}


def native_recipe(method: str, models: dict[str, Path]) -> Recipe:
    section = json.loads(json.dumps(NATIVE[method]))
    if isinstance(section.get("base"), str):
        section["base"] = {"name": "base", "path": str(models[section["base"]])}
    for model in section["models"]:
        model["path"] = str(models[model["path"]])
    return Recipe.from_dict({"merge": section, "seed": 0})


@pytest.mark.parametrize("method", sorted(MERGEKIT))
def test_a_mergekit_config_merges_exactly_as_the_native_recipe(method, models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(models["base"].parent.parent)  # mergekit reads model paths relative to the current folder
    config = tmp_path / f"{method}.yml"
    config.write_text(MERGEKIT[method])
    assert main([str(config), "--output", str(tmp_path / "kit")]) == 0
    assert "error" not in capsys.readouterr().err
    section, params = load_section(native_recipe(method, models))
    merge(section, params, tmp_path / "native", seed=0, log=lambda *_: None)
    ours, native = read_tensors(tmp_path / "kit"), read_tensors(tmp_path / "native")
    assert set(ours) == set(native)
    for name in native:
        assert torch.equal(ours[name], native[name]), name
    report = json.loads((tmp_path / "kit" / "merge_report.json").read_text())
    assert report["method"] == NATIVE[method]["method"]
    native_report = json.loads((tmp_path / "native" / "merge_report.json").read_text())
    assert report["tokenizer_from"] == native_report["tokenizer_from"]
    assert report["tokenizer_files"] == native_report["tokenizer_files"]
    if method in ("ties", "dare_ties"):  # the base listed among the models is skipped, as mergekit skips its zero task vector
        assert [m["name"] for m in report["models"]] == ["ct", "sft"]


def test_the_translation_keeps_mergekit_defaults_where_ours_differ(models, tmp_path):
    (tmp_path / "a").symlink_to(models["ct"])
    data = yaml.safe_load(f"merge_method: ties\nbase_model: {models['base']}\nmodels:\n  - model: a\n"
                          "    parameters: {weight: 1}\n")
    section = translate(data, tmp_path / "c.yml", cwd=tmp_path)["merge"]
    assert section["parameters"] == {"density": 1.0, "lambda": 1.0, "normalize": True}  # mergekit: density 1
    data = {"merge_method": "dare_linear", "base_model": str(models["base"]),
            "parameters": {"weight": 0.5, "density": 0.6, "rescale": False},  # global defaults for every model
            "models": [{"model": str(models["ct"])}, {"model": str(models["sft"])}],
            "dtype": "bfloat16", "out_dtype": "float16"}
    section = translate(data, tmp_path / "c.yml")["merge"]
    assert section["parameters"] == {"rescale": False, "normalize": False, "lambda": 1.0, "density": 0.6}
    assert [m["weight"] for m in section["models"]] == [0.5, 0.5] and section["dtype"] == "float16"


def test_dare_l1_rescale_keeps_each_task_vectors_l1_norm_as_mergekit_does():
    # mergekit's sparsify.rescaled_masked_tensor(norm=l1): masked * (||tau||_1 / ||masked||_1) per model
    generator = torch.Generator().manual_seed(0)
    taus = torch.randn(2, 40, 30, generator=generator)
    weights = torch.tensor([1.0, 0.6])
    params = DareSection(density=0.3, rescale="l1")
    merged = METHODS["dare"].merge(taus.clone(), weights, params, TensorContext("t", seed=5))
    expected = torch.zeros(40, 30)
    for i in range(2):
        digest = hashlib.blake2b(f"5/t/{i}".encode(), digest_size=8).digest()
        g = torch.Generator().manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))
        masked = taus[i] * (torch.rand(taus[i].shape, generator=g) < 0.3)
        assert masked.count_nonzero() < 0.4 * masked.numel()
        expected += float(weights[i]) * masked * (taus[i].abs().sum() / masked.abs().sum())
    torch.testing.assert_close(merged, expected)
    # 1/density (DARE's paper, our default) differs from it
    plain = METHODS["dare"].merge(taus.clone(), weights, DareSection(density=0.3), TensorContext("t", seed=5))
    assert not torch.allclose(plain, expected)


BAD = [
    ("merge_method: slerp\n", "merge_method: 'slerp' is not supported (supported: linear, task_arithmetic, ties, dare_linear"),
    ("slices: []\nmerge_method: passthrough\n", "slices: layer slices (frankenmerges) are not supported"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - model: M\n    parameters: {weight: 1, density: [1, 0.7, 0.1]}\n",
     "models[0].parameters.density: per-layer values (gradients or filters) are not supported; use one number"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - model: M\n    parameters:\n      weight:\n        - filter: mlp\n"
     "          value: 0.5\n        - value: 0\n",
     "models[0].parameters.weight: per-layer values (gradients or filters) are not supported"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1, density: 0.5}}\n"
     "  - {model: N, parameters: {weight: 1, density: 0.3}}\n",
     "models[1].parameters.density: 0.3 differs from models[0]'s 0.5: one density for every model is supported"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - model: M\n", "models[0].parameters.weight: ties needs a weight"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1, gamma: 0.1}}\n",
     "models[0].parameters.gamma: not a per-model parameter of ties (those are: weight, density)"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1}}\nparameters: {normalise: true}\n",
     "parameters.normalise: not a parameter of ties"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1}}\ntokenizer_source: union\n",
     "tokenizer_source: union (a merged vocabulary) is not supported"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1}}\ntokenizer:\n  source: union\n",
     "tokenizer: the `tokenizer` block"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M+lora, parameters: {weight: 1}}\n",
     "models[0].model: 'M+lora': LoRA adapters (model+lora) are not supported"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1}}\ndtype: float64\n",
     "dtype: 'float64' is not supported (use float32, bfloat16, float16)"),
    ("merge_method: task_arithmetic\nmodels:\n  - {model: M, parameters: {weight: 1}}\n", "base_model: task_arithmetic needs a base_model"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1}}\nparameters: {rescale: true}\n",
     "parameters.rescale: ties with rescale (L1 norm) is not supported"),
    ("merge_method: ties\nbase_model: B\nmodels:\n  - {model: M, parameters: {weight: 1}}\nmodel_name: x\n",
     "model_name: unknown mergekit key"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[message.split(":")[0] for _, message in BAD])
def test_what_we_do_not_support_is_one_line_naming_the_key(text, message, tmp_path):
    with pytest.raises(MergekitConfigError) as err:
        translate(yaml.safe_load(text), tmp_path / "kit.yml", cwd=tmp_path)
    assert str(err.value).startswith(f"{tmp_path / 'kit.yml'}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_mergekits_own_ties_example_is_refused_at_its_first_gradient_and_nothing_is_written(tmp_path):
    # examples/ties.yml of mergekit, as published
    (tmp_path / "ties.yml").write_text("""\
models:
  - model: psmathur/orca_mini_v3_13b
    parameters:
      density: [1, 0.7, 0.1] # density gradient
      weight: 1.0
  - model: garage-bAInd/Platypus2-13B
    parameters:
      density: 0.5
      weight: [0, 0.3, 0.7, 1] # weight gradient
merge_method: ties
base_model: TheBloke/Llama-2-13B-fp16
parameters:
  normalize: true
  int8_mask: true
dtype: float16
""")
    result = subprocess.run(
        [sys.executable, "-m", "merge.run", "--mergekit", str(tmp_path / "ties.yml"), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path, env=os.environ | {"PYTHONPATH": str(ROOT)}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'ties.yml'}: models[0].parameters.density: per-layer values (gradients or filters) "
        "are not supported; use one number"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ties.yml"]


def test_a_mergekit_config_needs_an_output_folder(models, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(models["base"].parent.parent)
    (tmp_path / "kit.yml").write_text(MERGEKIT["ties"])
    assert main([str(tmp_path / "kit.yml")]) == 2
    assert "is a mergekit config: name the output folder with --output DIR" in capsys.readouterr().err
    (tmp_path / "recipe.yaml").write_text("merge: {method: ties}\n")
    assert main(["--mergekit", str(tmp_path / "recipe.yaml"), "--output", str(tmp_path / "o")]) == 2
    assert "recipe.yaml: not a mergekit config (it has no merge_method)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
