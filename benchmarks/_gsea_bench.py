"""The GSEA section of ``benchmarks/enrich.py``: heatseq's preranked GSEA vs gseapy prerank,
whole processes on the same ranking file and the same gene sets.

Ranking: airway dex trt vs untrt, R DESeq2's Wald statistic by gene symbol
(:func:`heatseq.enrich.gsea.ranking_from_de` on ``tests/data/airway/deseq2_R.tsv.gz``),
written once as a two-column ``.rnk`` file. Sets: heatseq's bundled MSigDB Hallmark and GO BP
(human), written once as one GMT for gseapy; both tools keep sets of 15-500 ranked genes,
weight 1, 1000 permutations, seed 0, two threads.

- **heatseq (multilevel)**: the default, as ``heatseq enrich`` and ``heatseq run`` call it:
  NES from 1000 random sets per size, p-values by the multilevel method (precise far below
  1/1000);
- **heatseq (1000 permutations)**: ``method="permutation"``, the same precision as gseapy's
  (p-value floor 1/1001), the like-for-like comparison;
- **gseapy prerank** (1000 gene-set permutations, ``threads=2``, no plots).

Printed: the timing table, the ratio of gseapy to the default heatseq run (target >= 5x),
and how the tables agree (NES Pearson, sets at FDR < 0.05). Preparing the files is not
timed; numba compiles heatseq's kernels on the first run and caches them, so the median of
``--repeats`` runs is the warm figure (the first run is printed too).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import print_steps, print_table, run_median, run_once

ROOT = Path(__file__).resolve().parents[1]
TARGET = 5.0

HEATSEQ = """
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
from heatseq.enrich.collections import load_collection
from heatseq.enrich.gsea import gsea
t1 = time.perf_counter()
rnk, out, timings, method = sys.argv[1:5]
r = pd.read_csv(rnk, sep="\\t", header=None, index_col=0).iloc[:, 0]
sets = [load_collection(c, organism="human") for c in ("hallmark", "go_bp")]
t2 = time.perf_counter()
res = pd.concat([gsea(r, s, method=method, n_perm=1000, seed=0, n_jobs=2) for s in sets])
t3 = time.perf_counter()
res.to_csv(out, sep="\\t", index=False)
t4 = time.perf_counter()
json.dump({"import": t1 - t0, "load": t2 - t1, "core": t3 - t2, "write": t4 - t3},
          open(timings, "w"))
"""

GSEAPY = """
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
import gseapy
t1 = time.perf_counter()
rnk, gmt, out, timings = sys.argv[1:5]
r = pd.read_csv(rnk, sep="\\t", header=None)
t2 = time.perf_counter()
pre = gseapy.prerank(rnk=r, gene_sets=gmt, min_size=15, max_size=500, permutation_num=1000,
                     weight=1, threads=2, seed=0, outdir=None, no_plot=True, verbose=False)
t3 = time.perf_counter()
pre.res2d.to_csv(out, sep="\\t", index=False)
t4 = time.perf_counter()
json.dump({"import": t1 - t0, "load": t2 - t1, "core": t3 - t2, "write": t4 - t3},
          open(timings, "w"))
"""


def _prepare(work: Path) -> dict[str, Path]:
    from heatseq.annotation import map_symbols
    from heatseq.enrich.collections import load_collection
    from heatseq.enrich.genesets import write_gmt
    from heatseq.enrich.gsea import ranking_from_de

    de = pd.read_csv(ROOT / "tests/data/airway/deseq2_R.tsv.gz", sep="\t", index_col=0)
    de["symbol"] = map_symbols(de.index, organism="human").to_numpy()
    ranking = ranking_from_de(de)
    paths = {"rnk": work / "airway.rnk", "gmt": work / "hallmark_go_bp.gmt"}
    ranking.to_csv(paths["rnk"], sep="\t", header=False)
    parts = []
    for name in ("hallmark", "go_bp"):
        part = work / f"{name}.gmt"
        write_gmt(load_collection(name, organism="human"), part)
        parts.append(part.read_text())
    paths["gmt"].write_text("".join(p if p.endswith("\n") else p + "\n" for p in parts))
    n_sets = sum(len(p.splitlines()) for p in parts)
    print(f"ranking: {len(ranking):,} genes (airway dex, Wald stat by symbol); sets: "
          f"{n_sets:,} (Hallmark + GO BP, before the 15-500 size filter)")
    return paths


def _agreement(ours: Path, theirs: Path) -> str:
    """NES correlation and the sets called at 0.05, twice: gseapy's own FDR (GSEA's NES-based
    q-value) against our padj (BH of p-values per collection, as fgsea/clusterProfiler), then
    like for like: BH per collection of gseapy's nominal p-values (floored at 1/(n+1))."""
    from heatseq.enrich.ora import bh_adjust

    h = pd.read_csv(ours, sep="\t").drop_duplicates("term_id").set_index("term_id")
    g = pd.read_csv(theirs, sep="\t").drop_duplicates("Term").set_index("Term")
    common = h.index.intersection(g.index)
    r = np.corrcoef(h.loc[common, "nes"], g.loc[common, "NES"].astype(float))[0, 1]

    def jaccard(a: set, b: set) -> str:
        return f"both {len(a & b):,} (Jaccard {len(a & b) / len(a | b) if a | b else 1.0:.2f})"

    b = set(common[h.loc[common, "padj"].to_numpy() < 0.05])
    a = set(common[g.loc[common, "FDR q-val"].to_numpy(dtype=float) < 0.05])
    nominal = np.maximum(g.loc[common, "NOM p-val"].to_numpy(dtype=float), 1 / 1001)
    bh = pd.Series(nominal, index=common).groupby(h.loc[common, "collection"]).transform(
        lambda p: bh_adjust(p.to_numpy()))
    a_bh = set(common[bh.to_numpy() < 0.05])
    return (f"sets: heatseq {len(h):,}, gseapy {len(g):,}, common {len(common):,}; NES "
            f"Pearson {r:.4f}; at 0.05: gseapy FDR {len(a):,}, heatseq padj {len(b):,}, "
            f"{jaccard(a, b)}; BH of gseapy's nominal p {len(a_bh):,}, {jaccard(a_bh, b)}")


def gsea_section(args: argparse.Namespace, work: Path | None = None) -> None:
    import tempfile

    print("\n== GSEA: airway ranking over Hallmark + GO BP (human) ==")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work or tmp) / "gsea"
        work.mkdir(parents=True, exist_ok=True)
        paths = _prepare(work)
        py = sys.executable
        steps: dict[str, list[dict[str, float]]] = {}

        def collect(name: str, path: Path):
            return lambda run: steps.setdefault(name, []).append(
                json.loads(path.read_text())) if run.returncode == 0 else None

        runs, outs = [], {}
        for label, method in (("heatseq (multilevel)", "multilevel"),
                              ("heatseq (1000 permutations)", "permutation")):
            out, tim = work / f"heatseq_{method}.tsv", work / f"heatseq_{method}.json"
            cmd = [py, "-c", HEATSEQ, str(paths["rnk"]), str(out), str(tim), method]
            if method == "multilevel":
                first = run_once(label, cmd)  # numba compiles and caches its kernels
                print(f"first heatseq run (kernels compiled and cached): {first.wall_s:.2f} s")
            runs.append(run_median(label, cmd, repeats=args.repeats, after=collect(label, tim)))
            outs[label] = out
        try:
            import gseapy

            out, tim = work / "gseapy.tsv", work / "gseapy.json"
            label = f"gseapy {gseapy.__version__} prerank"
            runs.append(run_median(label, [py, "-c", GSEAPY, str(paths["rnk"]),
                                           str(paths["gmt"]), str(out), str(tim)],
                                   repeats=max(1, min(args.repeats, 2)),
                                   after=collect(label, tim)))
            outs[label] = out
        except ImportError:
            print("gseapy is not installed: skipped (pip install gseapy)")
        print_table(runs, baseline="heatseq (multilevel)")
        print_steps(steps)
        if len(runs) == 3 and runs[2].returncode == 0:
            ratio = runs[2].wall_s / runs[0].wall_s
            print(f"target: heatseq >= {TARGET:.0f}x faster than gseapy prerank: "
                  f"{ratio:.1f}x {'PASS' if ratio >= TARGET else 'FAIL'} "
                  f"(like for like, 1000 permutations each: "
                  f"{runs[2].wall_s / runs[1].wall_s:.1f}x)")
            gp = outs[runs[2].name]
            for label in ("heatseq (multilevel)", "heatseq (1000 permutations)"):
                print(f"agreement, {label} vs gseapy:", _agreement(outs[label], gp))
