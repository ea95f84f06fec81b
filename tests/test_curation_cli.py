"""`python -m curation.run` as a user runs it: one run per workdir, Ctrl-C, missing sbatch, --fresh, --dry-run,
-q, --help, and the progress shown inside long stages (issue 16: 9, 10, 11, 15, 16)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
import zstandard

from curation import progress
from curation.run import OUTPUTS, STAGE_NAMES
from curation.run import main as curation_main
from tests.curation_samples import ZH_GOOD

ROOT = Path(__file__).resolve().parents[1]
DOCS = 300  # per file; two files


def write_project(root: Path, *, tasks: int = 2, workers: int = 2, **curation) -> Path:
    """A Chinese source of two files (DOCS records each) and a recipe that filters and publishes it (no language
    ID, no dedup: quick, and what is tested here is the command around the stages)."""
    (root / "zh").mkdir(parents=True)
    for part in range(2):
        with open(root / "zh" / f"part{part}.jsonl", "w", encoding="utf-8") as f:
            for i in range(DOCS):
                text = f"{ZH_GOOD[i % len(ZH_GOOD)]}第{part}卷第{i}号记录。"
                f.write(json.dumps({"id": f"{part}-{i}", "text": text}, ensure_ascii=False) + "\n")
    recipe = {"workdir": "work",
              "sources": [{"kind": "mono", "name": "zh", "language": "zh", "input": {"path": "zh"}, "tasks": tasks}],
              "curation": {"heldout_fraction": 0.0, "workers": workers, "language_id": {"enabled": False}, **curation},
              "dedup": {"enabled": False}}
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True))
    return root / "recipe.yaml"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "curation.run", *args]


def env(**extra: str) -> dict[str, str]:
    """This checkout's code; without CURATION_QUIET, which in-process runs of curation.run leave set here."""
    return {**{k: v for k, v in os.environ.items() if k != "CURATION_QUIET"}, "PYTHONPATH": str(ROOT), **extra}


def start(root: Path, recipe: Path, log: Path) -> subprocess.Popen:
    """curation.run in its own process group (as a terminal's foreground job), output into `log`."""
    with open(log, "w") as out:
        return subprocess.Popen(command(str(recipe)), cwd=root, stdout=out, stderr=subprocess.STDOUT, env=env(),
                                start_new_session=True)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"the run ended before {path} appeared"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def pool_workers(group: int) -> list[int]:
    """The processes of `group` started by a `multiprocess` spawn pool that run Python code already: Python
    has installed its SIGINT handler (before that, SIGINT would end them silently). Linux /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) != group or b"spawn_main" not in (entry / "cmdline").read_bytes():
                    continue
                status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
                if int(status["SigCgt"], 16) & (1 << (signal.SIGINT - 1)):
                    found.append(int(entry.name))
            except (OSError, KeyError, ValueError):  # gone meanwhile
                pass
    return found


def report(root: Path) -> dict:
    return json.loads((root / "work" / "curated" / "_report.json").read_text())["sources"]["zh"]


@pytest.mark.slow
def test_a_second_run_on_a_busy_workdir_stops_with_one_line_and_the_first_finishes(tmp_path):
    recipe = write_project(tmp_path)
    first = start(tmp_path, recipe, tmp_path / "first.log")
    try:
        wait_for(tmp_path / "work" / "logs" / "filter" / "zh", first)
        os.killpg(first.pid, signal.SIGSTOP)  # holds the lock, mid-stage, for as long as the test needs
        second = subprocess.run(command(str(recipe)), cwd=tmp_path, capture_output=True, text=True, env=env(), timeout=120)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
    assert f"pid {first.pid}" in lines[0] and "started" in lines[0] and ".curation.lock" in lines[0]
    assert first.wait(300) == 0
    log = (tmp_path / "first.log").read_text()
    assert "Traceback" not in log and "INFO" not in log  # datatrove's INFO lines only with -v, also in the pool
    assert "filter: done in" in log and "600 documents" in log and "MB/s" in log  # the stage's line (not a tty)
    assert report(tmp_path)["read"]["docs"] == 2 * DOCS and report(tmp_path)["balanced"]
    assert not (tmp_path / "work" / ".curation.lock").exists()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds the worker processes in /proc")
def test_ctrl_c_in_a_stage_is_one_line_and_a_rerun_completes(tmp_path):
    recipe = write_project(tmp_path)
    log = tmp_path / "run.log"
    run = start(tmp_path, recipe, log)
    # the filter stage has started its process pool: its workers are starting (importing datatrove and the
    # pipeline), when each would print a KeyboardInterrupt traceback of its own
    deadline = time.monotonic() + 120
    while not pool_workers(run.pid):
        assert run.poll() is None and time.monotonic() < deadline, "no worker process started"
        time.sleep(0.02)
    before = log.read_text()
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    assert run.wait(120) == 130
    output = log.read_text()
    after = output[len(before):].strip().splitlines()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert len(after) <= 3, output
    assert after[-1].startswith("curation.run: interrupted during filter / zh") and "run the same command again" in after[-1]
    rerun = subprocess.run(command(str(recipe)), cwd=tmp_path, capture_output=True, text=True, env=env(), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    entry = report(tmp_path)
    kept = entry["kept"]["docs"]
    removed = sum(step["docs"] for step in entry["removed"].values())
    assert entry["read"]["docs"] == 2 * DOCS and kept + removed == 2 * DOCS and entry["balanced"]


def test_slurm_without_sbatch_is_one_line_before_anything_is_written(tmp_path):
    recipe = write_project(tmp_path, executor="slurm")
    bin_dir = Path(sys.executable).parent
    assert not (bin_dir / "sbatch").exists()
    done = subprocess.run(command(str(recipe)), cwd=tmp_path, capture_output=True, text=True,
                          env=env(PATH=str(bin_dir)), timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "Traceback" not in done.stderr
    assert "sbatch" in done.stderr and "--executor local" in done.stderr
    assert not (tmp_path / "work").exists()


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_dry_run_lists_tasks_inputs_outputs_and_time_and_writes_nothing(tmp_path, capsys):
    recipe = write_project(tmp_path)
    (tmp_path / "work" / "stages" / "filter").mkdir(parents=True)  # an earlier run's outputs: --fresh keeps them
    before = tree(tmp_path)
    assert curation_main([str(recipe), "--dry-run", "--fresh"]) == 0
    assert tree(tmp_path) == before
    err = capsys.readouterr().err
    assert "nothing is run or written" in err and "--fresh would first delete stages/" in err
    filter_line = next(line for line in err.splitlines() if line.startswith("  zh:"))
    assert "2 task(s), 2 at once" in filter_line and "zh/part0.jsonl" in filter_line and "kB" in filter_line
    assert "-> stages/filter/zh/" in filter_line and "about " in filter_line
    assert "publish: writes curated/{s}/, heldout/{s}/" in err and "dedup: disabled in the recipe" in err
    assert "total: about" in err and "Traceback" not in err


def test_fresh_deletes_only_curation_outputs_and_quiet_prints_only_the_result(tmp_path, capsys):
    recipe = write_project(tmp_path, tasks=1, workers=1)
    work = tmp_path / "work"
    for name in OUTPUTS:
        (work / name).mkdir(parents=True)
        (work / name / "old").write_text("from an earlier run")
    for other in ("checkpoints", "eval"):
        (work / other).mkdir()
        (work / other / "keep").write_text("not curation's")
    assert curation_main([str(recipe), "--fresh", "-q", "--until", "filter"]) == 0
    assert not any((work / name / "old").exists() for name in OUTPUTS)
    assert (work / "checkpoints" / "keep").exists() and (work / "eval" / "keep").exists()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("report:"), err


def test_help_imports_no_stage_datatrove_or_rich():
    code = ("import sys, curation.run; print(sorted(m for m in ('datatrove', 'rich', 'curation.stages', 'pydantic', "
            "'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(), timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
    started = time.perf_counter()
    done = subprocess.run(command("--help"), capture_output=True, text=True, env=env(), timeout=60)
    assert done.returncode == 0 and "--dry-run" in done.stdout and "--force STAGE" in done.stdout
    print(f"--help took {time.perf_counter() - started:.2f}s")  # under 1 s on an idle machine (docs/errors.md)


def test_old_and_shared_flags_parse():
    from curation.run import build_parser

    parser = build_parser()
    assert parser.parse_args(["--verbose"]).verbose == 1 and parser.parse_args(["-q"]).quiet
    args = parser.parse_args(["r.yaml", "--force", "dedup", "--until", "publish", "--fresh", "--dry-run", "--workdir", "w"])
    assert (args.recipe, args.force, args.until, args.fresh, args.dry_run, args.workdir) == ("r.yaml", "dedup", "publish", True, True, "w")
    assert parser.parse_args([]).recipe.endswith("recipes/demo.yaml")


def test_stage_names_are_the_stage_modules():
    from curation.stages import stages

    assert STAGE_NAMES == tuple(module.STAGE for module in stages())


# -- progress ---------------------------------------------------------------------------------------------


def test_progress_line_counts_rate_and_time_left():
    assert progress.describe("dedup", "zh", 0, 0, 1.0, total_docs=10) == "dedup: zh: starting ..."
    line = progress.describe("dedup", "zh", 250, 2_000_000, 4.0, total_docs=1000)
    assert line == "dedup: zh: 250/1,000 documents, 2.0 MB, 0.50 MB/s, 25%, about 12s left"
    line = progress.describe("filter", "web", 1234, 3_000_000, 60.0, total_bytes=12_000_000)
    assert line == "filter: web: 1,234 documents, 3.0 MB, 0.05 MB/s, 25%, about 3m00s left"
    assert progress.describe("filter", "web", 5, 1000, 1.0).endswith("0.00 MB/s")  # no size known: no estimate
    assert progress.format_seconds(7322) == "2h02m"


def test_progress_counter_counts_only_this_runs_tasks(tmp_path):
    from datatrove.data import Document

    folder = tmp_path / "progress"
    counter = progress.ProgressCounter(str(folder), run_id="this-run")
    docs = [Document(text="中文" * 10, id=str(i)) for i in range(100)]
    assert [d.id for d in counter(iter(docs), rank=3)] == [d.id for d in docs]  # passes every document on
    (folder / "00000.json").write_text(json.dumps({"run": "an-earlier-run", "docs": 7, "bytes": 70, "done": True}))
    assert progress.read_counts(folder, "this-run") == (100, 100 * 60)
    assert json.loads((folder / "00003.json").read_text())["done"] is True


def test_text_size_of_compressed_inputs(tmp_path):
    text = ("今天天气很好。" * 1000).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(text))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(text))
    (tmp_path / "a.jsonl").write_bytes(text)
    assert {progress.text_bytes(tmp_path / name) for name in ("a.jsonl.gz", "a.jsonl.zst", "a.jsonl")} == {len(text)}


def test_a_documents_reader_gets_a_counter_and_its_total(tmp_path):
    from curation.io import documents_reader, documents_writer
    from tests.curation_helpers import write_documents

    folder = write_documents(tmp_path / "docs", [{"id": str(i), "text": "字" * 10} for i in range(5)])
    pipeline = [documents_reader(folder), documents_writer(tmp_path / "out")]
    instrumented, running = progress.instrument(pipeline, stage="dedup", source="zh", logs_dir=tmp_path / "logs", tasks=1)
    assert isinstance(instrumented[1], progress.ProgressCounter) and running.total_docs == 5
    assert progress.instrument([pipeline[1]], stage="dedup", source="zh", logs_dir=tmp_path, tasks=1)[1] is None
