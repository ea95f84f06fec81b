"""The learning-rate curve (`train.lr_schedule`): its formulas checked against an independent computation,
and the lr the trainer actually used at every step of a run."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_train_fixtures import random_manifest, tiny_recipe, write_shards
from train.lr_schedule import lr_multiplier
from train.run import train


def expected_multiplier(kind: str, step: int, total: int, warmup: int, min_ratio: float) -> float:
    """lr / peak lr written out from the definitions (docs/train.md), independently of train/lr_schedule.py."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - 1 - warmup)
    if kind == "cosine":
        return min_ratio + (1 - min_ratio) * (1 + math.cos(math.pi * progress)) / 2
    return min_ratio + (1 - min_ratio) * (1 - progress)  # linear


@settings(max_examples=50)
@given(kind=st.sampled_from(["cosine", "linear"]), total=st.integers(2, 300), warmup=st.integers(0, 30),
       min_ratio=st.floats(0, 1))
def test_cosine_and_linear_follow_their_formulas_at_every_step(kind, total, warmup, min_ratio):
    warmup = min(warmup, total - 1)
    f = lr_multiplier(kind, total_steps=total, warmup_steps=warmup, min_ratio=min_ratio)
    for step in range(total):
        assert f(step) == pytest.approx(expected_multiplier(kind, step, total, warmup, min_ratio), rel=1e-9, abs=1e-12)


def test_the_trainer_uses_the_cosine_lr_at_every_step(tmp_path):
    """The lr logged for each step (the one the optimizer stepped with) is the cosine curve over all
    manifest steps, with warmup, floor and peak from the recipe."""
    sizes = {"zh": 8, "en": 8}
    write_shards(tmp_path / "work" / "tokens", sizes, seq_len=16)
    manifest = random_manifest(sizes, num_steps=9, global_batch=2)
    train(tiny_recipe(tmp_path, micro_batch_size=2, lr=2e-3, warmup_steps=3, min_lr_ratio=0.25,
                      checkpoint_every=100), manifest=manifest)
    records = [json.loads(line) for line in (tmp_path / "work" / "train_logs" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(9))
    expected = [2e-3 * expected_multiplier("cosine", s, 9, 3, 0.25) for s in range(9)]
    assert [r["lr"] for r in records] == pytest.approx(expected, rel=1e-12)
    assert records[3]["lr"] == pytest.approx(2e-3) and records[-1]["lr"] == pytest.approx(0.25 * 2e-3)


@settings(max_examples=50)
@given(kind=st.sampled_from(["cosine", "linear", "wsd", "constant"]), total=st.integers(2, 500),
       warmup=st.integers(0, 50), min_ratio=st.floats(0, 1))
def test_lr_schedules_warm_up_then_never_rise_and_stay_within_bounds(kind, total, warmup, min_ratio):
    f = lr_multiplier(kind, total_steps=total, warmup_steps=min(warmup, total - 1), min_ratio=min_ratio)
    values = [f(s) for s in range(total)]
    w = min(warmup, total - 1)
    assert all(0 < v <= 1 + 1e-12 for v in values[:w])
    after = values[w:]
    assert all(b <= a + 1e-12 for a, b in zip(after, after[1:], strict=False))
    assert all(min_ratio - 1e-12 <= v <= 1 + 1e-12 for v in after)
    if kind in {"cosine", "linear"} and total - w > 1:
        assert values[-1] == pytest.approx(min_ratio)


def test_wsd_holds_the_peak_until_the_decay_fraction():
    f = lr_multiplier("wsd", total_steps=100, warmup_steps=10, min_ratio=0.0, decay_fraction=0.2)
    assert [f(s) for s in (9, 10, 79)] == [1.0, 1.0, 1.0]
    assert f(90) < 1.0 and f(99) == pytest.approx(0.0)
