"""One-dimensional local regression as R's ``locfit`` computes it with its defaults.

DESeq2's ``fitType="local"`` trend (``localDispersionFit``) is
``locfit(log(disp) ~ log(mean), weights = mean)`` evaluated with ``predict``. This private
module reproduces what locfit 1.5-9 (Loader 1999, *Local Regression and Likelihood*,
Springer; C sources ``ev_atree.c``, ``ev_interp.c``, ``lf_nbhd.c``) does for one predictor
with the defaults ``alpha = 0.7`` (nearest-neighbour fraction), ``deg = 2``,
``kern = "tricube"``, Gaussian family, and the adaptive-tree evaluation structure
``ev = rbox(cut = 0.8)``:

* Fits are computed only at *vertices*. The first two are the ends of the data range. A
  cell :math:`[l, u]` is halved while :math:`(u - l) / \\min(h_l, h_u) > 0.8`, where
  :math:`h_v` is the bandwidth at vertex *v* (so in one dimension every vertex carries a
  real fit).
* At a vertex *v* the bandwidth is the distance to the :math:`k`-th nearest data point,
  :math:`k = \\lfloor 0.7 n \\rfloor`; weights are the prior weights times the tricube kernel
  :math:`(1 - (|x_i - v| / h)^3)^3`; a weighted least-squares quadratic in
  :math:`x_i - v` gives the value and slope at *v*.
* locfit first fits a global weighted quadratic (the "parametric component", centred at
  the weighted mean of *x*) and stores vertex values and slopes minus that component.
* Predictions use the leaf cell containing *x*, cubic Hermite interpolation of the two
  vertex values and slopes, plus the parametric component; outside the data range the end
  slope extrapolates linearly, so the trend continues as the global quadratic's curvature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__: list[str] = []

_ALPHA = 0.7
_CUT = 0.8
_MAX_VERTICES = 19  # locfit's atree_guessnv for d = 1, alpha = 0.7, cut = 0.8, mk = 100


@dataclass(frozen=True)
class LocfitFit:
    """Vertices (sorted) with the local fit's value, slope and bandwidth at each.

    ``values`` and ``slopes`` are those of the local fit minus the parametric component
    ``pc_coef`` (a quadratic in ``x - pc_center`` with basis ``1, u, u^2 / 2``).
    """

    vertices: np.ndarray
    values: np.ndarray
    slopes: np.ndarray
    bandwidths: np.ndarray
    pc_center: float = 0.0
    pc_coef: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _pc(self, x: np.ndarray) -> np.ndarray:
        u = x - self.pc_center
        c0, c1, c2 = self.pc_coef
        return c0 + c1 * u + c2 * 0.5 * u * u

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the fit at ``x`` by cubic Hermite interpolation between vertices."""
        xv = np.asarray(x, dtype=np.float64)
        v = self.vertices
        k = np.clip(np.searchsorted(v, xv, side="right") - 1, 0, v.size - 2)
        lo, hi = v[k], v[k + 1]
        width = hi - lo
        h = (xv - lo) / width
        p1 = h * h * (3 - 2 * h)
        p0 = 1 - p1
        p2 = h * (1 - h) * (1 - h)
        p3 = h * h * (h - 1)
        below, above = h < 0, h > 1
        p0 = np.where(below, 1.0, np.where(above, 0.0, p0))
        p1 = np.where(below, 0.0, np.where(above, 1.0, p1))
        p2 = np.where(below, h, np.where(above, 0.0, p2))
        p3 = np.where(below, 0.0, np.where(above, h - 1, p3))
        f0, f1 = self.values[k], self.values[k + 1]
        d0, d1 = self.slopes[k], self.slopes[k + 1]
        return p0 * f0 + p1 * f1 + (p2 * width) * d0 + (p3 * width) * d1 + self._pc(xv)


def _wls_quadratic(v: float, x: np.ndarray, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """Weighted least-squares coefficients of ``1, u, u^2 / 2`` with ``u = x - v``."""
    keep = wt > 0
    d = x[keep] - v
    basis = np.column_stack([np.ones(d.size), d, 0.5 * d * d])
    sw = np.sqrt(wt[keep])
    coef, *_ = np.linalg.lstsq(basis * sw[:, None], y[keep] * sw, rcond=None)
    return coef


def _vertex_fit(v: float, x: np.ndarray, y: np.ndarray, w: np.ndarray,
                k: int) -> tuple[float, float, float]:
    """Local quadratic fit at ``v``: (value, slope, bandwidth)."""
    dist = np.abs(x - v)
    h = float(np.partition(dist, k - 1)[k - 1]) if k < x.size else float(dist.max())
    if k >= x.size:
        # locfit: nnh = max distance * (k/n)^(1/d) when k >= n
        h = h * (k / x.size)
    u = dist / h if h > 0 else np.where(dist > 0, np.inf, 0.0)
    kern = np.where(u < 1, (1 - u ** 3) ** 3, 0.0)
    coef = _wls_quadratic(v, x, y, w * kern)
    return float(coef[0]), float(coef[1]), h


def locfit_1d(x: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None) -> LocfitFit:
    """Fit locfit's default local quadratic of ``y`` on ``x`` (one predictor)."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    ws = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=np.float64)
    n = xs.size
    lo, hi = float(xs.min()), float(xs.max())
    if n < 3 or hi == lo:
        # too few distinct points for a local quadratic: a constant (weighted mean) fit
        level = float(np.sum(ws * ys) / np.sum(ws))
        return LocfitFit(vertices=np.array([lo, lo + 1.0]), values=np.array([level, level]),
                         slopes=np.zeros(2), bandwidths=np.zeros(2), pc_center=lo)
    k = int(n * _ALPHA + 1e-12)
    fits: dict[float, tuple[float, float, float]] = {}

    def fit_at(v: float) -> tuple[float, float, float]:
        if v not in fits:
            fits[v] = _vertex_fit(v, xs, ys, ws, k)
        return fits[v]

    box = hi - lo

    def grow(ll: float, ur: float) -> None:
        h_l, h_u = fit_at(ll)[2], fit_at(ur)[2]
        positive = [h for h in (h_l, h_u) if h > 0]
        score = (ur - ll) / min(positive) if positive else 2 * (ur - ll) / box
        if not score > _CUT or len(fits) >= _MAX_VERTICES:
            return
        mid = (ur + ll) / 2
        fit_at(mid)
        grow(ll, mid)
        grow(mid, ur)

    fit_at(lo)
    fit_at(hi)
    grow(lo, hi)
    # the parametric component: a global weighted quadratic centred at the weighted mean
    center = float(np.sum(ws * xs) / np.sum(ws))
    pc = _wls_quadratic(center, xs, ys, ws)
    verts = np.array(sorted(fits))
    vals = np.array([fits[v] for v in verts])
    u = verts - center
    vals[:, 0] -= pc[0] + pc[1] * u + pc[2] * 0.5 * u * u
    vals[:, 1] -= pc[1] + pc[2] * u
    return LocfitFit(vertices=verts, values=vals[:, 0], slopes=vals[:, 1],
                     bandwidths=vals[:, 2], pc_center=center,
                     pc_coef=(float(pc[0]), float(pc[1]), float(pc[2])))
