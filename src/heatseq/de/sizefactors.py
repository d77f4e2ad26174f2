"""Size factors (library-size normalisation) and normalised counts, as DESeq2 computes them.

This module owns the median-of-ratios estimator of Anders & Huber (2010, Genome Biology
11:R106, eq. 5), used unchanged by DESeq2 (Love, Huber & Anders 2014, Genome Biology
15:550, "Methods: Normalization"), in the two variants of DESeq2 1.38's
``estimateSizeFactors``:

``"ratio"`` (``estimateSizeFactorsForMatrix``)
    For gene *i* the log geometric mean over the *m* samples is
    :math:`\\log g_i = \\frac1m \\sum_j \\log K_{ij}`; genes with a zero in any sample
    have :math:`g_i = 0` and are skipped. The size factor of sample *j* is

    .. math:: \\hat s_j = \\operatorname{median}_{i:\\, g_i > 0,\\, K_{ij} > 0}\\; K_{ij} / g_i .

``"poscounts"`` (``type = "poscounts"``)
    The geometric mean uses the positive counts only but still takes the *m*-th root,
    :math:`\\log g_i = \\frac1m \\sum_{j: K_{ij} > 0} \\log K_{ij}` (all-zero genes are
    skipped); the ratios use positive counts only; finally the factors are scaled so that
    their geometric mean is 1 (DESeq2 does this whenever geometric means are supplied).

Counts are samples x genes, as :attr:`heatseq.Dataset.counts`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from heatseq.de._rmath import r_median
from heatseq.errors import InputError

__all__ = ["normalized_counts", "size_factors"]

SizeFactorMethod = Literal["ratio", "poscounts"]
SIZE_FACTOR_METHODS: tuple[str, ...] = ("ratio", "poscounts")


def _as_counts(counts: object) -> np.ndarray:
    """Counts as a float64 (n_samples, n_genes) array, checked for shape and sign."""
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(
            f"counts must be a 2-D samples x genes array; got {arr.ndim} dimension(s)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(
            f"counts has {arr.shape[0]} samples and {arr.shape[1]} genes; "
            "it needs at least one of each."
        )
    if not np.all(np.isfinite(arr)):
        raise InputError("counts contain NaN or infinite values; give whole, non-negative counts.")
    if np.any(arr < 0):
        raise InputError("counts contain negative values; give whole, non-negative counts.")
    return arr


def size_factors(counts: np.ndarray, *, method: SizeFactorMethod = "ratio") -> np.ndarray:
    """Median-of-ratios size factors, one per sample (DESeq2's ``estimateSizeFactors``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes (non-negative).
    method
        ``"ratio"`` (DESeq2's default: geometric means over genes without any zero) or
        ``"poscounts"`` (geometric means over the positive counts, for data in which
        every gene has a zero somewhere; the factors are scaled to geometric mean 1).

    Returns
    -------
    numpy.ndarray
        Size factors, shape (n_samples,).

    Raises
    ------
    InputError
        If ``method`` is not valid, the counts are not a samples x genes array of
        non-negative numbers, every gene has a zero with ``method="ratio"``, or a sample
        has no usable count.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[10, 20, 30], [20, 40, 60]])
    >>> size_factors(counts)
    array([0.70710678, 1.41421356])
    """
    if method not in SIZE_FACTOR_METHODS:
        raise InputError(
            f"method={method!r} is not a size-factor method; choose one of "
            f"{', '.join(SIZE_FACTOR_METHODS)}."
        )
    k = _as_counts(counts)
    positive = k > 0
    with np.errstate(divide="ignore"):
        logk = np.log(k)  # -inf where the count is 0
    if method == "ratio":
        # a gene with a zero anywhere has log geometric mean -inf and is skipped
        # R's rowMeans: a long double sum in sample order (bit-identical size factors keep
        # the dispersion line search on R's path where the likelihood is flat)
        acc = logk[0].astype(np.longdouble)
        for row in logk[1:]:
            acc += row
        log_geo = (acc / k.shape[0]).astype(np.float64)
        usable_gene = np.isfinite(log_geo)
        if not usable_gene.any():
            raise InputError(
                "Every gene has a zero count in at least one sample, so median-of-ratios size "
                "factors cannot be computed; use method='poscounts' (size factors from the "
                "positive counts) instead."
            )
    else:
        n_samples = k.shape[0]
        log_geo = np.where(positive, logk, 0.0).sum(axis=0) / n_samples
        usable_gene = positive.any(axis=0)
        if not usable_gene.any():
            raise InputError("Every gene has zero counts in all samples; size factors cannot be "
                             "computed.")
    use = usable_gene[None, :] & positive
    ratios = np.where(use, logk - np.where(usable_gene, log_geo, 0.0)[None, :], np.nan)
    empty = ~use.any(axis=1)
    if empty.any():
        first = int(np.flatnonzero(empty)[0])
        raise InputError(
            f"Sample {first} (0-based) has no positive count in any gene usable for size "
            "factors; remove the sample or check its counts."
        )
    sf = np.exp(np.array([r_median(row[~np.isnan(row)]) for row in ratios],
                         dtype=np.longdouble)).astype(np.float64)
    if method == "poscounts":
        sf = sf / np.exp(np.mean(np.log(sf)))
    return sf


def normalized_counts(counts: np.ndarray, size_factors: np.ndarray) -> np.ndarray:
    """Counts divided by size factors (DESeq2's ``counts(dds, normalized=TRUE)``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    size_factors
        One factor per sample, shape (n_samples,), or gene-specific normalisation
        factors, shape (n_samples, n_genes).

    Returns
    -------
    numpy.ndarray
        Normalised counts, samples x genes, float64.

    Raises
    ------
    InputError
        If the factors do not match the counts' shape or are not positive and finite.

    Examples
    --------
    >>> import numpy as np
    >>> normalized_counts(np.array([[10, 20], [30, 40]]), np.array([0.5, 2.0]))
    array([[20., 40.],
           [15., 20.]])
    """
    k = _as_counts(counts)
    sf = np.asarray(size_factors, dtype=np.float64)
    if sf.ndim == 1:
        if sf.shape[0] != k.shape[0]:
            raise InputError(
                f"{sf.shape[0]} size factors were given for {k.shape[0]} samples; give one per "
                "sample, in the order of the count table's samples."
            )
        sf = sf[:, None]
    elif sf.shape != k.shape:
        raise InputError(
            f"normalisation factors have shape {sf.shape} but counts have shape {k.shape}; "
            "give one factor per sample and gene (samples x genes)."
        )
    if not np.all(np.isfinite(sf)) or np.any(sf <= 0):
        raise InputError("size factors must be positive and finite; re-estimate them with "
                         "size_factors().")
    return k / sf
