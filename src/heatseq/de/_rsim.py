"""DESeq2's simulated prior variance of log dispersions for 1 to 3 residual degrees of freedom.

With :math:`1 \\le m - p \\le 3` the MAD of log dispersion residuals estimates their spread
poorly, so DESeq2 1.38 (``estimateDispersionsPriorVar``) matches the observed residuals to
simulated ones: for 200 prior variances :math:`\\sigma^2 \\in [0, 8]` it draws 10,000
values :math:`\\log(\\chi^2_{m-p}) + N(0, \\sigma^2) - \\log(m - p)` after
``set.seed(2)``, computes the Kullback-Leibler divergence between histograms (bins of width
0.5 on (-10, 10)), smooths the divergences with ``loess(span = 0.2)`` and takes the
variance of least divergence on a grid of 1,000 values (at least 0.25).

To give the same answer as R this private module reproduces R 4.2's random numbers exactly:
the Mersenne-Twister seeded by ``set.seed`` (numpy's MT19937 with R's scrambled key),
``unif_rand``, ``norm_rand`` by inversion (Wichura's AS 241 ``qnorm``), ``exp_rand``
(Ahrens & Dieter 1972), ``rgamma`` (Ahrens & Dieter 1974 GS for shape < 1 and 1982 GD
otherwise) and ``rchisq``; then ``hist`` and a one-dimensional ``loess`` with its k-d tree
and cubic Hermite interpolation (Cleveland, Grosse & Shyu 1992). Every gamma draw consumes
a variable number of uniforms, so draws are computed for every possible start position at
once and the sequence actually taken is found by pointer doubling.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__: list[str] = []

_TWO_M32 = 2.3283064365386963e-10  # 2^-32: R's MT_genrand scaling
_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1): R's fixup
_BIG = 134217728.0  # 2^27, norm_rand INVERSION
_EXP_Q = np.array([
    0.6931471805599453, 0.9333736875190459, 0.9888777961838675, 0.9984959252914960040,
    0.9998292811061389, 0.9999833164100727, 0.9999985691438767, 0.9999998906925558,
    0.9999999924734159, 0.9999999995283275, 0.9999999999728814, 0.9999999999985598,
    0.9999999999999289, 0.9999999999999968, 0.9999999999999999, 1.0000000000000000])


# --------------------------------------------------------------------------- uniforms
class _RUniforms:
    """R's ``unif_rand`` stream (Mersenne-Twister) after ``set.seed(seed)``.

    :meth:`window` returns the uniforms at absolute stream positions ``[start, stop)``;
    positions before the last requested start are discarded.
    """

    def __init__(self, seed: int) -> None:
        s = seed & 0xFFFFFFFF
        for _ in range(50):
            s = (69069 * s + 1) & 0xFFFFFFFF
        key = np.empty(625, dtype=np.uint64)
        for j in range(625):
            s = (69069 * s + 1) & 0xFFFFFFFF
            key[j] = s
        self._bitgen = np.random.MT19937()
        # i_seed[0] is the position counter (set to 624); i_seed[1:] is the state
        self._bitgen.state = {"bit_generator": "MT19937",
                              "state": {"key": key[1:].astype(np.uint32), "pos": 624}}
        self._base = 0
        self._values = np.zeros(0)

    def window(self, start: int, stop: int) -> np.ndarray:
        """Uniforms at positions ``start .. stop - 1`` (``start`` never decreases)."""
        drop = start - self._base
        if drop > 0:
            self._values = self._values[drop:]
            self._base = start
        need = stop - self._base - self._values.size
        if need > 0:
            raw = self._bitgen.random_raw(need + 65536) * _TWO_M32
            raw[raw <= 0.0] = 0.5 * _I2_32M1
            self._values = np.concatenate([self._values, raw])
        return self._values[start - self._base: stop - self._base]


# --------------------------------------------------------------------------- distributions
def _qnorm(p: np.ndarray) -> np.ndarray:
    """R 4.2's ``qnorm(p)`` (Wichura 1988, AS 241), lower tail, not log."""
    q = p - 0.5
    out = np.empty_like(p)
    central = np.abs(q) <= 0.425
    r = 0.180625 - q[central] * q[central]
    out[central] = q[central] * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r
                                      + 67265.770927008700853) * r + 45921.953931549871457) * r
                                    + 13731.693765509461125) * r + 1971.5909503065514427) * r
                                  + 133.14166789178437745) * r + 3.387132872796366608) / (
        ((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) * r
            + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
         + 42.313330701600911252) * r + 1.0)
    tail = ~central
    qt, pt = q[tail], p[tail]
    rr = np.sqrt(-np.log(np.where(qt > 0, (0.5 - pt) + 0.5, pt)))
    val = np.empty_like(rr)
    near = rr <= 5.0
    r1 = rr[near] - 1.6
    val[near] = (((((((r1 * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r1
                      + 0.24178072517745061177) * r1 + 1.27045825245236838258) * r1
                    + 3.64784832476320460504) * r1 + 5.7694972214606914055) * r1
                  + 4.6303378461565452959) * r1 + 1.42343711074968357734) / (
        ((((((r1 * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r1
             + 0.0151986665636164571966) * r1 + 0.14810397642748007459) * r1
           + 0.68976733498510000455) * r1 + 1.6763848301838038494) * r1
         + 2.05319162663775882187) * r1 + 1.0)
    r2 = rr[~near] - 5.0
    val[~near] = (((((((r2 * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r2
                       + 0.0012426609473880784386) * r2 + 0.026532189526576123093) * r2
                     + 0.29656057182850489123) * r2 + 1.7848265399172913358) * r2
                   + 5.4637849111641143699) * r2 + 6.6579046435011037772) / (
        ((((((r2 * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r2
             + 1.8463183175100546818e-5) * r2 + 7.868691311456132591e-4) * r2
           + 0.0148753612908506148525) * r2 + 0.13692988092273580531) * r2
         + 0.59983220655588793769) * r2 + 1.0)
    out[tail] = np.where(qt < 0, -val, val)
    return out


def _norm_at(u: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``norm_rand()`` (inversion) drawn at stream positions ``pos`` (uses pos and pos+1)."""
    v = np.trunc(_BIG * u[pos]) + u[pos + 1]
    return _qnorm(v / _BIG)


def _repeated_sums(step: float, n: int) -> np.ndarray:
    """``[0, step, step + step, ...]`` summed one addition at a time, as the C loop does."""
    out = np.zeros(n)
    for j in range(1, n):
        out[j] = out[j - 1] + step
    return out


_EXP_A = _repeated_sums(float(_EXP_Q[0]), 80)


def _exp_at(u: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exp_rand()`` started at stream positions ``pos``: (value, uniforms used)."""
    x0 = u[pos]
    # "u += u until u > 1", adding log 2 for every doubling that stays <= 1: with
    # u = f 2^e (0.5 <= f < 1) that is k = 1 - e doublings (2 - e when f == 0.5)
    frac, expo = np.frexp(x0)
    k = np.where(frac > 0.5, 1 - expo, 2 - expo)
    x = np.ldexp(x0, k) - 1.0
    a = _EXP_A[k - 1]
    value = a + x
    used = np.ones(pos.size, dtype=np.int64)
    far = x > _EXP_Q[0]
    if far.any():
        xf, pf = x[far], pos[far]
        # i = the first index >= 1 with x <= q[i]; uniforms p+1 .. p+1+i are drawn
        i = np.maximum(np.searchsorted(_EXP_Q, xf, side="left"), 1)
        umin = u[pf + 1]
        for j in range(1, int(i.max()) + 1):
            take = j <= i
            umin = np.where(take, np.minimum(umin, u[pf + 1 + np.where(take, j, 0)]), umin)
        value[far] = a[far] + umin * _EXP_Q[0]
        used[far] = 2 + i
    return value, used


class _GammaGD:
    """R's ``rgamma(a, scale)`` for ``a >= 1`` (Ahrens & Dieter 1982, algorithm GD)."""

    q = (0.04166669, 0.02083148, 0.00801191, 0.00144121, -7.388e-5, 2.4511e-4, 2.424e-4)
    av = (0.3333333, -0.250003, 0.2000062, -0.1662921, 0.1423657, -0.1367177, 0.1233795)

    def __init__(self, a: float) -> None:
        self.a = a
        self.s2 = a - 0.5
        self.s = np.sqrt(self.s2)
        self.d = 5.656854 - self.s * 12.0
        r = 1.0 / a
        q1, q2, q3, q4, q5, q6, q7 = self.q
        self.q0 = ((((((q7 * r + q6) * r + q5) * r + q4) * r + q3) * r + q2) * r + q1) * r
        s, s2 = self.s, self.s2
        if a <= 3.686:
            self.b, self.si, self.c = 0.463 + s + 0.178 * s2, 1.235, 0.195 / s - 0.079 + 0.16 * s
        elif a <= 13.022:
            self.b, self.si, self.c = 1.654 + 0.0076 * s2, 1.68 / s + 0.275, 0.062 / s + 0.024
        else:
            self.b, self.si, self.c = 1.77, 0.75, 0.1515 / s

    def _quotient(self, t: np.ndarray) -> np.ndarray:
        a1, a2, a3, a4, a5, a6, a7 = self.av
        s, s2 = self.s, self.s2
        v = t / (s + s)
        small = np.abs(v) <= 0.25
        poly = self.q0 + 0.5 * t * t * ((((((a7 * v + a6) * v + a5) * v + a4) * v + a3) * v
                                         + a2) * v + a1) * v
        with np.errstate(invalid="ignore", divide="ignore"):
            big = self.q0 - s * t + 0.25 * t * t + (s2 + s2) * np.log(1.0 + v)
        return np.where(small, poly, big)

    def draws_at(self, u: np.ndarray, pos: np.ndarray, scale: float) -> tuple[np.ndarray,
                                                                              np.ndarray]:
        """One draw started at each position: (value, uniforms used)."""
        t = _norm_at(u, pos)
        x = self.s + 0.5 * t
        value = scale * (x * x)
        used = np.full(pos.size, 2, dtype=np.int64)
        rest = t < 0.0
        uu = u[pos + 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            squeeze = self.d * uu <= t * t * t
            quotient = (x > 0.0) & (np.log(1.0 - uu) <= self._quotient(t))
        used[rest] = 3
        slow = rest & ~squeeze & ~quotient
        if slow.any():
            v_slow, u_slow = self._double_exponential(u, pos[slow] + 3, scale)
            value[slow] = v_slow
            used[slow] = 3 + u_slow
        return value, used

    def _round_table(self, u: np.ndarray, n_tab: int) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
        """One pass of steps 8-11 started at every position < ``n_tab``.

        Returns (t, accepted, position after the round).
        """
        pos = np.arange(n_tab)
        e, ue = _exp_at(u, pos)
        after = pos + ue
        uu = u[after]
        uu = uu + uu - 1.0
        t = np.where(uu < 0.0, self.b - self.si * e, self.b + self.si * e)
        ok = t >= -0.71874483771719
        q = np.where(ok, self._quotient(np.where(ok, t, 0.0)), -1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            accept = (q > 0.0) & (self.c * np.abs(uu) <= np.expm1(q) * np.exp(e - 0.5 * t * t))
        return t, accept, after + 1

    def _double_exponential(self, u: np.ndarray, start: np.ndarray,
                            scale: float) -> tuple[np.ndarray, np.ndarray]:
        """Steps 8-11 (the rejection loop) from positions ``start``: (value, uniforms used).

        Rounds are evaluated once for every stream position; the first accepted round of
        each start is then found by pointer doubling over "next round" links.
        """
        n_tab = u.size - 64
        t_round, accept, nxt = self._round_table(u, n_tab)
        jump = np.append(np.where(accept, np.arange(n_tab), np.minimum(nxt, n_tab)), n_tab)
        for _ in range(64):
            doubled = jump[jump]
            if np.array_equal(doubled, jump):
                break
            jump = doubled
        first = jump[start]
        if np.any(first >= n_tab):  # pragma: no cover - the stream window is generous
            raise RuntimeError("the uniform stream window is too short for rgamma")
        x = self.s + 0.5 * t_round[first]
        return scale * x * x, nxt[first] - start


class _GammaGS:
    """R's ``rgamma(a, scale)`` for ``0 < a < 1`` (Ahrens & Dieter 1974, algorithm GS)."""

    def __init__(self, a: float) -> None:
        self.a = a
        self.e = 1.0 + 0.36787944117144232159 * a

    def draws_at(self, u: np.ndarray, pos: np.ndarray, scale: float) -> tuple[np.ndarray,
                                                                              np.ndarray]:
        a, e = self.a, self.e
        n = pos.size
        p = pos.copy()
        x_out = np.zeros(n)
        todo = np.arange(n)
        while todo.size:
            pp = e * u[p[todo]]
            p[todo] += 1
            ex, ue = _exp_at(u, p[todo])
            p[todo] += ue
            with np.errstate(invalid="ignore", divide="ignore"):
                x = np.where(pp >= 1.0, -np.log((e - pp) / a), np.exp(np.log(pp) / a))
                bound = np.where(pp >= 1.0, (1.0 - a) * np.log(x), x)
            accept = ex >= bound
            x_out[todo[accept]] = x[accept]
            todo = todo[~accept]
        return scale * x_out, p - pos


def _chain(used: np.ndarray, n: int) -> np.ndarray | None:
    """Offsets of ``n`` consecutive draws from offset 0 when draw at offset j uses ``used[j]``.

    Returns None when the window is too short.
    """
    w = used.size
    nxt = np.minimum(np.arange(w) + used, w)  # w is an absorbing "beyond the window" state
    nxt = np.append(nxt, w)
    steps = np.arange(n)
    pos = np.zeros(n, dtype=np.int64)
    jump = nxt
    bit = 0
    while (1 << bit) < n:
        has = (steps >> bit) & 1 == 1
        pos = np.where(has, jump[pos], pos)
        jump = jump[jump]
        bit += 1
    if pos[-1] >= w:
        return None
    return pos


def _rchisq(stream: _RUniforms, start: int, n: int, df: float, *,
            window: int) -> tuple[np.ndarray, int]:
    """``rchisq(n, df)`` from stream position ``start``: (values, next position).

    ``window`` is the number of start positions to evaluate; it doubles until the ``n``
    draws fit.
    """
    a = df / 2.0
    gen: _GammaGD | _GammaGS = _GammaGD(a) if a >= 1.0 else _GammaGS(a)
    while True:
        u = stream.window(start, start + window + 4096)
        values, used = gen.draws_at(u, np.arange(window), 2.0)
        offsets = _chain(used, n)
        if offsets is not None:
            end = int(offsets[-1] + used[offsets[-1]])
            return values[offsets], start + end
        window *= 2


def _rnorm(stream: _RUniforms, start: int, n: int, sd: float) -> tuple[np.ndarray, int]:
    """``rnorm(n, 0, sd)``: 0 + sd * norm_rand(); with sd = 0 no uniform is drawn."""
    if sd == 0.0:
        return np.zeros(n), start
    z = _norm_at(stream.window(start, start + 2 * n), 2 * np.arange(n))
    return 0.0 + sd * z, start + 2 * n


def _hist_density(x: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """``hist(x, breaks, plot = FALSE)$density`` (right-closed bins, R's fuzz)."""
    h = np.diff(breaks)
    diddle = 1e-7 * float(np.median(h))
    fuzzy = breaks + np.concatenate([[-diddle], np.full(breaks.size - 1, diddle)])
    idx = np.searchsorted(fuzzy, x, side="left") - 1
    counts = np.bincount(idx[(idx >= 0) & (idx < h.size)], minlength=h.size).astype(float)
    return counts / (x.size * h)


# --------------------------------------------------------------------------- loess
def _loess_vertex_fit(v: float, x: np.ndarray, y: np.ndarray, nf: int) -> tuple[float, float]:
    """loess's local quadratic at ``v`` (``ehg127``): value and slope."""
    dist = (x - v) ** 2
    order = np.argsort(dist, kind="stable")[:nf]
    rho = dist[order[-1]]
    wts = np.sqrt((1.0 - np.sqrt(dist[order] / rho) ** 3) ** 3)
    d = x[order] - v
    design = np.column_stack([wts, wts * d, wts * d * d])
    coef, *_ = np.linalg.lstsq(design, wts * y[order], rcond=None)
    return float(coef[0]), float(coef[1])


def _loess_predict(x: np.ndarray, y: np.ndarray, new: np.ndarray, *, span: float,
                   cell: float = 0.2) -> np.ndarray:
    """``predict(loess(y ~ x, span = span), new)``: degree 2, surface "interpolate"."""
    n = x.size
    nf = min(n, int(np.floor(n * span)))
    fc = int(np.floor(n * span * cell))
    xs = np.sort(x)
    margin = 0.005 * max(xs[-1] - xs[0], 1e-10 * max(abs(xs[0]), abs(xs[-1])) + 1e-30)
    verts = {xs[0] - margin, xs[-1] + margin}

    def split(lo: int, hi: int, left: float, right: float) -> None:
        # cell with sorted points lo..hi (0-based, inclusive)
        if hi - lo + 1 <= fc:
            return
        m = (lo + hi + 2) // 2 - 1  # Fortran m = (l + u) / 2 with 1-based l, u
        while m + 1 <= hi and xs[m] == xs[m + 1]:  # ties go with the upper son
            m += 1
        if m >= hi or xs[m] in (left, right):
            return
        verts.add(float(xs[m]))
        split(lo, m, left, xs[m])
        split(m + 1, hi, xs[m], right)

    split(0, n - 1, xs[0] - margin, xs[-1] + margin)
    v = np.array(sorted(verts))
    fits = np.array([_loess_vertex_fit(vv, x, y, nf) for vv in v])
    k = np.clip(np.searchsorted(v, new, side="left") - 1, 0, v.size - 2)
    lo_v, hi_v = v[k], v[k + 1]
    width = hi_v - lo_v
    h = (new - lo_v) / width
    phi0 = (1 - h) ** 2 * (1 + 2 * h)
    phi1 = h ** 2 * (3 - 2 * h)
    psi0 = h * (1 - h) ** 2
    psi1 = h ** 2 * (h - 1)
    return (phi0 * fits[k, 0] + phi1 * fits[k + 1, 0]
            + (psi0 * fits[k, 1] + psi1 * fits[k + 1, 1]) * width)


# --------------------------------------------------------------------------- the estimate
_BREAKS = np.arange(-20, 21) / 2.0
_VAR_GRID = np.linspace(0.0, 8.0, 200)


_SHIPPED = "rsim_densities.npz"  # in heatseq/data; rebuilt by write_simulated_densities()


def compute_simulated_densities(df: int) -> np.ndarray:
    """Histogram densities of the 200 simulated samples (one row per prior variance),
    drawn exactly as R does after ``set.seed(2)``. They depend only on ``df``."""
    stream = _RUniforms(2)
    out = np.empty((_VAR_GRID.size, _BREAKS.size - 1))
    pos = 0
    log_df = np.log(float(df))
    window = 40_000
    for i, var in enumerate(_VAR_GRID):
        before = pos
        chisq, pos = _rchisq(stream, pos, 10_000, float(df), window=window)
        window = int(1.08 * (pos - before)) + 256
        noise, pos = _rnorm(stream, pos, 10_000, float(np.sqrt(var)))
        rand = np.log(chisq) + noise - log_df
        rand = rand[(rand > _BREAKS[0]) & (rand < _BREAKS[-1])]
        out[i] = _hist_density(rand, _BREAKS)
    return out


def write_simulated_densities(path: str) -> None:
    """Write the densities for df = 1, 2, 3 (the only ones DESeq2 simulates) to ``path``."""
    np.savez_compressed(path, **{f"df{df}": compute_simulated_densities(df) for df in (1, 2, 3)})


@lru_cache(maxsize=4)
def _simulated_densities(df: int) -> np.ndarray:
    """The densities for ``df``: from the table shipped in the package (1.2 s saved per run;
    a test checks it equals a fresh simulation), else simulated now."""
    from importlib.resources import files

    try:
        with files("heatseq.data").joinpath(_SHIPPED).open("rb") as fh:
            out = np.load(fh)[f"df{int(df)}"]
    except (FileNotFoundError, KeyError, OSError):
        out = compute_simulated_densities(df)
    out.setflags(write=False)
    return out


def simulated_prior_variance(residuals: np.ndarray, *, df: int) -> float:
    """DESeq2's argmin-KL prior variance for ``1 <= df = m - p <= 3`` (before the 0.25 floor).

    ``residuals`` are the log dispersion residuals of genes with gene-wise estimates at least
    100 times the minimum dispersion.
    """
    obs = np.asarray(residuals, dtype=np.float64)
    obs = obs[(obs > _BREAKS[0]) & (obs < _BREAKS[-1])]
    obs_density = _hist_density(obs, _BREAKS)
    kl = np.empty(_VAR_GRID.size)
    for i, rand_density in enumerate(_simulated_densities(int(df))):
        z = np.concatenate([obs_density, rand_density])
        small = z[z > 0].min()
        kl[i] = np.sum(obs_density * (np.log(obs_density + small) - np.log(rand_density + small)))
    fine = np.linspace(0.0, 8.0, 1000)
    fitted = _loess_predict(_VAR_GRID, kl, fine, span=0.2)
    return float(fine[int(np.argmin(fitted))])
