"""Dendrogram coordinates from a linkage matrix and a leaf order, without recursion.

A scipy/R linkage matrix lists the n-1 merges bottom-up: merge k joins clusters ``Z[k, 0]``
and ``Z[k, 1]`` (indices < n are leaves, n + j is the cluster of merge j) at height
``Z[k, 2]``, so children always come before their parent. One pass over the merges gives
each cluster its position (the midpoint of its two children, as R's ``plot.hclust``,
pheatmap and scipy draw it) and its leaf range; every merge becomes one four-point line
(left child up, across, down to the right child), and the heatmap draws all of them as one
compound path (a single artist). The work is O(n) with no recursion, so 60,000 leaves are
as easy as 60.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dendrogram_lines", "leaf_positions"]


def leaf_positions(order: np.ndarray, n: int) -> np.ndarray:
    """Position (0 .. n-1, left to right) of each original leaf, from a leaf order.

    ``order[p]`` is the original index of the leaf drawn at position p.
    """
    order = np.asarray(order, dtype=np.intp)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"the leaf order must be a permutation of 0..{n - 1}")
    pos = np.empty(n, dtype=np.intp)
    pos[order] = np.arange(n)
    return pos


def dendrogram_lines(linkage: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The lines of a dendrogram: one polyline of four (position, height) points per merge.

    Parameters
    ----------
    linkage
        An (n-1) x 4 linkage matrix (scipy / fastcluster / R ``hclust`` merge + height).
    positions
        Position of each original leaf along the axis, e.g. from :func:`leaf_positions`;
        a leaf is drawn at the centre of its cell, ``position + 0.5``.

    Returns
    -------
    numpy.ndarray
        (n-1) x 4 x 2 array: for each merge the points (x_left, h_left), (x_left, h),
        (x_right, h), (x_right, h_right), with x along the leaves and h the height.

    Raises
    ------
    ValueError
        When the positions are not a leaf order of this tree (a cluster's leaves would not
        be contiguous and the lines would cross).
    """
    z = np.asarray(linkage, dtype=float)
    n = z.shape[0] + 1
    pos = np.asarray(positions, dtype=float)
    if pos.shape != (n,):
        raise ValueError(f"the linkage has {n} leaves but {pos.shape[0]} positions were given")
    if n == 1:
        return np.empty((0, 4, 2))
    a = z[:, 0].astype(np.intp)
    b = z[:, 1].astype(np.intp)
    if min(a.min(), b.min()) < 0 or np.any(np.maximum(a, b) >= n + np.arange(n - 1)):
        raise ValueError("not a valid linkage matrix: a merge refers to a later cluster")
    x = np.empty(2 * n - 1)
    lo = np.empty(2 * n - 1)
    hi = np.empty(2 * n - 1)
    x[:n] = pos + 0.5
    lo[:n] = pos
    hi[:n] = pos
    # The recurrence is sequential by nature (a parent needs its children), so it runs as
    # one pass over plain Python floats: about 30 ms for 60,000 leaves.
    xs, los, his = x.tolist(), lo.tolist(), hi.tolist()
    for k, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        node = n + k
        xs[node] = (xs[i] + xs[j]) / 2.0
        los[node] = min(los[i], los[j])
        his[node] = max(his[i], his[j])
    x, lo, hi = np.asarray(xs), np.asarray(los), np.asarray(his)
    size = z[:, 3] if z.shape[1] > 3 else None
    if size is not None and not np.array_equal(hi[n:] - lo[n:] + 1, size):
        raise ValueError("the leaf order is not an order of this tree's leaves: some cluster's "
                         "leaves are not next to each other")
    height = np.concatenate([np.zeros(n), z[:, 2]])
    h = z[:, 2]
    lines = np.empty((n - 1, 4, 2))
    lines[:, 0, 0] = x[a]
    lines[:, 0, 1] = height[a]
    lines[:, 1, 0] = x[a]
    lines[:, 1, 1] = h
    lines[:, 2, 0] = x[b]
    lines[:, 2, 1] = h
    lines[:, 3, 0] = x[b]
    lines[:, 3, 1] = height[b]
    return lines
