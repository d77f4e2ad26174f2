"""Compiled hierarchical clustering on a distance matrix, in place (numba).

This module owns the linkage algorithms themselves; :mod:`heatseq.cluster.linkage` chooses
which matrix to build and when to call them. Methods:

* ``complete``, ``average``, ``ward.D2``: the nearest-neighbour chain (Murtagh 1985;
  Müllner 2011, "Modern hierarchical, agglomerative clustering algorithms",
  arXiv:1109.2378, fig. 6), valid for these reducible methods. Distances are updated with the
  Lance-Williams formulas (complete: maximum; average: size-weighted mean; Ward: on squared
  distances, heights reported as square roots, which is R's ``ward.D2``). The merged cluster
  takes the slot of the larger index, the smaller index leaves the active set.
* ``single``: Prim's minimum spanning tree (Rohlf 1973), one scan of the remaining points per
  merge.

Both scan the points in increasing index order and keep the first of equal minima (the chain
keeps its predecessor on ties), which is fastcluster's tie rule, so the merges are the same as
fastcluster's, ties included (and R ``hclust``'s, up to the documented differences on exact
ties). Updates are computed in float64 whatever the storage type (float64 or float32); in
float64 they are fastcluster's formulas operation for operation. The merges are then sorted
by height (stable) and numbered with a union-find as scipy does: merge ``m`` forms cluster
``n + m``, the smaller id is the first child.

Two layouts of the matrix:

* square (:func:`linkage_square`, n * n values, twice the memory): every access reads or
  writes a row in order. A merge rewrites the new cluster's row at once; its column is not
  written into the other rows (n scattered writes) but logged, and a row replays the merges
  it missed when it is next read (one update per missed merge, in a row that is in cache).
  Removed clusters and the diagonal hold +inf, so a nearest-neighbour search is a plain scan
  (eight running minima). About 4x faster than fastcluster on 20,000 points.
* condensed (:func:`linkage_condensed`, scipy's ``pdist`` layout, :math:`d(i, j)`,
  :math:`i < j`, at ``(2n - 3 - i) i / 2 + j - 1``): half the memory; reads of the part of a
  row that lies in earlier rows are strided (about fastcluster's speed). Used when the square
  matrix does not fit the memory budget.

In both, when half the points have gone the matrix is compacted in place (the surviving rows
and columns moved to the front, in order), so scans stay dense.

Compilation: ``cache=True`` writes the machine code next to this file (or, where the package
folder cannot be written, in numba's user cache folder), so only the first call ever compiles
(measured: about 8 s of CPU for the float64 functions, as much again for float32; a later
process loads them in about 0.4 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["METHOD_CODES", "linkage_condensed", "linkage_square"]

#: method name -> code used by the compiled core.
METHOD_CODES = {"single": 0, "complete": 1, "average": 2, "ward.D2": 4}
#: The square matrix is compacted when the active points drop to 1/COMPACT of its size.
COMPACT = 2


@njit(cache=True, nogil=True)
def _start(i: int, n: int) -> int:
    """Condensed position of d(i, j) minus j (valid for i < j)."""
    return ((2 * n - 3 - i) * i >> 1) - 1


@njit(cache=True, nogil=True)
def _compact(d: np.ndarray, n: int, act: np.ndarray, m: int) -> None:
    """Move the rows/columns ``act[:m]`` (sorted) of the n-point matrix to the front as an
    m-point condensed matrix, in place (each value moves to a lower or equal position)."""
    pos = 0
    for a in range(m):
        base = _start(act[a], n)
        for b in range(a + 1, m):
            d[pos] = d[base + act[b]]
            pos += 1


@njit(cache=True, nogil=True)
def _nn_chain(d: np.ndarray, n: int, method: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NN-chain on condensed ``d`` (overwritten). Returns point ids (original numbering) of the
    two merged clusters' representatives and the merge distances, in merge order."""
    out_a = np.empty(n - 1, dtype=np.int64)
    out_b = np.empty(n - 1, dtype=np.int64)
    out_h = np.empty(n - 1, dtype=np.float64)
    if method == 4:
        for p in range(d.size):
            d[p] = d[p] * d[p]
    size = np.ones(n, dtype=np.float64)     # by slot
    act = np.arange(n).astype(np.int64)     # active slots, sorted
    ids = np.arange(n).astype(np.int64)     # slot -> original point id
    chain = np.empty(n + 1, dtype=np.int64)
    m = n          # active count
    nn = n         # current matrix size (slots)
    tip = 0
    for step in range(n - 1):
        if m <= nn // 2 and nn > 64:
            # compact: slots act[k] -> k; chain entries renumbered likewise
            _compact(d, nn, act, m)
            newslot = np.full(nn, -1, dtype=np.int64)
            for k in range(m):
                newslot[act[k]] = k
                ids[k] = ids[act[k]]
                size[k] = size[act[k]]
            for k in range(tip):
                chain[k] = newslot[chain[k]]
            for k in range(m):
                act[k] = k
            nn = m
        if tip <= 3:
            a = act[0]
            chain[0] = a
            tip = 1
            b = act[1]
            base = _start(a, nn)
            best = d[base + b]
            for k in range(2, m):
                j = act[k]
                v = d[base + j]
                if v < best:
                    best = v
                    b = j
        else:
            tip -= 3
            a = chain[tip - 1]
            b = chain[tip]
            best = d[_start(a, nn) + b] if a < b else d[_start(b, nn) + a]
        while True:
            chain[tip] = b
            # nearest neighbour of b; a (the predecessor) is kept on ties
            k = 0
            while act[k] < b:
                j = act[k]
                v = d[_start(j, nn) + b]
                if v < best:
                    best = v
                    a = j
                k += 1
            base = _start(b, nn)
            for k2 in range(k + 1, m):
                j = act[k2]
                v = d[base + j]
                if v < best:
                    best = v
                    a = j
            b, a = a, chain[tip]
            tip += 1
            if b == chain[tip - 2]:
                break
        out_a[step] = ids[a]
        out_b[step] = ids[b]
        out_h[step] = best
        if a > b:
            a, b = b, a
        s1 = size[a]
        s2 = size[b]
        size[b] = s1 + s2
        # remove a from the active list
        k = np.searchsorted(act[:m], a)
        act[k:m - 1] = act[k + 1:m]
        m -= 1
        c = np.float64(best)
        st = s1 / (s1 + s2)
        tt = s2 / (s1 + s2)
        base_a = _start(a, nn)
        base_b = _start(b, nn)
        for k in range(m):
            i = act[k]
            if i == b:
                continue
            if i < a:
                pb = _start(i, nn) + b
                va = np.float64(d[_start(i, nn) + a])
            elif i < b:
                pb = _start(i, nn) + b
                va = np.float64(d[base_a + i])
            else:
                pb = base_b + i
                va = np.float64(d[base_a + i])
            vb = np.float64(d[pb])
            if method == 1:
                if vb < va:
                    d[pb] = va
            elif method == 2:
                d[pb] = st * va + tt * vb
            else:
                v = size[i]
                d[pb] = ((v + s1) * va - v * c + (v + s2) * vb) / (s1 + s2 + v)
    if method == 4:
        out_h = np.sqrt(out_h)
    return out_a, out_b, out_h


@njit(cache=True, nogil=True)
def _replay(d: np.ndarray, x: int, nn: int, rtime: np.ndarray, t_now: int,
            la: np.ndarray, lb: np.ndarray, lc: np.ndarray, ls1: np.ndarray,
            ls2: np.ndarray, size: np.ndarray, method: int) -> None:
    """Bring row x of the square matrix up to date: apply the merges logged since it was
    last current (one Lance-Williams update of one entry of the row per merge; the entry
    of the cluster that left becomes +inf)."""
    row0 = x * nn
    v = size[x]
    for t in range(rtime[x], t_now):
        a = la[t]
        b = lb[t]
        va = np.float64(d[row0 + a])
        vb = np.float64(d[row0 + b])
        d[row0 + a] = np.inf
        if method == 1:
            d[row0 + b] = va if vb < va else vb  # a select, not a mispredicted branch
        elif method == 2:
            s1 = ls1[t]
            s2 = ls2[t]
            d[row0 + b] = s1 / (s1 + s2) * va + s2 / (s1 + s2) * vb
        else:
            s1 = ls1[t]
            s2 = ls2[t]
            d[row0 + b] = ((v + s1) * va - v * lc[t] + (v + s2) * vb) / (s1 + s2 + v)
    rtime[x] = t_now


@njit(cache=True, nogil=True, fastmath={"nnan", "nsz"})
def _row_min(d: np.ndarray, row0: int, nn: int) -> float:
    """Smallest value of a row (never NaN); eight running minima break the dependency
    chain of a single one (about 3x faster)."""
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = d[row0]
    end = row0 + nn - nn % 8
    for j in range(row0, end, 8):
        v = d[j]
        m0 = v if v < m0 else m0
        v = d[j + 1]
        m1 = v if v < m1 else m1
        v = d[j + 2]
        m2 = v if v < m2 else m2
        v = d[j + 3]
        m3 = v if v < m3 else m3
        v = d[j + 4]
        m4 = v if v < m4 else m4
        v = d[j + 5]
        m5 = v if v < m5 else m5
        v = d[j + 6]
        m6 = v if v < m6 else m6
        v = d[j + 7]
        m7 = v if v < m7 else m7
    for j in range(end, row0 + nn):
        v = d[j]
        m0 = v if v < m0 else m0
    m0 = m1 if m1 < m0 else m0
    m2 = m3 if m3 < m2 else m2
    m4 = m5 if m5 < m4 else m4
    m6 = m7 if m7 < m6 else m6
    m0 = m2 if m2 < m0 else m0
    m4 = m6 if m6 < m4 else m4
    return m4 if m4 < m0 else m0


@njit(cache=True, nogil=True)
def _first(d: np.ndarray, row0: int, nn: int, value: float) -> int:
    """First column of a row holding ``value``."""
    for j in range(nn):
        if d[row0 + j] == value:
            return j
    return -1


@njit(cache=True, nogil=True)
def _merge_rows(d: np.ndarray, ra: int, rb: int, nn: int, size: np.ndarray, s1: float,
                s2: float, c: float, method: int) -> None:
    """Row b := Lance-Williams update of rows a and b (every column: removed ones are +inf
    in both rows and stay +inf or above every active value)."""
    if method == 1:
        for i in range(nn):
            va = d[ra + i]
            vb = d[rb + i]
            d[rb + i] = va if vb < va else vb
    elif method == 2:
        st = s1 / (s1 + s2)
        tt = s2 / (s1 + s2)
        for i in range(nn):
            d[rb + i] = st * np.float64(d[ra + i]) + tt * np.float64(d[rb + i])
    else:
        for i in range(nn):
            v = size[i]
            d[rb + i] = ((v + s1) * np.float64(d[ra + i]) - v * c
                         + (v + s2) * np.float64(d[rb + i])) / (s1 + s2 + v)


@njit(cache=True, nogil=True)
def _nn_chain_square(d: np.ndarray, n: int,
                     method: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NN-chain on a full square matrix ``d`` (n * n, flat, symmetric; overwritten).

    Only rows are read or written, contiguously: the merged cluster's row is updated at
    once, its column is not written into every row but logged, and a row replays the log
    entries it missed when it is next read (:func:`_replay`). Removed clusters and the
    diagonal hold +inf, so a nearest-neighbour search is a plain scan of the row. Same
    arithmetic, same merges as :func:`_nn_chain`."""
    out_a = np.empty(n - 1, dtype=np.int64)
    out_b = np.empty(n - 1, dtype=np.int64)
    out_h = np.empty(n - 1, dtype=np.float64)
    if method == 4:
        for p in range(d.size):
            d[p] = d[p] * d[p]
    for p in range(n):
        d[p * n + p] = np.inf
    size = np.ones(n, dtype=np.float64)
    act = np.arange(n).astype(np.int64)
    ids = np.arange(n).astype(np.int64)
    chain = np.empty(n + 1, dtype=np.int64)
    rtime = np.zeros(n, dtype=np.int64)
    la = np.empty(n, dtype=np.int64)
    lb = np.empty(n, dtype=np.int64)
    lc = np.empty(n, dtype=np.float64)
    ls1 = np.empty(n, dtype=np.float64)
    ls2 = np.empty(n, dtype=np.float64)
    t_now = 0
    m = n
    nn = n
    tip = 0
    for step in range(n - 1):
        if m <= nn // COMPACT and nn > 64:
            # compact: active rows and columns to the front (in place, in order)
            for k in range(m):
                _replay(d, act[k], nn, rtime, t_now, la, lb, lc, ls1, ls2, size, method)
            pos = 0
            for k in range(m):
                row0 = act[k] * nn
                for k2 in range(m):
                    d[pos] = d[row0 + act[k2]]
                    pos += 1
            newslot = np.full(nn, -1, dtype=np.int64)
            for k in range(m):
                newslot[act[k]] = k
                ids[k] = ids[act[k]]
                size[k] = size[act[k]]
                rtime[k] = 0
            for k in range(tip):
                chain[k] = newslot[chain[k]]
            for k in range(m):
                act[k] = k
            nn = m
            t_now = 0
        if tip <= 3:
            a = act[0]
            chain[0] = a
            tip = 1
            _replay(d, a, nn, rtime, t_now, la, lb, lc, ls1, ls2, size, method)
            best = _row_min(d, a * nn, nn)
            b = _first(d, a * nn, nn, best)
        else:
            tip -= 3
            a = chain[tip - 1]
            b = chain[tip]
            _replay(d, b, nn, rtime, t_now, la, lb, lc, ls1, ls2, size, method)
            best = d[b * nn + a]
        while True:
            chain[tip] = b
            _replay(d, b, nn, rtime, t_now, la, lb, lc, ls1, ls2, size, method)
            # nearest neighbour of b: the first minimum, unless the predecessor a ties
            mn = _row_min(d, b * nn, nn)
            if mn < best:
                best = mn
                a = _first(d, b * nn, nn, mn)
            b, a = a, chain[tip]
            tip += 1
            if b == chain[tip - 2]:
                break
        out_a[step] = ids[a]
        out_b[step] = ids[b]
        out_h[step] = best
        if a > b:
            a, b = b, a
        _replay(d, a, nn, rtime, t_now, la, lb, lc, ls1, ls2, size, method)
        _replay(d, b, nn, rtime, t_now, la, lb, lc, ls1, ls2, size, method)
        s1 = size[a]
        s2 = size[b]
        c = np.float64(best)
        _merge_rows(d, a * nn, b * nn, nn, size, s1, s2, c, method)
        d[b * nn + a] = np.inf
        d[b * nn + b] = np.inf
        size[b] = s1 + s2
        k = np.searchsorted(act[:m], a)
        act[k:m - 1] = act[k + 1:m]
        m -= 1
        la[t_now] = a
        lb[t_now] = b
        lc[t_now] = c
        ls1[t_now] = s1
        ls2[t_now] = s2
        t_now += 1
        rtime[b] = t_now
    if method == 4:
        out_h = np.sqrt(out_h)
    return out_a, out_b, out_h


@njit(cache=True, nogil=True)
def _mst(d: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Single linkage by Prim's algorithm on condensed ``d`` (read only)."""
    out_a = np.empty(n - 1, dtype=np.int64)
    out_b = np.empty(n - 1, dtype=np.int64)
    out_h = np.empty(n - 1, dtype=np.float64)
    dist = np.empty(n, dtype=d.dtype)
    act = np.arange(1, n).astype(np.int64)  # points not yet in the tree
    m = n - 1
    prev = 0
    for step in range(n - 1):
        best = np.inf
        arg = -1
        for k in range(m):
            i = act[k]
            v = d[_start(i, n) + prev] if i < prev else d[_start(prev, n) + i]
            if step == 0 or v < dist[i]:
                dist[i] = v
            if dist[i] < best:
                best = dist[i]
                arg = k
        nxt = act[arg]
        out_a[step] = prev
        out_b[step] = nxt
        out_h[step] = best
        act[arg:m - 1] = act[arg + 1:m]
        m -= 1
        prev = nxt
    return out_a, out_b, out_h


@njit(cache=True, nogil=True)
def _mst_square(d: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Single linkage by Prim's algorithm on a square matrix (read only, rows only): the
    distance of every point to the tree is lowered by the row of the point that joined last;
    points in the tree are +inf."""
    out_a = np.empty(n - 1, dtype=np.int64)
    out_b = np.empty(n - 1, dtype=np.int64)
    out_h = np.empty(n - 1, dtype=np.float64)
    dist = np.full(n, np.inf, dtype=d.dtype)
    done = np.zeros(n, dtype=np.bool_)
    prev = 0
    for step in range(n - 1):
        done[prev] = True
        row0 = prev * n
        for i in range(n):
            v = d[row0 + i]
            w = dist[i]
            dist[i] = np.inf if done[i] else (v if v < w else w)
        best = _row_min(dist, 0, n)
        nxt = _first(dist, 0, n, best)
        out_a[step] = prev
        out_b[step] = nxt
        out_h[step] = best
        prev = nxt
    return out_a, out_b, out_h


@njit(cache=True, nogil=True)
def _find(parent: np.ndarray, x: int) -> int:
    """Root of x in the union-find forest, compressing the path."""
    root = x
    while parent[root] >= 0:
        root = parent[root]
    while parent[x] >= 0:
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@njit(cache=True, nogil=True)
def _scipy_tree(a: np.ndarray, b: np.ndarray, h: np.ndarray, n: int) -> np.ndarray:
    """Merges (point representatives, heights) in any order -> scipy linkage matrix."""
    order = np.argsort(h, kind="mergesort")
    parent = np.full(2 * n - 1, -1, dtype=np.int64)
    sizes = np.ones(2 * n - 1, dtype=np.float64)
    z = np.empty((n - 1, 4), dtype=np.float64)
    for m in range(n - 1):
        r = order[m]
        x = _find(parent, a[r])
        y = _find(parent, b[r])
        new = n + m
        parent[x] = new
        parent[y] = new
        if x > y:
            x, y = y, x
        sizes[new] = sizes[x] + sizes[y]
        z[m, 0] = x
        z[m, 1] = y
        z[m, 2] = h[r]
        z[m, 3] = sizes[new]
    return z


def linkage_condensed(d: np.ndarray, n: int, *, method: str) -> np.ndarray:
    """The scipy linkage matrix of a condensed distance matrix, overwriting it.

    Parameters
    ----------
    d
        Condensed distances (length n (n - 1) / 2, C-contiguous float64 or float32), finite.
        Overwritten (except for ``single``).
    n
        Number of points, >= 2.
    method
        ``complete``, ``average``, ``ward.D2`` or ``single``.

    Returns
    -------
    numpy.ndarray
        (n - 1) x 4 float64: children, height, size (heights of ``ward.D2`` are R's).

    Examples
    --------
    >>> d = np.array([1.0, 4.0, 3.0])  # d(0,1), d(0,2), d(1,2)
    >>> linkage_condensed(d, 3, method="complete")
    array([[0., 1., 1., 2.],
           [2., 3., 4., 3.]])
    """
    if method not in METHOD_CODES:
        raise ValueError(f"method={method!r} is not valid; choose one of: "
                         f"{', '.join(METHOD_CODES)}.")
    code = METHOD_CODES[method]
    if code == 0:
        a, b, h = _mst(d, n)
    else:
        a, b, h = _nn_chain(d, n, code)
    return _scipy_tree(a, b, h, n)


def linkage_square(d: np.ndarray, n: int, *, method: str) -> np.ndarray:
    """:func:`linkage_condensed` on the full square matrix, flattened (n * n values, row i =
    distances from point i; symmetric). Overwritten (except for ``single``). Faster: every
    access reads a row."""
    if method not in METHOD_CODES:
        raise ValueError(f"method={method!r} is not valid; choose one of: "
                         f"{', '.join(METHOD_CODES)}.")
    code = METHOD_CODES[method]
    if code == 0:
        a, b, h = _mst_square(d, n)
    else:
        a, b, h = _nn_chain_square(d, n, code)
    return _scipy_tree(a, b, h, n)
