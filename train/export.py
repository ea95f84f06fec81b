"""Export a training checkpoint as a plain Hugging Face model folder.

    python -m train.export [RECIPE] --step 20 [--output DIR]       # WORKDIR/checkpoints/step-20
    python -m train.export [RECIPE] --checkpoint DIR [--output DIR]
    python -m train.export [RECIPE]                                 # the newest complete checkpoint

The folder (default `WORKDIR/exports/step-N/`) holds the checkpoint's weights as safetensors, the model's
config and the tokenizer in effect, exactly what `train.run` writes to `WORKDIR/model/` at the end, so
`AutoModelForCausalLM.from_pretrained(DIR)` and `python -m evaluation.run RECIPE --model DIR` read it.
`export.json` beside them names the checkpoint (step, manifest fingerprint, tokens seen). Written as
`DIR.tmp/` and renamed; an existing folder is replaced only when it is an earlier export.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from common.cli import add_common, quiet_libraries, run_main, verbosity

PROG = "train.export"
UNWRAP_PREFIXES = ("_orig_mod.", "module.")  # torch.compile and DDP wrappers, should a state carry them


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_common(p, output="the Hugging Face model folder to write (default: WORKDIR/exports/step-N)", fresh=None,
               dry_run=None)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--step", type=int, help="the checkpoint after this many steps: checkpoints/step-N")
    which.add_argument("--checkpoint", metavar="DIR", help="a checkpoint folder (checkpoints/step-N)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    level = verbosity(args)
    quiet_libraries(level)
    if level <= 0:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    def user_errors():
        from common.recipe import RecipeError
        from train.recipe_sections import TrainError

        return (RecipeError, TrainError)

    return run_main(lambda: _main(args, level), prog=PROG, user_errors=user_errors(),
                    interrupted="while exporting (nothing was published; the checkpoint is unchanged)")


def _main(args: argparse.Namespace, level: int) -> int:
    from common.recipe import Recipe

    recipe = Recipe.load(args.recipe)
    if args.workdir:
        recipe.data["workdir"] = str(Path(args.workdir).expanduser().resolve())
    checkpoint = find_checkpoint(recipe, step=args.step, checkpoint=args.checkpoint)
    state = json.loads((checkpoint / "state.json").read_text())
    output = Path(args.output).expanduser().resolve() if args.output else \
        recipe.workdir / "exports" / f"step-{state['step']}"
    if level <= 0:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    export(recipe, checkpoint, output)
    print(f"{PROG}: checkpoint step-{state['step']} ({checkpoint}) exported to {output}")
    return 0


def find_checkpoint(recipe, *, step: int | None, checkpoint: str | None) -> Path:
    """The checkpoint folder asked for (complete: with state.json), or the newest complete one."""
    from train.recipe_sections import TrainError, TrainSection

    cfg = recipe.section("train", TrainSection)
    checkpoints = (cfg.output or recipe.workdir) / "checkpoints"
    if checkpoint is not None:
        path = Path(checkpoint).expanduser().resolve()
    elif step is not None:
        path = checkpoints / f"step-{step}"
    else:
        found = sorted((int(p.name.split("-")[1]), p) for p in checkpoints.glob("step-*")
                       if p.name.split("-")[1].isdigit() and (p / "state.json").is_file()) \
            if checkpoints.is_dir() else []
        if not found:
            raise TrainError(f"{checkpoints}: no complete checkpoint to export; train first (python -m train.run RECIPE)")
        path = found[-1][1]
    if not (path / "state.json").is_file():
        kept = sorted(p.name for p in checkpoints.glob("step-*") if (p / "state.json").is_file()) \
            if checkpoints.is_dir() else []
        raise TrainError(f"{path}: not a complete checkpoint (no state.json); complete ones: "
                         f"{', '.join(kept) or 'none'} (train.keep_last keeps the newest)")
    return path


def export(recipe, checkpoint: Path, output: Path) -> Path:
    """Write `checkpoint`'s model as a Hugging Face folder at `output` (see the module docstring)."""
    import torch
    from safetensors import safe_open
    from transformers import AutoConfig, AutoModelForCausalLM

    from common.tokenizer import TokenizerLoadError, load_tokenizer, tokenizer_in_effect
    from train.model_loading import build_config, model_folder
    from train.recipe_sections import ModelSection, TrainError

    weights = checkpoint / "model.safetensors"
    if not weights.is_file():
        raise TrainError(f"{checkpoint}: no model.safetensors (a checkpoint sharded by FSDP/DeepSpeed); merge it "
                         "first with `accelerate merge-weights`")
    if output.exists() and not (output / "export.json").is_file() and any(output.iterdir()):
        raise TrainError(f"--output {output} exists and is not an earlier export; choose another folder or delete it")
    if output == checkpoint or checkpoint in output.parents:
        raise TrainError(f"--output {output} lies inside the checkpoint {checkpoint}; choose a folder outside it")

    with safe_open(str(weights), "pt") as f:
        state_dict = {_unwrapped(k): f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    section = recipe.section("model", ModelSection)
    if section.path is not None:
        config = AutoConfig.from_pretrained(model_folder(section), trust_remote_code=section.trust_remote_code)
    else:
        config = build_config(section, vocab_size=None)
    embed = [k for k, v in state_dict.items() if k.endswith("embed_tokens.weight") or k.endswith("wte.weight")]
    if embed:
        config.vocab_size = int(state_dict[embed[0]].shape[0])
    config.use_cache = True
    model = AutoModelForCausalLM.from_config(config, trust_remote_code=section.trust_remote_code, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    tied = {k for k in missing if k.endswith("lm_head.weight")} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise TrainError(f"{weights} does not fit the recipe's model (missing {sorted(set(missing) - tied)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]}); was it trained from another `model` section?")
    if tied:
        model.tie_weights()

    tokenizer = None
    where = tokenizer_in_effect(recipe)
    if where is not None:
        try:
            tokenizer = load_tokenizer(where)
        except TokenizerLoadError as err:
            print(f"warning: {err}; the exported folder has no tokenizer", file=sys.stderr)
    tmp = output.with_name(output.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        state = json.loads((checkpoint / "state.json").read_text())
        (tmp / "export.json").write_text(json.dumps({"checkpoint": str(checkpoint), **state}, indent=2) + "\n")
        if output.exists():
            shutil.rmtree(output)
        os.replace(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output


def _unwrapped(key: str) -> str:
    for prefix in UNWRAP_PREFIXES:
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


if __name__ == "__main__":
    sys.exit(main())
