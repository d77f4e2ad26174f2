"""Likelihood ratio tests between nested NB GLMs, as DESeq2's ``nbinomLRT``.

This module owns DESeq2's likelihood ratio test (Love, Huber & Anders 2014, Genome
Biology 15:550, Methods, "Likelihood ratio test"): the full and the reduced model are
fitted with the same dispersions and offsets (``fit_nb_glm``), and

    stat = 2 (log L_full - log L_reduced) = deviance_reduced - deviance_full,
    pvalue = P(chi^2_df > stat),   df = p_full - p_reduced.

As in DESeq2 the log2 fold change and its standard error reported beside the test come
from the full model (by default its last coefficient).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from heatseq.de.glm import GLMFit, fit_nb_glm
from heatseq.errors import DesignError, InputError

__all__ = ["LRTResult", "lrt_from_fits", "lrt_test"]

_LN2 = np.log(2.0)


@dataclass(frozen=True)
class LRTResult:
    """Likelihood ratio test of a full against a reduced model, for every gene.

    Attributes
    ----------
    log2FoldChange, lfcSE
        The contrast of the full model's coefficients (log2 scale) and its standard error.
    stat
        ``2 (log L_full - log L_reduced)``.
    pvalue
        Upper tail of chi-square with ``df`` degrees of freedom.
    df
        Difference in the number of coefficients.
    contrast
        The contrast of the full model reported as ``log2FoldChange``.
    full_fit, reduced_fit
        The two fits.
    """

    log2FoldChange: np.ndarray
    lfcSE: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    df: int
    contrast: np.ndarray
    full_fit: GLMFit
    reduced_fit: GLMFit

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """The results as a table with columns log2FoldChange, lfcSE, stat, pvalue."""
        return pd.DataFrame(
            {"log2FoldChange": self.log2FoldChange, "lfcSE": self.lfcSE,
             "stat": self.stat, "pvalue": self.pvalue},
            index=index,
        )  # fmt: skip


def lrt_test(
    counts: np.ndarray,
    *,
    full: np.ndarray,
    reduced: np.ndarray,
    dispersions: np.ndarray,
    size_factors: np.ndarray | None = None,
    normalization_factors: np.ndarray | None = None,
    contrast: np.ndarray | None = None,
    maxit: int = 100,
    use_optim: bool = True,
    min_mu: float = 0.5,
) -> LRTResult:
    """Fit the full and reduced designs and test them against each other.

    Parameters
    ----------
    counts
        Samples x genes.
    full, reduced
        Design matrices (samples x coefficients); ``reduced`` must have fewer columns.
    dispersions
        One per gene (from the full design).
    size_factors, normalization_factors
        Offsets (give one).
    contrast
        Contrast of the full coefficients to report; default its last coefficient.
    maxit, use_optim, min_mu
        Passed to ``fit_nb_glm``.

    Returns
    -------
    LRTResult
        Statistics, p-values and the two fits.

    Examples
    --------
    >>> y = np.array([[10, 5], [12, 3], [30, 4], [33, 5]])
    >>> x = np.array([[1.0, 0], [1, 0], [1, 1], [1, 1]])
    >>> res = lrt_test(y, full=x, reduced=x[:, :1], dispersions=np.array([.05, .1]),
    ...                size_factors=np.ones(4))
    >>> res.df, bool(res.pvalue[0] < 0.01)
    (1, True)
    """
    full_x = np.asarray(full, dtype=float)
    red_x = np.asarray(reduced, dtype=float)
    if full_x.ndim != 2 or red_x.ndim != 2 or full_x.shape[0] != red_x.shape[0]:
        raise DesignError("full and reduced must be design matrices with the same samples.")
    if full_x.shape[1] <= red_x.shape[1]:
        raise DesignError(
            f"The full design has {full_x.shape[1]} coefficient(s) and the reduced one "
            f"{red_x.shape[1]}: the reduced design must drop at least one term of the full one."
        )
    opts = {"dispersions": dispersions, "size_factors": size_factors,
            "normalization_factors": normalization_factors, "maxit": maxit,
            "use_optim": use_optim, "min_mu": min_mu}  # fmt: skip
    full_fit = fit_nb_glm(counts, design=full_x, **opts)
    reduced_fit = fit_nb_glm(counts, design=red_x, **opts)
    return lrt_from_fits(full_fit, reduced_fit, contrast=contrast)


def lrt_from_fits(
    full_fit: GLMFit, reduced_fit: GLMFit, *, contrast: np.ndarray | None = None
) -> LRTResult:
    """Likelihood ratio test from two existing fits of the same counts.

    Parameters
    ----------
    full_fit, reduced_fit
        Fits of the full and the reduced design.
    contrast
        Contrast of the full coefficients to report; default its last coefficient.

    Returns
    -------
    LRTResult
        Statistics and p-values.
    """
    p_full, p_red = full_fit.beta.shape[1], reduced_fit.beta.shape[1]
    if p_full <= p_red:
        raise DesignError(
            f"The full fit has {p_full} coefficient(s) and the reduced fit {p_red}; "
            "the full model must have more."
        )
    if full_fit.beta.shape[0] != reduced_fit.beta.shape[0]:
        raise InputError("The full and reduced fits cover different numbers of genes.")
    if contrast is None:
        c = np.zeros(p_full)
        c[-1] = 1.0
    else:
        c = np.asarray(contrast, dtype=float)
        if c.shape != (p_full,) or not np.isfinite(c).all() or (c == 0).all():
            raise DesignError(
                f"The contrast needs {p_full} finite weights, not all zero; got {c.shape}."
            )
    df = p_full - p_red
    stat = 2.0 * (full_fit.log_likelihood - reduced_fit.log_likelihood)
    pvalue = chdtrc(df, np.maximum(stat, 0.0))  # a statistic of -1e-12 has p = 1
    lfc = full_fit.beta @ c / _LN2
    var = np.einsum("i,gij,j->g", c, full_fit.covariance, c)
    se = np.sqrt(np.maximum(var, 0.0)) / _LN2
    return LRTResult(
        log2FoldChange=lfc, lfcSE=se, stat=stat, pvalue=pvalue, df=df, contrast=c,
        full_fit=full_fit, reduced_fit=reduced_fit,
    )  # fmt: skip
