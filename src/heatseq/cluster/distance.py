"""Pairwise distances between the rows of a matrix, fast and exact enough to equal R's ``dist``.

This module owns the distance step of clustering and the sample-to-sample distances of QC
heatmaps. Distances come as a condensed float64 vector (scipy's ``pdist`` layout, the input of
``fastcluster.linkage``), computed block by block with one BLAS matrix product per block:

* ``euclidean``: :math:`d_{ij}^2 = \\|x_i\\|^2 + \\|x_j\\|^2 - 2 x_i \\cdot x_j` on rows
  translated by the column means (distances do not change; norms get small). The identity
  loses absolute precision :math:`\\sim 10^{-15} (\\|x_i\\|^2 + \\|x_j\\|^2)` in
  :math:`d^2`, so pairs closer than :math:`d^2 < 10^{-3}\\,(\\|x_i\\|^2 + \\|x_j\\|^2)` are
  recomputed directly as :math:`\\sum (x_i - x_j)^2`. Every distance then has a relative error
  below about 1e-11, and identical rows are exactly 0 apart, as in R.
* ``correlation`` (Pearson, :math:`1 - r`) and ``cosine``: :math:`1 - u_i \\cdot u_j` on rows
  standardised to unit length (centred first for the correlation).
* ``spearman`` (:math:`1 - \\rho`, Pearson on average ranks): the product of centred, doubled
  ranks is a whole number computed exactly, then divided by both norms, so that equal rank
  correlations (frequent with few samples) give exactly equal distances.
* A constant (or zero) row has no direction for these three: it is 1 from every other row (as
  if uncorrelated) and 0 from other such rows.
* ``manhattan``: scipy's ``pdist(metric="cityblock")`` (no product form exists).

Missing values must be filled before (the clustering fills them with the row mean).
"""

from __future__ import annotations

import mmap
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform

from heatseq.errors import InputError

__all__ = ["condensed_distances", "sample_distances", "square_distances"]

Metric = Literal["euclidean", "correlation", "spearman", "cosine", "manhattan"]
METRICS: tuple[str, ...] = get_args(Metric)

#: Relative squared-distance threshold under which euclidean pairs are recomputed directly.
REFINE_TOLERANCE = 1e-3
#: Largest number of rows per block of the blocked matrix product.
BLOCK_ROWS = 2048
#: Memory of one block of the product, in bytes (the block has fewer rows for large n).
BLOCK_BYTES = 2**28


def _large_array(size: int) -> np.ndarray:
    """An uninitialised float64 array in its own anonymous memory map (ordinary pages).

    numpy asks the kernel for transparent huge pages on large arrays; where the kernel then
    compacts memory on the first touch (THP ``defrag=madvise``, a common default), that first
    touch is several times slower. Worth it for the distance matrix (the linkage's random reads
    gain more), not for the block buffer, which is written and read in order. The map is
    released when the array is.
    """
    if size * 8 < 2**26:
        return np.empty(size)
    return np.frombuffer(mmap.mmap(-1, size * 8), dtype=np.float64)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise InputError(f"metric={metric!r} is not valid; choose one of: {', '.join(METRICS)}.")


def _unit_rows(x: np.ndarray, *, centre: bool) -> np.ndarray:
    u = x - x.mean(axis=1, keepdims=True) if centre else x.copy()
    norm = np.sqrt(np.einsum("ij,ij->i", u, u))
    scale = np.max(np.abs(x), axis=1) if x.shape[1] else np.zeros(x.shape[0])
    flat = norm <= 1e-12 * np.maximum(scale, 1e-300)
    u /= np.where(flat, 1.0, norm)[:, None]
    u[flat] = 0.0
    return u


def embed(x: np.ndarray, metric: str) -> tuple[np.ndarray, str]:
    """Rows transformed so that the metric is a function of one dot product.

    Returns the embedded rows and the kind: ``"euclidean"`` (distance from squared norms
    and the dot product), ``"dot"`` (distance 1 - dot product) or ``"direct"`` (no product
    form; pdist is used).
    """
    x = np.asarray(x, dtype=np.float64)
    if metric == "euclidean":
        return np.ascontiguousarray(x - x.mean(axis=0, keepdims=True)), "euclidean"
    if metric == "correlation":
        return _unit_rows(x, centre=True), "dot"
    if metric == "spearman":
        # centred ranks doubled are whole numbers: their products are exact, so equal rank
        # correlations give exactly equal distances (ties are common with few samples)
        from scipy.stats import rankdata  # slow import: only for spearman

        return rankdata(x, axis=1) * 2.0 - (x.shape[1] + 1), "spearman"
    if metric == "cosine":
        return _unit_rows(x, centre=False), "dot"
    return np.ascontiguousarray(x), "direct"


def condensed_distances(x: np.ndarray, *, metric: Metric = "euclidean") -> np.ndarray:
    """Distances between all pairs of rows, condensed (scipy ``pdist`` layout), float64.

    Parameters
    ----------
    x
        n x d array without missing values.
    metric
        ``euclidean``, ``correlation`` (1 - Pearson r), ``spearman`` (1 - Spearman rho),
        ``cosine`` or ``manhattan``.

    Returns
    -------
    numpy.ndarray
        Length n (n - 1) / 2.

    Raises
    ------
    InputError
        If ``metric`` is not valid or ``x`` holds NaN or inf.
    """
    _check_metric(metric)
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise InputError("Distances need finite values; fill or drop NaN/inf first.")
    n = x.shape[0]
    e, kind = embed(x, metric)
    if kind == "direct":
        return pdist(e, metric="cityblock")
    # numpy's allocation (transparent huge pages where the kernel offers them): slower to fill
    # the first time, but fastcluster's linkage then runs about 1.5x faster (fewer TLB misses)
    out = np.empty(n * (n - 1) // 2)
    if n < 2:
        return out
    sq = np.einsum("ij,ij->i", e, e)
    b = max(1, min(BLOCK_ROWS, n, BLOCK_BYTES // (8 * n)))
    # augmented factors: one product gives |a|^2 + |b|^2 - 2 a.b (euclidean) or 1 - a.b (dot)
    if kind == "euclidean":
        left = np.hstack([e, sq[:, None], np.ones((n, 1))])
        right = np.hstack([-2.0 * e, np.ones((n, 1)), sq[:, None]])
    elif kind == "dot":
        left = np.hstack([e, np.ones((n, 1))])
        right = np.hstack([-e, np.ones((n, 1))])
    else:  # spearman: 1 - (u_i . u_j) / (|u_i| |u_j|), the product exact
        left = right = np.ascontiguousarray(e)
        norm = np.sqrt(sq)
        inv = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0)
    buf = _large_array(b * n)
    pos = 0
    for i0 in range(0, n, b):
        i1 = min(n, i0 + b)
        m = n - i0
        g = buf[: (i1 - i0) * m].reshape(i1 - i0, m)
        np.matmul(left[i0:i1], right[i0:].T, out=g)
        if kind == "spearman":
            g *= inv[i0:i1, None]
            g *= inv[None, i0:]
            np.subtract(1.0, g, out=g)
        # the block's upper triangle goes row by row into the condensed layout; for euclidean
        # distances each row is finished while it sits in cache (close pairs recomputed
        # exactly, then max(., 0) and the square root written straight into the output)
        for r in range(i1 - i0):
            row = g[r, r + 1:]
            pos_next = pos + row.size
            if kind == "euclidean":
                _refine_row(row, e, sq, i=i0 + r)
                np.maximum(row, 0.0, out=row)
                np.sqrt(row, out=out[pos:pos_next])
            else:
                out[pos:pos_next] = row
            pos = pos_next
    if kind != "euclidean":
        flat = sq == 0.0
        if flat.any():
            _set_flat_pairs(out, flat)
        np.clip(out, 0.0, 2.0, out=out)
    return out


def _refine_row(row: np.ndarray, e: np.ndarray, sq: np.ndarray, *, i: int) -> None:
    """Recompute, as sums of squared differences, the squared distances ``row[k]`` between
    rows ``i`` and ``i + 1 + k`` that are below REFINE_TOLERANCE x (sum of squared norms)."""
    close = np.flatnonzero(row < REFINE_TOLERANCE * (sq[i] + sq[i + 1:]))
    if close.size:
        diff = e[i + 1 + close] - e[i]
        row[close] = np.einsum("ij,ij->i", diff, diff)


def _set_flat_pairs(d: np.ndarray, flat: np.ndarray) -> None:
    """Distance 0 between two rows without direction (they are otherwise 1 from all rows)."""
    n = flat.size
    f = np.flatnonzero(flat)
    if f.size < 2:
        return
    i, j = np.triu_indices(f.size, k=1)
    a, b = f[i], f[j]
    d[n * a - a * (a + 1) // 2 + b - a - 1] = 0.0


def square_distances(x: np.ndarray, *, metric: Metric = "euclidean") -> np.ndarray:
    """Distances between all pairs of rows as a square n x n array (for small n)."""
    return squareform(condensed_distances(x, metric=metric), checks=False)


def sample_distances(values: pd.DataFrame, *, metric: Metric = "euclidean") -> pd.DataFrame:
    """Sample-to-sample distances for QC heatmaps, like ``dist(t(assay(vsd)))`` in DESeq2's
    vignette.

    Parameters
    ----------
    values
        Genes x samples (e.g. VST values from :func:`heatseq.cluster.expression_values`).
        Genes with a missing or infinite value are left out.
    metric
        ``euclidean``, ``correlation``, ``spearman``, ``cosine`` or ``manhattan``.

    Returns
    -------
    pandas.DataFrame
        Samples x samples, symmetric, zero diagonal.

    Raises
    ------
    InputError
        If ``metric`` is not valid, there are fewer than 2 samples, or no gene has values in
        every sample.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"a": [0.0, 0.0], "b": [3.0, 4.0]}, index=["g1", "g2"])
    >>> sample_distances(v).loc["a", "b"]
    np.float64(5.0)
    """
    _check_metric(metric)
    if values.shape[1] < 2:
        raise InputError(f"Sample distances need at least 2 samples; the table has "
                         f"{values.shape[1]}.")
    v = values.to_numpy(dtype=float)
    keep = np.isfinite(v).all(axis=1)
    if not keep.any():
        raise InputError("No gene has a finite value in every sample; sample distances cannot "
                         "be computed.")
    d = square_distances(v[keep].T, metric=metric)
    names = pd.Index(values.columns.astype(str), name="sample")
    return pd.DataFrame(d, index=names, columns=names.rename("sample2"))
