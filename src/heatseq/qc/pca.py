"""Principal components and correlations of samples on their most variable genes.

This module owns the gene selection of QC (:func:`top_variable_genes`), the principal
component analysis of samples (:func:`pca`, :class:`PCAResult`) and the sample-to-sample
correlation matrix (:func:`sample_correlations`). They follow DESeq2's ``plotPCA``
(Love, Huber & Anders 2014):

1. the ``n_top`` genes (default 500) with the largest variance across samples of the
   transformed values (VST), ties kept in table order as R's ``order(decreasing = TRUE)``;
2. genes centred to mean 0, not scaled (``prcomp(t(x))``);
3. the singular value decomposition :math:`X_c = U S V^T` (samples x genes): scores
   :math:`U S`, loadings :math:`V`, and the share of variance of PC k
   :math:`s_k^2 / \\sum_j s_j^2` (R's ``percentVar``, here as a fraction).

Signs of principal components are arbitrary; here each PC is oriented so that the gene
with the largest absolute loading loads positively (first such gene in table order on a
tie), which makes repeated runs, and runs on reordered samples, give identical numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError

__all__ = ["PCAResult", "pca", "sample_correlations", "top_variable_genes"]

#: Default number of most variable genes (DESeq2 ``plotPCA(ntop = 500)``).
N_TOP = 500


def as_values(values: pd.DataFrame | Dataset) -> pd.DataFrame:
    """Finite genes x samples values: a Dataset's VST, or the table given without the genes
    that have a missing or infinite value."""
    if isinstance(values, Dataset):
        from heatseq.cluster import expression_values

        return expression_values(values)
    if not isinstance(values, pd.DataFrame):
        raise InputError(f"Expected a genes x samples DataFrame (e.g. VST values from "
                         f"heatseq.cluster.expression_values) or a Dataset, got "
                         f"{type(values).__name__}.")
    try:
        v = values.astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"The expression table must be numeric (genes x samples): {exc}") from None
    v.columns = v.columns.astype(str)
    keep = np.isfinite(v.to_numpy()).all(axis=1)
    if not keep.any():
        raise InputError("No gene has a finite value in every sample; nothing to compare "
                         "samples on.")
    return v.loc[keep] if not keep.all() else v


def _check_n_top(n_top: object) -> int:
    if isinstance(n_top, bool) or not isinstance(n_top, (int, np.integer)) or n_top < 2:
        raise InputError(f"n_top={n_top!r} is not valid; give a whole number of genes >= 2 "
                         f"(DESeq2's default is {N_TOP}).")
    return int(n_top)


def top_variable_genes(values: pd.DataFrame, *, n_top: int = N_TOP) -> pd.Index:
    """The ``n_top`` genes with the largest variance across samples, most variable first.

    Parameters
    ----------
    values
        Genes x samples, finite (e.g. VST values).
    n_top
        Number of genes (all genes when the table has fewer).

    Returns
    -------
    pandas.Index
        Gene IDs; ties keep table order (R's stable ``order(rowVars(x), decreasing = TRUE)``).

    Examples
    --------
    >>> v = pd.DataFrame([[1.0, 1.0], [0.0, 4.0], [1.0, 3.0]], index=["a", "b", "c"])
    >>> top_variable_genes(v, n_top=2).tolist()
    ['b', 'c']
    """
    n_top = _check_n_top(n_top)
    x = values.to_numpy(dtype=float)
    var = x.var(axis=1, ddof=1) if x.shape[1] > 1 else np.zeros(x.shape[0])
    order = np.argsort(-var, kind="stable")[:n_top]
    return values.index[order]


def sample_correlations(values: pd.DataFrame | Dataset, *, n_top: int = N_TOP) -> pd.DataFrame:
    """Pearson correlations between samples over their ``n_top`` most variable genes.

    Parameters
    ----------
    values
        Genes x samples (VST values), or a Dataset (its VST is computed).
    n_top
        Number of most variable genes (see :func:`top_variable_genes`).

    Returns
    -------
    pandas.DataFrame
        Samples x samples, symmetric, ones on the diagonal; a constant sample correlates 0
        with the others. Draw it with ``heatseq.plot.sample_heatmap(r, kind="correlation")``.

    Raises
    ------
    InputError
        If there are fewer than 2 samples or ``n_top`` is not valid.

    Examples
    --------
    >>> v = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 4.0, 7.0]}, index=["g1", "g2", "g3"])
    >>> round(float(sample_correlations(v).loc["a", "b"]), 4)
    0.9934
    """
    v = as_values(values)
    if v.shape[1] < 2:
        raise InputError(f"Sample correlations need at least 2 samples; the table has "
                         f"{v.shape[1]}.")
    x = v.loc[top_variable_genes(v, n_top=n_top)].to_numpy().T
    return pd.DataFrame(correlation_matrix(x), index=v.columns, columns=v.columns)


def correlation_matrix(x: np.ndarray) -> np.ndarray:
    """Pearson correlations between the rows of ``x``; a constant row correlates 0."""
    c = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->i", c, c))
    flat = norm <= 1e-12 * np.maximum(np.abs(x).max(axis=1), 1e-300)
    u = c / np.where(flat, 1.0, norm)[:, None]
    u[flat] = 0.0
    r = np.clip(u @ u.T, -1.0, 1.0)
    np.fill_diagonal(r, 1.0)
    return r


@dataclass(frozen=True)
class PCAResult:
    """Principal components of samples.

    Attributes
    ----------
    scores
        Samples x components (columns ``PC1``, ``PC2``, ...): the samples' coordinates.
    loadings
        Genes x components: unit-length gene weights of each component.
    variance_ratio
        Share of the total variance of the selected genes carried by each component
        (fractions summing to 1 over all components; DESeq2's ``percentVar`` / 100).
    genes
        The genes used, most variable first.
    params
        ``n_top`` and ``n_components`` as asked, and ``transform`` (what the values were,
        from ``values.attrs`` when known).
    """

    scores: pd.DataFrame
    loadings: pd.DataFrame
    variance_ratio: pd.Series
    genes: pd.Index
    params: dict[str, Any] = field(default_factory=dict)

    def axis_label(self, component: int) -> str:
        """``"PC1 (41% variance)"``: the label of component ``component`` (1-based)."""
        name = f"PC{int(component)}"
        if name not in self.variance_ratio.index:
            raise InputError(f"component={component!r} is not available; this PCA has "
                             f"components 1 to {len(self.variance_ratio)}.")
        return f"{name} ({100 * self.variance_ratio[name]:.0f}% variance)"


def pca(values: pd.DataFrame | Dataset, *, n_top: int = N_TOP,
        n_components: int | None = None) -> PCAResult:
    """PCA of samples on their most variable genes, as DESeq2's ``plotPCA``.

    Parameters
    ----------
    values
        Genes x samples on a log-like scale, typically the VST from
        :func:`heatseq.cluster.expression_values`; or a Dataset, whose VST is computed.
        Genes with a missing or infinite value are left out.
    n_top
        Number of most variable genes used (DESeq2's ``ntop``).
    n_components
        Number of components kept; default all (the number of samples, or of genes if
        fewer; the last is ~0 when genes outnumber samples).

    Returns
    -------
    PCAResult
        Signs fixed as described in the module docstring.

    Raises
    ------
    InputError
        If there are fewer than 2 samples, or ``n_top``/``n_components`` is not valid.

    Examples
    --------
    >>> v = pd.DataFrame({"a": [0.0, 0.0], "b": [2.0, 0.0], "c": [4.0, 0.0]}, index=["g1", "g2"])
    >>> res = pca(v)
    >>> res.scores["PC1"].round(3).tolist(), res.axis_label(1)
    ([-2.0, 0.0, 2.0], 'PC1 (100% variance)')
    """
    v = as_values(values)
    n_top = _check_n_top(n_top)
    if v.shape[1] < 2:
        raise InputError(f"PCA needs at least 2 samples; the table has {v.shape[1]}.")
    genes = top_variable_genes(v, n_top=n_top)
    x = v.loc[genes].to_numpy().T  # samples x genes
    max_k = min(x.shape)
    if n_components is None:
        k = max_k
    elif (isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer))
          or not 1 <= n_components <= max_k):
        raise InputError(f"n_components={n_components!r} is not valid; give a whole number "
                         f"from 1 to {max_k} (the number of samples or genes used).")
    else:
        k = int(n_components)
    xc = x - x.mean(axis=0, keepdims=True)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    # orientation: the largest |loading| of each component is positive
    lead = np.argmax(np.abs(vt), axis=1)
    sign = np.where(vt[np.arange(vt.shape[0]), lead] < 0, -1.0, 1.0)
    u, vt = u * sign, vt * sign[:, None]
    total = float((s**2).sum())
    ratio = s**2 / total if total > 0 else np.zeros_like(s)
    names = [f"PC{i + 1}" for i in range(k)]
    scores = pd.DataFrame(u[:, :k] * s[:k], index=v.columns, columns=names)
    scores.index.name = "sample"
    loadings = pd.DataFrame(vt[:k].T, index=genes, columns=names)
    params = {"n_top": n_top, "n_components": n_components, "n_genes": len(genes),
              "transform": v.attrs.get("transform", "given")}
    return PCAResult(scores=scores, loadings=loadings,
                     variance_ratio=pd.Series(ratio[:k], index=names, name="variance_ratio"),
                     genes=genes, params=params)
