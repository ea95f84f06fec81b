"""Per-step metrics: console line, TensorBoard events, metrics.jsonl, and a final loss-per-source PNG.
Also the model-FLOPs-utilisation estimate."""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
from pathlib import Path

import torch

log = logging.getLogger("train")

# Dense bf16 tensor-core peak per device (no sparsity), from the vendors' data sheets.
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "H800": 989e12, "A100": 312e12, "A800": 312e12,
                   "L40S": 362e12, "A10G": 70e12, "RTX 4090": 165e12}


def peak_flops(override: float | None = None) -> float | None:
    """Dense bf16 peak of this device (FLOP/s), or None when unknown (e.g. on CPU)."""
    if override:
        return override
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    if "H100" in name and "PCIe" in name:
        return 756e12
    return next((flops for key, flops in PEAK_BF16_FLOPS.items() if key in name), None)


def flops_per_token(model: torch.nn.Module, seq_len: int) -> float:
    """Training FLOPs per token: 6 x non-embedding parameters + 12 x layers x hidden x seq_len
    (attention, counted dense over the whole packed sequence as in the PaLM appendix)."""
    config = model.config
    embedding = model.get_input_embeddings().weight.numel()
    params = sum(p.numel() for p in model.parameters()) - embedding
    head = model.get_output_embeddings()
    if head is not None and head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr():
        params += embedding  # tied: the LM head matmul still costs what an untied one does
    return 6 * params + 12 * config.num_hidden_layers * config.hidden_size * seq_len


class MetricsLogger:
    """Writes each step's numbers to TensorBoard, `metrics.jsonl` and the console (main process only)."""

    def __init__(self, log_dir: Path, *, enabled: bool, total_steps: int, resume_step: int = 0, title: str = "",
                 console: bool = True):
        self.enabled, self.total_steps, self.log_dir, self.title = enabled, total_steps, Path(log_dir), title
        self.console = console
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.writer = SummaryWriter(str(self.log_dir / "tensorboard"), purge_step=resume_step or None)
            path = self.log_dir / "metrics.jsonl"
            # On resume, drop records of steps that will be trained again so each step appears once.
            truncate_step_log(path, resume_step)
            self.jsonl = path.open("a")

    def log(self, record: dict) -> None:
        if not self.enabled:
            return
        step = record["step"]
        for key, value in record.items():
            if key == "loss_per_source":
                for source, loss in value.items():
                    self.writer.add_scalar(f"loss/{source}", loss, step)
            elif key != "step" and isinstance(value, (int, float)) and value is not None and math.isfinite(value):
                self.writer.add_scalar(key if "/" in key else f"train/{key}", value, step)
        self.jsonl.write(json.dumps(record) + "\n")
        self.jsonl.flush()
        if not self.console:
            return
        mfu = f" mfu {record['mfu']:.1%}" if record.get("mfu") is not None else ""
        per_source = " ".join(f"{s} {v:.3f}" for s, v in record["loss_per_source"].items())
        # `step` is the manifest's step number (from 0), as in metrics.jsonl; [n/total] counts steps done.
        print(
            f"step {step} [{step + 1}/{self.total_steps}] loss {record['loss']:.4f} [{per_source}] lr {record['lr']:.2e} "
            f"{record['tokens_per_s']:,.0f} tok/s{mfu} data-wait {record['data_wait_frac']:.1%}",
            flush=True,
        )

    def log_eval(self, step: int, result: dict) -> None:
        """Held-out bits per character after `step` (train.eval_every): a metrics.jsonl record
        `{"step": s, "eval": {"bits_per_char": {source: bpc}, ...}}`, TensorBoard `eval/bpc/<source>`, one line."""
        if not self.enabled or not result:
            return
        for source, bpc in result["bits_per_char"].items():
            self.writer.add_scalar(f"eval/bpc/{source}", bpc, step)
        self.jsonl.write(json.dumps({"step": step, "eval": result}) + "\n")
        self.jsonl.flush()
        if not self.console:
            return
        values = " ".join(f"{s} {v:.3f}" for s, v in result["bits_per_char"].items())
        print(f"step {step} held-out bits/char [{values}] ({result['tokens']:,} tokens, {result['seconds']:.1f}s)",
              flush=True)

    def close(self) -> Path | None:
        """Flush files and draw `loss_per_source.png`; returns its path."""
        if not self.enabled:
            return None
        self.writer.close()
        self.jsonl.close()
        return plot_loss_per_source(self.log_dir / "metrics.jsonl", self.log_dir / "loss_per_source.png",
                                    title=self.title)


def smooth(values: list[float], weight: float) -> list[float]:
    """TensorBoard's debiased exponential moving average (weight 0: the values themselves)."""
    out, last, norm = [], 0.0, 0.0
    for v in values:
        last = weight * last + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out.append(last / norm)
    return out


def smoothing_weight(n_points: int) -> float:
    """An EMA weight that averages over about 10% of the run (at least 1 point, at most 0.98)."""
    span = max(1.0, n_points / 10)
    return min(0.98, 1 - 2 / (span + 1)) if span > 1 else 0.0


def plot_loss_per_source(metrics_path: Path, out: Path, *, title: str = "") -> Path:
    """Training loss, overall and per source, against the step, from metrics.jsonl: each curve smoothed
    (exponential moving average, as TensorBoard's) over the raw values drawn faint behind it; the title
    names the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_step_log(metrics_path) if "loss" in r]
    fig, ax = plt.subplots(figsize=(9, 5))
    sources = sorted({s for r in records for s in r.get("loss_per_source", {})})
    curves = [("all sources", "black", [(r["step"], r["loss"]) for r in records])]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, source in enumerate(sources):
        curves.append((source, colours[i % len(colours)],
                       [(r["step"], r["loss_per_source"][source]) for r in records if source in r["loss_per_source"]]))
    weight = smoothing_weight(len(records))
    for label, colour, points in curves:
        if not points:
            continue
        steps, values = zip(*points, strict=True)
        ax.plot(steps, values, color=colour, lw=0.8, alpha=0.25)
        ax.plot(steps, smooth(list(values), weight), color=colour, lw=1.8 if label == "all sources" else 1.3,
                label=label)
    ax.set_xlabel("step (manifest step, from 0)")
    ax.set_ylabel("training loss (nats per token)")
    smoothing = f"EMA {weight:.2f}" if weight else "no smoothing"
    ax.set_title(f"{title or Path(metrics_path).parent.parent.name}: training loss per source\n"
                 f"({smoothing}; raw values faint)", fontsize=10)
    if records:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120, metadata={"Title": ax.get_title().replace("\n", " ")})
    plt.close(fig)
    return out


def _step_of(line: str) -> int | None:
    """The `step` of one JSON-lines record, or None for a torn or foreign line."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    step = record.get("step") if isinstance(record, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def read_step_log(path: Path) -> list[dict]:
    """The records of a per-step JSON-lines log (metrics.jsonl), skipping torn or foreign lines
    (e.g. the last one of a run killed while writing it)."""
    records = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and _step_of(line) is not None:
            records.append(json.loads(line))
    return records


def truncate_step_log(path: Path, resume_step: int) -> int:
    """Keep only the lines of steps < `resume_step` of a per-step JSON-lines log (metrics.jsonl,
    samples-rank-R.jsonl), so the steps trained again after a resume appear once; returns the steps kept.

    Torn or foreign lines (a run killed mid-write) are dropped with a warning. When the steps go
    backwards (a log appended to by an older trainer after a resume), the later lines supersede the
    earlier ones of the same steps. The file is rewritten in one pass with bounded memory and
    replaced atomically; a missing file is created empty."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        return 0
    tmp = path.with_name(path.name + ".tmp")
    starts: list[int] = []  # steps written so far, ascending
    offsets: list[int] = []  # where each of them begins in the output
    bad = 0
    with path.open("rb") as src, tmp.open("wb") as dst:
        for raw in src:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.strip():
                continue
            step = _step_of(line)
            if step is None:
                bad += 1
                continue
            if step >= resume_step:
                continue
            if starts and step < starts[-1]:  # re-logged steps: drop the earlier copies
                cut = bisect.bisect_left(starts, step)
                dst.seek(offsets[cut])
                dst.truncate()
                del starts[cut:], offsets[cut:]
            if not starts or step != starts[-1]:
                starts.append(step)
                offsets.append(dst.tell())
            dst.write(line.encode("utf-8") + b"\n")
    os.replace(tmp, path)
    if bad:
        log.warning("dropped %d torn or unreadable line(s) from %s", bad, path)
    return len(starts)
