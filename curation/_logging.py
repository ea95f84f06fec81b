"""Console policy for datatrove: warnings on the console, everything in the per-task log files.

datatrove's executors attach an INFO-level stderr handler to every task, which buries our own
progress lines and report. With CURATION_QUIET=1 (set by `curation.run` unless --verbose) the stderr
handler is added at WARNING instead; task logs under logs/<stage>/<source>/logs/ stay at DEBUG.
"""

from __future__ import annotations

import importlib
import sys

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
