"""Progress inside a curation stage: documents and MB done, rate and time left, on `curation.run`'s status line.

Every datatrove pipeline that reads documents gets one more step right after its reader, a `ProgressCounter`
(a plain callable, so datatrove keeps no statistics for it and the report does not change). Each task
counts the documents and text bytes (UTF-8) its reader yields and writes them, at most twice a second, to
`logs/<stage>/<source>/progress/<rank>.json`, tagged with the id of the `curation.run` invocation, so
that tasks finished in an earlier run are never counted again. The command polls those files
(`Running.line`) and, when a stage ends, sums them (`stage_totals`) for its line "N documents, M MB,
R MB/s". Works the same whether the tasks run in the driver (one worker), in a process pool, or under Ray
on one machine.

Time left is estimated from the size of the pipeline's input: a documents folder's row count (its
parquet footers), or for the raw sources of the filter stage their text size (`text_bytes`: the
uncompressed size of .gz and .zst files, parquet's uncompressed size, the file size otherwise).
`estimate_seconds` gives the same estimate before anything runs (`--dry-run`), from measured rates
(`RATES`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

RUN_ID = f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}"
FOLDER = "progress"
MB = 1_000_000

# MB of document text per second and per core, by stage, for `--dry-run`'s estimate: BENCHMARKS.md's numbers
# on 10-20 MB, rounded down (filter 0.5-2 MB/s per core by language and text; MinHash signatures 6-12 and
# tokenize 1.6 MB/s per core, dedup reading its input three times: exact, signatures, removal). The demo
# (2 MB, 2-core VM under load, 2026-12-05) is dominated by starting the pipelines: filter 4.8 s for 7
# pipelines, dedup 25 s for 23, decontaminate 2.8 s for 7, publish 5.8 s for 21, vocab 5.6 s, tokenize 2.0 s;
# hence STARTUP_S per pipeline, and POOL_STARTUP_S more when a pipeline starts worker processes.
RATES = {"filter": 0.5, "dedup": 2.0, "decontaminate": 2.0, "publish": 2.0, "vocab": 0.5, "tokenize": 1.5}
STARTUP_S = 0.5
POOL_STARTUP_S = 3.0


def text_bytes(file: Path) -> int:
    """About how many bytes of text `file` holds: the uncompressed size of a .gz (its trailer) or .zst (its
    frame header, or 4x the file when the header does not say), the uncompressed size of a parquet
    file's row groups, the size of any other file."""
    size = file.stat().st_size
    name = file.name.lower()
    try:
        if name.endswith(".gz") and size >= 18:
            with open(file, "rb") as f:
                f.seek(-4, os.SEEK_END)
                isize = int.from_bytes(f.read(4), "little")  # modulo 4 GiB
            while isize < size:  # a file over 4 GiB of text, or several members: at least as large as itself
                isize += 1 << 32
            return isize
        if name.endswith(".zst"):
            import zstandard

            with open(file, "rb") as f:
                content = zstandard.frame_content_size(f.read(18))
            return content if content > 0 else 4 * size
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(file).metadata
            return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception:  # an unreadable header or footer: the file's own size
        return size
    return size


def parquet_rows(files: Iterable[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(file).metadata.num_rows for file in files)


def step_input(step) -> tuple[list[Path], bool]:
    """The files a pipeline's first step reads, and whether they are documents folders (parquet with known
    row counts) rather than a raw source."""
    source = getattr(step, "source", None)
    if source is not None and hasattr(source, "input"):  # curation.readers.SourceReader
        spec = source.input
        if spec.format == "hf_disk" and spec.path is not None:
            return sorted(p for p in Path(spec.path).rglob("*.arrow") if p.is_file()), False
        return list(spec.files()), False
    folder = getattr(step, "data_folder", None)
    if folder is not None and hasattr(folder, "path"):  # a datatrove reader over a documents folder
        return sorted(Path(folder.path).glob("*.parquet")), True
    return [], False


class ProgressCounter:
    """A pipeline step that passes documents on and counts them (not a PipelineStep on purpose: datatrove's
    stats skip it). Writes {"run", "docs", "bytes", "done"} to `<folder>/<rank>.json`."""

    def __init__(self, folder: str, run_id: str = RUN_ID, every_s: float = 0.5):
        self.folder = folder
        self.run_id = run_id
        self.every_s = every_s

    def __repr__(self) -> str:
        return "ProgressCounter"

    def _write(self, rank: int, docs: int, n_bytes: int, done: bool) -> None:
        path = Path(self.folder) / f"{rank:05d}.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"run": self.run_id, "docs": docs, "bytes": n_bytes, "done": done}))
            tmp.replace(path)
        except OSError:  # progress is a convenience: never fail a task over it
            pass

    def __call__(self, data, rank: int = 0, world_size: int = 1) -> Iterator:
        docs = n_bytes = 0
        last = time.monotonic()
        self._write(rank, 0, 0, False)
        for doc in data:
            docs += 1
            n_bytes += len(doc.text.encode("utf-8", "replace"))
            if not docs & 63 and time.monotonic() - last >= self.every_s:
                self._write(rank, docs, n_bytes, False)
                last = time.monotonic()
            yield doc
        self._write(rank, docs, n_bytes, True)


def read_counts(folder: Path, run_id: str = RUN_ID) -> tuple[int, int]:
    """(documents, bytes) counted in `folder` by this run's tasks."""
    docs = n_bytes = 0
    for file in Path(folder).glob("*.json"):
        try:
            entry = json.loads(file.read_text())
        except (OSError, ValueError):  # being replaced right now: counted at the next poll
            continue
        if isinstance(entry, dict) and entry.get("run") == run_id:
            docs += int(entry.get("docs", 0))
            n_bytes += int(entry.get("bytes", 0))
    return docs, n_bytes


@dataclass
class Running:
    """One pipeline being run: what the status line shows."""

    stage: str
    source: str
    folder: Path  # its progress folder
    total_docs: int | None = None  # documents to read (documents folders), None for a raw source
    total_bytes: int | None = None  # estimated text bytes to read (raw sources)
    started: float = field(default_factory=time.monotonic)
    run_id: str = RUN_ID

    def line(self, now: float | None = None) -> str:
        docs, n_bytes = read_counts(self.folder, self.run_id)
        elapsed = (time.monotonic() if now is None else now) - self.started
        return describe(self.stage, self.source, docs, n_bytes, elapsed, self.total_docs, self.total_bytes)


def describe(stage: str, source: str, docs: int, n_bytes: int, elapsed: float,
             total_docs: int | None = None, total_bytes: int | None = None) -> str:
    """The status line: `filter: zh_web: 1,234 documents, 2.1 MB, 0.70 MB/s, about 12s left`."""
    head = f"{stage}: {source}"
    if docs == 0:
        return f"{head}: starting ..."
    count = f"{docs:,}/{total_docs:,}" if total_docs else f"{docs:,}"
    text = f"{head}: {count} documents, {n_bytes / MB:.1f} MB, {n_bytes / MB / max(elapsed, 1e-9):.2f} MB/s"
    fraction = docs / total_docs if total_docs else n_bytes / total_bytes if total_bytes else None
    if fraction is None:
        return text
    fraction = min(fraction, 0.99)
    return f"{text}, {fraction:.0%}, about {format_seconds(elapsed * (1 - fraction) / fraction)} left"


def format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def instrument(pipeline: list, *, stage: str, source: str, logs_dir: Path, tasks: int) -> tuple[list, Running | None]:
    """`pipeline` with a ProgressCounter after its reader, and what to show while it runs; unchanged (None)
    for a pipeline that reads no documents (dedup's buckets and clusters)."""
    if len(pipeline) < 2 or isinstance(pipeline[1], ProgressCounter):
        return pipeline, None
    folder = Path(logs_dir) / FOLDER
    files, documents = step_input(pipeline[0])
    done = len(list((Path(logs_dir) / "completions").glob("*"))) if (Path(logs_dir) / "completions").is_dir() else 0
    share = max(0, tasks - done) / tasks if tasks else 1.0  # finished tasks are skipped
    running = Running(stage, source, folder)
    try:
        if documents:
            running.total_docs = round(parquet_rows(files) * share) or None
        elif files:
            running.total_bytes = round(sum(text_bytes(f) for f in files) * share) or None
    except Exception:  # an unreadable input fails in its task, with its own message; here: no estimate
        pass
    return [pipeline[0], ProgressCounter(str(folder)), *pipeline[1:]], running


def stage_totals(workdir: Path, stage: str, run_id: str = RUN_ID) -> tuple[int, int]:
    """(documents, bytes) the readers of `stage` passed on in this run, over all its sources and passes."""
    docs = n_bytes = 0
    for folder in sorted((Path(workdir) / "logs" / stage).glob(f"**/{FOLDER}")):
        d, b = read_counts(folder, run_id)
        docs, n_bytes = docs + d, n_bytes + b
    return docs, n_bytes


def estimate_seconds(stage: str, n_bytes: int, pipelines: int, cores: int) -> float:
    """Expected wall time of `stage` over `n_bytes` of text on `cores` worker processes (1: in the driver),
    in `pipelines` datatrove runs."""
    startup = STARTUP_S + (POOL_STARTUP_S if cores > 1 else 0.0)
    return pipelines * startup + n_bytes / MB / (RATES.get(stage, 1.0) * max(1, cores))
