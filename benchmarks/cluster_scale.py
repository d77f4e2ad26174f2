#!/usr/bin/env python
"""Where heatseq's clustering time and memory go on large matrices, against the plain way.

    python benchmarks/cluster_scale.py [--genes 20000] [--samples 50] [--method complete]
                                       [--baseline] [--big]

Each case runs in a fresh process (peak memory = that process's maximum resident set size).
The matrix is ../shared/tools/gen_logexpr.py's seeded synthetic log-expression (genes x
samples); it is rebuilt here from the same recipe when that file is not beside the checkout.

* ``heatseq``: ``heatseq.cluster.cluster(values, method=...)`` on both axes (row z-scores,
  euclidean), printing its timing breakdown (scale, distances, linkage, order, modules).
* ``--baseline``: the same z-scores, then ``scipy.spatial.distance.pdist`` +
  ``fastcluster.linkage`` (what seaborn.clustermap does), for the ratio.
* ``--big``: 60,000 x 100 with ``method="ward.D2"`` (memory-saving route, no distance matrix),
  and the refusal message of complete linkage at that size.

``timings()`` is importable for other benchmarks (e.g. benchmarks/heatmap.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GEN = HERE.parent.parent / "shared" / "tools" / "gen_logexpr.py"


def make_matrix(n_genes: int, n_samples: int, seed: int = 42) -> np.ndarray:
    """The seeded synthetic matrix of gen_logexpr.py (same recipe, genes x samples)."""
    rng = np.random.default_rng(seed)
    n_groups, n_modules = 5, 12
    group = np.arange(n_samples) % n_groups
    mu = np.clip(rng.normal(6.0, 2.0, n_genes), 0.0, None)
    module = rng.integers(0, n_modules, n_genes)
    module[rng.random(n_genes) < 0.4] = -1
    delta = rng.normal(0.0, 1.5, (n_modules, n_groups))
    scale = rng.lognormal(0.0, 0.3, n_genes)
    eff = np.zeros((n_genes, n_samples))
    m = module >= 0
    eff[m] = delta[module[m]][:, group] * scale[m, None]
    sd = 0.3 + 1.5 / (1.0 + mu)
    x = mu[:, None] + eff + rng.standard_normal((n_genes, n_samples)) * sd[:, None]
    return np.clip(x, 0.0, None)


def timings(n_genes: int, n_samples: int, *, method: str = "complete") -> dict[str, object]:
    """Run heatseq.cluster.cluster in this process; seconds per step and the total."""
    import pandas as pd

    from heatseq.cluster import cluster

    x = make_matrix(n_genes, n_samples)
    v = pd.DataFrame(x, index=[f"g{i:05d}" for i in range(n_genes)],
                     columns=[f"s{j:03d}" for j in range(n_samples)])
    t0 = time.perf_counter()
    c = cluster(v, method=method)
    total = time.perf_counter() - t0
    return {"total": total, **dict(c.timings), "k": c.params["k_used"],
            "algorithm": c.params["row_algorithm"]}


def _baseline(n_genes: int, n_samples: int, method: str) -> dict[str, object]:
    import fastcluster
    from scipy.spatial.distance import pdist

    x = make_matrix(n_genes, n_samples)
    t0 = time.perf_counter()
    z = (x - x.mean(1, keepdims=True)) / x.std(1, ddof=1, keepdims=True)
    d = pdist(z)
    t1 = time.perf_counter()
    fastcluster.linkage(d, method="ward" if method == "ward.D2" else method)
    t2 = time.perf_counter()
    fastcluster.linkage(pdist(z.T), method="ward" if method == "ward.D2" else method)
    return {"total": time.perf_counter() - t0, "distances": t1 - t0, "linkage": t2 - t1}


def _child(kind: str, n_genes: int, n_samples: int, method: str) -> None:
    import resource

    try:
        out = timings(n_genes, n_samples, method=method) if kind == "heatseq" else \
            _baseline(n_genes, n_samples, method)
    except Exception as exc:  # report the refusal message of too-large inputs
        out = {"error": f"{type(exc).__name__}: {exc}"}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _run(kind: str, n_genes: int, n_samples: int, method: str) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", kind, "--genes", str(n_genes), "--samples",
           str(n_samples), "--method", method]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1:], "process_s": wall}
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def _show(label: str, r: dict[str, object]) -> None:
    parts = [f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()]
    print(f"{label:32s} " + "  ".join(parts), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--method", default="complete")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--child", default=None)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.genes, a.samples, a.method)
        return
    size = f"{a.genes:,} x {a.samples}"
    h = _run("heatseq", a.genes, a.samples, a.method)
    _show(f"heatseq {a.method} {size}", h)
    if a.baseline:
        b = _run("baseline", a.genes, a.samples, a.method)
        _show(f"pdist+fastcluster {size}", b)
        if "total" in h and "total" in b:
            print(f"ratio (baseline / heatseq), clustering calls: {b['total'] / h['total']:.2f}x")
    if a.big:
        _show("heatseq ward.D2 60,000 x 100", _run("heatseq", 60000, 100, "ward.D2"))
        _show("heatseq complete 60,000 x 100", _run("heatseq", 60000, 100, "complete"))


if __name__ == "__main__":
    main()
