"""Run whole processes side by side and report wall time and peak memory (from the kernel's
own accounting of each finished child, via ``os.wait4``)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    name: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    returncode: int


def run_once(name: str, cmd: list[str], *, env: dict[str, str] | None = None) -> Run:
    # stderr goes to a file, not a pipe: a chatty child cannot fill the pipe and block
    with tempfile.TemporaryFile() as err_file:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_file,
                                env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: tell Popen
        err_file.seek(0)
        err = err_file.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"  [{name}] exit {code}: {err.strip()[-800:]}")
    return Run(name, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


def run_median(name: str, cmd: list[str], *, repeats: int = 3,
               env: dict[str, str] | None = None,
               after: Callable[[Run], None] | None = None) -> Run:
    """Median wall and CPU seconds of ``repeats`` runs, maximum peak memory; ``after`` is
    called with each run as it finishes (e.g. to collect what the run wrote)."""
    runs = []
    for _ in range(repeats):
        runs.append(run_once(name, cmd, env=env))
        if after is not None:
            after(runs[-1])
    ok = [r for r in runs if r.returncode == 0] or runs
    return Run(name, statistics.median(r.wall_s for r in ok), statistics.median(r.cpu_s for r in ok),
               max(r.peak_mb for r in ok), ok[0].returncode)


def have(program: str) -> bool:
    return shutil.which(program) is not None


def print_table(runs: list[Run], *, baseline: str) -> None:
    base = next(r for r in runs if r.name == baseline)
    print(f"{'tool':<28}{'wall s':>10}{'cpu s':>10}{'peak MB':>10}{'ratio':>10}")
    for r in runs:
        ratio = r.wall_s / base.wall_s if base.wall_s else float("nan")
        flag = "" if r.returncode == 0 else f"  (exit {r.returncode})"
        print(f"{r.name:<28}{r.wall_s:>10.2f}{r.cpu_s:>10.2f}{r.peak_mb:>10.0f}{ratio:>9.1f}x{flag}")


def print_steps(steps: dict[str, list[dict[str, float]]], *, test_digits: int = 2) -> None:
    """Median seconds per stage (``import``, ``load``, ``core``, ``write``) as each process
    timed itself: one row per tool with at least one successful run."""
    import statistics

    print("inside each process, median seconds (own clock):")
    print(f"{'tool':<30}{'imports':>10}{'load':>10}{'test':>10}{'write':>10}")
    for name, rows in steps.items():
        if rows:
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(f"{name:<30}{med['import']:>10.2f}{med['load']:>10.2f}"
                  f"{med['core']:>10.{test_digits}f}{med['write']:>10.2f}")
