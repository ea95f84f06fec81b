"""`python -m merge.run RECIPE`: merge a base, a language (CT) and a task (SFT) model into one HF folder.

Streams one tensor at a time: every input is opened lazily, each output tensor is merged from the inputs'
copies of it and written to its shard at once. Everything that can be wrong with the inputs (architecture,
missing tensors, shapes, vocabulary) is checked before anything is written (merge/plan.py). The result goes
to a temporary folder renamed on success; `merge_report.json` in it records the inputs, the method and the
survival diagnostic (docs/merge.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from common.device import DeviceError, pick_device
from common.recipe import Recipe, RecipeError

from .config import MergeSection, load_section
from .engine import Engine
from .io import MergeError, ShardedWriter, parse_size, write_model_files
from .methods import METHODS, MethodSection
from .plan import open_models, plan_merge
from .report import SurvivalTally, merge_report


def merge(
    section: MergeSection,
    params: MethodSection,
    output: Path,
    *,
    seed: int = 0,
    log: Callable[[str], object] = print,
) -> dict:
    """Merge the models `section` names into the HF folder `output`; return the report (also in the folder)."""
    started = time.perf_counter()
    method = METHODS[section.method]
    labels, readers = open_models(section)
    plan = plan_merge(section, readers, labels)
    try:
        device = pick_device(section.device, key="merge.device")
    except DeviceError as err:
        raise MergeError(str(err)) from None
    top_k = section.diagnostics.top_k or method.survival_top_k(params)
    survival = SurvivalTally(plan.model_labels) if section.diagnostics.enabled and plan.has_base else None

    check_output_outside_inputs(output, section)
    if output.exists() and not section.overwrite:
        raise MergeError(f"output {output} exists; remove it or set merge.overwrite: true")
    staging = output.with_name(output.name + ".tmp")
    if staging.exists():  # a leftover of an interrupted run: never a result
        shutil.rmtree(staging)
    try:
        staging.mkdir(parents=True)
        report, n_shards = _write(section, params, plan, method, device, seed, top_k, survival, labels,
                                  staging, started, log)  # fmt: skip
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise MergeError(f"writing {staging} failed: {err.strerror or err}; nothing was written to {output}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if survival is not None:
        log(f"survival of top-{top_k:g} task-vector entries: " + ", ".join(
            f"{label} {value:.3f}" if value is not None else f"{label} n/a"
            for label, value in survival.overall().items()
        ))  # fmt: skip
    log(
        f"wrote {output} ({len(plan.tensors)} tensors, {n_shards} shards) in {report['seconds']:.1f}s"
    )
    return report


def _write(section, params, plan, method, device, seed, top_k, survival, labels, staging, started, log):
    """Merge every tensor into `staging` and write config, tokenizer and report there."""
    writer = ShardedWriter(
        staging, [(p.name, p.shape, p.dtype) for p in plan.tensors], parse_size(section.max_shard_size)
    )
    log(
        f"merge: {section.method} of {', '.join(plan.model_labels)}"
        + (f" onto {labels[0]}" if plan.has_base else "")
    )
    for note in plan.notes:
        log(f"  {note}")
    engine = Engine(
        plan, method, params, [m.weight for m in section.models],
        compute_dtype=getattr(torch, section.compute_dtype), device=device, seed=seed,
        survival_top_k=top_k if survival is not None else None,
    )  # fmt: skip
    with engine:
        for i, tensor_plan in enumerate(plan.tensors):
            merged, counts = engine.tensor(tensor_plan)
            writer.write(tensor_plan.name, merged)
            del merged
            if counts is not None and survival is not None:
                survival.add(tensor_plan.name, counts)
            if (i + 1) % 50 == 0:
                log(f"  {i + 1}/{len(plan.tensors)} tensors")
    writer.close()

    copied = write_model_files(
        staging, plan.output_config(section.dtype), plan.config_reader.folder, plan.tokenizer_reader.folder
    )
    report = merge_report(
        section, params, plan, tokenizer_files=copied, n_shards=len(writer.names), n_bytes=writer.total_bytes,
        seconds=round(time.perf_counter() - started, 3), top_k=top_k, survival=survival,
    )  # fmt: skip
    (staging / "merge_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report, len(writer.names)


def _inside(a: Path, b: Path) -> bool:
    return a == b or b in a.parents


def check_output_outside_inputs(output: Path, section: MergeSection) -> None:
    """Refuse an output folder that is, contains or lies inside an input model's folder."""
    out = Path(output).expanduser().resolve()
    refs = ([section.base] if section.base is not None else []) + list(section.models)
    for ref in refs:
        if ref is None or not ref.is_local:
            continue
        src = Path(ref.path).resolve()
        if _inside(out, src) or _inside(src, out):
            raise MergeError(
                f"output {output} overlaps the input model {ref.path}; choose an output outside every input"
            )


def output_folder(recipe: Recipe, section: MergeSection) -> Path:
    """`merge.output`, relative to the recipe's workdir unless absolute."""
    path = Path(section.output).expanduser()
    return path if path.is_absolute() else recipe.workdir / path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m merge.run", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe YAML with a `merge` section")
    parser.add_argument("--output", help="output folder (default: workdir / merge.output)")
    args = parser.parse_args(argv)
    try:
        recipe = Recipe.load(args.recipe)
        section, params = load_section(recipe)
        output = Path(args.output).resolve() if args.output else output_folder(recipe, section)
        merge(section, params, output, seed=recipe.seed)
    except (RecipeError, MergeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
