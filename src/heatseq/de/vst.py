"""The variance stabilizing transformation (VST) of counts, as DESeq2 1.38 computes it.

This module owns DESeq2's ``getVarianceStabilizedData``, ``varianceStabilizingTransformation``
and ``vst``. The transformation comes from Anders & Huber (2010, Genome Biology 11:R106,
"Variance-stabilizing transformation", eq. 6): if a normalised count ``q`` has variance
:math:`v(q) = q\\,\\bar{s^{-1}} + \\alpha(q)\\, q^2` (Poisson shot noise plus the fitted dispersion
trend), then :math:`h(q) = \\int^q v(u)^{-1/2}\\,du` makes the variance roughly constant. DESeq2
(Love, Huber & Anders 2014, Genome Biology 15:550, "Variance stabilizing transformation") scales
``h`` so that it tends to :math:`\\log_2 q` for large counts. Three forms, by the kind of
dispersion trend:

``parametric`` trend :math:`\\alpha(\\mu) = a_1 + \\alpha_0/\\mu` (``asymptDisp`` :math:`a_1`,
``extraPois`` :math:`\\alpha_0`), closed form (DESeq2's ``vst.pdf``):

.. math:: h(q) = \\log_2 \\frac{1 + \\alpha_0 + 2 a_1 q
          + 2\\sqrt{a_1 q\\,(1 + \\alpha_0 + a_1 q)}}{4 a_1}

``mean`` (one dispersion :math:`a`): :math:`h(q) = (2\\,\\mathrm{asinh}\\sqrt{a q} - \\log a
- \\log 4)/\\log 2`.

``local`` (any trend function): the integral is taken numerically by the trapezoid rule on
999 points evenly spaced in :math:`\\mathrm{asinh}` from 0 to the largest normalised count,
interpolated by R's ``splinefun`` (Forsythe-Malcolm-Moler end conditions), and rescaled so
that it matches :math:`\\log_2` at the 95% and 99.9% quantiles of the genes' mean
normalised counts.

``vst`` fits the trend on ``nsub`` genes evenly spaced by mean normalised count (among those
with mean > 5), exactly as DESeq2 picks them; ``variance_stabilizing_transformation`` fits it on
all genes. Counts are samples x genes; so is the output.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from heatseq.errors import InputError

if TYPE_CHECKING:
    from scipy.interpolate import PPoly

__all__ = [
    "VSTResult",
    "variance_stabilizing_transformation",
    "vst",
    "vst_subset",
    "vst_transform",
]

FitType = Literal["parametric", "local", "mean"]
FIT_TYPES: tuple[str, ...] = ("parametric", "local", "mean")

#: A dispersion trend: parametric coefficients ``(asymptDisp, extraPois)``, one dispersion
#: (fit type ``mean``), a function mean -> dispersion (``local``), or a
#: :class:`heatseq.de.dispersion.Dispersions` (its ``fit_type`` decides).
Trend = tuple[float, float] | float | Callable[[np.ndarray], np.ndarray] | Any


@dataclass(frozen=True)
class VSTResult:
    """Variance-stabilised counts and the trend that produced them.

    Attributes
    ----------
    values
        Transformed counts, samples x genes, on a log2-like scale.
    size_factors
        The size factors used to normalise (n_samples,), or None when
        ``normalization_factors`` were given.
    fit_type
        The kind of dispersion trend actually used (``parametric``, ``local`` or ``mean``;
        DESeq2 falls back from parametric to local when the parametric fit fails).
    trend_coefficients
        ``(asymptDisp, extraPois)`` of a parametric trend, else None.
    dispersion_function
        The fitted trend, mean normalised count -> dispersion.
    blind
        Whether the trend was estimated blind to the design (design ``~ 1``).
    subset
        Positions (0-based) of the genes the trend was fitted on: ``nsub`` genes for
        :func:`vst`, None when all genes were used.
    notes
        What fell back or was guessed, in plain words.
    """

    values: np.ndarray
    size_factors: np.ndarray | None
    fit_type: str
    trend_coefficients: tuple[float, float] | None
    dispersion_function: Callable[[np.ndarray], np.ndarray]
    blind: bool
    subset: np.ndarray | None = None
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- helpers


def _as_counts(counts: object) -> np.ndarray:
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"counts must be a 2-D samples x genes array; got {arr.ndim} dimension(s).")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"counts has shape {arr.shape}; it needs at least one sample and one gene.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InputError("counts contain negative, NaN or infinite values; give non-negative counts.")
    return arr


def _factors(counts: np.ndarray, size_factors: object, normalization_factors: object
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (per-cell divisor (n_samples, n_genes or 1), size factors or None)."""
    if normalization_factors is not None:
        nf = np.asarray(normalization_factors, dtype=np.float64)
        if nf.shape != counts.shape:
            raise InputError(f"normalization_factors have shape {nf.shape} but counts have shape "
                             f"{counts.shape}; give one factor per sample and gene.")
        if not np.all(np.isfinite(nf)) or np.any(nf <= 0):
            raise InputError("normalization_factors must be positive and finite.")
        return nf, None
    if size_factors is None:
        from heatseq.de.sizefactors import size_factors as _estimate

        sf = _estimate(counts)
    else:
        sf = np.asarray(size_factors, dtype=np.float64).reshape(-1)
    if sf.shape[0] != counts.shape[0]:
        raise InputError(f"{sf.shape[0]} size factors were given for {counts.shape[0]} samples; "
                         "give one per sample, in the order of the counts' samples.")
    if not np.all(np.isfinite(sf)) or np.any(sf <= 0):
        raise InputError("size factors must be positive and finite; estimate them with "
                         "heatseq.de.sizefactors.size_factors().")
    return sf[:, None], sf


def _fmm_spline(x: np.ndarray, y: np.ndarray) -> PPoly:
    """Cubic interpolating spline with R's ``splinefun(method="fmm")`` end conditions.

    Forsythe, Malcolm & Moler (1977): the third derivative on the first and last interval
    equals that of the cubic through the four end points. Returned as a PPoly that
    extrapolates with the end cubics, as R's ``spline_eval`` does.
    """
    from scipy.interpolate import PPoly  # only the 'local' trend needs these (slow imports)
    from scipy.linalg import solve_banded

    n = x.shape[0]
    h = np.diff(x)
    delta = np.diff(y) / h
    if n < 4:  # not used by the VST (999 knots); linear fallback for completeness
        c = np.zeros((4, n - 1))
        c[2] = delta
        c[3] = y[:-1]
        return PPoly(c, x, extrapolate=True)
    # unknowns sigma_i = S''(x_i) / 6; tridiagonal system in banded form (ab[0]=upper, ab[1]=diag,
    # ab[2]=lower)
    ab = np.zeros((3, n))
    rhs = np.zeros(n)
    ab[1, 1:-1] = 2.0 * (h[:-1] + h[1:])
    ab[0, 2:] = h[1:]          # coefficient of sigma_{i+1} in row i (1..n-2)
    ab[2, :-2] = h[:-1]        # coefficient of sigma_{i-1} in row i
    rhs[1:-1] = delta[1:] - delta[:-1]
    # end conditions: sigma_2 - sigma_1 = h_1 f[x1..x4]; sigma_n - sigma_{n-1} = h_{n-1} f[..xn]
    dd2 = (delta[1:] - delta[:-1]) / (x[2:] - x[:-2])
    dd3_first = (dd2[1] - dd2[0]) / (x[3] - x[0])
    dd3_last = (dd2[-1] - dd2[-2]) / (x[-1] - x[-4])
    ab[1, 0] = -h[0]
    ab[0, 1] = h[0]
    rhs[0] = h[0] ** 2 * dd3_first
    ab[1, -1] = -h[-1]
    ab[2, -2] = h[-1]
    rhs[-1] = -(h[-1] ** 2) * dd3_last
    sigma = solve_banded((1, 1), ab, rhs)
    b = delta - h * (sigma[1:] + 2.0 * sigma[:-1])
    c2 = 3.0 * sigma[:-1]
    d = (sigma[1:] - sigma[:-1]) / h
    coefs = np.vstack([d, c2, b, y[:-1]])
    return PPoly(coefs, x, extrapolate=True)


def _r_quantile(x: np.ndarray, prob: float) -> float:
    """R's default ``quantile`` (type 7)."""
    return float(np.quantile(x, prob))


def _trend_kind(trend: object) -> tuple[str, object]:
    """Classify a trend: ('parametric', (a1, a0)), ('mean', a), ('local', callable)."""
    trend = getattr(trend, "trend", trend)  # a Dispersions holds its DispersionTrend
    fit_type = getattr(trend, "fit_type", None)
    if fit_type is not None:  # a DispersionTrend
        if fit_type == "parametric":
            a1, a0 = trend.coefficients  # type: ignore[attr-defined]
            return "parametric", (float(a1), float(a0))
        if fit_type == "mean":
            return "mean", float(trend.mean_dispersion)  # type: ignore[attr-defined]
        return "local", trend
    if callable(trend):
        return "local", trend
    if isinstance(trend, int | float | np.floating | np.integer):
        return "mean", float(trend)
    try:
        a1, a0 = (float(v) for v in trend)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(
            f"trend={trend!r} is not a dispersion trend; give the parametric coefficients "
            "(asymptDisp, extraPois), one dispersion (fit type 'mean'), a function mean -> "
            "dispersion, or a Dispersions result."
        ) from None
    return "parametric", (a1, a0)


def _trend_function(kind: str, spec: object) -> Callable[[np.ndarray], np.ndarray]:
    if kind == "parametric":
        a1, a0 = spec  # type: ignore[misc]
        return lambda mu: a1 + a0 / np.asarray(mu, dtype=np.float64)
    if kind == "mean":
        return lambda mu: np.full(np.shape(mu), spec, dtype=np.float64)
    return spec  # type: ignore[return-value]


# --------------------------------------------------------------------------- transform


def vst_transform(counts: np.ndarray, *, trend: Trend, size_factors: np.ndarray | None = None,
                  normalization_factors: np.ndarray | None = None) -> np.ndarray:
    """Apply the VST for a given dispersion trend (DESeq2's ``getVarianceStabilizedData``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    trend
        ``(asymptDisp, extraPois)`` of a parametric trend (closed form), one dispersion
        (DESeq2's fit type ``mean``, closed form), a function mean normalised count ->
        dispersion (numerical integration, as for DESeq2's ``local`` fit), or a
        :class:`heatseq.de.dispersion.Dispersions` (its ``fit_type`` decides).
    size_factors
        One per sample; estimated with the median-of-ratios method when neither these nor
        ``normalization_factors`` are given.
    normalization_factors
        Gene- and sample-specific factors, samples x genes, instead of size factors.

    Returns
    -------
    numpy.ndarray
        Transformed counts, samples x genes.

    Raises
    ------
    InputError
        If the counts, factors or trend cannot be used.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[0, 10, 1000], [4, 20, 2000]])
    >>> vst_transform(counts, trend=(0.01, 2.0), size_factors=np.array([1.0, 2.0])).round(3)
    array([[ 6.229,  6.753, 10.161],
           [ 6.464,  6.753, 10.161]])
    """
    k = _as_counts(counts)
    divisor, sf = _factors(k, size_factors, normalization_factors)
    q = k / divisor
    kind, spec = _trend_kind(trend)
    if kind == "parametric":
        a1, a0 = spec  # type: ignore[misc]
        if not (a1 > 0 and a0 >= 0 and math.isfinite(a1) and math.isfinite(a0)):
            raise InputError(f"parametric trend coefficients (asymptDisp={a1}, extraPois={a0}) must be "
                             "a positive asymptDisp and a non-negative extraPois.")
        inner = 1.0 + a0 + 2.0 * a1 * q + 2.0 * np.sqrt(a1 * q * (1.0 + a0 + a1 * q))
        return np.log(inner / (4.0 * a1)) / math.log(2.0)
    if kind == "mean":
        a = float(spec)  # type: ignore[arg-type]
        if not (a > 0 and math.isfinite(a)):
            raise InputError(f"the mean dispersion {a} must be positive and finite.")
        return (2.0 * np.arcsinh(np.sqrt(a * q)) - math.log(a) - math.log(4.0)) / math.log(2.0)
    # local: numerical integration of 1/sqrt(variance) (R: getVarianceStabilizedData)
    if sf is None:
        sf = np.exp(np.mean(np.log(divisor), axis=1))
    qmax = float(q.max())
    if qmax <= 0:
        raise InputError("all counts are zero; the VST needs some positive counts.")
    xg = np.sinh(np.linspace(np.arcsinh(0.0), np.arcsinh(qmax), 1000))[1:]
    xim = float(np.mean(1.0 / sf))
    disp_at_grid = np.asarray(spec(xg), dtype=np.float64)  # type: ignore[operator]
    base_var = disp_at_grid * xg**2 + xim * xg
    integrand = 1.0 / np.sqrt(base_var)
    knots = np.arcsinh((xg[1:] + xg[:-1]) / 2.0)
    integral = np.cumsum(np.diff(xg) * (integrand[1:] + integrand[:-1]) / 2.0)
    if not np.all(np.isfinite(integral)):
        raise InputError("the dispersion trend gives non-finite or negative variances on the count "
                         "range; check the trend function.")
    spline = _fmm_spline(knots, integral)
    gene_means = q.mean(axis=0)
    h1 = _r_quantile(gene_means, 0.95)
    h2 = _r_quantile(gene_means, 0.999)
    s1, s2 = float(spline(math.asinh(h1))), float(spline(math.asinh(h2)))
    eta = (math.log2(h2) - math.log2(h1)) / (s2 - s1)
    xi = math.log2(h1) - eta * s1
    return eta * spline(np.arcsinh(q)) + xi


# --------------------------------------------------------------------------- fitting the trend


def _design_array(design: object, n_samples: int) -> np.ndarray:
    if design is None:
        return np.ones((n_samples, 1))
    matrix = getattr(design, "matrix", design)
    x = matrix.to_numpy(dtype=np.float64) if isinstance(matrix, pd.DataFrame) else np.asarray(
        matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != n_samples:
        raise InputError(f"design matrix has shape {x.shape}; it needs one row per sample "
                         f"({n_samples}).")
    return x


def _check_fit_type(fit_type: str) -> None:
    if fit_type not in FIT_TYPES:
        raise InputError(f"fit_type={fit_type!r} is not valid; choose one of {', '.join(FIT_TYPES)}.")


def _fit_trend(counts: np.ndarray, *, design: np.ndarray, size_factors: np.ndarray | None,
               normalization_factors: np.ndarray | None, fit_type: str) -> Any:
    """Gene-wise dispersions, then the trend (DESeq2's estimateDispersionsGeneEst + Fit)."""
    from heatseq.de.dispersion import fit_dispersion_trend, gene_wise_dispersions

    factors = ({"size_factors": size_factors} if normalization_factors is None
               else {"normalization_factors": normalization_factors})
    gw = gene_wise_dispersions(counts, design=design, **factors)
    return fit_dispersion_trend(gw.base_mean, gw.disp_gene_est, fit_type=fit_type)  # type: ignore[arg-type]


def _result(counts: np.ndarray, fit: Any, *, sf: np.ndarray | None, nf: np.ndarray | None,
            blind: bool, subset: np.ndarray | None, notes: tuple[str, ...]) -> VSTResult:
    kind, spec = _trend_kind(fit)
    values = vst_transform(counts, trend=fit, size_factors=sf, normalization_factors=nf)
    coefs = spec if kind == "parametric" else None
    fit_notes = tuple(getattr(fit, "notes", ()))
    return VSTResult(values=values, size_factors=sf, fit_type=kind,
                     trend_coefficients=coefs,  # type: ignore[arg-type]
                     dispersion_function=_trend_function(kind, spec), blind=blind, subset=subset,
                     notes=notes + fit_notes)


def vst_subset(base_mean: np.ndarray, *, nsub: int = 1000) -> np.ndarray:
    """Positions of the ``nsub`` genes DESeq2's ``vst()`` fits its trend on.

    Among genes with mean normalised count > 5, sorted by that mean (ties in input order),
    the genes at ranks ``round(seq(1, n, length.out = nsub))``.

    Parameters
    ----------
    base_mean
        Mean normalised count of each gene (n_genes,).
    nsub
        How many genes to pick.

    Returns
    -------
    numpy.ndarray
        0-based gene positions, in increasing order of mean.

    Raises
    ------
    InputError
        If fewer than ``nsub`` genes have a mean normalised count above 5.

    Examples
    --------
    >>> vst_subset(np.array([1.0, 8.0, 6.0, 30.0, 7.0]), nsub=3)  # R's round(2.5) is 2
    array([2, 4, 3])
    """
    base_mean = np.asarray(base_mean, dtype=np.float64)
    above = np.flatnonzero(base_mean > 5)
    if above.size < nsub:
        raise InputError(
            f"only {above.size} genes have a mean normalised count above 5, fewer than "
            f"nsub={nsub}; use variance_stabilizing_transformation() (trend fitted on all genes) or "
            "a smaller nsub."
        )
    order = np.argsort(base_mean[above], kind="stable")
    n = above.size
    if nsub == 1:
        ranks = np.array([1.0])
    else:
        by = (n - 1) / (nsub - 1)
        ranks = np.concatenate([[1.0], 1.0 + np.arange(1, nsub - 1) * by, [float(n)]])
    pick = np.round(ranks).astype(np.int64) - 1
    return above[order[pick]]


def vst(counts: np.ndarray, *, size_factors: np.ndarray | None = None, design: object = None,
        blind: bool = True, nsub: int = 1000, fit_type: FitType = "parametric",
        normalization_factors: np.ndarray | None = None) -> VSTResult:
    """Fast VST with the dispersion trend fitted on a subset of genes (DESeq2's ``vst()``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    size_factors
        One per sample; estimated (median of ratios) when neither these nor
        ``normalization_factors`` are given.
    design
        Design matrix (n_samples x p array, DataFrame or :class:`heatseq.de.design.Design`);
        used for the gene-wise dispersions when ``blind=False``.
    blind
        Estimate the trend blind to the design (design ``~ 1``), as for sample QC.
    nsub
        Number of genes, evenly spaced by mean normalised count among those above 5,
        the trend is fitted on.
    fit_type
        ``parametric``, ``local`` or ``mean`` (DESeq2's ``fitType``).
    normalization_factors
        Samples x genes factors instead of size factors.

    Returns
    -------
    VSTResult
        Transformed counts (samples x genes) and the trend used.

    Raises
    ------
    InputError
        If ``fit_type`` is not valid, there are fewer than ``nsub`` genes (or genes with mean
        normalised count > 5), or ``blind=False`` without a design.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mu = np.exp(rng.normal(4, 1.5, 3000))
    >>> counts = rng.negative_binomial(10, 10 / (10 + mu), size=(6, 3000))
    >>> res = vst(counts, size_factors=np.ones(6))
    >>> res.fit_type, res.subset.shape, res.values.shape
    ('parametric', (1000,), (6, 3000))
    """
    _check_fit_type(fit_type)
    k = _as_counts(counts)
    if k.shape[1] < nsub:
        raise InputError(f"counts have {k.shape[1]} genes, fewer than nsub={nsub}; use "
                         "variance_stabilizing_transformation() (trend fitted on all genes).")
    divisor, sf = _factors(k, size_factors, normalization_factors)
    nf = None if sf is not None else divisor
    if not blind and design is None:
        raise InputError("blind=False needs the design; give design=... or use blind=True.")
    x = _design_array(None if blind else design, k.shape[0])
    base_mean = (k / divisor).mean(axis=0)
    subset = vst_subset(base_mean, nsub=nsub)
    fit = _fit_trend(k[:, subset], design=x, size_factors=sf,
                     normalization_factors=None if nf is None else nf[:, subset],
                     fit_type=fit_type)
    return _result(k, fit, sf=sf, nf=nf, blind=blind, subset=subset, notes=())


def variance_stabilizing_transformation(
        counts: np.ndarray, *, size_factors: np.ndarray | None = None, design: object = None,
        blind: bool = True, fit_type: FitType = "parametric", dispersions: Any = None,
        normalization_factors: np.ndarray | None = None) -> VSTResult:
    """VST with the trend fitted on all genes (DESeq2's ``varianceStabilizingTransformation``).

    Parameters
    ----------
    counts
        Raw counts, samples x genes.
    size_factors
        One per sample; estimated (median of ratios) when neither these nor
        ``normalization_factors`` are given.
    design
        Design matrix, used for the gene-wise dispersions when ``blind=False`` and no
        ``dispersions`` are given.
    blind
        Re-estimate the trend blind to the design (design ``~ 1``). With ``blind=False`` an
        already fitted trend (``dispersions``) is reused, as in DESeq2.
    fit_type
        ``parametric``, ``local`` or ``mean``, when the trend is estimated here.
    dispersions
        A :class:`heatseq.de.dispersion.Dispersions` from the DE fit, reused when
        ``blind=False``.
    normalization_factors
        Samples x genes factors instead of size factors.

    Returns
    -------
    VSTResult
        Transformed counts (samples x genes) and the trend used.

    Raises
    ------
    InputError
        If ``fit_type`` is not valid, or ``blind=False`` with neither dispersions nor design.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.negative_binomial(10, 10 / (10 + np.exp(rng.normal(4, 1.5, 500))),
    ...                                size=(6, 500))
    >>> res = variance_stabilizing_transformation(counts, size_factors=np.ones(6))
    >>> res.fit_type, res.subset is None, res.values.shape
    ('parametric', True, (6, 500))
    """
    _check_fit_type(fit_type)
    k = _as_counts(counts)
    divisor, sf = _factors(k, size_factors, normalization_factors)
    nf = None if sf is not None else divisor
    if not blind and dispersions is not None:
        return _result(k, dispersions, sf=sf, nf=nf, blind=False, subset=None, notes=())
    if not blind and design is None:
        raise InputError("blind=False needs the fitted dispersions or the design; give "
                         "dispersions=... or design=..., or use blind=True.")
    x = _design_array(None if blind else design, k.shape[0])
    fit = _fit_trend(k, design=x, size_factors=sf, normalization_factors=nf, fit_type=fit_type)
    return _result(k, fit, sf=sf, nf=nf, blind=blind, subset=None, notes=())
