"""Legends of heatseq's figures: what each one holds, its measured size, and how they are
packed so that they never overlap.

A legend is a :class:`LevelLegend` (a title and one colour swatch per level: a sample-sheet
factor, gene modules, the DE direction) or a :class:`ScaleLegend` (a title, a colour
gradient with tick labels and an optional NA swatch: the heatmap colours, a numeric
sample-sheet column). Sizes are measured with :class:`heatseq.plot._layout.TextMeasure`;
:func:`pack_legends` stacks the legends into columns no taller than the space given
(a legend with more levels than fit splits into sub-columns) and, when a width limit is
given, wraps the columns into rows. :func:`draw_legends` draws them at the computed places.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import Colormap, Normalize

from heatseq.plot._layout import Box, Canvas, TextMeasure, truncate

__all__ = ["LevelLegend", "PlacedLegend", "ScaleLegend", "draw_legends", "legend_size",
           "pack_legends"]

FONT = 7.0
MAX_CHARS = 40
SWATCH = 7.0
SWATCH_GAP = 3.0
ENTRY_GAP = 2.0
TITLE_GAP = 3.0
SUBCOL_GAP = 8.0
BLOCK_GAP = 9.0
COLUMN_GAP = 10.0
SCALE_W = 8.0
SCALE_H = 56.0
TICK = 2.0


@dataclass(frozen=True)
class LevelLegend:
    """A titled list of coloured levels."""

    title: str
    labels: tuple[str, ...]
    colors: tuple[str, ...]


@dataclass(frozen=True)
class ScaleLegend:
    """A titled colour gradient with tick labels, and an NA swatch when ``na_color`` is set."""

    title: str
    cmap: Colormap
    vmin: float
    vmax: float
    ticks: tuple[float, ...]
    tick_labels: tuple[str, ...]
    na_color: str | None = None


Legend = LevelLegend | ScaleLegend


@dataclass(frozen=True)
class PlacedLegend:
    """A legend, its box and (for level legends) how many entries each sub-column holds."""

    legend: Legend
    box: Box
    rows: int


def _pitch(m: TextMeasure) -> float:
    return max(SWATCH, m.line_height(FONT)) + ENTRY_GAP


def _title(legend: Legend) -> str:
    return truncate(legend.title, MAX_CHARS)


def _level_layout(legend: LevelLegend, max_h: float, m: TextMeasure) -> tuple[float, float, int]:
    lh = m.line_height(FONT)
    pitch = _pitch(m)
    k = max(len(legend.labels), 1)
    room = max_h - lh - TITLE_GAP + ENTRY_GAP
    per_col = max(1, int(room // pitch))
    ncols = math.ceil(k / per_col)
    rows = math.ceil(k / ncols)
    labels = [truncate(t, MAX_CHARS) for t in legend.labels]
    widths = [SWATCH + SWATCH_GAP + m.max_width(labels[c * rows:(c + 1) * rows], FONT)
              for c in range(ncols)]
    w = max(sum(widths) + SUBCOL_GAP * (ncols - 1), m.width(_title(legend), FONT, weight="bold"))
    h = lh + TITLE_GAP + rows * pitch - ENTRY_GAP
    return w, h, rows


def _scale_layout(legend: ScaleLegend, m: TextMeasure) -> tuple[float, float]:
    lh = m.line_height(FONT)
    w = max(m.width(_title(legend), FONT, weight="bold"),
            SCALE_W + TICK + 1.5 + m.max_width(list(legend.tick_labels), FONT))
    h = lh + TITLE_GAP + lh / 2 + SCALE_H + lh / 2
    if legend.na_color is not None:
        w = max(w, SWATCH + SWATCH_GAP + m.width("NA", FONT))
        h += ENTRY_GAP + _pitch(m)
    return w, h


def legend_size(legend: Legend, *, max_height: float, measure: TextMeasure
                ) -> tuple[float, float, int]:
    """(width, height, entries per sub-column) of a legend no taller than ``max_height``
    (a scale legend has a fixed height)."""
    if isinstance(legend, LevelLegend):
        return _level_layout(legend, max_height, measure)
    w, h = _scale_layout(legend, measure)
    return w, h, 0


def pack_legends(legends: Sequence[Legend], *, max_height: float, measure: TextMeasure,
                 x: float = 0.0, y: float = 0.0, max_width: float | None = None
                 ) -> tuple[list[PlacedLegend], float, float]:
    """Place legends top-down in columns no taller than ``max_height``, starting at (x, y).

    Columns run left to right; with ``max_width`` they wrap into a new row of columns when
    the next one would pass it. Returns the placed legends and the total width and height.
    """
    placed: list[PlacedLegend] = []
    col_x, col_y, col_w = x, y, 0.0
    row_top, row_h = y, 0.0
    total_w = 0.0
    for legend in legends:
        w, h, rows = legend_size(legend, max_height=max_height, measure=measure)
        if col_y > row_top and col_y + h > row_top + max_height:
            col_x += col_w + COLUMN_GAP
            col_y, col_w = row_top, 0.0
        if max_width is not None and col_x > x and col_x + w > x + max_width:
            row_top += row_h + BLOCK_GAP
            col_x, col_y, col_w, row_h = x, row_top, 0.0, 0.0
        placed.append(PlacedLegend(legend, Box(col_x, col_y, w, h), rows))
        col_y += h + BLOCK_GAP
        col_w = max(col_w, w)
        row_h = max(row_h, col_y - BLOCK_GAP - row_top)
        total_w = max(total_w, col_x + col_w - x)
    return placed, total_w, (row_top + row_h - y) if placed else 0.0


def draw_legends(canvas: Canvas, placed: Sequence[PlacedLegend], *, measure: TextMeasure) -> None:
    """Draw placed legends on ``canvas``."""
    lh = measure.line_height(FONT)
    for p in placed:
        box, legend = p.box, p.legend
        canvas.text(box.x, box.y, _title(legend), size=FONT, va="top", weight="bold",
                    gid="heatseq-legend-title")
        top = box.y + lh + TITLE_GAP
        if isinstance(legend, LevelLegend):
            _draw_levels(canvas, legend, box.x, top, p.rows, measure)
        else:
            _draw_scale(canvas, legend, box.x, top + lh / 2, measure)


def _draw_levels(canvas: Canvas, legend: LevelLegend, x: float, top: float, rows: int,
                 m: TextMeasure) -> None:
    pitch = _pitch(m)
    labels = [truncate(t, MAX_CHARS) for t in legend.labels]
    col_x = x
    for c in range(math.ceil(len(labels) / max(rows, 1))):
        chunk = list(range(c * rows, min((c + 1) * rows, len(labels))))
        for r, i in enumerate(chunk):
            cy = top + r * pitch + (pitch - ENTRY_GAP) / 2
            canvas.rect(Box(col_x, cy - SWATCH / 2, SWATCH, SWATCH), color=legend.colors[i],
                        gid="heatseq-legend-swatch", edgecolor="#999999")
            canvas.text(col_x + SWATCH + SWATCH_GAP, cy, labels[i], size=FONT,
                        gid="heatseq-legend-label")
        col_x += SWATCH + SWATCH_GAP + m.max_width([labels[i] for i in chunk], FONT) + SUBCOL_GAP


def _draw_scale(canvas: Canvas, legend: ScaleLegend, x: float, top: float,
                m: TextMeasure) -> None:
    ax = canvas.axes(Box(x, top, SCALE_W, SCALE_H), gid="heatseq-colorbar")
    gradient = np.linspace(legend.vmax, legend.vmin, 128)[:, None]
    ax.imshow(gradient, aspect="auto", cmap=legend.cmap,
              norm=Normalize(legend.vmin, legend.vmax), interpolation="nearest",
              extent=(0.0, 1.0, legend.vmin, legend.vmax), origin="upper")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(legend.vmin, legend.vmax)
    span = legend.vmax - legend.vmin or 1.0
    ticks = []
    for value, text in zip(legend.ticks, legend.tick_labels, strict=True):
        y = top + SCALE_H * (legend.vmax - value) / span
        ticks.append(np.array([[x + SCALE_W, y], [x + SCALE_W + TICK, y]]))
        canvas.text(x + SCALE_W + TICK + 1.5, y, text, size=FONT, gid="heatseq-colorbar-label")
    canvas.lines(ticks, gid="heatseq-colorbar-ticks", linewidth=0.5, color="#000000")
    if legend.na_color is not None:
        pitch = _pitch(m)
        cy = top + SCALE_H + m.line_height(FONT) / 2 + ENTRY_GAP + (pitch - ENTRY_GAP) / 2
        canvas.rect(Box(x, cy - SWATCH / 2, SWATCH, SWATCH), color=legend.na_color,
                    gid="heatseq-legend-swatch", edgecolor="#999999")
        canvas.text(x + SWATCH + SWATCH_GAP, cy, "NA", size=FONT, gid="heatseq-legend-label")
