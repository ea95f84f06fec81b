"""bench/repro.py `seeds`: the across-seed summary a user reads in docs/experiments.md."""

import importlib.util
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def load_repro():
    spec = importlib.util.spec_from_file_location("repro", REPO / "bench" / "repro.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metrics(zh, instruct, en):
    return {key: {"bits_per_char": v, "loss": v} for key, v in (("zh", zh), ("instruct", instruct), ("en", en))}


def write_run(out: Path, seed: int, shift: float) -> Path:
    (out / "recipes").mkdir(parents=True)
    (out / "recipes" / "base.yaml").write_text(yaml.safe_dump({"seed": seed}))
    exp1 = {arm: {"curve": {"0": metrics(20, 7, 1), "80": metrics(8 + d + shift, 3 + d, 1 + d)}}
            for arm, d in (("chatflow", 0.0), ("fixed", 0.5))}
    (out / "exp1_results.json").write_text(json.dumps(exp1))
    models = {"base": metrics(20, 7, 1), "ct10+sft": metrics(9 + shift, 3.5, 1.2),
              "ties(ct10)": metrics(10 + shift, 4.0, 1.2), "ties_sv(ct10)": metrics(10 + shift, 4.25, 1.2)}
    (out / "exp2_results.json").write_text(json.dumps({"models": models, "survival": {}}))
    return out


def test_seeds_reports_every_seed_mean_spread_and_paired_differences(tmp_path):
    outs = [write_run(tmp_path / "a", 1234, 0.0), write_run(tmp_path / "b", 2, 1.0)]
    text = load_repro().across_seeds(outs)
    lines = text.splitlines()
    # final step only (80, not 0), per seed in the order given, then mean ± sample sd
    chatflow = next(line for line in lines if line.startswith("| chatflow |"))
    assert "8.000 / 9.000 | 8.500 ± 0.707" in chatflow
    # paired difference is computed per seed, so the seed-to-seed shift cancels
    fixed = next(line for line in lines if line.startswith("| fixed − chatflow |"))
    assert fixed.split(" | ")[1:3] == ["+0.500 / +0.500", "+0.500"]
    merge = next(line for line in lines if line.startswith("| ties(ct10) − ct10+sft |"))
    assert merge.split(" | ")[1:5] == ["+1.000 / +1.000", "+1.000", "+0.500 / +0.500", "+0.500"]
    slack = next(line for line in lines if line.startswith("| ties_sv(ct10) − ties(ct10) |"))
    assert slack.split(" | ")[3:5] == ["+0.250 / +0.250", "+0.250"]
