"""Enrichment figures: the dot plot and the bar plot of an ORA or GSEA table.

This module owns :func:`dot_plot` (one dot per term: x = gene ratio or fold enrichment,
size = overlap, colour = padj) and :func:`bar_plot` (-log10 padj per term, coloured by
collection or by direction). No statistics are computed here; the table comes from
:func:`heatseq.enrich.ora.ora` (or has its columns).

Conventions, the same for both figures:

- terms: the ``top_n`` rows with the smallest p-value (dot plot) or padj (bar plot; ties
  by p-value, then term ID), the most significant at the top; rows marked redundant (a non-empty ``redundant_of``, see
  :mod:`heatseq.enrich.reduce`) are left out;
- labels: the term name, wrapped onto several lines at a fixed width; the figure's height
  and left margin are computed from the wrapped labels, so labels never overlap and are
  never cut;
- padj = 0 (below the smallest double) is drawn at 1e-300.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from heatseq.errors import InputError
from heatseq.plot._layout import TextMeasure, wrap_text
from heatseq.plot.palettes import DIRECTION_COLORS

__all__ = ["bar_plot", "dot_plot"]

DotX = Literal["gene_ratio", "fold_enrichment"]
ColorBy = Literal["collection", "direction"]
_DOT_X = ("gene_ratio", "fold_enrichment")
_COLOR_BY = ("collection", "direction")
_X_LABELS = {"gene_ratio": "Gene ratio (overlap / list genes)",
             "fold_enrichment": "Fold enrichment (overlap / expected)"}
_FONT = {"label": 7.5, "axis": 8.0, "tick": 7.0, "title": 9.0, "legend": 7.0}
_LABEL_WIDTH = 200.0       # points: term names are wrapped at this width
_PLOT_WIDTH = 170.0        # points: the data area
_LEGEND_WIDTH = 75.0       # points: colour bar / legends to the right
_MIN_ROW = 14.0            # points per row at least
_MARGIN = 8.0              # points around everything
_PADJ_FLOOR = 1e-300
_COLLECTION_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                      "#F0E442", "#999999")


@dataclass(frozen=True)
class _Rows:
    """The terms to draw, top first, with their wrapped labels and vertical layout."""

    frame: pd.DataFrame
    labels: tuple[str, ...]
    centres: np.ndarray       # y of each row, points from the top of the data area
    heights: np.ndarray       # height of each row, points
    height: float             # height of the data area, points


def _check_table(table: pd.DataFrame, columns: tuple[str, ...]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"Expected an enrichment table (pandas DataFrame), got "
                         f"{type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"The enrichment table has no column {', '.join(map(repr, missing))}"
                         f"; its columns are: {', '.join(map(str, table.columns))}. Give a "
                         "table from heatseq.enrich.ora.ora.")


def _check_top_n(top_n: int) -> None:
    if not isinstance(top_n, (int, np.integer)) or isinstance(top_n, bool) or top_n < 1:
        raise InputError(f"top_n={top_n!r} is not valid; give a whole number >= 1.")


def _select(table: pd.DataFrame, top_n: int, list_name: str | None,
            lists: tuple[str, ...] | None = None, by: str = "pvalue") -> pd.DataFrame:
    t = table
    if "list" in t.columns:
        present = [str(v) for v in pd.unique(t["list"].astype(str))]
        if list_name is not None:
            if list_name not in present:
                raise InputError(f"list_name={list_name!r} is not in the table; its lists are: "
                                 f"{', '.join(present)}.")
            t = t[t["list"].astype(str) == list_name]
        elif lists is not None:
            t = t[t["list"].astype(str).isin(lists)]
        elif len(present) > 1:
            raise InputError(f"The table holds several lists ({', '.join(present)}); choose "
                             "one with list_name=...")
    elif list_name is not None:
        raise InputError(f"list_name={list_name!r} was given but the table has no 'list' "
                         "column; leave list_name out.")
    if "redundant_of" in t.columns:
        t = t[t["redundant_of"].fillna("").astype(str) == ""]
    keys = list(dict.fromkeys([by, "pvalue", "term_id"]))
    t = t[t[by].notna()].sort_values(keys, kind="stable")
    if t.empty:
        raise InputError("The enrichment table has no term to plot (no row, or every row "
                         "lacks a p-value or is marked redundant).")
    return t.head(top_n).reset_index(drop=True)


def _rows(frame: pd.DataFrame, measure: TextMeasure) -> _Rows:
    names = frame["term_name"] if "term_name" in frame.columns else frame["term_id"]
    names = [" ".join(n.split()) if isinstance(n, str) and n.strip() else str(t)
             for n, t in zip(names, frame["term_id"], strict=True)]
    wrapped = [wrap_text(n, _LABEL_WIDTH, _FONT["label"], measure) for n in names]
    heights = np.array([max(_MIN_ROW, measure.block_height(len(w), _FONT["label"]) + 3.0)
                        for w in wrapped])
    centres = np.cumsum(heights) - heights / 2
    return _Rows(frame=frame, labels=tuple("\n".join(w) for w in wrapped), centres=centres,
                 heights=heights, height=float(heights.sum()))


def _figure(rows: _Rows, measure: TextMeasure, *, title: str | None,
            legend_height: float, legend_width: float) -> tuple[Figure, Axes]:
    """A figure whose axes leave room for the labels, title, x axis and legend (points)."""
    label_w = max(measure.width(line, _FONT["label"]) for lab in rows.labels
                  for line in lab.split("\n")) + 6.0
    title_lines = wrap_text(title, _LABEL_WIDTH + _PLOT_WIDTH, _FONT["title"], measure) \
        if title else []
    top = _MARGIN + (measure.block_height(len(title_lines), _FONT["title"]) + 6.0
                     if title_lines else 0.0)
    bottom = _MARGIN + measure.line_height(_FONT["tick"]) + measure.line_height(
        _FONT["axis"]) + 10.0
    height = max(rows.height, legend_height)
    w = _MARGIN + label_w + _PLOT_WIDTH + 14.0 + max(_LEGEND_WIDTH, legend_width) + _MARGIN
    h = top + height + bottom
    fig = Figure(figsize=(w / 72.0, h / 72.0), dpi=100)
    FigureCanvasAgg(fig)
    left = _MARGIN + label_w
    ax = fig.add_axes((left / w, (bottom + height - rows.height) / h, _PLOT_WIDTH / w,
                       rows.height / h))
    if title_lines:
        fig.text(0.5, 1 - _MARGIN / h, "\n".join(title_lines), ha="center", va="top",
                 fontsize=_FONT["title"], gid="title")
    return fig, ax


def _given_figure(ax: Axes, title: str | None) -> Figure:
    """The figure of caller-given axes (with an Agg canvas to measure text)."""
    fig = ax.figure
    if not isinstance(fig, Figure):
        raise InputError("ax must belong to a matplotlib Figure (not a subfigure).")
    if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    if title:
        ax.set_title(title, fontsize=_FONT["title"])
    return fig


def _term_axis(ax: Axes, rows: _Rows) -> None:
    ax.set_ylim(rows.height, 0)
    ax.set_yticks(rows.centres, labels=list(rows.labels), fontsize=_FONT["label"])
    for t in ax.get_yticklabels():
        t.set_gid("term_label")
        t.set_linespacing(1.2)
    ax.tick_params(axis="x", labelsize=_FONT["tick"])
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.5)
    ax.set_axisbelow(True)


def dot_plot(table: pd.DataFrame, *, top_n: int = 20, x: DotX = "gene_ratio",
             title: str | None = None, list_name: str | None = None,
             ax: Axes | None = None) -> Figure:
    """Dot plot of the most significant terms of an enrichment table.

    Parameters
    ----------
    table
        An ORA table (:func:`heatseq.enrich.ora.ora`; columns term_id, term_name, overlap,
        padj, pvalue and ``x``), possibly with ``list`` and ``redundant_of`` columns.
    top_n
        How many terms to show.
    x
        ``"gene_ratio"`` or ``"fold_enrichment"``.
    title
        Figure title (wrapped to the figure's width).
    list_name
        The list to draw when the table holds several (``up``, ``down``, ``both``, ...).
    ax
        Draw into these axes (colour bar and legend beside them; the caller sizes the
        figure) instead of a new figure sized to the labels.

    Returns
    -------
    matplotlib.figure.Figure
        Dot size = overlap (legend), colour = padj (log-scaled colour bar, red = smallest).

    Examples
    --------
    >>> t = pd.DataFrame({"term_id": ["T1", "T2"], "term_name": ["a term", "another"],
    ...                   "overlap": [5, 3], "gene_ratio": [0.5, 0.3], "pvalue": [1e-4, 1e-2],
    ...                   "padj": [2e-4, 1e-2]})
    >>> [t.get_text() for t in dot_plot(t).axes[0].get_yticklabels()]
    ['a term', 'another']
    """
    if x not in _DOT_X:
        raise InputError(f"x={x!r} is not valid; choose one of: {', '.join(_DOT_X)}.")
    _check_top_n(top_n)
    _check_table(table, ("term_id", "overlap", "pvalue", "padj", x))
    frame = _select(table, top_n, list_name)
    measure = TextMeasure()
    rows = _rows(frame, measure)
    overlap = frame["overlap"].to_numpy(dtype=float)
    size_levels = _size_levels(overlap)
    legend_h = 150.0 + 16.0 * len(size_levels)
    if ax is None:
        fig, ax = _figure(rows, measure, title=title, legend_height=legend_h, legend_width=0.0)
        own = True
    else:
        fig, own = _given_figure(ax, title), False
    _term_axis(ax, rows)
    xs = frame[x].to_numpy(dtype=float)
    padj = np.maximum(frame["padj"].to_numpy(dtype=float), _PADJ_FLOOR)
    lo, hi = float(np.nanmin(padj)), float(np.nanmax(padj))
    norm = LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10)
    area = _area(overlap, overlap.max())
    pts = ax.scatter(xs, rows.centres, s=area, c=padj, cmap="RdBu", norm=norm,
                     edgecolors="#333333", linewidths=0.4, zorder=3, gid="dots")
    finite = xs[np.isfinite(xs)]
    span = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    pad = 0.12 * (span[1] - span[0]) or 0.1 * max(abs(span[1]), 1e-3)
    ax.set_xlim(max(0.0, span[0] - pad) if span[0] >= 0 else span[0] - pad, span[1] + pad)
    ax.set_xlabel(_X_LABELS[x], fontsize=_FONT["axis"])
    # colour bar and size legend in the right-hand column
    pos = ax.get_position()
    fw, fh = fig.get_size_inches() * 72
    if own:
        cax = fig.add_axes((pos.x1 + 24.0 / fw, pos.y1 - 90.0 / fh, 8.0 / fw, 80.0 / fh))
        cbar = fig.colorbar(pts, cax=cax)
    else:
        cbar = fig.colorbar(pts, ax=ax, fraction=0.05, pad=0.02, anchor=(0.0, 1.0),
                            shrink=0.4)
        pos = cbar.ax.get_position()
    cbar.set_label("padj", fontsize=_FONT["legend"])
    cbar.ax.tick_params(labelsize=_FONT["tick"] - 1)
    handles = [Line2D([], [], linestyle="", marker="o", markersize=float(np.sqrt(a)),
                      markerfacecolor="#bdbdbd", markeredgecolor="#333333",
                      markeredgewidth=0.4, label=f"{int(v)}")
               for v, a in zip(size_levels, _area(size_levels, overlap.max()), strict=True)]
    anchor = ((pos.x1 + 14.0 / fw, pos.y1 - 110.0 / fh) if own
              else (pos.x0, pos.y0 - 20.0 / fh))
    fig.legend(handles=handles, title="Overlap", loc="upper left", frameon=False,
               bbox_to_anchor=anchor,
               fontsize=_FONT["legend"], title_fontsize=_FONT["legend"], labelspacing=0.9,
               borderaxespad=0.0)
    return fig


def _size_levels(overlap: np.ndarray) -> np.ndarray:
    """Up to four round overlap values spanning the drawn ones."""
    lo, hi = float(overlap.min()), float(overlap.max())
    if hi <= lo:
        return np.array([hi])
    vals = np.unique(np.round(np.linspace(lo, hi, 4)))
    return vals[vals > 0] if (vals > 0).any() else np.array([hi])


def _area(values: np.ndarray, largest: float) -> np.ndarray:
    """Marker area (points^2) proportional to the value, the largest 120."""
    return 12.0 + 108.0 * np.asarray(values, dtype=float) / max(largest, 1.0)


def bar_plot(table: pd.DataFrame, *, top_n: int = 20, color_by: ColorBy = "collection",
             title: str | None = None, list_name: str | None = None,
             ax: Axes | None = None) -> Figure:
    """Bar plot of -log10 padj of the most significant terms.

    Parameters
    ----------
    table
        An enrichment table (term_id, term_name, pvalue, padj; ``collection`` or a
        direction: a ``list`` column with ``up``/``down``, or an ``NES`` column).
    top_n
        How many terms to show.
    color_by
        ``"collection"`` (one colour per collection) or ``"direction"`` (up red, down
        blue; ORA tables: the ``up`` and ``down`` lists together, ``both`` left out; GSEA
        tables: the sign of ``NES`` or ``nes``).
    title
        Figure title.
    list_name
        The list to draw when the table holds several and ``color_by="collection"``.
    ax
        Draw into these axes (legend beside them; the caller sizes the figure) instead of a
        new figure sized to the labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if color_by not in _COLOR_BY:
        raise InputError(f"color_by={color_by!r} is not valid; choose one of: "
                         f"{', '.join(_COLOR_BY)}.")
    _check_top_n(top_n)
    _check_table(table, ("term_id", "pvalue", "padj"))
    if color_by == "direction":
        nes_col = "NES" if "NES" in table.columns else "nes"
        if nes_col in table.columns and list_name is None and "list" not in table.columns:
            frame = _select(table, top_n, None, by="padj")
            direction = np.where(frame[nes_col].to_numpy(dtype=float) >= 0, "up", "down")
        elif "list" in table.columns:
            frame = _select(table, top_n, list_name, lists=("up", "down"), by="padj")
            direction = frame["list"].astype(str).to_numpy()
        else:
            raise InputError("color_by='direction' needs a 'list' column (up/down) or an "
                             "'NES' column; use color_by='collection'.")
        keys = [d for d in ("up", "down") if d in set(direction)]
        colors: Mapping[str, str] = {k: DIRECTION_COLORS[k] for k in keys}
        groups = direction
    else:
        frame = _select(table, top_n, list_name, by="padj")
        groups = (frame["collection"].astype(str).to_numpy() if "collection" in frame.columns
                  else np.full(len(frame), "terms", dtype=object))
        keys = [str(v) for v in pd.unique(groups)]
        colors = {k: _COLLECTION_COLORS[i % len(_COLLECTION_COLORS)] for i, k in enumerate(keys)}
    measure = TextMeasure()
    rows = _rows(frame, measure)
    if ax is None:
        fig, ax = _figure(rows, measure, title=title, legend_height=30.0 + 16.0 * len(keys),
                          legend_width=measure.max_width(keys, _FONT["legend"]) + 30.0)
    else:
        fig = _given_figure(ax, title)
    _term_axis(ax, rows)
    score = -np.log10(np.maximum(frame["padj"].to_numpy(dtype=float), _PADJ_FLOOR))
    ax.barh(rows.centres, score, height=np.minimum(10.0, rows.heights * 0.7), color=[colors[g] for g in groups],
            edgecolor="none", zorder=3, gid="bars")
    ax.set_xlim(0, float(np.nanmax(score)) * 1.08 if np.nanmax(score) > 0 else 1.0)
    ax.set_xlabel("-log10 padj", fontsize=_FONT["axis"])
    pos = ax.get_position()
    fw = fig.get_size_inches()[0] * 72
    fig.legend(handles=[Patch(color=colors[k], label=k) for k in keys],
               title=color_by.capitalize(), loc="upper left", frameon=False,
               bbox_to_anchor=(pos.x1 + 14.0 / fw, pos.y1), fontsize=_FONT["legend"],
               title_fontsize=_FONT["legend"], borderaxespad=0.0)
    return fig
