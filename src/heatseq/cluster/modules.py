"""Gene modules: the gene tree cut into k groups, the choice of k, and plain-word summaries.

This module owns:

* :func:`cut_modules`: undo the last k - 1 merges of the tree (or every merge above a
  height). Each module is a contiguous run of the leaf order, so modules are numbered 1..k top
  to bottom as drawn.
* :func:`choose_k`: k when none is given. ``"silhouette"`` (default): the k in 2..8 with the
  largest mean silhouette width (Rousseeuw 1987) on the distances the tree was built from; on a
  seeded random subsample of 2,000 genes when there are more (the cut itself always uses the
  whole tree); ties go to the smaller k. ``"height_gap"``: the k in 2..8 whose cut falls in the
  largest gap between consecutive merge heights.
* :func:`summarize_modules` and :func:`modules_table`: mean value per condition level of each
  module (or gene) and a sentence per module. For each level, the module's mean (row z-score, or
  row-centred value when rows were not z-scored) over its samples is compared with the average
  of the other levels' means: the module is called *high* in the level when the difference is
  at least +0.5, *low* when it is at most -0.5 (with two levels: when their means differ by
  0.5 or more). Top genes are those whose profile correlates best (Pearson) with the module's
  mean profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import numpy as np
import pandas as pd

from heatseq.cluster.distance import Metric, square_distances
from heatseq.cluster.result import Clustering, ModuleSummary
from heatseq.errors import InputError

__all__ = ["choose_k", "cut_modules", "modules_table", "summarize_modules"]

KMethod = Literal["silhouette", "height_gap"]
K_METHODS: tuple[str, ...] = get_args(KMethod)

#: Candidate numbers of modules for the automatic choice.
K_RANGE = (2, 8)
#: Genes used for the silhouette when there are more.
SILHOUETTE_SAMPLE = 2000
#: |mean z| at or beyond which a module is called high/low in a condition level.
LEVEL_THRESHOLD = 0.5


def _cut_labels(z: np.ndarray, k: int) -> np.ndarray:
    """Module (1..k) of each leaf position (leaf order), undoing the last k - 1 merges."""
    n = z.shape[0] + 1
    k = int(min(max(k, 1), n))
    if k == 1:
        return np.ones(n, dtype=np.int64)
    sizes = np.concatenate([np.ones(n), z[:, 3]])
    start = {2 * n - 2: 0}  # node id -> first leaf position
    bounds = np.empty(k - 1, dtype=np.int64)
    # top k - 1 merges, root first: at most K_RANGE[1] - 1 iterations by default (not per gene)
    for q, m in enumerate(range(n - 2, n - 2 - (k - 1), -1)):
        s = start[n + m]
        left, right = int(z[m, 0]), int(z[m, 1])
        start[left] = s
        start[right] = s + int(sizes[left])
        bounds[q] = s + int(sizes[left])
    return 1 + np.searchsorted(np.sort(bounds), np.arange(n), side="right")


def cut_modules(row_linkage: np.ndarray, row_ids: pd.Index, *, k: int | None = None,
                height: float | None = None) -> pd.Series:
    """Cut the gene tree into modules numbered 1..k from top to bottom.

    Parameters
    ----------
    row_linkage
        Linkage matrix over ``row_ids`` (as in :attr:`Clustering.row_linkage`); its leaf
        order must be the drawn order (true for any linkage made by :func:`cluster`).
    row_ids
        Gene IDs in the linkage's input order (``Clustering.values.index``).
    k
        Number of modules (1 to the number of genes).
    height
        Cut at this height instead: every merge above it is undone.

    Returns
    -------
    pandas.Series
        Gene ID -> module, in drawn order (top to bottom).

    Raises
    ------
    InputError
        If neither or both of ``k`` and ``height`` are given, or ``k`` is out of range.
    """
    from heatseq.cluster.linkage import leaf_order

    n = len(row_ids)
    if row_linkage.shape[0] != n - 1:
        raise InputError(f"The linkage has {row_linkage.shape[0] + 1} leaves but {n} gene IDs "
                         "were given.")
    if (k is None) == (height is None):
        raise InputError("Give exactly one of k (number of modules) or height (cut height).")
    if height is not None:
        k = 1 + int(np.count_nonzero(row_linkage[:, 2] > height))
    assert k is not None
    if not 1 <= k <= n:
        raise InputError(f"k={k} modules is out of range; choose 1 to {n} (the number of genes).")
    order = leaf_order(row_linkage)
    labels = _cut_labels(row_linkage, k)
    ids = pd.Index(row_ids).astype(str)[order]
    return pd.Series(labels, index=pd.Index(ids, name="gene_id"), name="module")


def _silhouettes(d: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean silhouette width of points with square distances ``d`` and labels 1..k."""
    onehot = (labels[:, None] == np.arange(1, k + 1)[None, :]).astype(float)
    counts = onehot.sum(axis=0)
    sums = d @ onehot  # n x k: summed distance of each point to each module
    own = labels - 1
    n_own = counts[own]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = sums[np.arange(len(labels)), own] / (n_own - 1)
        mean_other = sums / counts[None, :]
    mean_other[np.arange(len(labels)), own] = np.inf
    mean_other[:, counts == 0] = np.inf
    b = mean_other.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (b - a) / np.maximum(a, b)
    s[(n_own <= 1) | ~np.isfinite(s)] = 0.0
    return float(s.mean())


def choose_k(x: np.ndarray, row_linkage: np.ndarray, *, metric: Metric = "euclidean",
             k_method: KMethod = "silhouette", seed: int = 0) -> tuple[int, dict[int, float]]:
    """The number of modules, by the stated criterion (see the module docstring).

    Parameters
    ----------
    x
        The rows the tree was built from (n x d, finite), in linkage input order.
    row_linkage
        Their linkage matrix.
    metric
        The metric the tree used (for silhouettes).
    k_method
        ``"silhouette"`` or ``"height_gap"``.
    seed
        Seed of the subsample of genes for silhouettes when there are more than 2,000.

    Returns
    -------
    k : int
        1 when there are fewer than 3 genes.
    scores : dict
        Criterion per candidate k (mean silhouette, or height gap).

    Raises
    ------
    InputError
        If ``k_method`` is not valid.
    """
    if k_method not in K_METHODS:
        raise InputError(f"k_method={k_method!r} is not valid; choose one of: "
                         f"{', '.join(K_METHODS)}.")
    n = row_linkage.shape[0] + 1
    ks = list(range(K_RANGE[0], min(K_RANGE[1], n - 1) + 1))
    if not ks:
        return 1, {}
    h = row_linkage[:, 2]
    if k_method == "height_gap":
        scores = {k: float(h[n - k] - h[n - k - 1]) for k in ks}
    else:
        from heatseq.cluster.linkage import leaf_order

        order = leaf_order(row_linkage)
        pos_labels = {k: _cut_labels(row_linkage, k) for k in ks}
        # labels by input row (cut labels are by leaf position)
        by_row = {k: np.empty(n, dtype=np.int64) for k in ks}
        for k in ks:
            by_row[k][order] = pos_labels[k]
        pick = np.arange(n)
        if n > SILHOUETTE_SAMPLE:
            pick = np.sort(np.random.default_rng(seed).choice(n, SILHOUETTE_SAMPLE, replace=False))
        d = square_distances(x[pick], metric=metric)
        scores = {k: _silhouettes(d, by_row[k][pick], k) for k in ks}
    best = max(ks, key=lambda k: (round(scores[k], 12), -k))
    return best, scores


def _condition_levels(samples: pd.DataFrame | None,
                      condition: str | pd.Series | Mapping[str, object] | None,
                      columns: pd.Index) -> pd.Series | None:
    """Condition level per sample of ``columns`` (a Series), or None without a condition."""
    if condition is None:
        return None
    if isinstance(condition, str):
        if samples is None or condition not in samples.columns:
            have = ", ".join(map(str, samples.columns)) if samples is not None else "none given"
            raise InputError(f"Condition column {condition!r} is not in the samples table; "
                             f"columns are: {have}. Check condition= (--annotate).")
        series = samples[condition]
        series.index = series.index.astype(str)
    else:
        series = pd.Series(condition)
        series.index = series.index.astype(str)
    missing = pd.Index(columns.astype(str)).difference(series.index)
    if len(missing):
        raise InputError(f"The condition has no level for {len(missing)} sample(s): "
                         f"{', '.join(map(str, missing[:5]))}. Give a level for every sample.")
    return series.loc[columns.astype(str)]


def _level_order(levels: pd.Series) -> list[object]:
    if isinstance(levels.dtype, pd.CategoricalDtype):
        return [c for c in levels.cat.categories if c in set(levels)]
    return list(pd.unique(levels.dropna()))


def _row_mean(v: np.ndarray) -> np.ndarray:
    """Mean of the finite values of each row (0 for a row without any), as a column."""
    ok = np.isfinite(v)
    n = ok.sum(axis=1, keepdims=True)
    return np.where(ok, v, 0.0).sum(axis=1, keepdims=True) / np.maximum(n, 1)


def _centred(values: pd.DataFrame) -> np.ndarray:
    v = values.to_numpy(dtype=float)
    return np.where(np.isfinite(v), v - _row_mean(v), np.nan)


def _nan_mean_rows(a: np.ndarray) -> np.ndarray:
    """Column means of ``a`` over its finite entries (NaN for a column without any)."""
    ok = np.isfinite(a)
    n = ok.sum(axis=0)
    s = np.where(ok, a, 0.0).sum(axis=0)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _level_means(v: np.ndarray, levels: pd.Series) -> tuple[list[object], np.ndarray]:
    """Per gene, the mean over the samples of each level (genes x levels), NaN ignored."""
    order = _level_order(levels)
    onehot = np.stack([(levels.to_numpy() == lev) for lev in order], axis=1).astype(float)
    ok = np.isfinite(v)
    sums = np.where(ok, v, 0.0) @ onehot
    counts = ok.astype(float) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return order, sums / counts


def summarize_modules(values: pd.DataFrame, modules: pd.Series, *,
                      samples: pd.DataFrame | None = None,
                      condition: str | pd.Series | None = None,
                      row_labels: pd.Series | None = None, n_top: int = 3,
                      centred: bool = True) -> tuple[ModuleSummary, ...]:
    """One plain-language summary per module.

    Parameters
    ----------
    values
        Genes x samples as drawn (row z-scores by default).
    modules
        Gene ID -> module, in drawn order (from :func:`cut_modules`).
    samples
        The samples table, when ``condition`` names one of its columns.
    condition
        A column of ``samples`` or a Series sample -> level; None: no per-level means.
    row_labels
        Gene ID -> label (symbol) for the top genes.
    n_top
        Number of top genes named.
    centred
        Whether rows are centred already (z-scores); if not they are centred here first.

    Returns
    -------
    tuple of ModuleSummary
        In module order.

    Raises
    ------
    InputError
        If the condition is not found or lacks samples.
    """
    ids = modules.index
    sub = values.loc[ids]
    v = sub.to_numpy(dtype=float) if centred else _centred(sub)
    levels = _condition_levels(samples, condition, values.columns)
    lab = modules.to_numpy()
    ks = np.unique(lab)
    # correlation of each gene with its module's mean profile (missing values as the row mean)
    filled = np.where(np.isfinite(v), v - _row_mean(v), 0.0)
    onehot = (lab[:, None] == ks[None, :]).astype(float)
    profiles = (onehot.T @ filled) / onehot.sum(axis=0)[:, None]
    mine = profiles[np.searchsorted(ks, lab)]
    pc = mine - mine.mean(axis=1, keepdims=True)
    num = np.einsum("ij,ij->i", filled, pc)
    den = np.sqrt(np.einsum("ij,ij->i", filled, filled) * np.einsum("ij,ij->i", pc, pc))
    corr = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    rank = np.lexsort((-corr, lab))  # by module, then best correlation first
    labels = (row_labels.reindex(ids).fillna(pd.Series(ids, index=ids))
              if row_labels is not None else pd.Series(ids, index=ids)).astype(str).to_numpy()
    if levels is not None:
        order, gene_means = _level_means(v, levels)
    out = []
    for m in ks:  # one iteration per module, not per gene
        members = lab == m
        in_m = rank[members[rank]]
        top = tuple(labels[in_m[:n_top]])
        mean_z: dict[str, float] = {}
        if levels is not None:
            means = _nan_mean_rows(gene_means[members])
            mean_z = {str(lev): float(x) for lev, x in zip(order, means, strict=True)}
        text = _sentence(int(m), int(members.sum()), mean_z, top)
        out.append(ModuleSummary(module=int(m), n_genes=int(members.sum()),
                                 genes=tuple(ids[members].astype(str)), top_genes=top,
                                 mean_z=mean_z, text=text))
    return tuple(out)


def _level_contrasts(mean_z: Mapping[str, float]) -> dict[str, float]:
    """Mean z of each level minus the average of the other levels' means (NaN ignored)."""
    levels = [lev for lev, x in mean_z.items() if np.isfinite(x)]
    if len(levels) < 2:
        return {}
    vals = np.array([mean_z[lev] for lev in levels])
    others = (vals.sum() - vals) / (len(vals) - 1)
    return dict(zip(levels, vals - others, strict=True))


def _sentence(m: int, n: int, mean_z: Mapping[str, float], top: tuple[str, ...]) -> str:
    noun = "gene" if n == 1 else "genes"
    head = f"Module {m}, {n:,} {noun}"
    parts = []
    if mean_z:
        diffs = _level_contrasts(mean_z)
        high = [lev for lev, x in diffs.items() if x >= LEVEL_THRESHOLD]
        low = [lev for lev, x in diffs.items() if x <= -LEVEL_THRESHOLD]
        if high:
            parts.append("high in " + ", ".join(high))
        if low:
            parts.append("low in " + ", ".join(low))
        if not parts:
            parts.append(f"no clear difference between {', '.join(mean_z)} "
                         f"(|difference| < {LEVEL_THRESHOLD:g})")
    text = head + (": " + ", ".join(parts) if parts else "")
    if top:
        text += "; top genes " + ", ".join(top)
    return text


def modules_table(clustering: Clustering, *, samples: pd.DataFrame | None = None,
                  condition: str | pd.Series | None = None) -> pd.DataFrame:
    """The ``modules.tsv`` table: gene_id, symbol, module, then ``mean_z_<level>`` per level.

    Parameters
    ----------
    clustering
        A clustering with modules.
    samples
        The samples table, when ``condition`` names one of its columns.
    condition
        A column of ``samples`` or a Series sample -> level; None: no per-level columns.

    Returns
    -------
    pandas.DataFrame
        One row per gene in drawn order (top to bottom).

    Raises
    ------
    InputError
        If the clustering has no modules (rows not clustered) or the condition is not found.
    """
    if clustering.modules is None:
        raise InputError("This clustering has no modules (rows were not clustered); cluster "
                         "rows to get modules.")
    mods = clustering.modules
    ids = mods.index
    table = pd.DataFrame({"gene_id": ids.astype(str),
                          "symbol": clustering.row_labels.reindex(ids).to_numpy(),
                          "module": mods.to_numpy()})
    levels = _condition_levels(samples, condition, clustering.values.columns)
    if levels is not None:
        centred = clustering.params.get("scale") == "row"
        sub = clustering.values.loc[ids]
        v = sub.to_numpy(dtype=float) if centred else _centred(sub)
        order, means = _level_means(v, levels)
        for j, lev in enumerate(order):
            table[f"mean_z_{lev}"] = means[:, j]
    return table
