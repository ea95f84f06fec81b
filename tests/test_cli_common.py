"""common.cli: the flags, endings and workdir lock every command shares."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys

import pytest

from common.cli import DEFAULT_RECIPE, LockedError, WorkdirLock, add_common, run_main, verbosity


def parse(argv, **kw):
    return add_common(argparse.ArgumentParser(prog="x"), **kw).parse_args(argv)


def test_shared_flags_parse_the_same_everywhere():
    args = parse([])
    assert args.recipe == str(DEFAULT_RECIPE) and args.output is None and not args.fresh and not args.dry_run
    args = parse(["r.yaml", "--out", "o", "--workdir", "w", "--fresh", "--dry-run", "-vv"])
    assert (args.recipe, args.output, args.workdir, args.fresh, args.dry_run) == ("r.yaml", "o", "w", True, True)
    assert verbosity(args) == 2 and verbosity(parse(["-q"])) == -1
    with pytest.raises(SystemExit):
        parse(["-q", "-v"])  # one or the other
    with pytest.raises(SystemExit):
        parse([], recipe="required")
    assert not hasattr(parse([], fresh=None), "fresh")


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(["--version"])
    assert exit_.value.code == 0 and "zh-adapt" in capsys.readouterr().out


def test_user_error_is_one_line_exit_2(capsys):
    def main():
        raise ValueError("recipe.yaml:3: bad\nsecond line")

    assert run_main(main, prog="x", user_errors=(ValueError,)) == 2
    err = capsys.readouterr().err
    assert err == "error: recipe.yaml:3: bad; second line\n"


def test_other_errors_keep_their_traceback():
    def main():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_main(main, prog="x", user_errors=(ValueError,))


def test_ctrl_c_is_one_line_exit_130(capsys):
    def main():
        raise KeyboardInterrupt

    import signal

    before = signal.getsignal(signal.SIGINT)
    try:
        assert run_main(main, prog="x.run", interrupted=lambda: "during filter") == 130
    finally:
        signal.signal(signal.SIGINT, before)
    err = capsys.readouterr().err.strip()
    assert err == "x.run: interrupted during filter; run the same command again to resume"


def test_lock_is_exclusive_and_released(tmp_path):
    with WorkdirLock(tmp_path, "curation.run a.yaml"):
        owner = json.loads((tmp_path / ".curation.lock").read_text())
        assert owner["pid"] == os.getpid() and owner["command"] == "curation.run a.yaml"
        with pytest.raises(LockedError, match=r"in use by curation.run a.yaml \(pid \d+ on .*delete .*\.curation\.lock"):
            WorkdirLock(tmp_path, "curation.run b.yaml").__enter__()
    assert not (tmp_path / ".curation.lock").exists()
    with WorkdirLock(tmp_path, "curation.run a.yaml"), WorkdirLock(tmp_path, "evaluation.run a.yaml"):
        pass  # other commands may share the workdir
    with pytest.raises(RuntimeError):
        with WorkdirLock(tmp_path, "curation.run"):
            raise RuntimeError("boom")
    assert not (tmp_path / ".curation.lock").exists()  # released whatever the ending


def test_lock_of_a_live_process_stops_the_run(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".curation.lock").write_text(json.dumps(
            {"pid": sleeper.pid, "host": socket.gethostname(), "started": "2026-12-04 10:00:00", "command": "curation.run x.yaml"}))
        with pytest.raises(LockedError, match=f"pid {sleeper.pid}.*started 2026-12-04 10:00:00"):
            WorkdirLock(tmp_path, "curation.run").__enter__()
    finally:
        sleeper.kill()
        sleeper.wait()
    # now its owner is gone: taken over with a note
    with WorkdirLock(tmp_path, "curation.run") as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


def test_lock_of_another_host_is_never_assumed_stale(tmp_path):
    (tmp_path / ".curation.lock").write_text(json.dumps({"pid": 1, "host": "node-17", "started": "x", "command": "curation.run"}))
    with pytest.raises(LockedError, match="on node-17"):
        WorkdirLock(tmp_path, "curation.run").__enter__()
    assert (tmp_path / ".curation.lock").exists()  # untouched


def test_common_cli_imports_nothing_heavy():
    code = "import sys, common.cli; print(sorted(m for m in ('torch', 'transformers', 'datatrove', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
