"""Schedule kinds as registered classes: every kind plans, phases and converts with --schedule; an unknown
kind or key is one recipe line; a new kind is one class (registered here, planned end to end)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
import yaml

from common.recipe import RecipeError
from mixer.plan import main as plan_main
from mixer.schedules import KINDS, MixtureRef, Schedule, register
from mixer.units import Mixture
from tests.test_mixer import COUNTS, make_recipe, plan

BASE = {"global_batch": 10, "total": "20 steps"}
MIXTURES = [{"en": 1.0}, {"en": 0.5, "zh": 0.5}, {"zh": 0.5, "instruct": 0.5}]
SCHEDULES = {
    "constant": {"kind": "constant", "mixture": MIXTURES[0]},
    "linear": {"kind": "linear", "start": MIXTURES[0], "end": MIXTURES[2], "horizon": "10 steps"},
    "cosine": {"kind": "cosine", "start": MIXTURES[0], "end": MIXTURES[2], "horizon": "10 steps"},
    "exponential": {"kind": "exponential", "start": MIXTURES[0], "end": MIXTURES[2], "horizon": "10 steps"},
    "step": {"kind": "step", "points": [{"at": 0, "mixture": MIXTURES[0]}, {"at": "10 steps", "mixture": MIXTURES[2]}]},
    "piecewise": {"kind": "piecewise", "points": [{"at": 0, "mixture": MIXTURES[0]},
                                                  {"at": "10 steps", "mixture": MIXTURES[2]}]},
    "stages": {"kind": "stages", "stages": [
        {"length": "5 steps", "schedule": {"kind": "constant", "mixture": MIXTURES[0]}},
        {"schedule": {"kind": "linear", "start": MIXTURES[1], "end": MIXTURES[2], "horizon": "10 steps"}}]},
    "chatflow": {"kind": "chatflow", "t_grow": "10 steps", "curve": "linear"},
}
GROUPS = {"en": ["en_web"], "zh": ["zh_web"], "parallel": ["para"], "instruct": ["inst"]}


def vector(result, mixture: dict) -> np.ndarray:
    """A mixture of groups (one source per group here) as proportions over the plan's sources, in its order."""
    out = np.zeros(len(result.sources))
    for group, weight in mixture.items():
        if weight:
            out[result.sources.index(GROUPS[group][0])] = weight
    return out / out.sum()


def test_every_registered_kind_is_covered_here():
    assert set(KINDS) == set(SCHEDULES)


@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_every_kind_plans_starts_and_ends_where_it_says(tmp_path, kind):
    result = plan(tmp_path, {**BASE, "schedule": SCHEDULES[kind]})
    first, last = result.proportions[0], result.proportions[-1]
    expected_first = {"chatflow": {"en": 0.7, "parallel": 0.2, "zh": 0.1}, "stages": MIXTURES[0]}.get(kind, MIXTURES[0])
    expected_last = {"constant": MIXTURES[0], "chatflow": {"en": 0.1, "parallel": 0.1, "zh": 0.5, "instruct": 0.3}}
    assert first == pytest.approx(vector(result, expected_first))
    assert last == pytest.approx(vector(result, expected_last.get(kind, MIXTURES[2])))  # every kind holds its end
    assert result.counts.sum(axis=1).tolist() == [10] * 20
    phases = result.plan["phases"]
    assert phases[-1]["end_step"] == 20 and [p["end_step"] for p in phases] == sorted(p["end_step"] for p in phases)


def test_phases_of_each_kind(tmp_path):
    def phases(kind):
        return [(p["phase"], p["end_step"]) for p in plan(tmp_path, {**BASE, "schedule": SCHEDULES[kind]}).plan["phases"]]

    assert phases("constant") == [("constant", 20)]
    assert phases("cosine") == [("cosine", 10), ("hold", 20)]
    assert phases("step") == [("step 0", 10), ("step 1", 20)]
    assert phases("chatflow") == [("grow", 10), ("hold", 20)]
    assert phases("stages") == [("stage 0: constant", 5), ("stage 1: linear", 15), ("stage 1: hold", 20)]


def test_cosine_follows_its_curve_between_start_and_end(tmp_path):
    result = plan(tmp_path, {**BASE, "schedule": SCHEDULES["cosine"]})
    for step in range(11):
        s = (1 - np.cos(np.pi * min(step / 10, 1))) / 2
        expected = vector(result, MIXTURES[0]) * (1 - s) + vector(result, MIXTURES[2]) * s
        assert result.proportions[step] == pytest.approx(expected)


@pytest.mark.parametrize("target", ["constant", "linear", "cosine", "exponential", "step", "chatflow"])
def test_schedule_override_keeps_the_mixtures(tmp_path, target):
    """--schedule on a piecewise recipe: every other kind starts from its first mixture and (but constant)
    ends at its last."""
    result = plan(tmp_path, {**BASE, "schedule": SCHEDULES["piecewise"]}, schedule_name=target)
    assert result.plan["mixture"]["schedule"]["kind"] == target
    assert result.proportions[0] == pytest.approx(vector(result, MIXTURES[0]))
    if target != "constant":
        assert result.proportions[-1] == pytest.approx(vector(result, MIXTURES[2]))


def test_a_curve_name_keeps_chatflow_and_stages_cannot_be_converted(tmp_path):
    result = plan(tmp_path, {**BASE, "schedule": SCHEDULES["chatflow"]}, schedule_name="cosine")
    assert result.plan["mixture"]["schedule"]["kind"] == "chatflow"
    assert result.plan["mixture"]["schedule"]["curve"] == "cosine"
    with pytest.raises(Exception, match="cannot convert to or from 'stages'"):
        plan(tmp_path, {**BASE, "schedule": SCHEDULES["stages"]}, schedule_name="cosine")
    with pytest.raises(Exception, match="unknown schedule 'cosin'; choose from constant, linear"):
        plan(tmp_path, {**BASE, "schedule": SCHEDULES["cosine"]}, schedule_name="cosin")


def test_unknown_kind_is_one_line_naming_the_yaml_line_and_the_known_kinds(tmp_path, capsys):
    path = make_recipe(tmp_path, {**BASE, "schedule": {"kind": "cosin", "start": MIXTURES[0]}})
    assert plan_main([str(path), "--counts", ",".join(f"{k}={v}" for k, v in COUNTS.items())]) == 2
    err = capsys.readouterr().err.strip()
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "cosin" in text) - 1  # `schedule:`
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert (f"line {line}: mixture.schedule: unknown schedule kind 'cosin' (did you mean 'cosine'?); "
            "known: constant, linear, cosine") in err


def test_unknown_key_inside_a_kind_suggests_the_kind_s_own_key(tmp_path, capsys):
    schedule = {"kind": "cosine", "start": MIXTURES[0], "end": MIXTURES[2], "horizn": "10 steps"}
    path = make_recipe(tmp_path, {**BASE, "schedule": schedule})
    assert plan_main([str(path), "--counts", ",".join(f"{k}={v}" for k, v in COUNTS.items())]) == 2
    err = capsys.readouterr().err
    assert "mixture.schedule.horizn: unknown key (did you mean 'horizon'?)" in err
    assert "mixture.schedule.horizon: required key is missing" in err


@pytest.fixture
def alternating():
    """A new kind, as a user would add it: one class, registered. Removed again after the test."""

    @register
    class AlternatingSchedule(Schedule):
        """Alternate between two mixtures every `every` optimizer steps."""

        kind: Literal["alternating"]
        first: Mixture
        second: Mixture
        every: int = 1

        def proportions(self, t, ctx, loc):
            step = (np.asarray(t) // ctx.global_batch).astype(int)
            a, b = ctx.vector(self.first, (*loc, "first")), ctx.vector(self.second, (*loc, "second"))
            return np.where(((step // self.every) % 2 == 0)[:, None], a[None, :], b[None, :])

        def phases(self, ctx, offset=0.0, prefix=""):
            return [(prefix + "alternating", np.inf)]

        def mixtures(self, loc) -> list[MixtureRef]:
            return [((*loc, "first"), self.first, False), ((*loc, "second"), self.second, False)]

    yield AlternatingSchedule
    del KINDS["alternating"]


def test_a_new_kind_is_one_registered_class(tmp_path, alternating):
    schedule = {"kind": "alternating", "first": {"en": 1.0}, "second": {"zh": 1.0}, "every": 2}
    result = plan(tmp_path, {**BASE, "schedule": schedule})
    en, zh = result.counts[:, 0], result.counts[:, 1]
    assert en.tolist() == [10, 10, 0, 0] * 5 and zh.tolist() == [0, 0, 10, 10] * 5
    assert result.plan["mixture"]["schedule"] == {**schedule}
    assert [(p["phase"], p["end_step"]) for p in result.plan["phases"]] == [("alternating", 20)]
    # its mixtures are checked against the recipe's sources like any kind's
    with pytest.raises(RecipeError, match=r"mixture\.schedule\.second\.zh_wbe: unknown source or group"):
        plan(tmp_path, {**BASE, "schedule": {**schedule, "second": {"zh_wbe": 1.0}}})
    # and nested in stages
    nested = {"kind": "stages", "stages": [{"length": "4 steps", "schedule": schedule},
                                          {"schedule": {"kind": "constant", "mixture": {"en": 1.0}}}]}
    assert plan(tmp_path, {**BASE, "schedule": nested}).counts[:4, 0].tolist() == [10, 10, 0, 0]


def test_the_recipe_yaml_round_trips_through_plan_json(tmp_path):
    """plan.json records the schedule with its kind's fields (a base-class dump would keep only `kind`)."""
    result = plan(tmp_path, {**BASE, "schedule": SCHEDULES["stages"]})
    dumped = result.plan["mixture"]["schedule"]
    assert dumped["stages"][1]["schedule"]["start"] == MIXTURES[1]
    assert yaml.safe_load(yaml.safe_dump(dumped)) == dumped


def test_a_kind_without_its_methods_cannot_be_registered():
    class Incomplete(Schedule):
        kind: Literal["incomplete"]

        def phases(self, ctx, offset=0.0, prefix=""):
            return [(prefix + "incomplete", np.inf)]

    with pytest.raises(TypeError, match="Incomplete must define mixtures, proportions"):
        register(Incomplete)
    assert "incomplete" not in KINDS
