"""Small-scale reproductions of ChatFlow's dynamic sampler and Tao et al.'s merging claims.

Runs the project's stages through their CLIs (curation.run, mixer.plan, train/run.py, merge.run,
evaluation.run), collects held-out numbers and writes tables and plots (docs/experiments.md).

    python bench/repro.py base        # English-first base model (recipes/repro_base.yaml)
    python bench/repro.py chatflow    # experiment 1: chatflow vs fixed mixture vs pre-train-then-SFT
    python bench/repro.py merge       # experiment 2: ties / ties_sv vs CT-then-SFT over 3 CT sizes
    python bench/repro.py report      # tables + plots from finished runs (docs/img, printed markdown)
    python bench/repro.py all --seed 2 --out /tmp/zh_adapt_repro_s2   # the same with another seed
    python bench/repro.py seeds --outs /tmp/zh_adapt_repro /tmp/zh_adapt_repro_s2 ...   # across seeds

Everything is written under --out (default /tmp/zh_adapt_repro); a stage whose output already exists
is skipped, so an interrupted run continues. The seed is the recipes' (1234) unless --seed replaces it
in every derived recipe (held-out split, mixer permutations, model init, training order).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes"
ZH_SOURCES = ("zh_web", "zh_wiki")
INSTRUCT_SOURCES = ("alpaca", "sharegpt", "chat_messages")
EVAL_EVERY = 20  # steps between the checkpoints experiment 1 scores on held-out data

# experiment 1: steps per arm (equal tokens: every arm trains these steps x 8 x 256 tokens)
CHATFLOW_STEPS = 80
# experiment 2: CT sizes in optimizer steps of 8 x 256 tokens of Chinese text (at most 1 epoch)
CT_STEPS = (10, 30, 90)
SFT_STEPS = 30


def log(msg: str) -> None:
    print(f"[repro {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], logfile: Path) -> None:
    """Run one stage CLI from the repository root; its output goes to `logfile`, failures stop us."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    log(" ".join(cmd) + f"  (log: {logfile})")
    start = time.perf_counter()
    with logfile.open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        sys.exit(f"command failed (exit {proc.returncode}), see {logfile}: {' '.join(cmd)}")
    log(f"  done in {time.perf_counter() - start:.0f}s")


class Runner:
    """Derived recipes under OUT/recipes (stage recipes with absolute workdirs) and the stage calls."""

    def __init__(self, out: Path, seed: int | None = None):
        self.out = out
        self.seed = seed
        self.recipes = out / "recipes"
        self.recipes.mkdir(parents=True, exist_ok=True)
        # derived recipes keep the repo's relative data paths working through these links
        for name in ("demo_data", "eval_samples"):
            link = self.recipes / name
            if not link.exists():
                link.symlink_to(RECIPES / name)

    def derive(self, src: str, name: str, workdir: Path, **sections: Any) -> Path:
        """Write OUT/recipes/<name>.yaml: recipes/<src> with `workdir` and some sections replaced."""
        data = yaml.safe_load((RECIPES / src).read_text())
        data["name"] = name
        data["workdir"] = str(workdir)
        if self.seed is not None:
            data["seed"] = self.seed
        for key, value in sections.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        path = self.recipes / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return path

    def py(self, *args: str | Path, log_name: str) -> None:
        run([sys.executable, *map(str, args)], self.out / "logs" / f"{log_name}.log")

    # --- stages -------------------------------------------------------------------------------
    def curate(self, src: str, workdir: Path) -> Path:
        recipe = self.derive(src, f"{workdir.name}_curation", workdir)
        if not (workdir / "tokens").is_dir():
            self.py("-m", "curation.run", recipe, log_name=f"{workdir.name}_curation")
        return workdir

    def train(self, recipe: Path, output: Path, log_name: str) -> Path:
        """Plan the recipe's mixture into OUTPUT/manifest and train into OUTPUT (skipped when done)."""
        if not (output / "manifest" / "plan.json").exists():
            self.py("-m", "mixer.plan", recipe, "--out", output / "manifest", log_name=log_name)
        if not (output / "model" / "config.json").exists():
            self.py("train/run.py", recipe, log_name=log_name)
        return output / "model"

    def evaluate(self, recipe: Path, models: dict[str, Path], out: Path, log_name: str) -> dict:
        """evaluation.run on every model (held-out perplexity only); returns results.json's models."""
        results = out / "results.json"
        done = json.loads(results.read_text())["models"] if results.exists() else {}
        todo = {name: path for name, path in models.items() if name not in done}
        if todo:
            args = [a for name, path in todo.items() for a in ("--model", f"{name}={path}")]
            self.py("-m", "evaluation.run", recipe, *args, "--out", out, "--append",
                    "--no-benchmarks", log_name=log_name)
        return json.loads(results.read_text())["models"]


def checkpoint_models(run_dir: Path) -> dict[int, Path]:
    """Hugging Face folders for every kept checkpoint: the final model's files + that step's weights."""
    final = run_dir / "model"
    folders: dict[int, Path] = {}
    for ckpt in sorted((run_dir / "checkpoints").glob("step-*")):
        step = int(ckpt.name.split("-")[1])
        if not (ckpt / "state.json").exists():
            continue
        dest = run_dir / "eval_models" / f"step-{step}"
        if not (dest / "model.safetensors").exists():
            dest.mkdir(parents=True, exist_ok=True)
            for f in final.iterdir():
                if f.name != "model.safetensors":
                    shutil.copy2(f, dest / f.name)
            shutil.copy2(ckpt / "model.safetensors", dest / "model.safetensors")
        folders[step] = dest
    return folders


def pooled(model: dict, sources: tuple[str, ...]) -> dict[str, float]:
    """Token loss and bits/char pooled over some held-out sources (sums of nll, tokens, chars)."""
    groups = [model["perplexity"]["by_source"][s] for s in sources if s in model["perplexity"]["by_source"]]
    nll = sum(g["nll"] for g in groups)
    tokens = sum(g["tokens"] for g in groups)
    chars = sum(g["chars"] for g in groups)
    return {"loss": nll / tokens, "bits_per_char": nll / math.log(2) / chars, "docs": sum(g["docs"] for g in groups),
            "tokens": tokens, "chars": chars}


# --- base -----------------------------------------------------------------------------------------
def base(r: Runner) -> Path:
    """The English-first base: random init, English web text only, un-extended tokenizer."""
    wd = r.curate("repro_base.yaml", r.out / "base")
    recipe = r.derive("repro_base.yaml", "base", wd)
    return r.train(recipe, wd, "base_train")


def data(r: Runner) -> Path:
    """All demo sources curated and tokenized with the extended tokenizer (shared by both experiments)."""
    return r.curate("repro_chatflow.yaml", r.out / "data")


def arm_recipe(r: Runner, name: str, base_model: Path, mixture: dict, *, src: str = "repro_chatflow.yaml",
               train_overrides: dict | None = None, max_steps: int | None = None) -> tuple[Path, Path]:
    """A training recipe over the shared data workdir whose checkpoints and model go to OUT/<name>."""
    wd = r.out / "data"
    out = r.out / name
    train_cfg = yaml.safe_load((RECIPES / src).read_text())["train"]
    train_cfg.update({"output": str(out), "manifest": str(out / "manifest"), "tokens": str(wd / "tokens")})
    train_cfg.update(train_overrides or {})
    if max_steps:
        train_cfg["max_steps"] = max_steps
    recipe = r.derive(src, name, wd, mixture=mixture, train=train_cfg,
                      model={"path": str(base_model), "attn_implementation": "sdpa"})
    return recipe, out


# --- experiment 1 ---------------------------------------------------------------------------------
def chatflow_mixtures(r: Runner, chatflow_plan: Path) -> dict[str, dict]:
    """Fixed and pre-train-then-SFT mixtures that draw the same samples per source as the chatflow plan."""
    plan = json.loads(chatflow_plan.read_text())
    steps, batch = plan["num_steps"], plan["global_batch"]
    drawn = {row["source"]: row["samples"] for row in plan["summary"]} if isinstance(plan["summary"], list) \
        else {s: v["samples"] for s, v in plan["summary"].items()}
    total = sum(drawn.values())
    common = {"global_batch": batch, "total": f"{steps} steps", "max_epochs": 20, "on_exhausted": "renormalize",
              "normalize": True}
    fixed = {**common, "schedule": {"kind": "constant", "mixture": {s: n / total for s, n in drawn.items() if n}}}
    sft_samples = sum(drawn.get(s, 0) for s in INSTRUCT_SOURCES)
    sft_steps = round(sft_samples / batch)
    pretrain = {s: n for s, n in drawn.items() if s not in INSTRUCT_SOURCES and n}
    sft = {s: drawn[s] for s in INSTRUCT_SOURCES if drawn.get(s)}
    pt_sft = {**common, "schedule": {"kind": "stages", "stages": [
        {"length": f"{steps - sft_steps} steps", "schedule": {"kind": "constant", "mixture": pretrain}},
        {"schedule": {"kind": "constant", "mixture": sft}},
    ]}}
    return {"fixed": fixed, "pretrain_then_sft": pt_sft}


def chatflow(r: Runner) -> dict:
    """Experiment 1: three arms, equal tokens and optimizer settings, from the same English-first base."""
    base_model = base(r)
    data(r)
    chat_mix = yaml.safe_load((RECIPES / "repro_chatflow.yaml").read_text())["mixture"]
    chat_mix["total"] = f"{CHATFLOW_STEPS} steps"
    chat_mix["schedule"]["t_grow"] = f"{int(CHATFLOW_STEPS * 0.6)} steps"
    keep = {"checkpoint_every": EVAL_EVERY, "keep_last": CHATFLOW_STEPS // EVAL_EVERY + 1}
    recipe, out = arm_recipe(r, "exp1_chatflow", base_model, chat_mix, train_overrides=keep)
    arms = {"chatflow": (recipe, out)}
    if not (out / "manifest" / "plan.json").exists():
        r.py("-m", "mixer.plan", recipe, "--out", out / "manifest", log_name="exp1_chatflow")
    for name, mix in chatflow_mixtures(r, out / "manifest" / "plan.json").items():
        arms[name] = arm_recipe(r, f"exp1_{name}", base_model, mix, train_overrides=keep)
    results = {}
    for name, (recipe, out) in arms.items():
        r.train(recipe, out, f"exp1_{name}")
        models = {"step-0": base_model} | {f"step-{s}": p for s, p in checkpoint_models(out).items()}
        evals = r.evaluate(recipe, models, out / "eval", f"exp1_{name}_eval")
        plan = json.loads((out / "manifest" / "plan.json").read_text())
        results[name] = {
            "curve": {int(k.split("-")[1]): {"zh": pooled(v, ZH_SOURCES), "instruct": pooled(v, INSTRUCT_SOURCES),
                                            "en": pooled(v, ("en_web",))} for k, v in evals.items()},
            "summary": plan["summary"],
            "train_log": [json.loads(line) for line in (out / "train_logs" / "metrics.jsonl").open()],
        }
    (r.out / "exp1_results.json").write_text(json.dumps(results, indent=1))
    return results


# --- experiment 2 ---------------------------------------------------------------------------------
def merge_exp(r: Runner) -> dict:
    """Experiment 2: CT on growing Chinese data; SFT on English instructions; CT-then-SFT vs ties/ties_sv."""
    base_model = base(r)
    data(r)
    inst = {"kind": "constant", "mixture": {"instruct": 1.0}}
    sft_train = {"checkpoint_every": 1000, "keep_last": 1, "warmup_steps": 5}
    # SFT from the base with the base's own tokenizer: curated with repro_base.yaml (no extension)
    sft_out = r.out / "exp2_sft"
    sft_cfg = yaml.safe_load((RECIPES / "repro_merge.yaml").read_text())
    sft_recipe = r.derive("repro_base.yaml", "exp2_sft", r.out / "base",
                          mixture={**sft_cfg["mixture"], "total": f"{SFT_STEPS} steps", "max_epochs": 20,
                                   "schedule": inst},
                          train={**sft_cfg["train"], **sft_train, "output": str(sft_out),
                                 "manifest": str(sft_out / "manifest")},
                          model={"path": str(base_model), "attn_implementation": "sdpa"})
    sft_model = r.train(sft_recipe, sft_out, "exp2_sft")
    models: dict[str, Path] = {"base": base_model, "sft": sft_model}
    reports: dict[str, dict] = {}
    for ct_steps in CT_STEPS:
        ct_mix = {**sft_cfg["mixture"], "total": f"{ct_steps} steps"}
        recipe, ct_out = arm_recipe(r, f"exp2_ct{ct_steps}", base_model, ct_mix, src="repro_merge.yaml",
                                    train_overrides={"checkpoint_every": 1000, "keep_last": 1})
        ct_model = r.train(recipe, ct_out, f"exp2_ct{ct_steps}")
        models[f"ct{ct_steps}"] = ct_model
        # CT-then-SFT: the same SFT data and steps, continued from the CT model (extended tokenizer)
        sft_mix = {**sft_cfg["mixture"], "total": f"{SFT_STEPS} steps", "max_epochs": 20, "schedule": inst}
        recipe, ctsft_out = arm_recipe(r, f"exp2_ct{ct_steps}_sft", ct_model, sft_mix, src="repro_merge.yaml",
                                       train_overrides=sft_train)
        models[f"ct{ct_steps}+sft"] = r.train(recipe, ctsft_out, f"exp2_ct{ct_steps}_sft")
        for method in ("ties", "ties_sv"):
            name = f"{method}_ct{ct_steps}"
            merge_cfg = {**sft_cfg["merge"], "method": method,
                         "base": {"name": "base", "path": str(base_model)},
                         "models": [{"name": "ct", "path": str(ct_model), "weight": 1.0},
                                    {"name": "sft", "path": str(sft_model), "weight": 1.0}],
                         "output": name, "overwrite": True}
            if method == "ties":
                merge_cfg["parameters"] = {k: v for k, v in merge_cfg["parameters"].items() if k != "slack"}
            mrecipe = r.derive("repro_merge.yaml", f"exp2_{name}", r.out / "exp2_merged", merge=merge_cfg)
            merged = r.out / "exp2_merged" / name
            if not (merged / "merge_report.json").exists():
                r.py("-m", "merge.run", mrecipe, log_name=f"exp2_{name}")
            models[f"{method}(ct{ct_steps})"] = merged
            reports[f"{method}(ct{ct_steps})"] = json.loads((merged / "merge_report.json").read_text())["survival"]
    eval_recipe = r.derive("repro_merge.yaml", "exp2_eval", r.out / "data")
    evals = r.evaluate(eval_recipe, models, r.out / "exp2_eval", "exp2_eval")
    results = {name: {"zh": pooled(v, ZH_SOURCES), "instruct": pooled(v, INSTRUCT_SOURCES),
                      "en": pooled(v, ("en_web",))} for name, v in evals.items()}
    out = {"models": results, "survival": {k: v["overall"] for k, v in reports.items()},
           "ct_steps": list(CT_STEPS), "sft_steps": SFT_STEPS}
    (r.out / "exp2_results.json").write_text(json.dumps(out, indent=1))
    return out


# --- report ---------------------------------------------------------------------------------------
def report(r: Runner, img: Path) -> str:
    """Markdown tables and PNG plots from OUT/exp*_results.json (whatever has finished)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    exp1 = r.out / "exp1_results.json"
    if exp1.exists():
        res = json.loads(exp1.read_text())
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
        for name, arm in res.items():
            steps = sorted(int(s) for s in arm["curve"])
            for ax, key in zip(axes, ("zh", "instruct"), strict=False):
                ax.plot(steps, [arm["curve"][str(s)][key]["bits_per_char"] for s in steps], marker="o", ms=3,
                        label=name)
            # per-step training loss on Chinese samples: each is drawn for the first time (< 1 epoch), so
            # it is a loss on unseen text; pooled over zh_web and zh_wiki rows of the step
            zh_steps, zh_loss = [], []
            for row in arm["train_log"]:
                vals = [row["loss_per_source"][s] for s in ZH_SOURCES if s in row["loss_per_source"]]
                if vals:
                    zh_steps.append(row["step"])
                    zh_loss.append(sum(vals) / len(vals))
            axes[2].plot(zh_steps, zh_loss, lw=0.8, label=name)
        titles = ("Chinese held-out (zh_web+zh_wiki)", "instruction held-out (answers)",
                  "training loss on Chinese rows (first epoch)")
        for ax, title in zip(axes, titles, strict=True):
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("step (x 8 x 256 tokens)")
            ax.set_ylabel("bits per character" if ax is not axes[2] else "token loss (nats)")
            ax.grid(alpha=0.3)
        axes[0].set_yscale("log")
        axes[1].set_yscale("log")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(img / "exp1_chatflow.png", dpi=80)
        plt.close(fig)
        lines += ["| arm | zh bpc (step " + " / ".join(str(s) for s in sorted(int(s) for s in
                  next(iter(res.values()))["curve"])) + ") | final zh loss | final instruct loss | final instruct bpc "
                  "| final en bpc |", "|---|---|---|---|---|---|"]
        for name, arm in res.items():
            steps = sorted(int(s) for s in arm["curve"])
            last = arm["curve"][str(steps[-1])]
            lines.append(f"| {name} | " + " / ".join(f"{arm['curve'][str(s)]['zh']['bits_per_char']:.3f}"
                                                   for s in steps)
                         + f" | {last['zh']['loss']:.3f} | {last['instruct']['loss']:.3f} | "
                         f"{last['instruct']['bits_per_char']:.3f} | {last['en']['bits_per_char']:.3f} |")
        lines.append("")
        lines += ["| arm | samples per source (share) |", "|---|---|"]
        for name, arm in res.items():
            summ = arm["summary"]
            rows = summ if isinstance(summ, list) else [{"source": k, **v} for k, v in summ.items()]
            lines.append(f"| {name} | " + ", ".join(f"{row['source']} {row['samples']}" for row in rows) + " |")
        lines.append("")
    exp2 = r.out / "exp2_results.json"
    if exp2.exists():
        res = json.loads(exp2.read_text())
        cts = res["ct_steps"]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for label, fmt in (("ct{}", "CT only"), ("ct{}+sft", "CT-then-SFT"), ("ties(ct{})", "ties"),
                           ("ties_sv(ct{})", "ties_sv")):
            for ax, key in zip(axes, ("zh", "instruct"), strict=True):
                ax.plot(cts, [res["models"][label.format(c)][key]["bits_per_char"] for c in cts], marker="o",
                        label=fmt)
        for ax, key, title in zip(axes, ("zh", "instruct"), ("Chinese held-out", "instruction held-out (answers)"), strict=True):
            for ref in ("base", "sft"):
                ax.axhline(res["models"][ref][key]["bits_per_char"], ls="--", lw=0.8,
                           color="grey" if ref == "base" else "black", label=ref)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("CT steps (x 8 x 256 Chinese tokens)")
            ax.set_ylabel("bits per character")
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(img / "exp2_merge.png", dpi=80)
        plt.close(fig)
        lines += ["| model | zh bpc | zh loss | instruct bpc | instruct loss | en bpc | survival ct / sft |",
                  "|---|---|---|---|---|---|---|"]
        for name, m in res["models"].items():
            surv = res["survival"].get(name)
            s = f"{surv['ct']:.3f} / {surv['sft']:.3f}" if surv else ""
            lines.append(f"| {name} | {m['zh']['bits_per_char']:.3f} | {m['zh']['loss']:.3f} | "
                         f"{m['instruct']['bits_per_char']:.3f} | {m['instruct']['loss']:.3f} | "
                         f"{m['en']['bits_per_char']:.3f} | {s} |")
    return "\n".join(lines)


def across_seeds(outs: list[Path]) -> str:
    """Final held-out bits per character of every arm and model, per seed, with mean and spread."""
    def rows(results: dict[str, dict]) -> list[str]:
        names = list(next(iter(results.values())))
        lines = [f"| {'model' if 'base' in names else 'arm'} | " + " | ".join(
                     f"{key} bpc ({', '.join(str(s) for s in results)}) | {key} mean ± sd" for key in ("zh", "instruct", "en")) + " |",
                 "|---|" + "---|---|" * 3]
        for name in names:
            cells = []
            for key in ("zh", "instruct", "en"):
                values = [res[name][key]["bits_per_char"] for res in results.values()]
                mean = sum(values) / len(values)
                sd = math.sqrt(sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1))
                cells += [" / ".join(f"{v:.3f}" for v in values), f"{mean:.3f} ± {sd:.3f}"]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return lines

    def differences(results: dict[str, dict], pairs: list[tuple[str, str]]) -> list[str]:
        # Paired by seed: both models of a pair share the seed's held-out split, data order and init,
        # so the per-seed difference is far less noisy than the spread of either model alone.
        lines = ["| difference (bpc) | " + " | ".join(f"{key} ({', '.join(str(s) for s in results)}) | {key} mean"
                                                for key in ("zh", "instruct", "en")) + " |",
                 "|---|" + "---|---|" * 3]
        for a, b in pairs:
            cells = []
            for key in ("zh", "instruct", "en"):
                diffs = [res[a][key]["bits_per_char"] - res[b][key]["bits_per_char"] for res in results.values()]
                cells += [" / ".join(f"{d:+.3f}" for d in diffs), f"{sum(diffs) / len(diffs):+.3f}"]
            lines.append(f"| {a} − {b} | " + " | ".join(cells) + " |")
        return lines

    seed_of = {out: yaml.safe_load((out / "recipes" / "base.yaml").read_text())["seed"] for out in outs}
    exp1 = {seed_of[o]: json.loads((o / "exp1_results.json").read_text()) for o in outs if (o / "exp1_results.json").exists()}
    exp2 = {seed_of[o]: json.loads((o / "exp2_results.json").read_text()) for o in outs if (o / "exp2_results.json").exists()}
    lines = []
    if exp1:
        final = {seed: {arm: v["curve"][str(max(int(s) for s in v["curve"]))] for arm, v in res.items()}
                 for seed, res in exp1.items()}
        lines += ["Experiment 1, final held-out bits per character, seeds " + ", ".join(map(str, final)), ""]
        lines += rows(final) + [""]
        arms = list(next(iter(final.values())))
        lines += [f"Experiment 1, paired differences to {arms[0]}", ""]
        lines += differences(final, [(arm, arms[0]) for arm in arms[1:]]) + [""]
    if exp2:
        lines += ["Experiment 2, held-out bits per character, seeds " + ", ".join(map(str, exp2)), ""]
        models = {seed: res["models"] for seed, res in exp2.items()}
        lines += rows(models) + [""]
        sizes = [name[len("ties("):-1] for name in next(iter(models.values())) if name.startswith("ties(")]
        lines += ["Experiment 2, paired differences", ""]
        lines += differences(models, [pair for ct in sizes for pair in
                                      ((f"ties({ct})", f"{ct}+sft"), (f"ties_sv({ct})", f"ties({ct})"))])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["base", "chatflow", "merge", "report", "all", "seeds"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/zh_adapt_repro"))
    parser.add_argument("--img", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--seed", type=int, help="replace the recipes' seed (1234) in every derived recipe")
    parser.add_argument("--outs", type=Path, nargs="+", help="with `seeds`: the --out folders of finished runs")
    args = parser.parse_args(argv)
    if args.what == "seeds":
        if not args.outs:
            parser.error("seeds needs --outs OUT [OUT ...]")
        print(across_seeds([o.resolve() for o in args.outs]))
        return 0
    r = Runner(args.out.resolve(), args.seed)
    if args.what == "base":
        base(r)
    if args.what in ("chatflow", "all"):
        chatflow(r)
    if args.what in ("merge", "all"):
        merge_exp(r)
    print(report(r, args.img))
    return 0


if __name__ == "__main__":
    sys.exit(main())
