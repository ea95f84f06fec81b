"""What every command shares, so that six commands feel like one tool.

- The same flags (`add_common`): the recipe (the demo's by default everywhere), `--workdir`,
  `--output` (`--out` kept as an alias), `--fresh`, `--dry-run`, `--version`, `-v/--verbose`, `-q/--quiet`.
  Each command adds only what is its own (`--force STAGE`, `--model`, ...).
- The same endings (`run_main`): exit 0 on success; a mistake in the user's input is one line
  `error: ...` and exit 2; Ctrl-C is one line naming what was interrupted and that a rerun resumes,
  exit 130; never a traceback for either.
- One run of a command per workdir at a time (`WorkdirLock`): a second curation (or training) run on the
  same workdir stops with one line naming the other (pid, host, start time, command) and how to clear a
  lock its owner left behind. Different commands may share a workdir (evaluating while training is fine).

Stdlib only, so that `--help` answers before any heavy import: commands parse their arguments first
and import torch, transformers or datatrove after.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

DEFAULT_RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "demo.yaml"

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def version() -> str:
    """The installed toolkit's version (pyproject's), without importing any stage."""
    try:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        return dist_version("zh-adapt")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def add_common(
    parser: argparse.ArgumentParser,
    *,
    recipe: str = "demo",
    output: str | None = "output folder",
    workdir: bool = True,
    fresh: str | None = "start over: delete this command's previous outputs first",
    dry_run: str | None = "say what would run, read and be written, and write nothing",
) -> argparse.ArgumentParser:
    """Add the shared flags to `parser`. `recipe` is "demo" (optional, the demo's by default), "required",
    or "none"; pass None for a flag the command has no use for (it is then not offered)."""
    if recipe == "demo":
        parser.add_argument("recipe", nargs="?", default=str(DEFAULT_RECIPE),
                            help="recipe YAML (default: recipes/demo.yaml)")
    elif recipe == "required":
        parser.add_argument("recipe", help="recipe YAML")
    if workdir:
        parser.add_argument("--workdir", help="override the recipe's workdir")
    if output:
        parser.add_argument("--output", "--out", dest="output", metavar="DIR", help=output)
    if fresh:
        parser.add_argument("--fresh", action="store_true", help=fresh)
    if dry_run:
        parser.add_argument("--dry-run", action="store_true", help=dry_run)
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0,
                           help="more detail: the libraries' INFO logs and warnings too")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings, errors and the result")
    parser.add_argument("--version", action="version", version=f"%(prog)s (zh-adapt {version()})")
    return parser


def verbosity(args: argparse.Namespace) -> int:
    """-1 quiet, 0 default, 1+ verbose."""
    return -1 if getattr(args, "quiet", False) else int(getattr(args, "verbose", 0) or 0)


def quiet_libraries(level: int) -> None:
    """The libraries' chatter only with -v: Python logging of transformers, datasets, accelerate, torch and
    huggingface_hub at WARNING (ERROR with -q), their `warnings` (e.g. "sequence length is longer than the
    specified maximum") silenced unless -v. Call after parsing; it imports nothing heavy itself."""
    import logging
    import warnings

    root_level = logging.ERROR if level < 0 else logging.WARNING if level == 0 else logging.INFO
    logging.basicConfig(level=root_level, format="%(levelname)s %(name)s: %(message)s")
    for name in ("transformers", "datasets", "accelerate", "torch", "huggingface_hub", "filelock", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR if level <= 0 else logging.INFO)
    if level <= 0:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"(transformers|torch|accelerate)\.")
        warnings.filterwarnings("ignore", category=FutureWarning)


def run_main(
    main: Callable[[], int | None],
    *,
    prog: str,
    user_errors: Iterable[type[BaseException]] = (),
    interrupted: Callable[[], str] | str = "",
) -> int:
    """Call `main()` and turn its endings into exit codes and one line each.

    `user_errors`: exception types that mean a mistake in the input (a recipe, a file): `error: <message>`,
    exit 2. Ctrl-C: `<prog>: interrupted <what>; run the same command again to resume`, exit 130 (`interrupted`
    says what was running: a string, or a callable asked at that moment). Anything else is a bug and keeps
    its traceback."""
    errors = tuple(user_errors) + (LockedError,)
    try:
        code = main()
        return EXIT_OK if code is None else int(code)
    except errors as err:
        print(f"error: {one_line(err)}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # children of a process pool print their own KeyboardInterrupt tracebacks; stop listening to further
        # Ctrl-C so that our cleanup and this line are the last word
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        what = interrupted() if callable(interrupted) else interrupted
        print(f"\n{prog}: interrupted{' ' + what if what else ''}; run the same command again to resume",
              file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`
        sys.stderr.close()
        return EXIT_OK


def one_line(err: BaseException) -> str:
    """An exception's message as one line (multi-line messages are joined with '; ')."""
    text = str(err).strip() or type(err).__name__
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


class LockedError(RuntimeError):
    """Another run holds the workdir."""


class WorkdirLock:
    """One run of a command per workdir: `with WorkdirLock(workdir, "curation.run recipe.yaml"):`.

    The lock is `WORKDIR/.<command's package>.lock` (`.curation.lock`), created with O_EXCL and holding the owner's pid, host, start time and
    command. A lock whose owner is gone (same host, pid no longer alive) is taken over with a note; a lock
    of a live process, or of another host (which this host cannot check), stops the run with one line
    that says how to clear it. Released on exit, whatever the ending (not on kill -9: then the next run
    on the same host takes it over)."""

    def __init__(self, workdir: Path | str, command: str):
        self.workdir = Path(workdir)
        self.path = self.workdir / f".{command.split()[0].split('.')[0]}.lock"
        self.command = command
        self.held = False

    def __enter__(self) -> WorkdirLock:
        self.workdir.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": self.command}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and not self._stale(owner):
                    raise LockedError(
                        f"{self.workdir} is in use by {owner.get('command', '?')} (pid {owner.get('pid', '?')} on "
                        f"{owner.get('host', '?')}, started {owner.get('started', '?')}); wait for it to finish, or if "
                        f"that run is gone, delete {self.path}"
                    ) from None
                if owner is not None:
                    print(f"note: {self.path}: taking over the lock of {owner.get('command', '?')} "
                          f"(pid {owner.get('pid')} is no longer running)", file=sys.stderr)
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return self
        raise LockedError(f"{self.path}: could not take the workdir lock; delete it if no run is using {self.workdir}")

    def _owner(self) -> dict | None:
        """The lock's content; None when it is unreadable (a half-written lock: its writer died at once)."""
        try:
            owner = json.loads(self.path.read_text())
            return owner if isinstance(owner, dict) else None
        except (OSError, ValueError):
            return None

    @staticmethod
    def _stale(owner: dict) -> bool:
        if owner.get("host") != socket.gethostname():
            return False  # another machine's process: cannot tell, so never assume it is gone
        pid = owner.get("pid")
        if not isinstance(pid, int) or pid <= 0:
            return True
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's
            return False
        return False

    def __exit__(self, *exc) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
