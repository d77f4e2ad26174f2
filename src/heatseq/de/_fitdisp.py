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

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from heatseq.de._rmath import r_digamma, r_exp, r_lgamma

__all__: list[str] = []

_ARMIJO = 1.0e-4
_LOG_ALPHA_FLOOR = -30.0
_LOG_ALPHA_CEIL = 10.0

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
    alpha = r_exp(log_alpha)
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
    alpha = r_exp(log_alpha)
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
