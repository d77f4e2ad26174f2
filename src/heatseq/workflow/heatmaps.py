"""The run's heatmaps: the top variable genes, and the DE genes of each contrast with modules.

Both are drawn from the VST of the fit (``blind=False``, as DESeq2's vignette recommends for
downstream figures) with row z-scores, euclidean distances and complete linkage (pheatmap's
defaults), and written with their leaf orders, module tables and module summaries beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from heatseq.cluster import cluster, modules_table, select_genes
from heatseq.cluster.result import Clustering, GeneSelection
from heatseq.io.write import atomic_path, write_table
from heatseq.plot import heatmap, save_figure

__all__ = ["HeatmapOutput", "de_heatmap", "order_table", "top_variance_heatmap"]


@dataclass(frozen=True)
class HeatmapOutput:
    """A drawn heatmap and the files written for it (paths relative to the run folder)."""

    name: str
    title: str
    caption: str
    clustering: Clustering
    selection: GeneSelection
    files: tuple[str, ...]
    png: str
    svg: str | None
    modules_tsv: str | None
    summaries: tuple[str, ...]


def order_table(c: Clustering) -> pd.DataFrame:
    """Row and column order of a clustering as labels: axis, position, id, label."""
    rows = pd.DataFrame({"axis": "row", "position": np.arange(1, len(c.row_order) + 1),
                         "id": c.row_order.astype(str),
                         "label": c.row_labels.reindex(c.row_order).to_numpy()})
    cols = pd.DataFrame({"axis": "col", "position": np.arange(1, len(c.col_order) + 1),
                         "id": c.col_order.astype(str), "label": c.col_order.astype(str)})
    return pd.concat([rows, cols], ignore_index=True)


def _draw(values: pd.DataFrame, sel: GeneSelection, *, stage: Path, folder: str, name: str,
          title: str, samples: pd.DataFrame, annotate: Sequence[str], condition: str | None,
          symbols: pd.Series | None, row_annotations: pd.Series | None, k: int | None,
          formats: Sequence[str], dpi: int) -> HeatmapOutput:
    c = cluster(values.loc[sel.ids], samples=samples, condition=condition, k=k,
                gene_labels=symbols, caption_prefix=sel.caption)
    fig = heatmap(c, samples=samples, annotate=tuple(annotate), row_annotations=row_annotations,
                  title=title)
    files: list[str] = []
    for fmt in formats:
        rel = f"{folder}/{name}.{fmt}"
        save_figure(fig, stage / rel, dpi=dpi)
        files.append(rel)
    rel_order = f"{folder}/{name}.order.tsv"
    write_table(order_table(c), stage / rel_order, index=False)
    files.append(rel_order)
    modules_rel = None
    if c.modules is not None:
        modules_rel = f"{folder}/{name}.modules.tsv"
        write_table(modules_table(c, samples=samples, condition=condition), stage / modules_rel,
                    index=False)
        text_rel = f"{folder}/{name}.modules.txt"
        with atomic_path(stage / text_rel) as tmp:
            tmp.write_text("".join(s.text + "\n" for s in c.module_summaries), encoding="utf-8")
        files += [modules_rel, text_rel]
    return HeatmapOutput(name=name, title=title, caption=c.caption, clustering=c, selection=sel,
                         files=tuple(files), png=f"{folder}/{name}.png",
                         svg=f"{folder}/{name}.svg" if "svg" in formats else None,
                         modules_tsv=modules_rel,
                         summaries=tuple(s.text for s in c.module_summaries))


def top_variance_heatmap(values: pd.DataFrame, *, stage: Path, samples: pd.DataFrame,
                         annotate: Sequence[str], condition: str | None,
                         symbols: pd.Series | None, n: int = 500, k: int | None = None,
                         formats: Sequence[str] = ("png", "svg"), dpi: int = 200
                         ) -> HeatmapOutput:
    """The heatmap of the ``n`` genes of highest VST variance, in ``heatmaps/``."""
    sel = select_genes(values, by="top_variance", n=n)
    return _draw(values, sel, stage=stage, folder="heatmaps", name="top_variance",
                 title=f"Top {len(sel.ids):,} variable genes", samples=samples,
                 annotate=annotate, condition=condition, symbols=symbols,
                 row_annotations=None, k=k, formats=formats, dpi=dpi)


def de_heatmap(values: pd.DataFrame, result: object, *, stage: Path, samples: pd.DataFrame,
               annotate: Sequence[str], condition: str | None, symbols: pd.Series | None,
               alpha: float, n: int = 500, k: int | None = None,
               formats: Sequence[str] = ("png", "svg"), dpi: int = 200) -> HeatmapOutput | None:
    """The heatmap of a contrast's DE genes (padj < alpha, at most ``n`` by padj) with
    modules, in ``heatmaps/``; None when fewer than 2 genes are significant."""
    table = result.table  # type: ignore[attr-defined]
    n_sig = int((table["padj"] < alpha).sum())
    if n_sig < 2:
        return None
    sel = select_genes(values, by="de", de_result=result, n=n, alpha=alpha)
    lfc = table["log2FoldChange"].reindex(sel.ids)
    row_ann = pd.Series(np.where(lfc > 0, "up", "down"), index=sel.ids, name="DE")
    stem = result.file_stem  # type: ignore[attr-defined]
    return _draw(values, sel, stage=stage, folder="heatmaps", name=f"{stem}.heatmap",
                 title=f"DE genes: {result.name}", samples=samples,  # type: ignore[attr-defined]
                 annotate=annotate, condition=condition, symbols=symbols,
                 row_annotations=row_ann, k=k, formats=formats, dpi=dpi)
