"""Console policy for datatrove: warnings on the console, everything in the per-task log files.

datatrove's executors attach an INFO-level stderr handler to every task, which buries our own
progress lines and report. With CURATION_QUIET=1 (set by `curation.run` unless --verbose) the stderr
handler is added at WARNING instead; task logs under logs/<stage>/<source>/logs/ stay at DEBUG.

Ctrl-C (`quiet_workers`): a terminal sends SIGINT to every process of the foreground group, and the
worker processes of datatrove's local executor (a `multiprocess` pool, started with "spawn") would each
print a KeyboardInterrupt traceback. They are started with SIGINT blocked instead (the signal mask
survives fork and exec, and Python leaves it alone at startup), so only `curation.run` sees the interrupt:
it leaves the pool's `with` block, which terminates the workers (SIGTERM, silent), and prints one line.
While the driver builds a pool or starts a worker, a Ctrl-C is held back and delivered right after, not
lost (half-built, the pool would restart its workers during the interpreter's exit, and those would
print an EOFError traceback). The pool's manager and resource tracker processes ignore SIGINT by themselves.
And the pool's `terminate` no longer hangs when its task handler was writing a task that the stopped
workers will never read (`_help_stuff_finish`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
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


@contextlib.contextmanager
def _sigint_held(block: bool = False):
    """Hold a Ctrl-C back until the block is done, then deliver it (Python's handler: KeyboardInterrupt). With
    `block`, SIGINT is also blocked in this thread, a mask that processes started meanwhile inherit. The
    mask is per thread and another thread may take the signal: hence the handler that only notes it."""
    if threading.current_thread() is not threading.main_thread():  # signal.signal only works there
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if block else None
        try:
            yield
        finally:
            if mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return
    noted: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if block else None
    try:
        yield
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, handler)
        if noted and callable(handler):
            handler(signal.SIGINT, None)


def quiet_workers() -> None:
    """Start the worker processes of `multiprocess`'s spawn pools with SIGINT blocked, and build a pool
    whole or not at all (see the module's docstring); the driver keeps its own handler. Idempotent."""
    from multiprocess import pool, popen_spawn_posix

    launch = popen_spawn_posix.Popen._launch
    if getattr(launch, "_sigint_held", False):
        return
    build = pool.Pool.__init__

    def _launch(self, process_obj):
        # a Ctrl-C meanwhile would leave the new worker without its data (EOFError, with a traceback)
        with _sigint_held(block=True):
            return launch(self, process_obj)

    def __init__(self, *args, **kwargs):
        # a Ctrl-C half-way would leave a pool without its finalizer, whose thread restarts the workers that
        # the interpreter's exit stops: their start never completes (EOFError, with a traceback)
        with _sigint_held():
            build(self, *args, **kwargs)

    help_finish = pool.Pool._help_stuff_finish

    def _help_stuff_finish(inqueue, task_handler, size):
        # Pool.terminate joins its task handler, which can be blocked writing a large task (datatrove's
        # pickled pipeline) into the pipe of workers that are being stopped: nobody would read it, and the
        # driver would hang after Ctrl-C. Having taken the workers' read lock, the pool drains what is there;
        # this keeps draining until the task handler has finished.
        help_finish(inqueue, task_handler, size)

        def drain() -> None:
            fd = inqueue._reader.fileno()
            while task_handler.is_alive():
                try:
                    if select.select([fd], [], [], 0.1)[0]:
                        os.read(fd, 1 << 16)
                except OSError:
                    return

        threading.Thread(target=drain, name="pool-drain", daemon=True).start()

    _launch._sigint_held = True
    popen_spawn_posix.Popen._launch = _launch
    pool.Pool.__init__ = __init__
    pool.Pool._help_stuff_finish = staticmethod(_help_stuff_finish)
