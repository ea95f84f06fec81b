"""Checkpoints: `checkpoints/step-N/` written as `step-N.tmp/` then renamed, the last K kept.

The states themselves go through `Accelerator.save_state` (model as safetensors, optimizer, scheduler,
RNG per process; sharded under FSDP/DeepSpeed) and are read back with `weights_only=True`. A folder
counts as complete only when it has our `state.json`, written last."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

from accelerate import Accelerator

log = logging.getLogger("train")
STEP_DIR = re.compile(r"^step-(\d+)$")
TMP_DIR = re.compile(r"^step-(\d+)\.tmp$")
STATE = "state.json"


def complete_checkpoints(checkpoints_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint, oldest first; incomplete ones are warned about."""
    found = []
    if not checkpoints_dir.is_dir():
        return found
    for path in sorted(checkpoints_dir.iterdir()):
        match = STEP_DIR.match(path.name)
        if match and (path / STATE).is_file():
            found.append((int(match.group(1)), path))
        elif path.name.endswith(".tmp") or match:
            log.warning("ignoring incomplete checkpoint %s (interrupted while saving)", path)
    return sorted(found)


def remove_unfinished(checkpoints_dir: Path) -> list[Path]:
    """Delete leftover `step-N.tmp/` folders (a checkpoint being written when the run was killed); they
    never count as checkpoints. Called by the main process at start, before the newest checkpoint is picked."""
    removed = []
    if not checkpoints_dir.is_dir():
        return removed
    for path in sorted(checkpoints_dir.iterdir()):
        if TMP_DIR.match(path.name):
            log.warning("removing incomplete checkpoint %s (interrupted while saving)", path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def remove_all(checkpoints_dir: Path) -> list[Path]:
    """Delete every `step-N/` (a fresh start: `--fresh`, or `train.resume: never`), with a note."""
    removed = [path for _, path in complete_checkpoints(checkpoints_dir)]
    if checkpoints_dir.is_dir():
        removed += [p for p in checkpoints_dir.iterdir() if STEP_DIR.match(p.name) and p not in removed]
    for path in sorted(removed):
        shutil.rmtree(path)
    if removed:
        print(f"starting from step 0: removed {len(removed)} checkpoint(s) of the previous run from {checkpoints_dir}",
              flush=True)
    return removed


def save(accelerator: Accelerator, checkpoints_dir: Path, step: int, state: dict, keep_last: int) -> Path:
    """Save after `step` optimizer steps; every process must call this."""
    final = checkpoints_dir / f"step-{step}"
    tmp = checkpoints_dir / f"step-{step}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / STATE).write_text(json.dumps({"step": step, **state}, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for _, old in complete_checkpoints(checkpoints_dir)[:-keep_last]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def load(accelerator: Accelerator, path: Path) -> dict:
    """Restore model, optimizer, scheduler and RNG from `path`; returns its state.json."""
    accelerator.load_state(str(path))
    return json.loads((path / STATE).read_text())
