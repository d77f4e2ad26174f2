"""Redundant GO terms: which significant terms repeat a more significant one.

This module owns :func:`mark_redundant`, which adds a ``redundant_of`` column to an ORA or
GSEA table; callers (the report, :meth:`heatseq.enrich.analysis.Enrichment.top`) hide
the rows where it is not empty. Nothing is removed from the table and no statistic
changes.

The rule (greedy, by significance, like the "representative term" pass of REVIGO,
Supek et al. 2011, PLoS ONE 6:e21800, but on the genes that drive the enrichment rather
than on semantic similarity):

1. Only significant rows (``padj < alpha``) take part; the others get ``redundant_of = ""``.
   Rows are compared within one collection (and one list, when the table has a ``list``
   column).
2. They are visited by p-value, then term ID (the order of the table). A term is marked
   redundant of the first (most significant) already *kept* term ``K`` such that

   a. one of the two is an ancestor of the other in the GO DAG (``is_a`` and ``part_of``,
      the relations the bundled sets are propagated over) and their overlap genes (the
      ``genes`` column) have a Jaccard index >= ``related_jaccard`` (default 0.7), or
   b. their overlap genes have a Jaccard index >= ``jaccard`` (default 0.9), whatever their
      relation (this also applies to non-GO sets such as Reactome pathways).

   Otherwise the term is kept. A redundant term is never the representative of another,
   so there are no chains: every ``redundant_of`` names a kept term.
3. ``redundant_of`` holds the representative's term ID.

The Jaccard indices of all pairs come from one sparse product of the terms x genes
indicator matrix; the ancestor relation from the DAG's ancestor sets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from heatseq.errors import InputError

__all__ = ["mark_redundant"]

log = logging.getLogger(__name__)

_NEEDED = ("term_id", "padj", "genes")


def mark_redundant(table: pd.DataFrame, *, dag: Any = None, alpha: float = 0.05,
                   related_jaccard: float = 0.7, jaccard: float = 0.9) -> pd.DataFrame:
    """The table with a ``redundant_of`` column marking redundant significant terms.

    Parameters
    ----------
    table
        An enrichment table (from :func:`heatseq.enrich.ora.ora`, or any table with
        ``term_id``, ``padj`` and ``genes``, the ';'-joined overlap or leading-edge genes),
        sorted by significance.
    dag
        The GO DAG: ``None`` for the bundled one (:func:`heatseq.enrich.collections.go_dag`),
        a mapping ``term -> parent terms`` (is_a and part_of), or an object with an
        ``ancestors`` method. Terms the DAG does not know have no relatives.
    alpha
        Rows with ``padj < alpha`` take part.
    related_jaccard
        Jaccard index of the overlap genes from which a GO ancestor or descendant of a kept
        term is redundant.
    jaccard
        Jaccard index from which any term is redundant.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` (same rows and order, ``attrs`` kept) with ``redundant_of``:
        the ID of the kept term a row repeats, or ``""``.

    Examples
    --------
    >>> t = pd.DataFrame({"term_id": ["GO:2", "GO:1", "GO:3"], "padj": [0.001, 0.002, 0.01],
    ...                   "genes": ["A;B;C;D", "A;B;C;D;E", "X;Y"]})
    >>> mark_redundant(t, dag={"GO:2": ["GO:1"]})["redundant_of"].tolist()
    ['', 'GO:2', '']
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"mark_redundant needs an enrichment table (DataFrame), got "
                         f"{type(table).__name__}.")
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise InputError(f"The enrichment table has no column {', '.join(map(repr, missing))}"
                         f"; its columns are: {', '.join(map(str, table.columns))}. Give a "
                         "table from heatseq.enrich.ora.ora or heatseq.enrich.gsea.gsea.")
    for name, v in (("alpha", alpha), ("related_jaccard", related_jaccard),
                    ("jaccard", jaccard)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v <= 1:
            raise InputError(f"{name}={v!r} is not valid; give a number in (0, 1].")
    out = table.copy()
    redundant = np.full(len(out), "", dtype=object)
    sig = np.flatnonzero(out["padj"].to_numpy(dtype=float) < alpha)
    if sig.size > 1:
        keys = [c for c in ("list", "collection") if c in out.columns]
        groups = (out.iloc[sig].groupby(keys, sort=False, dropna=False).indices
                  if keys else {None: np.arange(sig.size)})
        if dag is None and out["term_id"].astype(str).str.startswith("GO:").any():
            from heatseq.enrich.collections import go_dag

            dag = go_dag()
        for pos in groups.values():
            rows = sig[np.sort(pos)]
            terms = np.array([str(t) for t in out["term_id"].to_numpy()[rows]], dtype=object)
            related = (_related(dag, terms) if dag is not None
                       else np.zeros((terms.size, terms.size), dtype=bool))
            redundant[rows] = _greedy(terms, out["genes"].to_numpy(dtype=object)[rows],
                                      related, related_jaccard=related_jaccard,
                                      jaccard=jaccard)
    out["redundant_of"] = redundant
    log.info("redundant terms: %d of %d significant", int((redundant != "").sum()), sig.size)
    return out


def _greedy(terms: np.ndarray, genes: np.ndarray, related: np.ndarray, *,
            related_jaccard: float, jaccard: float) -> np.ndarray:
    """``redundant_of`` for terms visited in order (see the module rule); ``related[i, j]``
    when one of terms ``i`` and ``j`` is an ancestor of the other."""
    m = terms.size
    jac = _jaccard(genes)
    linked = (related & (jac >= related_jaccard)) | (jac >= jaccard)
    np.fill_diagonal(linked, False)
    out = np.full(m, "", dtype=object)
    kept = np.zeros(m, dtype=bool)
    for i in range(m):   # sequential by nature: a term's fate depends on the kept ones
        hit = np.flatnonzero(linked[i] & kept)
        if hit.size:
            out[i] = terms[hit[0]]
        else:
            kept[i] = True
    return out


def _jaccard(genes: np.ndarray) -> np.ndarray:
    """Pairwise Jaccard indices of ';'-joined gene lists (an empty list matches nothing)."""
    from scipy.sparse import csr_array

    split = [str(g).split(";") if isinstance(g, str) and g else [] for g in genes]
    lengths = np.array([len(s) for s in split], dtype=np.int64)
    flat = [g for s in split for g in s]
    codes, _ = pd.factorize(pd.Series(flat, dtype=object))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    mat = csr_array((np.ones(len(flat), dtype=np.float64), codes, indptr),
                    shape=(len(split), int(codes.max(initial=-1)) + 1))
    mat.sum_duplicates()
    mat.data[:] = 1.0
    sizes = np.asarray(mat.sum(axis=1)).ravel()
    inter = (mat @ mat.T).toarray()
    union = sizes[:, None] + sizes[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _related(dag: Any, terms: np.ndarray) -> np.ndarray:
    """``related[i, j]``: one of ``terms[i]``, ``terms[j]`` is a proper ancestor of the other
    (is_a + part_of), from a DAG in any of the forms :func:`mark_redundant` accepts."""
    m = terms.size
    anc = np.zeros((m, m), dtype=bool)
    if isinstance(dag, Mapping):
        pos = {t: i for i, t in enumerate(terms)}
        for i, t in enumerate(terms):
            anc[i, [pos[a] for a in _walk_up(t, dag) if a in pos]] = True
    elif hasattr(dag, "ancestor_matrix") and hasattr(dag, "index"):
        cols = np.asarray(dag.index(list(terms)))
        known = cols >= 0
        if known.any():
            anc[:, known] = dag.ancestor_matrix(list(terms))[:, cols[known]].toarray()
    elif hasattr(dag, "ancestors"):
        pos = {t: i for i, t in enumerate(terms)}
        for i, t in enumerate(terms):
            anc[i, [pos[a] for a in dag.ancestors(t) if a in pos]] = True
    else:
        raise InputError(f"dag must be None, a mapping term -> parents or a GO DAG object; "
                         f"got {type(dag).__name__}.")
    return anc | anc.T


def _walk_up(term: str, parents: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(parents.get(term, ()))
    while todo:
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo.extend(parents.get(t, ()))
    return seen
