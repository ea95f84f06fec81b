"""Mixer: exact per-step counts, reproducible manifests, schedules, epoch limits, shard checks, CLIs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from common.recipe import Recipe
from common.tokens import TokenShardWriter
from mixer import plan as planner
from mixer.allocate import allocate
from mixer.manifest import Manifest, ManifestError, check_shards
from mixer.show import main as show_main
from mixer.units import MixerError

# the raw inputs do not exist: the mixer plans from token shards (or --counts) and reads only names and kinds
SOURCES = [
    {"name": "en_web", "kind": "mono", "language": "en", "input": {"path": "raw/en_web.jsonl"}},
    {"name": "zh_web", "kind": "mono", "language": "zh", "input": {"path": "raw/zh_web.jsonl"}},
    {"name": "para", "kind": "parallel", "input": {"path": "raw/para.tsv"}},
    {"name": "inst", "kind": "instruct", "input": {"path": "raw/inst.jsonl"}},
]
COUNTS = {"en_web": 4000, "zh_web": 3000, "para": 1000, "inst": 500}


def make_recipe(tmp_path: Path, mixture: dict, sources=SOURCES, **extra) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "workdir": "work", "seed": 7, "sources": sources,
                                    "mixture": mixture, **extra}, sort_keys=False))
    return path


def plan(tmp_path: Path, mixture: dict, counts=COUNTS, **kw) -> planner.Plan:
    return planner.plan_from_recipe(Recipe.load(make_recipe(tmp_path, mixture)), counts=counts, **kw)


CHATFLOW = {"global_batch": 8, "total": "300 steps", "schedule": {"kind": "chatflow", "t_grow": "200 steps"}}


# ---------------------------------------------------------------- exactness (property tests)

mixtures = st.lists(st.floats(0, 1), min_size=4, max_size=4).filter(lambda w: sum(w) > 0.05).map(
    lambda w: {name: x / sum(w) for name, x in zip(COUNTS, w, strict=True)}
)


@st.composite
def schedules(draw):
    kind = draw(st.sampled_from(["constant", "linear", "cosine", "exponential", "step", "piecewise", "chatflow"]))
    if kind == "constant":
        return {"kind": kind, "mixture": draw(mixtures)}
    if kind in ("linear", "cosine", "exponential"):
        return {"kind": kind, "start": draw(mixtures), "end": draw(mixtures),
                "horizon": f"{draw(st.integers(0, 60))} steps"}
    if kind == "chatflow":
        return {"kind": kind, "t_grow": f"{draw(st.integers(1, 5000))} samples",
                "curve": draw(st.sampled_from(["linear", "cosine", "exponential"]))}
    ats = sorted(draw(st.lists(st.integers(1, 60), max_size=4)))
    return {"kind": kind, "points": [{"at": f"{a} steps", "mixture": draw(mixtures)} for a in [0, *ats]]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=schedules(), batch=st.integers(1, 37), steps=st.integers(1, 80),
       sizes=st.lists(st.integers(1, 10**6), min_size=4, max_size=4))
def test_cumulative_counts_stay_within_one_sample_of_target(tmp_path, schedule, batch, steps, sizes):
    mixture = {"global_batch": batch, "total": f"{steps} steps", "schedule": schedule, "max_epochs": 1e9}
    result = plan(tmp_path, mixture, counts=dict(zip(COUNTS, sizes, strict=True)))
    counts = result.counts
    assert counts.shape == (steps, 4)
    assert (counts >= 0).all() and (counts.sum(axis=1) == batch).all()  # the global batch is always full
    assert_within_one_sample(counts, result.proportions, batch)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 9), batch=st.integers(1, 64), steps=st.integers(1, 300))
def test_allocate_is_exact_for_arbitrary_proportions(data, n, batch, steps):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    raw = rng.random((steps, n)) ** data.draw(st.sampled_from([1, 4, 12]))
    raw[rng.random((steps, n)) < 0.3] = 0
    raw[raw.sum(axis=1) == 0, 0] = 1
    proportions = raw / raw.sum(axis=1, keepdims=True)
    counts = allocate(proportions, batch)
    assert (counts >= 0).all() and (counts.sum(axis=1) == batch).all()
    assert_within_one_sample(counts, proportions, batch)


def assert_within_one_sample(counts: np.ndarray, proportions: np.ndarray, batch: int) -> None:
    """Every cumulative count is strictly within one sample of its target, and equal to it where the target is
    a whole number (issue 16 (14)). The target is summed exactly (math.fsum), not with a drifting cumsum."""
    target = np.array([[math.fsum(proportions[: k + 1, s]) * batch for s in range(proportions.shape[1])]
                       for k in range(proportions.shape[0])]) if len(proportions) <= 400 else \
        np.cumsum(proportions, axis=0) * batch
    cumulative = np.cumsum(counts, axis=0, dtype=np.int64)
    assert np.abs(cumulative - target).max() < 1
    whole = np.abs(target - np.round(target)) < 1e-9
    assert (cumulative[whole] == np.round(target[whole])).all()


def test_whole_number_targets_are_met_exactly():
    """0.5/0.3/0.2, batch 7, 100 steps: 350/210/140 (was 350/211/139: per-step rounding drifted by 4e-11)."""
    counts = allocate(np.tile([0.5, 0.3, 0.2], (100, 1)), 7)
    assert counts.sum(axis=0).tolist() == [350, 210, 140]
    assert (counts.sum(axis=1) == 7).all()
    cumulative = np.cumsum(counts, axis=0)
    assert cumulative[9].tolist() == [35, 21, 14]  # every 10 steps the targets are whole again
    assert np.abs(cumulative - np.cumsum(np.tile([3.5, 2.1, 1.4], (100, 1)), axis=0)).max() < 1


decimals = st.lists(st.integers(0, 20), min_size=2, max_size=6).filter(lambda w: sum(w) > 0)


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(decimals, min_size=1, max_size=4), lengths=st.lists(st.integers(1, 120), min_size=4,
       max_size=4), batch=st.integers(1, 600))
def test_decimal_proportions_hit_whole_targets_exactly(weights, lengths, batch):
    """Step schedules of decimal proportions (multiples of 1/20 of their sum, as users write them): the targets
    are whole numbers at many steps, and the counts must equal them there, and be within one sample elsewhere."""
    n = max(len(w) for w in weights)
    rows = [np.array(w + [0] * (n - len(w)), dtype=np.float64) for w in weights]
    proportions = np.concatenate([np.tile(r / r.sum(), (length, 1)) for r, length in zip(rows, lengths, strict=False)])
    counts = allocate(proportions, batch)
    assert (counts >= 0).all() and (counts.sum(axis=1) == batch).all()
    assert_within_one_sample(counts, proportions, batch)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=schedules(), batch=st.integers(1, 37), steps=st.integers(5, 80),
       sizes=st.lists(st.integers(1, 400), min_size=4, max_size=4), epochs=st.floats(0.2, 3))
def test_within_one_sample_under_renormalisation(tmp_path, schedule, batch, steps, sizes, epochs):
    """With max_epochs reached and the shares renormalised, the counts track the renormalised target just as
    closely, and never draw more than max_epochs allows."""
    assume(sum(sizes) * epochs > steps * batch + 4)  # the sources together can fill the plan
    mixture = {"global_batch": batch, "total": f"{steps} steps", "schedule": schedule, "max_epochs": epochs,
               "on_exhausted": "renormalize"}
    try:
        result = plan(tmp_path, mixture, counts=dict(zip(COUNTS, sizes, strict=True)))
    except MixerError as err:
        assume("no other source has a share" not in str(err))
        raise
    assert (result.counts.sum(axis=1) == batch).all()
    assert_within_one_sample(result.counts, result.proportions, batch)
    assert (result.counts.sum(axis=0) <= np.floor(np.array(sizes) * epochs)).all()


# ---------------------------------------------------------------- schedules


def test_chatflow_moves_from_english_start_to_chinese_end_then_holds(tmp_path):
    result = plan(tmp_path, CHATFLOW)
    p = pl.DataFrame(result.proportions, schema=result.sources)
    # group weights are split over members by size; here each group has one member
    assert p.row(0, named=True) == pytest.approx({"en_web": 0.7, "zh_web": 0.1, "para": 0.2, "inst": 0.0})
    assert p.row(200, named=True) == pytest.approx({"en_web": 0.1, "zh_web": 0.5, "para": 0.1, "inst": 0.3})
    assert p.row(299, named=True) == p.row(200, named=True)
    assert p.row(100, named=True)["zh_web"] == pytest.approx(0.3)  # cosine: halfway at half of t_grow
    assert [ph["end_step"] for ph in result.plan["phases"]] == [200, 300]


def test_piecewise_and_step_schedules(tmp_path):
    a, b = {"en_web": 1.0}, {"zh_web": 0.5, "para": 0.5}
    points = [{"at": 0, "mixture": a}, {"at": "10 steps", "mixture": b}]
    base = {"global_batch": 4, "total": "20 steps"}
    step = plan(tmp_path, {**base, "schedule": {"kind": "step", "points": points}}).proportions
    assert (step[:10, 0] == 1).all() and (step[10:, 1] == 0.5).all()
    piece = plan(tmp_path, {**base, "schedule": {"kind": "piecewise", "points": points}}).proportions
    assert piece[5, 0] == pytest.approx(0.5) and piece[5, 1] == pytest.approx(0.25)


def test_stages_restart_progress_at_each_stage(tmp_path):
    stage = {"kind": "linear", "start": {"en_web": 1.0}, "end": {"zh_web": 1.0}, "horizon": "4 steps"}
    mixture = {"global_batch": 2, "total": "12 steps", "schedule": {"kind": "stages", "stages": [
        {"length": "6 steps", "schedule": stage}, {"schedule": stage}]}}
    p = plan(tmp_path, mixture).proportions[:, 1]
    assert list(p) == pytest.approx([0, .25, .5, .75, 1, 1, 0, .25, .5, .75, 1, 1])


def test_schedule_override_keeps_mixtures(tmp_path):
    mixture = {"global_batch": 8, "total": "100 steps", "schedule": {
        "kind": "linear", "start": {"en_web": 1.0}, "end": {"zh_web": 1.0}, "horizon": "50 steps"}}
    const = plan(tmp_path, mixture, schedule_name="constant")
    assert const.plan["mixture"]["schedule"]["kind"] == "constant"
    assert (const.counts[:, 0] == 8).all()
    cos = plan(tmp_path, mixture, schedule_name="cosine").proportions
    assert cos[25, 1] == pytest.approx(0.5) and cos[12, 1] < 12 / 50
    with pytest.raises(MixerError, match="unknown schedule"):
        plan(tmp_path, mixture, schedule_name="cosin")
    # chatflow keeps its default mixtures (groups without sources dropped) and changes only its curve
    no_instruct = {k: v for k, v in COUNTS.items() if k != "inst"}
    recipe = Recipe.load(make_recipe(tmp_path, CHATFLOW, sources=SOURCES[:3]))
    linear = planner.plan_from_recipe(recipe, counts=no_instruct, schedule_name="linear")
    assert linear.plan["mixture"]["schedule"]["curve"] == "linear" and linear.proportions[100, 1] == pytest.approx(
        0.1 + (0.5 / 0.7 - 0.1) / 2)
    assert any("groups without sources dropped (instruct)" in note for note in linear.notes)


def test_groups_split_weight_by_size_and_horizon_in_tokens(tmp_path):
    mixture = {"global_batch": 10, "total": "40000 tokens", "seq_len": 100, "groups": {"web": ["en_web", "zh_web"]},
               "schedule": {"kind": "constant", "mixture": {"web": 0.7, "inst": 0.3}}}
    result = plan(tmp_path, mixture)
    assert result.plan["num_steps"] == 40
    assert result.sources == ["en_web", "zh_web", "inst"]  # only the sources the mixture refers to
    assert result.proportions[0] == pytest.approx([0.4, 0.3, 0.3])  # 0.7 split 4000:3000
    assert result.plan["summary"][0]["tokens"] == result.plan["summary"][0]["samples"] * 100


# ---------------------------------------------------------------- rows, epochs, reproducibility


def test_rows_draw_without_replacement_and_reshuffle_each_epoch(tmp_path):
    counts = {"en_web": 37, "zh_web": 23, "para": 11, "inst": 5}
    mixture = {"global_batch": 6, "total": "40 steps", "max_epochs": 100,
               "schedule": {"kind": "constant", "mixture": {"en_web": .4, "zh_web": .3, "para": .2, "inst": .1}}}
    result = plan(tmp_path, mixture, counts=counts)
    manifest = Manifest.open(planner.write_manifest(result, tmp_path / "m"))
    rows = manifest.steps(0, manifest.num_steps)
    assert rows.schema == {"step": pl.Int64, "source": pl.String, "index": pl.Int64, "epoch": pl.Int32}
    assert rows.group_by("step").len()["len"].unique().to_list() == [6]
    for name, n in counts.items():
        mine = rows.filter(pl.col("source") == name)
        assert mine.height == manifest.summary().filter(pl.col("source") == name)["samples"].item()
        for _epoch, group in mine.group_by("epoch", maintain_order=True):
            indices = group["index"].to_list()
            assert len(set(indices)) == len(indices) and all(0 <= i < n for i in indices)
        full = [g.sort("step")["index"].to_list() for (e,), g in mine.group_by("epoch") if g.height == n]
        assert len(full) >= 2 and full[0] != full[1]  # a new permutation each epoch


def test_same_inputs_give_byte_identical_manifest(tmp_path):
    recipe = Recipe.load(make_recipe(tmp_path, CHATFLOW))
    a = planner.write_manifest(planner.plan_from_recipe(recipe, counts=COUNTS), tmp_path / "a")
    b = planner.write_manifest(planner.plan_from_recipe(recipe, counts=COUNTS), tmp_path / "b")
    for name in ("plan.json", "counts.parquet", "schedule.png"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    other = planner.plan_from_recipe(recipe, counts={**COUNTS, "inst": 501})
    assert other.plan["fingerprint"] != json.loads((a / "plan.json").read_text())["fingerprint"]
    ma, mb = Manifest.open(a), Manifest.open(b)
    assert ma.step(123).equals(mb.step(123))


def test_max_epochs_exceeded_fails_naming_source_step_and_excess(tmp_path):
    mixture = {**CHATFLOW, "max_epochs": {"default": 4, "inst": 0.5}}
    with pytest.raises(MixerError, match=r"source 'inst' runs out at step \d+: .* over by [\d,]+ samples"):
        plan(tmp_path, mixture)


def test_renormalize_caps_a_source_and_reports_it(tmp_path):
    mixture = {**CHATFLOW, "max_epochs": {"default": 4, "inst": 0.5}, "on_exhausted": "renormalize"}
    result = plan(tmp_path, mixture)
    inst = next(row for row in result.plan["summary"] if row["source"] == "inst")
    assert inst["samples"] <= 250 and inst["epochs"] <= 0.5
    assert any("inst: max_epochs reached at step" in note for note in result.plan["notes"])
    assert (result.counts.sum(axis=1) == 8).all()
    assert "note: inst: max_epochs reached" in planner.format_summary(result.plan)


# ---------------------------------------------------------------- shards and fingerprints


def write_shard(path: Path, n_docs: int, seed: int, tokenizer: str = "tok") -> None:
    rng = np.random.default_rng(seed)
    writer = TokenShardWriter(path, seq_len=8, vocab_size=50, eos_id=1, pad_id=0, tokenizer_fingerprint=tokenizer)
    for _ in range(n_docs):
        writer.add(rng.integers(2, 50, size=rng.integers(3, 12)))
    writer.close()


def test_plan_from_shards_and_check_shards_refuses_changed_shards(tmp_path):
    tokens = tmp_path / "work" / "tokens"
    for i, name in enumerate(COUNTS):
        write_shard(tokens / name, 30, i)
    recipe = Recipe.load(make_recipe(tmp_path, {**CHATFLOW, "total": "20 steps", "max_epochs": 50}))
    result = planner.plan_from_recipe(recipe)
    assert result.plan["seq_len"] == 8 and all(s["shard_fingerprint"] for s in result.plan["sources"])
    manifest = Manifest.open(planner.write_manifest(result, tmp_path / "m"))
    check_shards(manifest, tokens)  # the shards it was planned from: accepted
    write_shard(tokens / "zh_web", 30, 99)
    with pytest.raises(ManifestError, match="zh_web: shard fingerprint"):
        check_shards(manifest, tokens)
    what_if = planner.plan_from_recipe(recipe, counts=COUNTS)
    with pytest.raises(ManifestError, match="what-if"):
        check_shards(Manifest.open(planner.write_manifest(what_if, tmp_path / "w")), tokens)


def test_sources_tokenized_with_different_tokenizers_are_not_mixed(tmp_path):
    tokens = tmp_path / "work" / "tokens"
    for i, name in enumerate(COUNTS):
        write_shard(tokens / name, 30, i, tokenizer="extended" if name == "zh_web" else "base")
    recipe = Recipe.load(make_recipe(tmp_path, {**CHATFLOW, "total": "20 steps", "max_epochs": 50}))
    with pytest.raises(MixerError, match=r"different tokenizers: .*zh_web=extended.*--force tokenize"):
        planner.plan_from_recipe(recipe)


def test_missing_counts_say_how_to_get_them(tmp_path):
    with pytest.raises(MixerError, match="tokenize first .* --counts"):
        plan(tmp_path, CHATFLOW, counts={"en_web": 10})


# ---------------------------------------------------------------- recipe errors and CLIs


@pytest.mark.parametrize(("mixture", "message"), [
    ({**CHATFLOW, "global_bach": 8}, r"line \d+: mixture.global_bach: unknown key \(did you mean 'global_batch'\?\)"),
    ({**CHATFLOW, "schedule": {"kind": "constant", "mixture": {"zh_wbe": 1.0}}},
     r"line \d+: mixture.schedule.mixture.zh_wbe: unknown source or group \(did you mean 'zh_web'\?\)"),
    ({**CHATFLOW, "schedule": {"kind": "constant", "mixture": {"zh_web": 0.5, "en_web": 0.4}}},
     r"mixture.schedule.mixture: proportions sum to 0.9, not 1"),
    ({**CHATFLOW, "schedule": {"kind": "constant", "mixture": {"zh_web": -0.5}}},
     r"mixture.schedule.constant.mixture.zh_web|mixture.schedule.mixture.zh_web"),
    ({**CHATFLOW, "total": "10 epochs"}, r"mixture.total: .*expected an amount"),
    ({**CHATFLOW, "max_epochs": {"zh_webb": 2}}, r"line \d+: mixture.max_epochs.zh_webb: 'zh_webb' is not a planned source"),
])
def test_bad_mixture_sections_exit_2_with_the_yaml_path(tmp_path, capsys, mixture, message):
    path = make_recipe(tmp_path, mixture)
    assert planner.main([str(path), "--counts", "en_web=10,zh_web=10,para=10,inst=10", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert __import__("re").search(message, err), err


def test_normalize_divides_by_the_sum(tmp_path):
    mixture = {**CHATFLOW, "normalize": True, "schedule": {"kind": "constant", "mixture": {"zh_web": 3, "en_web": 1}}}
    assert plan(tmp_path, mixture).proportions[0, :2] == pytest.approx([0.25, 0.75])


def test_cli_plan_dry_run_write_and_show(tmp_path, capsys):
    path = make_recipe(tmp_path, CHATFLOW)
    counts = "en_web=4000,zh_web=3k,para=1000,inst=500"
    assert planner.main([str(path), "--counts", counts, "--dry-run", "--schedule", "linear"]) == 0
    out = capsys.readouterr().out
    assert "300 steps x 8 sequences" in out and "grow steps 0-199; hold steps 200-299" in out
    assert not (tmp_path / "work").exists()
    assert planner.main([str(path), "--counts", counts]) == 0
    manifest_dir = tmp_path / "work" / "manifest"
    assert {p.name for p in manifest_dir.iterdir()} == {"plan.json", "counts.parquet", "schedule.png"}
    capsys.readouterr()
    assert show_main([str(manifest_dir), "--steps", "100:103"]) == 0
    out = capsys.readouterr().out
    assert "shape: (24, 4)" in out and "zh_web" in out
    assert show_main([str(manifest_dir), "--steps", "299:400"]) == 2
    assert planner.main([str(path), "--counts", "en_web=lots"]) == 2


def test_demo_recipe_mixture_section_is_valid():
    from mixer.config import MixtureSection

    demo = Recipe.load(Path(__file__).resolve().parents[1] / "recipes" / "demo.yaml")
    section = demo.section("mixture", MixtureSection)
    assert section.schedule.kind == "chatflow" and section.global_batch > 0


@pytest.mark.slow  # imports torch and the trainer (~10-20 s on the shared CPU)
def test_trainer_reads_a_planned_manifest(tmp_path):
    """The contract with train/: open_manifest + ShardSet read exactly the planned rows."""
    from train.manifest_batches import ShardSet
    from train.recipe_sections import TrainError
    from train.run import open_manifest

    tokens = tmp_path / "work" / "tokens"
    for i, name in enumerate(COUNTS):
        write_shard(tokens / name, 20, i)
    recipe = Recipe.load(make_recipe(tmp_path, {**CHATFLOW, "total": "6 steps", "max_epochs": 50}))
    manifest_dir = planner.write_manifest(planner.plan_from_recipe(recipe), tmp_path / "m")
    manifest = open_manifest(manifest_dir, tokens)
    shards = ShardSet(tokens, manifest.sources)
    rows = manifest.step(5)
    batch = shards.micro_batch(rows["source"].to_list(), rows["index"].to_list(), flatten=False)
    assert tuple(batch.input_ids.shape) == (8, 8)
    write_shard(tokens / "para", 21, 5)
    with pytest.raises(TrainError, match="para: shard"):
        open_manifest(manifest_dir, tokens)
