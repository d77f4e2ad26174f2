"""The Python script that reproduces a web-app run with heatseq's public API.

The script reads the two uploaded files (by the names they were uploaded with, from the
script's own folder), fits the same design, tests the same contrasts with the same options,
and writes the DE tables (the same bytes as the run's ``de/*.tsv``), the VST, the top-variance
heatmap (or the heatmap as set up on the page) with its module summaries, and the volcano and
MA plots, into ``reproduced/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from heatseq._version import __version__

__all__ = ["reproduce_script", "safe_file_name"]


def safe_file_name(name: str, default: str) -> str:
    """A plain file name for a script or a download: letters, digits, ``._-`` only.

    Examples
    --------
    >>> safe_file_name("my counts (v2).tsv.gz", "counts.tsv")
    'my_counts_v2_.tsv.gz'
    >>> safe_file_name("../..", "counts.tsv")
    'counts.tsv'
    """
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or ""
    base = re.sub(r"_+", "_", base)
    if not base or set(base) <= {"."}:
        return default
    return base[:120]


def _py(value: Any) -> str:
    return repr(value)


def reproduce_script(*, run_id: str, project: str, counts_name: str, samples_name: str,
                     params: Mapping[str, Any], summary: Mapping[str, Any],
                     heatmap: Mapping[str, Any] | None = None) -> str:
    """The text of the script.

    Parameters
    ----------
    run_id, project
        For the script's docstring.
    counts_name, samples_name
        The uploaded files' names (made plain with :func:`safe_file_name`).
    params
        The run's parameters (as recorded in the store).
    summary
        The run's summary: the design and contrasts actually used.
    heatmap
        The heatmap's options on the page (:class:`heatseq.web.models.HeatmapRequest`
        fields); default: the run's top-variance heatmap.
    """
    plan = summary.get("plan", {})
    design = plan.get("design") or params.get("design")
    contrasts = [tuple(c) if isinstance(c, list) else c for c in plan.get("contrasts", [])]
    reference = dict(plan.get("reference", {}))
    condition = plan.get("condition")
    annotate = tuple(plan.get("annotate", ()))
    alpha = params.get("alpha", 0.1)
    h = dict(heatmap or {"genes": "top_variance", "n": params.get("heatmap_genes", 500),
                         "k": params.get("k")})
    stems = [c["stem"] for c in summary.get("contrasts", [])]
    if h.get("genes") == "de":
        stem = h.get("contrast") or (stems[0] if stems else None)
        i = stems.index(stem) if stem in stems else 0
        select = (f"sel = select_genes(values, by=\"de\", de_result=results_[{i}], "
                  f"n={int(h.get('n', 500))}, alpha={h.get('alpha', alpha)!r})")
    elif h.get("genes") == "list":
        select = (f"sel = select_genes(values, by=\"list\", genes={list(h.get('gene_list', []))!r},"
                  " symbols=symbols)")
    else:
        select = f"sel = select_genes(values, by=\"top_variance\", n={int(h.get('n', 500))})"
    metric = h.get("metric", "euclidean")
    cluster_args = (f"scale={h.get('scale', 'row')!r}, row_metric={metric!r}, "
                    f"col_metric={metric!r}, method={h.get('method', 'complete')!r}, "
                    f"cluster_cols={bool(h.get('cluster_samples', True))!r}, k={h.get('k')!r}")
    counts_file = safe_file_name(counts_name, "counts.tsv")
    samples_file = safe_file_name(samples_name, "samples.csv")
    return f'''"""Reproduce heatseq web-app run {run_id} (project {project!r}) with heatseq's Python API.

Put this script in a folder with the two files of the run (named as below; download them
from the app's Downloads page) and run it:

    python {safe_file_name(f"reproduce_{run_id}.py", "reproduce.py")}

It writes the DE tables (the same bytes as the run's de/*.tsv), the VST, the heatmap with
its module summaries, and the volcano and MA plots to reproduced/. Made by heatseq
{__version__}; `heatseq.workflow.run_analysis` does all of it, and the report, in one call.
"""

from pathlib import Path

import heatseq
from heatseq.annotation import annotate
from heatseq.cluster import cluster, select_genes
from heatseq.io.write import write_table
from heatseq.plot import heatmap, ma_plot, save_figure, volcano

HERE = Path(__file__).resolve().parent
COUNTS = HERE / {counts_file!r}
SAMPLES = HERE / {samples_file!r}
OUT = HERE / "reproduced"
OUT.mkdir(exist_ok=True)

# 1. Read the counts and the sample sheet; add gene symbols from heatseq's bundled annotation.
ds = heatseq.read_counts(COUNTS, samples=SAMPLES)
ds = annotate(ds, organism={params.get("organism", "auto")!r})

# 2. DESeq2: the design, then each contrast (Wald test, independent filtering, shrinkage).
fit = heatseq.deseq(ds, design={design!r}, reference={reference!r},
                    fit_type={params.get("fit_type", "parametric")!r})
results_ = []
for contrast in {contrasts!r}:
    res = heatseq.results(fit, contrast=contrast, alpha={alpha!r},
                          lfc_threshold={params.get("lfc_threshold", 0.0)!r},
                          shrink={params.get("shrink", "apeglm")!r})
    print(res.summary())
    write_table(res.table, OUT / f"{{res.file_stem}}.tsv")
    results_.append(res)

# 3. The VST (DESeq2's vst(blind = FALSE)) of the genes with a nonzero count.
vst = fit.vst(blind=False).T.rename_axis("gene_id")
write_table(vst, OUT / "vst.tsv")
values = vst[fit.base_mean > 0]
symbols = ds.genes["symbol"] if "symbol" in ds.genes.columns else None

# 4. The heatmap: gene selection, clustering, modules (k=None: chosen by silhouette).
{select}
clustering = cluster(values.loc[sel.ids], samples=ds.samples, condition={condition!r},
                     {cluster_args},
                     gene_labels=symbols, caption_prefix=sel.caption)
for module in clustering.module_summaries:
    print(module.text)
save_figure(heatmap(clustering, samples=ds.samples, annotate={annotate!r}), OUT / "heatmap.png")

# 5. Volcano and MA plots of each contrast.
for res in results_:
    save_figure(volcano(res), OUT / f"{{res.file_stem}}.volcano.png")
    lfc = "shrunk" if res.shrink != "none" else "log2FoldChange"
    save_figure(ma_plot(res, lfc_column=lfc), OUT / f"{{res.file_stem}}.ma.png")
print(f"Wrote the tables and figures to {{OUT}}")
'''
