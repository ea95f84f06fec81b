"""Check that our `linear`, `task_arithmetic` and `ties` equal mergekit's methods of the same names.

Runs in the project's environment and calls mergekit's CLI from its own virtual environment, so mergekit's
dependencies never touch the project's pins:

    python -m venv bench/.venv-mergekit && bench/.venv-mergekit/bin/pip install torch==2.13.0 mergekit
    python bench/merge_equivalence.py [--mergekit-yaml PATH]

Prints, per method, the largest absolute difference over all tensors (fp32 inputs and compute).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.recipe import Recipe  # noqa: E402
from merge.config import load_section  # noqa: E402
from merge.demo_models import build_demo_models  # noqa: E402
from merge.run import merge  # noqa: E402

DEFAULT_CLI = Path(__file__).resolve().parent / ".venv-mergekit" / "bin" / "mergekit-yaml"
CASES = {
    "linear": {"weights": [0.7, 0.3], "parameters": {}},
    "task_arithmetic": {"weights": [1.0, 0.5], "parameters": {"lambda": 0.8}},
    "ties": {"weights": [1.0, 0.6], "parameters": {"lambda": 0.9}, "density": 0.3},
}


def find_mergekit_cli(explicit: str | None = None) -> Path | None:
    """mergekit-yaml from --mergekit-yaml, $MERGEKIT_YAML, bench/.venv-mergekit or PATH; None if absent."""
    for candidate in (
        explicit,
        os.environ.get("MERGEKIT_YAML"),
        str(DEFAULT_CLI),
        shutil.which("mergekit-yaml"),
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    out = {}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            out.update({name: handle.get_tensor(name) for name in handle.keys()})
    return out


def compare(cli: Path, workdir: Path) -> dict[str, float]:
    """Merge the demo models with both tools for every case; return the max |difference| per method."""
    models = build_demo_models(workdir / "models", seed=0, extend_vocab=False)
    results = {}
    for method, case in CASES.items():
        density = case.get("density")
        inputs = [("ct", models["ct"]), ("sft", models["sft"])]
        if method == "linear":  # mergekit's linear has no base: it averages the listed models
            inputs = [("sft", models["sft"]), ("base", models["base"])]
        mk_models = []
        for (_, path), weight in zip(inputs, case["weights"], strict=True):
            params = {"weight": weight} | ({"density": density} if density else {})
            mk_models.append({"model": str(path), "parameters": params})
        config = {"merge_method": method, "models": mk_models, "dtype": "float32", "out_dtype": "float32"}
        if method != "linear":
            config["base_model"] = str(models["base"])
        if case["parameters"]:
            config["parameters"] = case["parameters"]
        config_path = workdir / f"{method}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        mk_out = workdir / f"mergekit-{method}"
        subprocess.run([str(cli), str(config_path), str(mk_out)], check=True, capture_output=True, text=True)

        section = {
            "method": method,
            "models": [
                {"name": n, "path": str(p), "weight": w}
                for (n, p), w in zip(inputs, case["weights"], strict=True)
            ],
            "parameters": dict(case["parameters"]) | ({"density": density} if density else {}),
            "dtype": "float32",
        }
        if method != "linear":
            section["base"] = {"name": "base", "path": str(models["base"])}
        recipe = Recipe.from_dict({"merge": section})
        merge_section, params = load_section(recipe)
        ours_out = workdir / f"ours-{method}"
        merge(merge_section, params, ours_out, log=lambda *_: None)

        ours, theirs = _tensors(ours_out), _tensors(mk_out)
        if set(ours) != set(theirs):
            raise AssertionError(f"{method}: tensor names differ: {sorted(set(ours) ^ set(theirs))}")
        results[method] = max(float((ours[n] - theirs[n]).abs().max()) for n in ours)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mergekit-yaml", help="path to mergekit's mergekit-yaml")
    args = parser.parse_args()
    cli = find_mergekit_cli(args.mergekit_yaml)
    if cli is None:
        print(
            "mergekit-yaml not found; install it in bench/.venv-mergekit (see this file's docstring)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        results = compare(cli, Path(tmp))
    for method, diff in results.items():
        print(f"{method:16s} max |ours - mergekit| = {diff:.3e}")
    return 0 if all(d <= 1e-5 for d in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
