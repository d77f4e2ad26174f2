"""Dispersion estimation of DESeq2 1.38 (``estimateDispersions``), vectorised across genes.

This module owns the three steps of Love, Huber & Anders (2014), Genome Biology 15:550,
"Methods: Dispersion estimation", with the details of DESeq2 1.38.3's R and C++ code:

1. **Gene-wise estimates** (``estimateDispersionsGeneEst``). A rough start
   :math:`\\alpha^0_i = \\min(\\alpha^{rough}_i, \\alpha^{mom}_i)`, clipped to
   :math:`[10^{-8}, \\max(10, m)]`: ``roughDispEstimate`` compares normalised counts with
   their least-squares fit, :math:`\\sum_j ((y_{ij} - \\hat y_{ij})^2 - \\hat y_{ij}) /
   \\hat y_{ij}^2 / (m - p)` with :math:`\\hat y \\ge 1`; ``momentsDispEstimate`` is
   :math:`(v_i - \\bar{(1/s)}\\,\\bar\\mu_i) / \\bar\\mu_i^2`. Fitted means come from a
   linear model on the normalised counts when the design has as many distinct rows
   (groups) as coefficients (``linearModelMu``), otherwise from the NB GLM fitted with
   :math:`\\alpha^0` (:func:`heatseq.de.glm.fit_nb_glm`); means are floored at 0.5. The
   Cox-Reid adjusted profile likelihood is then maximised over :math:`\\log\\alpha` by
   DESeq2's line search; a move that does not raise the likelihood by a millionth is
   undone, and genes that did not converge (or stopped after one iteration) are refitted
   on a grid. Means, variances, the start and the linear-model means are computed in R's
   order of operations (long double ``rowMeans``, LINPACK QR, reference-BLAS sums), so that
   they equal R's to the last bit: where the likelihood is flat the line search's path
   turns on such bits (see :mod:`heatseq.de._fitdisp`).
2. **Trend** (``estimateDispersionsFit``): see :mod:`heatseq.de.dispersion_trend`.
3. **MAP** (``estimateDispersionsMAP``). The prior on :math:`\\log\\alpha_i` is normal with
   mean :math:`\\log\\alpha_{tr}(\\bar\\mu_i)` and variance
   :math:`\\sigma_d^2 = \\max(s_{lr}^2 - \\psi_1((m-p)/2), 0.25)` where
   :math:`s_{lr}` is the MAD of the log residuals of genes with estimates
   :math:`\\ge 100\\cdot` ``min_disp`` (``varLogDispEsts``). When :math:`1 \\le m - p \\le 3`
   DESeq2 instead matches a simulated distribution (:mod:`heatseq.de._rsim`). The
   posterior is maximised by the same line search, started at the gene-wise
   estimate unless it is more than ten times below the trend. Genes whose log gene-wise
   estimate lies more than two ``varLogDispEsts`` standard deviations above the trend keep
   their gene-wise value (``dispOutlier``).

Counts are samples x genes (as :attr:`heatseq.Dataset.counts`); all per-gene outputs have
one entry per gene, NaN for genes whose counts are all zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import polygamma

from heatseq.de._fitdisp import LineSearchResult, fit_disp, fit_disp_grid
from heatseq.de._rmath import householder_qr, r_mean, seq_matmul, sum_in_order
from heatseq.de._rsim import simulated_prior_variance
from heatseq.de.dispersion_trend import (
    FIT_TYPES,
    DispersionTrend,
    FitType,
    fit_dispersion_trend,
)
from heatseq.de.glm import fit_nb_glm
from heatseq.de.sizefactors import _as_counts
from heatseq.errors import DesignError, InputError

__all__ = [
    "Dispersions",
    "GeneWiseDispersions",
    "GeneWiseStart",
    "MAPDispersions",
    "dispersion_function",
    "dispersion_prior_variance",
    "dispersions_from_gene_wise",
    "estimate_dispersions",
    "fit_dispersion_trend",
    "gene_wise_dispersions",
    "gene_wise_start",
    "map_dispersions",
]

log = logging.getLogger(__name__)

MIN_MU = 0.5
PRIOR_VAR_FLOOR = 0.25


@dataclass(frozen=True)
class GeneWiseDispersions:
    """Gene-wise dispersion estimates (DESeq2's ``estimateDispersionsGeneEst``).

    Attributes
    ----------
    base_mean, base_var
        Mean and variance (n - 1 denominator) of the normalised counts, per gene.
    all_zero
        Genes whose counts are all zero (NaN in the other outputs).
    disp_gene_est
        Gene-wise estimates, bounded to ``[min_disp, max(10, n_samples)]``.
    disp_gene_iter
        Line-search iterations per gene.
    mu
        Fitted means used (samples x genes, floored at 0.5; NaN for all-zero genes).
    linear_mu
        Whether the means came from the linear model (else the NB GLM).
    """

    base_mean: np.ndarray
    base_var: np.ndarray
    all_zero: np.ndarray
    disp_gene_est: np.ndarray
    disp_gene_iter: np.ndarray
    mu: np.ndarray
    linear_mu: bool


@dataclass(frozen=True)
class MAPDispersions:
    """Maximum a posteriori dispersions and the final choice (``estimateDispersionsMAP``)."""

    disp_map: np.ndarray
    dispersion: np.ndarray
    disp_outlier: np.ndarray
    disp_iter: np.ndarray


@dataclass(frozen=True)
class Dispersions:
    """Everything DESeq2's ``estimateDispersions`` stores, one entry per gene.

    Attributes
    ----------
    base_mean, base_var, all_zero
        Mean and variance of normalised counts; genes with only zero counts.
    disp_gene_est, disp_gene_iter
        Gene-wise estimates and their line-search iterations.
    disp_fit
        The trend evaluated at ``base_mean``.
    dispersion
        Final dispersions: ``disp_map``, or ``disp_gene_est`` for dispersion outliers.
    disp_map, disp_outlier, disp_map_iter
        MAP estimates, outlier flags, MAP line-search iterations.
    fit_type
        The trend used after any fallback.
    trend_coefficients
        ``(asymptDisp, extraPois)`` for a parametric trend, else None.
    disp_prior_var, var_log_disp_ests
        Prior variance of log dispersions and the MAD-squared of the log residuals.
    trend
        The fitted trend (callable on means).
    notes
        What fell back and why.
    """

    base_mean: np.ndarray
    base_var: np.ndarray
    all_zero: np.ndarray
    disp_gene_est: np.ndarray
    disp_gene_iter: np.ndarray
    disp_fit: np.ndarray
    dispersion: np.ndarray
    disp_map: np.ndarray
    disp_outlier: np.ndarray
    disp_map_iter: np.ndarray
    fit_type: str
    trend_coefficients: tuple[float, float] | None
    disp_prior_var: float
    var_log_disp_ests: float
    trend: DispersionTrend
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- inputs
def _design_array(design: object, n_samples: int) -> np.ndarray:
    """The design as a float (n_samples, p) array; accepts arrays, DataFrames, ``Design``."""
    mat = getattr(design, "matrix", design)
    x = np.asarray(mat, dtype=np.float64)
    if x.ndim != 2:
        raise DesignError(f"The design matrix must be 2-D (samples x coefficients); got "
                          f"{x.ndim} dimension(s).")
    if x.shape[0] != n_samples:
        raise DesignError(f"The design matrix has {x.shape[0]} rows but the counts have "
                          f"{n_samples} samples; give one design row per sample.")
    if not np.all(np.isfinite(x)):
        raise DesignError("The design matrix contains NaN or infinite values.")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        if np.any(np.all(x == 0, axis=0)):
            raise DesignError(
                "The design matrix is not full rank: levels or combinations of levels without "
                "any samples gave column(s) of zeros; drop unused levels from the sample table.")
        raise DesignError(
            "The design matrix is not full rank: one or more variables or interaction terms "
            "are linear combinations of the others and must be removed from the design.")
    if x.shape[0] == x.shape[1]:
        raise DesignError(
            "The number of samples equals the number of model coefficients, so there are no "
            "replicates to estimate the dispersion; use a design with fewer terms.")
    return x


def _factors(counts: np.ndarray, size_factors: np.ndarray | None,
             normalization_factors: np.ndarray | None) -> np.ndarray:
    """Size or normalisation factors broadcast to (n_samples, n_genes)."""
    if (size_factors is None) == (normalization_factors is None):
        raise InputError("Give exactly one of size_factors or normalization_factors.")
    if normalization_factors is not None:
        nf = np.asarray(normalization_factors, dtype=np.float64)
        if nf.shape != counts.shape:
            raise InputError(f"normalization_factors have shape {nf.shape} but counts have "
                             f"shape {counts.shape}; give samples x genes factors.")
    else:
        sf = np.asarray(size_factors, dtype=np.float64)
        if sf.shape != (counts.shape[0],):
            raise InputError(f"{sf.size} size factors were given for {counts.shape[0]} samples; "
                             "give one per sample.")
        nf = np.broadcast_to(sf[:, None], counts.shape)
    if not np.all(np.isfinite(nf)) or np.any(nf <= 0):
        raise InputError("Size or normalisation factors must be positive and finite.")
    return nf


def _check_option(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(f"{name}={value!r} is not valid; choose one of {', '.join(valid)}.")


# --------------------------------------------------------------------------- step 1
def _linear_model_mu(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares fitted values of every column of ``y`` (samples x genes) on ``x``.

    As DESeq2's ``linearModelMu``, ``(y' Q)(x R^-1)'`` with R's QR and the reference BLAS's
    summation order, so that the fitted means agree with R's to the last bit: the
    gene-wise line search can take a different path on a last-bit difference when the
    likelihood is flat.
    """
    qr = householder_qr(x)
    if qr is None:
        q, _ = np.linalg.qr(x)
        return q @ (q.T @ y)
    q, r = qr
    p = r.shape[0]
    rinv = np.eye(p)  # solve(R): back substitution as LAPACK's dtrsm
    for j in range(p):
        for k in range(p - 1, -1, -1):
            if rinv[k, j] != 0:
                rinv[k, j] /= r[k, k]
                for i in range(k):
                    rinv[i, j] -= rinv[k, j] * r[i, k]
    x_rinv = seq_matmul(np.asarray(x, dtype=np.float64), rinv)  # (m, p)
    yq = seq_matmul(q.T, y)  # (p, G): sum over samples in order
    return seq_matmul(x_rinv, yq)  # (m, G): sum over coefficients in order


def _n_groups(x: np.ndarray) -> int:
    return int(np.unique(x, axis=0).shape[0])


def gene_wise_dispersions(counts: np.ndarray, *, design: object,
                          size_factors: np.ndarray | None = None,
                          normalization_factors: np.ndarray | None = None,
                          min_disp: float = 1e-8, kappa_0: float = 1.0, disp_tol: float = 1e-6,
                          maxit: int = 100, linear_mu: bool | None = None,
                          min_mu: float = MIN_MU) -> GeneWiseDispersions:
    """Gene-wise Cox-Reid dispersion estimates (DESeq2's ``estimateDispersionsGeneEst``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    design
        Design matrix, samples x coefficients (array, DataFrame or ``Design``).
    size_factors, normalization_factors
        One of: size factors (n_samples,) or normalisation factors (samples x genes).
    min_disp, kappa_0, disp_tol, maxit
        DESeq2's ``minDisp``, ``kappa_0``, ``dispTol`` and ``maxit``.
    linear_mu
        Force (True) or forbid (False) fitted means from the linear model; by default it
        is used when the design's distinct rows are as many as its columns.
    min_mu
        Lower bound of the fitted means (DESeq2: 0.5).

    Returns
    -------
    GeneWiseDispersions
    """
    start = gene_wise_start(counts, design=design, size_factors=size_factors,
                            normalization_factors=normalization_factors, min_disp=min_disp,
                            linear_mu=linear_mu, min_mu=min_mu)
    res = start.line_search(kappa_0=kappa_0, disp_tol=disp_tol, maxit=maxit)
    return start.finish(res, maxit=maxit)


@dataclass(frozen=True)
class GeneWiseStart:
    """The gene-wise step up to its line search: moments, starting values and fitted means.

    :func:`gene_wise_dispersions` is ``start.finish(start.line_search())``. The line search
    treats every gene on its own, to the last bit (:mod:`heatseq.de._fitdisp`), so starts
    of gene blocks can be concatenated (:meth:`concat`) and searched in pieces of any size,
    which :func:`heatseq.deseq` does to run it on all genes at once or in parallel.

    Attributes
    ----------
    base_mean, base_var, all_zero
        As :class:`GeneWiseDispersions`, for all genes.
    y, mu
        Counts and fitted means (floored at ``min_mu``) of the genes with counts,
        samples x genes.
    alpha_init
        The line search's starting dispersions, genes with counts.
    x
        The design matrix.
    min_disp
        DESeq2's ``minDisp``.
    linear_mu
        Whether the means came from the linear model.
    """

    base_mean: np.ndarray
    base_var: np.ndarray
    all_zero: np.ndarray
    y: np.ndarray
    mu: np.ndarray
    alpha_init: np.ndarray
    x: np.ndarray
    min_disp: float
    linear_mu: bool

    @staticmethod
    def concat(parts: list[GeneWiseStart]) -> GeneWiseStart:
        """The starts of consecutive gene blocks as one (genes in order)."""
        first = parts[0]
        if len(parts) == 1:
            return first
        return GeneWiseStart(
            base_mean=np.concatenate([p.base_mean for p in parts]),
            base_var=np.concatenate([p.base_var for p in parts]),
            all_zero=np.concatenate([p.all_zero for p in parts]),
            y=np.concatenate([p.y for p in parts], axis=1),
            mu=np.concatenate([p.mu for p in parts], axis=1),
            alpha_init=np.concatenate([p.alpha_init for p in parts]),
            x=first.x, min_disp=first.min_disp, linear_mu=first.linear_mu)

    def piece(self, genes: slice) -> GeneWiseStart:
        """The line-search inputs of a slice of the genes with counts (a contiguous copy);
        the moments are left out (:meth:`finish` is called on the whole start)."""
        empty = np.zeros(0)
        return GeneWiseStart(base_mean=empty, base_var=empty, all_zero=np.zeros(0, bool),
                             y=np.ascontiguousarray(self.y[:, genes]),
                             mu=np.ascontiguousarray(self.mu[:, genes]),
                             alpha_init=np.ascontiguousarray(self.alpha_init[genes]),
                             x=self.x, min_disp=self.min_disp, linear_mu=self.linear_mu)

    def line_search(self, *, kappa_0: float = 1.0, disp_tol: float = 1e-6,
                    maxit: int = 100) -> LineSearchResult:
        """DESeq2's ``fitDisp`` from the starting values, for the genes with counts."""
        return fit_disp(self.y, self.mu, self.x, log_alpha=np.log(self.alpha_init),
                        prior_mean=None, prior_var=1.0,
                        min_log_alpha=np.log(self.min_disp / 10), kappa_0=kappa_0,
                        tol=disp_tol, maxit=maxit)

    def finish(self, res: LineSearchResult, *, maxit: int = 100) -> GeneWiseDispersions:
        """The estimates from the line search ``res`` (all genes with counts): DESeq2's
        checks, the grid search for genes that did not converge, and the bounds."""
        m = self.x.shape[0]
        max_disp = max(10.0, float(m))
        est = np.minimum(np.exp(res.log_alpha), max_disp)
        no_increase = res.last_lp < res.initial_lp + np.abs(res.initial_lp) / 1e6
        est = np.where(no_increase, self.alpha_init, est)
        converged = (res.iter < maxit) & (res.iter != 1)
        refit = ~converged & (est > self.min_disp * 10)
        if refit.any():
            est[refit] = fit_disp_grid(self.y[:, refit], self.mu[:, refit], self.x,
                                       prior_mean=None, prior_var=1.0, n_samples=m)
        est = np.minimum(np.maximum(est, self.min_disp), max_disp)

        nz = ~self.all_zero
        n_genes = self.all_zero.shape[0]
        disp_gene_est = np.full(n_genes, np.nan)
        disp_gene_est[nz] = est
        disp_iter = np.full(n_genes, np.nan)
        disp_iter[nz] = res.iter
        mu_full = np.full((m, n_genes), np.nan)
        mu_full[:, nz] = self.mu
        return GeneWiseDispersions(base_mean=self.base_mean, base_var=self.base_var,
                                   all_zero=self.all_zero, disp_gene_est=disp_gene_est,
                                   disp_gene_iter=disp_iter, mu=mu_full,
                                   linear_mu=self.linear_mu)


def gene_wise_start(counts: np.ndarray, *, design: object,
                    size_factors: np.ndarray | None = None,
                    normalization_factors: np.ndarray | None = None, min_disp: float = 1e-8,
                    linear_mu: bool | None = None, min_mu: float = MIN_MU) -> GeneWiseStart:
    """The gene-wise step before its line search (see :func:`gene_wise_dispersions` for
    the parameters): moments, DESeq2's rough and moment starting values, fitted means."""
    k = _as_counts(counts)
    x = _design_array(design, k.shape[0])
    nf = _factors(k, size_factors, normalization_factors)
    if np.log(min_disp / 10) <= -30:
        raise InputError("min_disp is too small: log(min_disp / 10) must be above -30.")
    m, p = x.shape
    if not np.any(k > 0):
        raise InputError("Every gene has zero counts in every sample; there is nothing to "
                         "estimate dispersions from.")
    norm = k / nf
    # R's rowMeans accumulates in long double; matrixStats' rowVars in double
    base_mean = (sum_in_order(norm, np.longdouble) / m).astype(np.float64)
    if m > 1:
        dev = norm - sum_in_order(norm, np.float64) / m
        base_var = sum_in_order(dev * dev, np.float64) / (m - 1)
    else:
        base_var = np.full(k.shape[1], np.nan)
    all_zero = k.sum(axis=0) == 0
    nz = ~all_zero
    y_nz, norm_nz, nf_nz = k[:, nz], norm[:, nz], nf[:, nz]
    bm, bv = base_mean[nz], base_var[nz]

    # rough starting values
    lin_mu = _linear_model_mu(norm_nz, x)
    fitted = np.maximum(1.0, lin_mu)
    resid = norm_nz - fitted
    rough_sum = sum_in_order((resid * resid - fitted) / (fitted * fitted), np.longdouble)
    rough = np.maximum(rough_sum.astype(np.float64) / (m - p), 0)
    if normalization_factors is not None:  # colMeans (long double) over the genes used
        nf_mean = nf_nz.sum(axis=1, dtype=np.longdouble) / nf_nz.shape[1]
        xim = r_mean(1.0 / nf_mean.astype(np.float64))
    else:
        xim = r_mean(1.0 / nf[:, 0])
    moments = (bv - xim * bm) / (bm * bm)
    max_disp = max(10.0, float(m))
    alpha_init = np.minimum(np.maximum(min_disp, np.minimum(rough, moments)), max_disp)

    if linear_mu is None:
        linear_mu = _n_groups(x) == p
    if linear_mu:
        mu = lin_mu * nf_nz
    else:
        if normalization_factors is not None:
            fit = fit_nb_glm(y_nz, design=x, normalization_factors=nf_nz,
                             dispersions=alpha_init)
        else:
            fit = fit_nb_glm(y_nz, design=x, size_factors=nf[:, 0], dispersions=alpha_init)
        mu = np.array(fit.mu, dtype=np.float64)
    mu = np.maximum(mu, min_mu)
    return GeneWiseStart(base_mean=base_mean, base_var=base_var, all_zero=all_zero,
                         y=np.ascontiguousarray(y_nz), mu=np.ascontiguousarray(mu),
                         alpha_init=alpha_init, x=x, min_disp=float(min_disp),
                         linear_mu=bool(linear_mu))


# --------------------------------------------------------------------------- step 3
def _mad(x: np.ndarray) -> float:
    """R's ``mad``: 1.4826 times the median absolute deviation from the median."""
    med = np.median(x)
    return float(1.4826 * np.median(np.abs(x - med)))


def dispersion_prior_variance(disp_gene_est: np.ndarray, disp_fit: np.ndarray, *,
                              n_samples: int, n_coefs: int,
                              min_disp: float = 1e-8) -> tuple[float, float]:
    """Prior variance of log dispersions (``estimateDispersionsPriorVar``).

    Parameters
    ----------
    disp_gene_est, disp_fit
        Gene-wise estimates and the trend at each gene (NaN for all-zero genes).
    n_samples, n_coefs
        Rows and columns of the design (m and p).
    min_disp
        Genes with estimates below ``100 * min_disp`` are left out.

    Returns
    -------
    tuple of float
        ``(dispPriorVar, varLogDispEsts)``.

    Raises
    ------
    InputError
        If no gene-wise estimate is at least ``100 * min_disp``.
    """
    de = np.asarray(disp_gene_est, dtype=np.float64)
    df = np.asarray(disp_fit, dtype=np.float64)
    known = np.isfinite(de)
    above = known & (de >= min_disp * 100)
    if not above.any():
        raise InputError("No gene-wise dispersion estimate is above 100 * min_disp; the prior "
                         "variance of the dispersions cannot be estimated.")
    residuals = np.log(de[above]) - np.log(df[above])
    var_log = _mad(residuals) ** 2
    m, p = n_samples, n_coefs
    if m - p <= 3 and m > p:
        return max(simulated_prior_variance(residuals, df=m - p), PRIOR_VAR_FLOOR), var_log
    if m > p:
        return max(var_log - float(polygamma(1, (m - p) / 2)), PRIOR_VAR_FLOOR), var_log
    return var_log, var_log


def map_dispersions(counts: np.ndarray, *, design: object, mu: np.ndarray,
                    disp_gene_est: np.ndarray, disp_fit: np.ndarray, disp_prior_var: float,
                    var_log_disp_ests: float, min_disp: float = 1e-8, kappa_0: float = 1.0,
                    disp_tol: float = 1e-6, maxit: int = 100,
                    outlier_sd: float = 2.0) -> MAPDispersions:
    """MAP dispersions under the log-normal prior (DESeq2's ``estimateDispersionsMAP``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    design
        Design matrix, samples x coefficients.
    mu
        Fitted means from :func:`gene_wise_dispersions` (samples x genes).
    disp_gene_est, disp_fit
        Gene-wise estimates and trend values (NaN for all-zero genes).
    disp_prior_var, var_log_disp_ests
        From :func:`dispersion_prior_variance`.
    min_disp, kappa_0, disp_tol, maxit
        As DESeq2.
    outlier_sd
        Gene-wise estimates this many ``sqrt(var_log_disp_ests)`` above the trend (on the
        log scale) are kept as final dispersions.

    Returns
    -------
    MAPDispersions
    """
    k = _as_counts(counts)
    x = _design_array(design, k.shape[0])
    m = k.shape[0]
    de = np.asarray(disp_gene_est, dtype=np.float64)
    dfit = np.asarray(disp_fit, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    if mu.shape != k.shape or de.shape != (k.shape[1],) or dfit.shape != (k.shape[1],):
        raise InputError(
            f"map_dispersions needs mu shaped like the counts {k.shape} and one gene-wise and "
            f"one fitted dispersion per gene; got mu {mu.shape}, disp_gene_est {de.shape}, "
            f"disp_fit {dfit.shape}.")
    nz = k.sum(axis=0) > 0
    n_genes = k.shape[1]
    out = {name: np.full(n_genes, np.nan) for name in ("map", "final", "iter")}
    outlier = np.zeros(n_genes, dtype=bool)
    if not nz.any():
        return MAPDispersions(out["map"], out["final"], outlier, out["iter"])
    de_nz, fit_nz = de[nz], dfit[nz]
    init = np.where(de_nz > 0.1 * fit_nz, de_nz, fit_nz)
    init = np.where(np.isnan(init), fit_nz, init)
    y_nz = k[:, nz]
    mu_nz = mu[:, nz]
    res = fit_disp(y_nz, mu_nz, x, log_alpha=np.log(init), prior_mean=np.log(fit_nz),
                   prior_var=disp_prior_var, min_log_alpha=np.log(min_disp / 10),
                   kappa_0=kappa_0, tol=disp_tol, maxit=maxit)
    disp_map = np.exp(res.log_alpha)
    refit = res.iter >= maxit
    if refit.any():
        disp_map[refit] = fit_disp_grid(y_nz[:, refit], mu_nz[:, refit], x,
                                        prior_mean=np.log(fit_nz[refit]),
                                        prior_var=disp_prior_var, n_samples=m)
    max_disp = max(10.0, float(m))
    disp_map = np.minimum(np.maximum(disp_map, min_disp), max_disp)
    with np.errstate(invalid="ignore"):
        is_out = np.log(de_nz) > np.log(fit_nz) + outlier_sd * np.sqrt(var_log_disp_ests)
    is_out = np.where(np.isnan(is_out), False, is_out)
    final = np.where(is_out, de_nz, disp_map)
    out["map"][nz] = disp_map
    out["final"][nz] = final
    out["iter"][nz] = res.iter
    outlier[nz] = is_out
    return MAPDispersions(disp_map=out["map"], dispersion=out["final"], disp_outlier=outlier,
                          disp_iter=out["iter"])


# --------------------------------------------------------------------------- all steps
def estimate_dispersions(counts: np.ndarray, *, design: object, size_factors: np.ndarray,
                         fit_type: FitType = "parametric", min_disp: float = 1e-8,
                         kappa_0: float = 1.0, disp_tol: float = 1e-6,
                         maxit: int = 100) -> Dispersions:
    """DESeq2's ``estimateDispersions``: gene-wise estimates, trend and MAP shrinkage.

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    design
        Design matrix, samples x coefficients (array, DataFrame or ``Design``).
    size_factors
        Size factors (n_samples,) or normalisation factors (samples x genes).
    fit_type
        Dispersion trend: ``"parametric"`` (falls back to ``"local"`` as DESeq2 does),
        ``"local"`` or ``"mean"``.
    min_disp, kappa_0, disp_tol, maxit
        DESeq2's ``minDisp``, ``kappa_0``, ``dispTol``, ``maxit``.

    Returns
    -------
    Dispersions

    Raises
    ------
    InputError
        On an invalid ``fit_type`` or unusable inputs.
    DesignError
        If the design is not full rank or leaves no residual degrees of freedom.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> mu = np.exp(rng.uniform(1, 7, 500))
    >>> disp = 0.05 + 1 / mu
    >>> counts = rng.negative_binomial(1 / disp, 1 / (1 + disp * mu), size=(6, 500))
    >>> design = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> d = estimate_dispersions(counts, design=design, size_factors=np.ones(6))
    >>> d.fit_type, [round(c, 2) for c in d.trend_coefficients]
    ('parametric', [0.05, 1.98])
    """
    _check_option("fit_type", fit_type, FIT_TYPES)
    k = _as_counts(counts)
    sf = np.asarray(size_factors, dtype=np.float64)
    factors = {"size_factors": sf} if sf.ndim == 1 else {"normalization_factors": sf}
    gw = gene_wise_dispersions(k, design=design, min_disp=min_disp, kappa_0=kappa_0,
                               disp_tol=disp_tol, maxit=maxit, **factors)
    return dispersions_from_gene_wise(k, design=design, gene_wise=gw, fit_type=fit_type,
                                      min_disp=min_disp, kappa_0=kappa_0, disp_tol=disp_tol,
                                      maxit=maxit)


MapRunner = Callable[[np.ndarray, float, float], MAPDispersions]


def dispersions_from_gene_wise(counts: np.ndarray, *, design: object,
                               gene_wise: GeneWiseDispersions, fit_type: FitType = "parametric",
                               min_disp: float = 1e-8, kappa_0: float = 1.0,
                               disp_tol: float = 1e-6, maxit: int = 100,
                               map_runner: MapRunner | None = None) -> Dispersions:
    """The trend, prior variance and MAP steps after the gene-wise estimates.

    ``map_runner(disp_fit, disp_prior_var, var_log_disp_ests)`` runs the (gene-wise) MAP
    step; by default :func:`map_dispersions` on all genes at once. :func:`heatseq.de.deseq`
    passes one that runs it on gene blocks, locally or on a Dask cluster.
    """
    _check_option("fit_type", fit_type, FIT_TYPES)
    k = _as_counts(counts)
    gw = gene_wise
    x = _design_array(design, k.shape[0])
    trend = fit_dispersion_trend(gw.base_mean, gw.disp_gene_est, fit_type=fit_type,
                                 min_disp=min_disp)
    disp_fit = np.where(gw.all_zero, np.nan, trend(np.where(gw.all_zero, 1.0, gw.base_mean)))
    prior_var, var_log = dispersion_prior_variance(gw.disp_gene_est, disp_fit,
                                                   n_samples=x.shape[0], n_coefs=x.shape[1],
                                                   min_disp=min_disp)
    if map_runner is None:
        mp = map_dispersions(k, design=x, mu=gw.mu, disp_gene_est=gw.disp_gene_est,
                             disp_fit=disp_fit, disp_prior_var=prior_var,
                             var_log_disp_ests=var_log, min_disp=min_disp, kappa_0=kappa_0,
                             disp_tol=disp_tol, maxit=maxit)
    else:
        mp = map_runner(disp_fit, float(prior_var), float(var_log))
    return Dispersions(
        base_mean=gw.base_mean, base_var=gw.base_var, all_zero=gw.all_zero,
        disp_gene_est=gw.disp_gene_est, disp_gene_iter=gw.disp_gene_iter, disp_fit=disp_fit,
        dispersion=mp.dispersion, disp_map=mp.disp_map, disp_outlier=mp.disp_outlier,
        disp_map_iter=mp.disp_iter, fit_type=trend.fit_type,
        trend_coefficients=trend.coefficients, disp_prior_var=float(prior_var),
        var_log_disp_ests=float(var_log), trend=trend, notes=tuple(trend.notes))


def dispersion_function(d: Dispersions) -> DispersionTrend:
    """The fitted trend of ``d`` as a callable ``means -> fitted dispersions``.

    Parametric: ``asymptDisp + extraPois / mean``; local: the locfit curve; mean: a
    constant (DESeq2's ``dispersionFunction``; the VST uses it).
    """
    return d.trend

