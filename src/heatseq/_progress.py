"""Progress display for the CLI's long stages (rich), silent with ``--quiet``."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["Stages"]

log = logging.getLogger("heatseq")


class Stages:
    """A progress bar over named stages: ``with stages.step("dispersions"): ...``."""

    def __init__(self, names: list[str], *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.timings: dict[str, float] = {}
        self._progress = None if quiet else Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
            console=Console(file=sys.stderr), transient=False,
        )
        self._task = None
        self._n = len(names)
        self._current: tuple[str, float] | None = None

    def __enter__(self) -> Stages:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("starting", total=self._n)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._close_current()
        if self._progress is not None:
            self._progress.stop()

    def start(self, name: str) -> None:
        """End the running stage (if any) and start ``name``: for callers that report the
        stages of a long function as it reaches them (a callback), not as ``with`` blocks."""
        self._close_current()
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=name)
        self._current = (name, time.perf_counter())

    def _close_current(self) -> None:
        if self._current is None:
            return
        name, t = self._current
        self._current = None
        self.timings[name] = time.perf_counter() - t
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=name)
        t = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - t
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
