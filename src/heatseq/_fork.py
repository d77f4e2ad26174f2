"""Running independent tasks in forked worker processes (Linux), for the CPU-bound steps.

heatseq's vectorised NumPy loops spend much of their time between short NumPy calls that
hold the GIL, so two of them on threads run little faster than one after the other; in
processes they run side by side. The workers are forked, so they inherit the tasks and
their data copy-on-write: only a task's index goes to a worker and only its result comes
back (pickled). Where fork is not available the tasks run one after the other here, with
the same results.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from heatseq.errors import InputError

__all__ = ["Background", "available_cores", "can_fork", "resolve_jobs", "run_forked", "worker_pool"]


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


class Background:
    """One call run in a forked child process while this process goes on (Linux); elsewhere,
    or when asked with ``fork=False``, it runs when :meth:`result` is first called.

    For a step whose result is needed later and whose work is independent of what runs in
    between (``heatseq de`` looks up gene symbols while the model is fitted): the second core
    does it in the serial parts of the other step, where it would wait idle. (Writing the
    fit's tables during apeglm's shrinkage gained nothing: both cores are busy there.) The child inherits the call's data copy-on-write; its
    result (or exception) comes back pickled through a pipe, and the warnings it raised are
    raised again here, in order, when the result is collected. The child must not write to
    the terminal (a thread of this process may hold the console's lock at the fork).
    """

    def __init__(self, fn: Callable[[], Any], *, fork: bool = True) -> None:
        self._fn: Callable[[], Any] | None = fn
        self._pid: int | None = None
        self._fd: int | None = None
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        if fork and can_fork():
            read, write = os.pipe()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12)
                pid = os.fork()
            if pid == 0:  # pragma: no cover - the child; coverage does not follow a fork
                os.close(read)
                self._child(write)
            os.close(write)
            self._pid, self._fd = pid, read

    @staticmethod
    def _payload(fn: Callable[[], Any]) -> bytes:
        import pickle

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out: tuple[Any, ...] = ("ok", fn())
            except BaseException as exc:
                out = ("error", exc)
        found = [(w.message, w.category) for w in caught]
        try:
            return pickle.dumps((*out, found), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return pickle.dumps(("error", RuntimeError(f"background step failed: {exc!r}"), found))

    def _child(self, fd: int) -> None:  # pragma: no cover - runs in the forked child
        code = 1
        try:
            assert self._fn is not None
            data = self._payload(self._fn)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)

    def result(self) -> Any:
        """The call's return value (waiting for the child); its exception is raised here."""
        if not self._done:
            self._collect()
        if self._error is not None:
            raise self._error
        return self._value

    def _collect(self) -> None:
        import pickle

        self._done = True
        if self._pid is None:
            assert self._fn is not None
            data = self._payload(self._fn)
        else:
            assert self._fd is not None
            with os.fdopen(self._fd, "rb") as src:
                data = src.read()  # read to the end before waiting: the pipe's buffer is small
            _, status = os.waitpid(self._pid, 0)
            if not data:
                self._fn = None
                self._error = RuntimeError(
                    f"a background worker process ended without a result (wait status {status}); "
                    "it may have been killed for lack of memory.")
                return
        self._fn = None
        kind, value, found = pickle.loads(data)
        for message, category in found:
            warnings.warn(message, category, stacklevel=3)
        if kind == "ok":
            self._value = value
        else:
            self._error = value

    def __del__(self) -> None:  # a result never asked for: do not leave a zombie behind
        if self._pid is not None and not self._done:
            with contextlib.suppress(OSError):
                if self._fd is not None:
                    os.close(self._fd)
                os.waitpid(self._pid, 0)


#: The worker pool of :func:`worker_pool` (executor, owning process and thread), when one is
#: open; other threads (a web server's analyses) and forked children do not use it.
_PERSISTENT: tuple[Any, int, int] | None = None
_PERSISTENT_LOCK = threading.Lock()


@contextlib.contextmanager
def worker_pool(n_jobs: int) -> Iterator[None]:
    """Keep ``n_jobs`` forked worker processes for every :func:`run_forked` call in the block.

    Without it each call forks a fresh pool, whose workers inherit the data copy-on-write
    and pay a page fault for every page they write first: on airway 0.1 s in each worker of
    each of the six pools of ``heatseq de``, as much as the work of its first task, so that
    two workers were little faster than one. The pool opened here is forked once; its
    workers receive each task pickled (only a few MB of arrays per step) and reuse the
    memory they have touched. Tasks that cannot be pickled run as before. The results are
    the same either way: the same calls on the same arrays.
    """
    global _PERSISTENT
    if n_jobs <= 1 or not can_fork() or not _PERSISTENT_LOCK.acquire(blocking=False):
        yield  # one pool at a time: a second caller's tasks fork as without a pool
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12)
            pool = ProcessPoolExecutor(max_workers=n_jobs, initializer=_one_blas_thread_for_good,
                                       mp_context=multiprocessing.get_context("fork"))
        _PERSISTENT = (pool, os.getpid(), threading.get_ident())
        try:
            yield
        finally:
            _PERSISTENT = None
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        _PERSISTENT_LOCK.release()


def _one_blas_thread_for_good() -> None:
    """In a pool worker: BLAS on one thread (the workers are the parallelism), as the
    callers' ``one_blas_thread`` blocks give a worker forked inside them."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - then BLAS threads follow the environment
        return
    threadpool_limits(limits=1, user_api="blas")


def _call(task: Callable[[], Any]) -> Any:
    return task()


def _on_persistent(tasks: Sequence[Callable[[], Any]]) -> list[Any] | None:
    """The tasks' results from the open :func:`worker_pool`; None if there is none here or
    a task cannot be pickled."""
    if _PERSISTENT is None or _PERSISTENT[1:] != (os.getpid(), threading.get_ident()):
        return None
    import pickle

    try:
        for task in tasks:
            pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(_PERSISTENT[0].map(_call, tasks))


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
    done = _on_persistent(tasks)
    if done is not None:
        return done
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


