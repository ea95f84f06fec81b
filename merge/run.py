"""`python -m merge.run RECIPE`: merge a base, a language (CT) and a task (SFT) model into one HF folder.

Streams one tensor at a time: every input is opened lazily, each output tensor is merged from the inputs'
copies of it and written to its shard at once. Everything that can be wrong with the inputs (architecture,
missing tensors, shapes, vocabulary) is checked before anything is written (merge/plan.py). The result goes
to a temporary folder renamed on success; `merge_report.json` in it records the inputs, the method and the
survival diagnostic (docs/merge.md). RECIPE may also be a mergekit config (`merge_method: ...`), translated
into a `merge` section (merge/mergekit.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from common.cli import DEFAULT_RECIPE, add_common, quiet_libraries, run_main, verbosity

# torch, safetensors and pydantic are imported when a merge runs, not for --help (common/cli.py)
if TYPE_CHECKING:
    from common.recipe import Recipe

    from .config import MergeSection
    from .methods import MethodSection

DEMO_MERGE_RECIPE = DEFAULT_RECIPE.parent / "merge_demo.yaml"


def merge(
    section: MergeSection,
    params: MethodSection,
    output: Path,
    *,
    seed: int = 0,
    log: Callable[[str], object] = print,
) -> dict:
    """Merge the models `section` names into the HF folder `output`; return the report (also in the folder)."""
    from common.device import DeviceError, pick_device

    from .io import MergeError
    from .methods import METHODS
    from .plan import open_models, plan_merge
    from .report import SurvivalTally

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
        raise MergeError(f"output {output} exists; pass --fresh (or set merge.overwrite: true) to replace it")
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
    import torch

    from .engine import Engine
    from .io import ShardedWriter, parse_size, write_model_files
    from .report import merge_report

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
        densities=[m.density for m in section.models],
        slack_models=_slack_models(section, params),
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


def _slack_models(section, params) -> list[bool] | None:
    """ties_sv's `protect`: which of the merged models' votes the slack rescales (None: all of them)."""
    protect = getattr(params, "protect", None)
    if not protect:
        return None
    names = section.labels()[1 if section.base is not None else 0:]
    return [name in protect for name in names]


def _inside(a: Path, b: Path) -> bool:
    return a == b or b in a.parents


def check_output_outside_inputs(output: Path, section: MergeSection) -> None:
    """Refuse an output folder that is, contains or lies inside an input model's folder."""
    from .io import MergeError

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zh-merge" if Path(sys.argv[0]).name == "zh-merge" else "python -m merge.run",
        description=__doc__.splitlines()[0].split(": ", 1)[1][0].upper() + __doc__.splitlines()[0].split(": ", 1)[1][1:],
        epilog="RECIPE is a recipe with a `merge` section (recipes/merge_demo.yaml) or a mergekit config "
        "(then --output is needed, as mergekit-yaml's second argument). See docs/merge.md.",
    )
    add_common(
        parser,
        output="output folder (default: workdir / merge.output; required for a mergekit config)",
        fresh="replace the output folder if it exists (as merge.overwrite: true)",
        dry_run="print the plan (models, tensors, method, parameters, output size) and the checks that would "
        "refuse it; write nothing",
    )
    parser.add_argument("--mergekit", metavar="FILE", help="a mergekit config to translate (instead of RECIPE)")
    return parser


def load_inputs(args: argparse.Namespace) -> tuple[Recipe, MergeSection, MethodSection, Path]:
    """The recipe (ours, or a mergekit config translated), its checked `merge` section and the output folder."""
    from common.recipe import Recipe, RecipeError

    from . import mergekit
    from .config import load_section
    from .io import MergeError

    path = Path(args.mergekit or args.recipe)
    kit = mergekit.load(path) if path.is_file() else None
    if args.mergekit and kit is None and path.is_file():
        raise MergeError(f"{path}: not a mergekit config (it has no merge_method)")
    if kit is not None:
        if not args.output:
            raise MergeError(f"{path} is a mergekit config: name the output folder with --output DIR "
                             "(mergekit-yaml's second argument)")
        recipe = Recipe.from_dict(mergekit.translate(kit, path), root=path.resolve().parent)
    else:
        recipe = Recipe.load(path)
        if not recipe.has("merge"):
            demo = f" (python -m demo merges with the recipe it writes to {recipe.workdir / 'merge' / 'merge.yaml'})" \
                if path.resolve() == DEFAULT_RECIPE else ""
            raise RecipeError([f"no `merge` section{demo}; for a standalone merge try {_shown(DEMO_MERGE_RECIPE)} "
                               "(after python -m merge.demo_models work/merge_demo_models)"], recipe.path)
    if args.workdir:
        recipe.data["workdir"] = str(Path(args.workdir).expanduser().resolve())
    section, params = load_section(recipe)
    if args.fresh:
        section.overwrite = True
    output = Path(args.output).expanduser().resolve() if args.output else output_folder(recipe, section)
    return recipe, section, params, output


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def dry_run(section: MergeSection, params: MethodSection, output: Path, log: Callable[[str], object] = print) -> int:
    """Print what a merge would read, compute and write, and every check that would refuse it; write nothing.
    Exit code 0 when the merge would run, 2 when a check would refuse it."""
    import torch

    from .io import parse_size
    from .methods import METHODS
    from .plan import open_models, plan_merge

    method = METHODS[section.method]
    refs = ([section.base] if section.base is not None else []) + list(section.models)
    labels = section.labels()
    log(f"merge (dry run): {section.method} {params.model_dump(by_alias=True)}")
    for label, ref in zip(labels, refs, strict=True):
        role = "base" if ref is section.base else f"weight {ref.weight:g}"
        log(f"  {label}: {ref.path} ({role}{'' if ref.is_local else '; hub model, not fetched in a dry run'})")
    refusals = _output_refusals(section, output)
    if not all(ref.is_local for ref in refs):
        log("  tensors, vocabulary and output size: unknown until the hub models are fetched (a real run "
            "fetches them first and checks them before writing)")
        return _refusals(refusals, log)
    _, readers = open_models(section)
    plan = plan_merge(section, readers, labels)  # mismatches raise here, as in a real merge
    merged = sum(1 for t in plan.tensors if t.merge)
    n_bytes = sum(_numel(t.shape) * _itemsize(t.dtype, torch) for t in plan.tensors)
    shard = parse_size(section.max_shard_size)
    log(f"  tensors: {len(plan.tensors)} ({merged} merged, {len(plan.tensors) - merged} copied); "
        f"compute {section.compute_dtype} on {section.device}; method on "
        f"{'task vectors' if method.on_task_vectors else 'weights'}")
    log(f"  config from {plan.config_reader.label}, tokenizer from {plan.tokenizer_reader.label}"
        + (f", vocabulary {plan.output_vocab}" if plan.output_vocab else ""))
    for note in plan.notes:
        log(f"  {note}")
    log(f"  output: {output} (about {_human(n_bytes)} in {max(1, -(-n_bytes // shard))} shard(s) of at most "
        f"{section.max_shard_size}; written to {output.name}.tmp/ and renamed)")
    free = shutil.disk_usage(_existing_parent(output)).free
    if free < n_bytes:
        refusals.append(f"{_existing_parent(output)} has {_human(free)} free, the output needs about {_human(n_bytes)}")
    return _refusals(refusals, log)


def _output_refusals(section: MergeSection, output: Path) -> list[str]:
    """What a real run would refuse about the output folder and the device."""
    from common.device import DeviceError, pick_device

    from .io import MergeError

    refusals = []
    try:
        check_output_outside_inputs(output, section)
    except MergeError as err:
        refusals.append(str(err))
    if output.exists() and not section.overwrite:
        refusals.append(f"output {output} exists; pass --fresh (or set merge.overwrite: true) to replace it")
    try:
        pick_device(section.device, key="merge.device")
    except DeviceError as err:
        refusals.append(str(err))
    return refusals


def _refusals(refusals: list[str], log: Callable[[str], object]) -> int:
    for refusal in refusals:
        log(f"would refuse: {refusal}")
    log("nothing written (dry run)" + ("" if not refusals else f"; {len(refusals)} check(s) would refuse"))
    return 2 if refusals else 0


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for dim in shape:
        n *= dim
    return n


def _itemsize(dtype, torch) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = verbosity(args)
    quiet_libraries(level)
    from common.recipe import RecipeError

    from .io import MergeError
    from .mergekit import MergekitConfigError

    output_seen: list[Path] = []

    def interrupted() -> str:
        where = f" to {output_seen[0]}" if output_seen else ""
        return f"during the merge (nothing was written{where}; the partial .tmp folder was removed)"

    def run() -> int:
        recipe, section, params, output = load_inputs(args)
        output_seen.append(output)
        log = print if level >= 0 else (lambda *_: None)
        if args.dry_run:
            return dry_run(section, params, output, log=print)
        merge(section, params, output, seed=recipe.seed, log=log)
        if level < 0:
            print(f"wrote {output}")
        return 0

    return run_main(run, prog="merge.run", user_errors=(RecipeError, MergeError, MergekitConfigError),
                    interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
