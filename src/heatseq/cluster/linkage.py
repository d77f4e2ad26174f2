"""Hierarchical clustering of rows: the linkage (R ``hclust``'s tree) and the leaf order.

This module owns the choice of algorithm, the memory plan and the leaf order.

Valid metric / method pairs (anything else raises an InputError that lists them):

* ``complete``, ``average``, ``single``: with every metric (euclidean, correlation, spearman,
  cosine, manhattan).
* ``ward.D2``: with ``euclidean`` only. Ward's criterion minimises the growth of within-cluster
  sums of squares, which needs points in a Euclidean space. It is R's ``hclust(method =
  "ward.D2")``, which is fastcluster's and scipy's ``"ward"`` on unsquared Euclidean
  distances.

Algorithms. With the distances in memory, heatseq's own compiled linkage runs on them in place
(:mod:`heatseq.cluster._nnchain`: nearest-neighbour chain for complete, average and ward.D2,
Prim's minimum spanning tree for single), giving the same merges as fastcluster and R's
``hclust`` (checked merge for merge against fastcluster). The memory plan, for n rows and a
budget of ``max_matrix_gb``:

* values are float64 up to ``FLOAT32_ROWS`` (5,000) rows and float32 above (``precision``
  overrides). Distances are computed in float64 and rounded once; the linkage updates are
  computed in float64 and stored rounded. What float32 changes: distances equal to about 1e-7
  (relative) become ties or swap order, so such near-ties can be resolved differently from
  float64 (and R); heights differ by rounding (< 1e-6 relative). Measured on the 20,000 x 50
  benchmark matrix (row z-scores, euclidean): cophenetic correlation with the float64 tree
  1.0000000000 (10 decimals); identical merges (same pair, same size) 99.92 % for complete,
  99.84 % for average, 99.92 % for ward.D2, 99.82 % for single (the others are near-ties);
* the full square matrix (n * n values: every access of the linkage reads a row in order,
  about 4x faster than fastcluster on the condensed matrix) when it fits in the budget;
  otherwise the condensed matrix (half the memory, slower strided reads) when that fits;
* otherwise ``ward.D2`` and ``single`` on euclidean distances run fastcluster's
  memory-saving ``linkage_vector`` on the rows themselves (memory O(n d), time O(n^2 d));
  ``complete`` and ``average`` have no such algorithm and are refused with the memory they
  would need and the ways out (``ward.D2``, fewer genes, a larger ``max_matrix_gb``).

Leaf order (what R's ``hclust``'s ``$order`` and pheatmap draw): in every merge the first
child is the one with the smaller scipy index, that is a single row before a cluster, the
lower input row first between two rows, and the earlier-formed cluster first between two
clusters; this is also R's merge-matrix convention. The leaves are read depth-first, first
child first: scipy's ``leaves_list``, an iterative C traversal (no recursion limit at any
size). This gives R's order exactly whenever the tree is the same (checked on the pheatmap
references of four data sets and on every metric / method pair).

Ties. When several pairs are at exactly the same distance, more than one tree is a correct
answer and the algorithms pick differently: fastcluster (NN-chain) and R's ``hclust`` (the
first closest pair in its scan) can then give different trees (complete linkage) or the same
tree with tied merges in another order (single linkage), though average linkage agreed in our
tests. Real-valued data rarely has exact ties; rank correlations (``spearman``) on few samples
often do. The tree heatseq returns is always a correct one for its distances.
``optimal_ordering=True`` flips children to minimise the sum of distances between
neighbouring leaves (Bar-Joseph et al. 2001).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from scipy.cluster.hierarchy import leaves_list, optimal_leaf_ordering
from scipy.spatial.distance import squareform

from heatseq.cluster.distance import (
    METRICS,
    Metric,
    condensed_distances,
    flat_square_distances,
)
from heatseq.errors import InputError

__all__ = ["FLOAT32_ROWS", "Plan", "VALID_PAIRS", "check_pair", "dendrogram_coordinates",
           "leaf_order", "linkage", "linkage_timed", "matrix_gb", "plan"]

log = logging.getLogger(__name__)

Method = Literal["complete", "average", "ward.D2", "single"]
METHODS: tuple[str, ...] = get_args(Method)

#: metric -> methods valid with it.
VALID_PAIRS: dict[str, tuple[str, ...]] = {
    m: (("complete", "average", "ward.D2", "single") if m == "euclidean"
        else ("complete", "average", "single"))
    for m in METRICS
}

Precision = Literal["auto", "float64", "float32"]
PRECISIONS: tuple[str, ...] = get_args(Precision)

FASTCLUSTER_METHOD = {"complete": "complete", "average": "average", "ward.D2": "ward",
                       "single": "single"}
#: Methods with a memory-saving algorithm on euclidean rows.
VECTOR_METHODS = ("ward.D2", "single")
#: Above this many rows the distance matrix is float32 (``precision="auto"``).
FLOAT32_ROWS = 5000


@dataclass(frozen=True)
class Plan:
    """How :func:`linkage` clusters n rows: ``layout`` is ``"square"``, ``"condensed"`` or
    ``"vector"`` (no matrix), ``dtype`` the matrix's type, ``gb`` its size, ``text`` the
    algorithm in words (for ``Clustering.params``)."""

    layout: str
    dtype: type[np.floating]
    gb: float
    text: str


def check_pair(metric: str, method: str, *, axis: str = "row") -> None:
    """Raise an InputError unless ``metric`` and ``method`` are valid and go together."""
    if metric not in METRICS:
        raise InputError(f"{axis}_metric={metric!r} is not valid; choose one of: "
                         f"{', '.join(METRICS)}.")
    if method not in METHODS:
        raise InputError(f"method={method!r} is not valid; choose one of: {', '.join(METHODS)}.")
    if method not in VALID_PAIRS[metric]:
        pairs = "; ".join(f"{m}: {', '.join(v)}" for m, v in VALID_PAIRS.items())
        raise InputError(f"The {axis} metric {metric!r} cannot be used with method {method!r} "
                         "(Ward's method needs euclidean distances). Valid metric: methods are "
                         f"{pairs}.")


def matrix_gb(n: int, *, itemsize: int = 8, square: bool = False) -> float:
    """Size in GB (1e9 bytes) of the distance matrix of n rows: condensed (n (n - 1) / 2
    values) or square (n * n), of ``itemsize`` bytes each."""
    return (n * n if square else n * (n - 1) / 2) * itemsize / 1e9


def plan(n: int, *, metric: Metric = "euclidean", method: Method = "complete",
         max_matrix_gb: float = 4.0, precision: Precision = "auto",
         optimal_ordering: bool = False) -> Plan:
    """The memory plan for clustering n rows (see the module docstring); ``layout`` is
    ``"refuse"`` when nothing fits."""
    if precision not in PRECISIONS:
        raise InputError(f"precision={precision!r} is not valid; choose one of: "
                         f"{', '.join(PRECISIONS)}.")
    f32 = precision == "float32" or (precision == "auto" and n > FLOAT32_ROWS)
    dtype: type[np.floating] = np.float32 if f32 else np.float64
    size = 4 if f32 else 8
    kind = "scipy pdist cityblock" if metric == "manhattan" else f"blocked BLAS {metric}"
    algo = "Prim's MST (single)" if method == "single" else f"NN-chain {method}"
    for layout in ("square", "condensed"):
        gb = matrix_gb(n, itemsize=size, square=layout == "square")
        if gb <= max_matrix_gb:
            text = (f"{kind} distances ({np.dtype(dtype).name}, {layout} matrix) + {algo} "
                    "linkage (numba) in place")
            return Plan(layout, dtype, gb, text)
    gb = matrix_gb(n, itemsize=size)
    if metric == "euclidean" and method in VECTOR_METHODS and not optimal_ordering:
        fc = FASTCLUSTER_METHOD[method]
        return Plan("vector", np.float64, 0.0,
                    f"fastcluster.linkage_vector({fc!r}), no distance matrix")
    return Plan("refuse", dtype, gb, "")


def linkage(x: np.ndarray, *, metric: Metric = "euclidean", method: Method = "complete",
            optimal_ordering: bool = False, max_matrix_gb: float = 4.0,
            precision: Precision = "auto", axis: Literal["row", "col"] = "row") -> np.ndarray:
    """The linkage matrix (scipy layout, R ``hclust`` heights) of the rows of ``x``.

    Parameters
    ----------
    x
        n x d finite values, n >= 2.
    metric, method
        A valid pair (see the module docstring).
    optimal_ordering
        Reorder children for the optimal leaf order (keeps a copy of the distances).
    max_matrix_gb
        Largest distance matrix to hold, in GB (square if it fits, else condensed). Above
        it only ``ward.D2`` and ``single`` with euclidean distances can run (memory-saving
        algorithm).
    precision
        ``"auto"`` (float64 up to 5,000 rows, float32 above), ``"float64"`` or
        ``"float32"``: the type of the distance matrix (see the module docstring).
    axis
        ``"row"`` or ``"col"``, for messages.

    Returns
    -------
    numpy.ndarray
        (n - 1) x 4: children, height, size.

    Raises
    ------
    InputError
        For an invalid metric/method pair, fewer than 2 rows, or a matrix too large for the
        method.
    """
    return linkage_timed(x, metric=metric, method=method, optimal_ordering=optimal_ordering,
                         max_matrix_gb=max_matrix_gb, precision=precision, axis=axis)[0]


def linkage_timed(x: np.ndarray, *, metric: Metric = "euclidean", method: Method = "complete",
                  optimal_ordering: bool = False, max_matrix_gb: float = 4.0,
                  precision: Precision = "auto", axis: Literal["row", "col"] = "row"
                  ) -> tuple[np.ndarray, dict[str, float]]:
    """:func:`linkage` and the seconds spent on ``"distances"`` and ``"linkage"`` (wall
    clock), and ``"cpu_distances"``, ``"cpu_linkage"`` (CPU seconds of the process)."""
    check_pair(metric, method, axis=axis)
    n = x.shape[0]
    if n < 2:
        raise InputError(f"Clustering needs at least 2 {axis}s; there is {n}.")
    t: dict[str, float] = {}
    p = plan(n, metric=metric, method=method, max_matrix_gb=max_matrix_gb,
             precision=precision, optimal_ordering=optimal_ordering)
    if p.layout == "refuse":
        what = "optimal leaf ordering" if optimal_ordering else f"{method} linkage"
        raise InputError(
            f"Clustering {n:,} {axis}s with {what} on {metric} distances needs a "
            f"{p.gb:.1f} GB distance matrix (limit max_matrix_gb={max_matrix_gb:g}). Use "
            "method='ward.D2' or 'single' with metric='euclidean' (memory-saving, no "
            "matrix; correlation distance is euclidean on z-scored rows), select fewer "
            f"genes (e.g. the top {_rows_for(max_matrix_gb):,} by variance), or raise "
            "max_matrix_gb.")
    if p.layout == "vector":
        import fastcluster  # only for the memory-saving path

        t0, c0 = time.perf_counter(), time.process_time()
        fc_method = FASTCLUSTER_METHOD[method]
        xe = np.ascontiguousarray(x - x.mean(axis=0, keepdims=True), dtype=np.float64)
        z = fastcluster.linkage_vector(xe, method=fc_method, metric="euclidean")
        t["distances"], t["linkage"] = 0.0, time.perf_counter() - t0
        t["cpu_distances"], t["cpu_linkage"] = 0.0, time.process_time() - c0
        log.info("%s linkage_vector(%s) on %d x %d: %.2f s", axis, fc_method, n, x.shape[1],
                 time.perf_counter() - t0)
        return z, t
    from heatseq.cluster._nnchain import linkage_condensed, linkage_square

    t0, c0 = time.perf_counter(), time.process_time()
    if p.layout == "square":
        d = flat_square_distances(x, metric=metric, dtype=p.dtype)
        keep = squareform(d.reshape(n, n), checks=False).astype(np.float64) \
            if optimal_ordering else None
    else:
        d = condensed_distances(x, metric=metric, dtype=p.dtype)
        keep = d.astype(np.float64) if optimal_ordering else None
    t1, c1 = time.perf_counter(), time.process_time()
    run = linkage_square if p.layout == "square" else linkage_condensed
    z = run(d, n, method=method)
    del d
    if keep is not None:
        z = optimal_leaf_ordering(z, keep)
    t2, c2 = time.perf_counter(), time.process_time()
    t["distances"], t["linkage"] = t1 - t0, t2 - t1
    t["cpu_distances"], t["cpu_linkage"] = c1 - c0, c2 - c1
    log.info("%s distances %.2f s, linkage %.2f s (n=%d, %s)", axis, t1 - t0, t2 - t1, n,
             p.text)
    return z, t


def _rows_for(gb: float) -> int:
    """Largest n whose condensed matrix fits in ``gb`` (float32 above FLOAT32_ROWS rows)."""
    n64 = int(np.floor((1 + np.sqrt(1 + gb * 1e9)) / 2))
    return n64 if n64 <= FLOAT32_ROWS else max(FLOAT32_ROWS,
                                              int(np.floor((1 + np.sqrt(1 + 2 * gb * 1e9)) / 2)))


def leaf_order(z: np.ndarray) -> np.ndarray:
    """Positions of the leaves, left to right (top to bottom), as R ``hclust``'s ``$order``
    minus one. Iterative; see the module docstring for the rule."""
    return leaves_list(z)


def dendrogram_coordinates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line coordinates of a dendrogram, without recursion (for drawing any size of tree).

    Leaves sit at their drawn position + 0.5 (cell centres of a heatmap drawn on 0..n); a
    merge sits midway between its two children (as R's ``plot.hclust``, pheatmap and scipy's
    ``dendrogram`` draw it) at its height.

    Parameters
    ----------
    z
        A linkage matrix.

    Returns
    -------
    x, y : numpy.ndarray
        (n - 1) x 4 each, one row per merge: the points (left child, bottom), (left child,
        height), (right child, height), (right child, bottom) of its U shape. As a set of
        links these equal scipy ``dendrogram``'s ``icoord`` / 10 and ``dcoord``.
    """
    n = z.shape[0] + 1
    leaf_x = np.empty(n)
    leaf_x[leaf_order(z)] = np.arange(n) + 0.5
    left = z[:, 0].astype(np.intp)
    right = z[:, 1].astype(np.intp)
    # one pass in merge order (children always come before their parent); plain floats keep
    # it fast (about 1 microsecond per merge)
    xs = [*leaf_x.tolist(), *([0.0] * (n - 1))]
    lt, rt = left.tolist(), right.tolist()
    for m in range(n - 1):
        xs[n + m] = 0.5 * (xs[lt[m]] + xs[rt[m]])
    xa = np.asarray(xs)
    ya = np.concatenate([np.zeros(n), z[:, 2]])
    h = z[:, 2]
    x = np.column_stack([xa[left], xa[left], xa[right], xa[right]])
    y = np.column_stack([ya[left], h, h, ya[right]])
    return x, y
