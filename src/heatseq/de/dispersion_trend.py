"""The dispersion-mean trend of DESeq2 (``estimateDispersionsFit``).

This module owns the fitted trend :math:`\\alpha_{tr}(\\bar\\mu)` of gene-wise dispersion
estimates on the mean of normalised counts (Love, Huber & Anders 2014, Genome Biology
15:550, "Methods: Dispersion estimation"), in DESeq2 1.38's three flavours:

``"parametric"`` (``parametricDispersionFit``)
    :math:`\\alpha_{tr}(\\bar\\mu) = a_0 + a_1/\\bar\\mu` (``asymptDisp``, ``extraPois``),
    fitted by a gamma-family GLM with identity link of the gene-wise estimates on
    :math:`1/\\bar\\mu`, started at (0.1, 1) and iterated: only genes whose ratio of
    estimate to current fit lies in (1e-4, 15) enter the next GLM, until
    :math:`\\sum \\log(a/a_{old})^2 < 10^{-6}` (at most 10 refits). A non-positive
    coefficient or no convergence makes DESeq2 fall back to ``"local"``; so does this
    module, and the note says so.
``"local"`` (``localDispersionFit``)
    locfit of :math:`\\log \\alpha_i` on :math:`\\log \\bar\\mu_i` with weights
    :math:`\\bar\\mu_i` (see :mod:`heatseq.de._locfit`).
``"mean"``
    The 0.1 %-trimmed mean of the gene-wise estimates above ``10 * min_disp``.

Genes with gene-wise estimate :math:`\\le 100 \\cdot` ``min_disp`` are left out of the
parametric and local fits, as in DESeq2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

from heatseq.de._locfit import LocfitFit, locfit_1d
from heatseq.errors import InputError

__all__ = ["DispersionTrend", "FitType", "fit_dispersion_trend"]

log = logging.getLogger(__name__)

FitType = Literal["parametric", "local", "mean"]
FIT_TYPES: tuple[str, ...] = ("parametric", "local", "mean")

PARAMETRIC_FALLBACK_NOTE = (
    "fitType='parametric', but the dispersion trend was not well captured by the function "
    "y = a/x + b, and a local regression fit was automatically substituted ({reason})."
)


@dataclass(frozen=True)
class DispersionTrend:
    """A fitted dispersion trend; call it with means to get fitted dispersions.

    Attributes
    ----------
    fit_type
        The trend actually used (``"local"`` when a parametric fit fell back).
    coefficients
        ``(asymptDisp, extraPois)`` of the parametric trend, else None.
    mean_dispersion
        The constant of the ``"mean"`` trend, else None.
    local_fit
        The locfit vertices of the ``"local"`` trend, else None.
    min_disp
        DESeq2's ``minDisp`` used for the fit.
    notes
        What fell back and why, in DESeq2's words.
    """

    fit_type: str
    coefficients: tuple[float, float] | None = None
    mean_dispersion: float | None = None
    local_fit: LocfitFit | None = None
    min_disp: float = 1e-8
    notes: tuple[str, ...] = ()

    def __call__(self, means: np.ndarray) -> np.ndarray:
        """Fitted dispersion at the given means of normalised counts."""
        m = np.asarray(means, dtype=np.float64)
        if self.fit_type == "parametric":
            assert self.coefficients is not None
            a0, a1 = self.coefficients
            return a0 + a1 / m
        if self.fit_type == "mean":
            assert self.mean_dispersion is not None
            return np.full(m.shape, self.mean_dispersion)
        assert self.local_fit is not None
        with np.errstate(divide="ignore"):
            return np.exp(self.local_fit.predict(np.log(m)))


class _TrendFitError(Exception):
    """The parametric trend could not be fitted (DESeq2 then uses the local fit)."""


def _gamma_identity_glm(y: np.ndarray, x: np.ndarray, start: np.ndarray, *,
                        epsilon: float = 1e-8, maxit: int = 25) -> tuple[np.ndarray, bool]:
    """R's ``glm.fit`` for ``family = Gamma(link = "identity")`` with ``start`` given.

    IRLS: working response ``y``, weights ``1 / mu^2``; step halving while a fitted mean
    is not positive; convergence when the relative change of the deviance is below
    ``epsilon``. Returns the coefficients and whether it converged.
    """

    def deviance(mu: np.ndarray) -> float:
        return float(np.sum(-2.0 * (np.log(y / mu) - (y - mu) / mu)))

    coef = start.astype(np.float64).copy()
    coefold = coef.copy()
    mu = x @ coef
    if not (np.all(np.isfinite(mu)) and np.all(mu > 0)):
        raise _TrendFitError("cannot find valid starting values")
    devold = deviance(mu)
    for _ in range(maxit):
        w = 1.0 / mu  # sqrt of the IRLS weight 1/mu^2
        new, *_ = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)
        mu = x @ new
        dev = deviance(mu) if np.all(mu > 0) else np.inf
        if not np.isfinite(dev):
            for _half in range(maxit):
                new = (new + coefold) / 2
                mu = x @ new
                if np.all(mu > 0):
                    dev = deviance(mu)
                    if np.isfinite(dev):
                        break
            else:
                raise _TrendFitError("inner loop 1; cannot correct step size")
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            return new, True
        devold = dev
        coef = coefold = new
    return coef, False


def _parametric(means: np.ndarray, disps: np.ndarray) -> tuple[float, float]:
    coefs = np.array([0.1, 1.0])
    for _ in range(11):
        residuals = disps / (coefs[0] + coefs[1] / means)
        good = (residuals > 1e-4) & (residuals < 15)
        if good.sum() < 2:
            raise _TrendFitError("too few genes near the trend")
        x = np.column_stack([np.ones(int(good.sum())), 1.0 / means[good]])
        old = coefs
        coefs, converged = _gamma_identity_glm(disps[good], x, coefs)
        if not np.all(coefs > 0):
            raise _TrendFitError("parametric dispersion fit failed")
        if np.sum(np.log(coefs / old) ** 2) < 1e-6 and converged:
            return float(coefs[0]), float(coefs[1])
    raise _TrendFitError("dispersion fit did not converge")


def _trimmed_mean(x: np.ndarray, trim: float) -> float:
    """R's ``mean(x, trim = trim)``."""
    n = x.size
    lo = int(np.floor(n * trim))
    if lo == 0:
        return float(np.mean(x))
    xs = np.sort(x)
    return float(np.mean(xs[lo:n - lo]))


def fit_dispersion_trend(base_mean: np.ndarray, disp_gene_est: np.ndarray, *,
                         fit_type: FitType = "parametric",
                         min_disp: float = 1e-8) -> DispersionTrend:
    """Fit DESeq2's dispersion trend to gene-wise estimates.

    Parameters
    ----------
    base_mean
        Mean of normalised counts per gene.
    disp_gene_est
        Gene-wise dispersion estimates; genes with NaN (all-zero genes) are ignored.
    fit_type
        ``"parametric"`` (DESeq2's default; falls back to ``"local"`` as DESeq2 does),
        ``"local"`` or ``"mean"``.
    min_disp
        DESeq2's ``minDisp``; genes at most ``100 * min_disp`` do not enter the fit.

    Returns
    -------
    DispersionTrend
        A callable trend that records the type used and any fallback.

    Raises
    ------
    InputError
        If ``fit_type`` is not valid, or every gene-wise estimate is within two orders of
        magnitude of ``min_disp`` (no trend can be fitted).
    """
    if fit_type not in FIT_TYPES:
        raise InputError(f"fit_type={fit_type!r} is not a dispersion trend; choose one of "
                         f"{', '.join(FIT_TYPES)}.")
    bm = np.asarray(base_mean, dtype=np.float64)
    de = np.asarray(disp_gene_est, dtype=np.float64)
    known = np.isfinite(de)
    use = known & (de > 100 * min_disp)
    if not use.any():
        raise InputError(
            "All gene-wise dispersion estimates are within 2 orders of magnitude of the "
            f"minimum ({min_disp:g}), so no dispersion trend can be fitted; use the gene-wise "
            "estimates as final dispersions instead.")
    notes: list[str] = []
    if fit_type == "parametric":
        try:
            a0, a1 = _parametric(bm[use], de[use])
            return DispersionTrend(fit_type="parametric", coefficients=(a0, a1),
                                   min_disp=min_disp)
        except (_TrendFitError, np.linalg.LinAlgError) as err:
            note = PARAMETRIC_FALLBACK_NOTE.format(reason=str(err))
            log.info(note)
            notes.append(note)
            fit_type = "local"
    if fit_type == "local":
        # (DESeq2 also drops estimates below 10 * min_disp here; none are left at this point)
        means, disps = bm[use], de[use]
        fit = locfit_1d(np.log(means), np.log(disps), weights=means)
        return DispersionTrend(fit_type="local", local_fit=fit, min_disp=min_disp,
                               notes=tuple(notes))
    use_mean = known & (de > 10 * min_disp)
    return DispersionTrend(fit_type="mean", mean_dispersion=_trimmed_mean(de[use_mean], 0.001),
                           min_disp=min_disp, notes=tuple(notes))
