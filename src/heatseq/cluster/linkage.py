"""Hierarchical clustering of rows: the linkage (R ``hclust``'s tree) and the leaf order.

This module owns the choice of algorithm, the memory plan and the leaf order.

Valid metric / method pairs (anything else raises an InputError that lists them):

* ``complete``, ``average``, ``single``: with every metric (euclidean, correlation, spearman,
  cosine, manhattan).
* ``ward.D2``: with ``euclidean`` only. Ward's criterion minimises the growth of within-cluster
  sums of squares, which needs points in a Euclidean space. It is R's ``hclust(method =
  "ward.D2")``, which is fastcluster's and scipy's ``"ward"`` on unsquared Euclidean
  distances.

Algorithms. With the distances in memory (a condensed float64 matrix of n(n - 1)/2 values,
``max_matrix_gb`` at most), ``fastcluster``'s linkage runs on it in place (no second copy),
giving the same trees as R's ``hclust`` (fastcluster is the drop-in replacement of
``hclust`` in R). Above that size, ``ward.D2`` and ``single`` on euclidean distances run
fastcluster's memory-saving ``linkage_vector`` on the rows themselves (memory O(n d), time
O(n^2 d)); ``complete`` and ``average`` have no such algorithm and are refused with the memory
they would need and the ways out (``ward.D2``, fewer genes, a larger ``max_matrix_gb``).

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
from typing import Literal, get_args

import fastcluster
import numpy as np
from scipy.cluster.hierarchy import leaves_list, optimal_leaf_ordering

from heatseq.cluster.distance import METRICS, Metric, condensed_distances
from heatseq.errors import InputError

__all__ = ["VALID_PAIRS", "check_pair", "dendrogram_coordinates", "leaf_order", "linkage",
           "linkage_timed",
           "matrix_gb"]

log = logging.getLogger(__name__)

Method = Literal["complete", "average", "ward.D2", "single"]
METHODS: tuple[str, ...] = get_args(Method)

#: metric -> methods valid with it.
VALID_PAIRS: dict[str, tuple[str, ...]] = {
    m: (("complete", "average", "ward.D2", "single") if m == "euclidean"
        else ("complete", "average", "single"))
    for m in METRICS
}

FASTCLUSTER_METHOD = {"complete": "complete", "average": "average", "ward.D2": "ward",
                       "single": "single"}
_FASTCLUSTER_INDEX = {"single": 0, "complete": 1, "average": 2, "ward": 4}
#: Methods with a memory-saving algorithm on euclidean rows.
VECTOR_METHODS = ("ward.D2", "single")


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


def matrix_gb(n: int) -> float:
    """Size in GB (1e9 bytes) of the condensed float64 distance matrix of n rows."""
    return n * (n - 1) / 2 * 8 / 1e9


def _linkage_in_place(d: np.ndarray, n: int, method: str) -> np.ndarray:
    """fastcluster's linkage on a condensed matrix, overwriting it (no copy)."""
    z = np.empty((n - 1, 4))
    wrap = getattr(fastcluster, "linkage_wrap", None)
    if wrap is None or not (d.flags.c_contiguous and d.dtype == np.float64):  # pragma: no cover
        return fastcluster.linkage(d, method=method, preserve_input=False)
    wrap(n, d, z, _FASTCLUSTER_INDEX[method])
    return z


def linkage(x: np.ndarray, *, metric: Metric = "euclidean", method: Method = "complete",
            optimal_ordering: bool = False, max_matrix_gb: float = 4.0,
            axis: Literal["row", "col"] = "row") -> np.ndarray:
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
        Largest condensed distance matrix to hold, in GB. Above it only ``ward.D2`` and
        ``single`` with euclidean distances can run (memory-saving algorithm).
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
                         max_matrix_gb=max_matrix_gb, axis=axis)[0]


def linkage_timed(x: np.ndarray, *, metric: Metric = "euclidean", method: Method = "complete",
                  optimal_ordering: bool = False, max_matrix_gb: float = 4.0,
                  axis: Literal["row", "col"] = "row") -> tuple[np.ndarray, dict[str, float]]:
    """:func:`linkage` and the seconds spent on ``"distances"`` and ``"linkage"``."""
    check_pair(metric, method, axis=axis)
    n = x.shape[0]
    if n < 2:
        raise InputError(f"Clustering needs at least 2 {axis}s; there is {n}.")
    t: dict[str, float] = {}
    fc_method = FASTCLUSTER_METHOD[method]
    need = matrix_gb(n)
    if need > max_matrix_gb:
        if metric != "euclidean" or method not in VECTOR_METHODS or optimal_ordering:
            what = "optimal leaf ordering" if optimal_ordering else f"{method} linkage"
            raise InputError(
                f"Clustering {n:,} {axis}s with {what} on {metric} distances needs a "
                f"{need:.1f} GB distance matrix (limit max_matrix_gb={max_matrix_gb:g}). Use "
                "method='ward.D2' or 'single' with metric='euclidean' (memory-saving, no "
                "matrix; correlation distance is euclidean on z-scored rows), select fewer "
                f"genes (e.g. the top {_rows_for(max_matrix_gb):,} by variance), or raise "
                "max_matrix_gb.")
        t0 = time.perf_counter()
        xe = np.ascontiguousarray(x - x.mean(axis=0, keepdims=True), dtype=np.float64)
        z = fastcluster.linkage_vector(xe, method=fc_method, metric="euclidean")
        t["distances"], t["linkage"] = 0.0, time.perf_counter() - t0
        log.info("%s linkage_vector(%s) on %d x %d: %.2f s", axis, fc_method, n, x.shape[1],
                 time.perf_counter() - t0)
        return z, t
    t0 = time.perf_counter()
    d = condensed_distances(x, metric=metric)
    t1 = time.perf_counter()
    keep = d.copy() if optimal_ordering else None
    z = _linkage_in_place(d, n, fc_method)
    del d
    if keep is not None:
        z = optimal_leaf_ordering(z, keep)
    t2 = time.perf_counter()
    t["distances"], t["linkage"] = t1 - t0, t2 - t1
    log.info("%s distances %.2f s, linkage %.2f s (n=%d)", axis, t1 - t0, t2 - t1, n)
    return z, t


def _rows_for(gb: float) -> int:
    """Largest n whose condensed matrix fits in ``gb``."""
    return int(np.floor((1 + np.sqrt(1 + gb * 1e9)) / 2))


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
