"""Console policy for datatrove: warnings on the console, everything in the per-task log files.

datatrove's executors attach an INFO-level stderr handler to every task, which buries our own
progress lines and report. With CURATION_QUIET=1 (set by `curation.run` unless --verbose) the stderr
handler is added at WARNING instead; task logs under logs/<stage>/<source>/logs/ stay at DEBUG.

Ctrl-C (`quiet_workers`): a terminal sends SIGINT to every process of the foreground group, and the
worker processes of datatrove's local executor (a `multiprocess` pool, started with "spawn") would each
print a KeyboardInterrupt traceback. They are started with SIGINT blocked instead (the signal mask
survives fork and exec, and Python leaves it alone at startup), so only `curation.run` sees the interrupt:
it leaves the pool's `with` block, which terminates the workers (SIGTERM, silent), and prints one line.
While the driver starts a worker, a Ctrl-C is held back and delivered right after, not lost. The pool's manager and resource tracker processes ignore SIGINT by themselves.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading

from loguru import logger


def quiet_datatrove() -> None:
    import datatrove.executor.base as executor_base
    import datatrove.utils.logging as dt_logging

    def add_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
        logger.remove()
        logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
        fmt = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
        logger.add(sys.stderr, level="WARNING", format="<level>{level}</level> {message}")
        logger.add(logfile, level="DEBUG", format=fmt, colorize=False)
        logger.info(f"Launching pipeline for {rank=}")
        return logfile

    def setup_default_logger():
        logger.remove()
        logger.add(sys.stderr, level="WARNING", format="<level>{level}</level> {message}")

    modules = [dt_logging, executor_base]
    for name in ("datatrove.executor.jobs", "datatrove.executor.ray"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:  # the Ray executor needs ray installed
            pass
    for module in modules:
        if hasattr(module, "add_task_logger"):
            module.add_task_logger = add_task_logger
        if hasattr(module, "setup_default_logger"):
            module.setup_default_logger = setup_default_logger
    setup_default_logger()


def quiet_workers() -> None:
    """Start the worker processes of `multiprocess`'s spawn pools with SIGINT blocked (see the module's
    docstring); the driver keeps its own handler. Idempotent."""
    from multiprocess import popen_spawn_posix

    launch = popen_spawn_posix.Popen._launch
    if getattr(launch, "_sigint_ignored", False):
        return

    def _launch(self, process_obj):
        if threading.current_thread() is not threading.main_thread():  # signal.signal only works there
            return launch(self, process_obj)
        # A Ctrl-C meanwhile is held back, not lost: delivered to the driver once the worker has its data
        # (an interrupt half-way would leave the new worker to fail on its unpickling, with a traceback).
        # The mask is per thread and other threads may take the signal: hence the handler that only notes it.
        noted: list[int] = []
        handler = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # what the new process inherits
        try:
            return launch(self, process_obj)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            signal.signal(signal.SIGINT, handler)
            if noted and callable(handler):
                handler(signal.SIGINT, None)  # Python's default handler: KeyboardInterrupt, now

    _launch._sigint_ignored = True
    popen_spawn_posix.Popen._launch = _launch
