"""Where everything of a heatmap goes: boxes in points, from measured text.

Horizontally, left to right: row dendrogram, row bars (modules, DE direction), the body,
gene labels (directly beside their rows, or set apart with leader lines) and the names of
the column bars, then the legends. Vertically, top to bottom: title, column dendrogram,
column bars, the body, sample labels (turned upright when they are wider than a column)
and the names of the row bars, then the caption across the whole width. Legends stack in
columns beside the plot; when a fixed width leaves the body too narrow they move below it.

This module owns :func:`fit_geometry` and the :class:`Geometry` it returns; sizes chosen
automatically (``size="auto"``) follow the number of rows and columns, fixed sizes (a
journal column, a given (width, height) or an Axes' area) fit the body to what remains.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from heatseq.errors import InputWarning
from heatseq.plot._content import MAX_LABELLED_ROWS, Content
from heatseq.plot._layout import Box, TextMeasure, spread_labels, wrap_text
from heatseq.plot.legends import PlacedLegend, pack_legends

__all__ = ["RASTER_ROWS", "Geometry", "fit_geometry"]

#: Above this many rows the body is drawn as an image (rasterised inside SVG/PDF).
RASTER_ROWS = 2000
MARGIN = 6.0
GAP = 3.0
ROW_TREE = 40.0
COL_TREE = 34.0
BAR = 8.0
BAR_GAP = 1.5
LEGEND_GAP = 12.0
FONT = 7.0
LEADER_FONT = 6.5
TITLE_FONT = 9.0
CAPTION_FONT = 6.5
LEAD_STUB = 4.0
LEAD_FAN = 16.0
LEAD_END = 2.0
MIN_BODY = 24.0
MAX_BODY_H = 1400.0
MIN_LEGEND_H = 180.0
BELOW_LEGEND_H = 150.0
MIN_READABLE = 3.0


@dataclass(frozen=True)
class Geometry:
    """The computed layout (points from the top-left corner)."""

    width: float
    height: float
    margin: float
    gap: float
    body: Box
    row_tree: Box | None
    col_tree: Box | None
    col_bars: tuple[Box, ...]
    row_bars: tuple[Box, ...]
    bar_name_font: float
    row_bar_name_font: float
    gene_font: float
    gene_x: float
    gene_rows: tuple[int, ...]
    gene_texts: tuple[str, ...]
    gene_y: tuple[float, ...]
    leaders: tuple[np.ndarray, ...]
    sample_font: float
    sample_rotated: bool
    sample_texts: tuple[str, ...]
    legends: tuple[PlacedLegend, ...]
    title_lines: tuple[str, ...]
    title_font: float
    caption_lines: tuple[str, ...]
    caption_font: float
    caption_y: float
    natural_width: float
    natural_height: float
    needed_height: float


def _auto_body_width(m: int) -> float:
    return float(max(min(m * 16.0, 360.0), 60.0, m * 6.0))


def _auto_body_height(n: int, content: Content, m: TextMeasure) -> float:
    k = content.label_rows.size
    if content.label_mode == "direct" and k == n:
        if n <= MAX_LABELLED_ROWS:
            return float(max(n * np.clip(440.0 / n, 6.5, 9.0), 18.0))
        return float(min(n * 6.5, MAX_BODY_H))
    if content.label_mode == "leader":
        need = k * (m.line_height(LEADER_FONT) + 0.5)
        return float(max(420.0, min(need, MAX_BODY_H)))
    if n <= MAX_LABELLED_ROWS:
        return float(np.clip(n * 8.0, 40.0, 420.0))
    return 420.0


def _gene_labels(content: Content, body: Box, m: TextMeasure
                 ) -> tuple[float, float, tuple[float, ...], tuple[np.ndarray, ...], float]:
    """(font, x, centres, leader lines, width taken right of the body)."""
    n = content.data.shape[0]
    texts = list(content.label_texts)
    if content.label_mode == "none" or not texts:
        return 0.0, body.right, (), (), 0.0
    pitch = body.h / n
    rows = content.label_rows.astype(float)
    if content.label_mode == "direct":
        font = m.fontsize_for_height(pitch, largest=FONT)
        x = body.right + GAP
        ys = tuple(float(y) for y in body.y + (rows + 0.5) * pitch)
        return font, x, ys, (), GAP + m.max_width(texts, font)
    font = m.fontsize_for_height(body.h / len(texts), largest=LEADER_FONT)
    lh = m.line_height(font)
    targets = (rows + 0.5) * pitch
    centres = body.y + spread_labels(targets, spacing=lh + 0.3, low=lh / 2, high=body.h - lh / 2)
    x0 = body.right
    x_fan = x0 + LEAD_STUB
    x_end = x_fan + LEAD_FAN
    t = body.y + targets
    leaders = tuple(np.array([[x0 + 0.5, a], [x_fan, a], [x_end, b], [x_end + LEAD_END, b]])
                    for a, b in zip(t.tolist(), centres.tolist(), strict=True))
    x = x_end + LEAD_END + 1.0
    return font, x, tuple(centres.tolist()), leaders, x - x0 + m.max_width(texts, font)


def _geometry(content: Content, bw: float, bh: float, m: TextMeasure, *, below: bool,
              width: float | None, height: float | None, text_width: float | None) -> Geometry:
    ncol = content.data.shape[1]
    cp = bw / ncol
    # --- sample labels and bar names
    samples = list(content.sample_texts)
    if m.max_width(samples, FONT) <= cp - 1.0:
        sample_font, rotated = FONT, False
        sample_h = m.line_height(FONT)
    else:
        sample_font, rotated = m.fontsize_for_height(cp, largest=FONT), True
        sample_h = m.max_width(samples, sample_font)
    row_bar_font = m.fontsize_for_height(BAR + BAR_GAP, largest=LEADER_FONT)
    row_bar_names_h = m.max_width([b.label for b in content.row_bars], row_bar_font)
    bar_h = max(BAR, m.line_height(FONT))
    col_names_w = m.max_width([b.label for b in content.col_bars], FONT)
    # --- title (its height shifts everything down)
    title_lines: list[str] = []
    if content.title:
        title_lines = wrap_text(content.title, (text_width or 1e9) - 2 * MARGIN, TITLE_FONT, m)
    y = MARGIN + (m.block_height(len(title_lines), TITLE_FONT) + GAP if title_lines else 0.0)
    plot_top = y
    # --- horizontal: row tree, row bars, body
    x = MARGIN
    row_tree = None
    if content.row_lines is not None:
        row_tree = (x, ROW_TREE)
        x += ROW_TREE + GAP
    row_bar_x = []
    for _ in content.row_bars:
        row_bar_x.append(x)
        x += BAR + BAR_GAP
    if content.row_bars:
        x += GAP - BAR_GAP
    body_x = x
    # --- vertical: col tree, col bars, body
    col_tree = None
    if content.col_lines is not None:
        col_tree = Box(body_x, y, bw, COL_TREE)
        y += COL_TREE + GAP
    col_bars = []
    for _ in content.col_bars:
        col_bars.append(Box(body_x, y, bw, bar_h))
        y += bar_h + BAR_GAP
    if content.col_bars:
        y += GAP - BAR_GAP
    body = Box(body_x, y, bw, bh)
    bottom_band = max(sample_h, row_bar_names_h)
    plot_bottom = body.bottom + GAP + bottom_band
    gene_font, gene_x, gene_y, leaders, genes_w = _gene_labels(content, body, m)
    right_w = max(genes_w, (GAP + col_names_w) if content.col_bars else 0.0)
    plot_right = body.right + right_w
    # --- legends
    caption_lines: list[str] = []
    if content.caption and text_width is not None:
        caption_lines = wrap_text(content.caption, text_width - 2 * MARGIN, CAPTION_FONT, m)
    cap_est = m.block_height(max(len(caption_lines), 1), CAPTION_FONT) if content.caption else 0.0
    if not below:
        max_h = max(plot_bottom - plot_top, MIN_LEGEND_H)
        if height is not None:
            max_h = height - plot_top - MARGIN - 4 * GAP - cap_est
        placed, lw, lh = pack_legends(content.legends, max_height=max(max_h, 60.0), measure=m,
                                      x=plot_right + LEGEND_GAP, y=plot_top)
        natural_w = plot_right + LEGEND_GAP + lw + MARGIN
        content_bottom = max(plot_bottom, plot_top + lh)
    else:
        natural_w = plot_right + MARGIN
        room = (width if width is not None else natural_w) - 2 * MARGIN
        placed, lw, lh = pack_legends(content.legends, max_height=BELOW_LEGEND_H, measure=m,
                                      x=MARGIN, y=plot_bottom + 2 * GAP, max_width=room)
        natural_w = max(natural_w, MARGIN + lw + MARGIN)
        content_bottom = plot_bottom + 2 * GAP + lh
    w_final = width if width is not None else natural_w
    if content.caption and text_width is None:
        caption_lines = wrap_text(content.caption, w_final - 2 * MARGIN, CAPTION_FONT, m)
    caption_y = content_bottom + 2 * GAP
    caption_h = m.block_height(len(caption_lines), CAPTION_FONT)
    natural_h = caption_y + caption_h + MARGIN
    plot_needs = plot_bottom + (2 * GAP + lh if below else 0.0) + 2 * GAP + caption_h + MARGIN
    return Geometry(
        width=w_final, height=height if height is not None else natural_h, margin=MARGIN,
        gap=GAP, body=body,
        row_tree=Box(row_tree[0], body.y, row_tree[1], bh) if row_tree else None,
        col_tree=col_tree, col_bars=tuple(col_bars),
        row_bars=tuple(Box(bx, body.y, BAR, bh) for bx in row_bar_x),
        bar_name_font=FONT, row_bar_name_font=row_bar_font,
        gene_font=gene_font, gene_x=gene_x,
        gene_rows=tuple(int(r) for r in content.label_rows), gene_texts=content.label_texts,
        gene_y=gene_y, leaders=leaders, sample_font=sample_font, sample_rotated=rotated,
        sample_texts=content.sample_texts, legends=tuple(placed),
        title_lines=tuple(title_lines), title_font=TITLE_FONT,
        caption_lines=tuple(caption_lines), caption_font=CAPTION_FONT, caption_y=caption_y,
        natural_width=natural_w, natural_height=natural_h, needed_height=plot_needs,
    )


def fit_geometry(content: Content, *, measure: TextMeasure, width: float | None = None,
                 height: float | None = None) -> Geometry:
    """Lay out ``content``: sizes fitted to it, or the body fitted into a given width and/or
    height (points). Warns when a fixed size is too small to hold the figure."""
    n, ncol = content.data.shape
    bw = _auto_body_width(ncol)
    bh = bw * n / ncol if content.square else _auto_body_height(n, content, measure)
    below = False
    min_bw = max(MIN_BODY, float(ncol))

    def build() -> Geometry:
        first = _geometry(content, bw, bh, measure, below=below, width=width, height=height,
                          text_width=width)
        if width is not None:
            return first
        return _geometry(content, bw, bh, measure, below=below, width=width, height=height,
                         text_width=first.natural_width)

    geo = build()
    if width is not None:
        bw = bw + width - geo.natural_width
        if bw < min(_auto_body_width(ncol), max(ncol * 6.0, 60.0)):
            below = True
            bw = _auto_body_width(ncol)
            geo = build()
            bw = bw + width - geo.natural_width
        bw = max(bw, min_bw)
        if content.square and height is None:
            bh = bw * n / ncol
        geo = build()
    if height is not None:
        for _ in range(2):  # the caption's wrapping does not depend on bh; two passes settle
            bh = max(bh + height - geo.needed_height, MIN_BODY)
            geo = build()
    fits_w = width is None or geo.natural_width <= width + 0.5
    fits_h = height is None or max(geo.needed_height, geo.natural_height) <= height + 0.5
    if not (fits_w and fits_h):
        given = " x ".join(f"{v / 72:.2f}" for v in (width, height) if v is not None)
        warnings.warn(f"The heatmap does not fit in {given} in; it needs about "
                      f"{geo.natural_width / 72:.2f} x {geo.needed_height / 72:.2f} in. Use a "
                      "larger size; drawn at the size it needs.", InputWarning, stacklevel=4)
        return fit_geometry(content, measure=measure)
    small = [f for f in (geo.gene_font, geo.sample_font) if 0 < f < MIN_READABLE]
    if small:
        warnings.warn(f"Labels are drawn at {min(small):.1f} pt, too small to read; label fewer "
                      "genes (label_genes=) or use a larger size.", InputWarning, stacklevel=4)
    return geo
