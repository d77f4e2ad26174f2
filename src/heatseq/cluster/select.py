"""Which genes a heatmap shows: top variance, DE genes, a user's list, or all.

This module owns gene selection and the caption that says what was chosen, so that nothing is
truncated silently ("500 of 18,342 genes (top variance)"). The selected IDs come in rank order:
by decreasing variance (ties in table order, as R's ``order(decreasing = TRUE)``, so the rows
reach the clustering in the same order as pheatmap's input), by increasing padj for DE genes,
in the list's order for a list, in table order for all genes.
"""

from __future__ import annotations

import warnings
from typing import Literal, get_args

import numpy as np
import pandas as pd

from heatseq.cluster.result import GeneSelection
from heatseq.cluster.values import check_option, expression_values
from heatseq.dataset import Dataset
from heatseq.errors import InputError, InputWarning

__all__ = ["row_variance", "select_genes"]

By = Literal["top_variance", "de", "list", "all"]
BYS: tuple[str, ...] = get_args(By)


def row_variance(values: pd.DataFrame) -> pd.Series:
    """Sample variance (``ddof=1``, as R's ``var``) of each gene's finite values.

    A gene with fewer than 2 finite values has variance NaN and ranks last.
    """
    v = values.to_numpy(dtype=float)
    ok = np.isfinite(v)
    n = ok.sum(axis=1)
    mean = np.where(ok, v, 0.0).sum(axis=1) / np.maximum(n, 1)
    dev = np.where(ok, v - mean[:, None], 0.0)
    var = np.where(n > 1, (dev * dev).sum(axis=1) / np.maximum(n - 1, 1), np.nan)
    return pd.Series(var, index=values.index, name="variance")


def _symbols(data: Dataset | pd.DataFrame, symbols: pd.Series | None) -> pd.Series | None:
    if symbols is not None:
        return symbols
    if isinstance(data, Dataset) and "symbol" in data.genes.columns:
        return data.genes["symbol"]
    return None


def _match_list(names: list[str], ids: pd.Index, symbols: pd.Series | None
                ) -> tuple[list[str], list[str]]:
    """IDs matching each name (case-insensitive, IDs first, then symbols) and unknown names."""
    id_key = pd.Series(ids, index=ids.str.upper())
    id_key = id_key[~id_key.index.duplicated()]
    sym_key = pd.Series(dtype=object)
    if symbols is not None:
        s = symbols.reindex(ids).dropna().astype(str)
        sym_key = pd.Series(s.index, index=s.str.upper().to_numpy())
    keys = pd.Index([n.strip().upper() for n in names])
    found: list[str] = []
    unknown: list[str] = []
    by_id = id_key.reindex(keys)
    sym_groups = sym_key.groupby(level=0, sort=False).agg(list) if len(sym_key) else pd.Series(
        dtype=object)
    by_sym = sym_groups.reindex(keys)
    for name, gid, gsym in zip(names, by_id.to_numpy(), by_sym.to_numpy(), strict=True):
        if isinstance(gid, str):
            found.append(gid)
        elif isinstance(gsym, list):
            found.extend(gsym)  # a symbol shared by several IDs selects them all
        else:
            unknown.append(name)
    return list(dict.fromkeys(found)), unknown


def select_genes(data: Dataset | pd.DataFrame, *, by: By = "top_variance", n: int | None = 500,
                 de_result: object = None, alpha: float = 0.1, lfc_threshold: float = 0.0,
                 balanced: bool = False, genes: list[str] | tuple[str, ...] | pd.Index | None = None,
                 symbols: pd.Series | None = None) -> GeneSelection:
    """Choose the genes to draw.

    Parameters
    ----------
    data
        A Dataset (variances are taken of its VST) or a genes x samples table of values as
        they will be drawn before scaling (e.g. from :func:`expression_values`).
    by
        ``"top_variance"``: the ``n`` genes of largest variance. ``"de"``: genes of
        ``de_result`` with padj < ``alpha`` and |log2FoldChange| >= ``lfc_threshold``, the
        ``n`` smallest padj. ``"list"``: ``genes``, matched case-insensitively to gene IDs,
        then to symbols. ``"all"``: every gene.
    n
        Maximum number of genes (None: no maximum) for ``top_variance`` and ``de``.
    de_result
        A :class:`heatseq.de.results.DEResult`, or a table indexed by gene ID with columns
        ``padj`` and ``log2FoldChange``.
    alpha, lfc_threshold
        DE cut-offs.
    balanced
        For ``de``: at most ``ceil(n / 2)`` up- and ``floor(n / 2)`` down-regulated genes,
        each the smallest padj of its direction.
    genes
        The gene IDs or symbols of ``by="list"``.
    symbols
        Gene ID -> symbol for matching a list against a table (a Dataset has its own).

    Returns
    -------
    GeneSelection
        IDs in rank order, a caption, and the names of a list that matched nothing.

    Raises
    ------
    InputError
        For an invalid ``by``, a missing ``de_result`` or ``genes``, an empty list, a list
        of which no name is found, or no significant DE gene.

    Warns
    -----
    InputWarning
        When some names of a list match no gene (they are listed).

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"a": [1.0, 2.0, 5.0], "b": [1.0, 4.0, 0.0]}, index=["g1", "g2", "g3"])
    >>> select_genes(v, n=2).caption
    '2 of 3 genes (top variance)'
    """
    check_option(by, BYS, name="by")
    if n is not None and (not isinstance(n, int | np.integer) or n < 1):
        raise InputError(f"n={n!r} is not valid; give a positive whole number of genes (or None).")
    ids = pd.Index(data.gene_ids if isinstance(data, Dataset) else data.index).astype(str)
    total = len(ids)
    unknown: tuple[str, ...] = ()
    if by == "all":
        chosen, how = ids, "all genes"
    elif by == "top_variance":
        values = expression_values(data) if isinstance(data, Dataset) else data
        var = row_variance(values).to_numpy()
        key = np.where(np.isnan(var), -np.inf, var)
        order = np.argsort(-key, kind="stable")
        chosen = ids[order[: n if n is not None else total]]
        how = "top variance"
    elif by == "de":
        chosen, how = _de_genes(de_result, ids, n=n, alpha=alpha, lfc_threshold=lfc_threshold,
                                balanced=balanced)
    else:
        if genes is None:
            raise InputError("by='list' needs genes=[...] (gene IDs or symbols).")
        names = [str(g) for g in genes if str(g).strip()]
        if not names:
            raise InputError("The gene list is empty; give at least one gene ID or symbol.")
        found, missing = _match_list(names, ids, _symbols(data, symbols))
        if not found:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise InputError(f"None of the {len(names)} names in the gene list matched a gene ID "
                             f"or symbol: {shown}. Gene IDs look like {ids[0]!r}; check the "
                             "spelling and the organism.")
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            warnings.warn(f"{len(missing)} of {len(names)} names in the gene list matched no "
                          f"gene ID or symbol and are left out: {shown}.", InputWarning,
                          stacklevel=2)
        unknown = tuple(missing)
        chosen = pd.Index(found)
        how = "gene list" + (f"; {len(missing)} names not found" if missing else "")
    chosen = pd.Index(chosen, name="gene_id").astype(str)
    caption = f"{len(chosen):,} of {total:,} genes ({how})"
    return GeneSelection(ids=chosen, caption=caption, unknown=unknown, by=by, n_total=total)


def _de_genes(de_result: object, ids: pd.Index, *, n: int | None, alpha: float,
              lfc_threshold: float, balanced: bool) -> tuple[pd.Index, str]:
    if de_result is None:
        raise InputError("by='de' needs de_result= (a DEResult or a table with padj and "
                         "log2FoldChange).")
    table = getattr(de_result, "table", de_result)
    if not isinstance(table, pd.DataFrame) or not {"padj", "log2FoldChange"} <= set(table.columns):
        raise InputError("de_result must be a DEResult or a table indexed by gene ID with columns "
                         "padj and log2FoldChange.")
    t = table.copy()
    t.index = t.index.astype(str)
    t = t[t.index.isin(ids)]
    sig = t[(t["padj"] < alpha) & (t["log2FoldChange"].abs() >= lfc_threshold)]
    if sig.empty:
        raise InputError(f"No gene has padj < {alpha:g} and |log2FoldChange| >= {lfc_threshold:g} "
                         "in the DE result; raise alpha, lower lfc_threshold, or use "
                         "by='top_variance'.")
    sort_cols = ["padj", "pvalue"] if "pvalue" in sig.columns else ["padj"]
    sig = sig.sort_values(sort_cols, kind="mergesort")
    lfc_words = f", |LFC| >= {lfc_threshold:g}" if lfc_threshold else ""
    how = f"DE, padj < {alpha:g}{lfc_words}"
    if balanced:
        limit = len(sig) if n is None else n
        up = sig[sig["log2FoldChange"] > 0].index[: (limit + 1) // 2]
        down = sig[sig["log2FoldChange"] < 0].index[: limit // 2]
        keep = set(up) | set(down)
        chosen = sig.index[sig.index.isin(keep)]
        how += f"; {len(up)} up, {len(down)} down"
    else:
        chosen = sig.index[: n if n is not None else len(sig)]
    if n is not None and len(sig) > len(chosen):
        how += f"; smallest padj of {len(sig):,}"
    return pd.Index(chosen), how
