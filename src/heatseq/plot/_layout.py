"""Measuring text and placing things so that nothing overlaps.

The figure is laid out in points (1/72 inch) before anything is drawn: every label, legend
entry, title and caption is measured with matplotlib's own Agg text engine, and the boxes
of the figure are computed from those sizes. Widths are measured at 300 dpi and padded by
:data:`WIDTH_PAD`, because hinting makes a string a few percent wider or narrower at other
resolutions; heights use the line height of ``"lp"`` as matplotlib's Text does.

This module owns :class:`TextMeasure`, :func:`wrap_text`, :func:`spread_labels` (placing
labels along a line with a minimum spacing, as close as possible to their targets) and
:class:`Box`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D

__all__ = ["WIDTH_PAD", "Box", "Canvas", "TextMeasure", "spread_labels", "truncate", "wrap_text"]

#: Widths are multiplied by this to cover hinting differences between resolutions.
WIDTH_PAD = 1.12
_MEASURE_DPI = 300.0
_LINESPACING = 1.2


@dataclass(frozen=True)
class Box:
    """A rectangle in points, measured from the top-left corner of the figure (y grows
    downwards): left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@lru_cache(maxsize=8)
def _renderer() -> RendererAgg:
    return RendererAgg(1, 1, _MEASURE_DPI)


@lru_cache(maxsize=32)
def _font(size: float, weight: str) -> FontProperties:
    return FontProperties(size=size, weight=weight)


class TextMeasure:
    """Sizes of single-line strings in points, as matplotlib will draw them.

    Examples
    --------
    >>> m = TextMeasure()
    >>> w, h = m.size("SRR1039508", 7.0)
    >>> 40 < w < 60 and 6 < h < 9
    True
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, float, str], tuple[float, float]] = {}

    def size(self, text: str, fontsize: float, *, weight: str = "normal") -> tuple[float, float]:
        """(width, height) of one line of text in points, width padded for hinting."""
        key = (text, fontsize, weight)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        r = _renderer()
        prop = _font(fontsize, weight)
        scale = 72.0 / _MEASURE_DPI
        w, h, _ = r.get_text_width_height_descent(text or " ", prop, ismath=False)
        _, h_lp, _ = r.get_text_width_height_descent("lp", prop, ismath=False)
        out = (w * scale * WIDTH_PAD + 0.5, max(h, h_lp) * scale + 0.5)
        self._cache[key] = out
        return out

    def width(self, text: str, fontsize: float, *, weight: str = "normal") -> float:
        """Width of one line of text in points."""
        return self.size(text, fontsize, weight=weight)[0]

    def line_height(self, fontsize: float) -> float:
        """Height of one line of text (the box matplotlib gives a single line) in points."""
        return self.size("lp", fontsize)[1]

    def max_width(self, texts: list[str], fontsize: float) -> float:
        """Width of the widest of ``texts`` (0 for none)."""
        return max((self.width(t, fontsize) for t in texts), default=0.0)

    def block_height(self, n_lines: int, fontsize: float) -> float:
        """Height of ``n_lines`` lines drawn as one Text (matplotlib's line spacing 1.2)."""
        if n_lines <= 0:
            return 0.0
        lh = self.line_height(fontsize)
        return lh + (n_lines - 1) * lh * _LINESPACING + 0.5

    def fontsize_for_height(self, height: float, *, largest: float) -> float:
        """The largest font size <= ``largest`` whose line height fits in ``height`` points."""
        ratio = self.line_height(10.0) / 10.0
        return float(min(largest, max(height - 0.6, 0.1) / ratio))


def truncate(text: str, max_chars: int) -> str:
    """Shorten ``text`` to ``max_chars`` characters with an ellipsis in the middle.

    Examples
    --------
    >>> truncate("a_very_long_condition_name_indeed", 15)
    'a_very_…_indeed'
    """
    if len(text) <= max_chars:
        return text
    head = (max_chars - 1) // 2
    tail = max_chars - 1 - head
    return text[:head] + "…" + text[len(text) - tail:]


def wrap_text(text: str, width: float, fontsize: float, measure: TextMeasure, *,
              weight: str = "normal") -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points (a word longer than the
    width gets a line of its own)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split(" "):
            trial = word if not current else f"{current} {word}"
            if current and measure.width(trial, fontsize, weight=weight) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
    return lines


def spread_labels(targets: np.ndarray, *, spacing: float, low: float, high: float) -> np.ndarray:
    """Place labels along a line: centres at least ``spacing`` apart, inside [low, high],
    as close as possible (least squares) to ``targets``, keeping their order.

    The minimum-spacing constraint becomes a monotonicity constraint on
    ``position - rank * spacing``, which is isotonic regression; clipping the result to the
    bounds keeps it monotone. When the labels cannot fit, the spacing shrinks to fit.

    Parameters
    ----------
    targets
        Wanted centres, in increasing order.
    spacing
        Minimum distance between neighbouring centres.
    low, high
        The range the centres must stay in.

    Returns
    -------
    numpy.ndarray
        The centres, increasing.

    Examples
    --------
    >>> spread_labels(np.array([5.0, 5.0, 5.0]), spacing=2.0, low=0.0, high=100.0).tolist()
    [3.0, 5.0, 7.0]
    """
    t = np.asarray(targets, dtype=float)
    n = t.size
    if n == 0:
        return t
    if n > 1:
        spacing = min(spacing, (high - low) / (n - 1))
    from scipy.optimize import isotonic_regression  # imported here: slow to import

    rank = np.arange(n) * spacing
    z = isotonic_regression(t - rank).x
    z = np.clip(z, low, high - rank[-1])
    return z + rank


class Canvas:
    """Draws on a region of a Figure in points from the region's top-left corner.

    Texts, swatches and leader lines are figure-level artists (not inside any Axes), so
    their boxes are exactly the boxes the layout computed; images and dendrograms get Axes
    of their own with the axis turned off.
    """

    def __init__(self, fig: Figure, *, origin_in: tuple[float, float], width: float,
                 height: float) -> None:
        self.fig = fig
        self.width = width
        self.height = height
        self._x0, self._y0 = origin_in
        self.transform = Affine2D().scale(1 / 72).translate(self._x0, self._y0) + \
            fig.dpi_scale_trans

    def text(self, x: float, y: float, s: str, *, size: float, gid: str, ha: str = "left",
             va: str = "center", rotation: float = 0.0, weight: str = "normal",
             color: str = "#000000") -> Text:
        """A text whose anchor is at (x, y) points from the top-left corner."""
        return self.fig.text(x, self.height - y, s, transform=self.transform, fontsize=size,
                             ha=ha, va=va, rotation=rotation, weight=weight, color=color,
                             gid=gid, rotation_mode="default")

    def rect(self, box: Box, *, color: str, gid: str, edgecolor: str = "none") -> Rectangle:
        """A filled rectangle."""
        patch = Rectangle((box.x, self.height - box.bottom), box.w, box.h, facecolor=color,
                          edgecolor=edgecolor, linewidth=0.4, transform=self.transform, gid=gid)
        self.fig.add_artist(patch)
        return patch

    def lines(self, segments: Sequence[np.ndarray] | np.ndarray, *, gid: str,
              linewidth: float = 0.5, color: str = "#555555") -> LineCollection:
        """Polylines given in points from the top-left corner."""
        segs = [np.column_stack([s[:, 0], self.height - s[:, 1]]) for s in segments]
        coll = LineCollection(segs, colors=color, linewidths=linewidth,
                              transform=self.transform, gid=gid)
        self.fig.add_artist(coll)
        return coll

    def axes(self, box: Box, *, gid: str) -> Axes:
        """An Axes filling ``box``, axis off, no margins."""
        fw, fh = self.fig.get_size_inches()
        left = (self._x0 + box.x / 72) / fw
        bottom = (self._y0 + (self.height - box.bottom) / 72) / fh
        ax = self.fig.add_axes((left, bottom, box.w / 72 / fw, box.h / 72 / fh))
        ax.set_axis_off()
        ax.set_gid(gid)
        ax.margins(0)
        return ax
