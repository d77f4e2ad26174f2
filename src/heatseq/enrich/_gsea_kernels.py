"""Compiled kernels of preranked GSEA (numba): set scores, the gene-permutation null and the
adaptive multilevel splitting stage.

:mod:`heatseq.enrich.gsea` owns the method (what is computed and why, the conventions and the
parameters); this module owns only the loops, each a direct transcription of the formulas
documented there, compiled because every one of them walks the ranks of a set gene by gene:

- ``set_scores``: ES+, ES-, peak and trough of each set (CSR of sorted ranks), two passes of
  O(k) per set;
- ``null_es``: the signed ES of random sets of every needed size. Permutation ``p`` is one
  partial Fisher-Yates shuffle of ``range(n)`` driven by the uniforms ``u[:, p]``; its first
  ``k`` genes are a uniform random k-subset, kept sorted by insertion, so one pass serves
  every size (as fgsea's ``calcGseaStatCumulativeBatch``). The shuffle is undone after each
  permutation, so the random set of size ``k`` depends only on ``u[:k, p]``: a set's null
  does not depend on the other sets;
- ``multilevel``: adaptive multilevel splitting (Korotkevich et al. 2021) for one set size and
  sign: ``B`` samples, levels at the median ES+, splitting, and Metropolis gene swaps that keep
  ES+ above the level, driven by a xoshiro256** generator seeded from the caller's key, so
  the result depends only on the key, the size, the ranking and the targets.

All functions are ``cache=True`` (compiled once per installation, then loaded) and
``nogil=True`` (the caller may run independent groups on threads).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["multilevel", "null_es", "set_scores"]

_TOL = 1e-12
_MAX_STALL = 20
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


# ------------------------------------------------------------------ random numbers
@njit(cache=True, nogil=True)
def _splitmix(x: np.uint64) -> tuple[np.uint64, np.uint64]:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def _seed_state(key: np.ndarray) -> np.ndarray:
    """xoshiro256** state from a key of unsigned integers (splitmix64 over the key)."""
    x = np.uint64(0x243F6A8885A308D3)
    for v in key:
        x, z = _splitmix(x ^ np.uint64(v))
        x = z
    s = np.empty(4, dtype=np.uint64)
    for i in range(4):
        x, s[i] = _splitmix(x)
    return s


@njit(cache=True, nogil=True)
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, nogil=True)
def _next(s: np.ndarray) -> np.uint64:
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True, nogil=True)
def _below(s: np.ndarray, m: int) -> int:
    """A uniform integer in [0, m) (53-bit float scaled: bias below 2**-40 for m < 2**13)."""
    u = (_next(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    r = int(u * m)
    return r if r < m else m - 1


# ------------------------------------------------------------------ scores
@njit(cache=True, nogil=True)
def _signed_es(pos: np.ndarray, k: int, w: np.ndarray, n: int, nr: float) -> float:
    """Signed ES of the sorted ranks ``pos[:k]`` (the deviation of larger magnitude)."""
    inv = 1.0 / (nr if nr > 0 else 1.0)
    im = 1.0 / (n - k)
    cw = 0.0
    mx = 0.0
    mn = 0.0
    for j in range(k):
        p = pos[j]
        miss = (p - j) * im
        before = cw * inv - miss
        if before < mn:
            mn = before
        cw += w[p]
        after = cw * inv - miss
        if after > mx:
            mx = after
    return mx if mx >= -mn else mn


@njit(cache=True, nogil=True)
def set_scores(flat: np.ndarray, indptr: np.ndarray, w: np.ndarray, n: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ES+, ES-, and the columns of the first peak and trough (within 1e-12) of each set."""
    m = len(indptr) - 1
    es_pos = np.empty(m)
    es_neg = np.empty(m)
    top = np.zeros(m, dtype=np.int64)
    bottom = np.zeros(m, dtype=np.int64)
    for s in range(m):
        a = indptr[s]
        k = indptr[s + 1] - a
        nr = 0.0
        for j in range(k):
            nr += w[flat[a + j]]
        inv = 1.0 / (nr if nr > 0 else 1.0)
        im = 1.0 / (n - k)
        cw = 0.0
        mx = 0.0
        mn = 0.0
        for j in range(k):
            p = flat[a + j]
            miss = (p - j) * im
            before = cw * inv - miss
            if before < mn:
                mn = before
            cw += w[p]
            after = cw * inv - miss
            if after > mx:
                mx = after
        es_pos[s] = mx
        es_neg[s] = mn
        cw = 0.0
        found_top = False
        found_bottom = False
        for j in range(k):   # the first positions within rounding of the extremes
            p = flat[a + j]
            miss = (p - j) * im
            before = cw * inv - miss
            if not found_bottom and before <= mn + _TOL:
                bottom[s] = j
                found_bottom = True
            cw += w[p]
            after = cw * inv - miss
            if not found_top and after >= mx - _TOL:
                top[s] = j
                found_top = True
    return es_pos, es_neg, top, bottom


@njit(cache=True, nogil=True)
def null_es(u: np.ndarray, sizes: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Signed null ES, shape (len(sizes), n_perm), for ascending distinct ``sizes``;
    ``u`` is (max(sizes), n_perm) uniforms in [0, 1)."""
    kmax, n_perm = u.shape
    out = np.empty((len(sizes), n_perm))
    perm = np.arange(n)
    swaps = np.empty(kmax, dtype=np.int64)
    pos = np.empty(kmax, dtype=np.int64)
    for p in range(n_perm):
        nr = 0.0
        si = 0
        last = kmax - 1
        for i in range(kmax):
            j = i + int(u[i, p] * (n - i))
            if j >= n:
                j = n - 1
            swaps[i] = j
            g = perm[j]
            perm[j] = perm[i]
            perm[i] = g
            q = i
            while q > 0 and pos[q - 1] > g:
                pos[q] = pos[q - 1]
                q -= 1
            pos[q] = g
            nr += w[g]
            if i + 1 == sizes[si]:
                out[si, p] = _signed_es(pos, i + 1, w, n, nr)
                si += 1
                if si == len(sizes):
                    last = i
                    break
        for i in range(last, -1, -1):   # undo the shuffle
            j = swaps[i]
            g = perm[j]
            perm[j] = perm[i]
            perm[i] = g
    return out


# ------------------------------------------------------------------ multilevel
@njit(cache=True, nogil=True)
def _es_max(pos: np.ndarray, k: int, w: np.ndarray, n: int) -> float:
    nr = 0.0
    for j in range(k):
        nr += w[pos[j]]
    inv = 1.0 / (nr if nr > 0 else 1.0)
    im = 1.0 / (n - k)
    cw = 0.0
    mx = 0.0
    for j in range(k):
        cw += w[pos[j]]
        after = cw * inv - (pos[j] - j) * im
        if after > mx:
            mx = after
    return mx


@njit(cache=True, nogil=True)
def _reaches(pos: np.ndarray, k: int, drop: int, g: int, ins: int, nr: float,
             w: np.ndarray, n: int, bound: float) -> tuple[int, float]:
    """The first point of the running sum at or above ``bound`` (its index and cumulative
    weight) for the set ``pos[:k]`` with member ``drop`` removed and rank ``g`` inserted at
    position ``ins`` of the new order; index -1 when ES+ < bound. The scan also stops once
    no later point can reach the bound (the sum is below ``1 - misses / (n - k)`` and misses
    only grow)."""
    inv = 1.0 / (nr if nr > 0 else 1.0)
    im = 1.0 / (n - k)
    cw = 0.0
    src = 0
    for j in range(k):
        if j == ins:
            p = g
        else:
            if src == drop:
                src += 1
            p = pos[src]
            src += 1
        miss = (p - j) * im
        cw += w[p]
        if cw * inv - miss >= bound:
            return j, cw
        if 1.0 - miss < bound:
            return -1, 0.0
    return -1, 0.0


@njit(cache=True, nogil=True)
def _witness(pos: np.ndarray, k: int, w: np.ndarray, n: int, nr: float, bound: float
             ) -> tuple[int, float]:
    """The first point of the running sum of ``pos[:k]`` at or above ``bound`` (index and
    cumulative weight), or -1."""
    inv = 1.0 / (nr if nr > 0 else 1.0)
    im = 1.0 / (n - k)
    cw = 0.0
    for j in range(k):
        cw += w[pos[j]]
        if cw * inv - (pos[j] - j) * im >= bound:
            return j, cw
    return -1, 0.0


@njit(cache=True, nogil=True)
def _mcmc(pos: np.ndarray, k: int, w: np.ndarray, n: int, bound: float, steps: int,
          state: np.ndarray) -> None:
    """Metropolis gene swaps on one sample (sorted ranks, in place) keeping ES+ >= bound.

    A proposal removes a random member and inserts a random non-member (rejected when the
    gene is already a member or ES+ falls below the bound; the proposal is symmetric, so the
    chain keeps the uniform law on the sets above the bound). The sample keeps a witness, a
    point of its running sum at or above the bound: when both changes lie after it, only
    the total weight changes before it, so the witness is checked in O(1) instead of a
    scan."""
    nr = 0.0
    for j in range(k):
        nr += w[pos[j]]
    im = 1.0 / (n - k)
    always = bound <= 0.0      # ES+ >= 0 >= bound for every set
    wit, cwit = (-1, 0.0) if always else _witness(pos, k, w, n, nr, bound)
    for _ in range(steps):
        drop = _below(state, k)
        g = _below(state, n)
        lo = 0
        hi = k
        while lo < hi:       # insertion point of g in the current order
            mid = (lo + hi) // 2
            if pos[mid] < g:
                lo = mid + 1
            else:
                hi = mid
        if lo < k and pos[lo] == g:
            continue          # already a member: rejected
        ins = lo - 1 if drop < lo else lo
        new_nr = nr - w[pos[drop]] + w[g]
        if not always:
            first = drop if drop < ins else ins
            if not (0 <= wit < first
                    and cwit / (new_nr if new_nr > 0 else 1.0) - (pos[wit] - wit) * im
                    >= bound):
                j, c = _reaches(pos, k, drop, g, ins, new_nr, w, n, bound)
                if j < 0:
                    continue
                wit, cwit = j, c
        if drop < ins:        # shift the members between drop and ins, then insert g
            for q in range(drop, ins):
                pos[q] = pos[q + 1]
        else:
            for q in range(drop, ins, -1):
                pos[q] = pos[q - 1]
        pos[ins] = g
        nr = new_nr


@njit(cache=True, nogil=True)
def multilevel(targets: np.ndarray, k: int, w: np.ndarray, n: int, sample_size: int,
               n_moves: float, log_eps: float, key: np.ndarray) -> np.ndarray:
    """``P(signed ES >= target)`` of random sets of size ``k`` for ascending ``targets`` > 0,
    by adaptive multilevel splitting (see the module notes of heatseq.enrich.gsea)."""
    state = _seed_state(key)
    B = sample_size
    h = (B + 1) // 2
    samples = np.empty((B, k), dtype=np.int64)
    tmp = np.empty((B, k), dtype=np.int64)
    marks = np.zeros(n, dtype=np.bool_)
    for b in range(B):         # uniform random k-subsets (Floyd's algorithm), sorted
        c = 0
        for j in range(n - k, n):
            t = _below(state, j + 1)
            if marks[t]:
                t = j
            marks[t] = True
            samples[b, c] = t
            c += 1
        for j in range(k):
            marks[samples[b, j]] = False
        samples[b].sort()
    result = np.full(len(targets), np.nan)
    es = np.empty(B)
    signed = np.empty(B)
    log_p = 0.0
    bound = -np.inf
    stalls = 0
    t_next = 0
    steps = max(10, int(np.ceil(n_moves * k)))
    nr_pos = np.empty(k, dtype=np.int64)
    while True:
        for b in range(B):
            for j in range(k):
                nr_pos[j] = samples[b, j]
            es[b] = _es_max(nr_pos, k, w, n)
            signed[b] = _signed_es(nr_pos, k, w, n, _weight(nr_pos, k, w))
        nxt = np.sort(es)[B - h]                # the median: h samples at or above
        stuck = nxt <= bound
        stalls = stalls + 1 if stuck else 0
        while t_next < len(targets) and (targets[t_next] - _TOL < nxt or log_p < log_eps
                                         or stalls >= _MAX_STALL):
            hits = 0
            for b in range(B):
                if signed[b] >= targets[t_next] - _TOL:
                    hits += 1
            result[t_next] = np.exp(log_p) * hits / B
            t_next += 1
        if t_next == len(targets):
            break
        if stuck:
            nxt = bound
            n_above = B
            for b in range(B):
                tmp[b] = samples[b]
        else:
            n_above = 0
            for b in range(B):
                if es[b] >= nxt:
                    tmp[n_above] = samples[b]
                    n_above += 1
            log_p += np.log(n_above / B)
        bound = nxt
        if log_p < log_eps:
            log_p = log_eps - 1.0
        for b in range(B):                      # split: copies of the samples above, in turn
            samples[b] = tmp[b % n_above]
        for b in range(B):
            _mcmc(samples[b], k, w, n, bound, steps, state)
    return result


@njit(cache=True, nogil=True)
def _weight(pos: np.ndarray, k: int, w: np.ndarray) -> float:
    nr = 0.0
    for j in range(k):
        nr += w[pos[j]]
    return nr
