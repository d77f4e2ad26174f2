"""Independent filtering and Benjamini-Hochberg adjustment, as DESeq2's ``results()``.

This module owns the multiple-testing step of DESeq2 1.38 (``pvalueAdjustment`` and the
``filtered_p`` function copied there from genefilter):

* ``p_adjust_bh``: R's ``p.adjust(p, "BH")`` (Benjamini & Hochberg 1995): NaN entries stay
  NaN and do not count in the number of tests;
* ``independent_filtering``: Bourgon, Gentleman & Huber (2010, PNAS 107:9546). Genes are
  filtered by the mean of normalised counts at 50 quantiles ``theta`` from the fraction of
  zero means to 0.95; BH is applied to the genes passing each filter; the number of
  rejections at ``alpha`` is smoothed with R's ``lowess`` (``f = 1/5``) and the chosen
  filter is the first ``theta`` whose number of rejections exceeds the peak of the smooth
  minus the root mean square of its residuals (Love, Huber & Anders 2014, Genome Biology
  15:550, Methods, "Automatic independent filtering"). With at most 10 rejections at every
  threshold no filtering is done;
* ``lowess`` and ``quantile_type7``: faithful ports of R's ``lowess`` (``clowess`` in
  ``src/library/stats/src/lowess.c``) and of R's default ``quantile`` (type 7), so that the
  threshold is chosen exactly as in R.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heatseq.errors import InputError

__all__ = [
    "FilterInfo",
    "filtered_p",
    "independent_filtering",
    "lowess",
    "p_adjust_bh",
    "quantile_type7",
]


def p_adjust_bh(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, as R's ``p.adjust(p, method = "BH")``.

    Parameters
    ----------
    pvalues
        P-values; NaN entries are ignored (they stay NaN and do not count as tests).

    Returns
    -------
    np.ndarray
        Adjusted p-values.

    Examples
    --------
    >>> p_adjust_bh(np.array([0.01, np.nan, 0.04, 0.03])).round(3).tolist()
    [0.03, nan, 0.04, 0.04]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = q.size
    if n == 0:
        return out
    order = np.argsort(-q, kind="stable")
    i = np.arange(n, 0, -1, dtype=float)
    adj = np.minimum(1.0, np.minimum.accumulate(n / i * q[order]))
    res = np.empty(n)
    res[order] = adj
    out[ok] = res
    return out


def quantile_type7(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's default ``quantile(x, probs)`` (type 7), computed as R computes it.

    Parameters
    ----------
    values
        Data without NaN.
    probs
        Probabilities in [0, 1].

    Returns
    -------
    np.ndarray
        One quantile per probability.

    Examples
    --------
    >>> quantile_type7(np.array([3.0, 1.0, 2.0, 10.0]), np.array([0.0, 0.5, 0.9])).tolist()
    [1.0, 2.5, 7.900000000000001]
    """
    x = np.sort(np.asarray(values, dtype=float))
    shape = np.shape(probs)
    pr = np.clip(np.atleast_1d(np.asarray(probs, dtype=float)), 0.0, 1.0)
    n = x.size
    if n == 0:
        return np.full(shape, np.nan)
    index = 1.0 + max(n - 1, 0) * pr
    lo = np.floor(index).astype(np.int64)
    hi = np.ceil(index).astype(np.int64)
    qs = x[lo - 1]
    xh = x[hi - 1]
    i = (index > lo) & (xh != qs)
    h = (index - lo)[i]
    qs = qs.copy()
    qs[i] = (1.0 - h) * qs[i] + h * xh[i]
    return qs.reshape(shape)


def _lowest(x, y, n, xs, nleft, nright, w, userw, rw):
    """Fitted value at ``xs`` from points ``nleft..nright`` (1-based), R's ``lowest``."""
    rng = x[n] - x[1]
    h = max(xs - x[nleft], x[nright] - xs)
    h9, h1 = 0.999 * h, 0.001 * h
    a = 0.0
    j = nleft
    while j <= n:
        w[j] = 0.0
        r = abs(x[j] - xs)
        if r <= h9:
            w[j] = 1.0 if r <= h1 else (1.0 - (r / h) ** 3) ** 3
            if userw:
                w[j] *= rw[j]
            a += w[j]
        elif x[j] > xs:
            break
        j += 1
    nrt = j - 1
    if a <= 0.0:
        return None
    for j in range(nleft, nrt + 1):
        w[j] /= a
    if h > 0.0:
        a = 0.0
        for j in range(nleft, nrt + 1):
            a += w[j] * x[j]
        b = xs - a
        c = 0.0
        for j in range(nleft, nrt + 1):
            c += w[j] * (x[j] - a) * (x[j] - a)
        if np.sqrt(c) > 0.001 * rng:
            b /= c
            for j in range(nleft, nrt + 1):
                w[j] *= b * (x[j] - a) + 1.0
    ys = 0.0
    for j in range(nleft, nrt + 1):
        ys += w[j] * y[j]
    return ys


def lowess(
    x: np.ndarray, y: np.ndarray, *, f: float = 2 / 3, iterations: int = 3,
    delta: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """R's ``lowess(x, y, f, iter, delta)``: robust locally weighted regression.

    A line-by-line port of R's ``clowess`` (Cleveland 1979), including its treatment of
    ties, the ``delta`` shortcut and the robustness weights from 6 median absolute residuals.

    Parameters
    ----------
    x, y
        The points; sorted by ``x`` (stably) before smoothing.
    f
        Smoother span: the fraction of points that influence each fitted value.
    iterations
        Robustifying iterations (R's ``iter``).
    delta
        Points closer than ``delta`` are interpolated; default ``0.01 * (max(x) - min(x))``.

    Returns
    -------
    tuple of np.ndarray
        The sorted ``x`` and the smoothed values.

    Examples
    --------
    >>> xs, ys = lowess(np.arange(10.0), np.arange(10.0) ** 2, f=0.5)
    >>> ys.round(2).tolist()[:4]
    [-0.6, 1.88, 4.56, 9.57]
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1 or xa.size == 0:
        raise InputError("lowess needs two non-empty vectors of the same length.")
    if not (np.isfinite(f) and f > 0):
        raise InputError(f"f must be finite and > 0; got {f!r}.")
    if iterations < 0:
        raise InputError(f"iterations must be >= 0; got {iterations!r}.")
    o = np.argsort(xa, kind="stable")
    xs_sorted = xa[o]
    if delta is None:
        delta = 0.01 * (xs_sorted[-1] - xs_sorted[0])
    n = xa.size
    if n < 2:
        return xs_sorted, ya[o].copy()
    # 1-based work arrays, as in the C code
    xx = np.concatenate(([0.0], xs_sorted))
    yy = np.concatenate(([0.0], ya[o]))
    ys = np.zeros(n + 1)
    rw = np.zeros(n + 1)
    res = np.zeros(n + 1)
    ns = max(2, min(n, int(f * n + 1e-7)))
    it = 1
    while it <= iterations + 1:
        nleft, nright, last, i = 1, ns, 0, 1
        while True:
            if nright < n:
                d1 = xx[i] - xx[nleft]
                d2 = xx[nright + 1] - xx[i]
                if d1 > d2:
                    nleft += 1
                    nright += 1
                    continue
            val = _lowest(xx, yy, n, xx[i], nleft, nright, res, it > 1, rw)
            ys[i] = yy[i] if val is None else val
            if last < i - 1:
                denom = xx[i] - xx[last]
                for j in range(last + 1, i):
                    alpha = (xx[j] - xx[last]) / denom
                    ys[j] = alpha * ys[i] + (1.0 - alpha) * ys[last]
            last = i
            cut = xx[last] + delta
            i = last + 1
            while i <= n:
                if xx[i] > cut:
                    break
                if xx[i] == xx[last]:
                    ys[i] = ys[last]
                    last = i
                i += 1
            i = max(last + 1, i - 1)
            if last >= n:
                break
        resid = yy[1:] - ys[1:]
        sc = np.abs(resid).sum() / n
        if it > iterations:
            break
        ar = np.sort(np.abs(resid))
        m1 = n // 2
        cmad = 3.0 * (ar[m1] + ar[n - m1 - 1]) if n % 2 == 0 else 6.0 * ar[m1]
        if cmad < 1e-7 * sc:
            break
        c9, c1 = 0.999 * cmad, 0.001 * cmad
        r = np.abs(resid)
        with np.errstate(divide="ignore", invalid="ignore"):
            bisquare = (1.0 - (r / cmad) ** 2) ** 2
        rw[1:] = np.where(r <= c1, 1.0, np.where(r <= c9, bisquare, 0.0))
        it += 1
    return xs_sorted, ys[1:].copy()


def filtered_p(filter_stat: np.ndarray, pvalues: np.ndarray, *, theta: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values after filtering at each quantile ``theta`` (genefilter).

    Parameters
    ----------
    filter_stat
        The filter statistic per gene (DESeq2: the mean of normalised counts).
    pvalues
        P-values per gene (NaN allowed).
    theta
        Quantiles of ``filter_stat`` at which to cut.

    Returns
    -------
    np.ndarray
        Genes x thetas; NaN where a gene is filtered out or its p-value is NaN.
    """
    u1 = np.asarray(filter_stat, dtype=float)
    p = np.asarray(pvalues, dtype=float)
    cutoffs = quantile_type7(u1, np.asarray(theta, dtype=float))
    out = np.full((u1.size, cutoffs.size), np.nan)
    # sort once by decreasing p; each filter keeps a subsequence of this order
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(-p[ok], kind="stable")]
    ps, us = p[order], u1[order]
    for k, cut in enumerate(cutoffs):
        use = us >= cut
        n = int(use.sum())
        if n == 0:
            continue
        q = ps[use]
        i = np.arange(n, 0, -1, dtype=float)
        out[order[use], k] = np.minimum(1.0, np.minimum.accumulate(n / i * q))
    return out


@dataclass(frozen=True)
class FilterInfo:
    """What independent filtering did (DESeq2's ``metadata(res)``).

    Attributes
    ----------
    threshold
        The chosen cutoff on the filter statistic (``filterThreshold``).
    theta
        The chosen quantile (``filterTheta``).
    thetas
        All quantiles tried.
    num_rej
        Rejections at ``alpha`` for each quantile (``filterNumRej``).
    lowess_y
        The lowess fit of ``num_rej`` on ``thetas`` (``lo.fit$y``).
    alpha
        The target false discovery rate.
    index
        Position of the chosen quantile in ``thetas``.
    """

    threshold: float
    theta: float
    thetas: np.ndarray
    num_rej: np.ndarray
    lowess_y: np.ndarray
    alpha: float
    index: int


def independent_filtering(
    pvalues: np.ndarray,
    base_mean: np.ndarray,
    *,
    alpha: float = 0.1,
    theta: np.ndarray | None = None,
) -> tuple[np.ndarray, FilterInfo]:
    """Adjusted p-values with DESeq2's automatic independent filtering on the mean count.

    Parameters
    ----------
    pvalues
        Per-gene p-values (NaN for untested genes and Cook's outliers).
    base_mean
        Per-gene filter statistic, the mean of normalised counts (``baseMean``).
    alpha
        Target FDR used to count rejections (DESeq2's default 0.1).
    theta
        Quantiles to try; default 50 values from the fraction of zero ``base_mean`` to 0.95
        (to 1 when that fraction is 0.95 or more).

    Returns
    -------
    padj : np.ndarray
        BH-adjusted p-values after filtering; NaN for filtered-out genes.
    info : FilterInfo
        The chosen threshold and the rejection curve.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mean = rng.gamma(1.0, 100.0, 2000)
    >>> p = np.where(rng.random(2000) < 0.2, rng.random(2000) * 1e-4, rng.random(2000))
    >>> padj, info = independent_filtering(p, mean)
    >>> info.num_rej.shape
    (50,)
    """
    if not (0 < alpha < 1):
        raise InputError(f"alpha must be between 0 and 1; got {alpha!r}.")
    p = np.asarray(pvalues, dtype=float)
    filt = np.asarray(base_mean, dtype=float)
    if p.shape != filt.shape or p.ndim != 1:
        raise InputError(
            f"pvalues {p.shape} and base_mean {filt.shape} must be vectors of equal length."
        )
    if np.isnan(filt).any():
        raise InputError("base_mean holds NaN; use 0 for genes without counts.")
    if theta is None:
        lower = float(np.mean(filt == 0))
        upper = 0.95 if lower < 0.95 else 1.0
        thetas = _seq(lower, upper, 50)
    else:
        thetas = np.asarray(theta, dtype=float)
        if thetas.size < 2:
            raise InputError("theta needs at least two quantiles.")
    padj_all = filtered_p(filt, p, theta=thetas)
    num_rej = (padj_all < alpha).sum(axis=0)
    _, lo_y = lowess(thetas, num_rej.astype(float), f=1 / 5)
    if num_rej.max() <= 10:
        j = 0
    else:
        if (num_rej == 0).all():
            residual = np.zeros(1)
        else:
            pos = num_rej > 0
            residual = num_rej[pos] - lo_y[pos]
        thresh = lo_y.max() - np.sqrt(np.mean(residual**2))
        above = np.flatnonzero(num_rej > thresh)
        j = int(above[0]) if above.size else 0
    cutoffs = quantile_type7(filt, thetas)
    info = FilterInfo(
        threshold=float(cutoffs[j]), theta=float(thetas[j]), thetas=thetas,
        num_rej=num_rej, lowess_y=lo_y, alpha=float(alpha), index=j,
    )  # fmt: skip
    return padj_all[:, j].copy(), info


def _seq(start: float, stop: float, n: int) -> np.ndarray:
    """R's ``seq(start, stop, length.out = n)``."""
    if start == stop:
        return np.full(n, start)
    by = (stop - start) / (n - 1)
    out = start + np.arange(n, dtype=float) * by
    out[-1] = stop
    return out
