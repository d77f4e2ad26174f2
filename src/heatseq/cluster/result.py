"""The result types of :mod:`heatseq.cluster`: :class:`Clustering` and :class:`ModuleSummary`.

This module owns the contract between the clustering computation and the drawing code in
:mod:`heatseq.plot`: plain frozen values, orders as pandas labels (never positions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = ["Clustering", "GeneSelection", "ModuleSummary"]


def _freeze(m: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class ModuleSummary:
    """One gene module in plain words.

    Attributes
    ----------
    module
        Module number, 1..k, numbered top to bottom in the heatmap's row order.
    n_genes
        Number of genes in the module.
    genes
        Gene IDs of the module, in row order.
    top_genes
        Labels (symbol where known, else ID) of the most representative genes: highest
        Pearson correlation to the module's mean profile.
    mean_z
        Mean value (row z-score by default) of the module's genes per condition level.
    text
        A one-line summary, e.g. ``"Module 2, 312 genes: high in trt, low in untrt; top genes
        DUSP1, KLF15, PER1"``.
    """

    module: int
    n_genes: int
    genes: tuple[str, ...]
    top_genes: tuple[str, ...]
    mean_z: Mapping[str, float]
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean_z", _freeze(self.mean_z))


@dataclass(frozen=True)
class GeneSelection:
    """The genes chosen for a heatmap and how.

    Attributes
    ----------
    ids
        Selected gene IDs, in the order of the source table.
    caption
        E.g. ``"500 of 18,342 genes (top variance)"``.
    unknown
        Names of a user list that matched no gene ID or symbol.
    by
        The selection rule (``"top_variance"``, ``"de"``, ``"list"`` or ``"all"``).
    n_total
        Number of genes the selection chose from.
    """

    ids: pd.Index
    caption: str
    unknown: tuple[str, ...] = ()
    by: str = "top_variance"
    n_total: int = 0


@dataclass(frozen=True)
class Clustering:
    """A clustered matrix ready to draw, with everything that produced it.

    Attributes
    ----------
    values
        Genes x samples, the matrix to draw (after transform and scaling), in the ORIGINAL
        row and column order; may hold NaN.
    row_order
        Gene IDs top to bottom.
    col_order
        Sample names left to right.
    row_linkage
        Linkage matrix (scipy / R ``hclust`` heights) over the rows of ``values``, or None
        when rows were not clustered.
    col_linkage
        Linkage matrix over the columns of ``values``, or None.
    modules
        Gene ID -> module number 1..k, numbered top to bottom in ``row_order``; None when
        rows were not clustered.
    module_summaries
        One :class:`ModuleSummary` per module, in module order.
    clip
        Symmetric colour limit: values beyond +-clip take the end colours. None: no clip.
    caption
        E.g. ``"500 of 18,342 genes (top variance); row z-scores; euclidean, complete linkage"``.
    row_labels
        Gene ID -> label to show (symbol where known, else the ID).
    notes
        Things changed or handled (constant rows, NaN/inf, transform used), in plain words.
    params
        Every setting that produced the clustering.
    timings
        Seconds per step: ``"select"``, ``"transform"``, ``"scale"``, ``"distances"``,
        ``"linkage"``, ``"order"``, ``"modules"``.
    """

    values: pd.DataFrame
    row_order: pd.Index
    col_order: pd.Index
    row_linkage: np.ndarray | None
    col_linkage: np.ndarray | None
    modules: pd.Series | None
    module_summaries: tuple[ModuleSummary, ...]
    clip: float | None
    caption: str
    row_labels: pd.Series
    notes: tuple[str, ...] = ()
    params: Mapping[str, object] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "timings", _freeze(self.timings))  # type: ignore[arg-type]
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "module_summaries", tuple(self.module_summaries))

    @property
    def ordered_values(self) -> pd.DataFrame:
        """``values`` in drawing order (rows ``row_order``, columns ``col_order``)."""
        return self.values.loc[self.row_order, self.col_order]
