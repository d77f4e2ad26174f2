"""apeglm: the adaptive Cauchy-prior posterior of one GLM coefficient, for all genes at once.

This module owns the numerical core of apeglm 1.20 (Zhu, Ibrahim & Love 2019, "Heavy-tailed
prior distributions for sequence count data: removing the noise and preserving large
differences", Bioinformatics 35:2084) as DESeq2 1.38's ``lfcShrink(type="apeglm")`` runs it
(``apeMethod="nbinomCR"``), reproduced step by step so that the results match R's:

Prior scale (apeglm's ``priorVar``; Efron & Morris 1975, "Data analysis using Stein's
estimator and its generalizations", JASA 70:311). From the MLEs :math:`X_g` of the coefficient
and their variances :math:`D_g = \\mathrm{SE}_g^2` (natural log), the variance :math:`A` of a
normal prior solves :math:`A = \\sum_g (X_g^2 - D_g) I_g(A) / \\sum_g I_g(A)` with
:math:`I_g(A) = 1 / (2 (A + D_g)^2)`, found by R's ``uniroot`` (Brent's method, tolerance
:math:`\\epsilon^{1/4}`) on :math:`[10^{-6}, 400]`; the Cauchy scale is
:math:`S = \\min(\\sqrt{A}, 1)`.

Posterior mode. For gene *g* with counts :math:`y_j`, weights :math:`w_j`, offsets :math:`o_j`
(log size factors), NB size :math:`r = 1/\\alpha_g` and :math:`\\eta_j = x_j^\\top\\beta`,
apeglm minimises the negative log posterior

.. math:: f(\\beta) = -\\sum_j w_j\\left[y_j \\eta_j - (y_j + r)\\log(r + e^{\\eta_j + o_j})
          \\right] + \\sum_{k \\ne c} \\frac{\\beta_k^2}{2\\sigma^2}
          + \\log\\left(1 + \\frac{\\beta_c^2}{S^2}\\right)

(a wide normal prior, :math:`\\sigma = 15`, on every coefficient but the shrunken one *c*, a
Cauchy prior of scale *S* on *c*). As apeglm's C++ ``nbinomGLM``: L-BFGS (LBFGS++ as bundled
with RcppNumerical 0.5: 6 correction pairs, the Nocedal & Wright 2006 strong-Wolfe line search,
Algorithms 3.5-3.6, gradient and objective tolerances 1e-8) on :math:`f/c_g + 10` with
:math:`c_g = \\max(f(0), 1)`, from :math:`(0.1, -0.1, \\dots)` and again from
:math:`(-0.1, 0.1, \\dots)`. Where the two runs differ by more than 0.01, the line search
failed, or the Hessian is not positive definite, the gene is refitted as apeglm does in R:
``optim(method="BFGS")`` (Nash 1990's variable-metric ``vmmin``) from the first run's result.
The posterior SD is the square root of the diagonal of the inverse Hessian at the mode, the
Hessian taken by central differences of the gradient with step 1e-3 (R's ``optimHess``).
Everything runs for all genes at once; the iterations of different genes proceed in step.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from heatseq.de._parallel import can_fork, one_blas_thread, run_forked
from heatseq.errors import InputError

__all__ = ["PosteriorMode", "apeglm_prior_variance", "cauchy_scale", "nb_posterior_mode"]

_R_UNIROOT_TOL = float(np.finfo(float).eps) ** 0.25


def _zeroin(f: Callable[[float], float], lower: float, upper: float, f_lower: float,
            f_upper: float, *, tol: float = _R_UNIROOT_TOL, maxiter: int = 1000) -> float:
    """Brent's root finder as R's ``uniroot`` runs it (R_zeroin2), so the root matches R's."""
    eps = float(np.finfo(float).eps)
    a, b = lower, upper
    fa, fb = f_lower, f_upper
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * eps * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # linear interpolation
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def apeglm_prior_variance(mle: np.ndarray, se: np.ndarray, *, min_var: float = 1e-6,
                          max_var: float = 400.0) -> float:
    """Variance of the normal prior that apeglm adapts its Cauchy scale to (``priorVar``).

    Parameters
    ----------
    mle
        MLEs of the coefficient, natural-log scale (n_genes,); NaN rows are skipped.
    se
        Their standard errors, natural-log scale (n_genes,).
    min_var, max_var
        The search interval (apeglm's defaults: ``0.001^2`` and ``20^2``).

    Returns
    -------
    float
        The Efron-Morris estimate :math:`A`; ``min_var`` when even that is too large.

    Raises
    ------
    InputError
        If no gene has a finite MLE and SE.

    Examples
    --------
    >>> round(apeglm_prior_variance(np.array([1.0, -1.0, 0.5, -0.5]), np.full(4, 0.1)), 4)
    0.615
    """
    x = np.asarray(mle, dtype=np.float64)
    d = np.asarray(se, dtype=np.float64) ** 2
    keep = np.isfinite(x) & np.isfinite(d)  # apeglm drops NA MLEs (all-zero genes)
    x, d = x[keep], d[keep]
    if x.size == 0:
        raise InputError("apeglm needs finite MLEs and standard errors of the coefficient for at "
                         "least one gene; none were given.")
    s = x * x

    def objective(a: float) -> float:
        i = 1.0 / (2.0 * (a + d) ** 2)
        return float(np.sum((s - d) * i) / np.sum(i) - a)

    f_lo = objective(min_var)
    if f_lo < 0:
        return float(min_var)
    f_hi = objective(max_var)
    if f_hi > 0:  # R's uniroot would stop with an error; the widest prior is the sensible answer
        return float(max_var)
    return _zeroin(objective, min_var, max_var, f_lo, f_hi)


def cauchy_scale(prior_variance: float, *, multiplier: float = 1.0) -> float:
    """apeglm's Cauchy scale from the adapted prior variance: ``min(multiplier * sqrt(A), 1)``.

    Parameters
    ----------
    prior_variance
        The Efron-Morris variance *A* from :func:`apeglm_prior_variance`.
    multiplier
        apeglm's ``multiplier``.

    Returns
    -------
    float
        The scale *S* of the Cauchy prior, natural log.

    Examples
    --------
    >>> cauchy_scale(0.25), cauchy_scale(4.0)
    (0.5, 1.0)
    """
    return min(multiplier * math.sqrt(prior_variance), 1.0)


@dataclass(frozen=True)
class PosteriorMode:
    """Posterior modes and Laplace SDs of an NB GLM with a Cauchy prior on one coefficient.

    Attributes
    ----------
    beta
        Posterior modes, natural log, (n_genes, p).
    sd
        Posterior SDs, natural log, (n_genes, p); NaN where the Hessian is not positive
        definite.
    converged
        apeglm's ``conv == 0``: L-BFGS converged and both starts agree, (n_genes,).
    refit
        Genes refitted with R's BFGS (``optim``) because L-BFGS did not settle, (n_genes,).
    """

    beta: np.ndarray
    sd: np.ndarray
    converged: np.ndarray
    refit: np.ndarray


class _NegLogPost:
    """apeglm's ``nbinomFn`` / ``nbinomGr`` for a batch of genes (arrays are genes x samples)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, offset: np.ndarray,
                 weights: np.ndarray | None, size: np.ndarray, shrink: int, s2: float,
                 sigma2: float) -> None:
        self.x, self.y, self.offset, self.w = x, y, offset, weights
        self.size = size.reshape(-1, 1)
        self.ypr = y + self.size
        self.shrink = shrink
        self.ns = np.array([k for k in range(x.shape[1]) if k != shrink], dtype=np.int64)
        self.s2, self.sigma2 = s2, sigma2

    def take(self, rows: np.ndarray) -> _NegLogPost:
        """The same posterior for a subset of the genes (compact copies)."""
        def sub(a: np.ndarray | None) -> np.ndarray | None:
            return a if a is None or a.shape[0] == 1 else a[rows]

        return _NegLogPost(self.x, self.y[rows], sub(self.offset), sub(self.w),
                           self.size[rows, 0], self.shrink, self.s2, self.sigma2)

    def _prior(self, beta: np.ndarray) -> np.ndarray:
        bc = beta[:, self.shrink]
        return (beta[:, self.ns] ** 2).sum(axis=1) / (2.0 * self.sigma2) + np.log1p(bc * bc / self.s2)

    def _prior_grad(self, beta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        bc = beta[:, self.shrink]
        grad[:, self.shrink] += 2.0 * bc / (self.s2 + bc * bc)
        grad[:, self.ns] += beta[:, self.ns] / self.sigma2
        return grad

    def _mu(self, xb: np.ndarray) -> np.ndarray:
        e = xb + self.offset
        with np.errstate(over="ignore"):
            return np.exp(e, out=e)

    def value(self, beta: np.ndarray) -> np.ndarray:
        xb = beta @ self.x.T
        b = self._mu(xb)
        b += self.size
        with np.errstate(invalid="ignore"):
            lik = self.y * xb
            lik -= self.ypr * np.log(b)
            if self.w is not None:
                lik *= self.w
        return self._prior(beta) - lik.sum(axis=1)

    def gradient(self, beta: np.ndarray) -> np.ndarray:
        e = self._mu(beta @ self.x.T)
        with np.errstate(invalid="ignore"):
            resid = self.y - self.ypr * e / (e + self.size)
            if self.w is not None:
                resid *= self.w
        return self._prior_grad(beta, -(resid @ self.x))

    def value_grad(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both at once (one exponential), as apeglm's C++ ``f_grad`` before scaling."""
        xb = beta @ self.x.T
        e = self._mu(xb)
        b = e + self.size
        with np.errstate(invalid="ignore"):
            lik = self.y * xb
            lik -= self.ypr * np.log(b)
            np.divide(e, b, out=e)
            e *= self.ypr
            np.subtract(self.y, e, out=e)
            if self.w is not None:
                lik *= self.w
                e *= self.w
        return self._prior(beta) - lik.sum(axis=1), self._prior_grad(beta, -(e @ self.x))


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two (n, p) arrays."""
    return np.einsum("ij,ij->i", a, b)


def _strong_wolfe_search(fg: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
                         xp: np.ndarray, fx0: np.ndarray, g0: np.ndarray, drt: np.ndarray,
                         step0: np.ndarray, *, max_ls: int = 100, ftol: float = 1e-4,
                         wolfe: float = 0.9
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nocedal & Wright's line search (Alg. 3.5 bracketing, 3.6 zoom), rows in step.

    Returns the new points, values, gradients and a failure flag (LBFGS++ throws there).
    """
    n = xp.shape[0]
    x, fx, grad = xp.copy(), fx0.copy(), g0.copy()
    dg_init = _rowdot(g0, drt)
    failed = ~(dg_init <= 0)
    test_decr, test_curv = ftol * dg_init, -wolfe * dg_init
    step = step0.copy()
    lo, hi = np.zeros(n), np.zeros(n)
    f_lo, f_hi, dg_lo = fx0.copy(), fx0.copy(), dg_init.copy()
    zoom = np.zeros(n, dtype=bool)
    it = np.zeros(n, dtype=np.int64)
    pending = np.flatnonzero(~failed)
    while pending.size:
        z = zoom[pending]
        if z.any():  # zoom: quadratic interpolation from (f_lo, f_hi, dg_lo), else bisection
            zi = pending[z]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = ((f_hi[zi] - f_lo[zi]) * lo[zi] - (hi[zi] ** 2 - lo[zi] ** 2) * dg_lo[zi] / 2)
                t = t / ((f_hi[zi] - f_lo[zi]) - (hi[zi] - lo[zi]) * dg_lo[zi])
            outside = (t <= np.minimum(lo[zi], hi[zi])) | (t >= np.maximum(lo[zi], hi[zi]))
            step[zi] = np.where(outside, lo[zi] / 2 + hi[zi] / 2, t)
        if pending.size == n:  # every row (the first trial): no gathers and scatters
            xt = xp + step[:, None] * drt
            ft, gt = fg(xt, pending)
            x, fx, grad = xt, ft, gt
            dg = _rowdot(gt, drt)
        else:
            xt = xp[pending] + step[pending, None] * drt[pending]
            ft, gt = fg(xt, pending)
            x[pending], fx[pending], grad[pending] = xt, ft, gt
            dg = _rowdot(gt, drt[pending])
        out = it[pending] >= max_ls
        it[pending] += 1
        st = step[pending]
        too_high = (ft - fx0[pending] > st * test_decr[pending])
        curv_ok = np.abs(dg) <= test_curv[pending]
        done = out.copy()
        keep = ~done
        # bracketing phase
        b = keep & ~z
        b_hi = b & (too_high | ((lo[pending] > 0) & (ft >= f_lo[pending])))
        b_ok = b & ~b_hi & curv_ok
        b_up = b & ~b_hi & ~curv_ok
        idx = pending[b_hi]
        hi[idx], f_hi[idx], zoom[idx] = st[b_hi], ft[b_hi], True
        done |= b_ok
        idx = pending[b_up]
        hi[idx], f_hi[idx] = lo[idx], f_lo[idx]
        lo[idx], f_lo[idx], dg_lo[idx] = st[b_up], ft[b_up], dg[b_up]
        to_zoom = b_up & (dg >= 0)
        zoom[pending[to_zoom]] = True
        grow = pending[b_up & (dg < 0)]
        step[grow] *= 2.0
        # zoom phase
        zz = keep & z
        z_hi = zz & (too_high | (ft >= f_lo[pending]))
        fail_hi = z_hi & (st == hi[pending])
        idx = pending[z_hi & ~fail_hi]
        hi[idx], f_hi[idx] = st[z_hi & ~fail_hi], ft[z_hi & ~fail_hi]
        z_lo = zz & ~z_hi
        done |= z_lo & curv_ok
        z_move = z_lo & ~curv_ok
        flip = z_move & (dg * (hi[pending] - lo[pending]) >= 0)
        idx = pending[flip]
        hi[idx], f_hi[idx] = lo[idx], f_lo[idx]
        fail_lo = z_move & (st == lo[pending])
        idx = pending[z_move & ~fail_lo]
        lo[idx], f_lo[idx], dg_lo[idx] = st[z_move & ~fail_lo], ft[z_move & ~fail_lo], dg[
            z_move & ~fail_lo]
        failed[pending[fail_hi | fail_lo]] = True
        pending = pending[~(done | fail_hi | fail_lo)]
    return x, fx, grad, failed


def _lbfgs(obj: _NegLogPost, init: np.ndarray, cnst: np.ndarray, *,
           m: int = 6, eps: float = 1e-8, delta: float = 1e-8, max_iter: int = 300
           ) -> tuple[np.ndarray, np.ndarray]:
    """LBFGS++'s ``LBFGSSolver::minimize`` on ``f / cnst + 10``, rows in step.

    Returns the end points and a status (0, or -1 where the line search failed). The state of
    the rows still iterating is kept compact (finished rows are written out and dropped).
    """
    n, p = obj.y.shape[0], init.shape[0]
    x_out = np.tile(init, (n, 1))
    status = np.zeros(n, dtype=np.int64)
    cur, cur_cnst = obj, cnst

    def fg(b: np.ndarray, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = cur if sub.size == cur.y.shape[0] else cur.take(sub)
        val, grad = part.value_grad(b)
        c = cur_cnst[sub]
        return val / c + 10.0, grad / c[:, None]

    def small_gradient(g: np.ndarray, xx: np.ndarray) -> np.ndarray:
        gn = np.linalg.norm(g, axis=1)
        return (gn <= eps) | (gn <= eps * np.linalg.norm(xx, axis=1))

    idx = np.arange(n)
    fx, grad = fg(x_out, idx)
    keep = ~small_gradient(grad, x_out)
    idx, x, fx, grad = idx[keep], x_out[keep], fx[keep], grad[keep]
    cur, cur_cnst = cur.take(keep), cur_cnst[keep]
    drt = -grad
    step = 1.0 / np.linalg.norm(drt, axis=1)
    f_past = fx.copy()
    s_hist, y_hist, ys_hist = np.zeros((m, idx.size, p)), np.zeros((m, idx.size, p)), np.ones(
        (m, idx.size))
    for k in range(1, max_iter + 1):
        if idx.size == 0:
            break
        xp, gp = x, grad
        x, fx, grad, failed = _strong_wolfe_search(fg, xp, fx, gp, drt, step)
        status[idx[failed]] = -1
        stop = failed | small_gradient(grad, x)
        stop |= np.abs(f_past - fx) <= delta * np.maximum(np.maximum(np.abs(fx), np.abs(f_past)), 1.0)
        f_past = fx
        x_out[idx] = x
        if k >= max_iter:
            break
        if stop.any():
            keep = ~stop
            idx, x, fx, grad, xp, gp, f_past = (idx[keep], x[keep], fx[keep], grad[keep], xp[keep],
                                                gp[keep], f_past[keep])
            # compress: a boolean index on the middle axis copies several times slower
            s_hist, y_hist = s_hist.compress(keep, axis=1), y_hist.compress(keep, axis=1)
            ys_hist = ys_hist.compress(keep, axis=1)
            cur, cur_cnst = cur.take(keep), cur_cnst[keep]
            if idx.size == 0:
                break
        # new correction pair, then the two-loop recursion (Nocedal & Wright 2006, Alg. 7.4)
        loc = (k - 1) % m
        np.subtract(x, xp, out=s_hist[loc])
        np.subtract(grad, gp, out=y_hist[loc])
        ys_hist[loc] = _rowdot(s_hist[loc], y_hist[loc])
        theta = (y_hist[loc] ** 2).sum(axis=1) / ys_hist[loc]
        q = -grad
        used = [(loc - i) % m for i in range(min(k, m))]  # newest first
        alpha = {}
        for j in used:
            alpha[j] = _rowdot(s_hist[j], q) / ys_hist[j]
            q -= alpha[j][:, None] * y_hist[j]
        q /= theta[:, None]
        for j in reversed(used):
            beta = _rowdot(y_hist[j], q) / ys_hist[j]
            q += (alpha[j] - beta)[:, None] * s_hist[j]
        drt = q
        step = np.ones(idx.size)
    return x_out, status


def _vmmin(obj: _NegLogPost, init: np.ndarray, *, max_iter: int = 100,
           reltol: float = 1.4901161193847656e-08) -> np.ndarray:
    """R's ``optim(method="BFGS")`` (``vmmin``, Nash 1990) on apeglm's ``nbinomFn``, rows in step.

    The objective is shifted so that it is -1 at the start, as apeglm's ``optimNbinom`` does.
    """
    n, p = init.shape
    cn = -obj.value(init) - 1.0

    def fn(b: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return obj.take(idx).value(b) + cn[idx]

    b = init.copy()
    fmin = fn(b, np.arange(n))
    g = obj.gradient(b)
    eye = np.broadcast_to(np.eye(p), (n, p, p))
    hinv = eye.copy()
    gradcount = np.ones(n, dtype=np.int64)
    ilast = gradcount.copy()
    iters = np.ones(n, dtype=np.int64)
    active = np.flatnonzero(np.isfinite(fmin))
    while active.size:
        reset = ilast[active] == gradcount[active]
        hinv[active[reset]] = np.eye(p)
        xa, ca = b[active].copy(), g[active].copy()
        t = -np.einsum("gij,gj->gi", hinv[active], ca)
        gradproj = (t * ca).sum(axis=1)
        down = gradproj < 0
        count = np.zeros(active.size, dtype=np.int64)
        f_new = fmin[active].copy()
        steplen = np.ones(active.size)
        # backtracking (factor 0.2) until acceptable or no coordinate changes
        pend = np.flatnonzero(down)
        while pend.size:
            cand = xa[pend] + steplen[pend, None] * t[pend]
            b[active[pend]] = cand
            cnt = (10.0 + xa[pend] == 10.0 + cand).sum(axis=1)
            count[pend] = cnt
            ev = pend[cnt < p]
            acc = np.zeros(pend.size, dtype=bool)
            if ev.size:
                fv = fn(b[active[ev]], active[ev])
                f_new[ev] = fv
                ok = np.isfinite(fv) & (fv <= fmin[active[ev]] + gradproj[ev] * steplen[ev] * 1e-4)
                steplen[ev[~ok]] *= 0.2
                acc[np.isin(pend, ev[ok])] = True
            pend = pend[~((count[pend] == p) | acc)]
        fm = fmin[active]
        enough = down & (f_new > -np.inf) & (np.abs(f_new - fm) > reltol * (np.abs(fm) + reltol))
        count[down & ~enough] = p
        fmin[active[down & ~enough]] = f_new[down & ~enough]
        progress = down & (count < p)
        pa = active[progress]
        if pa.size:
            fmin[pa] = f_new[progress]
            g[pa] = obj.take(pa).gradient(b[pa])
            gradcount[pa] += 1
            iters[pa] += 1
            tt = steplen[progress, None] * t[progress]
            cc = g[pa] - ca[progress]
            d1 = (tt * cc).sum(axis=1)
            upd = d1 > 0
            hx = np.einsum("gij,gj->gi", hinv[pa], cc)
            d2 = 1.0 + (hx * cc).sum(axis=1) / np.where(upd, d1, 1.0)
            delta_h = (d2[:, None, None] * tt[:, :, None] * tt[:, None, :]
                       - hx[:, :, None] * tt[:, None, :] - tt[:, :, None] * hx[:, None, :])
            hinv[pa[upd]] += delta_h[upd] / d1[upd, None, None]
            ilast[pa[~upd]] = gradcount[pa[~upd]]
        stuck = down & ~progress
        rs = active[stuck & (ilast[active] < gradcount[active])]
        count[np.isin(active, rs)] = 0
        ilast[rs] = gradcount[rs]
        up = active[~down]
        cup = np.where(ilast[up] == gradcount[up], p, 0)
        count[~down] = cup
        ilast[up] = gradcount[up]
        periodic = gradcount[active] - ilast[active] > 2 * p
        ilast[active[periodic]] = gradcount[active[periodic]]
        finished = (iters[active] >= max_iter) | ((count == p) & (ilast[active] == gradcount[active]))
        active = active[~finished]
    return b


def _optimhess(obj: _NegLogPost, beta: np.ndarray, *,
               ndeps: float = 1e-3) -> np.ndarray:
    """R's ``optimHess``: central differences of the gradient, then symmetrised."""
    n, p = beta.shape
    hess = np.empty((n, p, p))
    for i in range(p):  # loop over coefficients, vectorised over genes
        up, down = beta.copy(), beta.copy()
        up[:, i] += ndeps
        down[:, i] -= ndeps
        hess[:, i, :] = (obj.gradient(up) - obj.gradient(down)) / (2.0 * ndeps)
    return 0.5 * (hess + np.swapaxes(hess, 1, 2))


def _posterior_variances(hess: np.ndarray) -> np.ndarray:
    """Diagonal of the inverse Hessian per gene; NaN where it cannot be inverted."""
    out = np.full(hess.shape[:2], np.nan)
    ok = np.all(np.isfinite(hess), axis=(1, 2))
    ok[ok] = np.abs(np.linalg.det(hess[ok])) > 0
    if ok.any():
        out[ok] = np.diagonal(np.linalg.inv(hess[ok]), axis1=1, axis2=2)
    return out


def nb_posterior_mode(counts: np.ndarray, *, design: np.ndarray, offset: np.ndarray,
                      dispersions: np.ndarray, coef: int, prior_scale: float,
                      weights: np.ndarray | None = None,
                      no_shrink_scale: float = 15.0, n_jobs: int = 1) -> PosteriorMode:
    """Posterior modes and SDs as apeglm's ``method="nbinomCR"`` finds them, all genes at once.

    Parameters
    ----------
    counts
        Counts, samples x genes; every gene must have a positive count.
    design
        Design matrix (n_samples, p).
    offset
        Natural-log offsets: (n_samples,) (log size factors) or (n_samples, n_genes).
    dispersions
        NB dispersions (n_genes,), positive.
    coef
        0-based column of the coefficient with the Cauchy prior.
    prior_scale
        The Cauchy scale *S* (natural log).
    weights
        Observation weights, samples x genes; default all 1.
    no_shrink_scale
        SD of the normal prior on the other coefficients (apeglm: 15).
    n_jobs
        With 2 or more (on Linux), apeglm's two L-BFGS starts run in two forked processes
        instead of two threads; the numbers are the same.

    Returns
    -------
    PosteriorMode
        Modes, SDs, apeglm's convergence flag and which genes were refitted.

    Examples
    --------
    >>> x = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    >>> counts = np.array([[10, 0], [12, 1], [40, 0], [35, 9]])
    >>> mode = nb_posterior_mode(counts, design=x, offset=np.zeros(4),
    ...                          dispersions=np.array([0.1, 0.5]), coef=1, prior_scale=0.5)
    >>> (mode.beta[:, 1] / np.log(2)).round(3), mode.converged
    (array([1.401, 0.348]), array([ True,  True]))
    """
    x = np.asarray(design, dtype=np.float64)
    y = np.ascontiguousarray(np.asarray(counts, dtype=np.float64).T)
    n_genes, p = y.shape[0], x.shape[1]
    off = np.asarray(offset, dtype=np.float64)
    off = off[None, :] if off.ndim == 1 else np.ascontiguousarray(off.T)
    w = None if weights is None else np.ascontiguousarray(np.asarray(weights, dtype=np.float64).T)
    obj = _NegLogPost(x, y, off, w, 1.0 / np.asarray(dispersions, dtype=np.float64), coef,
                      prior_scale**2, no_shrink_scale**2)
    with one_blas_thread():
        return _posterior_mode(obj, n_genes, p, n_jobs=n_jobs)


def _posterior_mode(obj: _NegLogPost, n_genes: int, p: int, *, n_jobs: int) -> PosteriorMode:
    cnst = np.maximum(obj.value(np.zeros((n_genes, p))), 1.0)
    start = np.resize(np.array([0.1, -0.1]), p)
    # the two starts are independent runs on read-only inputs, each with the arithmetic of a
    # lone run: in two forked processes when there are cores for them (on airway 0.60 s ->
    # 0.4 s), else the second on a thread (NumPy releases the GIL in its loops)
    if n_jobs > 1 and can_fork():
        (beta, status), (beta2, _) = run_forked(
            [functools.partial(_lbfgs, obj, start, cnst),
             functools.partial(_lbfgs, obj, -start, cnst)], n_jobs=2)
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(_lbfgs, obj, -start, cnst)
            beta, status = _lbfgs(obj, start, cnst)
            beta2, _ = second.result()
    converged = (status == 0) & ~(np.abs(beta - beta2).max(axis=1) > 0.01)
    var = np.full((n_genes, p), np.nan)
    conv_rows = np.flatnonzero(converged)
    var[conv_rows] = _posterior_variances(_optimhess(obj.take(conv_rows), beta[conv_rows]))
    refit = ~converged | np.any(~(var > 0), axis=1)
    if refit.any():
        sub = np.flatnonzero(refit)
        part = obj.take(sub)
        beta[sub] = _vmmin(part, beta[sub])
        var[sub] = _posterior_variances(_optimhess(part, beta[sub]))
    var[~(var > 0)] = np.nan
    return PosteriorMode(beta=beta, sd=np.sqrt(var), converged=converged, refit=refit)
