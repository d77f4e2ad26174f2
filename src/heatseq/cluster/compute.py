"""The clustering behind a heatmap, in one call: :func:`cluster` -> :class:`Clustering`.

This module owns the order of the steps and their bookkeeping (notes, caption, parameters,
timings): scale rows (:mod:`~heatseq.cluster.values`), cluster rows and columns
(:mod:`~heatseq.cluster.distance`, :mod:`~heatseq.cluster.linkage`), cut the gene tree into
modules and summarise them (:mod:`~heatseq.cluster.modules`). Missing values stay missing in
``Clustering.values`` (drawn in the NA colour); for the distances they count as the row mean
(0 for z-scores).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from heatseq.cluster import linkage as lk
from heatseq.cluster.distance import Metric
from heatseq.cluster.modules import K_METHODS, KMethod, choose_k, cut_modules, summarize_modules
from heatseq.cluster.result import Clustering, ModuleSummary
from heatseq.cluster.values import SCALES, Scale, check_option, colour_limit, scale_rows
from heatseq.errors import InputError

__all__ = ["cluster"]

_SCALE_WORDS = {"row": "row z-scores", "center": "row-centred values", "none": "values as given"}


def _check_values(values: object) -> pd.DataFrame:
    if not isinstance(values, pd.DataFrame):
        raise InputError(f"cluster() takes a genes x samples DataFrame (e.g. from "
                         f"expression_values()), got {type(values).__name__}.")
    if values.shape[0] == 0:
        raise InputError("There are no genes to cluster (the table has 0 rows); check the gene "
                         "selection.")
    if values.shape[1] == 0:
        raise InputError("The table has no samples (0 columns).")
    v = values.copy()
    v.index = pd.Index(v.index.astype(str), name="gene_id")
    v.columns = pd.Index(v.columns.astype(str), name="sample")
    for idx, what in ((v.index, "gene ID"), (v.columns, "sample name")):
        dup = idx[idx.duplicated()].unique()
        if len(dup):
            raise InputError(f"{len(dup)} duplicated {what}(s): {', '.join(map(str, dup[:5]))}. "
                             f"Each {what} must be unique.")
    try:
        return v.astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Values to cluster must be numeric: {exc}") from None


def _filled(scaled: np.ndarray) -> np.ndarray:
    """Missing values replaced by the mean of the row's other values (0 if none)."""
    ok = np.isfinite(scaled)
    if ok.all():
        return scaled
    n = ok.sum(axis=1, keepdims=True)
    mean = np.where(ok, scaled, 0.0).sum(axis=1, keepdims=True) / np.maximum(n, 1)
    return np.where(ok, scaled, mean)


def _col_order(given: Sequence[str], columns: pd.Index) -> pd.Index:
    order = pd.Index([str(c) for c in given])
    unknown = order.difference(columns, sort=False)
    missing = columns.difference(order, sort=False)
    if len(unknown) or len(missing) or order.has_duplicates:
        parts = []
        if len(unknown):
            parts.append(f"not samples: {', '.join(map(str, unknown[:5]))}")
        if len(missing):
            parts.append(f"missing: {', '.join(map(str, missing[:5]))}")
        if order.has_duplicates:
            parts.append("some samples appear twice")
        raise InputError(f"col_order must list every sample exactly once ({'; '.join(parts)}). "
                         f"Samples are: {', '.join(map(str, columns[:10]))}.")
    return order


def _clustering_words(*, rows: bool, cols: bool, row_metric: str, col_metric: str, method: str,
                      optimal: bool, given_cols: bool) -> str:
    if not rows and not cols:
        words = "not clustered"
    elif rows and cols and row_metric == col_metric:
        words = f"{row_metric}, {method} linkage"
    elif rows and cols:
        words = f"rows {row_metric}, columns {col_metric}, {method} linkage"
    elif rows:
        words = f"rows {row_metric}, {method} linkage"
    else:
        words = f"columns {col_metric}, {method} linkage"
    if optimal and (rows or cols):
        words += ", optimal leaf order"
    if given_cols:
        words += "; samples in the given order"
    return words


def cluster(values: pd.DataFrame, *, samples: pd.DataFrame | None = None, scale: Scale = "row",
            row_metric: Metric = "euclidean", col_metric: Metric = "euclidean",
            method: lk.Method = "complete", cluster_rows: bool = True, cluster_cols: bool = True,
            optimal_ordering: bool = False, col_order: Sequence[str] | None = None,
            k: int | None = None, k_method: KMethod = "silhouette",
            condition: str | pd.Series | None = None,
            clip: float | Literal["auto"] | None = "auto", gene_labels: pd.Series | None = None,
            caption_prefix: str | None = None, max_matrix_gb: float = 4.0, seed: int = 0,
            timings: Mapping[str, float] | None = None, notes: Sequence[str] = (),
            transform: str | None = None) -> Clustering:
    """Scale, cluster rows and columns, and cut the gene tree into modules.

    With ``scale="row"``, euclidean metrics and complete linkage (the defaults) the trees and
    orders are those of ``pheatmap(x, scale = "row")`` in R: same merge heights, same
    cophenetic distances, same leaf order (see :mod:`heatseq.cluster.linkage` for the rule).

    Parameters
    ----------
    values
        Genes x samples, before scaling (e.g. VST values of the selected genes, with genes in
        selection order). May hold NaN/inf.
    samples
        Samples table (indexed by sample name), for ``condition``.
    scale
        ``"row"`` (z-scores, ddof=1), ``"center"`` or ``"none"``.
    row_metric, col_metric
        ``euclidean``, ``correlation`` (1 - Pearson r), ``spearman``, ``cosine`` or
        ``manhattan``.
    method
        ``complete``, ``average``, ``ward.D2`` (euclidean only) or ``single``.
    cluster_rows, cluster_cols
        Whether to cluster each axis; otherwise the given order is kept.
    optimal_ordering
        Optimal leaf ordering of both trees (slower; keeps a copy of the distances).
    col_order
        A sample order to use instead of clustering the columns.
    k
        Number of gene modules; None chooses it by ``k_method``.
    k_method
        ``"silhouette"`` (largest mean silhouette over k = 2..8) or ``"height_gap"``.
    condition
        A column of ``samples`` (or a Series sample -> level) for the module summaries.
    clip
        Colour limit: ``"auto"`` (99th percentile of |value|), a number, or None.
    gene_labels
        Gene ID -> label (symbol); IDs without a label show the ID.
    caption_prefix
        Start of the caption, e.g. a :class:`GeneSelection`'s caption; defaults to
        ``"N genes"``.
    max_matrix_gb
        Largest distance matrix to hold (see :func:`heatseq.cluster.linkage.linkage`).
    seed
        Seed of the gene subsample used by the silhouette criterion on large inputs.
    timings
        Seconds of earlier steps (e.g. ``{"select": ..., "transform": ...}``), kept in the result.
    notes
        Notes of earlier steps, kept first in the result; by default the transform's note
        (``values.attrs["transform_note"]``, set by :func:`expression_values`).
    transform
        What produced ``values`` (``"vst"``, ``"log2"``, ``"none"``), recorded in
        ``params["transform"]`` for the legend; by default taken from
        ``values.attrs["transform"]`` (set by :func:`expression_values`), else ``"none"``.

    Returns
    -------
    Clustering

    Raises
    ------
    InputError
        For invalid options, an invalid metric/method pair (the message lists the valid ones),
        an empty table, clustering columns of a single sample, row z-scores of a single
        sample, or a clustering too large for the memory limit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> v = pd.DataFrame(rng.normal(size=(6, 4)), index=list("abcdef"), columns=list("wxyz"))
    >>> c = cluster(v, k=2)
    >>> len(c.row_order), c.modules.nunique(), c.caption
    (6, 2, '6 genes; row z-scores; euclidean, complete linkage')
    """
    check_option(scale, SCALES, name="scale")
    check_option(k_method, K_METHODS, name="k_method")
    if cluster_rows:
        lk.check_pair(row_metric, method, axis="row")
    if cluster_cols and col_order is None:
        lk.check_pair(col_metric, method, axis="col")
    v = _check_values(values)
    n_genes, n_samples = v.shape
    all_notes = list(notes)
    if not all_notes and v.attrs.get("transform_note"):
        all_notes.append(str(v.attrs["transform_note"]))
    t: dict[str, float] = dict(timings or {})
    given_cols = col_order is not None
    if given_cols:
        col_ids = _col_order(col_order, v.columns)
    elif cluster_cols and n_samples < 2:
        raise InputError(f"Clustering columns needs at least 2 samples; the table has 1 "
                         f"({v.columns[0]}). Give cluster_cols=False (and scale='none').")
    if k is not None and (not isinstance(k, int | np.integer) or not 1 <= k <= n_genes):
        raise InputError(f"k={k!r} modules is out of range; choose 1 to {n_genes} (the number "
                         "of genes), or None to choose k automatically.")

    t0 = time.perf_counter()
    scaled, scale_notes = scale_rows(v, scale=scale)
    all_notes.extend(scale_notes)
    x = _filled(scaled.to_numpy())
    t["scale"] = time.perf_counter() - t0

    row_link = col_link = None
    row_ids = v.index
    for key in ("distances", "linkage", "cpu_distances", "cpu_linkage"):
        t.setdefault(key, 0.0)
    do_rows = cluster_rows and n_genes >= 2
    if cluster_rows and n_genes < 2:
        all_notes.append("A single gene: rows are not clustered and there are no modules.")
    steps = []
    if do_rows:
        row_link, step = lk.linkage_timed(x, metric=row_metric, method=method,
                                          optimal_ordering=optimal_ordering,
                                          max_matrix_gb=max_matrix_gb, axis="row")
        steps.append(step)
    do_cols = cluster_cols and not given_cols
    if do_cols:
        col_link, step = lk.linkage_timed(np.ascontiguousarray(x.T), metric=col_metric,
                                          method=method, optimal_ordering=optimal_ordering,
                                          max_matrix_gb=max_matrix_gb, axis="col")
        steps.append(step)
    for step in steps:
        for key, sec in step.items():
            t[key] += sec

    t0 = time.perf_counter()
    if row_link is not None:
        row_ids = v.index[lk.leaf_order(row_link)]
    if col_link is not None:
        col_ids = v.columns[lk.leaf_order(col_link)]
    elif not given_cols:
        col_ids = v.columns
    t["order"] = time.perf_counter() - t0

    labels = pd.Series(v.index, index=v.index, name="label")
    if gene_labels is not None:
        g = pd.Series(gene_labels)
        g.index = g.index.astype(str)
        g = g.reindex(v.index)
        g = g.where(g.notna() & (g.astype(str).str.strip() != ""))
        labels = g.fillna(labels).astype(str).rename("label")

    t0 = time.perf_counter()
    modules = None
    summaries: tuple[ModuleSummary, ...] = ()
    k_used: int | None = None
    k_scores: dict[int, float] = {}
    if row_link is not None:
        if k is None:
            k_used, k_scores = choose_k(x, row_link, metric=row_metric, k_method=k_method,
                                        seed=seed)
        else:
            k_used = int(k)
        modules = cut_modules(row_link, v.index, k=k_used)
        summaries = summarize_modules(scaled, modules, samples=samples, condition=condition,
                                      row_labels=labels, centred=scale == "row")
    elif k is not None and not cluster_rows:
        all_notes.append("k was given but rows are not clustered: no modules.")
    t["modules"] = time.perf_counter() - t0

    limit = colour_limit(scaled, clip=clip, scale=scale)
    prefix = caption_prefix or f"{n_genes:,} gene{'s' if n_genes != 1 else ''}"
    words = _clustering_words(rows=row_link is not None, cols=col_link is not None,
                              row_metric=row_metric, col_metric=col_metric, method=method,
                              optimal=optimal_ordering, given_cols=given_cols)
    caption = f"{prefix}; {_SCALE_WORDS[scale]}; {words}"
    if transform is None:
        transform = str(v.attrs.get("transform", "none"))
    params = {
        "transform": transform, "scale": scale, "row_metric": row_metric,
        "col_metric": col_metric, "method": method, "cluster_rows": bool(cluster_rows),
        "cluster_cols": bool(cluster_cols), "optimal_ordering": bool(optimal_ordering),
        "col_order": tuple(col_ids) if given_cols else None, "k": k, "k_used": k_used,
        "k_method": k_method if k is None else "given", "k_scores": k_scores,
        "condition": condition if isinstance(condition, str) else None, "clip": clip,
        "max_matrix_gb": max_matrix_gb, "seed": seed, "n_genes": n_genes,
        "n_samples": n_samples,
        "row_algorithm": _algorithm(n_genes, row_metric, method, max_matrix_gb) if do_rows
        else None,
    }
    return Clustering(values=scaled, row_order=pd.Index(row_ids, name="gene_id"),
                      col_order=pd.Index(col_ids, name="sample"), row_linkage=row_link,
                      col_linkage=col_link, modules=modules, module_summaries=summaries,
                      clip=limit, caption=caption, row_labels=labels, notes=tuple(all_notes),
                      params=params, timings=t)


def _algorithm(n: int, metric: str, method: str, max_gb: float) -> str:
    """The row algorithm in words, for params (and the benchmark's printout)."""
    p = lk.plan(n, metric=metric, method=method, max_matrix_gb=max_gb)  # type: ignore[arg-type]
    return p.text
