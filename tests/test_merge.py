"""Behaviour of `merge`: methods against the papers' definitions, streaming output, vocabulary, errors."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from common.recipe import Recipe, RecipeError
from merge.config import load_section
from merge.demo_models import build_demo_models
from merge.io import MergeError, ModelReader
from merge.methods import (
    METHODS,
    Method,
    MethodSection,
    TensorContext,
    TiesSection,
    TiesSVSection,
    _elect,
    _elect_fast,
)
from merge.run import main, merge
from merge.slices import CHUNK
from merge.topk import top_k_count, top_k_mask, trim_threshold


def ties_reference(
    base: np.ndarray,
    models: list[np.ndarray],
    weights: list[float],
    density: float | list[float],
    lam: float,
    slack: float = 0.0,
    protect: list[bool] | None = None,
):
    """TIES as Yadav et al. (2023) define it, written independently: trim, elect, disjoint merge; with
    `slack` xi, each model votes scaled by (1 - xi) + xi * mean(t) / t_i, t_i its trim threshold (docs/merge.md)."""
    trimmed, thresholds = [], []
    densities = density if isinstance(density, list) else [density] * len(models)
    for model, d in zip(models, densities, strict=True):
        tau = (model - base).reshape(-1).astype(np.float64)
        k = max(1, int(d * tau.size))
        keep = np.argsort(-np.abs(tau), kind="stable")[:k]  # ties in magnitude: lower index first
        t = np.zeros_like(tau)
        t[keep] = tau[keep]
        trimmed.append(t)
        thresholds.append(float(np.abs(tau[keep]).min()))
    positive = [t for t in thresholds if t > 0]
    protect = protect or [True] * len(models)  # the SFT-protecting form rescales only the protected votes
    scales = [(1 - slack) + slack * np.mean(positive) / t if t > 0 and p else 1.0
              for t, p in zip(thresholds, protect, strict=True)]
    trimmed, w, s = np.stack(trimmed), np.array(weights)[:, None], np.array(scales)[:, None]
    gamma = np.where((s * w * trimmed).sum(0) >= 0, 1.0, -1.0)  # a zero mass elects +1
    agreeing = np.sign(trimmed) == gamma
    divisor = (w * agreeing).sum(0)
    merged = np.where(
        divisor != 0, (w * trimmed * agreeing).sum(0) / np.where(divisor != 0, divisor, 1.0), 0.0
    )
    return (base.reshape(-1) + lam * merged).reshape(base.shape)


def read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    out = {}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            out.update({name: handle.get_tensor(name) for name in handle.keys()})
    return out


def recipe_for(models: dict[str, Path], method: str, **merge_keys) -> Recipe:
    section = {
        "method": method,
        "base": {"name": "base", "path": str(models["base"])},
        "models": [{"name": "ct", "path": str(models["ct"])}, {"name": "sft", "path": str(models["sft"])}],
        "tokenizer_from": "ct",
    }
    section.update(merge_keys)
    return Recipe.from_dict({"merge": section, "seed": 3})


def run(recipe: Recipe, output: Path) -> dict:
    section, params = load_section(recipe)
    return merge(section, params, output, seed=recipe.seed, log=lambda *_: None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Path]:
    return build_demo_models(tmp_path_factory.mktemp("models"), seed=0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    n_models=st.integers(1, 3),
    density=st.sampled_from([0.1, 0.3, 0.5, 1.0]),
    lam=st.sampled_from([0.5, 1.0]),
    seed=st.integers(0, 2**16),
    quantize=st.booleans(),
)
def test_ties_equals_paper_definition(n, n_models, density, lam, seed, quantize):
    generator = torch.Generator().manual_seed(seed)
    base = torch.randn(n, generator=generator)
    models = [base + torch.randn(n, generator=generator) for _ in range(n_models)]
    if quantize:  # many equal magnitudes and exact zeros: exercises tie-breaking
        models = [base + torch.round(m - base) for m in models]
    weights = [float(w) for w in torch.rand(n_models, generator=generator) + 0.5]
    params = TiesSection(density=density, **{"lambda": lam})
    deltas = torch.stack(models) - base
    ours = base + METHODS["ties"].merge(deltas, torch.tensor(weights), params, TensorContext("t"))
    expected = ties_reference(base.numpy(), [m.numpy() for m in models], weights, density, lam)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(7,), (5, 6), (3, 4, 5)]), density=st.floats(0.05, 1.0), seed=st.integers(0, 2**16)
)
def test_ties_sv_with_zero_slack_is_exactly_ties(shape, density, seed):
    generator = torch.Generator().manual_seed(seed)
    deltas = torch.randn((3, *shape), generator=generator) * torch.tensor([5.0, 1.0, 0.3]).view(
        -1, *[1] * len(shape)
    )
    weights = torch.rand(3, generator=generator) + 0.1
    ties = METHODS["ties"].merge(deltas.clone(), weights, TiesSection(density=density), TensorContext("t"))
    sv = METHODS["ties_sv"].merge(
        deltas.clone(), weights, TiesSVSection(density=density, slack=0.0), TensorContext("t")
    )
    assert torch.equal(ties, sv)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 300), density=st.floats(0.01, 1.0), seed=st.integers(0, 2**16), levels=st.integers(1, 50)
)
def test_top_k_mask_keeps_exactly_k_largest(n, density, seed, levels):
    values = torch.randint(-levels, levels + 1, (n,), generator=torch.Generator().manual_seed(seed)).float()
    mask, threshold = top_k_mask(values, density)
    k = max(1, min(n, int(density * n)))
    assert int(mask.sum()) == k
    assert values.abs()[mask].min() >= values.abs()[~mask].max() if k < n else True
    assert float(values.abs()[mask].min()) == threshold


def test_top_k_mask_large_tensor_matches_sort():
    values = torch.randn(300_000, generator=torch.Generator().manual_seed(0))
    mask, _ = top_k_mask(values, 0.2)
    expected = torch.zeros_like(mask)
    expected[torch.argsort(values.abs(), descending=True)[:60_000]] = True
    assert torch.equal(mask, expected)


@settings(max_examples=40, deadline=None)
@given(
    n_models=st.integers(1, 3),
    levels=st.integers(1, 6),
    normalize=st.booleans(),
    unit_weights=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_float_only_election_is_bit_identical_to_masked_election(
    n_models, levels, normalize, unit_weights, seed
):
    # Few levels: many exact zeros, equal magnitudes and summed votes of exactly 0 (elected +1).
    generator = torch.Generator().manual_seed(seed)
    u = torch.randint(-levels, levels + 1, (n_models, 500), generator=generator).float() * 0.25
    w = torch.ones(n_models, 1) if unit_weights else torch.rand(n_models, 1, generator=generator) + 0.1
    u *= w
    votes = u.sum(0)
    fast = _elect_fast(u.clone(), votes, w, normalize, float(w.min()))
    masked = _elect(u.clone(), votes, w, normalize)
    assert torch.equal(fast.view(torch.int32), masked.view(torch.int32))  # signs of zeros included


def test_large_tensor_ties_on_a_thread_pool_equals_serial_and_keeps_ties_in_index_order():
    generator = torch.Generator().manual_seed(1)
    n = 3 * CHUNK + 12_345  # several slices and the sampled threshold search
    deltas = (torch.randint(-40, 41, (2, n), generator=generator).float() / 40) * torch.tensor([[5.0], [1.0]])
    k = top_k_count(n, 0.2)
    trim = trim_threshold(deltas[1], k)
    kept = trim.keep(deltas[1])
    assert int(kept.sum()) == k  # exactly k despite thousands of equal magnitudes at the threshold
    at_threshold = (deltas[1].abs() == trim.value).nonzero().view(-1)
    assert bool(kept[at_threshold[at_threshold < trim.cut]].all())
    assert not bool(kept[at_threshold[at_threshold >= trim.cut]].any())
    out = torch.empty(n)
    assert torch.equal(trim.trim(deltas[1], out), deltas[1] * kept)
    weights = torch.tensor([1.0, 0.7])
    serial, pooled = TensorContext("t", survival=[]), None
    expected = METHODS["ties"].merge(deltas.clone(), weights, TiesSection(), serial)
    with ThreadPoolExecutor(2) as pool:
        pooled = TensorContext("t", survival=[], pool=pool, out=torch.empty(n))
        merged = METHODS["ties"].merge(deltas.clone(), weights, TiesSection(), pooled)
    assert torch.equal(merged.view(torch.int32), expected.view(torch.int32))
    assert pooled.survival == serial.survival
    assert pooled.survival[0][0] == k


def test_read_into_fills_a_reused_buffer_with_the_stored_tensor(tmp_path):
    from safetensors.torch import save_file

    tensors = {"a": torch.randn(3, 5).bfloat16(), "b": torch.arange(7, dtype=torch.float32)}
    save_file(tensors, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text("{}")
    reader = ModelReader(tmp_path, "m")
    buffer = torch.full((100,), -1.0, dtype=torch.bfloat16)
    assert torch.equal(reader.read_into("a", buffer), tensors["a"])
    assert torch.equal(reader.read_into("b", torch.empty(7)), tensors["b"])
    with pytest.raises(ValueError, match="cannot hold a"):
        reader.read_into("a", torch.empty(100))  # float32 buffer for a bfloat16 tensor


def test_ties_merge_of_demo_models_matches_reference_and_loads(demo, tmp_path):
    report = run(recipe_for(demo, "ties", parameters={"density": 0.3, "lambda": 0.9}), tmp_path / "out")
    merged = read_tensors(tmp_path / "out")
    inputs = {name: read_tensors(path) for name, path in demo.items()}
    base_vocab = inputs["base"]["model.embed_tokens.weight"].shape[0]
    for name, tensor in merged.items():
        rows = slice(0, base_vocab) if "embed" in name or "lm_head" in name else slice(None)
        expected = ties_reference(
            inputs["base"][name][rows].numpy(),
            [inputs["ct"][name][rows].numpy(), inputs["sft"][name][rows].numpy()],
            [1.0, 1.0], 0.3, 0.9,
        )  # fmt: skip
        np.testing.assert_allclose(tensor[rows].numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=name)
    assert report["vocab_size"] == 350 and report["base_vocab_size"] == 300
    assert set(report["survival"]["overall"]) == {"ct", "sft"}
    assert set(report["survival"]["per_tensor"]) == set(merged)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert len(tokenizer) == model.config.vocab_size == 350
    ids = tokenizer("The quick 的一", return_tensors="pt")
    generated = model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] == ids.input_ids.shape[1] + 4


# Every registered method, with parameters other than its defaults, and the merged task vector its formula
# (docs/merge.md) gives for one tensor, written out in plain torch: base and models are float32 (the task
# vectors are float32 differences, as the engine takes them), the sums are float64.
def _linear(p, name, base, models, weights, seed):
    return sum(w * m.double() for w, m in zip(weights, models, strict=True)) / sum(weights) - base.double()


def _task_arithmetic(p, name, base, models, weights, seed):
    merged = sum(w * (m - base).double() for w, m in zip(weights, models, strict=True))
    return p["lambda"] * merged / (sum(weights) if p["normalize"] else 1.0)


def _ties(p, name, base, models, weights, seed):
    merged = ties_reference(base.numpy(), [m.numpy() for m in models], weights, p["density"], p["lambda"],
                            p.get("slack", 0.0))  # fmt: skip
    return torch.from_numpy(merged) - base.double()


def _dare(p, name, base, models, weights, seed):
    merged = torch.zeros(base.shape, dtype=torch.float64)
    for index, (w, model) in enumerate(zip(weights, models, strict=True)):
        # The documented seeding: (recipe seed, tensor name, model index) hashed with blake2b.
        digest = hashlib.blake2b(f"{seed}/{name}/{index}".encode(), digest_size=8).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))
        kept = torch.rand(base.shape, generator=generator) < p["density"]
        merged += w * ((model - base) * kept).double() / p["density"]
    return p["lambda"] * merged


def _dare_ties(p, name, base, models, weights, seed):
    # DARE's drop and 1/density rescale, then TIES's election (summed weighted mass, +1 on a tie) and the
    # sum of the agreeing weighted entries (divided by their weights' sum only with normalize)
    kept = []
    for index, (w, model) in enumerate(zip(weights, models, strict=True)):
        digest = hashlib.blake2b(f"{seed}/{name}/{index}".encode(), digest_size=8).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))
        mask = torch.rand(base.shape, generator=generator) < p["density"]
        kept.append(w * ((model - base) * mask / p["density"]).double())
    kept = torch.stack(kept)
    elected = torch.where(kept.sum(0) >= 0, 1.0, -1.0).double()
    agreeing = torch.sign(kept) == elected
    merged = (kept * agreeing).sum(0)
    if p.get("normalize"):
        divisor = (torch.tensor(weights, dtype=torch.float64).view(-1, *[1] * base.dim()) * agreeing).sum(0)
        merged = merged / torch.where(divisor == 0, 1.0, divisor)
    return p["lambda"] * merged


FORMULAS = {
    "linear": ({"normalize": True}, _linear),
    "task_arithmetic": ({"lambda": 0.8, "normalize": True}, _task_arithmetic),
    "ties": ({"density": 0.3, "lambda": 0.9}, _ties),
    "ties_sv": ({"density": 0.3, "lambda": 0.9, "slack": 0.7}, _ties),
    "dare": ({"density": 0.4, "lambda": 1.2}, _dare),
    "dare_ties": ({"density": 0.4, "lambda": 1.2, "normalize": True}, _dare_ties),
}


def survival_reference(task_vector: torch.Tensor, merged_delta: torch.Tensor, top_k: float) -> float:
    """Of the top-k entries of the task vector by magnitude (ties in index order), the fraction at which the
    merged task vector is non-zero with the same sign."""
    tau, merged = task_vector.reshape(-1).double(), merged_delta.reshape(-1)
    important = torch.argsort(-tau.abs(), stable=True)[: max(1, int(top_k * tau.numel()))]
    important = important[tau[important] != 0]
    return float((merged[important] * tau[important] > 0).sum()) / len(important)


def test_every_registered_method_is_checked_against_its_formula():
    assert set(FORMULAS) == set(METHODS)


@pytest.mark.parametrize("method", sorted(FORMULAS))
def test_method_merges_every_tensor_as_its_formula_says(method, demo, tmp_path):
    parameters, formula = FORMULAS[method]
    weights = [1.0, 0.6]
    recipe = recipe_for(demo, method, parameters=parameters)
    for model, weight in zip(recipe.data["merge"]["models"], weights, strict=True):
        model["weight"] = weight
    report = run(recipe, tmp_path / "out")
    merged = read_tensors(tmp_path / "out")
    inputs = {name: read_tensors(path) for name, path in demo.items()}
    assert set(merged) == set(inputs["base"]) and set(report["survival"]["per_tensor"]) == set(merged)
    for name, tensor in merged.items():
        base = inputs["base"][name]
        rows = slice(0, base.shape[0])  # the CT model's extra vocabulary rows are checked below
        models = [inputs["ct"][name][rows], inputs["sft"][name][rows]]
        delta = formula(parameters, name, base, models, weights, seed=recipe.seed)
        torch.testing.assert_close(tensor[rows].double(), base.double() + delta, rtol=1e-5, atol=1e-6,
                                   msg=lambda text, name=name: f"{name}: {text}")  # fmt: skip
        assert torch.equal(tensor[base.shape[0] :], inputs["ct"][name][base.shape[0] :])
        for label, model in zip(("ct", "sft"), models, strict=True):
            expected = survival_reference(model - base, delta, report["survival"]["top_k"])
            assert report["survival"]["per_tensor"][name][label] == pytest.approx(expected, abs=0.01), name


def test_a_registered_method_class_is_usable_from_a_recipe(demo, tmp_path, monkeypatch):
    class Largest(Method):
        """Per entry, the task-vector entry largest in magnitude (weights ignored)."""

        name = "largest"
        parameters = MethodSection

        def merge(self, values, weights, params, ctx):
            return values.gather(0, values.abs().argmax(0, keepdim=True))[0]

    monkeypatch.setitem(METHODS, "largest", Largest())
    report = run(recipe_for(demo, "largest"), tmp_path / "out")
    assert report["method"] == "largest" and report["survival"]["top_k"] == 0.2
    name = "model.layers.0.mlp.up_proj.weight"
    base, ct, sft = (read_tensors(demo[m])[name] for m in ("base", "ct", "sft"))
    taus = torch.stack([ct - base, sft - base])
    expected = base + torch.where(taus[0].abs() >= taus[1].abs(), taus[0], taus[1])
    torch.testing.assert_close(read_tensors(tmp_path / "out")[name], expected)
    no_base = Recipe.from_dict({"merge": {"method": "largest", "models": [str(demo["ct"])]}})
    with pytest.raises(RecipeError, match="method largest needs a base model"):
        load_section(no_base)


def test_extended_vocabulary_rows_come_from_the_model_that_has_them(demo, tmp_path):
    run(recipe_for(demo, "task_arithmetic"), tmp_path / "out")
    merged = read_tensors(tmp_path / "out")
    ct = read_tensors(demo["ct"])
    base = read_tensors(demo["base"])
    sft = read_tensors(demo["sft"])
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        assert merged[name].shape == (350, 64)
        assert torch.equal(merged[name][300:], ct[name][300:])
        expected = base[name] + (ct[name][:300] - base[name]) + (sft[name] - base[name])
        torch.testing.assert_close(merged[name][:300], expected)
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["vocab_size"] == 350


def test_ties_sv_keeps_more_sft_parameters_than_ties_when_ct_dominates(demo, tmp_path):
    # The demo's CT task vector is 5x the SFT one: TIES's election is decided by CT wherever they overlap.
    ties = run(recipe_for(demo, "ties", parameters={"density": 0.3}), tmp_path / "ties")
    sv = run(recipe_for(demo, "ties_sv", parameters={"density": 0.3, "slack": 1.0}), tmp_path / "sv")
    half = run(recipe_for(demo, "ties_sv", parameters={"density": 0.3, "slack": 0.5}), tmp_path / "half")
    ties_sft, sv_sft = ties["survival"]["overall"]["sft"], sv["survival"]["overall"]["sft"]
    assert ties["survival"]["overall"]["ct"] > 0.99  # CT wins almost every conflict under TIES
    assert sv_sft > ties_sft + 0.02
    assert ties_sft <= half["survival"]["overall"]["sft"] <= sv_sft
    wins = [
        sv["survival"]["per_tensor"][n]["sft"] >= ties["survival"]["per_tensor"][n]["sft"]
        for n in ties["survival"]["per_tensor"]
    ]
    assert all(wins)


def test_a_density_per_model_trims_each_task_vector_with_its_own_k(demo, tmp_path):
    recipe = recipe_for(demo, "ties", parameters={"density": 0.3})
    recipe.data["merge"]["models"][0]["density"] = 0.1  # ct: k1
    recipe.data["merge"]["models"][1]["density"] = 0.5  # sft: k2
    report = run(recipe, tmp_path / "k1k2")
    merged, base = read_tensors(tmp_path / "k1k2"), read_tensors(demo["base"])
    ct, sft = read_tensors(demo["ct"]), read_tensors(demo["sft"])
    for name in merged:
        if merged[name].shape != base[name].shape:
            continue  # extended vocabulary rows: not a task vector
        expected = ties_reference(base[name].numpy(), [ct[name].numpy(), sft[name].numpy()], [1.0, 1.0],
                                  [0.1, 0.5], 1.0)
        torch.testing.assert_close(merged[name].double(), torch.from_numpy(expected), rtol=1e-5, atol=1e-6)
    assert set(report["survival"]["overall"]) == {"ct", "sft"}  # the diagnostic still runs (engine-side)


def test_the_sft_protecting_slack_rescales_only_the_protected_vote(demo, tmp_path):
    params = {"density": 0.3, "slack": 1.0}
    ties = run(recipe_for(demo, "ties", parameters={"density": 0.3}), tmp_path / "ties")
    symmetric = run(recipe_for(demo, "ties_sv", parameters=params), tmp_path / "sym")
    protect = run(recipe_for(demo, "ties_sv", parameters={**params, "protect": ["sft"]}), tmp_path / "prot")
    merged, base = read_tensors(tmp_path / "prot"), read_tensors(demo["base"])
    ct, sft = read_tensors(demo["ct"]), read_tensors(demo["sft"])
    for name in merged:
        if merged[name].shape != base[name].shape:
            continue
        expected = ties_reference(base[name].numpy(), [ct[name].numpy(), sft[name].numpy()], [1.0, 1.0],
                                  0.3, 1.0, slack=1.0, protect=[False, True])
        torch.testing.assert_close(merged[name].double(), torch.from_numpy(expected), rtol=1e-5, atol=1e-6)
    for tensor, counts in protect["survival"]["per_tensor"].items():
        # the SFT vote only grows (vs TIES) and the CT vote is never weakened (vs the symmetric form)
        assert counts["sft"] >= ties["survival"]["per_tensor"][tensor]["sft"]
        assert counts["ct"] >= symmetric["survival"]["per_tensor"][tensor]["ct"]
    assert protect["survival"]["overall"]["sft"] > ties["survival"]["overall"]["sft"]


def test_per_model_settings_are_checked_against_the_method_and_the_models(demo):
    recipe = recipe_for(demo, "linear")
    recipe.data["merge"]["models"][0]["density"] = 0.1
    with pytest.raises(RecipeError, match=r"merge.models\[0\].density: method linear has no density"):
        load_section(recipe)
    with pytest.raises(RecipeError, match="merge.parameters.protect: 'stf' is not one of the models"):
        load_section(recipe_for(demo, "ties_sv", parameters={"protect": ["stf"]}))


def test_linear_and_dare(demo, tmp_path):
    linear = Recipe.from_dict({"merge": {"method": "linear", "models": [
        {"path": str(demo["sft"]), "weight": 3.0}, {"path": str(demo["base"]), "weight": 1.0},
    ]}})  # fmt: skip
    run(linear, tmp_path / "lin")
    sft, base = read_tensors(demo["sft"]), read_tensors(demo["base"])
    merged = read_tensors(tmp_path / "lin")
    for name in merged:
        torch.testing.assert_close(merged[name], 0.75 * sft[name] + 0.25 * base[name])

    outputs = {}
    for label, seed in [("a", 3), ("b", 3), ("c", 4)]:
        recipe = recipe_for(demo, "dare", parameters={"density": 0.5})
        recipe.data["seed"] = seed
        run(recipe, tmp_path / label)
        outputs[label] = read_tensors(tmp_path / label)
    name = "model.layers.0.mlp.up_proj.weight"
    assert all(torch.equal(outputs["a"][n], outputs["b"][n]) for n in outputs["a"])
    assert not torch.equal(outputs["a"][name], outputs["c"][name])
    # Each task-vector entry is kept with probability 0.5: both dropped (merged == base) about a quarter of the time.
    untouched = float((outputs["a"][name] == base[name]).float().mean())
    assert 0.15 < untouched < 0.35


def test_tied_embeddings_and_sharded_bf16_output(tmp_path):
    models = build_demo_models(tmp_path / "tied", seed=1, tie_word_embeddings=True)
    report = run(recipe_for(models, "ties", dtype="bfloat16", max_shard_size="20KB"), tmp_path / "out")
    assert report["tie_word_embeddings"] is True and report["n_shards"] > 1
    index = json.loads((tmp_path / "out" / "model.safetensors.index.json").read_text())
    merged = read_tensors(tmp_path / "out")
    assert set(index["weight_map"]) == set(merged) and "lm_head.weight" not in merged
    assert all(t.dtype == torch.bfloat16 for t in merged.values())
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert model.generate(torch.tensor([[1, 5, 9]]), max_new_tokens=3, do_sample=False).shape == (1, 6)


def test_mismatched_models_fail_before_writing(demo, tmp_path):
    other = build_demo_models(tmp_path / "other", seed=2, hidden_size=32, extend_vocab=False)
    bad = recipe_for({"base": demo["base"], "ct": demo["ct"], "sft": other["sft"]}, "ties")
    with pytest.raises(MergeError, match="sft: config hidden_size is 32 but base has 64"):
        run(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tmp").exists()

    # A missing tensor and a wrong shape in an otherwise identical model.
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in demo["sft"].iterdir():
        if f.suffix != ".safetensors":
            (broken / f.name).write_bytes(f.read_bytes())
    tensors = read_tensors(demo["sft"])
    del tensors["model.norm.weight"]
    tensors["model.layers.1.mlp.up_proj.weight"] = tensors["model.layers.1.mlp.up_proj.weight"][
        :, :10
    ].contiguous()
    from safetensors.torch import save_file

    save_file(tensors, str(broken / "model.safetensors"))
    with pytest.raises(MergeError) as err:
        run(recipe_for({"base": demo["base"], "ct": demo["ct"], "sft": broken}, "ties"), tmp_path / "out")
    assert "sft: has no tensor model.norm.weight" in str(err.value)
    assert "model.layers.1.mlp.up_proj.weight: shapes differ" in str(err.value)
    assert not (tmp_path / "out").exists()

    with pytest.raises(MergeError, match="set merge.tokenizer_from: ct"):
        run(recipe_for(demo, "ties", tokenizer_from=None), tmp_path / "out")


def test_cli_reports_recipe_errors_with_exit_code_2(demo, tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "merge:\n  method: ties\n"
        f"  base: {demo['base']}\n  models: [{demo['ct']}, {demo['sft']}]\n"
        "  parameters: {densty: 0.2}\n"
    )
    assert main([str(recipe)]) == 2
    assert "line 5: merge.parameters.densty: unknown key (did you mean 'density'?)" in capsys.readouterr().err
    recipe.write_text("merge:\n  method: tie\n  models: [nowhere/../x]\n")
    assert main([str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "merge.method: unknown method 'tie'" in err and "merge.models[0].path: no such folder" in err
    recipe.write_text(
        f"merge:\n  method: ties\n  base: {demo['base']}\n  models: [{demo['ct']}]\n  trust_remote_code: true\n"
    )
    assert main([str(recipe)]) == 2
    assert "line 5: merge.trust_remote_code: unknown key" in capsys.readouterr().err
    recipe.write_text(
        f"workdir: {tmp_path / 'w'}\nmerge:\n  method: ties\n  base: {demo['base']}\n"
        f"  models: [{demo['ct']}, {demo['sft']}]\n  tokenizer_from: model0\n"
    )
    assert main([str(recipe)]) == 0
    assert (tmp_path / "w" / "merged" / "merge_report.json").is_file()
    assert main([str(recipe)]) == 2
    assert "exists; pass --fresh (or set merge.overwrite: true) to replace it" in capsys.readouterr().err


def test_hub_names_and_devices_fail_clearly_when_unavailable(demo, tmp_path):
    hub = recipe_for(demo, "ties")
    hub.data["merge"]["models"][1]["path"] = "no-such-org/no-such-model"
    with pytest.raises(MergeError, match="sft: cannot fetch no-such-org/no-such-model from the hub"):
        run(hub, tmp_path / "out")
    if not torch.cuda.is_available():
        with pytest.raises(MergeError, match="merge.device is cuda but no CUDA device is available"):
            run(recipe_for(demo, "ties", device="cuda"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_merge_equals_cpu_merge(demo, tmp_path):
    run(recipe_for(demo, "ties_sv"), tmp_path / "cpu")
    run(recipe_for(demo, "ties_sv", device="cuda"), tmp_path / "cuda")
    cpu, cuda = read_tensors(tmp_path / "cpu"), read_tensors(tmp_path / "cuda")
    for name in cpu:
        torch.testing.assert_close(cpu[name], cuda[name], rtol=1e-5, atol=1e-6)
