"""DE benchmark: ``heatseq de`` against PyDESeq2 and R DESeq2 on the same counts, as whole
processes, with the agreement of each peer's table with heatseq's.

Usage::

    python benchmarks/de.py [--datasets airway tcga_brca_paired] [--repeats 3] [--keep DIR]
                            [--peers PyDESeq2 R]

Each tool runs ``--repeats`` times in a fresh process (median wall and CPU seconds, maximum
peak RSS from ``os.wait4``). Peers: PyDESeq2 (``DeseqDataSet`` + ``deseq2()`` +
``DeseqStats(alpha=0.1).summary()``, ``n_cpus=2``), R DESeq2 (``DESeqDataSetFromMatrix`` +
``DESeq`` + ``results``) and, on tcga_brca_paired, R DESeq2 with ``fitType="glmGamPoi"``.
A peer that is not installed is reported and skipped; nothing is installed here. Besides the
whole-process times, each tool's own "core" seconds (model fit and test, without start-up,
reading and writing) are printed: heatseq's includes apeglm shrinkage, the peers' none.

heatseq runs twice: the full command (apeglm shrinkage, VST, normalised counts) and
``--shrink none``, which does the peers' work (fit and Wald test) and still writes every
table. The speed targets are judged on the second, the like-for-like run; the full
command's ratio is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import Run, have, print_table, run_median

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SAME = "heatseq --shrink none"


@dataclass(frozen=True)
class Spec:
    design: str
    factor: str
    level: str
    reference: str
    targets: tuple[tuple[str, float, str], ...]  # (peer, minimum peer/heatseq, wording)


SPECS = {
    "airway": Spec("~ cell + dex", "dex", "trt", "untrt", (
        ("PyDESeq2", 10.0, ">= 10x faster than PyDESeq2"),
        ("R DESeq2", 5.0, ">= 5x faster than R DESeq()"))),
    "tcga_brca_paired": Spec("~ condition", "condition", "tumor", "normal", (
        ("R DESeq2 glmGamPoi", 1.0, "faster than R DESeq(fitType='glmGamPoi')"),)),
}

PYDESEQ2 = '''\
import sys, time
import pandas as pd
from pydeseq2.dds import DeseqDataSet
from pydeseq2.default_inference import DefaultInference
from pydeseq2.ds import DeseqStats

counts_path, samples_path, design, factor, level, ref, out, core = sys.argv[1:]
samples = pd.read_csv(samples_path, dtype=str).set_index("sample")
counts = pd.read_csv(counts_path, sep="\\t", index_col=0)[samples.index].T
t0 = time.perf_counter()
inference = DefaultInference(n_cpus=2)
dds = DeseqDataSet(counts=counts, metadata=samples, design=design, refit_cooks=True,
                   inference=inference, quiet=True)
dds.deseq2()
stats = DeseqStats(dds, contrast=[factor, level, ref], alpha=0.1, inference=inference,
                   quiet=True)
stats.summary()
elapsed = time.perf_counter() - t0
stats.results_df.to_csv(out, sep="\\t")
with open(core, "a") as fh:
    fh.write(f"{elapsed}\\n")
'''

DESEQ2_R = '''\
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(DESeq2))
counts <- as.matrix(read.delim(gzfile(args[1]), row.names = 1, check.names = FALSE))
samples <- read.csv(args[2], row.names = 1, check.names = FALSE, colClasses = "character")
counts <- counts[, rownames(samples)]
design <- as.formula(args[3])
for (v in all.vars(design)) samples[[v]] <- factor(samples[[v]])
samples[[args[4]]] <- relevel(samples[[args[4]]], ref = args[6])
t0 <- proc.time()[["elapsed"]]
dds <- DESeqDataSetFromMatrix(counts, samples, design = design)
dds <- DESeq(dds, fitType = args[9], quiet = TRUE)
res <- results(dds, contrast = c(args[4], args[5], args[6]))
elapsed <- proc.time()[["elapsed"]] - t0
write.table(as.data.frame(res), args[7], sep = "\\t", quote = FALSE, col.names = NA)
cat(elapsed, "\\n", file = args[8], append = TRUE)
'''


def _r_has(package: str) -> bool:
    if not have("Rscript"):
        return False
    probe = f'quit(status = !requireNamespace("{package}", quietly = TRUE))'
    return subprocess.run(["Rscript", "-e", probe], capture_output=True).returncode == 0


def _version(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "?"


def _agreement(mine: pd.DataFrame, theirs: pd.DataFrame) -> tuple[float, float, int]:
    """Pearson of log2FoldChange (heatseq baseMean >= 10, both finite) and padj < 0.05
    Jaccard, over the genes in both tables; also the number of genes compared for LFC."""
    theirs = theirs.reindex(mine.index)
    lfc = pd.concat([mine["log2FoldChange"], theirs["log2FoldChange"]], axis=1).to_numpy(float)
    use = (mine["baseMean"].to_numpy(float) >= 10) & np.isfinite(lfc).all(axis=1)
    pearson = float(np.corrcoef(lfc[use, 0], lfc[use, 1])[0, 1])
    a, b = mine["padj"] < 0.05, theirs["padj"] < 0.05
    jaccard = float((a & b).sum() / max(int((a | b).sum()), 1))
    return pearson, jaccard, int(use.sum())


def bench(name: str, *, repeats: int, work: Path, peers: tuple[str, ...] = ("PyDESeq2", "R")
          ) -> None:
    spec = SPECS[name]
    counts, sheet = DATA / name / "counts.tsv.gz", DATA / name / "samples.csv"
    n_genes = len(pd.read_csv(counts, sep="\t", usecols=[0]))
    n_samples = len(pd.read_csv(sheet))
    print(f"\n== {name}: {n_genes:,} genes x {n_samples} samples, design {spec.design!r}, "
          f"contrast {spec.factor} {spec.level} vs {spec.reference}, {repeats} run(s) each; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Path] = {}
    core: dict[str, list[float]] = {}
    runs: list[Run] = []

    # heatseq
    out = folder / "heatseq"
    hs_cmd = [sys.executable, "-c", "import sys; from heatseq.cli import main; main(sys.argv[1:])",
              "-q", "de", str(counts), "--samples", str(sheet), "--design", spec.design,
              "--contrast", f"{spec.factor},{spec.level},{spec.reference}", "-o", str(out),
              "--force"]

    def heatseq_core(run: Run) -> None:
        if run.returncode == 0:
            t = json.loads((out / "run.json").read_text())["timings"]
            core.setdefault("heatseq", []).append(
                t["fitting (size factors, dispersions, GLM)"] + t["testing and shrinking"])

    runs.append(run_median("heatseq", hs_cmd, repeats=repeats, after=heatseq_core))
    tables["heatseq"] = out / "de_results.tsv"
    # the peers' own work: fit and Wald test, no LFC shrinkage (R's DESeq() + results() and
    # PyDESeq2's deseq2() + summary() do not shrink); heatseq still writes every table
    same = folder / "heatseq_noshrink"
    same_cmd = [*hs_cmd[:hs_cmd.index("-o")], "--shrink", "none", "-o", str(same), "--force"]

    def same_core(run: Run) -> None:
        if run.returncode == 0:
            t = json.loads((same / "run.json").read_text())["timings"]
            core.setdefault(SAME, []).append(
                t["fitting (size factors, dispersions, GLM)"] + t["testing and shrinking"])

    runs.append(run_median(SAME, same_cmd, repeats=repeats, after=same_core))

    # PyDESeq2
    if "PyDESeq2" not in peers:
        pass
    elif subprocess.run([sys.executable, "-c", "import pydeseq2"], capture_output=True).returncode:
        print("PyDESeq2: not installed (pip install pydeseq2); skipped")
    else:
        script = folder / "pydeseq2_run.py"
        script.write_text(PYDESEQ2)
        table, side = folder / "pydeseq2.tsv", folder / "pydeseq2_core.txt"
        side.unlink(missing_ok=True)
        runs.append(run_median("PyDESeq2", [sys.executable, str(script), str(counts), str(sheet),
                                            spec.design, spec.factor, spec.level,
                                            spec.reference, str(table), str(side)],
                               repeats=repeats))
        tables["PyDESeq2"], core["PyDESeq2"] = table, _floats(side)

    # R DESeq2 (and glmGamPoi on the larger dataset)
    r_peers = [("R DESeq2", "parametric")]
    if name == "tcga_brca_paired":
        r_peers.append(("R DESeq2 glmGamPoi", "glmGamPoi"))
    if "R" not in peers:
        r_peers = []
    elif not _r_has("DESeq2"):
        print("R DESeq2: not installed (Rscript with Bioconductor DESeq2); skipped")
        r_peers = []
    script = folder / "deseq2_run.R"
    script.write_text(DESEQ2_R)
    for peer, fit_type in r_peers:
        if fit_type == "glmGamPoi" and not _r_has("glmGamPoi"):
            print(f"{peer}: not installed (Bioconductor glmGamPoi); skipped")
            continue
        stem = peer.lower().replace(" ", "_")
        table, side = folder / f"{stem}.tsv", folder / f"{stem}_core.txt"
        side.unlink(missing_ok=True)
        runs.append(run_median(peer, ["Rscript", str(script), str(counts), str(sheet),
                                      spec.design, spec.factor, spec.level, spec.reference,
                                      str(table), str(side), fit_type], repeats=repeats))
        tables[peer], core[peer] = table, _floats(side)

    print(f"\n(load average at the end: {os.getloadavg()[0]:.1f})")
    print_table(runs, baseline="heatseq")
    hs = runs[0]
    print(f"\n{'tool':<28}{'core s':>10}{'peer/heatseq':>14}{'LFC r':>10}{'padj Jacc.':>12}"
          f"{'genes':>8}")
    mine = pd.read_csv(tables["heatseq"], sep="\t", index_col=0)
    hs_core = statistics.median(core.get("heatseq", [float("nan")]))
    for r in runs:
        c = statistics.median(core.get(r.name) or [float("nan")])
        if r.name in ("heatseq", SAME) or r.returncode != 0:
            print(f"{r.name:<28}{c:>10.2f}{c / hs_core:>13.1f}x")
            continue
        theirs = pd.read_csv(tables[r.name], sep="\t", index_col=0)
        pearson, jaccard, n = _agreement(mine, theirs)
        print(f"{r.name:<28}{c:>10.2f}{c / hs_core:>13.1f}x{pearson:>10.5f}{jaccard:>12.4f}{n:>8,}")

    print("\nacceptance (whole-process wall time, peer/heatseq; judged on the same work as the "
          "peer, `--shrink none`;\n the full command, with apeglm shrinkage that the peers do "
          "not run, in brackets):")
    by_name = {r.name: r for r in runs}
    for peer, minimum, wording in spec.targets:
        r = by_name.get(peer)
        if r is None or r.returncode != 0:
            print(f"  {name}: heatseq {wording}: n/a ({peer} not run)")
            continue
        ratio = r.wall_s / by_name[SAME].wall_s
        ok = ratio >= minimum if minimum > 1 else ratio > minimum
        print(f"  {name}: heatseq {wording}: {ratio:.1f}x  {'PASS' if ok else 'FAIL'}  "
              f"[full command {r.wall_s / hs.wall_s:.1f}x]")


def _floats(path: Path) -> list[float]:
    return [float(v) for v in path.read_text().split()] if path.exists() else []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(SPECS), default=list(SPECS))
    parser.add_argument("--repeats", type=int, default=3, help="runs per tool (median)")
    parser.add_argument("--keep", type=Path, help="keep the tables in this folder")
    parser.add_argument("--peers", nargs="*", choices=["PyDESeq2", "R"], default=["PyDESeq2", "R"],
                        help="peers to run beside heatseq (none: heatseq alone)")
    args = parser.parse_args(argv)
    import heatseq

    print(f"heatseq {heatseq.__version__}; python {sys.version.split()[0]}; "
          f"pydeseq2 {_version([sys.executable, '-c', 'import pydeseq2; print(pydeseq2.__version__)'])}; "
          + (_version(["Rscript", "-e", 'cat(R.version$version.string, "; DESeq2", '
                       'as.character(packageVersion("DESeq2")), "; glmGamPoi", '
                       'if (requireNamespace("glmGamPoi", quietly=TRUE)) '
                       'as.character(packageVersion("glmGamPoi")) else "not installed")'])
             if have("Rscript") else "R not installed"))
    work = args.keep or Path(tempfile.mkdtemp(prefix="heatseq-bench-de-"))
    try:
        for name in args.datasets:
            bench(name, repeats=args.repeats, work=work, peers=tuple(args.peers))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
