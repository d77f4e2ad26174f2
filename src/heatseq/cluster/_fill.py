"""Compiled fill of a distance matrix from blocks of a BLAS product (numba).

This module owns the element-wise step of :mod:`heatseq.cluster.distance`: a block of rows
``i0 .. i0 + b`` of the product ``left @ right.T`` (columns ``i0 .. n``, so only pairs
``j >= i`` are computed) is turned into distances and written, in the output's type
(float64 or float32), either into a condensed vector (scipy's layout) or into both
triangles of a square matrix (row ``i`` and column ``i``; the column is written through a
small transposed tile so that every write is a run of consecutive values). The square matrix
is therefore exactly symmetric. Kinds:

* 0, euclidean: ``g`` holds :math:`|x_i|^2 + |x_j|^2 - 2 x_i \\cdot x_j`; pairs below
  ``tol * (|x_i|^2 + |x_j|^2)`` are recomputed as :math:`\\sum (x_i - x_j)^2`, then the
  square root of ``max(., 0)`` is written.
* 1, dot: ``g`` holds ``1 - u_i . u_j``, clipped to [0, 2].
* 2, spearman: ``g`` holds the exact product of centred ranks:
  ``1 - g / (|u_i| |u_j|)`` (``inv`` holds the inverse norms, 0 for a constant row), clipped.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["fill_block"]

_TILE = 128


@njit(cache=True, nogil=True)
def _exact(e: np.ndarray, i: int, j: int) -> float:
    """Squared euclidean distance of rows i and j, summed directly."""
    s = 0.0
    for k in range(e.shape[1]):
        t = e[i, k] - e[j, k]
        s += t * t
    return s


@njit(cache=True, nogil=True)
def _row(out: np.ndarray, pos: int, g: np.ndarray, r: int, i: int, lo: int, hi: int,
         i0: int, kind: int, e: np.ndarray, sq: np.ndarray, inv: np.ndarray,
         tol: float) -> None:
    """Distances of row i to columns lo .. hi - 1, written to out[pos + lo ..]."""
    gr = g[r]
    if kind == 0:
        # a branch-free pass (vectorised, 3x faster), then the rare close pairs again
        sqi = sq[i]
        close = 0
        for j in range(lo, hi):
            v = gr[j - i0]
            close += v < tol * (sqi + sq[j])
            out[pos + j] = np.sqrt(max(v, 0.0))
        if close:
            for j in range(lo, hi):
                if gr[j - i0] < tol * (sqi + sq[j]):
                    out[pos + j] = np.sqrt(_exact(e, i, j))
    elif kind == 1:
        for j in range(lo, hi):
            out[pos + j] = min(max(gr[j - i0], 0.0), 2.0)
    else:
        w = inv[i]
        for j in range(lo, hi):
            out[pos + j] = min(max(1.0 - gr[j - i0] * w * inv[j], 0.0), 2.0)


@njit(cache=True, nogil=True)
def fill_block(out: np.ndarray, g: np.ndarray, i0: int, n: int, kind: int, e: np.ndarray,
               sq: np.ndarray, inv: np.ndarray, tol: float, square: bool) -> None:
    """Write the distances of rows ``i0 .. i0 + g.shape[0]`` (``g`` = product block over
    columns ``i0 .. n``) into ``out``: condensed (``square`` False) or the flat n * n matrix
    (``square`` True)."""
    b = g.shape[0]
    if not square:
        for r in range(b):
            i = i0 + r
            _row(out, i * n - (i * (i + 1)) // 2 - i - 1, g, r, i, i + 1, n, i0, kind, e, sq,
                 inv, tol)
        return
    for r in range(b):
        out[(i0 + r) * n + i0 + r] = 0.0
    for j0 in range(i0, n, _TILE):
        j1 = min(n, j0 + _TILE)
        for r in range(b):
            i = i0 + r
            _row(out, i * n, g, r, i, max(j0, i + 1), j1, i0, kind, e, sq, inv, tol)
        # the same values into column i0 .. i0 + b of rows j (j > i only), read back from
        # the rows just written (still in cache): runs of consecutive writes
        for j in range(max(j0, i0 + 1), j1):
            row = j * n + i0
            for r in range(min(b, j - i0)):
                out[row + r] = out[(i0 + r) * n + j]
