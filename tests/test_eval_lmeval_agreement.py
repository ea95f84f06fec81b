"""Our C-Eval per-item choices equal lm-evaluation-harness's with the same prompt on the same model
(lm_eval runs from its own venv, bench/.venv-lmeval; see bench/lmeval_agreement.py).

Slow (lm_eval starts its own Python and loads its task registry): `pytest -m slow tests/test_eval_lmeval_agreement.py`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "lmeval_agreement.py"


def _agreement_module():
    spec = importlib.util.spec_from_file_location("lmeval_agreement", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ceval_choices_equal_lm_eval(tmp_path):
    agreement = _agreement_module()
    cli = agreement.find_lm_eval()
    if cli is None:
        pytest.skip("lm_eval not found ($LM_EVAL or bench/.venv-lmeval): see bench/lmeval_agreement.py to install it")
    result = agreement.compare(cli, tmp_path, shots=5)
    assert result["items"] == result["lm_eval_items"] == 20
    assert result["disagreements"] == []
    assert result["same_prompt"] == result["same_choice"] == 20
    assert result["max_abs_logprob_diff"] <= agreement.TOLERANCE
