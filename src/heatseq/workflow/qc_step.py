"""The run's quality control: per-sample metrics, PCA, sample distances and correlations, and
the replicate verdict, with their figures and tables in ``qc/``.

QC is judged on the blind VST of the counts (:func:`heatseq.cluster.expression_values`: the
design plays no part, as DESeq2 recommends for QC), on the 500 most variable genes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from heatseq.report import Figure, Section, Table

__all__ = ["QCOutput", "qc_report_section", "run_qc"]


@dataclass(frozen=True)
class QCOutput:
    """QC of a run: tables, the PCA, the verdict and the figure files (relative paths by
    figure name, then format)."""

    metrics: pd.DataFrame
    pca: Any
    verdict: Any
    figures: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)


def run_qc(ds: Any, *, condition: str | None, batch: tuple[str, ...],
           save: Callable[[Any, str], dict[str, str]],
           table: Callable[..., str]) -> QCOutput:
    """Compute the QC of ``ds`` and write it through ``save(fig, rel_stem)`` and
    ``table(frame, rel, index=...)`` (the run's writers)."""
    from heatseq.cluster import expression_values, sample_distances
    from heatseq.plot import level_colors, sample_heatmap
    from heatseq.plot.qc import (
        count_distribution_plot,
        detected_genes_plot,
        library_size_plot,
        pca_plot,
    )
    from heatseq.qc import log_counts, pca, qc_metrics, replicate_verdict, sample_correlations

    samples = ds.samples
    colors = level_colors(samples) if condition is not None else None
    values = expression_values(ds)
    metrics = qc_metrics(ds)
    pcs = pca(values)
    verdict = None
    if condition is not None:
        verdict = replicate_verdict(ds, values=values, condition=condition,
                                    batch=list(batch) or None)
    tables = {"metrics": table(metrics, "qc/qc_metrics.tsv")}
    scores = pcs.scores.copy()
    scores.index.name = "sample"
    tables["pca"] = table(scores, "qc/pca.tsv")
    var = pcs.variance_ratio.rename("variance_ratio").to_frame()
    var.index.name = "component"
    tables["pca_variance"] = table(var, "qc/pca_variance.tsv")
    if verdict is not None:
        tables["verdict"] = table(verdict.to_frame(), "qc/qc_verdict.tsv")
    shape = batch[0] if batch else None
    annotate = tuple(c for c in (condition, *batch) if c is not None)
    figs = {
        "library_sizes": save(library_size_plot(metrics, samples=samples, color_by=condition,
                                                level_colors=colors), "qc/library_sizes"),
        "detected_genes": save(detected_genes_plot(metrics, samples=samples, color_by=condition,
                                                   level_colors=colors), "qc/detected_genes"),
        "count_distribution": save(count_distribution_plot(log_counts(ds), samples=samples,
                                                           color_by=condition,
                                                           level_colors=colors),
                                   "qc/count_distribution"),
        "pca": save(pca_plot(pcs, samples=samples, color_by=condition, shape_by=shape,
                             level_colors=colors), "qc/pca"),
        "sample_distances": save(sample_heatmap(sample_distances(values), samples=samples,
                                                annotate=annotate, level_colors=colors,
                                                title="Sample-to-sample distances"),
                                 "qc/sample_distances"),
        "sample_correlations": save(sample_heatmap(sample_correlations(values),
                                                   samples=samples, annotate=annotate,
                                                   kind="correlation", level_colors=colors,
                                                   title="Sample correlations"),
                                    "qc/sample_correlations"),
    }
    return QCOutput(metrics=metrics, pca=pcs, verdict=verdict, figures=figs, tables=tables)


_CAPTIONS = {
    "pca": ("PCA", "Samples on the first two principal components of the VST of the 500 most "
                   "variable genes (as DESeq2's plotPCA); % of variance on the axes."),
    "sample_distances": ("Sample-to-sample distances", "Euclidean distances between samples "
                         "on the VST, clustered (complete linkage)."),
    "sample_correlations": ("Sample correlations", "Pearson correlations between samples on "
                            "the VST of the 500 most variable genes."),
    "library_sizes": ("Library sizes", "Total counts per sample."),
    "detected_genes": ("Detected genes", "Genes with at least one count per sample."),
    "count_distribution": ("Count distributions", "log2 of normalised counts + 1 per sample."),
}


def qc_report_section(qc: QCOutput, *, stage: Path) -> Section:
    """The report's QC section: the verdict in words first, then the figures and tables."""
    paras: list[str] = []
    status = "ok"
    if qc.verdict is not None:
        paras.append(qc.verdict.summary)
        paras.extend(qc.verdict.sentences)
        flagged = [f for f in qc.verdict.sample_findings if f.status != "ok"]
        status = "warning" if flagged else "ok"
    else:
        paras.append("No condition column: the replicate verdict was not made.")
    figures = tuple(
        Figure(id=f"qc-{name.replace('_', '-')}", title=_CAPTIONS[name][0],
               caption=_CAPTIONS[name][1], png=stage / files["png"],
               svg=stage / files["svg"] if "svg" in files else None)
        for name, files in qc.figures.items())
    tables = [Table(id="qc-metrics", title="Per-sample metrics", frame=qc.metrics,
                    download=stage / qc.tables["metrics"])]
    if qc.verdict is not None:
        tables.append(Table(id="qc-verdict", title="Replicate verdict per sample",
                            frame=qc.verdict.to_frame(), download=stage / qc.tables["verdict"]))
    return Section(id="qc", title="Quality control", paragraphs=tuple(paras), figures=figures,
                   tables=tuple(tables), status=status)  # type: ignore[arg-type]
