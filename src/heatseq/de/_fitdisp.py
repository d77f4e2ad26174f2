"""The Cox-Reid adjusted (log-)posterior of an NB dispersion and its maximisation.

This private module owns the numerical core of DESeq2's dispersion estimation (Love, Huber &
Anders 2014, Genome Biology 15:550, "Methods: Dispersion estimation"; DESeq2 1.38
``src/DESeq2.cpp``: ``log_posterior``, ``dlog_posterior``, ``fitDisp``, ``fitDispGrid``),
vectorised across genes. For gene *i* with counts :math:`K_{ij}`, fitted means
:math:`\\mu_{ij}` and design :math:`X`, the Cox-Reid adjusted profile log likelihood of
:math:`\\alpha_i` is

.. math::

    \\ell_{CR}(\\alpha) = \\sum_j \\log \\mathrm{NB}(K_{ij};\\mu_{ij},\\alpha)
        - \\tfrac12 \\log\\det(X^\\top W X),\\qquad W = \\mathrm{diag}\\big((1/\\mu_{ij}
        + \\alpha)^{-1}\\big),

and with the log-normal prior of the MAP step the term
:math:`-(\\log\\alpha - \\log\\alpha_{tr})^2 / (2\\sigma_d^2)` is added. Both are maximised
over :math:`a = \\log\\alpha` by DESeq2's backtracking line search along the gradient
(Armijo rule, constant :math:`10^{-4}`, initial step ``kappa_0``, steps grown by 1.1 and
halved every fifth accepted step, stop when the gain is below ``tol``); genes that do not
converge are refitted on a grid of 20 values of :math:`\\log\\alpha` and then a finer grid
of 20 around the best one. All genes advance together; a mask drops those that stopped,
and the derivative is only evaluated where a step was accepted (most proposals are not).
Arrays are samples x genes, as :attr:`heatseq.Dataset.counts`.

Where the likelihood is flat (near-Poisson genes at tiny dispersions) the line search
accepts or rejects steps on differences at the level of the log posterior's rounding, so
the outcome is R's only if the numbers are R's to the last bit: the special functions are
R's nmath algorithms (:func:`r_lgamma`, :func:`r_digamma`), ``exp`` is rounded as the C
library's, and the terms are combined in the C++ code's order (``x^-1`` as a reciprocal
then a product, the Armijo bound as ``kappa * eps * dlp^2``). Sums over samples run in a
fixed order, so a gene's result does not depend on the other genes evaluated with it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

__all__: list[str] = []

_ARMIJO = 1.0e-4
_LOG_ALPHA_FLOOR = -30.0
_LOG_ALPHA_CEIL = 10.0

# ----------------------------------------------------------------------------- R's nmath
# The line search accepts or rejects a step on differences of the log posterior that, for
# genes with a flat likelihood at small dispersions, are at the level of its rounding noise
# (sums of log-gamma values of ~1e5 that cancel to ~1e2). To take the same path as R, the
# special functions follow R's nmath algorithms (lgammafn: Fullerton's Chebyshev series
# below 10, Stirling's formula with ``lgammacor`` above; digamma: Amos' ``dpsifn``, TOMS
# 610) with R's order of operations, instead of scipy's (cephes) versions, which round
# differently in about a quarter of the arguments.
_LN_SQRT_2PI = 0.918938533204672741780329736406
_GAMCS = (  # gamma.c: the first ngam = 22 of Fullerton's coefficients
    +.8571195590989331421920062399942e-2, +.4415381324841006757191315771652e-2,
    +.5685043681599363378632664588789e-1, -.4219835396418560501012500186624e-2,
    +.1326808181212460220584006796352e-2, -.1893024529798880432523947023886e-3,
    +.3606925327441245256578082217225e-4, -.6056761904460864218485548290365e-5,
    +.1055829546302283344731823509093e-5, -.1811967365542384048291855891166e-6,
    +.3117724964715322277790254593169e-7, -.5354219639019687140874081024347e-8,
    +.9193275519859588946887786825940e-9, -.1577941280288339761767423273953e-9,
    +.2707980622934954543266540433089e-10, -.4646818653825730144081661058933e-11,
    +.7973350192007419656460767175359e-12, -.1368078209830916025799499172309e-12,
    +.2347319486563800657233471771688e-13, -.4027432614949066932766570534699e-14,
    +.6910051747372100912138336975257e-15, -.1185584500221992907052387126192e-15)
_ALGMCS = (  # lgammacor.c: nalgm = 5 terms
    +.1666389480451863247205729650822e+0, -.1384948176067563840732986059135e-4,
    +.9810825646924729426157171547487e-8, -.1809129475572494194263306266719e-10,
    +.6221098041892605227126015543416e-13)
_BERNOULLI = (  # polygamma.c: bvalues
    1.0, -5.0e-1, 1.66666666666666667e-01, -3.33333333333333333e-02,
    2.38095238095238095e-02, -3.33333333333333333e-02, 7.57575757575757576e-02,
    -2.53113553113553114e-01, 1.16666666666666667e+00, -7.09215686274509804e+00,
    5.49711779448621554e+01, -5.29124242424242424e+02, 6.19212318840579710e+03,
    -8.65802531135531136e+04, 1.42551716666666667e+06, -2.72982310678160920e+07,
    6.01580873900642368e+08, -1.51163157670921569e+10, 4.29614643061166667e+11,
    -1.37116552050883328e+13, 4.88332318973593167e+14, -1.92965793419400681e+16)
_LGAMMACOR_XBIG = 94906265.62425156
_WDTOL = max(float(np.finfo(np.float64).eps) * 0.5, 0.5e-18)
_DIGAMMA_LARGE = 1.0 / (2.0 * float(np.finfo(np.float64).eps))
_DPSIFN_XMIN = 9.0  # dpsifn's xmin for n = 0 in double precision


def _chebyshev(x: np.ndarray, coef: tuple[float, ...]) -> np.ndarray:
    """R's ``chebyshev_eval`` (Clenshaw recurrence), elementwise.

    The first two steps start from zeros (b0 = a[n-1], then 2x a[n-1] + a[n-2]); the
    remaining ones reuse three buffers.
    """
    twox = x * 2
    b2 = np.zeros_like(x)
    b1 = np.full_like(x, coef[-1])  # 2x * 0 - 0 + a[n-1]
    b0 = twox * b1
    b0 += coef[-2]
    for c in reversed(coef[:-2]):
        b2, b1, b0 = b1, b0, b2
        np.multiply(twox, b1, out=b0)
        b0 -= b2
        b0 += c
    b0 -= b2
    b0 *= 0.5
    return b0


def _descending(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stable order putting larger small integers ``n`` first, and ``n`` in that order.

    Elementwise recurrences that run ``n`` steps are then applied to prefixes of the
    reordered arrays (no masks, which are slow on unpredictable data).
    """
    key = np.asarray(n, dtype=np.int8)
    order = np.argsort(-key, kind="stable")
    return order, key[order]


def _lgamma_small(x: np.ndarray) -> np.ndarray:
    """log|gamma(x)| for 0 < x <= 10 as R's ``gammafn`` (then ``log``)."""
    n = np.trunc(x)
    n -= 1
    order, ns = _descending(n)
    xs = x[order]
    y = xs - (ns + 1)
    val = _chebyshev(y * 2 - 1, _GAMCS) + .9375
    below_one = int(np.count_nonzero(ns >= 0))  # n < 0 (x < 1): value / x
    val[below_one:] /= xs[below_one:]
    for i in range(1, int(ns[0]) + 1 if ns.size else 0):
        k = int(np.count_nonzero(ns >= i))
        val[:k] *= y[:k] + i
    out = np.empty(x.shape)
    out[order] = np.log(np.abs(val))
    return out


def _lgamma_large(x: np.ndarray) -> np.ndarray:
    """R's ``lgammafn`` for x > 10: Stirling's formula plus ``lgammacor``."""
    lx = np.log(x)
    v = (x - 0.5) * lx
    v += _LN_SQRT_2PI  # M_LN_SQRT_2PI + (x - 0.5) * log(x) - x + lgammacor(x)
    v -= x
    if x.size and x.max() > 4934720.0:
        tmp = 10 / x
        cor = np.where(x < _LGAMMACOR_XBIG, _chebyshev(tmp * tmp * 2 - 1, _ALGMCS) / x,
                       1 / (x * 12))
        v = np.where(x > 4934720.0, v, v + cor)
        return np.where(x > 1e17, x * (lx - 1.0), v)
    tmp = 10 / x
    tmp *= tmp
    tmp *= 2
    tmp -= 1
    v += _chebyshev(tmp, _ALGMCS) / x
    return v


def r_lgamma(x: np.ndarray) -> np.ndarray:
    """R's ``lgammafn`` for positive finite arguments (any shape)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0 or x.min() > 10:
        return _lgamma_large(x)
    xf = x.reshape(-1)
    out = np.empty(xf.size)
    small = np.flatnonzero(xf <= 10)
    big = np.flatnonzero(xf > 10)
    out[small] = _lgamma_small(xf[small])
    out[big] = _lgamma_large(xf[big])
    return out.reshape(x.shape)


def _dpsifn_terms(x: float) -> int:
    """How many terms of the asymptotic series ``dpsifn`` adds at ``x >= 9`` (scalar)."""
    tst = _WDTOL * (0.5 / x)
    rxsq = 1.0 / (x * x)
    t = 0.5 * rxsq
    if not abs(t * _BERNOULLI[2]) >= tst:
        return 1
    n, tk = 1, 2.0
    for k in range(4, 23):
        t = t * ((tk + 0 + 1) / (tk + 1.0)) * ((tk + 0) / (tk + 2.0)) * rxsq
        if abs(t * _BERNOULLI[k - 1]) < tst:
            break
        n, tk = n + 1, tk + 2.0
    return n


@functools.cache
def _dpsifn_thresholds() -> tuple[float, ...]:
    """``th[c - 2]``: the series has at least ``c`` terms exactly when ``x < th[c - 2]``.

    Found once by bisection over the doubles of :func:`_dpsifn_terms` (which decreases in
    x), so that the vectorised series adds the same terms as ``dpsifn`` without testing
    each term's size.
    """
    def as_float(bits: int) -> float:
        return float(np.array(bits, dtype=np.int64).view(np.float64))

    out = []
    for c in range(2, _dpsifn_terms(_DPSIFN_XMIN) + 1):
        lo = int(np.array(_DPSIFN_XMIN).view(np.int64))
        hi = int(np.array(1e300).view(np.int64))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _dpsifn_terms(as_float(mid)) >= c:
                lo = mid
            else:
                hi = mid
        out.append(as_float(hi))
    return tuple(out)


def r_digamma(x: np.ndarray) -> np.ndarray:
    """R's ``digamma`` (``-dpsifn(x, n=0, kode=1, m=1)``) for positive finite arguments.

    The asymptotic series is evaluated at ``max(x, 9)`` (``xmin``) with as many terms as
    ``dpsifn`` adds (it stops at the first term below ``wdtol * 0.5 / x``), then recurred
    down to ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    shape = x.shape
    if x.size == 0:
        return np.empty(shape)
    x = x.reshape(-1)
    any_low = bool(x.min(initial=np.inf) < _DPSIFN_XMIN)
    if any_low:
        xinc = _DPSIFN_XMIN - np.trunc(x)
        xinc *= x < _DPSIFN_XMIN
        xdmy = x + xinc
    else:
        xdmy = x
    xdmln = np.log(xdmy)
    rxsq = xdmy * xdmy
    np.reciprocal(rxsq, out=rxsq)
    t = 0.5 * rxsq
    s = t * _BERNOULLI[2]
    # term c is added while x < th[c - 2]: a 0/1 factor while most values take it, then
    # the values that still do are gathered (masks with np.where are slow here)
    th = _dpsifn_thresholds()
    idx = None
    t_c, r_c, x_c, s_c = t, rxsq, xdmy, s
    tk = 2.0
    for c in range(2, len(th) + 2):
        need: np.ndarray | None = x_c < th[c - 2]
        assert need is not None
        n_need = int(np.count_nonzero(need))
        if n_need == 0:
            break
        if n_need < 0.3 * need.size:
            sel = np.flatnonzero(need)
            if idx is None:
                idx = sel
            else:
                s[idx] = s_c
                idx = idx[sel]
            s_c, t_c, r_c, x_c = s[idx], t_c[sel], r_c[sel], x_c[sel]
            need = None
        t_c *= (tk + 0 + 1) / (tk + 1.0)
        t_c *= (tk + 0) / (tk + 2.0)
        t_c *= r_c
        trm = t_c * _BERNOULLI[c + 1]
        if need is not None:
            trm *= need
        s_c += trm
        tk += 2.0
    if idx is not None:
        s[idx] = s_c
    s += 0.5 / xdmy
    if any_low:  # recur down: s += 1 / (x + nx - i), i = 1..nx, only where x < 9
        li = np.flatnonzero(xinc)
        lo, n_l = _descending(xinc[li])
        li = li[lo]
        x_l, s_l = x[li], s[li]
        for i in range(1, int(n_l[0]) + 1):
            k = int(np.count_nonzero(n_l >= i))
            s_l[:k] += 1 / (x_l[:k] + (n_l[:k] - i))
        s[li] = s_l
    out = xdmln - s  # -(s - xdmln)
    if x.max() > 1e13:
        huge = x * xdmln > _DIGAMMA_LARGE
        out = np.where(huge, np.log(x), out)
    return out.reshape(shape)


def _r_exp(v: np.ndarray) -> np.ndarray:
    """exp rounded as the C library's (correctly rounded in all but rare cases).

    numpy's vectorised exp differs in the last bit for ~8% of arguments; one value per
    gene, so the extended-precision evaluation is cheap.
    """
    return np.exp(np.asarray(v, dtype=np.longdouble)).astype(np.float64)


@dataclass(frozen=True)
class LineSearchResult:
    """Output of :func:`fit_disp`, per gene (as DESeq2's C++ ``fitDisp`` returns it)."""

    log_alpha: np.ndarray
    iter: np.ndarray
    iter_accept: np.ndarray
    initial_lp: np.ndarray
    last_lp: np.ndarray


class _Design:
    """The design with precomputed pieces for the Cox-Reid term.

    ``X' W X`` depends on the weights only through their sums over samples with identical
    design rows ("groups"): ``B_kl = sum_g X_gk X_gl W_g``. All sums run in a fixed order
    (samples, then groups), one vector operation over genes per term, so that a gene's
    value does not depend on which other genes are evaluated with it (as a BLAS product's
    blocking would). With p <= 2, or no more p-subsets of groups than p, the determinant is
    evaluated by the Cauchy-Binet formula, det(X'WX) = sum over p-subsets S of groups with
    det(X_S) != 0 of det(X_S)^2 prod_{g in S} W_g (a sum of positive terms), which also
    gives its derivative in closed form; otherwise by a Cholesky factorisation.
    """

    max_subsets = 128

    def __init__(self, x: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        p = self.x.shape[1]
        self.p = p
        rows, group = np.unique(self.x, axis=0, return_inverse=True)
        self.group = np.asarray(group).reshape(-1)
        self.n_groups = n_groups = rows.shape[0]
        # the lower triangle of X_g' diag(W_g) X_g: row tri[i, j] holds (i, j), i >= j
        pairs = [(i, j) for i in range(p) for j in range(i + 1)]
        self.tri = {ij: r for r, ij in enumerate(pairs)}
        self.tri.update({(j, i): r for (i, j), r in list(self.tri.items())})
        self.tri_coef = np.array([rows[:, i] * rows[:, j] for i, j in pairs])  # (n_tri, groups)
        self.subsets: np.ndarray | None = None
        if n_groups >= p and comb(n_groups, p) <= 4 * self.max_subsets:
            combos = np.array(list(combinations(range(n_groups), p)), dtype=np.int64)
            coef = np.linalg.det(rows[combos]) ** 2
            keep = coef > 1e-10 * coef.max()
            if keep.sum() <= self.max_subsets and (p <= 2 or keep.sum() <= p):
                self.subsets = combos[keep]
                self.subset_coef = coef[keep]

    def group_sums(self, w: np.ndarray) -> np.ndarray:
        """Sums of ``w`` (samples x genes) over each group's samples, in sample order."""
        out = np.zeros((self.n_groups, w.shape[1]))
        for j, g in enumerate(self.group):
            out[g] += w[j]
        return out

    def cross(self, wg: np.ndarray) -> np.ndarray:
        """The lower triangle of X' W X (rows as ``tri``) from the group sums ``wg``."""
        out = np.zeros((self.tri_coef.shape[0], wg.shape[1]))
        for r, coef in enumerate(self.tri_coef):
            for g, c in enumerate(coef):
                if c == 1.0:
                    out[r] += wg[g]
                elif c != 0.0:
                    out[r] += c * wg[g]
        return out


def _cr_terms(w: np.ndarray, des: _Design, *, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """log det(X' W X) per gene and, if ``grad``, its derivative in alpha.

    ``w`` = (1/mu + alpha)^-1 is samples x genes, so dW/d alpha = -W^2.
    """
    p = des.p
    wg = des.group_sums(w)
    wg2 = des.group_sums(w * w) if grad else None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if des.subsets is not None:
            det = np.zeros(w.shape[1])
            dnum = np.zeros(w.shape[1]) if wg2 is not None else None
            ratio = -wg2 / wg if wg2 is not None else None  # dW_g / W_g
            for coef, sub in zip(des.subset_coef, des.subsets, strict=True):
                prod = wg[sub[0]].copy()
                for g in sub[1:]:
                    prod *= wg[g]
                term = coef * prod
                det += term
                if dnum is not None and ratio is not None:
                    tot = ratio[sub[0]].copy()
                    for g in sub[1:]:
                        tot += ratio[g]
                    dnum += term * tot
            return np.log(det), (dnum / det if dnum is not None else None)
        b = des.cross(wg)
        db = -des.cross(wg2) if wg2 is not None else None
        if p == 1:
            return np.log(b[0]), (db[0] / b[0] if db is not None else None)
        if p == 2:
            b00, b01, b11 = b[0], b[1], b[2]
            det = b00 * b11 - b01 * b01
            dlog = None
            if db is not None:
                dlog = (db[0] * b11 + b00 * db[2] - 2.0 * b01 * db[1]) / det
            return np.log(det), dlog
    return _cholesky_terms(b, db, w, des)


def _cholesky_terms(b: np.ndarray, db: np.ndarray | None, w: np.ndarray,
                    des: _Design) -> tuple[np.ndarray, np.ndarray | None]:
    """log det B and trace(B^-1 dB) from a Cholesky factorisation vectorised over genes.

    ``b`` and ``db`` hold the lower triangles of the p x p matrices as rows (``des.tri``
    maps (i, j) to the row); the loops run over the coefficients, each step an operation
    on all genes. Genes whose matrix is not numerically positive definite go through
    :func:`_cr_terms_lu`.
    """
    p, tri = des.p, des.tri
    low: dict[tuple[int, int], np.ndarray] = {}
    logdet = np.zeros(b.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(p):
            acc = b[tri[j, j]].copy()
            for k in range(j):
                acc -= low[j, k] * low[j, k]
            logdet += np.log(acc)
            d = np.sqrt(acc)
            low[j, j] = d
            for i in range(j + 1, p):
                t = b[tri[i, j]].copy()
                for k in range(j):
                    t -= low[i, k] * low[j, k]
                low[i, j] = t / d
        dlog = None
        if db is not None:
            # M = L^-1 (lower triangular), B^-1 = M' M; trace(B^-1 dB) = sum B^-1_ab dB_ab
            inv: dict[tuple[int, int], np.ndarray] = {}
            for i in range(p):
                inv[i, i] = 1.0 / low[i, i]
                for j in range(i):
                    acc = low[i, j] * inv[j, j]
                    for k in range(j + 1, i):
                        acc += low[i, k] * inv[k, j]
                    inv[i, j] = -acc * inv[i, i]
            dlog = np.zeros(b.shape[1])
            for a in range(p):
                for c in range(a, p):
                    binv = inv[c, a] * inv[c, c]
                    for i in range(c + 1, p):
                        binv += inv[i, a] * inv[i, c]
                    dlog += (binv if a == c else 2.0 * binv) * db[tri[a, c]]
    bad = ~np.isfinite(logdet)
    if dlog is not None:
        bad |= ~np.isfinite(dlog)
    if bad.any():
        full = np.array([b[tri[i, j]][bad] for i in range(p) for j in range(p)])
        bm = np.ascontiguousarray(full.T).reshape(-1, p, p)
        ld, dl = _cr_terms_lu(bm, w[:, bad], des.x, grad=db is not None)
        logdet[bad] = ld
        if dlog is not None and dl is not None:
            dlog[bad] = dl
    return logdet, dlog


def _cr_terms_lu(bm: np.ndarray, w: np.ndarray, x: np.ndarray, *,
                 grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Fallback through LU (det and inverse) when a Cholesky factorisation fails."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logdet = np.log(np.linalg.det(bm))
    if not grad:
        return logdet, None
    binv = np.full(bm.shape, np.nan)
    ok = np.isfinite(logdet)
    if ok.any():
        binv[ok] = np.linalg.inv(bm[ok])
    lev = np.einsum("mi,gij,mj->mg", x, binv, x)
    return logdet, -(w * w * lev).sum(axis=0)


def _col_sum(t: np.ndarray) -> np.ndarray:
    """Sum over samples (rows) in sample order, as the C++ loop adds them."""
    acc = t[0].copy()
    for j in range(1, t.shape[0]):
        acc += t[j]
    return acc


class _Counts:
    """Counts and fitted means (samples x genes) with pieces reused at every evaluation."""

    def __init__(self, y: np.ndarray, mu: np.ndarray) -> None:
        self.y = np.ascontiguousarray(y, dtype=np.float64)
        self.mu = np.ascontiguousarray(mu, dtype=np.float64)
        self.inv_mu = 1.0 / self.mu

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if idx.size == self.y.shape[1]:
            return self.y, self.mu, self.inv_mu
        return self.y[:, idx], self.mu[:, idx], self.inv_mu[:, idx]

    def compact(self, idx: np.ndarray) -> _Counts:
        """The same data restricted to genes ``idx``."""
        out = _Counts.__new__(_Counts)
        out.y, out.mu, out.inv_mu = (np.ascontiguousarray(v[:, idx])
                                     for v in (self.y, self.mu, self.inv_mu))
        return out


def log_posterior(log_alpha: np.ndarray, y: np.ndarray, mu: np.ndarray, inv_mu: np.ndarray,
                  des: _Design, *, prior_mean: np.ndarray | None,
                  prior_var: float) -> np.ndarray:
    """DESeq2's ``log_posterior`` per gene; arrays are samples x genes.

    The likelihood terms are evaluated in the order of the C++ code, so that the rounding of
    the large, nearly cancelling log-gamma terms at tiny dispersions behaves alike;
    temporaries are reused (in-place operations) to save memory traffic.
    """
    alpha = _r_exp(log_alpha)
    inv = 1.0 / alpha
    w = inv_mu + alpha
    np.reciprocal(w, out=w)
    logdet, _ = _cr_terms(w, des, grad=False)
    # lgamma(y + 1/a) - lgamma(1/a) - y log(mu + 1/a) - (1/a) log(1 + mu a), per sample
    t = r_lgamma(np.add(y, inv))
    t -= r_lgamma(inv)
    np.add(mu, inv, out=w)
    np.log(w, out=w)
    w *= y
    t -= w
    np.multiply(mu, alpha, out=w)
    w += 1.0
    np.log(w, out=w)
    w *= inv
    t -= w
    prior = 0.0 if prior_mean is None else -0.5 * (log_alpha - prior_mean) ** 2 / prior_var
    return _col_sum(t) + prior + (-0.5 * logdet)


def dlog_posterior(log_alpha: np.ndarray, y: np.ndarray, mu: np.ndarray, inv_mu: np.ndarray,
                   des: _Design, *, prior_mean: np.ndarray | None,
                   prior_var: float) -> np.ndarray:
    """DESeq2's ``dlog_posterior``: the derivative of :func:`log_posterior` in log alpha.

    As in the C++ code, ``x^-1`` is a reciprocal followed by a product (``pow(x, -1)``),
    and ``alpha^-2`` multiplies the sum; at tiny dispersions the sum cancels to ~1e-9 of its
    terms, so these roundings decide the next step's last bits.
    """
    alpha = _r_exp(log_alpha)
    inv = 1.0 / alpha
    w = inv_mu + alpha
    np.reciprocal(w, out=w)
    _, dlogdet = _cr_terms(w, des, grad=True)
    assert dlogdet is not None
    # digamma(1/a) + log(1 + mu a) - mu a (1 + mu a)^-1 - digamma(y + 1/a) + y (mu + 1/a)^-1
    mua = np.multiply(mu, alpha)
    one = mua + 1.0
    t = np.log(one)
    t += r_digamma(inv)
    np.reciprocal(one, out=one)
    mua *= one
    t -= mua
    t -= r_digamma(np.add(y, inv))
    np.add(mu, inv, out=one)
    np.reciprocal(one, out=one)
    one *= y
    t += one
    res = ((1.0 / (alpha * alpha)) * _col_sum(t) + (-0.5 * dlogdet)) * alpha
    if prior_mean is not None:
        res = res - (log_alpha - prior_mean) / prior_var
    return res


def fit_disp(y: np.ndarray, mu: np.ndarray, x: np.ndarray, *, log_alpha: np.ndarray,
             prior_mean: np.ndarray | None, prior_var: float, min_log_alpha: float,
             kappa_0: float, tol: float, maxit: int) -> LineSearchResult:
    """DESeq2's ``fitDisp`` line search for all genes at once (samples x genes inputs).

    Each gene follows exactly the C++ loop: propose ``a + kappa * dlp`` (kept inside
    [-30, 10]), accept if the Armijo condition holds, stop when the gain is below ``tol`` or
    ``a`` falls below ``min_log_alpha``; ``kappa`` grows by 1.1 (capped at ``kappa_0``) after
    an accepted step, halves every fifth accepted step and after a rejected one.
    """
    data = _Counts(y, mu)
    des = _Design(x)
    n_genes = data.y.shape[1]
    a = np.array(log_alpha, dtype=np.float64, copy=True)
    pm = None if prior_mean is None else np.asarray(prior_mean, dtype=np.float64)

    # ``live`` maps positions in ``data`` to genes; data is compacted as genes finish
    live = np.arange(n_genes)
    where = np.arange(n_genes)  # gene -> position in data (valid for live genes)

    def lp_at(idx: np.ndarray, av: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return log_posterior(av, *data.take(where[idx]), des,
                                 prior_mean=None if pm is None else pm[idx], prior_var=prior_var)

    def dlp_at(idx: np.ndarray, av: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return dlog_posterior(av, *data.take(where[idx]), des,
                                  prior_mean=None if pm is None else pm[idx],
                                  prior_var=prior_var)

    active = np.arange(n_genes)
    lp = lp_at(active, a)
    dlp = dlp_at(active, a)
    initial_lp = lp.copy()
    kappa = np.full(n_genes, float(kappa_0))
    iters = np.zeros(n_genes, dtype=np.int64)
    accepts = np.zeros(n_genes, dtype=np.int64)
    for _ in range(maxit):
        if active.size == 0:
            break
        iters[active] += 1
        a_act, d_act, k_act = a[active], dlp[active], kappa[active]
        a_prop = a_act + k_act * d_act
        with np.errstate(divide="ignore", invalid="ignore"):
            k_act = np.where(a_prop < _LOG_ALPHA_FLOOR, (_LOG_ALPHA_FLOOR - a_act) / d_act, k_act)
            k_act = np.where(a_prop > _LOG_ALPHA_CEIL, (_LOG_ALPHA_CEIL - a_act) / d_act, k_act)
        a_new = a_act + k_act * d_act
        lp_new = lp_at(active, a_new)
        with np.errstate(invalid="ignore"):
            # theta(kappa) <= theta_hat(kappa), with theta = -log posterior
            accept = -lp_new <= -lp[active] - k_act * _ARMIJO * (d_act * d_act)
        change = lp_new - lp[active]
        acc_idx = active[accept]
        a[acc_idx] = a_new[accept]
        accepts[acc_idx] += 1
        conv = accept & (change < tol)
        lp[active[conv]] = lp_new[conv]
        to_min = accept & ~conv & (a_new < min_log_alpha)
        cont = accept & ~conv & ~to_min
        cont_idx = active[cont]
        lp[cont_idx] = lp_new[cont]
        if cont_idx.size:
            dlp[cont_idx] = dlp_at(cont_idx, a[cont_idx])
        k_cont = np.minimum(k_act[cont] * 1.1, kappa_0)
        kappa[cont_idx] = np.where(accepts[cont_idx] % 5 == 0, k_cont / 2.0, k_cont)
        rej = ~accept
        kappa[active[rej]] = k_act[rej] / 2.0
        active = active[~(conv | to_min)]
        if active.size < 0.5 * live.size:
            data = data.compact(where[active])
            live = active
            where[live] = np.arange(live.size)
    return LineSearchResult(log_alpha=a, iter=iters, iter_accept=accepts, initial_lp=initial_lp,
                            last_lp=lp)


def fit_disp_grid(y: np.ndarray, mu: np.ndarray, x: np.ndarray, *, prior_mean: np.ndarray | None,
                  prior_var: float, n_samples: int, grid_size: int = 20) -> np.ndarray:
    """DESeq2's ``fitDispGridWrapper`` (samples x genes inputs); returns alpha per gene.

    The coarse grid has ``grid_size`` points from log(1e-8) to log(max(10, n_samples)); the
    fine grid ``grid_size`` points within one coarse step either side of the best one; the
    first maximum wins, as with Armadillo's ``max``.
    """
    data = _Counts(y, mu)
    n_genes = data.y.shape[1]
    if n_genes == 0:
        return np.zeros(0)
    des = _Design(x)
    grid = np.linspace(np.log(1e-8), np.log(max(10.0, float(n_samples))), grid_size)
    delta = grid[1] - grid[0]

    def best(points: np.ndarray) -> np.ndarray:
        vals = np.empty(points.shape)
        for t in range(points.shape[1]):
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                vals[:, t] = log_posterior(np.ascontiguousarray(points[:, t]), data.y, data.mu,
                                           data.inv_mu, des, prior_mean=prior_mean,
                                           prior_var=prior_var)
        vals = np.where(np.isnan(vals), -np.inf, vals)
        return points[np.arange(n_genes), np.argmax(vals, axis=1)]

    a_hat = best(np.broadcast_to(grid, (n_genes, grid_size)))
    # arma::linspace(a - delta, a + delta, n) computes start + i * step
    step = (2 * delta) / (grid_size - 1)
    fine = (a_hat - delta)[:, None] + step * np.arange(grid_size)[None, :]
    return np.exp(best(fine))
