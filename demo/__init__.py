"""`python -m demo [RECIPE]`: the whole pipeline on the bundled demo, offline, on CPU.

Belongs to no stage: it runs each stage's own command, in order, on one recipe (default
`recipes/demo.yaml`), and imports no trainer code (the trainer runs in its own process):

1. `curation.run`  filter, dedup, decontaminate, publish, extend the tokenizer, tokenize
2. `mixer.plan --schedule chatflow`  the per-step manifest
3. `python -m train.run`  a tiny LLaMA from `model.config` (a subprocess: Accelerate keeps process-wide state)
4. `evaluation.run`  held-out perplexity per language and the bundled benchmark samples
5. merge: two models branch from the trained one (same base, same architecture, same vocabulary):
   `ct` continues on the Chinese mono sources only, `sft` on the instruction sources only (each its
   own `mixer.plan` + `python -m train.run` with a recipe written under `workdir/merge/<name>/recipe.yaml`);
   `merge.run` merges them over that base (TIES with slack by default), `evaluation.run --append`
   scores them next to the base.
6. a summary of every artifact and number, also written to `workdir/demo_summary.json`.

Re-running is safe and cheap: curation skips finished tasks, planning is deterministic, training
resumes from its last checkpoint (so a finished run only rewrites `model/`), the branches are reused
unless the base model changed (its sha256 is kept in `workdir/merge/base.sha256`), merging and
evaluation are redone. `--fresh` deletes the demo's outputs in the workdir first. A bad recipe is one
`error:` line and exit code 2 before anything runs (the `model` and `train` sections are checked by
`python -m train.run RECIPE --check`); a stage that fails stops the demo with its own message and its
exit code.

`--threads 1` (the default) sets one intra-op thread per process: the model has 2M parameters and
128-wide matrices, and on the shared 2-core machine one thread ran a training step about 3x faster than
two (1.6 s vs 4.6 s per step of 8 x 256 tokens, other jobs running). `--threads 0` leaves torch's choice.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator

from common.cli import add_common, run_main, verbosity
from common.files import file_sha256
from common.recipe import Recipe, RecipeError, Section, registered

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = ROOT / "recipes" / "demo.yaml"
# Everything the demo's stages write under the workdir: what `--fresh` removes, nothing else.
OUTPUTS = ("stages", "logs", "excluded", "curated", "heldout", "tokenizer", "tokens", "manifest", "checkpoints",
           "train_logs", "model", "eval", "merge", "demo_summary.json")


class DemoSection(Section):
    """Optional `demo:` recipe section: how the two merged branches are made (defaults fit the demo)."""

    branch_steps: int = Field(12, ge=1)  # optimizer steps of each branch (ct, sft) from the trained model
    branch_lr: float = Field(3e-4, gt=0)  # peak learning rate of the branches (cosine, 2 warmup steps)
    merge_method: str = "ties_sv"  # any registered merge method (merge.methods.METHODS)
    merge_parameters: dict[str, Any] = Field(default_factory=lambda: {"density": 0.2, "slack": 1.0})

    @field_validator("merge_method")
    @classmethod
    def _registered(cls, value: str) -> str:
        from merge.methods import METHODS  # torch: only when a recipe is checked

        return registered(value, METHODS, "merge method")


# The branches: name -> mixture (automatic mixer groups) and what the branch stands for.
BRANCHES: dict[str, tuple[dict[str, float], str]] = {
    "ct": ({"zh": 1.0}, "continued pre-training on the Chinese mono sources"),
    "sft": ({"instruct": 1.0}, "instruction tuning on the instruction sources"),
}


class DemoStop(Exception):
    """A stage returned a non-zero exit code; it has already printed why."""

    def __init__(self, stage: str, code: int):
        super().__init__(f"stage {stage} failed (exit code {code})")
        self.stage, self.code = stage, code


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_train_check(recipe_path: Path) -> subprocess.Popen:
    """`python -m train.run RECIPE --check` (validates `model` and `train`), started so that it runs while
    the other sections are checked here."""
    return subprocess.Popen([sys.executable, "-m", "train.run", str(recipe_path), "--check"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def train_check_problems(check: subprocess.Popen, recipe_path: Path) -> list[str]:
    """The trainer's recipe problems, one per entry, from its `error: ...` message (exit 2)."""
    _, err = check.communicate()
    if check.returncode == 0:
        return []
    lines = err.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("error: ")), None)
    if start is None:
        last = lines[-1] if lines else "no message"
        return [f"train: `python -m train.run {recipe_path} --check` failed (exit code {check.returncode}): {last}"]
    # A RecipeError reads `recipe FILE: problem`, or `recipe FILE: ` and then one indented problem per line.
    first = lines[start].removeprefix("error: ").removeprefix(f"recipe {recipe_path}: ").strip()
    more = [line.strip() for line in lines[start + 1 :] if line.startswith("  ") and line.strip()]
    return ([first] if first else []) + more


def validate(recipe: Recipe) -> DemoSection:
    """Check every section the demo's stages read, so a typo fails in a second, not after training."""
    from common.encoding import TokenizeSection
    from common.sources import load_sources
    from common.tokenizer import TokenizerSection
    from curation.config import load_curation
    from curation.decontam import DecontaminationSection
    from curation.dedup import DedupSection
    from evaluation.config import load_section as load_evaluation
    from mixer.config import MixtureSection

    train_check = start_train_check(recipe.path)
    problems: list[str] = []
    checks: list[Callable[[], object]] = [
        lambda: load_sources(recipe),
        lambda: load_curation(recipe),
        lambda: recipe.section("dedup", DedupSection),
        lambda: recipe.section("decontamination", DecontaminationSection),
        lambda: recipe.section("tokenizer", TokenizerSection),
        lambda: recipe.section("tokenize", TokenizeSection),
        lambda: recipe.section("mixture", MixtureSection),
        lambda: load_evaluation(recipe),
    ]
    try:
        for check in checks:
            try:
                check()
            except RecipeError as err:
                problems += err.problems
    finally:
        problems += train_check_problems(train_check, recipe.path)
    for needed in ("sources", "tokenizer", "mixture", "model", "train"):
        if not recipe.has(needed):
            problems.append(f"{needed}: the demo needs this section (see recipes/demo.yaml)")
    try:
        demo = recipe.section("demo", DemoSection)
    except RecipeError as err:
        problems += err.problems
        demo = DemoSection()
    if problems:
        raise RecipeError(problems, recipe.path)
    return demo


FLAGS: list[str] = []  # -q / -v of `python -m demo`, passed on to every stage's command


def run_stage(name: str, call: Callable[[], int]) -> float:
    """Run one stage's entry point; a non-zero exit stops the demo. Returns the seconds it took."""
    say(f"\n=== demo: {name} ===")
    started = time.perf_counter()
    code = call()
    if code:
        raise DemoStop(name, code)
    return time.perf_counter() - started


def train_subprocess(recipe_path: Path) -> int:
    """`python -m train.run RECIPE` in its own process: Accelerate's state is per process."""
    return subprocess.call([sys.executable, "-m", "train.run", str(recipe_path), *FLAGS])


def absolute(path: str, root: Path) -> str:
    """A recipe path made absolute against `root` (left alone when it is not a local path that exists)."""
    local = Path(path).expanduser()
    if local.is_absolute():
        return str(local)
    return str((root / local).resolve()) if (root / local).exists() else path


def write_recipe(data: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by python -m demo; every path is absolute\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def branch_recipe(recipe: Recipe, demo: DemoSection, name: str, mixture: dict[str, float], base_model: Path) -> dict:
    """The recipe of one branch: the demo's shards and tokenizer, `model.path` = the trained model,
    a constant mixture over one group, its own manifest/checkpoints/model under workdir/merge/<name>/."""
    out = recipe.workdir / "merge" / name
    sources = copy.deepcopy(recipe.data["sources"])
    for source in sources:
        if isinstance(source, dict) and isinstance(source.get("input"), dict) and "path" in source["input"]:
            source["input"]["path"] = absolute(str(source["input"]["path"]), recipe.root)
    tokenizer = copy.deepcopy(recipe.data["tokenizer"])
    if isinstance(tokenizer, dict) and "path" in tokenizer:
        tokenizer["path"] = absolute(str(tokenizer["path"]), recipe.root)
    main_mixture = recipe.data["mixture"]
    train = dict(recipe.data["train"])
    for key in ("manifest", "tokens", "output", "max_steps", "resume"):
        train.pop(key, None)
    train.update(output=str(out), manifest=str(out / "manifest"), tokens=str(recipe.workdir / "tokens"),
                 lr=demo.branch_lr, warmup_steps=min(2, demo.branch_steps - 1), checkpoint_every=demo.branch_steps)
    data = {
        "name": f"{recipe.name}-{name}",
        "workdir": str(recipe.workdir),
        "seed": recipe.seed,
        "sources": sources,
        "tokenizer": tokenizer,
        "mixture": {
            "global_batch": main_mixture["global_batch"],
            "total": f"{demo.branch_steps} steps",
            "max_epochs": main_mixture.get("max_epochs", 4.0),
            "on_exhausted": "renormalize",
            "schedule": {"kind": "constant", "mixture": mixture},
        },
        "model": {"path": str(base_model),
                  "attn_implementation": recipe.data["model"].get("attn_implementation", "auto")},
        "train": train,
    }
    if recipe.has("tokenize"):
        data["tokenize"] = copy.deepcopy(recipe.data["tokenize"])
    return data


def merge_recipe(recipe: Recipe, demo: DemoSection, base_model: Path) -> dict:
    merge_dir = recipe.workdir / "merge"
    return {
        "name": f"{recipe.name}-merge",
        "workdir": str(recipe.workdir),
        "seed": recipe.seed,
        "merge": {
            "method": demo.merge_method,
            "base": {"name": "base", "path": str(base_model)},
            "models": [{"name": name, "path": str(merge_dir / name / "model")} for name in BRANCHES],
            "parameters": demo.merge_parameters,
            "output": str(merge_dir / "merged"),
            "overwrite": True,
        },
    }



def model_sha256(model_dir: Path) -> str:
    """One hash over a model folder's weights (single or sharded safetensors)."""
    return hashlib.sha256("".join(file_sha256(p) for p in sorted(model_dir.glob("*.safetensors"))).encode()).hexdigest()


def final_losses(metrics: Path, last: int = 10) -> dict[str, dict[str, float]]:
    """Per source: the mean training loss over the last `last` logged steps that had that source."""
    per_source: dict[str, list[tuple[int, float]]] = {}
    with metrics.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            for source, loss in row.get("loss_per_source", {}).items():
                per_source.setdefault(source, []).append((row["step"], loss))
    out = {}
    for source, values in per_source.items():
        tail = [v for _, v in values[-last:]]
        out[source] = {"loss": sum(tail) / len(tail), "steps": len(tail), "last_step": values[-1][0],
                       "first_loss": values[0][1]}
    return out


def summarize(recipe: Recipe, timings: dict[str, float]) -> dict:
    """Every number the demo reports, read back from the files the stages wrote."""
    work = recipe.workdir
    report = json.loads((work / "curated" / "_report.json").read_text(encoding="utf-8"))
    sources = {}
    for name, entry in report["sources"].items():
        meta_path = work / "tokens" / name / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        sources[name] = {"read_docs": entry["read"]["docs"], "kept_docs": entry["kept"]["docs"],
                         "heldout_docs": entry.get("heldout", {}).get("docs", 0),
                         "sequences": meta.get("n_sequences"), "tokens": meta.get("n_tokens")}
    losses = final_losses(work / "train_logs" / "metrics.jsonl")
    for name, loss in losses.items():
        sources.setdefault(name, {})["final_loss"] = loss["loss"]
        sources[name]["first_loss"] = loss["first_loss"]
    results = json.loads((work / "eval" / "results.json").read_text(encoding="utf-8"))["models"]
    models = {}
    for name, entry in results.items():
        ppl = (entry.get("perplexity") or {}).get("by_language", {})
        models[name] = {
            "perplexity": {lang: {"perplexity": v["perplexity"], "bits_per_char": v["bits_per_char"], "docs": v["docs"]}
                           for lang, v in ppl.items()},
            "benchmarks": {b: {"accuracy": v["micro"], "n": v["n"], "ci95": v.get("micro_ci95")}
                           for b, v in entry.get("benchmarks", {}).items()},
        }
    merge_report = json.loads((work / "merge" / "merged" / "merge_report.json").read_text(encoding="utf-8"))
    vocab = json.loads((work / "tokenizer" / "vocab_extension.json").read_text(encoding="utf-8")) \
        if (work / "tokenizer" / "vocab_extension.json").is_file() else {}
    return {
        "recipe": str(recipe.path),
        "workdir": str(work),
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "tokenizer": {k: vocab.get(k) for k in ("base_vocab_size", "vocab_size", "chars_per_token")},
        "sources": sources,
        "models": models,
        "merge": {"method": merge_report["method"], "parameters": merge_report["parameters"],
                  "survival_top_k": merge_report["survival"]["top_k"],
                  "survival": merge_report["survival"]["overall"]},
        "artifacts": artifacts(work),
    }


def artifacts(work: Path) -> dict[str, str]:
    return {
        "curated documents": f"{work / 'curated'}/<source>/",
        "removed documents (with reasons)": f"{work / 'excluded'}/<source>/<step>/",
        "held-out documents": f"{work / 'heldout'}/<source>/",
        "curation report": str(work / "curated" / "_report.json") + " (+ _report.png)",
        "extended tokenizer": str(work / "tokenizer") + "/ (vocab_extension.json)",
        "token shards": f"{work / 'tokens'}/<source>/",
        "manifest (chatflow)": str(work / "manifest") + "/ (plan.json, schedule.png)",
        "checkpoints": str(work / "checkpoints") + "/",
        "training logs": str(work / "train_logs") + "/ (metrics.jsonl, loss_per_source.png, tensorboard/)",
        "trained model": str(work / "model") + "/",
        "evaluation": str(work / "eval") + "/ (results.md, results.json, perplexity.png, benchmarks.png)",
        "branch models": f"{work / 'merge'}/{{{','.join(BRANCHES)}}}/model/ (recipe.yaml beside each)",
        "merged model": str(work / "merge" / "merged") + "/ (merge_report.json)",
        "this summary": str(work / "demo_summary.json"),
    }


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def print_summary(summary: dict) -> None:
    """The summary on stdout: artifacts, then per source, per model, and the merge diagnostic."""
    lines = ["", "=== demo: summary ===", "artifacts:"]
    lines += [f"  {what:<34} {where}" for what, where in summary["artifacts"].items()]
    lines += ["", f"{'source':<15} {'read':>6} {'kept':>6} {'heldout':>8} {'sequences':>10} {'tokens':>9} "
                  f"{'loss first -> final':>20}"]
    for name, s in summary["sources"].items():
        loss = f"{_fmt(s.get('first_loss'), '.2f')} -> {_fmt(s.get('final_loss'), '.2f')}"
        lines.append(f"{name:<15} {s.get('read_docs', 0):>6} {s.get('kept_docs', 0):>6} {s.get('heldout_docs', 0):>8} "
                     f"{s.get('sequences') or 0:>10,} {s.get('tokens') or 0:>9,} {loss:>20}")
    lines.append("(final loss: mean of the last 10 logged steps that had the source)")
    models = summary["models"]
    languages = sorted({lang for m in models.values() for lang in m["perplexity"]})
    benchmarks = sorted({b for m in models.values() for b in m["benchmarks"]})
    lines += ["", "held-out bits/char (perplexity) and benchmark accuracy (% [95% Wilson interval], n questions); base = the trained "
                  "model, ct and sft = its two branches, merged = their merge over base:",
              f"{'model':<8}" + "".join(f"{lang:>20}" for lang in languages) + "".join(f"{b:>20}" for b in benchmarks)]
    for name, m in models.items():
        row = f"{name:<8}"
        for lang in languages:
            p = m["perplexity"].get(lang)
            row += f"{_fmt(p and p['bits_per_char']):>10} ({_fmt(p and p['perplexity'], '.0f'):>6})  " if p else f"{'-':>20}"
        for b in benchmarks:
            r = m["benchmarks"].get(b)
            if r:
                ci = f"[{r['ci95'][0] * 100:.0f}-{r['ci95'][1] * 100:.0f}]" if r.get("ci95") else "[-]"
                row += f"{_fmt(r['accuracy'] * 100, '.0f'):>4}% {ci:<7} n={r['n']:<3}"
            else:
                row += f"{'-':>20}"
        lines.append(row)
    merge = summary["merge"]
    lines += ["", f"merge: {merge['method']} {merge['parameters']} of " + ", ".join(BRANCHES) + " over the trained model; "
                  f"survival of top-{merge['survival_top_k']:g} task-vector entries: "
                  + ", ".join(f"{k} {_fmt(v)}" for k, v in merge["survival"].items()),
              "times: " + ", ".join(f"{k} {v:.0f}s" for k, v in summary["seconds"].items())]
    print("\n".join(lines), flush=True)


def fresh(work: Path) -> None:
    """Remove what the demo's stages write under `work` (only those names)."""
    for name in OUTPUTS:
        path = work / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def run(recipe_path: Path, *, fresh_start: bool = False) -> dict:
    """The whole demo on one recipe; returns the summary. Raises RecipeError or DemoStop."""
    from curation.run import main as curate
    from evaluation.run import main as evaluate
    from merge.run import main as merge
    from mixer.plan import main as plan

    recipe = Recipe.load(recipe_path)
    demo = validate(recipe)
    work = recipe.workdir
    if fresh_start:
        fresh(work)
    say(f"demo: recipe {recipe.path}, workdir {work}")
    recipe_arg = str(recipe.path)
    timings: dict[str, float] = {}
    timings["curate"] = run_stage("curate (python -m curation.run)", lambda: curate([recipe_arg, *FLAGS]))
    timings["plan"] = run_stage("plan (python -m mixer.plan --schedule chatflow)",
                                lambda: plan([recipe_arg, "--schedule", "chatflow", *FLAGS]))
    timings["train"] = run_stage("train (python -m train.run)", lambda: train_subprocess(recipe.path))
    model = work / "model"
    timings["evaluate"] = run_stage("evaluate (python -m evaluation.run)",
                                    lambda: evaluate([recipe_arg, "--model", f"base={model}", *FLAGS]))

    # Branches: reuse them only if they grew from exactly this model.
    merge_dir = work / "merge"
    stamp = merge_dir / "base.sha256"
    base_hash = model_sha256(model)
    if merge_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != base_hash):
        say(f"demo: the trained model changed; removing the old branches in {merge_dir}")
        shutil.rmtree(merge_dir)
    merge_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(base_hash + "\n")
    started = time.perf_counter()
    for name, (mixture, meaning) in BRANCHES.items():
        path = write_recipe(branch_recipe(recipe, demo, name, mixture, model), merge_dir / name / "recipe.yaml")
        say(f"\ndemo: branch {name} = the trained model + {demo.branch_steps} steps of {meaning} ({path})")
        run_stage(f"plan {name} (python -m mixer.plan)", lambda p=path, n=name: plan([str(p), "--out", str(merge_dir / n / "manifest"), *FLAGS]))
        run_stage(f"train {name} (python -m train.run)", lambda p=path: train_subprocess(p))
    timings["branches"] = time.perf_counter() - started
    merge_path = write_recipe(merge_recipe(recipe, demo, model), merge_dir / "merge.yaml")
    timings["merge"] = run_stage("merge (python -m merge.run)", lambda: merge([str(merge_path), *FLAGS]))
    timings["evaluate branches"] = run_stage(
        "evaluate branches and merge (python -m evaluation.run --append)",
        lambda: evaluate([recipe_arg, "--append"] + [f"--model={n}={merge_dir / n / 'model'}" for n in BRANCHES]
                         + [f"--model=merged={merge_dir / 'merged'}", *FLAGS]),
    )
    summary = summarize(recipe, timings)
    (work / "demo_summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    add_common(parser, output=None, workdir=False, dry_run=None, fresh="delete the demo's outputs in the workdir first")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="CPU threads per process (default 1; 0: torch's choice). The demo model is tiny: on a "
                             "shared 2-core machine one thread was 3x faster per step than two (docstring)")
    args = parser.parse_args(argv)
    # Offline by design: nothing may wait on the hub (every model, tokenizer and data set is local).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if args.threads:  # before torch starts its thread pool; the trainer subprocesses inherit the variable
        import torch

        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        torch.set_num_threads(args.threads)
    FLAGS[:] = ["-q"] if verbosity(args) < 0 else ["-v"] * verbosity(args)
    started = time.perf_counter()

    def demo() -> int:
        try:
            summary = run(Path(args.recipe), fresh_start=args.fresh)
        except RecipeError as err:
            say(f"error: {err}")
            return 2
        except DemoStop as stop:
            say(f"demo: stopped; {stop}")
            return stop.code
        print_summary(summary)
        print(f"demo finished in {time.perf_counter() - started:.0f}s", flush=True)
        return 0

    return run_main(demo, prog="demo", interrupted="(finished stages are kept)")

