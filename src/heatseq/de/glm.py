"""Negative binomial GLM fitting, vectorised across genes: DESeq2's ``fitNbinomGLMs``.

This module owns the fit of the generalised linear model of DESeq2 (Love, Huber & Anders
2014, Genome Biology 15:550, Methods, eqs. 1-2)::

    K_ij ~ NB(mu_ij, alpha_i),   mu_ij = s_ij q_ij,   log q_ij = sum_r x_jr beta_ir

for all genes at once, mirroring DESeq2 1.38 (``fitNbinomGLMs`` in R and ``fitBeta`` in
``src/DESeq2.cpp``):

* start from the least-squares fit of ``log(K / s + 0.1)`` on the design;
* iteratively reweighted least squares with weights ``w = mu / (1 + alpha mu)``, working
  response ``z = log(mu / s) + (K - mu) / mu`` and a ridge ``Lambda = lambda / log(2)^2``
  (``lambda`` is DESeq2's penalty on log2-scale coefficients; the default ``1e-6`` is a
  N(0, 1000^2) prior on log2 fold changes), with the fitted means bounded below by
  ``min_mu`` inside the iterations;
* a gene stops when the relative change of its deviance
  ``|dev - dev_old| / (|dev| + 0.1)`` falls below ``beta_tol`` (after the second
  iteration); a coefficient beyond 30 (natural log) or a NaN deviance marks it
  not converged;
* genes that did not converge, or whose estimates are NaN or whose variances are not
  positive, are refitted by a direct minimisation of the penalised negative log
  likelihood within DESeq2's box ``[-30, 30]`` on the log2 scale (R uses ``optim``
  L-BFGS-B; here a vectorised projected Newton method reaches the same optimum of this
  convex problem);
* the covariance of the coefficients is the sandwich
  ``(X'WX + Lambda)^-1 X'WX (X'WX + Lambda)^-1`` and the hat matrix diagonals are those
  of ``W^1/2 X (X'WX + Lambda)^-1 X' W^1/2``.

Coefficients are on the natural-log scale throughout (DESeq2 reports ``beta / log(2)``).
The log likelihood uses a port of R's ``dnbinom_mu`` (Loader's saddle-point algorithm with
``stirlerr`` and ``bd0``), so likelihood ratio statistics match R to rounding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlogy

from heatseq.errors import DesignError, InputError

__all__ = ["GLMFit", "fit_nb_glm", "nb_log_likelihood", "nb_log_pmf"]

log = logging.getLogger(__name__)

_LARGE = 30.0  # DESeq2's bound on |beta| (natural log in IRLS, log2 in the optimiser)
_LN2 = np.log(2.0)
_LN_2PI = np.log(2.0 * np.pi)
_LN_SQRT_2PI = 0.5 * _LN_2PI


@dataclass(frozen=True)
class GLMFit:
    """A negative binomial GLM fitted to every gene.

    Attributes
    ----------
    beta
        Coefficients, genes x coefficients, natural-log scale (``beta / log(2)`` is DESeq2's
        log2 fold change). NaN for genes whose counts are all zero.
    beta_se, covariance
        Standard errors of ``beta`` and its sandwich covariance (genes x p x p), natural log.
    mu
        Fitted means, samples x genes (not bounded by ``min_mu``, as DESeq2 stores them).
    hat_diagonals
        Diagonal of the hat matrix, samples x genes (from the last IRLS iteration).
    log_likelihood
        NB log likelihood per gene at ``mu``.
    converged, iterations
        Convergence (in IRLS or the optimiser fallback) and IRLS iterations (``maxit``
        when IRLS did not converge).
    design, dispersions
        The design matrix (samples x p) and the dispersions (one per gene) used.
    size_factors, normalization_factors
        The offsets used: size factors per sample, or samples x genes factors (the other
        is None).
    ridge, min_mu
        DESeq2's ``lambda`` per coefficient (log2 scale; the fit adds ``ridge / log(2)^2``)
        and the lower bound on means in IRLS and weights.
    optimized
        Genes refitted by the optimiser fallback.
    """

    beta: np.ndarray
    beta_se: np.ndarray
    mu: np.ndarray
    hat_diagonals: np.ndarray
    log_likelihood: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    covariance: np.ndarray
    design: np.ndarray
    dispersions: np.ndarray
    size_factors: np.ndarray | None
    normalization_factors: np.ndarray | None
    ridge: np.ndarray
    min_mu: float
    optimized: np.ndarray

    @property
    def n_genes(self) -> int:
        """Number of genes."""
        return self.beta.shape[0]

    def offsets(self) -> np.ndarray:
        """Samples x genes normalisation factors (size factors broadcast when given)."""
        if self.normalization_factors is not None:
            return self.normalization_factors
        assert self.size_factors is not None
        return np.broadcast_to(self.size_factors[:, None], self.mu.shape)


# ---------------------------------------------------------------------------------------
# R's dnbinom_mu(log = TRUE), vectorised (R 4.2: src/nmath/dnbinom.c, dbinom.c, stirlerr.c,
# bd0.c)

_SFERR_HALVES = np.array([
    0.0, 0.15342640972002736, 0.08106146679532726, 0.05481412105191765,
    0.0413406959554093, 0.03316287351993629, 0.02767792568499834, 0.023746163656297496,
    0.020790672103765093, 0.018488450532673187, 0.016644691189821193, 0.015134973221917378,
    0.013876128823070748, 0.012810465242920227, 0.01189670994589177, 0.011104559758206917,
    0.010411265261972096, 0.009799416126158804, 0.009255462182712733, 0.008768700134139386,
    0.00833056343336287, 0.00793411456431402, 0.007573675487951841, 0.007244554301320383,
    0.00694284010720953, 0.006665247032707682, 0.006408994188004207, 0.006171712263039458,
    0.0059513701127588475, 0.0057462165130101155, 0.005554733551962801,
])  # fmt: skip


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """log(n!) - log(sqrt(2 pi n) (n/e)^n), as R's ``stirlerr``."""
    s0, s1, s2, s3, s4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188
    out = np.full_like(n, np.nan)
    small = n <= 15.0
    if small.any():
        ns = n[small]
        nn = ns + ns
        half = nn == np.floor(nn)
        val = np.empty_like(ns)
        val[half] = _SFERR_HALVES[nn[half].astype(np.int64)]
        o = ns[~half]
        val[~half] = gammaln(o + 1.0) - (o + 0.5) * np.log(o) + o - _LN_SQRT_2PI
        out[small] = val
    for sel, k in ((n > 500, 1), ((n > 80) & (n <= 500), 2), ((n > 35) & (n <= 80), 3),
                   ((n > 15) & (n <= 35), 4)):  # fmt: skip
        if sel.any():
            nb = n[sel]
            nn = nb * nb
            if k == 1:
                out[sel] = (s0 - s1 / nn) / nb
            elif k == 2:
                out[sel] = (s0 - (s1 - s2 / nn) / nn) / nb
            elif k == 3:
                out[sel] = (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / nb
            else:
                out[sel] = (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / nb
    return out


def _bd0(x: np.ndarray, np_: np.ndarray) -> np.ndarray:
    """``x log(x / np) + np - x`` as R's ``bd0``: near ``x = np`` the series
    ``(x - np) v + 2 x sum_j v^(2j+1) / (2j+1)``, ``v = (x - np)/(x + np)``, ten terms by
    Horner's rule (``|v| < 0.1`` reaches double precision)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(x / np_) + np_ - x
    near = np.abs(x - np_) < 0.1 * (x + np_)
    if near.any():
        xs, ms = x[near], np_[near]
        v = (xs - ms) / (xs + ms)
        v2 = v * v
        tail = np.full_like(v, 1.0 / 21.0)
        for k in range(19, 1, -2):
            tail = 1.0 / k + v2 * tail
        out[near] = (xs - ms) * v + 2.0 * xs * v * v2 * tail
    return out


def nb_log_pmf(counts: np.ndarray, mu: np.ndarray, *, dispersion: np.ndarray) -> np.ndarray:
    """Log probability of NB counts with mean ``mu`` and dispersion ``alpha`` (size 1/alpha).

    A vectorised port of R's ``dnbinom(x, mu = mu, size = 1 / alpha, log = TRUE)``.

    Parameters
    ----------
    counts, mu
        Non-negative counts and means; broadcast together.
    dispersion
        Positive dispersions, broadcast against ``counts``.

    Returns
    -------
    np.ndarray
        Elementwise log probabilities.

    Examples
    --------
    >>> round(float(nb_log_pmf(np.array(3.0), np.array(2.0), dispersion=np.array(0.5))), 6)
    -2.079442
    """
    alpha0 = np.asarray(dispersion, float)
    x, m, alpha = np.broadcast_arrays(np.asarray(counts, float), np.asarray(mu, float), alpha0)
    size = 1.0 / alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        st_size = np.broadcast_to(_stirlerr(np.atleast_1d(1.0 / alpha0)).reshape(alpha0.shape),
                                  x.shape)  # fmt: skip
    out = np.empty(x.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        zero = x == 0
        sz, mz = size[zero], m[zero]
        out[zero] = sz * np.where(sz < mz, np.log(sz / (sz + mz)), np.log1p(-mz / (sz + mz)))
        tiny = ~zero & (x < 1e-10 * size)
        if tiny.any():
            xt, st, mt = x[tiny], size[tiny], m[tiny]
            p = np.where(st < mt, np.log(st / (1 + st / mt)), np.log(mt / (1 + mt / st)))
            out[tiny] = xt * p - mt - gammaln(xt + 1) + np.log1p(xt * (xt - 1) / (2 * st))
        rest = ~zero & ~tiny
        if rest.any():
            xr, sr, mr = x[rest], size[rest], m[rest]
            n = xr + sr
            p, q = sr / (sr + mr), mr / (sr + mr)
            # dbinom_raw(x = size, n = size + count, p, q): 0 < x < n here
            lc = (
                _stirlerr(n) - st_size[rest] - _stirlerr(n - sr)
                - _bd0(sr, n * p) - _bd0(n - sr, n * q)
            )  # fmt: skip
            lf = _LN_2PI + np.log(sr) + np.log1p(-sr / n)
            val = lc - 0.5 * lf
            val = np.where(q == 0, -np.inf, val)
            out[rest] = np.log(sr / (sr + xr)) + val
    return out


def nb_log_likelihood(counts: np.ndarray, mu: np.ndarray, *, dispersions: np.ndarray) -> np.ndarray:
    """Per-gene NB log likelihood ``sum_j log dnbinom(K_ij; mu_ij, 1/alpha_i)``.

    Parameters
    ----------
    counts, mu
        Samples x genes.
    dispersions
        One per gene.

    Returns
    -------
    np.ndarray
        One value per gene.
    """
    return nb_log_pmf(counts, mu, dispersion=np.asarray(dispersions, float)[None, :]).sum(axis=0)


def _as_design(design: np.ndarray, n_samples: int) -> np.ndarray:
    x = np.asarray(design, dtype=float)
    if x.ndim != 2 or x.shape[0] != n_samples:
        raise DesignError(
            f"The design matrix has shape {x.shape}; it needs one row per sample "
            f"({n_samples}) and one column per coefficient."
        )
    if not np.isfinite(x).all():
        raise DesignError("The design matrix holds NaN or infinite values; check the sample table.")
    if (np.abs(x).sum(axis=0) == 0).any():
        cols = np.flatnonzero(np.abs(x).sum(axis=0) == 0).tolist()
        raise DesignError(
            f"Design matrix column(s) {cols} are all zero: a level without samples. "
            "Drop unused levels from the sample table."
        )
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise DesignError(
            "The design matrix is not full rank: some variables are linear combinations "
            "of others (e.g. batch confounded with condition). Remove them from the design."
        )
    return x


def _offsets(
    size_factors: np.ndarray | None, normalization_factors: np.ndarray | None, shape: tuple
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    n = shape[0]
    if (size_factors is None) == (normalization_factors is None):
        raise InputError("Give exactly one of size_factors= or normalization_factors=.")
    if size_factors is not None:
        sf = np.asarray(size_factors, dtype=float)
        if sf.shape != (n,) or not np.isfinite(sf).all() or (sf <= 0).any():
            raise InputError(
                f"size_factors must be {n} positive finite numbers, one per sample; "
                f"got shape {sf.shape}."
            )
        return np.broadcast_to(sf[:, None], shape), sf, None
    nf = np.asarray(normalization_factors, dtype=float)
    if nf.shape != shape or not np.isfinite(nf).all() or (nf <= 0).any():
        raise InputError(
            f"normalization_factors must be positive finite, samples x genes {shape}; "
            f"got shape {nf.shape}."
        )
    return nf, None, nf


def fit_nb_glm(
    counts: np.ndarray,
    *,
    design: np.ndarray,
    size_factors: np.ndarray | None = None,
    normalization_factors: np.ndarray | None = None,
    dispersions: np.ndarray,
    ridge: float | np.ndarray = 1e-6,
    maxit: int = 100,
    beta_tol: float = 1e-8,
    min_mu: float = 0.5,
    use_optim: bool = True,
) -> GLMFit:
    """Fit DESeq2's negative binomial GLM to every gene (``fitNbinomGLMs``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    design
        Design matrix, samples x coefficients, full rank.
    size_factors
        One per sample; or give ``normalization_factors`` (samples x genes) instead.
    normalization_factors
        Gene-specific offsets, samples x genes.
    dispersions
        One per gene; may be NaN only for genes whose counts are all zero.
    ridge
        DESeq2's ``lambda`` (scalar or one per coefficient) on the log2 scale; the fit
        adds ``ridge / log(2)^2`` to ``X'WX``.
    maxit
        Maximum IRLS iterations.
    beta_tol
        Relative deviance change that stops IRLS.
    min_mu
        Lower bound on fitted means in IRLS and weights (DESeq2's ``minmu``, 0.5).
    use_optim
        Refit genes that did not converge in IRLS by direct minimisation.

    Returns
    -------
    GLMFit
        Estimates for every gene; genes whose counts are all zero get NaN.

    Examples
    --------
    >>> y = np.array([[10, 0], [12, 3], [30, 1], [33, 5]])
    >>> x = np.array([[1, 0], [1, 0], [1, 1], [1, 1]])
    >>> fit = fit_nb_glm(y, design=x, size_factors=np.ones(4), dispersions=np.array([0.1, 0.5]))
    >>> np.round(fit.beta[0] / np.log(2), 3)
    array([3.459, 1.518])
    """
    y = np.asarray(counts, dtype=float)
    if y.ndim != 2 or not np.isfinite(y).all() or (y < 0).any():
        raise InputError("counts must be a samples x genes matrix of finite non-negative values.")
    n, g = y.shape
    x = _as_design(design, n)
    p = x.shape[1]
    nf, sf, nf_given = _offsets(size_factors, normalization_factors, y.shape)
    alpha = np.asarray(dispersions, dtype=float)
    if alpha.shape != (g,):
        raise InputError(
            f"dispersions must have one value per gene ({g}); got shape {alpha.shape}."
        )
    lam = np.broadcast_to(np.asarray(ridge, dtype=float), (p,)).copy()
    if not np.isfinite(lam).all() or (lam < 0).any():
        raise InputError(f"ridge must be non-negative and finite; got {ridge!r}.")
    if int(maxit) < 1:
        raise InputError(f"maxit must be at least 1; got {maxit!r}.")
    if not beta_tol > 0 or not min_mu >= 0:
        raise InputError("beta_tol must be positive and min_mu non-negative.")

    nonzero = y.sum(axis=0) > 0
    bad = nonzero & ~(np.isfinite(alpha) & (alpha > 0))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} gene(s) with counts have a missing or non-positive dispersion "
            f"(first at column {int(np.flatnonzero(bad)[0])}); estimate dispersions first."
        )

    # all-zero genes keep NaN estimates (DESeq2 fits only rows with counts)
    beta, cov, ll = np.full((g, p), np.nan), np.full((g, p, p), np.nan), np.full(g, np.nan)
    mu, hat = np.full((n, g), np.nan), np.full((n, g), np.nan)
    conv, opt, iters = np.zeros(g, bool), np.zeros(g, bool), np.zeros(g, np.int64)
    idx = np.flatnonzero(nonzero)
    if idx.size:
        intercept_only = p == 1 and bool((x == 1).all()) and bool((lam <= 1e-6).all())
        fitter = _fit_intercept_only if intercept_only else _fit_irls
        res = fitter(y[:, idx], x, np.ascontiguousarray(nf[:, idx]), alpha[idx], lam,
                     maxit=int(maxit), tol=float(beta_tol), min_mu=float(min_mu),
                     use_optim=bool(use_optim))  # fmt: skip
        beta[idx], cov[idx], mu[:, idx], hat[:, idx] = res[0], res[1], res[2], res[3]
        ll[idx], conv[idx], iters[idx], opt[idx] = res[4], res[5], res[6], res[7]
    var = np.diagonal(cov, axis1=1, axis2=2)
    se = np.sqrt(np.maximum(var, 0.0))
    n_nc = int((nonzero & ~conv).sum())
    if n_nc:
        log.info("%d genes did not converge in beta; they keep the last estimate", n_nc)
    return GLMFit(
        beta=beta, beta_se=se, mu=mu, hat_diagonals=hat, log_likelihood=ll, converged=conv,
        iterations=iters, covariance=cov, design=x, dispersions=alpha, size_factors=sf,
        normalization_factors=nf_given, ridge=lam, min_mu=float(min_mu), optimized=opt,
    )  # fmt: skip


def _fit_intercept_only(y, x, nf, alpha, lam, *, maxit, tol, min_mu, use_optim):
    """DESeq2's shortcut for ``~ 1`` without a prior: the mean of normalised counts."""
    g = y.shape[1]
    mean = (y / nf).mean(axis=0)
    beta = np.log(mean)[:, None]
    mu = nf * mean[None, :]
    w = 1.0 / (1.0 / mu + alpha[None, :])
    xtwx = w.sum(axis=0)
    cov = (1.0 / xtwx)[:, None, None]
    hat = w / xtwx[None, :]
    ll = nb_log_likelihood(y, mu, dispersions=alpha)
    ones = np.ones(g, dtype=bool)
    return beta, cov, mu, hat, ll, ones, np.ones(g, dtype=np.int64), ~ones


def _outer(x):
    """Row-wise outer products of the design, samples x p^2."""
    return (x[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)


def _xtwx(x, w):
    """``X' diag(w_g) X`` for every gene (columns of ``w``), genes x p x p."""
    p = x.shape[1]
    return (w.T @ _outer(x)).reshape(w.shape[1], p, p)


def _sandwich(x, w, lam_nat):
    """Hat diagonals and sandwich covariance for weights ``w`` (samples x genes)."""
    xtwx = _xtwx(x, w)
    a = xtwx + np.diag(lam_nat)[None, :, :]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(a).all(axis=(1, 2))
        inv = np.full_like(a, np.nan)
        if ok.any():
            inv[ok] = np.linalg.inv(a[ok])
        # h_jg = w_jg x_j' inv_g x_j, as one matrix product over the p^2 entries
        hat = (_outer(x) @ inv.reshape(len(inv), -1).T) * w
        cov = inv @ xtwx @ inv
    return hat, cov


def _deviance_parts(y, alpha):
    """The mu-free part of the NB log likelihood, per gene, for the IRLS stopping rule."""
    size = 1.0 / alpha[None, :]
    return (gammaln(y + size) - gammaln(size) - gammaln(y + 1.0)).sum(axis=0)


def _mu_part(y, mu, size):
    """The mu-dependent part of the NB log likelihood, elementwise."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return -size * np.log1p(mu / size) + xlogy(y, mu / (size + mu))


def _deviance(y, mu, alpha, const):
    return -2.0 * (const + _mu_part(y, mu, 1.0 / alpha[None, :]).sum(axis=0))


def _fit_irls(y, x, nf, alpha, lam, *, maxit, tol, min_mu, use_optim):
    """IRLS of DESeq2's ``fitBeta`` on all genes at once, then the optimiser fallback."""
    g = y.shape[1]
    lam_nat = lam / _LN2**2
    # initial estimates: least squares of log normalised counts (DESeq2: qr.solve)
    q, r = np.linalg.qr(x)
    beta0 = np.linalg.solve(r, q.T @ np.log(y / nf + 0.1)).T
    beta = beta0.copy()
    with np.errstate(over="ignore"):
        mu = np.maximum(nf * np.exp(x @ beta.T), min_mu)
    const = _deviance_parts(y, alpha)
    dev_old = np.zeros(g)
    iters = np.zeros(g, dtype=np.int64)
    active = np.arange(g)
    ridge = np.diag(lam_nat)[None, :, :]
    for t in range(maxit):
        if active.size == 0:
            break
        iters[active] += 1
        ya, ma, na, aa = y[:, active], mu[:, active], nf[:, active], alpha[active]
        w = ma / (1.0 + aa[None, :] * ma)
        z = np.log(ma / na) + (ya - ma) / ma
        lhs = _xtwx(x, w) + ridge
        rhs = (w * z).T @ x
        finite = np.isfinite(lhs).all(axis=(1, 2)) & np.isfinite(rhs).all(axis=1)
        new = np.full((active.size, x.shape[1]), np.nan)
        if finite.any():
            new[finite] = np.linalg.solve(lhs[finite], rhs[finite][:, :, None])[:, :, 0]
        beta[active] = new
        large = (np.abs(new) > _LARGE).any(axis=1)
        with np.errstate(over="ignore", invalid="ignore"):
            mnew = np.maximum(na * np.exp(x @ new.T), min_mu)
        keep = ~large
        mu[:, active[keep]] = mnew[:, keep]
        dev = _deviance(ya, mnew, aa, const[active])
        with np.errstate(invalid="ignore"):
            test = np.abs(dev - dev_old[active]) / (np.abs(dev) + 0.1)
        failed = large | np.isnan(test)
        iters[active[failed]] = maxit
        done = failed | ((t > 0) & (test < tol))
        dev_old[active] = dev
        active = active[~done]
    # active genes left here used all maxit iterations
    w = mu / (1.0 + alpha[None, :] * mu)
    hat, cov = _sandwich(x, w, lam_nat)
    with np.errstate(over="ignore", invalid="ignore"):
        mu_out = nf * np.exp(x @ beta.T)
    ll = nb_log_likelihood(y, mu_out, dispersions=alpha)
    stable = ~np.isnan(beta).any(axis=1)
    var_pos = (np.diagonal(cov, axis1=1, axis2=2) > 0).all(axis=1)
    conv = iters < maxit
    redo = (~conv | ~stable | ~var_pos) if use_optim else (~stable | ~var_pos)
    opt = np.zeros(g, dtype=bool)
    rows = np.flatnonzero(redo)
    if rows.size:
        log.info("refitting %d genes by direct optimisation", rows.size)
        start = np.where(
            (stable[rows] & (np.abs(beta[rows] / _LN2) < _LARGE).all(axis=1))[:, None],
            beta[rows],
            beta0[rows] * _LN2,  # DESeq2 passes the natural-log start as log2 values
        )
        b_opt, ok = _optimise(y[:, rows], x, nf[:, rows], alpha[rows], lam_nat, start)
        beta[rows] = b_opt
        conv[rows] |= ok
        opt[rows] = True
        with np.errstate(over="ignore"):
            m_opt = nf[:, rows] * np.exp(x @ b_opt.T)
        mu_out[:, rows] = m_opt
        m_clip = np.maximum(m_opt, min_mu)
        w_opt = m_clip / (1.0 + alpha[rows][None, :] * m_clip)
        cov[rows] = _sandwich(x, w_opt, lam_nat)[1]
        # DESeq2 evaluates these rows' likelihood at the bounded means
        ll[rows] = nb_log_likelihood(y[:, rows], m_clip, dispersions=alpha[rows])
    return beta, cov, mu_out, hat, ll, conv, iters, opt


def _penalised_nll(y, x, nf, alpha, lam_nat, beta):
    """Negative penalised log likelihood per gene (the objective of DESeq2's optim call)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mu = nf * np.exp(x @ beta.T)
        val = _mu_part(y, mu, 1.0 / alpha[None, :]).sum(axis=0)
        f = -val + 0.5 * (beta**2 * lam_nat[None, :]).sum(axis=1)
    return np.where(np.isfinite(f), f, 1e300), mu


def _optimise(y, x, nf, alpha, lam_nat, start, *, maxiter=500):
    """Projected Newton minimisation of the penalised NB likelihood in the box +-30 log2.

    The objective is convex in ``beta`` (log link), so the optimum is unique; genes are
    iterated together until the step and the change in the objective vanish.
    """
    lo, hi = -_LARGE * _LN2, _LARGE * _LN2
    beta = np.clip(start, lo, hi)
    g, p = beta.shape
    f, mu = _penalised_nll(y, x, nf, alpha, lam_nat, beta)
    ok = np.zeros(g, dtype=bool)
    active = np.arange(g)
    eye = np.eye(p)[None, :, :]
    for _ in range(maxiter):
        if active.size == 0:
            break
        b, m = beta[active], mu[:, active]
        ya, aa = y[:, active], alpha[active][None, :]
        with np.errstate(invalid="ignore", over="ignore"):
            resid = (ya - m) / (1.0 + aa * m)
            curv = m * (1.0 + aa * ya) / (1.0 + aa * m) ** 2
        grad = -(resid.T @ x) + lam_nat[None, :] * b
        hess = _xtwx(x, curv) + np.diag(lam_nat)[None]
        # variables held at a bound by the gradient are fixed for this step
        fixed = ((b <= lo) & (grad > 0)) | ((b >= hi) & (grad < 0))
        free = ~fixed
        hess = np.where(free[:, :, None] & free[:, None, :], hess, eye)
        gr = np.where(free, grad, 0.0)
        good = np.isfinite(hess).all(axis=(1, 2)) & np.isfinite(gr).all(axis=1)
        step = np.zeros_like(b)
        if good.any():
            step[good] = -np.linalg.solve(hess[good], gr[good][:, :, None])[:, :, 0]
        t = np.ones(active.size)
        f0 = f[active]
        accepted = np.zeros(active.size, dtype=bool)
        b_new, f_new = b.copy(), f0.copy()
        for _ls in range(40):
            todo = ~accepted
            if not todo.any():
                break
            cand = np.clip(b[todo] + t[todo, None] * step[todo], lo, hi)
            fc, _ = _penalised_nll(ya[:, todo], x, nf[:, active[todo]], alpha[active[todo]],
                                   lam_nat, cand)  # fmt: skip
            dec = fc <= f0[todo] + 1e-4 * (gr[todo] * (cand - b[todo])).sum(axis=1)
            where = np.flatnonzero(todo)
            b_new[where[dec]], f_new[where[dec]] = cand[dec], fc[dec]
            accepted[where[dec]] = True
            t[todo] *= 0.5
        moved = np.abs(b_new - b).max(axis=1)
        beta[active], f[active] = b_new, f_new
        with np.errstate(over="ignore"):
            mu[:, active] = nf[:, active] * np.exp(x @ b_new.T)
        small = (moved < 1e-10) | (np.abs(f0 - f_new) <= 1e-14 * (np.abs(f0) + 1e-10))
        done = small | ~accepted
        ok[active[done & accepted]] = True
        # no decrease found: at the optimum when the Newton decrement is at rounding level
        decrement = -(gr * step).sum(axis=1)
        flat = (decrement <= 1e-10 * (np.abs(f0) + 1.0)) | (np.abs(gr).max(axis=1) < 1e-8)
        ok[active[~accepted & flat]] = True
        active = active[~done]
    return beta, ok
