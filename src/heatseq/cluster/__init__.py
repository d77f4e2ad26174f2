"""Clustering for heatmaps: gene selection, values, distances, linkage, leaf order, modules.

Computes a :class:`Clustering` that :mod:`heatseq.plot` draws; nothing here draws. A typical
chain::

    values = expression_values(dataset)                 # VST of counts, genes x samples
    sel = select_genes(values, n=500)                   # top 500 by variance
    c = cluster(values.loc[sel.ids], samples=dataset.samples, condition="dex",
                gene_labels=dataset.symbols, caption_prefix=sel.caption)

Submodules: :mod:`~heatseq.cluster.result` (the result types), :mod:`~heatseq.cluster.select`,
:mod:`~heatseq.cluster.values`, :mod:`~heatseq.cluster.distance`,
:mod:`~heatseq.cluster.linkage` (valid metric/method pairs, memory plan, leaf-order rule),
:mod:`~heatseq.cluster.modules` (tree cut, choice of k, summaries),
:mod:`~heatseq.cluster.compute` (:func:`cluster`).
"""

from heatseq.cluster.compute import cluster
from heatseq.cluster.distance import sample_distances
from heatseq.cluster.linkage import dendrogram_coordinates, leaf_order, linkage
from heatseq.cluster.modules import choose_k, cut_modules, modules_table, summarize_modules
from heatseq.cluster.result import Clustering, GeneSelection, ModuleSummary
from heatseq.cluster.select import select_genes
from heatseq.cluster.values import colour_limit, expression_values, scale_rows

__all__ = [
    "Clustering",
    "GeneSelection",
    "ModuleSummary",
    "choose_k",
    "cluster",
    "colour_limit",
    "cut_modules",
    "dendrogram_coordinates",
    "expression_values",
    "leaf_order",
    "linkage",
    "modules_table",
    "sample_distances",
    "scale_rows",
    "select_genes",
    "summarize_modules",
]
