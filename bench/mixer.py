"""Planning benchmark: our exact planner vs Megatron-style greedy blending vs probability sampling.

    python bench/mixer.py [--samples 100M] [--batch 1024] [--greedy-samples 2M]

Plans `--samples` samples over 4 sources with a cosine schedule, three ways, each in its own
subprocess (so peak RSS is per method):

- ours: `mixer.planning.build_plan` (schedule -> exact per-step counts) + writing the manifest files.
- greedy: Megatron's blending index (megatron/core/datasets/helpers.cpp `build_blending_indices`)
  written with numpy: sample i goes to the source furthest behind its target. It is a loop over
  samples, so it runs on the first `--greedy-samples` only; its time for all samples is extrapolated
  linearly and printed as such.
- sampling: `datasets.interleave_datasets(probabilities=...)` style: every sample draws its source
  from the step's proportions (numpy, vectorised in chunks of steps).

Drift = max over steps and sources of |cumulative samples - cumulative target| (in samples; target
summed in long double), and the largest difference between a source's realised share and its target
share over the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SOURCES = {"en_web": 40_000_000, "zh_web": 30_000_000, "para": 20_000_000, "inst": 10_000_000}
START = {"en_web": 0.7, "para": 0.2, "zh_web": 0.1, "inst": 0.0}
END = {"en_web": 0.1, "para": 0.1, "zh_web": 0.5, "inst": 0.3}


def section(samples: int, batch: int):
    from mixer.config import MixtureSection

    return MixtureSection.model_validate({
        "global_batch": batch, "total": f"{samples} samples", "max_epochs": 10,
        "schedule": {"kind": "cosine", "start": START, "end": END, "horizon": f"{samples // 2} samples"},
    })


def targets(samples: int, batch: int) -> np.ndarray:
    """Per-step target proportions, evaluated by the same schedule code for every method."""
    from mixer.schedules import Context

    cfg = section(samples, batch)
    steps = -(-samples // batch)
    ctx = Context(list(SOURCES), np.array(list(SOURCES.values())), {}, batch, None)
    return cfg.schedule.proportions(np.arange(steps, dtype=np.float64) * batch, ctx, ("schedule",))


def drift(counts: np.ndarray, proportions: np.ndarray, batch: int) -> tuple[float, float]:
    cumulative = np.cumsum(counts, axis=0, dtype=np.int64)
    # Extended precision for the reference: a float64 cumsum over 1e5 steps is itself off by ~1e-4 samples.
    target = np.cumsum(proportions.astype(np.longdouble), axis=0) * batch
    worst = float(np.abs(cumulative - target).max())
    share = float(np.abs(cumulative[-1] / cumulative[-1].sum() - target[-1] / target[-1].sum()).max())
    return worst, share


def run_ours(samples: int, batch: int, out: Path) -> dict:
    from mixer.manifest import Manifest
    from mixer.planning import SourceInfo, build_plan, plot_schedule, write_manifest

    infos = [SourceInfo(name, n, "mono", None, 2048) for name, n in SOURCES.items()]
    t0 = time.perf_counter()
    result = build_plan(section(samples, batch), infos, {}, seed=0, seq_len=2048)
    t_plan = time.perf_counter() - t0
    import mixer.planning as plan_module

    plan_module.plot_schedule = lambda _result, path, **_k: Path(path).write_bytes(b"")  # timed separately below
    write_manifest(result, out)
    t_write = time.perf_counter() - t0 - t_plan
    t1 = time.perf_counter()
    plot_schedule(result, out.with_name(out.name + "-schedule.png"))  # not over the hashed placeholder
    t_png = time.perf_counter() - t1
    manifest = Manifest.open(out)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, manifest.num_steps, 200)
    t1 = time.perf_counter()
    for i in picks.tolist():
        manifest.step(i)
    t_step = (time.perf_counter() - t1) / len(picks)
    worst, share = drift(result.counts, result.proportions, batch)
    size = sum(f.stat().st_size for f in out.iterdir())
    return {"seconds": t_plan + t_write, "plan_s": t_plan, "write_s": t_write, "png_s": t_png,
            "step_ms": t_step * 1e3, "max_drift": worst, "share_drift": share, "manifest_bytes": size,
            "samples": int(result.counts.sum())}


def run_greedy(samples: int, batch: int, greedy_samples: int) -> dict:
    proportions = targets(samples, batch)
    n_steps = -(-greedy_samples // batch)
    greedy_samples = n_steps * batch
    t0 = time.perf_counter()
    dataset_index = np.empty(greedy_samples, dtype=np.uint8)
    dataset_sample_index = np.empty(greedy_samples, dtype=np.int64)
    n = len(SOURCES)
    drawn = [0] * n
    target = [0.0] * n
    # Plain Python floats in the loop: numpy calls on 4-element arrays would be ~10x slower per sample.
    for k in range(n_steps):
        rates = proportions[k].tolist()
        for i in range(k * batch, (k + 1) * batch):
            best, best_error = 0, -1e300
            for s in range(n):
                target[s] += rates[s]
                error = target[s] - drawn[s]
                if error > best_error:
                    best, best_error = s, error
            dataset_index[i] = best
            dataset_sample_index[i] = drawn[best]
            drawn[best] += 1
    seconds = time.perf_counter() - t0
    counts = np.stack([np.bincount(dataset_index[k * batch:(k + 1) * batch], minlength=len(SOURCES))
                       for k in range(n_steps)])
    worst, share = drift(counts, proportions[:n_steps], batch)
    return {"seconds_measured": seconds, "samples_measured": greedy_samples,
            "seconds_extrapolated": seconds * samples / greedy_samples,
            "index_bytes_full": samples * (1 + 8), "max_drift": worst, "share_drift": share}


def run_sampling(samples: int, batch: int) -> dict:
    proportions = targets(samples, batch)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    steps = len(proportions)
    source_of_sample = np.empty((steps, batch), dtype=np.uint8)
    chunk = max(1, 2_000_000 // batch)
    cdf = np.cumsum(proportions, axis=1)
    for k in range(0, steps, chunk):
        u = rng.random((min(chunk, steps - k), batch))
        source_of_sample[k:k + chunk] = (u[:, :, None] > cdf[k:k + chunk, None, :-1]).sum(axis=2)
    counts = np.empty((steps, len(SOURCES)), dtype=np.int64)
    for s in range(len(SOURCES)):
        counts[:, s] = (source_of_sample == s).sum(axis=1)
    seconds = time.perf_counter() - t0
    worst, share = drift(counts, proportions, batch)
    return {"seconds": seconds, "max_drift": worst, "share_drift": share}


def child(method: str, args) -> None:
    import polars  # noqa: F401  (every method pays the same imports, so peak RSS compares)

    import mixer.plan  # noqa: F401

    t0 = time.perf_counter()
    if method == "ours":
        result = run_ours(args.samples, args.batch, Path(args.out))
    elif method == "greedy":
        result = run_greedy(args.samples, args.batch, args.greedy_samples)
    elif method == "sampling":
        result = run_sampling(args.samples, args.batch)
    else:  # the interpreter with the same imports: the RSS floor every method pays
        result = {}
    result["wall_s"] = time.perf_counter() - t0
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(method: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", method, "--samples", str(args.samples), "--batch", str(args.batch),
           "--greedy-samples", str(args.greedy_samples), "--out", args.out]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{method} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    from mixer.units import parse_amount

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=lambda v: int(parse_amount(v)), default=100_000_000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--greedy-samples", type=lambda v: int(parse_amount(v)), default=2_000_000)
    parser.add_argument("--out", default="/tmp/bench_mixer_manifest")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {args.samples:,} samples, "
          f"global batch {args.batch}, {len(SOURCES)} sources, cosine schedule")
    results = {}
    for method in ("baseline", "ours", "greedy", "sampling"):
        results[method] = run_child(method, args)
    ours, greedy, sampling = results["ours"], results["greedy"], results["sampling"]
    floor = results["baseline"]["peak_rss_mib"]
    print(f"{'method':<10} {'seconds':>10} {'peak RSS MiB':>13} {'above imports':>14} {'max drift':>11} {'share drift':>12}")
    rows = [("ours", ours["seconds"], ours), ("greedy", greedy["seconds_extrapolated"], greedy),
            ("sampling", sampling["seconds"], sampling)]
    for name, seconds, r in rows:
        print(f"{name:<10} {seconds:>10.2f} {r['peak_rss_mib']:>13.0f} {r['peak_rss_mib'] - floor:>14.0f} "
              f"{r['max_drift']:>11.6f} {r['share_drift']:>12.2e}")
    print(f"greedy: {greedy['seconds_measured']:.1f} s measured on {greedy['samples_measured']:,} samples, "
          f"extrapolated to {args.samples:,}; its full index would be {greedy['index_bytes_full'] / 2**20:,.0f} MiB")
    print(f"ratios: greedy/ours {greedy['seconds_extrapolated'] / ours['seconds']:.0f}x (extrapolated), "
          f"sampling/ours {sampling['seconds'] / ours['seconds']:.2f}x")
    print(f"ours: plan {ours['plan_s']:.2f} s + write {ours['write_s']:.2f} s (schedule.png {ours['png_s']:.2f} s extra); "
          f"manifest {ours['manifest_bytes'] / 2**20:.2f} MiB; step(i) {ours['step_ms']:.2f} ms")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
