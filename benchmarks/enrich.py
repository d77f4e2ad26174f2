"""Enrichment, whole processes side by side: heatseq ORA vs goatools (and GSEA, when the
GSEA section is present).

    python benchmarks/enrich.py [--genesets ../shared/genesets] [--repeats 3] [--keep DIR]

1. ORA of a 500-gene list over GO BP (human): the 500 most significant airway dex genes
   (padj < 0.05 and |log2FoldChange| > 1, by padj; ``tests/data/airway/deseq2_R.tsv.gz``,
   symbols from heatseq's bundled annotation), universe = the genes with a padj. Both tools
   get the same list and universe files and the same GO (go-basic 2022-07-01 from
   ``--genesets``, propagated over is_a + part_of), and test every term (no size filter,
   as goatools does), one-sided:

   - **heatseq**: ``python -c`` that imports :mod:`heatseq.enrich`, loads the bundled GO BP
     collection, runs :func:`heatseq.enrich.ora.ora` (``background="universe"``,
     ``min_size=1``) and writes the table;
   - **goatools**: ``python -c`` that loads the OBO (``GODag`` with relationships) and the
     direct BP annotations (``IdToGosReader``), runs ``GOEnrichmentStudy`` (Fisher
     ``alternative="greater"``, propagation over is_a + part_of, BH) and writes its TSV.

   Prints the timing table, the ratio (target: heatseq >= 20x faster) and how the two
   tables agree (terms, counts, largest relative p-value difference).
2. GSEA (``gsea_section`` of ``benchmarks/_gsea_bench.py``, when that file exists).

Preparing the inputs (OBO, annotation file, lists) is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import have, print_steps, print_table, run_median

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GENESETS = Path("../shared/genesets")
LIST_SIZE = 500
TARGET = 20.0

HEATSEQ = """
import json, sys, time
t0 = time.perf_counter()
from heatseq.enrich.ora import ora
t1 = time.perf_counter()
genes = open(sys.argv[1]).read().split()
universe = open(sys.argv[2]).read().split()
try:
    from heatseq.enrich.collections import load_collection
    go_bp = load_collection("go_bp", organism="human")
except ImportError:  # before the bundled collections: the same GMT
    from heatseq.enrich import read_gmt
    go_bp = read_gmt(sys.argv[4], name="go_bp")
t2 = time.perf_counter()
res = ora(genes, go_bp, universe=universe, background="universe", min_size=1,
          max_size=10**9)
t3 = time.perf_counter()
res.to_csv(sys.argv[3], sep="\\t", index=False)
t4 = time.perf_counter()
json.dump({"import": t1 - t0, "load": t2 - t1, "core": t3 - t2, "write": t4 - t3},
          open(sys.argv[5], "w"))
"""

GOATOOLS = """
import json, sys, time
t0 = time.perf_counter()
from goatools.anno.idtogos_reader import IdToGosReader
from goatools.go_enrichment import GOEnrichmentStudy
from goatools.obo_parser import GODag
t1 = time.perf_counter()
obo, annotations, list_file, universe_file, out, timings = sys.argv[1:7]
dag = GODag(obo, optional_attrs={"relationship"}, prt=None)
assoc = IdToGosReader(annotations, godag=dag).get_id2gos("BP", prt=None)
study = open(list_file).read().split()
population = open(universe_file).read().split()
t2 = time.perf_counter()
goea = GOEnrichmentStudy(population, assoc, dag, propagate_counts=True,
                         relationships={"part_of"}, alpha=0.05, methods=["fdr_bh"],
                         alternative="greater", log=None)
results = goea.run_study(study, prt=None)
t3 = time.perf_counter()
goea.wr_tsv(out, results)
t4 = time.perf_counter()
json.dump({"import": t1 - t0, "load": t2 - t1, "core": t3 - t2, "write": t4 - t3},
          open(timings, "w"))
"""


def _prepare(genesets: Path, work: Path) -> dict[str, Path]:
    """List, universe, OBO and direct-annotation files (not timed)."""
    from heatseq.annotation import map_symbols
    from heatseq.enrich.ora import de_gene_lists
    from heatseq.enrich.ora import tested_universe as universe_of

    de = pd.read_csv(ROOT / "tests/data/airway/deseq2_R.tsv.gz", sep="\t", index_col=0)
    de["symbol"] = map_symbols(de.index, organism="human").to_numpy()
    genes = de_gene_lists(de)["both"][:LIST_SIZE]
    paths = {"list": work / "list.txt", "universe": work / "universe.txt",
             "obo": work / "go-basic.obo", "annotations": work / "bp_id2gos.txt",
             "gmt": genesets / "go_bp_human_symbol.gmt.gz"}
    paths["list"].write_text("\n".join(genes) + "\n")
    paths["universe"].write_text("\n".join(universe_of(de)) + "\n")
    terms = pd.read_csv(genesets / "go_terms.tsv.gz", sep="\t", dtype=str)
    edges = pd.read_csv(genesets / "go_edges.tsv.gz", sep="\t", dtype=str)
    by_child = {c: g for c, g in edges.groupby("child")}
    lines = ["format-version: 1.2", "data-version: releases/2022-07-01", ""]
    for t in terms.itertuples():
        lines += ["[Term]", f"id: {t.go_id}", f"name: {t.name}", f"namespace: {t.namespace}"]
        if t.go_id in by_child:
            for e in by_child[t.go_id].itertuples():
                lines.append(f"is_a: {e.parent}" if e.relationship_type == "is_a"
                             else f"relationship: {e.relationship_type} {e.parent}")
        lines.append("")
    paths["obo"].write_text("\n".join(lines))
    ann = pd.read_csv(genesets / "go_annotations_human_direct.tsv.gz", sep="\t", dtype=str)
    ann = ann[ann["ontology"] == "BP"]
    id2gos = ann.groupby("symbol")["go_id"].apply(lambda s: ";".join(sorted(set(s))))
    paths["annotations"].write_text("".join(f"{g}\t{gos}\n" for g, gos in id2gos.items()))
    print(f"list: {len(genes)} genes (airway dex, by padj); universe: "
          f"{len(universe_of(de)):,} tested genes; GO terms: {len(terms):,}; "
          f"BP annotations: {len(ann):,} (direct)")
    return paths


def _agreement(heatseq_tsv: Path, goatools_tsv: Path) -> str:
    h = pd.read_csv(heatseq_tsv, sep="\t").set_index("term_id")
    g = pd.read_csv(goatools_tsv, sep="\t")
    g.columns = [c.lstrip("# ").strip() for c in g.columns]
    g = g.set_index("GO")
    common = h.index.intersection(g.index)
    pop = g.loc[common, "ratio_in_pop"].str.split("/").str[0].astype(int)
    same_counts = bool((pop.to_numpy() == h.loc[common, "set_size"].to_numpy()).all())
    rel = np.abs(h.loc[common, "pvalue"].to_numpy() / g.loc[common, "p_uncorrected"]
                 .to_numpy(dtype=float) - 1)
    return (f"terms: heatseq {len(h):,}, goatools {len(g):,}, common {len(common):,}; "
            f"set sizes identical: {same_counts}; largest relative p-value difference: "
            f"{np.nanmax(rel):.1e}")


def ora_section(args: argparse.Namespace, work: Path) -> None:
    print("== ORA: 500-gene list over GO BP (human) ==")
    paths = _prepare(args.genesets, work)
    py = sys.executable
    out_h, out_g = work / "heatseq_ora.tsv", work / "goatools_ora.tsv"
    steps: dict[str, list[dict[str, float]]] = {"heatseq": [], "goatools": []}

    def collect(name: str, path: Path):
        return lambda run: steps[name].append(json.loads(path.read_text())) \
            if run.returncode == 0 else None

    tim_h, tim_g = work / "heatseq_timings.json", work / "goatools_timings.json"
    runs = [run_median("heatseq", [py, "-c", HEATSEQ, str(paths["list"]),
                                   str(paths["universe"]), str(out_h), str(paths["gmt"]),
                                   str(tim_h)],
                       repeats=args.repeats, after=collect("heatseq", tim_h))]
    try:
        import goatools

        runs.append(run_median(f"goatools {goatools.__version__}",
                               [py, "-c", GOATOOLS, str(paths["obo"]),
                                str(paths["annotations"]), str(paths["list"]),
                                str(paths["universe"]), str(out_g), str(tim_g)],
                               repeats=args.repeats, after=collect("goatools", tim_g)))
    except ImportError:
        print("goatools is not installed: skipped (pip install goatools)")
    print_table(runs, baseline="heatseq")
    print_steps(steps, test_digits=3)
    print("  heatseq load = the bundled GO BP collection; goatools load = OBO + annotations;"
          " test = ORA (goatools: GOEnrichmentStudy incl. propagation + run_study)")
    if len(runs) > 1 and runs[1].returncode == 0:
        ratio = runs[1].wall_s / runs[0].wall_s
        print(f"target: heatseq >= {TARGET:.0f}x faster than goatools: {ratio:.1f}x "
              f"{'PASS' if ratio >= TARGET else 'FAIL'}")
        if steps["heatseq"] and steps["goatools"]:
            work_s = {k: statistics.median(r["load"] + r["core"] for r in v)
                      for k, v in steps.items()}
            print(f"the ORA itself (load the sets + test, inside the process, without the "
                  f"interpreter and library imports): heatseq {work_s['heatseq']:.3f} s, "
                  f"goatools {work_s['goatools']:.2f} s: "
                  f"{work_s['goatools'] / work_s['heatseq']:.0f}x")
        print("agreement:", _agreement(out_h, out_g))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genesets", type=Path, default=DEFAULT_GENESETS,
                    help="folder with go_terms/go_edges/go_annotations_human_direct "
                         "(../shared/genesets)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per tool (median reported)")
    ap.add_argument("--keep", type=Path, help="keep inputs and tables in this folder")
    args = ap.parse_args(argv)
    if not have(sys.executable):
        raise SystemExit("no python")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ora_section(args, work)
        # --- hook: the GSEA section (benchmarks/_gsea_bench.py, written separately) ---
        if (Path(__file__).resolve().parent / "_gsea_bench.py").exists():
            from _gsea_bench import gsea_section

            gsea_section(args)


if __name__ == "__main__":
    main()
