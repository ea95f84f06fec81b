"""Filtering throughput: our Chinese-aware filter stage vs a stock datatrove pipeline, same data, same run.

    python bench/curation.py [--mb 40] [--text demo|realtext] [--rev REV]

Corpus: the demo's Chinese and English web sources (recipes/demo_data), or with `--text realtext` the
Chinese and English documents of the real-text build (Debian documentation, docs/real_text.md),
repeated with fresh ids up to `--mb` megabytes of text, half Chinese and half English by bytes,
written as plain JSON lines. `--rev REV` adds our filters as of commit REV (a clean git worktree, run
the same way), so a change's effect on throughput is measured in the same run.

- ours:  SourceReader -> Normalizer (ftfy, controls, OpenCC) -> lid.176 -> Chinese character-level
         quality (zh) or Gopher/C4/FineWeb with a regex word tokenizer (en) -> parquet writer
- stock: JsonlReader -> LanguageFilter(en, zh) -> GopherRepetitionFilter -> GopherQualityFilter ->
         C4QualityFilter -> JsonlWriter, all with datatrove's defaults (English word statistics,
         spaCy word tokenizer), as a user would assemble them.

Two changes are needed for the stock pipeline to run at all on this machine, both neutral for speed:
its LanguageFilter downloads lid.176.bin at run time (no network here), so it is pointed at the same
packaged lid.176.ftz we use; and `fasttext`'s Python `predict` fails under NumPy 2, so the call goes
through the same C++ predict (and LanguageFilter's check for the `fasttext-numpy2-wheel` distribution
name is skipped: the `fasttext` module it needs is installed). Each pipeline runs in a fresh subprocess with one task on one core;
we report wall time, CPU time, MB/s per core and peak RSS of that process.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zstandard

# not bench/: its files shadow packages and stdlib modules. BENCH_CHECKOUT: the code of another commit
# (`--rev`), so that its filters run in the same way as this tree's, side by side.
sys.path[0] = os.environ.get("BENCH_CHECKOUT") or str(Path(__file__).resolve().parents[1])

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "recipes" / "demo_data"


def read_demo_texts(name: str) -> list[str]:
    path = DEMO / name
    raw = path.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif name.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    return [json.loads(line)["text"] for line in raw.decode().splitlines() if line.strip()]


def read_realtext_texts(lang: str) -> list[str]:
    """Every document of the real-text build (docs/real_text.md), real and corrupted, labelled or not."""
    path = REPO / "work" / "realtext" / f"{lang}_docs.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `python -m realtext.build` first (docs/real_text.md)")
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_corpus(folder: Path, megabytes: float, text: str = "demo") -> dict[str, tuple[Path, int, int]]:
    """zh.jsonl and en.jsonl with ~megabytes/2 of text each; returns (path, docs, text bytes) per language."""
    out = {}
    for lang, name in (("zh", "zh_web.jsonl.gz"), ("en", "en_web.jsonl.zst")):
        texts = read_demo_texts(name) if text == "demo" else read_realtext_texts(lang)
        target = megabytes * 1e6 / 2
        path = folder / f"{lang}.jsonl"
        n = size = 0
        with open(path, "w", encoding="utf-8") as f:
            while size < target:
                text = texts[n % len(texts)]
                f.write(json.dumps({"id": f"{lang}-{n}", "text": text}, ensure_ascii=False) + "\n")
                size += len(text.encode())
                n += 1
        out[lang] = (path, n, size)
    return out


def run_ours(data: Path, lang: str, out: Path) -> None:
    from datatrove.executor import LocalPipelineExecutor

    from common.recipe import Recipe
    from common.sources import load_sources
    from curation.config import load_curation
    from curation.filter_stage import build_pipeline
    from curation.stages import StageContext

    recipe = Recipe.from_dict(
        {"workdir": str(out), "sources": [{"kind": "mono", "name": lang, "language": lang, "input": {"path": str(data)}}]}
    )
    ctx = StageContext(recipe=recipe, workdir=out, sources=load_sources(recipe), config=load_curation(recipe))
    LocalPipelineExecutor(build_pipeline(ctx, ctx.sources[0]), tasks=1, workers=1, logging_dir=str(out / "logs")).run()


def run_stock(data: Path, lang: str, out: Path) -> None:
    import numpy as np
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.lid import FT176LID
    from fasttext.FastText import _FastText

    from curation.lid import lid176_path

    def predict(self, text, k=1, threshold=0.0, on_unicode_error="strict"):  # fasttext's, minus the NumPy 2 bug
        pairs = self.f.predict(text, k, threshold, on_unicode_error)
        return tuple(label for _, label in pairs), np.asarray([prob for prob, _ in pairs])

    _FastText.predict = predict
    LanguageFilter._requires_dependencies = []  # it insists on the fasttext-numpy2-wheel distribution
    FT176LID.model = property(lambda self: self.__dict__.setdefault("_m", _FastText(str(lid176_path()))))
    pipeline = [
        JsonlReader(str(data.parent), glob_pattern=data.name),
        LanguageFilter(languages=["en", "zh"], exclusion_writer=JsonlWriter(str(out / "excluded/lang"))),
        GopherRepetitionFilter(exclusion_writer=JsonlWriter(str(out / "excluded/rep"))),
        GopherQualityFilter(exclusion_writer=JsonlWriter(str(out / "excluded/quality"))),
        C4QualityFilter(filter_no_terminal_punct=False, exclusion_writer=JsonlWriter(str(out / "excluded/c4"))),
        JsonlWriter(str(out / "kept")),
    ]
    LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(out / "logs")).run()


def count_kept(out: Path) -> int:
    n = 0
    for file in list(out.glob("stages/**/*.parquet")):
        import pyarrow.parquet as pq

        n += pq.read_metadata(file).num_rows
    for file in out.glob("kept/*.jsonl.gz"):
        with gzip.open(file, "rt") as f:
            n += sum(1 for _ in f)
    return n


def measure(which: str, data: Path, lang: str, workdir: Path, checkout: Path | None = None) -> dict:
    out = workdir / f"{which}-{lang}-{checkout.name if checkout else 'tree'}"
    cmd = [sys.executable, __file__, "--child", which, str(data), lang, str(out)]
    env = {**os.environ, "CURATION_QUIET": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    if checkout:
        env["BENCH_CHECKOUT"] = str(checkout)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{which} {lang} failed:\n{proc.stderr.read().decode()[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": usage.ru_maxrss / 1024, "kept": count_kept(out)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=40.0, help="corpus size in MB of text (half zh, half en)")
    parser.add_argument("--text", choices=("demo", "realtext"), default="demo",
                        help="demo: the demo's web sources; realtext: the real-text build (python -m realtext.build)")
    parser.add_argument("--rev", help="also run our filters as of this commit (a clean git worktree), side by side")
    parser.add_argument("--child", nargs=4, metavar=("WHICH", "DATA", "LANG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        which, data, lang, out = args.child
        (run_ours if which == "ours" else run_stock)(Path(data), lang, Path(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        corpus = build_corpus(workdir, args.mb, args.text)
        runs = [("ours", None), ("stock", None)]
        if args.rev:
            checkout = workdir / f"ours@{args.rev}"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(checkout), args.rev], check=True)
            runs.insert(1, (f"ours@{args.rev}", checkout))
        rows = []
        try:
            for lang, (path, docs, size) in corpus.items():
                for which, checkout in runs:
                    result = measure(which.split("@")[0], path, lang, workdir, checkout)
                    result.update(which=which, lang=lang, docs=docs, mb=size / 1e6, mb_s_core=size / 1e6 / result["cpu_s"])
                    rows.append(result)
                    print(json.dumps(result), file=sys.stderr)
        finally:
            if args.rev:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(runs[1][1])], check=False)
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    print(f"\nmachine: {cpu_model}, {os.cpu_count()} cores; python {platform.python_version()}; "
          f"corpus {args.mb:.0f} MB of {args.text} text\n")
    print("| language | pipeline | docs | MB | wall s | CPU s | MB/s per core | peak RSS MB | kept docs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['lang']} | {r['which']} | {r['docs']:,} | {r['mb']:.1f} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['mb_s_core']:.2f} | {r['peak_rss_mb']:.0f} | {r['kept']:,} |")
    print()
    for lang in corpus:
        ours = next(r for r in rows if r["lang"] == lang and r["which"] == "ours")
        stock = next(r for r in rows if r["lang"] == lang and r["which"] == "stock")
        print(f"{lang}: ours / stock throughput per core = {ours['mb_s_core'] / stock['mb_s_core']:.2f}x; "
              f"peak RSS ratio {ours['peak_rss_mb'] / stock['peak_rss_mb']:.2f}; kept {ours['kept']:,} vs {stock['kept']:,}")
        if args.rev:
            old = next(r for r in rows if r["lang"] == lang and r["which"] == f"ours@{args.rev}")
            print(f"{lang}: ours / ours@{args.rev} throughput per core = {ours['mb_s_core'] / old['mb_s_core']:.2f}x; "
                  f"kept {ours['kept']:,} vs {old['kept']:,}")


if __name__ == "__main__":
    main()
