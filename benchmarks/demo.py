"""`heatseq demo` as a whole process: the full run on the bundled airway data.

    python benchmarks/demo.py [--repeats 3] [--keep DIR]

Issue 5's target: the demo finishes in < 60 s on a fresh machine. Prints the wall and CPU
seconds and peak memory of each run (the kernel's accounting of the finished process), the
median, the time per stage from the run's ``run.json``, and PASS/FAIL against 60 s. The first
run of a fresh install also pays for Python's byte-compilation and numba's JIT cache, so it
is printed separately.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Run, run_once

TARGET_S = 60.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="Keep the last run's folder here.")
    args = ap.parse_args()
    heatseq = shutil.which("heatseq") or "heatseq"
    print(f"load average: {os.getloadavg()[0]:.2f} (2-CPU machine; compare on an idle one)")
    runs: list[Run] = []
    stages: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            out = Path(tmp) / f"demo{i}"
            run = run_once("heatseq demo", [heatseq, "-q", "demo", "-o", str(out)])
            runs.append(run)
            print(f"run {i + 1}: wall {run.wall_s:.2f} s, cpu {run.cpu_s:.2f} s, "
                  f"peak {run.peak_mb:.0f} MB, exit {run.returncode}"
                  + ("  (first run: includes byte-compilation/JIT caches)" if i == 0 else ""))
            if run.returncode == 0:
                stages = json.loads((out / "run.json").read_text())["timings"]
        if args.keep is not None and runs and runs[-1].returncode == 0:
            shutil.copytree(Path(tmp) / f"demo{args.repeats - 1}", args.keep, dirs_exist_ok=True)
    ok = [r for r in runs if r.returncode == 0]
    if not ok:
        print("FAIL: heatseq demo did not finish")
        return 1
    median = statistics.median(r.wall_s for r in ok)
    worst = max(r.wall_s for r in ok)
    print("seconds per stage (last run): "
          + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    print(f"median wall {median:.2f} s, slowest {worst:.2f} s; target < {TARGET_S:.0f} s: "
          f"{'PASS' if worst < TARGET_S else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
