"""Shrunken log2 fold changes: DESeq2 1.38's ``lfcShrink`` with ``type="apeglm"`` or ``"normal"``.

This module owns the two shrinkage estimators and their priors; the numerical core of apeglm is
in :mod:`heatseq.de.apeglm`.

``apeglm`` (Zhu, Ibrahim & Love 2019, Bioinformatics 35:2084). As ``lfcShrink`` calls it: the
counts, the design matrix, offsets ``log(sizeFactors)`` (or ``log(normalizationFactors)``), the
final dispersions, and ``mle = log(2) * cbind(log2FoldChange, lfcSE)`` of the coefficient, from
which the Cauchy prior's scale is adapted (see :func:`heatseq.de.apeglm.apeglm_prior_variance`).
The shrunken LFC is the posterior mode of the coefficient and ``lfcSE`` its posterior SD
(Laplace approximation), both divided by ``log(2)``. The mode is found with apeglm's own
optimiser, stopping rules included, so the values match R's to about 1e-6 (a Cauchy prior can
make the posterior bimodal; then only the same optimiser path lands in the same mode). Genes
whose counts are all zero get NaN.

``normal`` (Love, Huber & Anders 2014, Genome Biology 15:550, "Empirical Bayes shrinkage for
fold change estimation", eq. 6-7 and DESeq2's ``estimateBetaPriorVar``). For every coefficient
*k* the prior variance :math:`\\sigma_k^2` matches a zero-centred normal to the weighted upper
quantile of the MLEs on the log2 scale:

.. math:: \\sigma_k = \\frac{q_{0.95}^{w}(|\\hat\\beta_{k}|)}{\\Phi^{-1}(1 - 0.05/2)}, \\qquad
          w_g = \\left(\\frac{1}{\\bar\\mu_g} + \\alpha^{tr}_g\\right)^{-1}

(Hmisc's ``wtd.quantile`` with normalised weights; genes with :math:`|\\hat\\beta| \\ge 10` are
left out; the intercept gets :math:`10^6`). The GLM is then refitted with the ridge
:math:`\\lambda_k = 1/\\sigma_k^2` (the standard model matrix, ``lfcShrink(coef=...)``), and the
MAP coefficient and its sandwich SE are the shrunken LFC and ``lfcSE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from heatseq.de.apeglm import apeglm_prior_variance, cauchy_scale, nb_posterior_mode
from heatseq.errors import InputError

__all__ = ["ShrinkResult", "beta_prior_variance", "shrink_apeglm", "shrink_normal"]

LN2 = math.log(2.0)
PriorMethod = Literal["weighted", "quantile"]
PRIOR_METHODS: tuple[str, ...] = ("weighted", "quantile")


@dataclass(frozen=True)
class ShrinkResult:
    """Shrunken log2 fold changes of one coefficient, with the prior that produced them.

    Attributes
    ----------
    method
        ``"apeglm"`` or ``"normal"``.
    coef
        0-based column of the design matrix that was shrunk.
    coef_name
        Its name when the design had column names, else None.
    log2_fold_change
        Shrunken LFC, log2 (n_genes,): DESeq2's ``log2FoldChange``; NaN for all-zero genes.
    lfc_se
        Its posterior SD (apeglm) or sandwich SE (normal), log2 (n_genes,): ``lfcSE``.
    beta
        All coefficients of the shrunken fit, natural log (n_genes, p).
    beta_sd
        Their posterior SDs / SEs, natural log (n_genes, p).
    prior_scale
        Scale of the prior on the coefficient, natural log: the Cauchy scale *S* (apeglm) or
        the normal prior's SD (normal).
    prior_variance
        Per coefficient, natural log (p,): for apeglm the adapted variance *A* at ``coef``
        (apeglm's ``prior.var``; ``S = min(sqrt(A), 1)``) and ``15**2`` elsewhere; for normal
        DESeq2's ``betaPriorVar`` converted from log2 (``* log(2)**2``).
    converged
        apeglm: its ``conv == 0`` (L-BFGS converged and its two starts agree; the other genes
        were refitted with BFGS, as apeglm does, and still have estimates). normal: the
        ridge-penalised GLM converged. False for genes not fitted.
    notes
        What was skipped or fell back, in plain words.
    """

    method: str
    coef: int
    coef_name: str | None
    log2_fold_change: np.ndarray
    lfc_se: np.ndarray
    beta: np.ndarray
    beta_sd: np.ndarray
    prior_scale: float
    prior_variance: np.ndarray
    converged: np.ndarray
    notes: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- input checks


def _design(design: object, n_samples: int) -> tuple[np.ndarray, list[str] | None]:
    matrix = getattr(design, "matrix", design)
    names: list[str] | None = None
    coef_names = getattr(design, "coef_names", None)
    if isinstance(matrix, pd.DataFrame):
        names = [str(c) for c in (coef_names if coef_names is not None else matrix.columns)]
        x = matrix.to_numpy(dtype=np.float64)
    else:
        x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != n_samples:
        raise InputError(f"the design matrix has shape {x.shape}; it needs one row per sample "
                         f"({n_samples}) and one column per coefficient.")
    if not np.all(np.isfinite(x)):
        raise InputError("the design matrix contains NaN or infinite values.")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise InputError("the design matrix is not of full rank (some coefficients cannot be "
                         "estimated); remove redundant terms from the design.")
    return x, names


def _coef_index(coef: int | str, names: list[str] | None, p: int) -> int:
    if isinstance(coef, str):
        if names is None or coef not in names:
            valid = ", ".join(names) if names else "(the design has no column names; give an index)"
            raise InputError(f"coef={coef!r} is not a coefficient of the design; coefficients are: "
                             f"{valid}.")
        return names.index(coef)
    if not isinstance(coef, int | np.integer) or not 0 <= int(coef) < p:
        raise InputError(f"coef={coef!r} is not a column of the {p}-column design matrix; give an "
                         f"index from 0 to {p - 1} or a coefficient name.")
    return int(coef)


def _counts(counts: object) -> np.ndarray:
    k = np.asarray(counts, dtype=np.float64)
    if k.ndim != 2 or 0 in k.shape:
        raise InputError(f"counts must be a non-empty 2-D samples x genes array; got shape {k.shape}.")
    if not np.all(np.isfinite(k)) or np.any(k < 0):
        raise InputError("counts contain negative, NaN or infinite values; give raw counts.")
    return k


def _per_gene(values: object, n_genes: int, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.shape[0] != n_genes:
        raise InputError(f"{what} has {v.shape[0]} values for {n_genes} genes; give one per gene, in "
                         "the order of the counts' genes.")
    return v


def _log_offset(k: np.ndarray, size_factors: object, normalization_factors: object) -> np.ndarray:
    """Natural-log offsets, samples x genes or (n_samples,)."""
    if normalization_factors is not None:
        nf = np.asarray(normalization_factors, dtype=np.float64)
        if nf.shape != k.shape or not np.all(nf > 0) or not np.all(np.isfinite(nf)):
            raise InputError(f"normalization_factors must be positive, finite and shaped like the "
                             f"counts {k.shape}; got shape {nf.shape}.")
        return np.log(nf)
    if size_factors is None:
        raise InputError("give size_factors (one per sample) or normalization_factors "
                         "(samples x genes).")
    sf = np.asarray(size_factors, dtype=np.float64).reshape(-1)
    if sf.shape[0] != k.shape[0] or not np.all(sf > 0) or not np.all(np.isfinite(sf)):
        raise InputError(f"size_factors must be {k.shape[0]} positive finite values, one per sample; "
                         f"got {sf.shape[0]}.")
    return np.log(sf)


# --------------------------------------------------------------------------- apeglm


def shrink_apeglm(counts: np.ndarray, *, design: object, coef: int | str,
                  dispersions: np.ndarray, mle_beta: np.ndarray, mle_se: np.ndarray,
                  size_factors: np.ndarray | None = None,
                  normalization_factors: np.ndarray | None = None,
                  weights: np.ndarray | None = None, no_shrink_scale: float = 15.0,
                  multiplier: float = 1.0, n_jobs: int = 1) -> ShrinkResult:
    """apeglm shrinkage of one coefficient (DESeq2's ``lfcShrink(type="apeglm")``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes (the original counts, as ``counts(dds)``).
    design
        Design matrix (n_samples x p array, DataFrame or :class:`heatseq.de.design.Design`);
        its first column is the intercept.
    coef
        The coefficient to shrink: 0-based column index or name; not the intercept.
    dispersions
        Final NB dispersions (n_genes,); NaN for all-zero genes.
    mle_beta
        MLE coefficients, natural log: (n_genes, p) or just the coefficient's (n_genes,).
    mle_se
        Their standard errors, natural log: (n_genes,) for the coefficient or (n_genes, p).
    size_factors
        One per sample (offsets ``log(size_factors)``).
    normalization_factors
        Samples x genes factors instead of size factors.
    weights
        Observation weights, samples x genes (DESeq2's ``weights`` assay); default 1.
    no_shrink_scale
        SD of the wide normal prior on the other coefficients (apeglm: 15).
    multiplier
        apeglm's ``multiplier`` linking the prior variance to the Cauchy scale.
    n_jobs
        Processes for the optimisation (:func:`heatseq.de.apeglm.nb_posterior_mode`); the
        numbers do not depend on it.

    Returns
    -------
    ShrinkResult
        Shrunken LFC (log2), posterior SD, the Cauchy scale and convergence per gene.

    Raises
    ------
    InputError
        If shapes disagree, ``coef`` is not a non-intercept coefficient, or no MLE is finite.

    Examples
    --------
    >>> from heatseq.de.glm import fit_nb_glm
    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> mu = np.exp(rng.normal(4, 1, 300) + np.outer(x[:, 1], rng.normal(0, 1, 300)))
    >>> counts = rng.negative_binomial(20, 20 / (20 + mu))
    >>> disp, sf = np.full(300, 0.05), np.ones(6)
    >>> mle = fit_nb_glm(counts, design=x, size_factors=sf, dispersions=disp)
    >>> res = shrink_apeglm(counts, design=x, coef=1, size_factors=sf, dispersions=disp,
    ...                     mle_beta=mle.beta, mle_se=mle.beta_se)
    >>> res.log2_fold_change[:3].round(3), (mle.beta[:3, 1] / np.log(2)).round(3)
    (array([1.962, 0.812, 0.721]), array([2.022, 0.873, 0.771]))
    """
    k = _counts(counts)
    n_samples, n_genes = k.shape
    x, names = _design(design, n_samples)
    p = x.shape[1]
    c = _coef_index(coef, names, p)
    if c == 0:
        raise InputError("apeglm shrinks a non-intercept coefficient; coef=0 is the first column "
                         "(the intercept). Give the column of the fold change to shrink.")
    disp = _per_gene(dispersions, n_genes, "dispersions")
    mb = np.asarray(mle_beta, dtype=np.float64)
    ms = np.asarray(mle_se, dtype=np.float64)
    mle_c = _per_gene(mb[:, c] if mb.ndim == 2 else mb, n_genes, "mle_beta")
    se_c = _per_gene(ms[:, c] if ms.ndim == 2 else ms, n_genes, "mle_se")
    if not multiplier > 0:
        raise InputError(f"multiplier={multiplier} must be positive.")
    offset = _log_offset(k, size_factors, normalization_factors)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != k.shape:
            raise InputError(f"weights have shape {weights.shape}; give one per count "
                             f"{k.shape} (samples x genes).")
    prior_var = apeglm_prior_variance(mle_c, se_c)
    scale = cauchy_scale(prior_var, multiplier=multiplier)

    fit_rows = np.flatnonzero((k.sum(axis=0) > 0) & np.isfinite(disp) & (disp > 0))
    notes: list[str] = []
    skipped = int(np.count_nonzero(k.sum(axis=0) > 0)) - fit_rows.size
    if skipped:
        notes.append(f"{skipped} gene(s) with counts but no finite positive dispersion were not "
                     "shrunk (NaN).")
    beta = np.full((n_genes, p), np.nan)
    sd = np.full((n_genes, p), np.nan)
    conv = np.zeros(n_genes, dtype=bool)
    if fit_rows.size:
        mode = nb_posterior_mode(
            k[:, fit_rows], design=x, offset=offset if offset.ndim == 1 else offset[:, fit_rows],
            dispersions=disp[fit_rows], coef=c, prior_scale=scale,
            weights=None if weights is None else weights[:, fit_rows],
            no_shrink_scale=no_shrink_scale, n_jobs=n_jobs)
        beta[fit_rows], sd[fit_rows], conv[fit_rows] = mode.beta, mode.sd, mode.converged
        n_refit = int(np.count_nonzero(mode.refit))
        if n_refit:
            notes.append(f"{n_refit} gene(s) were refitted with BFGS because L-BFGS did not settle "
                         "(apeglm does the same).")
        n_nosd = int(np.count_nonzero(np.isnan(mode.sd[:, c])))
        if n_nosd:
            notes.append(f"{n_nosd} gene(s) have no posterior SD (Hessian not positive definite).")
    prior_variance = np.full(p, no_shrink_scale**2)
    prior_variance[c] = prior_var
    return ShrinkResult(
        method="apeglm", coef=c, coef_name=None if names is None else names[c],
        log2_fold_change=beta[:, c] / LN2, lfc_se=sd[:, c] / LN2, beta=beta, beta_sd=sd,
        prior_scale=scale, prior_variance=prior_variance, converged=conv, notes=tuple(notes))


# --------------------------------------------------------------------------- normal prior


def _weighted_upper_quantile(x: np.ndarray, weights: np.ndarray, prob: float) -> float:
    """Hmisc's ``wtd.quantile(x, weights, prob, normwt=TRUE)`` (type 'quantile')."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], weights[order]
    ws = ws * xs.size / ws.sum()
    # tied values pool their weights (wtd.table)
    uniq, start = np.unique(xs, return_index=True)
    wsum = np.add.reduceat(ws, start)
    cum = np.cumsum(wsum)
    n = cum[-1]
    pos = 1.0 + (n - 1.0) * prob
    low = max(math.floor(pos), 1.0)
    high = min(low + 1.0, n)
    frac = pos % 1.0

    def at(v: float) -> float:  # approx(cum, x, xout=v, method="constant", f=1, rule=2)
        i = int(np.searchsorted(cum, v, side="left"))
        return float(uniq[min(i, uniq.size - 1)])

    return (1.0 - frac) * at(low) + frac * at(high)


def beta_prior_variance(mle_beta_log2: np.ndarray, *, base_mean: np.ndarray,
                        dispersion_trend: np.ndarray, intercept: int | None = 0,
                        method: PriorMethod = "weighted", upper_quantile: float = 0.05
                        ) -> np.ndarray:
    """Prior variances of the coefficients, log2 scale (DESeq2's ``estimateBetaPriorVar``).

    Parameters
    ----------
    mle_beta_log2
        MLE coefficients on the log2 scale of the genes that are not all zero (n_genes, p).
    base_mean
        Mean normalised counts of those genes (n_genes,).
    dispersion_trend
        Fitted (trend) dispersions of those genes (n_genes,): DESeq2's ``dispFit``.
    intercept
        Column of the intercept, which gets the wide prior variance 1e6; None if none.
    method
        ``"weighted"`` (DESeq2's default: weights :math:`1/(1/\\bar\\mu + \\alpha^{tr})`) or
        ``"quantile"`` (unweighted upper quantile).
    upper_quantile
        The upper quantile matched to the normal distribution.

    Returns
    -------
    numpy.ndarray
        Prior variance per coefficient, log2 scale (p,).

    Raises
    ------
    InputError
        If ``method`` is not valid or the shapes disagree.

    Examples
    --------
    >>> b = np.column_stack([np.full(5, 5.0), [0.1, -0.5, 1.0, 2.0, -3.0]])
    >>> beta_prior_variance(b, base_mean=np.full(5, 100.0), dispersion_trend=np.full(5, 0.1),
    ...                     method="quantile").round(4)
    array([1.0000e+06, 2.0409e+00])
    """
    if method not in PRIOR_METHODS:
        raise InputError(f"method={method!r} is not valid; choose one of {', '.join(PRIOR_METHODS)}.")
    b = np.asarray(mle_beta_log2, dtype=np.float64)
    if b.ndim != 2:
        raise InputError(f"mle_beta_log2 must be genes x coefficients; got shape {b.shape}.")
    bm = _per_gene(base_mean, b.shape[0], "base_mean")
    trend = _per_gene(dispersion_trend, b.shape[0], "dispersion_trend")
    weights = 1.0 / (1.0 / bm + trend)
    z = ndtri(1.0 - upper_quantile / 2.0)
    out = np.empty(b.shape[1])
    for j in range(b.shape[1]):  # loop over coefficients, vectorised over genes
        col = b[:, j]
        if b.shape[0] == 1:
            out[j] = col[0] ** 2
            continue
        use = np.abs(col) < 10
        if not use.any():
            out[j] = 1e6
        elif method == "quantile":
            out[j] = (np.quantile(np.abs(col[use]), 1.0 - upper_quantile) / z) ** 2
        else:
            ok = use & np.isfinite(weights) & (weights != 0)
            out[j] = (_weighted_upper_quantile(np.abs(col[ok]), weights[ok],
                                               1.0 - upper_quantile) / z) ** 2
    if intercept is not None:
        out[intercept] = 1e6
    return out


def _fit_with_ridge(counts: np.ndarray, **kwargs: Any) -> Any:
    from heatseq.de.glm import fit_nb_glm

    return fit_nb_glm(counts, **kwargs)


def shrink_normal(counts: np.ndarray, *, design: object, coef: int | str,
                  dispersions: np.ndarray, dispersion_trend: np.ndarray, mle_beta: np.ndarray,
                  size_factors: np.ndarray | None = None,
                  normalization_factors: np.ndarray | None = None,
                  base_mean: np.ndarray | None = None, method: PriorMethod = "weighted",
                  upper_quantile: float = 0.05) -> ShrinkResult:
    """Normal-prior shrinkage (DESeq2's ``lfcShrink(type="normal", coef=...)``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    design
        Design matrix (standard treatment coding; array, DataFrame or ``Design``).
    coef
        The coefficient whose shrunken LFC is reported: 0-based index or name.
    dispersions
        Final NB dispersions (n_genes,).
    dispersion_trend
        Fitted trend dispersions (n_genes,), DESeq2's ``dispFit``, for the prior weights.
    mle_beta
        MLE coefficients of all columns, natural log (n_genes, p).
    size_factors
        One per sample.
    normalization_factors
        Samples x genes factors instead of size factors.
    base_mean
        Mean normalised counts (n_genes,), DESeq2's ``baseMean``; computed when None. Genes
        with a base mean of 0 are left out (NaN), as DESeq2's ``allZero`` genes are; after
        outlier replacement DESeq2's ``results()`` reports LFC 0 and lfcSE 0 for such genes.
    method
        ``"weighted"`` or ``"quantile"`` prior variance (DESeq2's ``betaPriorMethod``).
    upper_quantile
        Upper quantile matched for the prior variance.

    Returns
    -------
    ShrinkResult
        MAP LFC (log2) and its SE from the ridge-penalised refit, with the prior variances.

    Raises
    ------
    InputError
        If shapes disagree, ``method`` or ``coef`` is not valid.

    Examples
    --------
    >>> from heatseq.de.glm import fit_nb_glm
    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> mu = np.exp(rng.normal(4, 1, 300) + np.outer(x[:, 1], rng.normal(0, 1, 300)))
    >>> counts = rng.negative_binomial(20, 20 / (20 + mu))
    >>> disp, sf = np.full(300, 0.05), np.ones(6)
    >>> mle = fit_nb_glm(counts, design=x, size_factors=sf, dispersions=disp)
    >>> res = shrink_normal(counts, design=x, coef=1, size_factors=sf, dispersions=disp,
    ...                     dispersion_trend=disp, mle_beta=mle.beta)
    >>> res.log2_fold_change[:3].round(3)
    array([1.936, 0.833, 0.74 ])
    """
    if method not in PRIOR_METHODS:
        raise InputError(f"method={method!r} is not valid; choose one of {', '.join(PRIOR_METHODS)}.")
    k = _counts(counts)
    n_samples, n_genes = k.shape
    x, names = _design(design, n_samples)
    p = x.shape[1]
    c = _coef_index(coef, names, p)
    disp = _per_gene(dispersions, n_genes, "dispersions")
    trend = _per_gene(dispersion_trend, n_genes, "dispersion_trend")
    mb = np.asarray(mle_beta, dtype=np.float64)
    if mb.shape != (n_genes, p):
        raise InputError(f"mle_beta has shape {mb.shape}; give all {p} MLE coefficients of each of "
                         f"the {n_genes} genes (natural log), genes x coefficients.")
    offset = _log_offset(k, size_factors, normalization_factors)
    divisor = np.exp(offset if offset.ndim == 2 else offset[:, None])
    bm = (k / divisor).mean(axis=0) if base_mean is None else _per_gene(base_mean, n_genes,
                                                                         "base_mean")
    # DESeq2's allZero: no counts, or (after outlier replacement) a base mean of zero
    nz = np.flatnonzero((k.sum(axis=0) > 0) & (bm > 0))
    intercept_cols = np.flatnonzero(np.all(x == 1.0, axis=0))
    if names is not None and "Intercept" in names:
        intercept: int | None = names.index("Intercept")
    else:
        intercept = int(intercept_cols[0]) if intercept_cols.size else None
    prior_var = beta_prior_variance(mb[nz] / LN2, base_mean=bm[nz], dispersion_trend=trend[nz],
                                    intercept=intercept, method=method,
                                    upper_quantile=upper_quantile)
    if np.any(prior_var == 0):
        raise InputError("a beta prior variance is zero (every MLE of a coefficient is 0); the "
                         "normal prior cannot be used for this design.")
    kwargs: dict[str, Any] = {"design": x, "dispersions": disp[nz], "ridge": 1.0 / prior_var}
    if normalization_factors is not None:
        kwargs["normalization_factors"] = np.asarray(normalization_factors, dtype=np.float64)[:, nz]
    else:
        kwargs["size_factors"] = np.exp(offset)
    fit = _fit_with_ridge(k[:, nz], **kwargs)
    beta = np.full((n_genes, p), np.nan)
    se = np.full((n_genes, p), np.nan)
    conv = np.zeros(n_genes, dtype=bool)
    beta[nz] = np.asarray(fit.beta)
    se[nz] = np.asarray(fit.beta_se)
    conv[nz] = np.asarray(fit.converged)
    notes = []
    n_bad = int(np.count_nonzero(~conv[nz]))
    if n_bad:
        notes.append(f"{n_bad} gene(s) did not converge in the ridge-penalised refit.")
    return ShrinkResult(
        method="normal", coef=c, coef_name=None if names is None else names[c],
        log2_fold_change=beta[:, c] / LN2, lfc_se=se[:, c] / LN2, beta=beta, beta_sd=se,
        prior_scale=math.sqrt(prior_var[c]) * LN2, prior_variance=prior_var * LN2**2,
        converged=conv, notes=tuple(notes))
