"""Preranked gene-set enrichment analysis (GSEA) with precise small p-values.

This module owns :func:`gsea` (one collection against one ranking), :func:`ranking_from_de`
(the ranking of a DE table) and :func:`running_score` (the running sum of one set, for
plots and checks).

Enrichment score (Subramanian et al. 2005, PNAS 102:15545, eq. in the Methods): the
``N`` genes are sorted by the metric ``r`` (largest first); walking down the list, a
gene of the set ``S`` (``k`` genes) adds ``|r_j|^p / N_R`` with ``N_R = sum_{j in S}
|r_j|^p`` (``p = weight``, 1 by default) and any other gene subtracts ``1 / (N - k)``. The
ES is the running sum's largest deviation from zero (``ES+ = max``, ``ES- = min``; the
one of larger magnitude, the positive one on a tie). With the set's ranks ``p_1 < ... <
p_k`` (0-based) and cumulative weights ``W_j``, the sum right after hit ``j`` is ``W_j/N_R -
(p_j - j + 1)/(N - k)`` and right before it ``W_{j-1}/N_R - (p_j - j + 1)/(N - k)``, so an ES
costs ``O(k)`` (never ``O(N)``) and all sets are scored at once over the CSR arrays.

Null distribution: random gene sets of the same size (gene permutation, as GSEA
preranked, fgsea and gseapy prerank). All sets of one size share the same ``n_perm``
random sets (drawn from a generator seeded with ``(seed, size)``, so a set's null does
not depend on the other sets or their order).

- ``NES = ES / mean(null ES of the same sign)`` (Subramanian et al. 2005).
- simple p-value ``(#{null ES >= ES} + 1) / (#{null ES >= 0} + 1)`` for ES >= 0 (mirrored
  for ES < 0), as fgsea's ``fgseaSimple``; its floor is ``1 / (n_perm + 1)``.
- ``method="multilevel"`` (default): the sets whose simple p-value rests on fewer than
  ``10`` more extreme null sets get an adaptive multilevel splitting estimate
  (Korotkevich et al. 2021, bioRxiv 060012, fgsea's ``fgseaMultilevel``): ``sample_size``
  random sets are pushed up in levels; at each level the median ES+ becomes the next
  threshold, the half above it is kept and duplicated, and every sample is moved by a
  Metropolis chain of gene swaps that keeps ES+ above the threshold (``n_moves`` proposals
  per gene of the set and level), so each level halves the probability and ``log2(1/p)``
  levels reach ``p``. ``P(ES >= es)`` is the product of the level fractions times the
  fraction of the last level's samples with (signed) ES >= es, divided by ``P(ES >= 0)``
  from the simple null. Its relative error is about ``sqrt(log2(1/p) / sample_size)``
  (a factor ~1.5 at ``p = 1e-10`` with 101 samples); p-values below ``eps`` are reported
  as ``eps``. One chain serves all sets of one size and sign (fgsea's ``EsRuler``).
- ``method="permutation"``: the simple p-values only (faster; floor ``1/(n_perm+1)``).

Conventions (stated because tools differ):

- ties in the ranking are broken by gene name (ascending), so the order, and hence the
  table, never depends on the input order of the ranking;
- sets are restricted to the ranked genes, then filtered by size (``min_size`` to
  ``max_size``, default 15-500, as fgsea and gseapy);
- ``padj``: Benjamini-Hochberg over the sets of the collection (not GSEA's NES-based FDR);
- the leading edge of a positive ES is the set's genes ranked at or above the peak, of a
  negative ES those at or below the trough, ';'-joined in ranking order;
- results are identical for the same seed and input (one seeded
  :class:`numpy.random.Generator` per set size for the null, one for the multilevel
  stage), independent of threads and of set order. Rows are sorted by p-value, then
  ``|NES|`` (descending), then term ID.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from heatseq.enrich.genesets import GeneSets
from heatseq.errors import InputError

__all__ = ["GSEA_COLUMNS", "gsea", "ranking_from_de", "running_score"]

log = logging.getLogger(__name__)

Method = Literal["multilevel", "permutation"]
_METHODS = ("multilevel", "permutation")
RankBy = Literal["stat", "shrunk"]
_RANK_BY = ("stat", "shrunk")

#: The columns of a GSEA table, in order.
GSEA_COLUMNS = ("collection", "term_id", "term_name", "set_size", "es", "nes", "pvalue",
                "padj", "leading_edge_size", "leading_edge")

#: Sets whose simple p-value rests on fewer more-extreme null sets go to the multilevel stage.
_MULTILEVEL_BELOW = 10
#: Scores closer than this are equal (rounding of sums in a different order).
_TOL = 1e-12
#: Rounds without a higher level before the multilevel stage stops (the top is reached).
_MAX_STALL = 20
#: Elements per array block (rows x padded set size) in the vectorised stages.
_BLOCK = 2_000_000


# --------------------------------------------------------------------------- ranking
def ranking_from_de(table: Any, *, by: RankBy = "stat",
                    symbol_column: str = "symbol") -> pd.Series:
    """The gene ranking of a DE table for :func:`gsea`: one value per gene symbol.

    Parameters
    ----------
    table
        A :class:`heatseq.DEResult` or its ``.table`` (a DataFrame with DESeq2's columns).
    by
        ``"stat"``: the Wald statistic (``stat``; default); ``"shrunk"``: the shrunk log2
        fold change (``log2FoldChange_shrunk``).
    symbol_column
        The column with gene symbols; genes without one are dropped.

    Returns
    -------
    pandas.Series
        Indexed by symbol, sorted from the largest value down (ties by symbol). Genes with
        an NA value or no symbol are dropped; a symbol given to several genes keeps the
        value of largest magnitude (the positive one on a tie), so a gene family that maps
        to one symbol counts once, with its strongest change.

    Examples
    --------
    >>> de = pd.DataFrame({"symbol": ["A", "B", "A", None], "stat": [1.0, -3.0, -2.0, 5.0]})
    >>> ranking_from_de(de).to_dict()
    {'A': -2.0, 'B': -3.0}
    """
    if by not in _RANK_BY:
        raise InputError(f"by={by!r} is not valid; choose one of: {', '.join(_RANK_BY)}.")
    frame = getattr(table, "table", table)
    if not isinstance(frame, pd.DataFrame):
        raise InputError("ranking_from_de needs a DE table (a DEResult or a pandas "
                         f"DataFrame), not {type(table).__name__}.")
    column = "stat" if by == "stat" else "log2FoldChange_shrunk"
    for col in (column, symbol_column):
        if col not in frame.columns:
            hint = (" Run the DE step with shrinkage (lfcShrink) or rank by='stat'."
                    if col == "log2FoldChange_shrunk" else "")
            raise InputError(f"Column {col!r} is not in the DE table; columns are: "
                             f"{', '.join(map(str, frame.columns))}.{hint}")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    symbols = frame[symbol_column].to_numpy(dtype=object)
    ok = np.isfinite(values) & pd.notna(symbols)
    symbols = np.asarray([str(s) for s in symbols[ok]], dtype=object)
    values = values[ok]
    if not len(values):
        raise InputError(f"The DE table has no gene with both a {symbol_column!r} and a "
                         f"finite {column!r}; nothing to rank. Check the symbol mapping "
                         "(organism) and the DE result.")
    # per symbol keep the largest |value| (positive first on a tie): sort, keep the first
    order = np.lexsort((-values, -np.abs(values), symbols))
    first = np.ones(len(order), dtype=bool)
    first[1:] = symbols[order][1:] != symbols[order][:-1]
    keep = order[first]
    dup = len(values) - len(keep)
    if dup:
        log.info("ranking: %d genes share a symbol with a stronger one and were dropped", dup)
    ranked = pd.Series(values[keep], index=pd.Index(symbols[keep], name="symbol"),
                       name=column)
    return _sorted_ranking(ranked)


def _sorted_ranking(ranking: pd.Series) -> pd.Series:
    """Largest value first; ties by gene name ascending."""
    names = ranking.index.to_numpy(dtype=object).astype(str)
    order = np.lexsort((names, -ranking.to_numpy(dtype=float)))
    return ranking.iloc[order]


def _check_ranking(ranking: pd.Series) -> pd.Series:
    if not isinstance(ranking, pd.Series):
        raise InputError("The GSEA ranking must be a pandas Series (gene -> value), e.g. "
                         f"from ranking_from_de; got {type(ranking).__name__}.")
    values = pd.to_numeric(ranking, errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        raise InputError(f"The GSEA ranking has {int(bad.sum())} missing or non-numeric "
                         f"values (first: gene {ranking.index[bad][0]!r}). Drop them first "
                         "(ranking_from_de does).")
    if ranking.index.hasnans:
        raise InputError("The GSEA ranking has genes without a name (NaN in the index); "
                         "drop them first.")
    dup = ranking.index.duplicated()
    if dup.any():
        raise InputError(f"The GSEA ranking names gene {ranking.index[dup][0]!r} more than "
                         f"once ({int(dup.sum())} repeats). Keep one value per gene "
                         "(ranking_from_de keeps the largest |value|).")
    if len(ranking) < 2:
        raise InputError("The GSEA ranking needs at least two genes.")
    values.index = ranking.index.astype(str)
    return _sorted_ranking(values.astype(float))


# --------------------------------------------------------------------------- scores
def _scores(pos: np.ndarray, ksize: np.ndarray, w: np.ndarray, n: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ES+, ES-, and the columns of the peak and trough for rows of sorted ranks.

    ``pos`` is (rows, K) with each row's ``ksize`` ranks sorted and padded with ``n``;
    ``w`` has ``n + 1`` weights (the last 0, for the padding).
    """
    wp = w[pos]
    cw = np.cumsum(wp, axis=1)
    nr = cw[:, -1:]
    nr = np.where(nr > 0, nr, 1.0)
    j = np.arange(pos.shape[1])
    miss = (pos - j) / (n - ksize)[:, None]
    real = j[None, :] < ksize[:, None]
    after = np.where(real, cw / nr - miss, -np.inf)
    before = np.where(real, (cw - wp) / nr - miss, np.inf)
    es_pos = np.maximum(after.max(axis=1), 0.0)
    es_neg = np.minimum(before.min(axis=1), 0.0)
    # the first peak and trough (ties within rounding: the running sum is often flat-topped)
    top = (after >= es_pos[:, None] - _TOL).argmax(axis=1)
    bottom = (before <= es_neg[:, None] + _TOL).argmax(axis=1)
    return es_pos, es_neg, top, bottom


def _es_max(pos: np.ndarray, ksize: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """ES+ only (the lighter score of the Metropolis steps)."""
    cw = np.cumsum(w[pos], axis=1)
    after = cw / np.where(cw[:, -1:] > 0, cw[:, -1:], 1.0)
    after -= (pos - np.arange(pos.shape[1])) / (n - ksize)[:, None]
    after[pos >= n] = -np.inf
    return np.maximum(after.max(axis=1), 0.0)


def _signed(es_pos: np.ndarray, es_neg: np.ndarray) -> np.ndarray:
    return np.where(es_pos >= -es_neg, es_pos, es_neg)


def _pad_rows(flat: np.ndarray, indptr: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows -> a (rows, max size) array padded with ``n``."""
    sizes = np.diff(indptr)
    k = int(sizes.max()) if len(sizes) else 0
    out = np.full((len(sizes), k), n, dtype=np.int64)
    row = np.repeat(np.arange(len(sizes)), sizes)
    col = np.arange(len(flat)) - np.repeat(indptr[:-1], sizes)
    out[row, col] = flat
    return out, sizes


def _random_sets(rng: np.random.Generator, rows: int, k: int, n: int) -> np.ndarray:
    """``rows`` uniform random k-subsets of range(n), each sorted (draws with redraws of
    repeats: the law is invariant under relabelling, hence uniform over k-subsets)."""
    pos = np.sort(rng.integers(0, n, size=(rows, k)), axis=1)
    while True:
        dup = np.zeros(pos.shape, dtype=bool)
        dup[:, 1:] = pos[:, 1:] == pos[:, :-1]
        n_dup = int(dup.sum())
        if not n_dup:
            return pos
        pos[dup] = rng.integers(0, n, size=n_dup)
        pos.sort(axis=1)


# --------------------------------------------------------------------------- null
def _null_stats(sizes: np.ndarray, w: np.ndarray, n: int, *, n_perm: int, seed: int
                ) -> dict[int, np.ndarray]:
    """Signed null ES (``n_perm`` per size) for each distinct size, seeded per size."""
    out: dict[int, np.ndarray] = {}
    uniq = np.unique(sizes)
    start = 0
    while start < len(uniq):
        # a block of consecutive sizes, padded to the largest
        stop = start + 1
        while stop < len(uniq) and (stop - start + 1) * n_perm * uniq[stop] <= _BLOCK:
            stop += 1
        block = uniq[start:stop]
        kmax = int(block[-1])
        pos = np.full((len(block) * n_perm, kmax), n, dtype=np.int64)
        for b, k in enumerate(block):  # drawing only; scoring is one pass per block
            rng = np.random.default_rng([seed, int(k)])
            pos[b * n_perm:(b + 1) * n_perm, :k] = _random_sets(rng, n_perm, int(k), n)
        ksize = np.repeat(block, n_perm)
        es_pos, es_neg, _, _ = _scores(pos, ksize, w, n)
        es = _signed(es_pos, es_neg).reshape(len(block), n_perm)
        for b, k in enumerate(block):
            out[int(k)] = es[b]
        start = stop
    return out


# --------------------------------------------------------------------------- multilevel
def _multilevel(targets: np.ndarray, ksize: np.ndarray, w: np.ndarray, n: int, *,
                sample_size: int, n_moves: float, eps: float, seed: tuple[int, ...]
                ) -> np.ndarray:
    """``P(ES >= target)`` (signed ES, targets > 0) for random sets of the given sizes by
    adaptive multilevel splitting; one chain per distinct size (rows sorted by size)."""
    result = np.full(len(targets), np.nan)
    groups, inv = np.unique(ksize, return_inverse=True)
    gmax = np.zeros(len(groups))
    np.maximum.at(gmax, inv, targets)
    rng = np.random.default_rng([*seed, 1])
    B = sample_size
    G = len(groups)
    kg = np.repeat(groups, B)                       # rows: group-major
    pos = np.full((G * B, int(groups.max())), n, dtype=np.int64)
    for g, k in enumerate(groups):
        pos[g * B:(g + 1) * B, :k] = _random_sets(rng, B, int(k), n)
    log_p = np.zeros(G)                             # log P(ES+ >= current threshold)
    bound = np.full(G, -np.inf)
    active = np.ones(G, dtype=bool)
    pending = np.ones(len(targets), dtype=bool)
    log_eps = math.log(eps)
    rows_all = np.arange(G * B).reshape(G, B)
    h = (B + 1) // 2
    stalls = np.zeros(G, dtype=np.int64)
    while active.any():
        act = np.flatnonzero(active)
        rows = rows_all[act].ravel()
        es_pos, es_neg, _, _ = _scores(pos[rows], kg[rows], w, n)
        s = es_pos.reshape(len(act), B)
        signed = _signed(es_pos, es_neg).reshape(len(act), B)
        s_sorted = np.sort(s, axis=1)
        nxt = s_sorted[:, B - h]                    # the median: h samples at or above
        stuck = nxt <= bound[act]                   # ties at the bound: move, do not split
        stalls[act] = np.where(stuck, stalls[act] + 1, 0)
        # resolve the targets that lie below the next threshold
        t_idx = np.flatnonzero(pending & active[inv])
        if len(t_idx):
            a_of = np.searchsorted(act, inv[t_idx])
            ready = targets[t_idx] - _TOL < nxt[a_of]
            ready |= log_p[inv[t_idx]] < log_eps
            ready |= stalls[inv[t_idx]] >= _MAX_STALL  # the top is reached
            sel = t_idx[ready]
            a_sel = a_of[ready]
            frac = (signed[a_sel] >= targets[sel][:, None] - _TOL).sum(axis=1) / B
            result[sel] = np.exp(log_p[inv[sel]]) * frac
            pending[sel] = False
        still = np.zeros(G, dtype=bool)
        still[inv[pending]] = True
        active &= still
        if not active.any():
            break
        keep_act = np.flatnonzero(active[act])
        act = act[keep_act]
        s = s[keep_act]
        stuck = stuck[keep_act]
        nxt = np.where(stuck, bound[act], nxt[keep_act])
        above = (s >= nxt[:, None]) | stuck[:, None]
        log_p[act] += np.log(above.sum(axis=1) / B)
        bound[act] = nxt
        floor = log_p[act] < log_eps
        if floor.any():  # report eps for what is left below the floor
            log_p[act[floor]] = log_eps - 1.0
        # split: refill each group's B rows with copies of its samples above the threshold
        order = np.argsort(~above, axis=1, kind="stable")
        n_above = above.sum(axis=1)
        pick = np.arange(B)[None, :] % n_above[:, None]
        src = rows_all[act][np.arange(len(act))[:, None], np.take_along_axis(order, pick, 1)]
        rows = rows_all[act].ravel()
        pos[rows] = pos[src.ravel()]
        _mcmc(pos, rows, kg[rows], np.repeat(nxt, B), w, n, rng=rng, n_moves=n_moves)
    return np.clip(result, 0.0, 1.0)


def _mcmc(pos: np.ndarray, rows: np.ndarray, ksize: np.ndarray, bound: np.ndarray,
          w: np.ndarray, n: int, *, rng: np.random.Generator, n_moves: float) -> None:
    """Metropolis gene swaps on ``pos[rows]`` (in place) that keep ES+ >= ``bound``:
    remove a random member, insert a random non-member; reject when the new set falls
    below the bound or the gene is already a member (a symmetric proposal, so the chain
    keeps the uniform law on the sets above the bound)."""
    p = pos[rows]
    R, K = p.shape
    steps = max(10, math.ceil(n_moves * int(ksize.max())))
    cols = np.arange(K)
    r_idx = np.arange(R)
    for _ in range(steps):
        drop = (rng.random(R) * ksize).astype(np.int64)
        new = rng.integers(0, n, size=R)
        ins = (p < new[:, None]).sum(axis=1)
        member = p[r_idx, np.minimum(ins, K - 1)] == new
        ins2 = ins - (drop < ins)
        c = cols[None, :]
        src = np.where(c < ins2[:, None], c + (c >= drop[:, None]),
                       (c - 1) + ((c - 1) >= drop[:, None]))
        q = np.take_along_axis(p, np.clip(src, 0, K - 1), axis=1)
        q[r_idx, ins2] = new
        ok = (_es_max(q, ksize, w, n) >= bound) & ~member
        p[ok] = q[ok]
    pos[rows] = p


# --------------------------------------------------------------------------- main
def _bh(p: np.ndarray) -> np.ndarray:
    m = len(p)
    if not m:
        return p.copy()
    order = np.argsort(p, kind="stable")
    adj = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def gsea(ranking: pd.Series, sets: GeneSets, *, min_size: int = 15, max_size: int = 500,
         weight: float = 1.0, method: Method = "multilevel", n_perm: int = 1000,
         sample_size: int = 101, n_moves: float = 0.5, eps: float = 1e-50,
         seed: int = 0) -> pd.DataFrame:
    """Preranked GSEA of one collection: ES, NES, p-value, BH padj and leading edge.

    Parameters
    ----------
    ranking
        Gene -> metric (e.g. :func:`ranking_from_de`), genes spelled as in ``sets``;
        no NA, no repeated gene. Ties are ordered by gene name.
    sets
        The collection; restricted to the ranked genes, then to sets of ``min_size`` to
        ``max_size`` genes.
    min_size, max_size
        Size limits after restriction (default 15-500).
    weight
        The exponent ``p`` of the weighted running sum (1: classic GSEA; 0: unweighted KS).
    method
        ``"multilevel"`` (precise small p-values, see the module notes) or
        ``"permutation"`` (simple p-values, floor ``1/(n_perm+1)``).
    n_perm
        Random sets per set size for the null (NES and simple p-values).
    sample_size
        Samples per level of the multilevel stage (odd; more is more precise).
    n_moves
        Swap proposals per gene of the set at each level of the multilevel stage.
    eps
        The smallest p-value reported (multilevel); smaller ones are set to ``eps``.
    seed
        Seed of the random generators: the same seed gives the same table.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GSEA_COLUMNS`, one row per set tested, sorted by p-value; ``attrs``
        holds the parameters, the number of ranked genes and the collection's release.

    Examples
    --------
    >>> ranking = pd.Series(np.linspace(3, -3, 100), index=[f"g{i:03d}" for i in range(100)])
    >>> sets = GeneSets.from_dict({"top": [f"g{i:03d}" for i in range(15)],
    ...                            "spread": [f"g{i:03d}" for i in range(0, 100, 5)]})
    >>> res = gsea(ranking, sets, method="permutation", n_perm=200)
    >>> res[["term_id", "set_size", "es"]].round(3).to_numpy().tolist()
    [['top', 15, 1.0], ['spread', 20, 0.195]]
    """
    if method not in _METHODS:
        raise InputError(f"method={method!r} is not valid; choose one of: "
                         f"{', '.join(_METHODS)}.")
    if not isinstance(sets, GeneSets):
        raise InputError("gsea needs a GeneSets collection (load_collection, read_gmt or "
                         f"GeneSets.from_dict), not {type(sets).__name__}.")
    for name, value, low in (("min_size", min_size, 1), ("n_perm", n_perm, 10),
                             ("sample_size", sample_size, 11)):
        if int(value) != value or value < low:
            raise InputError(f"{name}={value!r} is not valid; give an integer >= {low}.")
    if max_size < min_size:
        raise InputError(f"max_size={max_size} is below min_size={min_size}; give "
                         "min_size <= max_size.")
    if not (weight >= 0 and math.isfinite(weight)):
        raise InputError(f"weight={weight!r} is not valid; give a number >= 0 (1 = GSEA).")
    if not (0 < eps < 1):
        raise InputError(f"eps={eps!r} is not valid; give a number in (0, 1), e.g. 1e-50.")
    if n_moves <= 0:
        raise InputError(f"n_moves={n_moves!r} is not valid; give a number > 0.")
    if sample_size % 2 == 0:
        sample_size += 1
    ranked = _check_ranking(ranking)
    genes = ranked.index.to_numpy(dtype=object)
    n = len(genes)
    restricted = sets.restrict(genes, min_size=min_size, max_size=min(max_size, n - 1))
    attrs = {"method": method, "n_perm": n_perm, "sample_size": sample_size,
             "n_moves": n_moves, "eps": eps, "seed": seed, "weight": weight,
             "min_size": min_size, "max_size": max_size, "n_genes": n,
             "collection": sets.name, "release": sets.release}
    if not len(restricted):
        log.warning("%s: no set has %d-%d genes among the %d ranked genes", sets.name,
                    min_size, max_size, n)
        out = pd.DataFrame({c: [] for c in GSEA_COLUMNS})
        out.attrs.update(attrs)
        return out
    w = np.append(np.abs(ranked.to_numpy(dtype=float)) ** weight, 0.0)
    # ranks of each set's genes, sorted within the set
    rank_of = pd.Index(genes).get_indexer(restricted.genes)
    sizes = restricted.sizes.astype(np.int64)
    set_of = np.repeat(np.arange(len(restricted)), sizes)
    flat = rank_of[restricted.indices]
    order = np.lexsort((flat, set_of))
    flat = flat[order]
    es_pos, es_neg, top, bottom = _score_sets(flat, restricted.indptr, sizes, w, n)
    es = _signed(es_pos, es_neg)
    null = _null_stats(sizes, w, n, n_perm=n_perm, seed=seed)
    uniq = np.array(sorted(null))
    null_mat = np.stack([null[int(k)] for k in uniq])           # sizes x n_perm
    srow = np.searchsorted(uniq, sizes)
    nulls = null_mat[srow]                                       # sets x n_perm
    positive = es >= 0
    ge0 = (null_mat >= 0).sum(axis=1)[srow]
    le0 = (null_mat <= 0).sum(axis=1)[srow]
    mean_pos = np.where(null_mat > 0, null_mat, 0).sum(1) / np.maximum((null_mat > 0).sum(1), 1)
    mean_neg = np.where(null_mat < 0, -null_mat, 0).sum(1) / np.maximum((null_mat < 0).sum(1), 1)
    denom = np.where(positive, mean_pos[srow], mean_neg[srow])
    nes = np.where(denom > 0, es / np.where(denom > 0, denom, 1.0), np.nan)
    more = np.where(positive, (nulls >= es[:, None]).sum(1), (nulls <= es[:, None]).sum(1))
    same = np.where(positive, ge0, le0)
    pvalue = (more + 1) / (same + 1)
    if method == "multilevel":
        deep = np.flatnonzero(more < _MULTILEVEL_BELOW)
        if len(deep):
            pvalue[deep] = _deep_pvalues(deep, es, positive, sizes, same, w, n,
                                         n_perm=n_perm, sample_size=sample_size,
                                         n_moves=n_moves, eps=eps, seed=seed)
    padj = _bh(pvalue)
    edge_size, edge = _leading_edges(flat, restricted.indptr, sizes, positive, top, bottom,
                                     genes)
    out = pd.DataFrame({
        "collection": sets.name,
        "term_id": restricted.term_ids.astype(str),
        "term_name": restricted.term_names.astype(str),
        "set_size": sizes,
        "es": es, "nes": nes, "pvalue": pvalue, "padj": padj,
        "leading_edge_size": edge_size, "leading_edge": edge,
    })
    key = np.lexsort((out["term_id"].to_numpy(), -np.abs(np.nan_to_num(nes)), pvalue))
    out = out.iloc[key].reset_index(drop=True)
    out.attrs.update(attrs)
    return out


def _score_sets(flat: np.ndarray, indptr: np.ndarray, sizes: np.ndarray, w: np.ndarray,
                n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ES+, ES-, peak and trough column of every set, in blocks of the padded array."""
    m = len(sizes)
    es_pos, es_neg = np.empty(m), np.empty(m)
    top, bottom = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    order = np.argsort(sizes, kind="stable")  # similar sizes together: little padding
    start = 0
    while start < m:
        stop = start + 1
        while stop < m and (stop - start + 1) * sizes[order[stop]] <= _BLOCK:
            stop += 1
        idx = order[start:stop]
        ptr = np.concatenate([[0], np.cumsum(sizes[idx])])
        gather = np.concatenate([np.arange(indptr[i], indptr[i + 1]) for i in idx]) \
            if len(idx) < 64 else _ranges(indptr[idx], sizes[idx])
        pos, ks = _pad_rows(flat[gather], ptr, n)
        a, b, t, u = _scores(pos, ks, w, n)
        es_pos[idx], es_neg[idx], top[idx], bottom[idx] = a, b, t, u
        start = stop
    return es_pos, es_neg, top, bottom


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + l)`` for each start and length, without a loop."""
    total = int(lengths.sum())
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + np.arange(total) - offsets


def _deep_pvalues(deep: np.ndarray, es: np.ndarray, positive: np.ndarray,
                  sizes: np.ndarray, same: np.ndarray, w: np.ndarray, n: int, *,
                  n_perm: int, sample_size: int, n_moves: float, eps: float,
                  seed: int) -> np.ndarray:
    """Multilevel p-values of the sets ``deep``: ES >= es for positive sets (on ``w``),
    ES <= es for negative ones (on the reversed ranking), conditional on the sign."""
    out = np.empty(len(deep))
    for sign in (True, False):
        sel = positive[deep] == sign
        if not sel.any():
            continue
        idx = deep[sel]
        weights = w if sign else np.append(w[:-1][::-1], 0.0)
        target = np.abs(es[idx])
        bucket = np.floor(np.log(sizes[idx]) / math.log(1.5)).astype(np.int64)
        p = np.empty(len(idx))
        for b in np.unique(bucket):  # sizes within a factor 1.5: little padding
            m = bucket == b
            p[m] = _multilevel(target[m], sizes[idx][m], weights, n,
                               sample_size=sample_size, n_moves=n_moves, eps=eps,
                               seed=(seed, int(sign), int(b)))
        p_sign = (same[idx] + 1) / (n_perm + 1)          # P(ES >= 0) (or <= 0)
        out[sel] = np.clip(np.maximum(p / p_sign, eps), eps, 1.0)
    return out


def _leading_edges(flat: np.ndarray, indptr: np.ndarray, sizes: np.ndarray,
                   positive: np.ndarray, top: np.ndarray, bottom: np.ndarray,
                   genes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Leading-edge genes of each set (';'-joined, in ranking order)."""
    col = np.arange(len(flat)) - np.repeat(indptr[:-1], sizes)
    set_of = np.repeat(np.arange(len(sizes)), sizes)
    in_edge = np.where(positive[set_of], col <= top[set_of], col >= bottom[set_of])
    edge_size = np.bincount(set_of[in_edge], minlength=len(sizes))
    names = genes[flat[in_edge]].astype(str)
    cuts = np.cumsum(edge_size)[:-1]
    edge = [";".join(part) for part in np.split(names, cuts)]
    return edge_size, edge


# --------------------------------------------------------------------------- plotting
def running_score(ranking: pd.Series, genes: Any, *, weight: float = 1.0
                  ) -> pd.DataFrame:
    """The running enrichment score of one gene set along the sorted ranking.

    Parameters
    ----------
    ranking
        Gene -> metric (as for :func:`gsea`).
    genes
        The set's genes (those not ranked are ignored).
    weight
        The exponent ``p`` of the weights.

    Returns
    -------
    pandas.DataFrame
        One row per ranked gene, in ranking order: ``gene``, ``metric``, ``hit`` (bool) and
        ``score`` (the running sum after that gene).

    Examples
    --------
    >>> r = pd.Series([2.0, 1.0, -1.0, -2.0], index=list("abcd"))
    >>> running_score(r, ["a", "c"])["score"].round(3).abs().tolist()
    [0.667, 0.167, 0.5, 0.0]
    """
    ranked = _check_ranking(ranking)
    member = set(map(str, genes))
    hit = np.fromiter((g in member for g in ranked.index), dtype=bool, count=len(ranked))
    k = int(hit.sum())
    if k == 0 or k == len(ranked):
        raise InputError(f"The gene set has {k} of the {len(ranked)} ranked genes; a running "
                         "score needs some genes in and some out of the set.")
    wt = np.abs(ranked.to_numpy()) ** weight
    nr = wt[hit].sum()
    step = np.where(hit, wt / (nr if nr > 0 else 1.0), -1.0 / (len(ranked) - k))
    return pd.DataFrame({"gene": ranked.index.to_numpy(), "metric": ranked.to_numpy(),
                         "hit": hit, "score": np.cumsum(step)})
