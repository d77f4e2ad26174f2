"""Cook's distances, count-outlier flags and outlier replacement, as in DESeq2 1.38.

This module owns DESeq2's treatment of single count outliers (Love, Huber & Anders 2014,
Genome Biology 15:550, Methods, "Cook's distance for outlier detection"):

* ``cooks_distance``: ``D_ij = R_ij^2 / (tau p) * h_ij / (1 - h_ij)^2`` with the Pearson
  residual ``R_ij^2 = (K_ij - mu_ij)^2 / (mu_ij + alpha_i mu_ij^2)``, where ``alpha_i`` is a
  robust method-of-moments dispersion (trimmed variances within cells of three or more
  replicates, bounded below by 0.04; ``robustMethodOfMomentsDisp``) and ``h_ij`` the hat
  matrix diagonal of the GLM fit;
* ``max_cooks``: the per-gene maximum over samples in cells with three or more replicates
  (``recordMaxCooks``); ``cooks_cutoff_default`` is the 0.99 quantile of F(p, m - p);
* ``cooks_outliers``: the genes whose p-value ``results()`` sets to NA, with DESeq2's rule
  that a gene of a one-factor two-group design is kept when three or more counts exceed
  the outlying count;
* ``replace_outliers``: counts with Cook's distance above the cutoff, in samples of cells
  with ``min_replicates`` (7) or more replicates, replaced by the 20 % trimmed mean of the
  normalised counts times the sample's size factor (``replaceOutliers``); ``refit_genes``
  refits those genes and merges them into the original fit.

The whole DESeq2 outlier step, as the caller runs it::

    fit = fit_nb_glm(counts, design=X, size_factors=sf, dispersions=d)
    cooks = cooks_distance(counts, fit)
    if n_or_more_in_cell(X, 7).any():
        rep = replace_outliers(counts, cooks, design=X, size_factors=sf)
        genes = rep.replace & (rep.counts.sum(axis=0) > 0)
        if genes.any():
            # re-estimate dispersions of `genes` on rep.counts (baseMean from rep.counts,
            # dispFit from the existing trend, MAP with the existing prior variance), then
            fit = refit_genes(fit, rep.counts, genes=genes, dispersions=new_d)
            maxc = max_cooks(cooks, design=X, replaceable=rep.replaceable)
    else:
        maxc = max_cooks(cooks, design=X)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.special import fdtri

from heatseq.de.glm import GLMFit, fit_nb_glm
from heatseq.errors import InputError

__all__ = [
    "OutlierReplacement",
    "cooks_cutoff_default",
    "cooks_distance",
    "cooks_outliers",
    "max_cooks",
    "n_or_more_in_cell",
    "refit_genes",
    "replace_outliers",
    "robust_dispersions",
    "trimmed_mean",
]


def n_or_more_in_cell(design: np.ndarray, n: int) -> np.ndarray:
    """For each sample, whether ``n`` or more samples (itself included) share its design row.

    Parameters
    ----------
    design
        Samples x coefficients.
    n
        Number of replicates required.

    Returns
    -------
    np.ndarray
        Boolean, one per sample (DESeq2's ``nOrMoreInCell``).

    Examples
    --------
    >>> x = np.array([[1, 0], [1, 0], [1, 1], [1, 1], [1, 1]])
    >>> n_or_more_in_cell(x, 3).tolist()
    [False, False, True, True, True]
    """
    x = np.asarray(design, dtype=float)
    _, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    return counts[inverse.ravel()] >= n


def trimmed_mean(values: np.ndarray, *, trim: float, axis: int = 0) -> np.ndarray:
    """R's ``mean(x, trim = trim)`` along ``axis``: drop ``floor(n trim)`` values at each end.

    Parameters
    ----------
    values
        Array to average.
    trim
        Fraction in [0, 0.5) trimmed from each end.
    axis
        Axis to average over.

    Returns
    -------
    np.ndarray
        The trimmed means.
    """
    v = np.sort(np.asarray(values, dtype=float), axis=axis)
    n = v.shape[axis]
    if trim >= 0.5:
        return np.median(v, axis=axis)
    lo = int(np.floor(n * trim)) + 1 if trim > 0 else 1
    hi = n + 1 - lo
    return np.take(v, np.arange(lo - 1, hi), axis=axis).mean(axis=axis)


def _cells(design: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(np.asarray(design, float), axis=0, return_inverse=True)
    return inverse.ravel()


def _trim_bin(n: int) -> int:
    # cut(n, breaks = c(0, 3.5, 23.5, Inf))
    return 0 if n <= 3.5 else (1 if n <= 23.5 else 2)


def robust_dispersions(
    counts: np.ndarray,
    *,
    design: np.ndarray,
    size_factors: np.ndarray | None = None,
    normalization_factors: np.ndarray | None = None,
) -> np.ndarray:
    """Robust method-of-moments dispersions used for Cook's distances.

    Trimmed within-cell variances of the normalised counts over cells with three or more
    replicates (the largest across cells), or a trimmed variance over all samples when no
    such cell exists; ``alpha = (v - m) / m^2`` bounded below by 0.04
    (DESeq2's ``robustMethodOfMomentsDisp``).

    Parameters
    ----------
    counts
        Samples x genes.
    design
        Samples x coefficients.
    size_factors, normalization_factors
        Offsets (give one).

    Returns
    -------
    np.ndarray
        One dispersion per gene (NaN for all-zero genes).
    """
    y = np.asarray(counts, dtype=float)
    cnts = y / _offset_matrix(y.shape, size_factors, normalization_factors)
    x = np.asarray(design, dtype=float)
    three = n_or_more_in_cell(x, 3)
    if three.any():
        cells = _cells(x)
        var = np.full(y.shape[1], -np.inf)
        for c in np.unique(cells[three]):
            sub = cnts[cells == c]
            k = _trim_bin(sub.shape[0])
            trim = (1 / 3, 1 / 4, 1 / 8)[k]
            scale = (2.04, 1.86, 1.51)[k]
            m = trimmed_mean(sub, trim=trim)
            v = scale * trimmed_mean((sub - m) ** 2, trim=trim)
            var = np.maximum(var, v)
    else:
        m = trimmed_mean(cnts, trim=1 / 8)
        var = 1.51 * trimmed_mean((cnts - m) ** 2, trim=1 / 8)
    mean = cnts.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (var - mean) / mean**2
    return np.where(np.isnan(alpha), np.nan, np.maximum(alpha, 0.04))


def _offset_matrix(shape, size_factors, normalization_factors) -> np.ndarray:
    if (size_factors is None) == (normalization_factors is None):
        raise InputError("Give exactly one of size_factors= or normalization_factors=.")
    if size_factors is not None:
        sf = np.asarray(size_factors, dtype=float)
        if sf.shape != (shape[0],):
            raise InputError(f"size_factors must have one value per sample ({shape[0]}).")
        return np.broadcast_to(sf[:, None], shape)
    nf = np.asarray(normalization_factors, dtype=float)
    if nf.shape != tuple(shape):
        raise InputError(f"normalization_factors must be samples x genes {tuple(shape)}.")
    return nf


def cooks_distance(counts: np.ndarray, fit: GLMFit) -> np.ndarray:
    """Cook's distance of every count, samples x genes (DESeq2's ``calculateCooksDistance``).

    Parameters
    ----------
    counts
        The counts the fit was made on, samples x genes.
    fit
        The GLM fit (its design, offsets, means and hat diagonals are used).

    Returns
    -------
    np.ndarray
        Samples x genes; NaN for all-zero genes.
    """
    y = np.asarray(counts, dtype=float)
    if y.shape != fit.mu.shape:
        raise InputError(f"counts have shape {y.shape} but the fit has {fit.mu.shape}.")
    p = fit.design.shape[1]
    disp = robust_dispersions(
        y, design=fit.design, size_factors=fit.size_factors,
        normalization_factors=fit.normalization_factors,
    )  # fmt: skip
    mu, h = fit.mu, fit.hat_diagonals
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = (y - mu) ** 2 / (mu + disp[None, :] * mu**2)
        return pearson / p * h / (1.0 - h) ** 2


def cooks_cutoff_default(m: int, p: int) -> float:
    """DESeq2's default Cook's cutoff: the 0.99 quantile of F(p, m - p).

    Parameters
    ----------
    m
        Number of samples.
    p
        Number of coefficients.

    Returns
    -------
    float
        The cutoff; infinite (no filtering) when ``m <= p``.

    Examples
    --------
    >>> round(cooks_cutoff_default(10, 2), 4)
    8.6491
    """
    if p < 1 or m < 1:
        raise InputError(f"m and p must be positive; got m={m}, p={p}.")
    if m <= p:
        return float("inf")
    return float(fdtri(p, m - p, 0.99))


def max_cooks(
    cooks: np.ndarray, *, design: np.ndarray, replaceable: np.ndarray | None = None
) -> np.ndarray:
    """Per-gene maximum Cook's distance over samples in cells of three or more replicates.

    Parameters
    ----------
    cooks
        Samples x genes.
    design
        Samples x coefficients.
    replaceable
        After a refit with replaced outliers: the samples whose outliers were replaced.
        Their distances no longer count; if all samples were replaceable the result is NaN
        for every gene (DESeq2's ``refitWithoutOutliers``). Pass it only when some genes
        were actually refitted.

    Returns
    -------
    np.ndarray
        One value per gene; NaN when no sample qualifies or ``m <= p``.
    """
    c = np.asarray(cooks, dtype=float)
    x = np.asarray(design, dtype=float)
    m, p = x.shape
    if replaceable is not None:
        rep = np.asarray(replaceable, dtype=bool)
        if rep.all():
            return np.full(c.shape[1], np.nan)
        c = c.copy()
        c[rep] = 0.0
    use = n_or_more_in_cell(x, 3)
    if m <= p or not use.any():
        return np.full(c.shape[1], np.nan)
    return c[use].max(axis=0)


def cooks_outliers(
    maximum: np.ndarray,
    *,
    cutoff: float,
    counts: np.ndarray | None = None,
    cooks: np.ndarray | None = None,
    two_group_design: bool = False,
) -> np.ndarray:
    """Genes flagged by Cook's distance, whose p-values ``results()`` sets to NA.

    Parameters
    ----------
    maximum
        Per-gene maximum Cook's distance (``max_cooks``).
    cutoff
        The threshold (``cooks_cutoff_default(m, p)`` by default in DESeq2).
    counts, cooks
        Samples x genes; needed when ``two_group_design``.
    two_group_design
        True when the design formula has a single variable, a factor with two levels. A
        flagged gene is then kept if three or more of its counts exceed the count of the
        sample with the largest Cook's distance.

    Returns
    -------
    np.ndarray
        Boolean, one per gene.
    """
    mx = np.asarray(maximum, dtype=float)
    with np.errstate(invalid="ignore"):
        out = mx > cutoff
    if two_group_design and out.any():
        if counts is None or cooks is None:
            raise InputError("two_group_design=True needs counts= and cooks=.")
        y = np.asarray(counts, dtype=float)
        c = np.asarray(cooks, dtype=float)
        genes = np.flatnonzero(out)
        sub = np.where(np.isnan(c[:, genes]), -np.inf, c[:, genes])
        j = np.argmax(sub, axis=0)
        out_count = y[j, genes]
        keep = (y[:, genes] > out_count[None, :]).sum(axis=0) >= 3
        out[genes[keep]] = False
    return out


@dataclass(frozen=True)
class OutlierReplacement:
    """Counts after DESeq2's ``replaceOutliers``.

    Attributes
    ----------
    counts
        Samples x genes, outliers in replaceable samples replaced.
    replace
        Genes with any Cook's distance above the cutoff (in any sample); False for
        all-zero genes (NA in DESeq2).
    replaceable
        Samples in cells with ``min_replicates`` or more replicates.
    cutoff
        The Cook's cutoff used.
    min_replicates
        Replicates needed for a sample to be replaceable.
    trim
        Trimming fraction of the replacement mean.
    """

    counts: np.ndarray
    replace: np.ndarray
    replaceable: np.ndarray
    cutoff: float
    min_replicates: int
    trim: float


def replace_outliers(
    counts: np.ndarray,
    cooks: np.ndarray,
    *,
    design: np.ndarray,
    size_factors: np.ndarray | None = None,
    normalization_factors: np.ndarray | None = None,
    cutoff: float | None = None,
    min_replicates: int = 7,
    trim: float = 0.2,
) -> OutlierReplacement:
    """Replace outlier counts by the trimmed mean of normalised counts, scaled back.

    Parameters
    ----------
    counts
        Samples x genes.
    cooks
        Cook's distances, samples x genes.
    design
        Samples x coefficients.
    size_factors, normalization_factors
        Offsets (give one).
    cutoff
        Cook's cutoff; default ``cooks_cutoff_default(m, p)``.
    min_replicates
        Replicates (including the sample) needed to replace a sample's counts; at least 3.
    trim
        Fraction trimmed from each end for the replacement mean.

    Returns
    -------
    OutlierReplacement
        The new counts and which genes and samples were involved.
    """
    y = np.asarray(counts, dtype=float)
    c = np.asarray(cooks, dtype=float)
    x = np.asarray(design, dtype=float)
    if min_replicates < 3:
        raise InputError(
            f"min_replicates={min_replicates}: at least 3 replicates are needed to call a "
            "count an outlier."
        )
    if c.shape != y.shape or x.shape[0] != y.shape[0]:
        raise InputError(f"counts {y.shape}, cooks {c.shape} and design {x.shape} do not line up.")
    nf = _offset_matrix(y.shape, size_factors, normalization_factors)
    m, p = x.shape
    if m <= p:
        none = np.zeros(y.shape[1], dtype=bool)
        return OutlierReplacement(y.copy(), none, np.zeros(m, bool), float("inf"),
                                  int(min_replicates), float(trim))  # fmt: skip
    cut = cooks_cutoff_default(m, p) if cutoff is None else float(cutoff)
    with np.errstate(invalid="ignore"):
        over = c > cut
    replace = over.any(axis=0)
    base = trimmed_mean(y / nf, trim=trim)
    replacement = np.trunc(base[None, :] * nf)
    samples = n_or_more_in_cell(x, min_replicates)
    new = y.copy()
    mask = over & samples[:, None]
    new[mask] = replacement[mask]
    return OutlierReplacement(new, replace, samples, cut, int(min_replicates), float(trim))


def refit_genes(
    fit: GLMFit, counts: np.ndarray, *, genes: np.ndarray, dispersions: np.ndarray
) -> GLMFit:
    """Refit some genes (e.g. after outlier replacement) and merge them into ``fit``.

    The design, offsets, ridge and ``min_mu`` of ``fit`` are reused.

    Parameters
    ----------
    fit
        The original fit of all genes.
    counts
        Samples x genes (all genes) holding the counts to refit with.
    genes
        Boolean mask or indices of the genes to refit.
    dispersions
        Dispersions of the refitted genes: one per selected gene, or one per gene.

    Returns
    -------
    GLMFit
        A new fit with the selected genes replaced; ``dispersions`` updated for them.
    """
    y = np.asarray(counts, dtype=float)
    idx = np.asarray(genes)
    idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
    d = np.asarray(dispersions, dtype=float)
    if d.shape == (fit.n_genes,):
        d = d[idx]
    if d.shape != (idx.size,):
        raise InputError(
            f"dispersions must have one value per refitted gene ({idx.size}) or per gene "
            f"({fit.n_genes}); got shape {d.shape}."
        )
    if idx.size == 0:
        return fit
    nf = None if fit.normalization_factors is None else fit.normalization_factors[:, idx]
    sub = fit_nb_glm(
        y[:, idx], design=fit.design, size_factors=fit.size_factors,
        normalization_factors=nf, dispersions=d, ridge=fit.ridge, min_mu=fit.min_mu,
    )  # fmt: skip
    changes = {}
    for f in dataclasses.fields(GLMFit):
        old = getattr(fit, f.name)
        if f.name in {"design", "size_factors", "normalization_factors", "ridge", "min_mu"}:
            continue
        new = np.array(old, copy=True)
        if f.name in {"mu", "hat_diagonals"}:
            new[:, idx] = getattr(sub, f.name)
        else:
            new[idx] = getattr(sub, f.name)
        changes[f.name] = new
    return dataclasses.replace(fit, **changes)
