"""Our linear, task_arithmetic and ties equal mergekit's on tiny models (mergekit runs from its own venv).

Slow (mergekit's CLI starts a fresh Python per method): run with `pytest -m slow tests/test_merge_mergekit.py`.
The TIES paper's definition is checked in the default run by tests/test_merge.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "merge_equivalence.py"


def _equivalence_module():
    spec = importlib.util.spec_from_file_location("merge_equivalence", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_methods_equal_mergekit(tmp_path):
    equivalence = _equivalence_module()
    cli = equivalence.find_mergekit_cli()
    if cli is None:
        pytest.skip(
            "mergekit-yaml not found ($MERGEKIT_YAML, bench/.venv-mergekit or PATH); mergekit is installed in its "
            "own venv so it cannot change the project's pins: see bench/merge_equivalence.py"
        )
    differences = equivalence.compare(cli, tmp_path)
    assert set(differences) == {"linear", "task_arithmetic", "ties"}
    for method, difference in differences.items():
        assert difference <= 1e-5, f"{method}: max |ours - mergekit| = {difference}"
