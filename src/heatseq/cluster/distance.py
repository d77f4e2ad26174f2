"""Pairwise distances between the rows of a matrix, fast and exact enough to equal R's ``dist``.

This module owns the distance step of clustering and the sample-to-sample distances of QC
heatmaps. Distances come as a condensed vector (scipy's ``pdist`` layout) or as the full
square matrix (flat, both triangles written, exactly symmetric: the input of the row-scanning
linkage of :mod:`heatseq.cluster._nnchain`), float64 or float32. They are computed block by
block of rows: one float64 BLAS matrix product per block (pairs j >= i only), then a compiled
pass (:mod:`heatseq.cluster._fill`) turns the block into distances, rounds them once to the
output type and writes them (for the square matrix, also transposed, in runs of consecutive
values). Large outputs are memory maps filled in by the kernel at once (4 KB pages; first
touches of transparent huge pages were 8x slower here). Per metric:

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

float32 (chosen by :func:`heatseq.cluster.linkage.plan` above 5,000 rows: half the memory and
memory traffic): each distance is the float64 value rounded once (relative error <= 6e-8), so
distances within about 1e-7 (relative) of each other can become ties or swap order, and a
linkage can then resolve such near-ties differently from float64 (or R). Measured on the
20,000 x 50 benchmark matrix (row z-scores, euclidean): cophenetic correlation between the
float32 and float64 trees 1.0000000000 (10 decimals) for complete, average, ward.D2 and
single; identical merges 99.92 % (complete), 99.84 % (average), 99.92 % (ward.D2), 99.82 %
(single); largest relative cophenetic difference 6e-8, 1e-6, 1.3e-7 and 6e-8.

Missing values must be filled before (the clustering fills them with the row mean).
"""

from __future__ import annotations

import mmap
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform

from heatseq.errors import InputError

__all__ = ["condensed_distances", "flat_square_distances", "sample_distances",
           "square_distances"]

Metric = Literal["euclidean", "correlation", "spearman", "cosine", "manhattan"]
METRICS: tuple[str, ...] = get_args(Metric)

#: Relative squared-distance threshold under which euclidean pairs are recomputed directly.
REFINE_TOLERANCE = 1e-3
#: Largest number of rows per block of the blocked matrix product (condensed output).
BLOCK_ROWS = 2048
#: The same for a square output (smaller: each block is also written transposed).
SQUARE_BLOCK_ROWS = 1024
#: Memory of one block of the product, in bytes (the block has fewer rows for large n).
BLOCK_BYTES = 2**28


def _large_array(size: int, dtype: type[np.floating] = np.float64, *,
                 populate: bool = False) -> np.ndarray:
    """An uninitialised array in its own anonymous memory map (ordinary 4 KB pages).

    numpy asks the kernel for transparent huge pages on large arrays; where the kernel then
    compacts memory on the first touch (THP ``defrag=madvise``, a common default), that first
    touch is several times slower (measured: 3.5 s of CPU to touch 1.6 GB, against 0.4 s for
    a map filled in by the kernel at once, ``populate=True``). The linkage reads rows in
    order, so it does not need huge pages. The map is released when the array is.
    """
    itemsize = np.dtype(dtype).itemsize
    if size * itemsize < 2**26 or not hasattr(mmap, "MAP_ANONYMOUS"):  # small, or Windows
        return np.empty(size, dtype=dtype)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    if populate:
        flags |= getattr(mmap, "MAP_POPULATE", 0)
    return np.frombuffer(mmap.mmap(-1, size * itemsize, flags=flags), dtype=dtype)


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


def condensed_distances(x: np.ndarray, *, metric: Metric = "euclidean",
                        dtype: type[np.floating] = np.float64) -> np.ndarray:
    """Distances between all pairs of rows, condensed (scipy ``pdist`` layout).

    Parameters
    ----------
    x
        n x d array without missing values.
    metric
        ``euclidean``, ``correlation`` (1 - Pearson r), ``spearman`` (1 - Spearman rho),
        ``cosine`` or ``manhattan``.
    dtype
        ``numpy.float64`` or ``numpy.float32`` (values computed in float64, then rounded).

    Returns
    -------
    numpy.ndarray
        Length n (n - 1) / 2.

    Raises
    ------
    InputError
        If ``metric`` is not valid or ``x`` holds NaN or inf.
    """
    return _distances(x, metric=metric, dtype=dtype, square=False)


def flat_square_distances(x: np.ndarray, *, metric: Metric = "euclidean",
                          dtype: type[np.floating] = np.float64) -> np.ndarray:
    """Distances between all pairs of rows as a flat n * n array (row i = distances from row
    i, exactly symmetric, zero diagonal): the input of the row-scanning linkage.

    Same values as :func:`condensed_distances` (``dtype`` likewise).
    """
    return _distances(x, metric=metric, dtype=dtype, square=True)


def _distances(x: np.ndarray, *, metric: str, dtype: type[np.floating],
               square: bool) -> np.ndarray:
    _check_metric(metric)
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise InputError("Distances need finite values; fill or drop NaN/inf first.")
    n = x.shape[0]
    e, kind = embed(x, metric)
    if kind == "direct":
        d = pdist(e, metric="cityblock")
        if square:
            return squareform(d).astype(dtype, copy=False).ravel()
        return d.astype(dtype, copy=False)
    out = _large_array(n * n if square else n * (n - 1) // 2, dtype, populate=True)
    if n < 2:
        out[:] = 0.0
        return out
    from heatseq.cluster._fill import fill_block  # compiled; loaded on first use

    sq = np.einsum("ij,ij->i", e, e)
    inv = np.zeros(0)
    cap = SQUARE_BLOCK_ROWS if square else BLOCK_ROWS
    b = max(1, min(cap, n, BLOCK_BYTES // (8 * n)))
    # augmented factors: one product gives |a|^2 + |b|^2 - 2 a.b (euclidean) or 1 - a.b (dot)
    if kind == "euclidean":
        left = np.hstack([e, sq[:, None], np.ones((n, 1))])
        right = np.hstack([-2.0 * e, np.ones((n, 1)), sq[:, None]])
        code = 0
    elif kind == "dot":
        left = np.hstack([e, np.ones((n, 1))])
        right = np.hstack([-e, np.ones((n, 1))])
        code = 1
    else:  # spearman: 1 - (u_i . u_j) / (|u_i| |u_j|), the product exact
        left = right = np.ascontiguousarray(e)
        norm = np.sqrt(sq)
        inv = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0)
        code = 2
    buf = _large_array(b * n)
    for i0 in range(0, n, b):
        i1 = min(n, i0 + b)
        g = buf[: (i1 - i0) * (n - i0)].reshape(i1 - i0, n - i0)
        np.matmul(left[i0:i1], right[i0:].T, out=g)
        fill_block(out, g, i0, n, code, e, sq, inv, REFINE_TOLERANCE, square)
    if kind != "euclidean":
        flat = np.flatnonzero(sq == 0.0)
        if flat.size > 1:
            if square:
                out.reshape(n, n)[np.ix_(flat, flat)] = 0.0
            else:
                _set_flat_pairs(out, sq == 0.0)
    return out


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
