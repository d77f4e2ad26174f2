"""QC figures: library sizes, detected genes, log-count distributions and the PCA scatter.

This module owns the drawing of the values computed by :mod:`heatseq.qc` (no statistics
here: box plots show the quartiles matplotlib computes of the values given). Every function
takes the result, the sample table and the column to colour by, returns a
:class:`matplotlib.figure.Figure` (or draws into ``ax=``) and never touches pyplot's global
state. Level colours come from :func:`heatseq.plot.level_colors`, so a condition has the same
colour here as in the heatmaps. The sample correlation and distance heatmaps are drawn by
:func:`heatseq.plot.sample_heatmap` (``kind="correlation"`` for
:func:`heatseq.qc.sample_correlations`).

PCA labels are placed without overlap by a greedy search: each label, in order of the
points from left to right, takes the first of 8 positions around its point (right, left,
above, below and the diagonals, at 1 to 5 times the base offset, a thin leader line from 3)
that stays inside the axes and overlaps neither a label already placed nor a point; when
every position overlaps, the one with the least overlap (label-on-label overlap weighs 10
times a label over a point).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from heatseq.errors import InputError
from heatseq.plot.palettes import level_colors as _level_colors
from heatseq.plot.palettes import sorted_levels

if TYPE_CHECKING:
    from heatseq.qc import PCAResult

__all__ = ["count_distribution_plot", "detected_genes_plot", "library_size_plot", "pca_plot"]

#: Marker shapes of the levels of ``shape_by``, in level order (then reused).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
#: Colour of everything when no ``color_by`` is given.
DEFAULT_COLOR = "#4d4d4d"
#: Most samples labelled by default (``labels="auto"``) in the PCA plot.
MAX_AUTO_LABELS = 40
#: Font size of sample labels, in points.
LABEL_SIZE = 7.0
#: Base distance of a label from its point, in points.
LABEL_OFFSET = 5.0
#: Marker size of PCA points (matplotlib ``s``, points^2).
POINT_SIZE = 40.0

#: Distances tried for a label, in multiples of LABEL_OFFSET (a thin leader line beyond 2).
STEPS: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
#: Cost of label-on-label overlap (and of leaving the axes) per pixel, relative to that of a
#: label over a point.
LABEL_WEIGHT = 10.0

_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))


# ----------------------------------------------------------------------------- helpers

def _new_axes(ax: Axes | None, *, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.figure
        if not isinstance(fig, Figure):
            raise InputError("ax must belong to a matplotlib Figure.")
        return fig, ax
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _sample_colors(names: pd.Index, samples: pd.DataFrame | None, color_by: str | None,
                   given: Mapping[str, Mapping[str, str]] | None
                   ) -> tuple[list[str], dict[str, str], list[str]]:
    """Colour per sample, colour per level and the sample's level (as text)."""
    if color_by is None:
        return [DEFAULT_COLOR] * len(names), {}, [""] * len(names)
    levels = _levels(names, samples, color_by, role="color_by")
    table = pd.DataFrame({color_by: levels}, index=names)
    if samples is not None:  # colours are fixed by the whole sheet's column order
        table = samples.reindex(names)
    colours = _level_colors(table, [color_by], given=given).get(color_by)
    if colours is None:
        raise InputError(f"color_by={color_by!r} is a numeric column with many values; "
                         "choose a categorical column of the sample table.")
    return [colours[v] for v in levels], colours, levels


def _levels(names: pd.Index, samples: pd.DataFrame | None, column: str, *,
            role: str) -> list[str]:
    if samples is None:
        raise InputError(f"{role}={column!r} needs the sample table: pass samples=.")
    if column not in samples.columns:
        raise InputError(f"{role}={column!r} is not a column of the sample table; columns "
                         f"are: {', '.join(map(str, samples.columns)) or '(none)'}.")
    table = samples.copy()
    table.index = table.index.astype(str)
    missing = names.difference(table.index, sort=False)
    if len(missing):
        raise InputError(f"The sample table lacks {len(missing)} sample(s) of the figure: "
                         f"{', '.join(map(str, missing[:5]))}.")
    return [str(v) for v in table.loc[names, column]]


def _level_legend(ax: Axes, colours: dict[str, str], title: str) -> None:
    if not colours:
        return
    handles = [Patch(facecolor=c, label=lv) for lv, c in colours.items()]
    ax.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False, fontsize=8, title_fontsize=8)


def _bars(metrics: pd.DataFrame, column: str, *, what: str) -> pd.Series:
    if not isinstance(metrics, pd.DataFrame) or column not in metrics.columns:
        raise InputError(f"The {what} plot needs the table from heatseq.qc.qc_metrics (column "
                         f"{column!r}).")
    return metrics[column].astype(float)


def _sample_axis(ax: Axes, names: pd.Index) -> None:
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels([str(n) for n in names], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.spines[["top", "right"]].set_visible(False)


# ----------------------------------------------------------------------------- bar charts

def library_size_plot(metrics: pd.DataFrame, *, samples: pd.DataFrame | None = None,
                      color_by: str | None = None,
                      level_colors: Mapping[str, Mapping[str, str]] | None = None,
                      title: str | None = "Library sizes", ax: Axes | None = None) -> Figure:
    """Bar chart of library sizes (millions of counts), one bar per sample.

    Parameters
    ----------
    metrics
        The table of :func:`heatseq.qc.qc_metrics`.
    samples
        The sample table (needed with ``color_by``).
    color_by
        A categorical column of ``samples`` whose levels colour the bars (e.g. the condition).
    level_colors
        Colours chosen by the user, column -> level -> colour (as in
        :func:`heatseq.plot.level_colors`).
    title
        Axes title; None for none.
    ax
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = _bars(metrics, "library_size", what="library size") / 1e6
    names = pd.Index(values.index.astype(str))
    fig, ax = _new_axes(ax, size=(max(4.0, 0.3 * len(names) + 2.5), 3.5))
    colors, legend, _ = _sample_colors(names, samples, color_by, level_colors)
    ax.bar(np.arange(len(names)), values.to_numpy(), color=colors, gid="heatseq-bars")
    _sample_axis(ax, names)
    ax.set_ylabel("Library size (million counts)")
    if title:
        ax.set_title(title)
    _level_legend(ax, legend, color_by or "")
    return fig


def detected_genes_plot(metrics: pd.DataFrame, *, samples: pd.DataFrame | None = None,
                        color_by: str | None = None,
                        level_colors: Mapping[str, Mapping[str, str]] | None = None,
                        title: str | None = "Detected genes", ax: Axes | None = None) -> Figure:
    """Bars of detected genes per sample: count > 0 (full bar) and count >= 10 (hatched).

    Parameters
    ----------
    metrics
        The table of :func:`heatseq.qc.qc_metrics`.
    samples, color_by, level_colors, title, ax
        As in :func:`library_size_plot`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    any_ = _bars(metrics, "detected", what="detected genes")
    ten = _bars(metrics, "detected_10", what="detected genes")
    names = pd.Index(any_.index.astype(str))
    fig, ax = _new_axes(ax, size=(max(4.0, 0.3 * len(names) + 2.5), 3.5))
    colors, legend, _ = _sample_colors(names, samples, color_by, level_colors)
    x = np.arange(len(names))
    ax.bar(x, any_.to_numpy(), color=colors, alpha=0.45, gid="heatseq-bars-detected")
    ax.bar(x, ten.to_numpy(), color=colors, hatch="///", edgecolor="white", linewidth=0,
           gid="heatseq-bars-detected10")
    _sample_axis(ax, names)
    ax.set_ylabel("Genes detected")
    if title:
        ax.set_title(title)
    handles = [Patch(facecolor="#999999", alpha=0.45, label="count > 0"),
               Patch(facecolor="#999999", hatch="///", edgecolor="white", label="count >= 10")]
    handles += [Patch(facecolor=c, label=lv) for lv, c in legend.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              fontsize=8)
    return fig


def count_distribution_plot(log_counts: pd.DataFrame, *, samples: pd.DataFrame | None = None,
                            color_by: str | None = None,
                            level_colors: Mapping[str, Mapping[str, str]] | None = None,
                            title: str | None = "Count distributions",
                            ax: Axes | None = None) -> Figure:
    """Box plots of log counts, one per sample (quartiles; whiskers to 1.5 IQR; no fliers).

    Parameters
    ----------
    log_counts
        Genes x samples, e.g. :func:`heatseq.qc.log_counts`; its ``attrs["what"]`` labels
        the axis.
    samples, color_by, level_colors, title, ax
        As in :func:`library_size_plot`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(log_counts, pd.DataFrame) or log_counts.shape[1] == 0:
        raise InputError("The count distribution plot needs a genes x samples table, e.g. "
                         "from heatseq.qc.log_counts.")
    names = pd.Index(log_counts.columns.astype(str))
    fig, ax = _new_axes(ax, size=(max(4.0, 0.3 * len(names) + 2.5), 3.5))
    colors, legend, _ = _sample_colors(names, samples, color_by, level_colors)
    data = [col[np.isfinite(col)] for col in log_counts.to_numpy(dtype=float).T]
    box = ax.boxplot(data, positions=np.arange(len(names)), widths=0.6, showfliers=False,
                     patch_artist=True, medianprops={"color": "black", "gid": "heatseq-median"})
    for patch, c in zip(box["boxes"], colors, strict=True):
        patch.set_facecolor(c)
        patch.set_gid("heatseq-box")
    _sample_axis(ax, names)
    ax.set_ylabel(str(log_counts.attrs.get("what", "log2(count + 1)")))
    if title:
        ax.set_title(title)
    _level_legend(ax, legend, color_by or "")
    return fig


# ----------------------------------------------------------------------------- PCA

def _check_components(pcs: PCAResult, components: Sequence[int]) -> tuple[str, str]:
    comps = tuple(components)
    available = len(pcs.variance_ratio)
    if len(comps) != 2 or any(isinstance(c, bool) or not isinstance(c, (int, np.integer))
                              or not 1 <= c <= available for c in comps) or comps[0] == comps[1]:
        raise InputError(f"components={components!r} is not valid; give two different "
                         f"component numbers from 1 to {available}, e.g. (1, 2).")
    return f"PC{comps[0]}", f"PC{comps[1]}"


def pca_plot(pcs: PCAResult, *, samples: pd.DataFrame | None = None,
             color_by: str | None = None, shape_by: str | None = None,
             components: Sequence[int] = (1, 2), labels: bool | str = "auto",
             level_colors: Mapping[str, Mapping[str, str]] | None = None,
             title: str | None = None, ax: Axes | None = None) -> Figure:
    """Scatter of samples on two principal components, % variance on the axes.

    Parameters
    ----------
    pcs
        From :func:`heatseq.qc.pca`.
    samples
        The sample table (needed with ``color_by`` or ``shape_by``).
    color_by
        Categorical column whose levels colour the points (the condition).
    shape_by
        Categorical column whose levels give the marker shapes (a second factor).
    components
        The two components drawn, 1-based: ``(1, 2)``, ``(1, 3)``, ``(2, 3)``...
    labels
        ``"auto"``: sample names when there are at most 40 samples; True/False.
    level_colors
        As in :func:`library_size_plot`.
    title
        Axes title; None for none.
    ax
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The points are one collection per shape (gid ``heatseq-pca-points``), the labels are
        texts with gid ``heatseq-pca-label``.

    Raises
    ------
    InputError
        If ``components`` or ``labels`` is not valid, or a column is not in ``samples``.
    """
    if labels not in ("auto", True, False):
        raise InputError(f"labels={labels!r} is not valid; choose one of: 'auto', True, False.")
    cx, cy = _check_components(pcs, components)
    names = pd.Index(pcs.scores.index.astype(str))
    xy = pcs.scores[[cx, cy]].to_numpy(dtype=float)
    colors, legend, _ = _sample_colors(names, samples, color_by, level_colors)
    shapes = _levels(names, samples, shape_by, role="shape_by") if shape_by else [""] * len(names)
    shape_levels = sorted_levels(pd.Series(shapes)) if shape_by else [""]
    marker = {lv: MARKERS[i % len(MARKERS)] for i, lv in enumerate(shape_levels)}
    own = ax is None
    fig, ax = _new_axes(ax, size=(5.5, 4.2))
    for lv in shape_levels:
        idx = [i for i, s in enumerate(shapes) if s == lv]
        ax.scatter(xy[idx, 0], xy[idx, 1], c=[colors[i] for i in idx], marker=marker[lv],
                   s=POINT_SIZE, edgecolors="white", linewidths=0.5, zorder=3,
                   gid="heatseq-pca-points")
    ax.set_xlabel(pcs.axis_label(int(cx[2:])))
    ax.set_ylabel(pcs.axis_label(int(cy[2:])))
    ax.axhline(0, color="#dddddd", linewidth=0.6, zorder=1)
    ax.axvline(0, color="#dddddd", linewidth=0.6, zorder=1)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    _pad_limits(ax, xy)
    handles: list[Patch | Line2D] = []
    if legend:
        handles.append(Patch(visible=False, label=color_by))
        handles += [Patch(facecolor=c, label=lv) for lv, c in legend.items()]
    if shape_by:
        handles.append(Patch(visible=False, label=shape_by))
        handles += [Line2D([], [], marker=marker[lv], linestyle="", color="#666666", label=lv)
                    for lv in shape_levels]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize=8)
    if labels is True or (labels == "auto" and len(names) <= MAX_AUTO_LABELS):
        _place_labels(fig, ax, xy, [str(n) for n in names], freeze=own)
    return fig


def _pad_limits(ax: Axes, xy: np.ndarray) -> None:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    ax.set_xlim(lo[0] - 0.15 * span[0], hi[0] + 0.15 * span[0])
    ax.set_ylim(lo[1] - 0.12 * span[1], hi[1] + 0.12 * span[1])


def _overlap(box: np.ndarray, others: np.ndarray) -> float:
    """Total overlap area of box (x0, y0, x1, y1) with the rows of others."""
    if len(others) == 0:
        return 0.0
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return float((np.clip(w, 0, None) * np.clip(h, 0, None)).sum())


def _place_labels(fig: Figure, ax: Axes, xy: np.ndarray, texts: list[str], *,
                  freeze: bool) -> None:
    """Greedy placement of point labels (module docstring), in display pixels; ``freeze``
    turns the figure's layout engine off once it has sized the axes."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()  # runs the layout: the axes have their final size
    if freeze and fig.get_layout_engine() is not None:
        fig.set_layout_engine("none")  # freeze it: labels must not move the axes
    renderer = canvas.get_renderer()
    px = ax.transData.transform(xy)
    frame = ax.get_window_extent(renderer)
    pt = fig.dpi / 72.0
    r = np.sqrt(POINT_SIZE) / 2 * pt + 1.0
    points = np.column_stack([px[:, 0] - r, px[:, 1] - r, px[:, 0] + r, px[:, 1] + r])
    probe = ax.text(0, 0, "", fontsize=LABEL_SIZE)
    placed: list[np.ndarray] = []
    for i in np.argsort(px[:, 0], kind="stable"):
        probe.set_text(texts[i])
        ext = probe.get_window_extent(renderer)
        w, h = ext.width, ext.height
        best: tuple[float, np.ndarray, tuple[float, float], str, str, float] | None = None
        for step in STEPS:
            for dx, dy in _DIRECTIONS:
                off = (dx * LABEL_OFFSET * step, dy * LABEL_OFFSET * step * 0.8)
                x0 = px[i, 0] + off[0] * pt - (w if dx < 0 else w / 2 if dx == 0 else 0)
                y0 = px[i, 1] + off[1] * pt - (h if dy < 0 else h / 2 if dy == 0 else 0)
                box = np.array([x0, y0, x0 + w, y0 + h])
                cost = LABEL_WEIGHT * _overlap(box, np.array(placed).reshape(-1, 4)) + \
                    _overlap(box, points)
                outside = (max(frame.x0 - box[0], 0) + max(box[2] - frame.x1, 0)) * h + \
                    (max(frame.y0 - box[1], 0) + max(box[3] - frame.y1, 0)) * w
                cost += LABEL_WEIGHT * outside
                ha = "right" if dx < 0 else "center" if dx == 0 else "left"
                va = "top" if dy < 0 else "center" if dy == 0 else "bottom"
                if best is None or cost < best[0]:
                    best = (cost, box, off, ha, va, step)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        _, box, off, ha, va, step = best
        placed.append(box)
        leader = {"arrowstyle": "-", "color": "#9a9a9a", "linewidth": 0.5, "shrinkA": 0,
                  "shrinkB": 3} if step > 2 else None
        ax.annotate(texts[i], xy=tuple(xy[i]), xytext=off, textcoords="offset points",
                    ha=ha, va=va, fontsize=LABEL_SIZE, gid="heatseq-pca-label",
                    annotation_clip=False, arrowprops=leader)
    probe.remove()
