"""Running independent tasks in forked worker processes (Linux), for the CPU-bound steps.

heatseq's vectorised NumPy loops spend much of their time between short NumPy calls that
hold the GIL, so two of them on threads run little faster than one after the other; in
processes they run side by side. The workers are forked, so they inherit the tasks and
their data copy-on-write: only a task's index goes to a worker and only its result comes
back (pickled). Where fork is not available the tasks run one after the other here, with
the same results.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from heatseq.errors import InputError

__all__ = ["available_cores", "can_fork", "resolve_jobs", "run_forked"]


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def resolve_jobs(n_jobs: int | None) -> int:
    """``n_jobs`` checked: None means :func:`available_cores`; otherwise at least 1."""
    if n_jobs is None:
        return available_cores()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise InputError(f"n_jobs must be a whole number >= 1 (or None for the available "
                         f"cores); got {n_jobs!r}.")
    return int(n_jobs)


#: The tasks of the running pool, inherited by its forked workers; one pool at a time (a
#: second caller, on another thread or inside a worker, runs its tasks in place).
_FORKED: Sequence[Callable[[], Any]] | None = None
_POOL_LOCK = threading.Lock()


def _forked_task(i: int) -> Any:
    assert _FORKED is not None
    return _FORKED[i]()


def can_fork() -> bool:
    """Whether :func:`run_forked` runs its tasks in worker processes here (Linux)."""
    return sys.platform.startswith("linux")


def run_forked(tasks: Sequence[Callable[[], Any]], *, n_jobs: int) -> list[Any]:
    """Call each of ``tasks`` (no arguments) in a pool of ``n_jobs`` forked processes and
    return their results in order; on one job, or where fork is not available, here.

    The workers inherit the tasks and their data (copy-on-write), so only a task's index
    goes to a worker and only its result comes back (pickled). An exception in a task is
    raised here.
    """
    n_jobs = min(int(n_jobs), len(tasks))
    if n_jobs <= 1 or not can_fork():
        return [task() for task in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _FORKED
    if _FORKED is not None or not _POOL_LOCK.acquire(blocking=False):
        return [task() for task in tasks]
    _FORKED = tuple(tasks)
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns that forking a process with threads (a progress bar's
            # refresh thread, a web server) may deadlock the child on a lock another thread
            # held; the workers only run NumPy on inherited arrays and send back the result.
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
                return list(pool.map(_forked_task, range(len(tasks))))
    finally:
        _FORKED = None
        _POOL_LOCK.release()


