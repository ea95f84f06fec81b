"""The output folder of `evaluation.run`: written whole or not at all, never mixed with another run's files,
and never a table whose columns were scored under different settings.

- Each run writes into `OUT.tmp/` next to `OUT` and swaps it in at the end (`OUT` → `OUT.old`, `OUT.tmp` →
  `OUT`, `OUT.old` deleted). A failed or interrupted run deletes `OUT.tmp/` and leaves `OUT` as it was; the
  leftovers of a killed run (`OUT.tmp/`, or `OUT.old/` of a swap cut between its two renames) are cleaned
  at the next start, restoring `OUT` from `OUT.old/` when `OUT` is missing.
- `OUT` is replaced as a whole, so it must be an evaluation's folder (it has `results.json`) or empty, and
  must not be, contain or lie inside an input (the workdir's held-out data, a model, a benchmark).
- With `--append`, the models of the previous `results.json` that this run does not evaluate again are
  kept with their files (`predictions/<model>/`, `documents/<model>.jsonl`); each model records the
  settings it was scored under (`settings`, and their `settings_sha256`) and its folder's
  `model_fingerprint`, and a kept model scored under settings other than this run's, on something this
  run scores too, or whose folder's weights have changed since, is refused with one line naming the
  change.

Stdlib only (the dry run and these checks come before torch is imported).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from common.files import file_sha256
from evaluation.errors import EvaluationError

# keys of a settings record that are content digests, and what they stand for in a message
DIGESTS = {
    "heldout_sha256": "the held-out documents",
    "rendering_sha256": "the conversation rendering (recipe's tokenize section)",
    "items_sha256": "the questions",
    "dev_sha256": "the few-shot examples",
}


def sha256_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()



def heldout_digest(heldout: Path, sources: list[str]) -> str:
    """What the held-out documents of `sources` are: every parquet file's name and content."""
    files = {f"{source}/{file.name}": file_sha256(file)
             for source in sources for file in sorted((heldout / source).glob("*.parquet"))}
    return sha256_json(files)


def items_digest(subjects, dev: bool = False) -> str:
    """What a benchmark's scored questions are (or with `dev`, its few-shot examples), wherever the files lie."""
    def question(q) -> list:
        return [q.id, q.question, list(q.choices), q.answer, Path(q.file).name, q.line, q.explanation,
                q.options_in_text, q.cue, q.multiple, q.score, q.partial_credit]

    return sha256_json([[s.name, s.display_name, [question(q) for q in (s.dev if dev else s.questions)]]
                        for s in subjects])


WEIGHT_PATTERNS = ("config.json", "*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")


def model_fingerprint(folder: Path) -> str | None:
    """A cheap identity of a model folder's config and weights: each file's name, size and modification time
    (hashing the weights would take minutes for a large model). None when the folder is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    files = sorted({f for pattern in WEIGHT_PATTERNS for f in folder.glob(pattern) if f.is_file()})
    return sha256_json([[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files])


def describe_changes(old: dict, new: dict) -> list[str]:
    """What differs between a kept model's settings (`old`) and this run's (`new`), for the parts this run
    scores that the kept model has too. An empty list: comparable."""
    changes: list[str] = []
    overlap = False
    if new.get("perplexity") and old.get("perplexity"):
        overlap = True
        changes += _diff("held-out perplexity", old["perplexity"], new["perplexity"])
    for name, bench in (new.get("benchmarks") or {}).items():
        if name in (old.get("benchmarks") or {}):
            overlap = True
            changes += _diff(f"benchmark {name}", old["benchmarks"][name], bench)
    if overlap and old.get("max_length") != new.get("max_length"):
        changes.insert(0, f"max_length {_short(old.get('max_length'))} → {_short(new.get('max_length'))}")
    return changes


def _diff(what: str, old: dict, new: dict) -> list[str]:
    changes = []
    for key in dict.fromkeys([*new, *old]):
        if old.get(key) == new.get(key):
            continue
        if key == "dev_sha256" and old.get("shots") != new.get("shots"):
            continue  # other shots load other examples: the shots change says it
        if key in DIGESTS:
            changes.append(f"{what}: {DIGESTS[key]} changed")
        else:
            changes.append(f"{what}: {key} {_short(old.get(key))} → {_short(new.get(key))}")
    return changes


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def kept_models(previous: dict, new_names: list[str], settings: dict, results_path: Path) -> dict:
    """The previous models this run keeps (every one not evaluated again), refused with one line when one was
    scored under other settings than this run's on something this run scores too."""
    kept = {name: entry for name, entry in previous.items() if name not in new_names}
    problems = []
    for name, entry in kept.items():
        scored_here = bool(settings.get("perplexity") and entry.get("perplexity")) or bool(
            set(settings.get("benchmarks") or {}) & set(entry.get("benchmarks") or {}))
        if not scored_here:
            continue
        now = model_fingerprint(Path(entry.get("path", "")))
        if entry.get("model_fingerprint") and now and now != entry["model_fingerprint"]:
            problems.append(f"{name}: the model files in {entry['path']} changed since it was scored")
            continue
        if not isinstance(entry.get("settings"), dict):
            problems.append(f"{name}: no settings recorded (scored by an older version)")
            continue
        changes = describe_changes(entry["settings"], settings)
        if changes:
            problems.append(f"{name}: " + ", ".join(changes))
    if problems:
        again = " ".join(f"--model {n}={kept[n].get('path', 'DIR')}" for n in kept
                         if any(p.startswith(f"{n}: ") for p in problems))
        raise EvaluationError(
            f"{results_path}: --append would put models scored under other settings in one table ("
            + "; ".join(problems) + f"); evaluate them again in this run ({again}), or drop --append to start a new table"
        )
    return kept


def read_previous(out: Path) -> dict:
    """The models of `OUT/results.json` ({} when there is none); a damaged file is one line."""
    path = out / "results.json"
    if not path.is_file():
        return {}
    try:
        models = json.loads(path.read_text(encoding="utf-8")).get("models", {})
    except (ValueError, AttributeError) as err:
        raise EvaluationError(f"{path}: not a results file ({err}); move it away, or drop --append") from None
    if not isinstance(models, dict):
        raise EvaluationError(f"{path}: `models` is not a mapping; move it away, or drop --append")
    return models


def check_output(out: Path, inputs: list[Path], workdir: Path | None = None) -> None:
    """`OUT` may be replaced: it is an evaluation's folder or empty or absent, no input is, contains or lies
    inside it, and it is not the workdir or above it."""
    out = out.resolve()
    if workdir is not None and Path(workdir).resolve().is_relative_to(out):
        raise EvaluationError(f"output folder {out} is or contains the workdir {workdir}; choose another --output")
    for path in inputs:
        path = Path(path).resolve()
        if out == path or out.is_relative_to(path) or path.is_relative_to(out):
            relation = "is" if out == path else "lies inside" if out.is_relative_to(path) else "contains"
            raise EvaluationError(f"output folder {out} {relation} an input ({path}); choose another --output")
    if out.exists() and not out.is_dir():
        raise EvaluationError(f"output folder {out} is a file; choose another --output")
    if out.is_dir() and not (out / "results.json").is_file() and any(out.iterdir()):
        raise EvaluationError(
            f"output folder {out} is not empty and has no results.json: it is not an evaluation's output, and "
            f"evaluation.run replaces its output folder as a whole; choose another --output or empty it"
        )


def staging(out: Path) -> tuple[Path, Path]:
    """(`OUT.tmp`, `OUT.old`): where a run writes, and where the previous `OUT` waits during the swap."""
    return out.with_name(out.name + ".tmp"), out.with_name(out.name + ".old")


def clean_leftovers(out: Path) -> list[str]:
    """Remove what a killed run left next to `OUT`; returns notes saying what was done."""
    tmp, old = staging(out)
    notes = []
    if tmp.exists():
        shutil.rmtree(tmp)
        notes.append(f"removed {tmp}, left by an evaluation that did not finish")
    if old.exists():
        if out.exists():
            shutil.rmtree(old)
            notes.append(f"removed {old}, the previous results left by an evaluation that finished")
        else:
            old.rename(out)
            notes.append(f"restored {out} from {old} (an evaluation stopped while swapping in its results)")
    return notes


def carry_files(previous_out: Path, staged: Path, names: list[str]) -> None:
    """Copy the kept models' per-model files (predictions, documents) into the staged folder."""
    for name in names:
        safe = name.replace("/", "__")
        predictions = previous_out / "predictions" / safe
        if predictions.is_dir():
            shutil.copytree(predictions, staged / "predictions" / safe, copy_function=_link_or_copy)
        documents = previous_out / "documents" / f"{safe}.jsonl"
        if documents.is_file():
            (staged / "documents").mkdir(parents=True, exist_ok=True)
            _link_or_copy(documents, staged / "documents" / documents.name)


def _link_or_copy(src, dst) -> None:
    """A hard link (the files are never written again, only replaced), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def swap_in(staged: Path, out: Path) -> None:
    """Make `staged` the new `OUT`; the previous `OUT` is deleted once the new one is in place."""
    _, old = staging(out)
    if out.exists():
        out.rename(old)
    staged.rename(out)
    if old.exists():
        shutil.rmtree(old)
