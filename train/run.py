"""Train a Hugging Face causal LM on the token shards, step by step as the manifest says.

    accelerate launch -m train.run [RECIPE]          # one or many GPUs (see recipes/accelerate/)
    python -m train.run [RECIPE]                     # one process, CPU or one GPU
    python -m train.run RECIPE --dry-run             # validate; say the model size, steps, tokens, outputs

`train/run.py` works in place of `-m train.run`. This module is the command line only: it parses the
arguments before importing torch, transformers or accelerate (so `--help` is instant); the trainer is
`train.trainer` (`setup`, `train_step`, `train`), whose names this module also serves (`train.run.train`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import add_common, quiet_libraries, run_main, verbosity

PROG = "train.run"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_common(p, output="where the final Hugging Face model goes (default: WORKDIR/model)",
               fresh="start from step 0: delete this run's checkpoints instead of resuming (alias --no-resume)",
               dry_run="validate the recipe and inputs and say what would run (model size, steps, tokens, "
                       "outputs); write nothing")
    p.add_argument("--check", action="store_true",
                   help="the recipe part of --dry-run only: the model and train sections and the model's size, "
                        "without reading the manifest, shards or tokenizer (what the demo runs before they exist)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest complete checkpoint (an error if there is none); "
                        "by default a run resumes when a checkpoint exists (train.resume: auto)")
    p.add_argument("--no-resume", action="store_true", dest="fresh", help=argparse.SUPPRESS)
    return p


def __getattr__(name: str):
    """`train.run.train`, `train.run.setup`, ...: the trainer's names, imported on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    from train import trainer

    try:
        return getattr(trainer, name)
    except AttributeError:
        raise AttributeError(f"module 'train.run' has no attribute {name!r}") from None


def interrupted() -> str:
    """What Ctrl-C interrupted: the step and the checkpoint a rerun resumes from."""
    trainer = sys.modules.get("train.trainer")
    progress = getattr(trainer, "PROGRESS", None) or {}
    step, done = progress.get("step"), progress.get("checkpoint")
    if step is None:
        return "before the first step"
    where = progress.get("checkpoints_dir")
    if done:
        return f"at step {step} (newest checkpoint {where}/step-{done}: a rerun resumes there, at step {done})"
    return f"at step {step} (no checkpoint yet: a rerun starts at step 0)"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.fresh and args.resume:
        parser().error("--fresh and --resume exclude each other")
    level = verbosity(args)
    quiet_libraries(level)
    return run_main(lambda: _main(args, level), prog=PROG, user_errors=_user_errors(), interrupted=interrupted)


def _user_errors() -> tuple[type[BaseException], ...]:
    from common.recipe import RecipeError
    from common.tokens import ShardError
    from train.recipe_sections import TrainError

    return (RecipeError, TrainError, ShardError)


def _main(args: argparse.Namespace, level: int) -> int:
    import os

    from common.cli import WorkdirLock
    from common.recipe import Recipe

    recipe = Recipe.load(args.recipe)
    if args.workdir:
        recipe.data["workdir"] = str(Path(args.workdir).expanduser().resolve())
    output = Path(args.output).expanduser().resolve() if args.output else None
    if level <= 0:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    from train import trainer

    # "Writing model shards" and the other progress bars of transformers: only with -v
    (hf_logging.disable_progress_bar if level <= 0 else hf_logging.enable_progress_bar)()
    if args.dry_run or args.check:
        for line in trainer.describe(recipe, model_dir=output, fresh=args.fresh, data=not args.check):
            print(line)
        return 0
    resume = "never" if args.fresh else "always" if args.resume else None
    trainer.check(recipe)  # a recipe mistake before the lock creates the output folder
    out = trainer.output_folder(recipe)
    # one training run per output folder; under torchrun/accelerate only the first process holds the lock
    if os.environ.get("RANK", "0") == "0":
        with WorkdirLock(out, f"{PROG} {args.recipe}"):
            trainer.train(recipe, resume=resume, model_dir=output, quiet=level < 0)
    else:
        trainer.train(recipe, resume=resume, model_dir=output, quiet=level < 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
