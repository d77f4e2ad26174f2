"""R's floating-point arithmetic, where DESeq2's results depend on it (private).

Where the dispersion line search meets a flat likelihood it accepts or rejects steps on
differences at the level of rounding noise, so heatseq reproduces R's arithmetic to the
last bit there: R's nmath special functions (``lgammafn``, ``digamma``), ``exp`` rounded
as the C library's, LINPACK's Householder QR with R's order of operations, sums in plain
order, and ``mean`` with R's long-double accumulation and refinement. Used by
:mod:`heatseq.de._fitdisp` and :mod:`heatseq.de.dispersion`; tested against R in
``tests/test_de_dispersion.py``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["householder_qr", "r_digamma", "r_exp", "r_lgamma", "r_mean", "r_median", "seq_matmul",
           "sum_in_order"]

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


def r_exp(v: np.ndarray) -> np.ndarray:
    """exp rounded as the C library's (correctly rounded in all but rare cases).

    numpy's vectorised exp differs in the last bit for ~8% of arguments; one value per
    gene, so the extended-precision evaluation is cheap.
    """
    return np.exp(np.asarray(v, dtype=np.longdouble)).astype(np.float64)


def householder_qr(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Q and R of ``x`` as R's ``qr()`` (LINPACK ``dqrdc2``) and ``qr.Q`` compute them.

    Householder reflections with the reference BLAS's sequential sums, multiplication by
    the reciprocal norm (``dscal``) and ``qraux`` stored as LINPACK does. Returns None when
    ``dqrdc2`` would pivot a column (norm below 1e-7 of its original), where the caller
    falls back to numpy's QR.
    """
    a = np.array(x, dtype=np.float64, copy=True)
    n, p = a.shape

    def nrm2(v: np.ndarray) -> float:
        acc = 0.0
        for e in v:
            acc += e * e
        return float(np.sqrt(acc))

    def dot(u: np.ndarray, v: np.ndarray) -> float:
        acc = 0.0
        for e, f in zip(u, v, strict=True):
            acc += e * f
        return acc

    qraux = np.array([nrm2(a[:, j]) for j in range(p)])
    orig = np.where(qraux == 0, 1.0, qraux)
    for col in range(min(n, p)):
        if qraux[col] < orig[col] * 1e-7 or col == n - 1:
            return None
        nrmxl = nrm2(a[col:, col])
        if nrmxl == 0:
            return None
        if a[col, col] != 0:
            nrmxl = float(np.copysign(nrmxl, a[col, col]))
        a[col:, col] *= 1.0 / nrmxl
        a[col, col] = 1.0 + a[col, col]
        for j in range(col + 1, p):
            t = -dot(a[col:, col], a[col:, j]) / a[col, col]
            a[col:, j] += t * a[col:, col]
            if qraux[j] != 0:
                tt = max(1.0 - (abs(a[col, j]) / qraux[j]) ** 2, 0.0)
                qraux[j] = nrm2(a[col + 1:, j]) if abs(tt) < 1e-6 else qraux[j] * np.sqrt(tt)
        qraux[col] = a[col, col]
        a[col, col] = -nrmxl
    # qr.Q: apply the reflections, last first, to the first p columns of the identity
    q = np.eye(n, p)
    for c in range(p):
        for j in range(min(p, n - 1) - 1, -1, -1):
            if qraux[j] == 0:
                continue
            v = a[j:, j].copy()
            v[0] = qraux[j]
            t = -dot(v, q[j:, c]) / v[0]
            q[j:, c] += t * v
    return q, np.triu(a[:p, :p])


def seq_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with each entry summed in index order (the reference BLAS ``dgemm``).

    The inner dimension is small (samples or coefficients); the loop runs over it.
    """
    out = a[:, 0][:, None] * b[0][None, :]
    for k in range(1, a.shape[1]):
        out += a[:, k][:, None] * b[k][None, :]
    return out


def sum_in_order(a: np.ndarray, dtype: type) -> np.ndarray:
    """Column sums of samples x genes ``a`` added in sample order in ``dtype``."""
    acc = a[0].astype(dtype)
    for row in a[1:]:
        acc += row
    return acc


def r_mean(v: np.ndarray) -> float:
    """R's ``mean``: a long double sum divided by n, plus the mean of the residuals."""
    v = np.asarray(v, dtype=np.float64)
    s = np.cumsum(v, dtype=np.longdouble)[-1] / v.size
    t = np.cumsum(v - s, dtype=np.longdouble)[-1]
    return float(s + t / v.size)


def r_median(v: np.ndarray) -> float:
    """R's ``median``: the middle value, or R's ``mean`` (long double) of the two middle ones."""
    n = v.size
    half = n // 2
    part = np.partition(v, [half - 1, half]) if n % 2 == 0 else np.partition(v, half)
    if n % 2:
        return float(part[half])
    two = part[half - 1:half + 1].astype(np.longdouble)
    s = (two[0] + two[1]) / 2
    t = (two[0] - s) + (two[1] - s)
    return float(s + t / 2)
