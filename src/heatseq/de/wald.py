"""Wald tests of GLM coefficients and contrasts, as DESeq2's ``nbinomWaldTest``/``results``.

This module owns the Wald statistic of DESeq2 (Love, Huber & Anders 2014, Genome Biology
15:550, Methods, "Wald test"): for a contrast vector ``c`` over the coefficients,

    log2FoldChange = c' beta / log(2),   lfcSE = sqrt(c' Sigma c) / log(2),
    stat = log2FoldChange / lfcSE,       pvalue = 2 (1 - Phi(|stat|))

with ``Sigma`` the sandwich covariance of the fit (DESeq2's ``getContrast``; a contrast
that picks one coefficient gives that coefficient's standard error exactly). Optionally
the null distribution is a t distribution with ``df`` degrees of freedom (``useT``).

Tests against a log2 fold change threshold ``T`` follow ``results(lfcThreshold,
altHypothesis)`` (Methods, "Hypothesis tests with thresholds on effect size"):
``greaterAbs`` (|LFC| > T, two-tailed, stat ``sign(LFC) max((|LFC| - T)/SE, 0)``),
``lessAbs`` (|LFC| < T, the larger of the two one-sided p-values), ``greater`` (LFC > T)
and ``less`` (LFC < -T).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy.special import ndtr, stdtr

from heatseq.de.glm import GLMFit
from heatseq.errors import DesignError, InputError

__all__ = ["AltHypothesis", "WaldResult", "contrast_all_zero", "contrast_samples", "wald_test"]

AltHypothesis = Literal["greaterAbs", "lessAbs", "greater", "less"]
_LN2 = np.log(2.0)


@dataclass(frozen=True)
class WaldResult:
    """Wald test of one contrast for every gene, with DESeq2's column names.

    Attributes
    ----------
    log2FoldChange
        ``c' beta / log(2)``.
    lfcSE
        Its standard error.
    stat
        The Wald statistic (after the threshold rule, if any).
    pvalue
        Its p-value.
    contrast
        The numeric contrast over the coefficients.
    lfc_threshold, alt_hypothesis, use_t, df
        The test that produced the p-values.
    """

    log2FoldChange: np.ndarray
    lfcSE: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    contrast: np.ndarray
    lfc_threshold: float
    alt_hypothesis: str
    use_t: bool
    df: float | np.ndarray | None

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """The results as a table with columns log2FoldChange, lfcSE, stat, pvalue."""
        return pd.DataFrame(
            {"log2FoldChange": self.log2FoldChange, "lfcSE": self.lfcSE,
             "stat": self.stat, "pvalue": self.pvalue},
            index=index,
        )  # fmt: skip


def _check_contrast(contrast: np.ndarray, p: int) -> np.ndarray:
    c = np.asarray(contrast, dtype=float)
    if c.shape != (p,):
        raise DesignError(
            f"The contrast has {c.size} element(s); it needs one per coefficient ({p})."
        )
    if not np.isfinite(c).all() or (c == 0).all():
        raise DesignError("The contrast must be finite and not all zero.")
    return c


def _upper_tail(q: np.ndarray, use_t: bool, df) -> np.ndarray:
    if use_t:
        return stdtr(df, -q)
    return ndtr(-q)


def wald_test(
    fit: GLMFit,
    *,
    contrast: np.ndarray,
    lfc_threshold: float = 0.0,
    alt_hypothesis: AltHypothesis = "greaterAbs",
    use_t: bool = False,
    df: float | np.ndarray | None = None,
    zero_genes: np.ndarray | None = None,
) -> WaldResult:
    """Wald test of a contrast of the coefficients, for every gene.

    Parameters
    ----------
    fit
        A GLM fit (natural-log coefficients and their covariance).
    contrast
        Numeric contrast, one weight per coefficient (e.g. ``[0, 0, 0, 0, 1]`` for the
        last coefficient).
    lfc_threshold
        Non-negative log2 fold change threshold.
    alt_hypothesis
        ``"greaterAbs"``, ``"lessAbs"``, ``"greater"`` or ``"less"``.
    use_t
        Use a t distribution with ``df`` degrees of freedom instead of the normal.
    df
        Degrees of freedom (scalar or one per gene) when ``use_t``.
    zero_genes
        Genes whose counts are zero in every sample the contrast compares (see
        ``contrast_all_zero``): DESeq2 sets their LFC and stat to 0 and p-value to 1.

    Returns
    -------
    WaldResult
        Per-gene log2 fold changes, standard errors, statistics and p-values.

    Examples
    --------
    >>> from heatseq.de.glm import fit_nb_glm
    >>> y = np.array([[10, 5], [12, 3], [30, 4], [33, 5]])
    >>> x = np.array([[1, 0], [1, 0], [1, 1], [1, 1]])
    >>> fit = fit_nb_glm(y, design=x, size_factors=np.ones(4), dispersions=np.array([.05, .1]))
    >>> res = wald_test(fit, contrast=np.array([0, 1]))
    >>> np.round(res.log2FoldChange, 3).tolist()
    [1.518, 0.17]
    """
    valid = get_args(AltHypothesis)
    if alt_hypothesis not in valid:
        raise InputError(
            f"alt_hypothesis={alt_hypothesis!r} is not valid; choose one of {', '.join(valid)}."
        )
    if not (np.isfinite(lfc_threshold) and lfc_threshold >= 0):
        raise InputError(f"lfc_threshold must be a non-negative number; got {lfc_threshold!r}.")
    if alt_hypothesis == "lessAbs" and lfc_threshold == 0:
        raise InputError("alt_hypothesis='lessAbs' needs a positive lfc_threshold.")
    if use_t and df is None:
        raise InputError("use_t=True needs df= (degrees of freedom).")
    c = _check_contrast(contrast, fit.beta.shape[1])
    lfc = fit.beta @ c / _LN2
    var = np.einsum("i,gij,j->g", c, fit.covariance, c)
    se = np.sqrt(np.maximum(var, 0.0)) / _LN2
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = lfc / se
    pvalue = 2.0 * _upper_tail(np.abs(stat), use_t, df)
    if zero_genes is not None:
        z = np.asarray(zero_genes, dtype=bool)
        if z.shape != lfc.shape:
            raise InputError(f"zero_genes must have one flag per gene ({lfc.size}).")
        lfc, stat, pvalue = lfc.copy(), stat.copy(), pvalue.copy()
        lfc[z], stat[z], pvalue[z] = 0.0, 0.0, 1.0
    if not (lfc_threshold == 0 and alt_hypothesis == "greaterAbs"):
        stat, pvalue = _threshold_test(lfc, se, lfc_threshold, alt_hypothesis, use_t, df)
    return WaldResult(
        log2FoldChange=lfc, lfcSE=se, stat=stat, pvalue=pvalue, contrast=c,
        lfc_threshold=float(lfc_threshold), alt_hypothesis=alt_hypothesis, use_t=bool(use_t),
        df=df,
    )  # fmt: skip


def _threshold_test(lfc, se, thr, alt, use_t, df):
    """DESeq2's ``results()`` statistics and p-values against a threshold."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if alt == "greaterAbs":
            stat = np.sign(lfc) * np.maximum((np.abs(lfc) - thr) / se, 0)
            pvalue = np.minimum(1.0, 2.0 * _upper_tail((np.abs(lfc) - thr) / se, use_t, df))
        elif alt == "lessAbs":
            above = (thr - lfc) / se
            below = (lfc + thr) / se
            stat = np.minimum(np.maximum(above, 0), np.maximum(below, 0))
            pvalue = np.maximum(_upper_tail(above, use_t, df), _upper_tail(below, use_t, df))
        elif alt == "greater":
            stat = np.maximum((lfc - thr) / se, 0)
            pvalue = _upper_tail((lfc - thr) / se, use_t, df)
        else:
            stat = np.minimum((lfc + thr) / se, 0)
            pvalue = _upper_tail((-thr - lfc) / se, use_t, df)
    return stat, pvalue


def contrast_samples(design: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """Samples a numeric contrast compares (DESeq2's ``contrastAllZeroNumeric``).

    Parameters
    ----------
    design
        Samples x coefficients.
    contrast
        Numeric contrast.

    Returns
    -------
    np.ndarray
        Boolean per sample: rows of the design touching a non-zero contrast weight. All
        False when the contrast has weights of one sign only (DESeq2 does not zero those).
    """
    x = np.asarray(design, dtype=float)
    c = _check_contrast(contrast, x.shape[1])
    if (c >= 0).all() or (c <= 0).all():
        return np.zeros(x.shape[0], dtype=bool)
    return x @ (c != 0).astype(float) != 0


def contrast_all_zero(counts: np.ndarray, *, samples: np.ndarray) -> np.ndarray:
    """Genes with zero counts in all the given samples but counts elsewhere.

    For ``contrast=(factor, a, b)`` DESeq2 uses the samples of levels ``a`` and ``b``
    (``contrastAllZeroCharacter``); for numeric contrasts ``contrast_samples``.

    Parameters
    ----------
    counts
        Samples x genes.
    samples
        Boolean per sample.

    Returns
    -------
    np.ndarray
        Boolean per gene, for ``wald_test(zero_genes=...)``.
    """
    y = np.asarray(counts, dtype=float)
    s = np.asarray(samples, dtype=bool)
    if s.shape != (y.shape[0],):
        raise InputError(f"samples must have one flag per sample ({y.shape[0]}).")
    if not s.any():
        return np.zeros(y.shape[1], dtype=bool)
    return (y[s] == 0).all(axis=0) & (y.sum(axis=0) > 0)
