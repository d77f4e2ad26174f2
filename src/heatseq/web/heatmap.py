"""The interactive heatmap's server side: clustering with :mod:`heatseq.cluster`, and the
compact payload the page draws on a canvas.

A view is computed from the run's VST (genes x samples) and the options of the page (gene
selection, scaling, metric, linkage, sample clustering, k). The matrix travels as binary:
``uint16`` little-endian, row-major in the drawn order (genes top to bottom, samples left to
right), code ``c`` standing for ``lo + c * (hi - lo) / 65534`` and ``65535`` for a missing
value: 2 bytes a cell (4 MB for 20,000 genes x 100 samples) with values exact to 1/65534 of
their range, so the page can show the value under the mouse and recolour (palette, colour
limit) without asking the server. Everything else (gene and sample labels, modules and their
summaries, the sample tree, annotation bars) is JSON.

Trees are cached per (run, genes, scaling, metric, linkage, sample clustering): changing k
only cuts the cached gene tree again (:func:`heatseq.cluster.cut_modules`), which takes
milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from heatseq.cluster import (
    Clustering,
    GeneSelection,
    cluster,
    cut_modules,
    dendrogram_coordinates,
    select_genes,
    summarize_modules,
)

__all__ = ["HeatmapOptions", "View", "ViewCache", "compute_view", "encode_matrix",
           "palette_tables"]

NA_CODE = 65535
_SPAN = 65534


@dataclass(frozen=True)
class HeatmapOptions:
    """What the page asks for (validated by the API's model before it gets here)."""

    genes: str = "top_variance"            # top_variance | de | list
    n: int = 500
    contrast: str | None = None            # a DE table's stem, for genes="de"
    gene_list: tuple[str, ...] = ()
    alpha: float = 0.1
    scale: str = "row"
    metric: str = "euclidean"
    method: str = "complete"
    cluster_samples: bool = True
    k: int | None = None

    def tree_key(self) -> str:
        """The options that decide the trees (everything but k)."""
        d = {k: v for k, v in self.__dict__.items() if k != "k"}
        return json.dumps(d, sort_keys=True, default=list)


@dataclass(frozen=True)
class View:
    """One computed heatmap: the clustering, the selection, the payload and the timings."""

    id: str
    options: HeatmapOptions
    clustering: Clustering
    selection: GeneSelection
    matrix: bytes
    meta: Mapping[str, Any]


def encode_matrix(values: np.ndarray) -> tuple[bytes, float, float]:
    """The ``uint16`` codes of a float matrix, with its range ``(lo, hi)``.

    Examples
    --------
    >>> raw, lo, hi = encode_matrix(np.array([[0.0, 1.0], [np.nan, 0.5]]))
    >>> np.frombuffer(raw, dtype="<u2").tolist(), lo, hi
    ([0, 65534, 65535, 32767], 0.0, 1.0)
    """
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    if ok.any():
        lo, hi = float(v[ok].min()), float(v[ok].max())
    else:
        lo, hi = 0.0, 1.0
    span = hi - lo if hi > lo else 1.0
    codes = np.full(v.shape, NA_CODE, dtype="<u2")
    codes[ok] = np.rint((v[ok] - lo) / span * _SPAN).astype("<u2")
    return codes.tobytes(), lo, hi


def _limits(values: np.ndarray, clip: float | None) -> tuple[float, float]:
    """Colour limits as heatseq's static heatmap draws them."""
    if clip is not None:
        return -float(clip), float(clip)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo < 0 < hi:
        top = max(-lo, hi)
        return -top, top
    if hi <= lo:
        return lo - 0.5, hi + 0.5
    return lo, hi


def palette_tables() -> dict[str, list[str]]:
    """256 colours of each heatmap palette, as heatseq's figures use them."""
    from matplotlib.colors import to_hex

    from heatseq.plot.palettes import PALETTES, body_colormap

    steps = np.linspace(0.0, 1.0, 256)
    return {name: [to_hex(c) for c in body_colormap(name)(steps)] for name in PALETTES}


def _select(values: pd.DataFrame, opt: HeatmapOptions, *, de_tables: Mapping[str, pd.DataFrame],
            symbols: pd.Series | None) -> GeneSelection:
    if opt.genes == "de":
        from heatseq.errors import InputError

        if opt.contrast not in de_tables:
            raise InputError(f"Contrast {opt.contrast!r} is not one of this run's: "
                             f"{', '.join(de_tables) or 'none'}. Choose one from the list.")
        return select_genes(values, by="de", de_result=de_tables[opt.contrast], n=opt.n,
                            alpha=opt.alpha)
    if opt.genes == "list":
        import warnings

        from heatseq.errors import HeatseqWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HeatseqWarning)  # the caption names the misses
            return select_genes(values, by="list", genes=list(opt.gene_list), symbols=symbols)
    return select_genes(values, by="top_variance", n=opt.n)


def _with_k(c: Clustering, k: int | None, *, samples: pd.DataFrame,
            condition: str | None) -> Clustering:
    """The clustering with its gene tree cut into ``k`` modules (None: as computed)."""
    if k is None or c.row_linkage is None or k == c.params.get("k_used"):
        return c
    from heatseq.errors import InputError

    n = len(c.row_order)
    if not 1 <= k <= n:
        raise InputError(f"k={k} modules is out of range; choose 1 to {n} (the number of genes).")
    modules = cut_modules(c.row_linkage, c.values.index, k=k)
    summaries = summarize_modules(c.values, modules, samples=samples, condition=condition,
                                  row_labels=c.row_labels, centred=c.params.get("scale") == "row")
    params = {**dict(c.params), "k": k, "k_used": k, "k_method": "given"}
    return replace(c, modules=modules, module_summaries=summaries, params=params)


def _annotation_bars(samples: pd.DataFrame, annotate: Sequence[str],
                     order: pd.Index) -> list[dict[str, Any]]:
    from heatseq.plot.palettes import level_colors

    cols = [c for c in annotate if c in samples.columns]
    colours = level_colors(samples, cols) if cols else {}
    bars = []
    for col in cols:
        if col not in colours:
            continue
        vals = samples[col].reindex(order)
        bars.append({"column": col,
                     "values": [None if pd.isna(v) else str(v) for v in vals],
                     "colors": colours[col]})
    return bars


def _tree(z: np.ndarray | None) -> list[list[float]] | None:
    if z is None:
        return None
    x, y = dendrogram_coordinates(z)
    top = float(np.max(y)) if y.size else 1.0
    top = top or 1.0
    return [[round(float(a), 4) for a in xs] + [round(float(b) / top, 4) for b in ys]
            for xs, ys in zip(x, y, strict=True)]


def compute_view(values: pd.DataFrame, opt: HeatmapOptions, *, samples: pd.DataFrame,
                 condition: str | None, annotate: Sequence[str],
                 de_tables: Mapping[str, pd.DataFrame], symbols: pd.Series | None,
                 tree: Clustering | None = None) -> tuple[View, Clustering]:
    """Compute a view; ``tree`` is a cached clustering with the same :meth:`tree_key`.

    Returns
    -------
    (View, Clustering)
        The view and the clustering to cache for this tree key (modules as auto-chosen).
    """
    t0 = time.perf_counter()
    sel = _select(values, opt, de_tables=de_tables, symbols=symbols)
    t_select = time.perf_counter() - t0
    if tree is None:
        t1 = time.perf_counter()
        tree = cluster(values.loc[sel.ids], samples=samples, condition=condition,
                       scale=opt.scale,  # type: ignore[arg-type]
                       row_metric=opt.metric, col_metric=opt.metric,  # type: ignore[arg-type]
                       method=opt.method,  # type: ignore[arg-type]
                       cluster_cols=opt.cluster_samples and values.shape[1] > 1,
                       cluster_rows=len(sel.ids) > 1, gene_labels=symbols,
                       caption_prefix=sel.caption)
        t_cluster = time.perf_counter() - t1
    else:
        t_cluster = 0.0
    t2 = time.perf_counter()
    c = _with_k(tree, opt.k, samples=samples, condition=condition)
    t_modules = time.perf_counter() - t2
    t3 = time.perf_counter()
    drawn = c.values.loc[c.row_order, c.col_order].to_numpy(dtype=np.float64)
    raw, lo, hi = encode_matrix(drawn)
    vmin, vmax = _limits(drawn, c.clip)
    modules = (None if c.modules is None
               else [int(m) for m in c.modules.reindex(c.row_order).to_numpy()])
    from heatseq.plot.palettes import module_colors

    meta: dict[str, Any] = {
        "n_genes": int(drawn.shape[0]), "n_samples": int(drawn.shape[1]),
        "n_total": int(sel.n_total), "rows": [str(g) for g in c.row_order],
        "labels": [str(x) for x in c.row_labels.reindex(c.row_order).to_numpy()],
        "cols": [str(s) for s in c.col_order], "lo": lo, "hi": hi, "vmin": vmin, "vmax": vmax,
        "clip": c.clip, "modules": modules,
        "module_colors": {str(k): v for k, v in module_colors(modules or []).items()},
        "module_summaries": [{"module": s.module, "n_genes": s.n_genes, "text": s.text,
                              "top_genes": list(s.top_genes),
                              "mean_z": {str(k): float(v) for k, v in s.mean_z.items()}}
                             for s in c.module_summaries],
        "k": c.params.get("k_used"), "k_chosen": c.params.get("k_method") != "given",
        "caption": c.caption, "notes": list(c.notes), "unknown": list(sel.unknown),
        "col_tree": _tree(c.col_linkage),
        "annotations": _annotation_bars(samples, annotate, c.col_order),
        "scale": opt.scale, "genes": opt.genes, "contrast": opt.contrast,
    }
    meta["seconds"] = {"select": round(t_select, 4), "cluster": round(t_cluster, 4),
                       "modules": round(t_modules, 4),
                       "encode": round(time.perf_counter() - t3, 4)}
    key = hashlib.sha256((opt.tree_key() + f"|k={opt.k}").encode()).hexdigest()[:16]
    meta["view"] = key
    return View(id=key, options=opt, clustering=c, selection=sel, matrix=raw, meta=meta), tree


class ViewCache:
    """Recent views and trees, per run, least recently used dropped first; one computation
    per key at a time (concurrent requests for the same view wait for the first)."""

    def __init__(self, *, max_views: int = 24, max_trees: int = 12) -> None:
        self._views: OrderedDict[tuple[str, str], View] = OrderedDict()
        self._trees: OrderedDict[tuple[str, str], Clustering] = OrderedDict()
        self._max_views, self._max_trees = max_views, max_trees
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def view(self, run_id: str, view_id: str) -> View | None:
        """A view computed earlier, if still cached."""
        with self._lock:
            v = self._views.get((run_id, view_id))
            if v is not None:
                self._views.move_to_end((run_id, view_id))
            return v

    def get(self, run_id: str, opt: HeatmapOptions,
            compute: Callable[[Clustering | None], tuple[View, Clustering]]) -> View:
        """The view of ``opt`` for a run, computed by ``compute(cached_tree)`` when needed."""
        tkey = (run_id, opt.tree_key())
        with self._lock:
            lock = self._key_locks.setdefault(tkey, threading.Lock())
        with lock:
            with self._lock:
                tree = self._trees.get(tkey)
                if tree is not None:
                    self._trees.move_to_end(tkey)
            view, tree = compute(tree)
            with self._lock:
                self._trees[tkey] = tree
                self._views[(run_id, view.id)] = view
                while len(self._trees) > self._max_trees:
                    self._trees.popitem(last=False)
                while len(self._views) > self._max_views:
                    self._views.popitem(last=False)
        return view
