"""Differential expression: the DESeq2 method (Love, Huber & Anders 2014, Genome Biology
15:550), vectorised across genes and checked against R DESeq2 1.38.3.

The usual entry points are :func:`deseq` (R's ``DESeq()``) and :func:`results` (R's
``results()`` + ``lfcShrink()``); the steps are public in their modules: ``sizefactors``,
``dispersion``, ``glm``, ``wald``, ``lrt``, ``cooks``, ``filtering``, ``shrink``, ``vst``,
``design``.
"""

from heatseq.de.deseq import DESeqFit, deseq
from heatseq.de.design import Design, contrast_vector, design_matrix, proposed_design
from heatseq.de.results import DEResult, results
from heatseq.de.sizefactors import normalized_counts, size_factors
from heatseq.de.vst import variance_stabilizing_transformation, vst

__all__ = [
    "DEResult",
    "DESeqFit",
    "Design",
    "contrast_vector",
    "deseq",
    "design_matrix",
    "normalized_counts",
    "proposed_design",
    "results",
    "size_factors",
    "variance_stabilizing_transformation",
    "vst",
]
