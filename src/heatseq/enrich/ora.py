"""Over-representation analysis (ORA): which gene sets hold more genes of a list than chance.

This module owns :func:`ora` (the test over one collection), :func:`de_gene_lists` (the
up, down and both lists of a DE table) and :func:`tested_universe` (the genes a DE test
could have called, the default background).

The test (Fisher's exact test, one-sided, as in DAVID, goatools with
``alternative="greater"`` and clusterProfiler's ``enricher``): with ``N`` genes in the
universe, ``K`` of them in a set, ``n`` genes of the list in the universe and ``k`` of those in
the set, the p-value is the hypergeometric upper tail

.. math::  p = P(X \\ge k) = \\sum_{i=k}^{\\min(K, n)}
           \\binom{K}{i}\\binom{N-K}{n-i} \\Big/ \\binom{N}{n}

(Rivals et al. 2007, Bioinformatics 23:401), computed for all sets at once by
:func:`hypergeom_sf` (log-beta first term, then the term ratios; checked against
``scipy.stats.hypergeom`` and exact rational arithmetic in the tests). Overlaps ``k`` are
counted over the CSR entries of the collection (one ``bincount``, no loop over sets). Benjamini-Hochberg (1995) adjusts over every set tested,
including those with no gene of the list (their p-value is 1).

Conventions (stated because tools differ on each):

- universe: the genes given (by default, for a DE table, those with a non-NA padj; see
  :func:`tested_universe`). With ``background="annotated"`` (the default, as clusterProfiler
  and g:Profiler) it is further cut to the genes that belong to at least one set of the
  collection, because a gene without annotation can never count as an overlap; with
  ``background="universe"`` every given gene counts (as goatools).
- sets are restricted to the universe first and the size filter (``min_size`` to
  ``max_size`` genes, default 10-500) applies to the restricted sizes.
- list genes outside the universe are dropped and counted (``attrs``); missing IDs
  (None/NaN) are counted as unmapped.
- ``gene_ratio`` is a float: ``overlap / n`` (the list genes in the universe); the "k/n"
  text of clusterProfiler is ``f"{overlap}/{attrs['list_size']}"``.
- ``fold_enrichment = overlap / expected`` with ``expected = n K / N``.
- rows are sorted by p-value, then term ID, so a run repeats exactly.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from heatseq.enrich.genesets import GeneSets
from heatseq.errors import InputError

__all__ = ["ORA_COLUMNS", "bh_adjust", "de_gene_lists", "hypergeom_sf", "ora", "tested_universe"]

log = logging.getLogger(__name__)

Background = Literal["annotated", "universe"]
_BACKGROUNDS = ("annotated", "universe")

#: The columns of an ORA table, in order.
ORA_COLUMNS = ("collection", "term_id", "term_name", "set_size", "overlap", "expected",
               "fold_enrichment", "gene_ratio", "pvalue", "padj", "genes")


def _clean_ids(ids: Iterable[Any], what: str) -> tuple[np.ndarray, int]:
    """Unique non-missing IDs as text (first-seen order) and the number of missing ones."""
    if isinstance(ids, str):
        raise InputError(f"The {what} is a single string ({ids[:40]!r}); give a list of gene "
                         "IDs (one per element).")
    series = pd.Series(list(ids), dtype=object)
    missing = series.isna().to_numpy()
    kept = series[~missing]
    if not all(isinstance(v, str) for v in kept):
        kept = kept.astype(str)
    blank = (kept == "").to_numpy()
    return pd.unique(kept[~blank]).astype(object), int(missing.sum() + blank.sum())


def bh_adjust(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (R's ``p.adjust(p, "BH")``), NaN kept as NaN.

    Examples
    --------
    >>> bh_adjust(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")[::-1]
    ranked = q[order] * m / np.arange(m, 0, -1)
    adj = np.minimum(1.0, np.minimum.accumulate(ranked))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def hypergeom_sf(k: np.ndarray, set_size: np.ndarray, *, list_size: int,
                 universe_size: int) -> np.ndarray:
    """Upper tail ``P(X >= k)`` of the hypergeometric distribution, vectorised.

    ``X`` counts the set's genes among ``list_size`` genes drawn without replacement from
    ``universe_size`` genes of which ``set_size`` are in the set. The probability of the first term comes from log-beta
    functions; the rest of the tail from the term ratios, summed away from the mode until
    the terms stop counting (relative 1e-17): above the mode the upper tail is summed,
    below it ``1 - P(X <= k - 1)`` (which is then at least about one half, so nothing
    cancels).

    Parameters
    ----------
    k
        Observed overlaps ``k`` (one per set).
    set_size
        Set sizes within the universe ``K``.
    list_size
        Genes of the list in the universe ``n``.
    universe_size
        Genes in the universe ``N``.

    Examples
    --------
    >>> hypergeom_sf(np.array([2]), np.array([3]), list_size=2, universe_size=8)  # 3/28
    array([0.10714286])
    """
    k = np.asarray(k, dtype=float)
    kk = np.broadcast_to(np.asarray(set_size, dtype=float), k.shape)
    nn, tot = float(list_size), float(universe_size)
    lo = np.maximum(0.0, kk + nn - tot)
    hi = np.minimum(kk, nn)
    p = np.where(k <= lo, 1.0, 0.0)
    todo = (k > lo) & (k <= hi)
    mode = np.floor((nn + 1) * (kk + 1) / (tot + 2))
    upper = todo & (k > mode)
    lower = todo & ~upper
    if upper.any():
        p[upper] = _tail(k[upper], kk[upper], nn, tot, up=True)
    if lower.any():
        p[lower] = 1.0 - _tail(k[lower] - 1, kk[lower], nn, tot, up=False)
    return np.clip(p, 0.0, 1.0)


def _tail(start: np.ndarray, kk: np.ndarray, nn: float, tot: float, *, up: bool,
          block: int = 64) -> np.ndarray:
    """Sum of the hypergeometric pmf from ``start`` away from the mode (up or down)."""
    bad = tot - kk
    term = np.exp(_log_dhyper(start, kk, tot, nn))
    total = term.copy()
    rows = np.flatnonzero(term > 0)
    i = start.copy()
    steps = np.arange(block, dtype=float)
    while rows.size:
        j = i[rows, None] + (steps if up else -steps)
        krow, brow = kk[rows, None], bad[rows, None]
        if up:   # pmf(j + 1) / pmf(j)
            ratio = (krow - j) * (nn - j) / ((j + 1) * (brow - nn + j + 1))
        else:    # pmf(j - 1) / pmf(j)
            ratio = j * (brow - nn + j) / ((krow - j + 1) * (nn - j + 1))
        cum = term[rows, None] * np.cumprod(np.maximum(ratio, 0.0), axis=1)
        total[rows] += cum.sum(axis=1)
        term[rows] = cum[:, -1]
        i[rows] += block if up else -block
        rows = rows[term[rows] > total[rows] * 1e-17]
    return total


# Loader (2000), "Fast and accurate computation of binomial probabilities": the pmf as a
# saddle-point expansion whose large log-gamma parts cancel analytically, so its relative
# error is a few ulp even far in the tail (the algorithm of R's dbinom and dhyper).
_LN_2PI = math.log(2 * math.pi)


# log(n!) - log(sqrt(2 pi n) (n/e)^n) for n = 0..15 (n = 0: 0 by convention)
_STIRLERR_SMALL = np.array([0.0] + [math.lgamma(n + 1) - (n + 0.5) * math.log(n) + n
                                    - 0.5 * _LN_2PI for n in range(1, 16)])


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """``log(n!) - log(sqrt(2 pi n) (n/e)^n)`` for whole numbers ``n >= 0``: a table up to
    15, the Stirling series beyond."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    small = n <= 15
    out[small] = _STIRLERR_SMALL[n[small].astype(np.int64)]
    big = ~small
    m = n[big]
    nn = m * m
    out[big] = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / nn) / nn) / nn) / nn) / m
    return out


def _bd0(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """The deviance term ``x log(x / mu) + mu - x``, by its series when ``x`` is near ``mu``."""
    x, mu = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(mu, dtype=float))
    out = np.empty(x.shape)
    near = np.abs(x - mu) < 0.1 * (x + mu)
    xf, mf = x[~near], mu[~near]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[~near] = np.where(xf > 0, xf * np.log(xf / mf), 0.0) + mf - xf
    xn, mn = x[near], mu[near]
    v = (xn - mn) / (xn + mn)
    s = (xn - mn) * v
    ej = 2 * xn * v
    v2 = v * v
    for j in range(1, 16):   # |v| < 0.1: v2**15 < 1e-30
        ej = ej * v2
        s = s + ej / (2 * j + 1)
    out[near] = s
    return out


def _log_dbinom(x: np.ndarray, n: np.ndarray, p: float, q: float) -> np.ndarray:
    """``log P(Binomial(n, p) = x)`` for ``0 <= x <= n`` (whole numbers)."""
    x, n = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    out = np.empty(x.shape)
    zero, full = x == 0, (x == n) & (x > 0)
    mid = ~(zero | full)
    nz = n[zero]
    out[zero] = np.where(p < 0.1, -_bd0(nz, nz * q) - nz * p, nz * np.log(q)) if nz.size else nz
    nf = n[full]
    out[full] = np.where(q < 0.1, -_bd0(nf, nf * p) - nf * q, nf * np.log(p)) if nf.size else nf
    xm, nm = x[mid], n[mid]
    lc = (_stirlerr(nm) - _stirlerr(xm) - _stirlerr(nm - xm)
          - _bd0(xm, nm * p) - _bd0(nm - xm, nm * q))
    out[mid] = lc - 0.5 * (_LN_2PI + np.log(xm) + np.log1p(-xm / nm))
    return out


def _log_dhyper(x: np.ndarray, good: np.ndarray, total: float, n: float) -> np.ndarray:
    """``log P(X = x)`` for ``n`` draws from ``total`` items of which ``good`` are marked
    (R's ``dhyper``)."""
    p = n / total
    q = (total - n) / total
    return (_log_dbinom(x, good, p, q) + _log_dbinom(n - x, total - good, p, q)
            - _log_dbinom(np.full(x.shape, n), np.full(x.shape, total), p, q))


def ora(genes: Iterable[Any], sets: GeneSets, *, universe: Iterable[Any],
        min_size: int = 10, max_size: int = 500, background: Background = "annotated",
        label: str | None = None) -> pd.DataFrame:
    """Over-representation of a gene list in the sets of one collection.

    Parameters
    ----------
    genes
        The gene list (spelled as the collection: symbols for the bundled collections; map
        other IDs first with :func:`heatseq.enrich.ids.map_to_symbols`). Duplicates count
        once; None/NaN count as unmapped.
    sets
        The collection.
    universe
        The background genes (for a DE result: :func:`tested_universe`).
    min_size, max_size
        Sets are tested when their size within the universe lies in this range.
    background
        ``"annotated"``: the universe genes that are in at least one set of the collection;
        ``"universe"``: every universe gene (see the module notes).
    label
        A name for the list (e.g. ``"up"``), kept in ``attrs["label"]``.

    Returns
    -------
    pandas.DataFrame
        One row per tested set with columns :data:`ORA_COLUMNS`, sorted by p-value then
        term ID. ``attrs`` holds ``collection``, ``release``, ``licence``, ``label``,
        ``list_given`` (unique IDs given), ``list_unmapped`` (missing IDs),
        ``list_not_in_universe`` (count) and ``list_dropped`` (those genes, sorted),
        ``list_size`` (n), ``universe_given``, ``universe_size`` (N), ``background``,
        ``sets_in_collection``, ``sets_tested``, ``min_size`` and ``max_size``.

    Raises
    ------
    InputError
        For an empty list or universe, a list with no gene in the universe, a universe that
        shares no gene with the collection (the IDs probably do not match its ID type), no
        set passing the size filter, or invalid options.

    Examples
    --------
    >>> gs = GeneSets.from_dict({"A": ["g1", "g2", "g3"], "B": ["g3", "g4", "g5", "g6"]},
    ...                         name="toy")
    >>> res = ora(["g1", "g2"], gs, universe=[f"g{i}" for i in range(1, 9)], min_size=2)
    >>> res[["term_id", "overlap", "pvalue"]].round(4).values.tolist()
    [['A', 2, 0.2], ['B', 0, 1.0]]
    """
    if background not in _BACKGROUNDS:
        raise InputError(f"background={background!r} is not valid; choose one of: "
                         f"{', '.join(_BACKGROUNDS)}.")
    _check_sizes(min_size, max_size)
    gene_arr, n_unmapped = _clean_ids(genes, "gene list")
    uni_arr, _ = _clean_ids(universe, "universe")
    if gene_arr.size == 0:
        raise InputError("The gene list is empty" + (f" (all {n_unmapped} IDs are missing)"
                                                     if n_unmapped else "")
                         + "; give at least one gene ID.")
    if uni_arr.size == 0:
        raise InputError("The universe is empty; give the genes that were tested (for a DE "
                         "table: the genes with a padj).")
    in_uni = _isin(gene_arr, uni_arr)
    dropped = np.sort(gene_arr[~in_uni].astype(str))
    if not in_uni.any():
        raise InputError(f"None of the {gene_arr.size:,} genes of the list is in the universe "
                         f"of {uni_arr.size:,} genes (e.g. {', '.join(map(str, gene_arr[:3]))} "
                         "vs " + ", ".join(map(str, uni_arr[:3])) + "). Use the same gene IDs "
                         "for both, and a universe that contains the list.")
    in_coll = _isin(uni_arr, sets.genes)
    if not in_coll.any():
        raise InputError(
            f"None of the {uni_arr.size:,} universe genes is in the collection "
            f"{sets.name!r} ({len(sets.genes):,} genes, IDs of type {sets.id_type}, e.g. "
            + ", ".join(map(str, sets.genes[:3])) + "; universe e.g. "
            + ", ".join(map(str, uni_arr[:3])) + "). The IDs probably do not match the "
            "collection: map them to its ID type (heatseq.enrich.ids.map_to_symbols) and "
            "check the organism.")
    bg = uni_arr[in_coll] if background == "annotated" else uni_arr
    big_n = int(bg.size)
    listed = gene_arr[_isin(gene_arr, bg)]
    n = int(listed.size)
    if n == 0:
        raise InputError(f"None of the {int(in_uni.sum()):,} genes of the list that are in the "
                         f"universe belongs to a set of {sets.name!r} (e.g. "
                         + ", ".join(map(str, gene_arr[in_uni][:3])) + "), so nothing can be "
                         "enriched. Check that the list uses the collection's gene IDs.")
    # restriction to the background and overlaps, for all sets at once (CSR entries)
    in_bg = _isin(sets.genes, bg)[sets.indices]
    in_list = _isin(sets.genes, listed)[sets.indices]
    size_bg = _count_per_set(sets.indptr, in_bg)
    tested = (size_bg >= min_size) & (size_bg <= max_size)
    if not tested.any():
        sizes = size_bg[size_bg > 0]
        raise InputError(
            f"No set of {sets.name!r} has {min_size}-{max_size} genes in the universe "
            f"({sizes.size:,} sets overlap it; their sizes there range "
            f"{sizes.min()}-{sizes.max()}). Widen min_size/max_size or give a larger universe.")
    overlap_all = _count_per_set(sets.indptr, in_list)
    idx = np.flatnonzero(tested)
    set_size = size_bg[idx].astype(np.int64)
    overlap = overlap_all[idx].astype(np.int64)
    pvalue = hypergeom_sf(overlap, set_size, list_size=n, universe_size=big_n)
    expected = n * set_size / big_n
    table = pd.DataFrame({
        "collection": sets.name,
        "term_id": sets.term_ids[idx],
        "term_name": sets.term_names[idx],
        "set_size": set_size,
        "overlap": overlap,
        "expected": expected,
        "fold_enrichment": overlap / expected,
        "gene_ratio": overlap / n,
        "pvalue": pvalue,
        "padj": bh_adjust(pvalue),
        "genes": _overlap_text(sets, idx, overlap, in_list),
    })
    table = table.sort_values(["pvalue", "term_id"], kind="stable").reset_index(drop=True)
    table.attrs.update({
        "collection": sets.name, "release": sets.release, "licence": sets.licence,
        "label": label, "list_given": int(gene_arr.size), "list_unmapped": n_unmapped,
        "list_not_in_universe": int(dropped.size), "list_dropped": tuple(dropped.tolist()),
        "list_size": n, "universe_given": int(uni_arr.size), "universe_size": big_n,
        "background": background, "sets_in_collection": len(sets),
        "sets_tested": int(idx.size), "min_size": min_size, "max_size": max_size,
    })
    log.info("ORA %s%s: %d of %d genes in a universe of %d, %d sets tested",
             sets.name, f" ({label})" if label else "", n, gene_arr.size, big_n, idx.size)
    return table


def _check_sizes(min_size: int, max_size: int) -> None:
    for name, v in (("min_size", min_size), ("max_size", max_size)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise InputError(f"{name}={v!r} is not valid; give a whole number >= 1.")
    if min_size > max_size:
        raise InputError(f"min_size={min_size} is larger than max_size={max_size}; give "
                         "min_size <= max_size (default 10-500).")


def _isin(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Hash-based membership of text IDs (``np.isin`` on object arrays is quadratic)."""
    return pd.Series(values, dtype=object).isin(pd.Series(pool, dtype=object)).to_numpy()


def _count_per_set(indptr: np.ndarray, entries: np.ndarray) -> np.ndarray:
    """How many CSR entries of each set are True."""
    return np.diff(np.searchsorted(np.flatnonzero(entries), indptr))


def _overlap_text(sets: GeneSets, idx: np.ndarray, overlap: np.ndarray,
                  hit: np.ndarray) -> np.ndarray:
    """For the sets at positions ``idx``: their CSR entries that are ``hit`` (``overlap`` of
    them per set) as gene names, sorted and ';'-joined (empty text for none)."""
    out = np.full(idx.size, "", dtype=object)
    rows = np.flatnonzero(overlap > 0)
    if rows.size == 0:
        return out
    starts = sets.indptr[idx[rows]]
    lengths = sets.indptr[idx[rows] + 1] - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
    owner = np.repeat(np.arange(rows.size), lengths)
    keep = hit[pos]
    owner, gene = owner[keep], sets.indices[pos[keep]]
    genes = sets.genes
    if genes.size > 1 and not bool(np.all(genes[:-1] <= genes[1:])):
        rank = np.empty(genes.size, dtype=np.int64)
        rank[np.argsort(genes.astype(str), kind="stable")] = np.arange(genes.size)
        gene = gene[np.lexsort((rank[gene], owner))]
    names = [str(g) for g in genes[gene]]
    ends = np.cumsum(overlap[rows]).tolist()
    out[rows] = [";".join(names[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    return out


def _check_table(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"The DE table has no column {', '.join(map(repr, missing))} (needed "
                         f"for {what}); its columns are: {', '.join(map(str, table.columns))}. "
                         "Give a heatseq DE table (symbol, log2FoldChange, padj) or set "
                         "symbol_column.")


def _as_frame(table: Any) -> pd.DataFrame:
    frame = table if isinstance(table, pd.DataFrame) else getattr(table, "table", None)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"Expected a DE table (pandas DataFrame or DEResult), got "
                         f"{type(table).__name__}.")
    return frame


def tested_universe(table: Any, *, symbol_column: str = "symbol") -> list[str]:
    """The genes a DE test could call: symbols of the rows with a non-NA padj (unique, in
    table order; rows without a symbol are left out).

    Parameters
    ----------
    table
        A DE table (``DEResult.table`` or a :class:`~heatseq.de.results.DEResult`).
    symbol_column
        The column holding the gene symbols.
    """
    frame = _as_frame(table)
    _check_table(frame, (symbol_column, "padj"), "the tested universe")
    sym = frame.loc[frame["padj"].notna(), symbol_column]
    return pd.unique(sym.dropna().astype(str)).tolist()


def de_gene_lists(table: Any, *, alpha: float = 0.05, lfc_threshold: float = 1.0,
                  symbol_column: str = "symbol") -> dict[str, list[str]]:
    """The significant genes of a DE table: ``padj < alpha`` and ``|LFC| > lfc_threshold``.

    Parameters
    ----------
    table
        A DE table (``DEResult.table`` or a :class:`~heatseq.de.results.DEResult`) with
        ``padj``, ``log2FoldChange`` and the symbol column.
    alpha
        Adjusted p-value cut-off.
    lfc_threshold
        Absolute log2 fold change cut-off (strictly greater).
    symbol_column
        The column holding the gene symbols; rows without one are left out (counted in the
        log).

    Returns
    -------
    dict
        ``{"up": [...], "down": [...], "both": [...]}``: unique symbols, most significant
        first (by padj, then symbol).
    """
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 1):
        raise InputError(f"alpha={alpha!r} is not valid; give a number in (0, 1].")
    if not (isinstance(lfc_threshold, (int, float)) and math.isfinite(lfc_threshold)
            and lfc_threshold >= 0):
        raise InputError(f"lfc_threshold={lfc_threshold!r} is not valid; give a number >= 0.")
    frame = _as_frame(table)
    _check_table(frame, (symbol_column, "padj", "log2FoldChange"), "the DE gene lists")
    padj = frame["padj"].to_numpy(dtype=float)
    lfc = frame["log2FoldChange"].to_numpy(dtype=float)
    sig = (padj < alpha) & (np.abs(lfc) > lfc_threshold)
    sub = pd.DataFrame({"symbol": frame[symbol_column].to_numpy(dtype=object),
                        "padj": padj, "lfc": lfc})[sig]
    no_symbol = int(sub["symbol"].isna().sum())
    if no_symbol:
        log.info("%d significant genes have no symbol and are left out of the lists",
                 no_symbol)
    sub = sub.dropna(subset=["symbol"]).astype({"symbol": str})
    sub = sub.sort_values(["padj", "symbol"], kind="stable")
    out = {"up": pd.unique(sub.loc[sub["lfc"] > 0, "symbol"]).tolist(),
           "down": pd.unique(sub.loc[sub["lfc"] < 0, "symbol"]).tolist(),
           "both": pd.unique(sub["symbol"]).tolist()}
    return out
