"""Clustered heatmap, whole processes side by side: heatseq vs seaborn.clustermap vs pheatmap.

    python benchmarks/heatmap.py [--gen ../shared/tools/gen_logexpr.py] [--repeats 1]
                                 [--skip-60k] [--peer-timeout 900]

1. 20,000 genes x 50 samples (the seeded generator ``gen_logexpr.py``, run as a script), row
   z-scores, euclidean distances, complete linkage on both axes, written to a 300 dpi PNG:
   ``heatseq heatmap``, ``seaborn.clustermap(z_score=0, method="complete", figsize=(10, 12))``
   + ``savefig(dpi=300)``, and ``pheatmap(scale="row", clustering_method="complete")`` via
   Rscript when R and pheatmap are installed (``apt-get install r-cran-pheatmap``). Every
   tool reads the same gzipped TSV and draws no row names. Prints wall time, CPU time, peak
   memory (the kernel's maxrss of each finished process), the ratios against heatseq with
   the targets (>= 2x faster than seaborn, >= 5x faster than pheatmap), and where heatseq's
   time goes, wall and CPU seconds per stage (read + transform, distances, linkage, modules,
   drawing, saving, start-up), from heatseq's ``--timings-file``.
2. 60,000 x 100 with Ward linkage (``ward.D2``; heatseq uses fastcluster's memory-saving
   ``linkage_vector``, no distance matrix): heatseq must finish within 4 GB; the peers run
   with the same method under a time limit and a 12 GB address-space limit, and their
   outcome (time, memory, or the error) is printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Run, have, print_table, run_median

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GEN = Path("../shared/tools/gen_logexpr.py")
PEER_MEMORY = 12 * 1024**3

SEABORN = """
import sys
import matplotlib
matplotlib.use("Agg")
import pandas as pd
import seaborn as sns
df = pd.read_csv(sys.argv[1], sep="\\t", index_col=0)
g = sns.clustermap(df, z_score=0, method=sys.argv[3], metric="euclidean", figsize=(10, 12),
                   cmap="RdBu_r", center=0, yticklabels=False)
g.savefig(sys.argv[2], dpi=300)
"""

PHEATMAP = """
args <- commandArgs(TRUE)
suppressMessages(library(pheatmap))
m <- as.matrix(read.delim(gzfile(args[1]), row.names = 1, check.names = FALSE))
pheatmap(m, scale = "row", clustering_method = args[3], clustering_distance_rows = "euclidean",
         clustering_distance_cols = "euclidean", show_rownames = FALSE, filename = args[2],
         width = 10, height = 12)
"""


def _generate(gen: Path, n: int, m: int, folder: Path) -> Path:
    stem = folder / f"m{n}x{m}"
    subprocess.run([sys.executable, str(gen), str(n), str(m), str(stem), "--tsv"], check=True)
    (folder / f"m{n}x{m}.f64").unlink(missing_ok=True)  # only the TSV is used
    return Path(f"{stem}.tsv.gz")


def _heatseq_cmd(matrix: Path, out: Path, method: str, timings: Path) -> list[str]:
    exe = shutil.which("heatseq")
    base = [exe] if exe else [sys.executable, "-c", "from heatseq.cli import main; main()"]
    return [*base, "--quiet", "heatmap", str(matrix), "--transform", "none", "--genes", "all",
            "--scale", "row", "--metric", "euclidean", "--linkage", method,
            "-o", str(out), "--timings-file", str(timings)]


def _have_seaborn() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import seaborn"], capture_output=True)
    return probe.returncode == 0


def _have_pheatmap() -> bool:
    if not have("Rscript"):
        return False
    probe = subprocess.run(["Rscript", "-e", "library(pheatmap)"], capture_output=True)
    return probe.returncode == 0


def _limited(cmd: list[str], *, seconds: int) -> list[str]:
    """The command under a wall-clock limit (coreutils timeout)."""
    return ["timeout", "--signal=KILL", str(seconds), *cmd] if have("timeout") else cmd


def _peers(matrix: Path, folder: Path, *, method_py: str, method_r: str, repeats: int,
           timeout: int | None) -> list[Run]:
    runs = []
    if _have_seaborn():
        script = folder / "clustermap.py"
        script.write_text(SEABORN)
        cmd = [sys.executable, str(script), str(matrix), str(folder / "seaborn.png"), method_py]
        runs.append(run_median("seaborn.clustermap", _limited(cmd, seconds=timeout)
                               if timeout else cmd, repeats=repeats))
    else:
        print("seaborn is not installed (pip install seaborn): skipped")
    if _have_pheatmap():
        script = folder / "pheatmap.R"
        script.write_text(PHEATMAP)
        cmd = ["Rscript", str(script), str(matrix), str(folder / "pheatmap.png"), method_r]
        runs.append(run_median("pheatmap (R)", _limited(cmd, seconds=timeout)
                               if timeout else cmd, repeats=repeats))
    else:
        print("R pheatmap is not installed (apt-get install r-cran-pheatmap): skipped")
    return runs


def _breakdown(timings_file: Path, wall: float, cpu_total: float) -> None:
    steps = json.loads(timings_file.read_text())
    cpu = steps.pop("cpu", {})
    total = steps.pop("total", sum(steps.values()))
    cluster_cpu = cpu.get("select+cluster", 0.0)
    groups = {
        "read + transform + gene symbols": (steps.get("read+transform", 0.0) + steps.get("select", 0.0),
                             cpu.get("read+transform", 0.0)),
        "scale": (steps.get("scale", 0.0), None),
        "distances": (steps.get("distances", 0.0), cpu.get("distances")),
        "linkage": (steps.get("linkage", 0.0), cpu.get("linkage")),
        "leaf order + modules": (steps.get("order", 0.0) + steps.get("modules", 0.0),
                                 cluster_cpu - cpu.get("distances", 0.0)
                                 - cpu.get("linkage", 0.0) if cpu else None),
        "drawing (build the figure)": (steps.get("draw", 0.0), cpu.get("draw")),
        "saving (render + PNG)": (steps.get("save", 0.0), cpu.get("save")),
        "start-up, imports, writing tables": (
            max(wall - total, 0.0) + max(total - sum(steps.values()), 0.0),
            cpu.get("start-up", 0.0) + cpu.get("tables", 0.0) + max(
                cpu_total - cpu.get("total", cpu_total), 0.0) if cpu else None),
    }
    print(f"where heatseq's time goes (one run, {wall:.1f} s wall, {cpu_total:.1f} s CPU of the "
          "process and its BLAS threads; the CPU of scale is counted in leaf order + modules):")
    print(f"  {'stage':<36}{'wall s':>8} {'%':>5} {'cpu s':>8}")
    for name, (sec, cpu_sec) in groups.items():
        c = f"{cpu_sec:>8.2f}" if cpu_sec is not None else f"{'':>8}"
        print(f"  {name:<36}{sec:>8.2f} {100 * sec / wall:>5.0f} {c}")


def _verdict(runs: list[Run], name: str, target: float) -> None:
    base = next(r for r in runs if r.name == "heatseq")
    peer = next((r for r in runs if r.name == name), None)
    if peer is None:
        return
    if peer.returncode != 0:
        print(f"  {name}: did not finish (exit {peer.returncode}); heatseq did"
              if base.returncode == 0 else f"  {name}: did not finish")
        return
    ratio = peer.wall_s / base.wall_s
    flag = "met" if ratio >= target else "NOT met"
    print(f"  heatseq is {ratio:.1f}x faster than {name} (target >= {target:g}x: {flag})")


def _case(title: str, matrix: Path, folder: Path, *, method: str, method_py: str,
          method_r: str, repeats: int, peer_timeout: int | None,
          memory_limit_gb: float | None = None) -> None:
    print(f"\n== {title} ==")
    timings = folder / "heatseq_timings.json"
    hs = run_median("heatseq", _heatseq_cmd(matrix, folder / "heatseq.png", method, timings),
                    repeats=repeats)
    old = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (PEER_MEMORY, old[1]))  # inherited by the peers
    try:
        peers = _peers(matrix, folder, method_py=method_py, method_r=method_r,
                       repeats=repeats, timeout=peer_timeout)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)
    runs = [hs, *peers]
    print_table(runs, baseline="heatseq")
    print("ratio = wall time / heatseq's wall time")
    if peer_timeout:
        for r in peers:
            if r.returncode in (-9, 137):
                print(f"  {r.name}: killed at the {peer_timeout} s limit")
    if hs.returncode == 0 and timings.exists():
        _breakdown(timings, hs.wall_s, hs.cpu_s)
    if memory_limit_gb is not None:
        ok = hs.returncode == 0 and hs.peak_mb <= memory_limit_gb * 1024
        print(f"  heatseq peak memory {hs.peak_mb:,.0f} MB (limit {memory_limit_gb:g} GB: "
              f"{'met' if ok else 'NOT met'})")
        for r in peers:
            outcome = (f"finished in {r.wall_s:.1f} s, peak {r.peak_mb:,.0f} MB"
                       if r.returncode == 0 else f"did not finish (exit {r.returncode})")
            print(f"  {r.name}: {outcome}")
    else:
        _verdict(runs, "seaborn.clustermap", 2.0)
        _verdict(runs, "pheatmap (R)", 5.0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gen", type=Path, default=DEFAULT_GEN,
                    help="gen_logexpr.py (relative paths are from the repository root)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per tool (median reported)")
    ap.add_argument("--skip-60k", action="store_true", help="only the 20,000 x 50 case")
    ap.add_argument("--peer-timeout", type=int, default=900,
                    help="seconds before a peer of the 60,000 x 100 case is stopped")
    ap.add_argument("--keep", type=Path, help="keep the matrices and figures in this folder")
    a = ap.parse_args(argv)
    gen = a.gen if a.gen.is_absolute() else (ROOT / a.gen).resolve()
    if not gen.exists():
        sys.exit(f"generator not found: {gen} (give --gen PATH)")
    with tempfile.TemporaryDirectory(prefix="heatseq_bench_") as tmp:
        folder = a.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        m20 = _generate(gen, 20_000, 50, folder)
        print(f"generated {m20.name} in {time.perf_counter() - t:.1f} s")
        f20 = folder / "20k"
        f20.mkdir(exist_ok=True)
        _case("20,000 x 50: row z-score, euclidean, complete linkage, both axes, PNG 300 dpi",
              m20, f20, method="complete", method_py="complete", method_r="complete",
              repeats=a.repeats, peer_timeout=None)
        if a.skip_60k:
            return
        m60 = _generate(gen, 60_000, 100, folder)
        f60 = folder / "60k"
        f60.mkdir(exist_ok=True)
        _case("60,000 x 100: row z-score, euclidean, Ward linkage (ward.D2), both axes, PNG",
              m60, f60, method="ward.D2", method_py="ward", method_r="ward.D2", repeats=1,
              peer_timeout=a.peer_timeout, memory_limit_gb=4.0)


if __name__ == "__main__":
    main()
