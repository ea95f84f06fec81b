"""Who may import whom (docs/architecture.md), checked on the import statements of every module,
including imports inside functions, so a new cross-stage import fails the default test run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "curation", "mixer", "train", "merge", "evaluation", "demo", "realtext")

# package -> the modules of ours it may import (a prefix allows everything below it)
ALLOWED: dict[str, tuple[str, ...]] = {
    "common": ("common",),
    "curation": ("curation", "common"),
    "mixer": ("mixer", "common"),
    "train": ("train", "common", "mixer.manifest"),
    "merge": ("merge", "common.recipe", "common.device", "common.tokenizer", "common.cli"),
    "evaluation": ("evaluation", "common"),
    # the demo runs the stage commands and checks their sections up front; the trainer runs as a subprocess
    "demo": ("demo", "common", "curation", "mixer", "merge", "evaluation"),
    # the labelled real-text set: stdlib only, so every stage's tests may read it
    "realtext": ("realtext", "common"),
}


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) for every import of one of our packages in a file."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
            else:
                names = [node.module or ""]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in PACKAGES]
    return found


def violations(package: str, root: Path = ROOT) -> list[str]:
    """Every import in `root/package` that the rules above do not allow, as `file:line imports module`."""
    rules = ALLOWED[package]
    return [f"{path.relative_to(root)}:{line} imports {module}"
            for path in sorted((root / package).rglob("*.py")) for line, module in imports_of(path, root)
            if not any(module == rule or module.startswith(rule + ".") for rule in rules)]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_it_may(package):
    assert any((ROOT / package).rglob("*.py")), f"{package}/ has no modules"
    wrong = violations(package)
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_train():
    users = [f"{path.relative_to(ROOT)}:{line}" for package in PACKAGES if package != "train"
             for path in sorted((ROOT / package).rglob("*.py")) for line, module in imports_of(path)
             if module.split(".")[0] == "train"]
    assert not users, users


def test_the_checker_finds_a_forbidden_import(tmp_path):
    """The rules are only worth something if a violation is found: plant one (inside a function, and a
    relative one) and look."""
    (tmp_path / "evaluation" / "sub").mkdir(parents=True)
    (tmp_path / "evaluation" / "ok.py").write_text("from common.recipe import Recipe\nfrom evaluation import run\n")
    (tmp_path / "evaluation" / "sub" / "bad.py").write_text("def f():\n    from curation.io import x\nfrom ..sub import y\n")
    (tmp_path / "merge").mkdir()
    (tmp_path / "merge" / "bad.py").write_text("import common.tokens\nfrom common.device import pick_device\n")
    assert violations("evaluation", tmp_path) == ["evaluation/sub/bad.py:2 imports curation.io"]
    assert violations("merge", tmp_path) == ["merge/bad.py:1 imports common.tokens"]
