"""The survival diagnostic and `merge_report.json`: what was merged, how, and which important entries survived.

Survival (docs/merge.md): of each model's top-k task-vector entries by magnitude, the fraction that the merged
task vector keeps with the same sign; counted per tensor by the engine and summed here over tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .config import MergeSection
from .methods import MethodSection
from .plan import MergePlan
from .slices import CHUNK
from .topk import top_k_mask

REPORT_VERSION = 1
SURVIVAL_DEFINITION = (
    "fraction of each model's top-k task-vector entries (by magnitude) that the merged task vector keeps with "
    "the same sign"
)


@dataclass
class Survival:
    """Counts for one model: important (top-k) task-vector entries, and those that survived the merge."""

    important: int = 0
    survived: int = 0

    @property
    def fraction(self) -> float | None:
        return self.survived / self.important if self.important else None


def survival_counts(task_vector: torch.Tensor, merged_delta: torch.Tensor, top_k: float) -> Survival:
    """Of the top-k entries of `task_vector` by magnitude, how many the merged task vector keeps.

    An entry survives when the merged task vector is non-zero there with the same sign (TIES keeps a
    parameter's contribution exactly when its sign agrees with the elected one and it was not trimmed).
    """
    important, _ = top_k_mask(task_vector, top_k)
    tau, merged, important = task_vector.reshape(-1), merged_delta.reshape(-1), important.reshape(-1)
    n_important = n_kept = 0
    for start in range(0, tau.numel(), CHUNK):
        chunk = slice(start, start + CHUNK)
        counted = important[chunk] & (tau[chunk] != 0)
        n_important += int(torch.count_nonzero(counted))
        n_kept += int(torch.count_nonzero(counted & (merged[chunk] * tau[chunk] > 0)))
    return Survival(n_important, n_kept)


@dataclass
class SurvivalTally:
    """Survival counts summed over tensors per model, and each tensor's fractions."""

    labels: list[str]
    totals: dict[str, Survival] = field(init=False)
    per_tensor: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.totals = {label: Survival() for label in self.labels}

    def add(self, tensor: str, counts: list[Survival]) -> None:
        self.per_tensor[tensor] = {}
        for label, count in zip(self.labels, counts, strict=True):
            self.totals[label].important += count.important
            self.totals[label].survived += count.survived
            self.per_tensor[tensor][label] = count.fraction

    def overall(self) -> dict[str, float | None]:
        return {label: s.fraction for label, s in self.totals.items()}


def merge_report(
    section: MergeSection,
    params: MethodSection,
    plan: MergePlan,
    *,
    tokenizer_files: list[str],
    n_shards: int,
    n_bytes: int,
    seconds: float,
    top_k: float,
    survival: SurvivalTally | None,
) -> dict:
    """The content of `merge_report.json` (docs/formats.md); `survival` is None when the diagnostic is off."""
    return {
        "format_version": REPORT_VERSION,
        "method": section.method,
        "parameters": params.model_dump(by_alias=True),
        "base": str(plan.base.folder) if plan.base is not None else None,
        "models": [
            {"name": label, "path": str(reader.folder), "weight": float(ref.weight)}
            for label, reader, ref in zip(plan.model_labels, plan.models, section.models, strict=True)
        ],
        "config_from": str(plan.config_reader.folder),
        "tokenizer_from": str(plan.tokenizer_reader.folder),
        "tokenizer_files": tokenizer_files,
        "vocab_size": plan.output_vocab or plan.config_reader.vocab_size,
        "base_vocab_size": plan.base_vocab_size,
        "tie_word_embeddings": plan.tie_output,
        "n_tensors": len(plan.tensors),
        "n_shards": n_shards,
        "bytes": n_bytes,
        "seconds": seconds,
        "survival": {
            "top_k": top_k,
            "definition": SURVIVAL_DEFINITION,
            "overall": survival.overall() if survival is not None else {},
            "per_tensor": survival.per_tensor if survival is not None else {},
        },
    }
