"""Gene labels that never overlap: placement of text labels next to points of a scatter plot.

This module owns :func:`place_labels`, used by the volcano and MA plots. Each label is
measured with the figure's renderer (the same text extents the file will have), then placed
greedily, most important first, at the cheapest of a ring of candidate positions around its
point: candidates at growing distances in 16 directions, each scored by its distance from
the point plus the square root of the number of data points the label would cover (counted in O(1) per
candidate with a summed-area table of the points on a pixel grid). A candidate is allowed
only when its box lies inside the axes and overlaps no label placed before it. A label with
no allowed candidate is left out (and reported). Labels away from their point get a thin
leader line to the nearest edge of their box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.text import Text

__all__ = ["PlacedLabels", "place_labels"]

# Distances (points) from the anchor and directions tried, nearest first.
_RADII_PT = (4.0, 7.0, 12.0, 18.0, 26.0, 36.0, 50.0, 68.0, 90.0, 120.0)
_N_ANGLES = 16
_PAD_PT = 1.5          # gap kept between label boxes and from the axes frame
_COVER_WEIGHT = 1.0    # cost of covering n data points: sqrt(n) radius steps
_ANCHOR_COST = 8.0     # cost of covering the marker of another labelled point
_MARKER_PT = 3.0       # half-size of the square kept clear around a labelled point
_CROSS_WEIGHT = 30.0   # cost of a leader line crossing a label or another leader line
_GRID_PX = 3.0         # cell size of the occupancy grid
_LEADER_MIN_PT = 5.0   # draw a leader line when the box is farther than this from its point


@dataclass(frozen=True)
class PlacedLabels:
    """Labels drawn by :func:`place_labels`.

    Attributes
    ----------
    texts
        The text artists drawn, in the order the labels were given (placed ones only).
    names
        The label strings drawn, aligned with ``texts``.
    leaders
        The leader lines drawn.
    dropped
        Labels that found no free place inside the axes.
    """

    texts: tuple[Text, ...]
    names: tuple[str, ...]
    leaders: tuple[Line2D, ...]
    dropped: tuple[str, ...]


def place_labels(ax: Axes, points: np.ndarray, *, labels: Sequence[str],
                 obstacles: np.ndarray | None = None, fontsize: float = 7.0,
                 bold: Sequence[bool] | None = None, color: str = "#202020",
                 leader_color: str = "#606060") -> PlacedLabels:
    """Draw ``labels`` next to ``points`` (data coordinates) without overlaps.

    The axes' limits and position must be final: placement is done in display coordinates.

    Parameters
    ----------
    ax
        The axes to draw in.
    points
        ``(n, 2)`` data coordinates of the labelled points, most important first.
    labels
        The label of each point.
    obstacles
        ``(m, 2)`` data coordinates of other points that labels should avoid covering
        (a soft cost, not a hard rule).
    fontsize
        Font size of the labels in points.
    bold
        Per label, whether it is drawn bold (highlighted genes).
    color, leader_color
        Colours of the text and of the leader lines.

    Returns
    -------
    PlacedLabels
    """
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    n = len(pts)
    if n != len(labels):
        raise ValueError("points and labels differ in length")
    weights = [False] * n if bold is None else list(bold)
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    px_per_pt = fig.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    pad = _PAD_PT * px_per_pt
    lo = np.array([frame.x0 + pad, frame.y0 + pad])
    hi = np.array([frame.x1 - pad, frame.y1 - pad])

    anchors = ax.transData.transform(pts) if n else np.empty((0, 2))
    texts = [Text(0, 0, str(s), fontsize=fontsize, color=color,
                  fontweight="bold" if b else "normal", ha="left", va="bottom")
             for s, b in zip(labels, weights, strict=True)]
    for t in texts:
        t.set_figure(fig)  # type: ignore[arg-type]
    sizes = np.array([[e.width, e.height] for e in
                      (t.get_window_extent(renderer) for t in texts)]).reshape(-1, 2)

    grid = _Occupancy(lo, hi)
    if obstacles is not None and len(obstacles):
        obs = ax.transData.transform(np.asarray(obstacles, dtype=float).reshape(-1, 2))
        grid.add(obs[np.isfinite(obs).all(axis=1)], weight=1.0)
    finite = np.isfinite(anchors).all(axis=1)
    grid.freeze()
    marker = _MARKER_PT * px_per_pt

    offsets, radii = _candidate_offsets(px_per_pt)
    placed: list[np.ndarray] = []  # boxes [x0, y0, x1, y1] in display pixels
    drawn: list[Text] = []
    names: list[str] = []
    leaders: list[Line2D] = []
    segments: list[np.ndarray] = []  # anchor -> box, of every placed label
    dropped: list[str] = []
    inv = ax.transData.inverted()
    for i in range(n):
        if not finite[i]:
            dropped.append(str(labels[i]))
            continue
        w, h = sizes[i]
        boxes = _candidate_boxes(anchors[i], offsets, w=w, h=h)
        ok = (boxes[:, :2] >= lo).all(axis=1) & (boxes[:, 2:] <= hi).all(axis=1)
        if placed:
            other = np.array(placed)
            ok &= ~_overlaps(boxes, other, pad=pad).any(axis=1)
        if not ok.any():
            dropped.append(str(labels[i]))
            continue
        covered = grid.count_box(boxes[:, :2], boxes[:, 2:])
        cost = radii / (_RADII_PT[1] * px_per_pt) + _COVER_WEIGHT * np.sqrt(covered)
        others = anchors[finite & (np.arange(n) != i)]
        if len(others):
            marks = np.hstack([others - marker, others + marker])
            cost += _ANCHOR_COST * _overlaps(boxes, marks, pad=0.0).sum(axis=1)
        # leader lines should cross neither placed labels nor other leader lines
        ends = np.clip(anchors[i], boxes[:, :2], boxes[:, 2:])
        if placed:
            cost += _CROSS_WEIGHT * _segment_hits_boxes(anchors[i], ends, other).sum(axis=1)
        if segments:
            seg = np.array(segments)
            cost += _CROSS_WEIGHT * _segments_cross(anchors[i], ends, seg).sum(axis=1)
            cost += _CROSS_WEIGHT * _segment_hits_boxes(seg[:, :2], seg[:, 2:], boxes).sum(axis=0)
        cost[~ok] = np.inf
        k = int(np.argmin(cost))
        box = boxes[k]
        placed.append(box)
        text = texts[i]
        text.set_position(tuple(inv.transform(box[:2])))
        ax.add_artist(text)
        text.set_clip_on(False)
        drawn.append(text)
        names.append(str(labels[i]))
        near = np.clip(anchors[i], box[:2], box[2:])
        segments.append(np.concatenate([anchors[i], near]))
        if np.hypot(*(near - anchors[i])) > _LEADER_MIN_PT * px_per_pt:
            # stop the line short of the marker so the point stays visible
            direction = near - anchors[i]
            start = anchors[i] + direction / np.hypot(*direction) * 2.0 * px_per_pt
            xy = inv.transform(np.vstack([start, near]))
            line = Line2D(xy[:, 0], xy[:, 1], color=leader_color, linewidth=0.5,
                          zorder=4.5)
            ax.add_line(line)
            leaders.append(line)
    return PlacedLabels(texts=tuple(drawn), names=tuple(names), leaders=tuple(leaders),
                        dropped=tuple(dropped))


def _candidate_offsets(px_per_pt: float) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (k, 2) from the anchor to the nearest side of a box, and their radii (k,)."""
    angles = np.arange(_N_ANGLES) * (2 * np.pi / _N_ANGLES) + np.pi / 4  # upper right first
    radii = np.repeat(np.asarray(_RADII_PT) * px_per_pt, _N_ANGLES)
    ang = np.tile(angles, len(_RADII_PT))
    return np.column_stack([np.cos(ang), np.sin(ang)]) * radii[:, None], radii


def _candidate_boxes(anchor: np.ndarray, offsets: np.ndarray, *, w: float, h: float
                     ) -> np.ndarray:
    """Boxes [x0, y0, x1, y1] touching ``anchor + offset`` on the side facing the anchor."""
    p = anchor + offsets
    unit = offsets / np.maximum(np.hypot(offsets[:, 0], offsets[:, 1]), 1e-9)[:, None]
    # horizontal: box starts at p (right of anchor), ends at p (left), or is centred
    x0 = np.where(unit[:, 0] > 0.38, p[:, 0], np.where(unit[:, 0] < -0.38, p[:, 0] - w,
                                                        p[:, 0] - w / 2))
    y0 = np.where(unit[:, 1] > 0.38, p[:, 1], np.where(unit[:, 1] < -0.38, p[:, 1] - h,
                                                        p[:, 1] - h / 2))
    return np.column_stack([x0, y0, x0 + w, y0 + h])


def _overlaps(boxes: np.ndarray, other: np.ndarray, *, pad: float) -> np.ndarray:
    """(k, m) whether box k comes closer than ``pad`` to box m."""
    return ((boxes[:, None, 0] < other[None, :, 2] + pad)
            & (other[None, :, 0] < boxes[:, None, 2] + pad)
            & (boxes[:, None, 1] < other[None, :, 3] + pad)
            & (other[None, :, 1] < boxes[:, None, 3] + pad))


def _segment_hits_boxes(starts: np.ndarray, ends: np.ndarray, boxes: np.ndarray
                        ) -> np.ndarray:
    """(k, m) whether the segment ``starts[k] -> ends[k]`` passes through box m (slab test:
    the parameter ranges inside the x slab and inside the y slab intersect)."""
    starts = np.broadcast_to(starts, ends.shape)
    d = ends - starts
    t_lo = np.zeros((len(d), len(boxes)))
    t_hi = np.ones((len(d), len(boxes)))
    with np.errstate(divide="ignore", invalid="ignore"):
        for ax in (0, 1):
            lo = boxes[None, :, ax] - starts[:, ax:ax + 1]
            hi = boxes[None, :, ax + 2] - starts[:, ax:ax + 1]
            dd = d[:, ax:ax + 1]
            flat = np.abs(dd) < 1e-12
            within = (lo <= 0) & (hi >= 0)
            t0 = np.where(flat, np.where(within, -np.inf, np.inf), lo / dd)
            t1 = np.where(flat, np.where(within, np.inf, -np.inf), hi / dd)
            t_lo = np.maximum(t_lo, np.minimum(t0, t1))
            t_hi = np.minimum(t_hi, np.maximum(t0, t1))
    return t_lo < t_hi


def _segments_cross(start: np.ndarray, ends: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """(k, m) whether segment start->ends[k] properly crosses segment m ([x0, y0, x1, y1])."""
    p, r = start[None, None, :], (ends - start)[:, None, :]
    q, s = segs[None, :, :2], (segs[:, 2:] - segs[:, :2])[None, :, :]

    def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]

    denom = cross(r, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = cross(q - p, s) / denom
        u = cross(q - p, r) / denom
    return (np.abs(denom) > 1e-12) & (t > 1e-6) & (t < 1 - 1e-6) & (u > 1e-6) & (u < 1 - 1e-6)


class _Occupancy:
    """Weighted counts of points on a pixel grid over the axes, with box sums in O(1)."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray) -> None:
        self.lo = lo
        self.shape = (max(int(np.ceil((hi[0] - lo[0]) / _GRID_PX)), 1),
                      max(int(np.ceil((hi[1] - lo[1]) / _GRID_PX)), 1))
        self.counts = np.zeros(self.shape)
        self.table = np.zeros((self.shape[0] + 1, self.shape[1] + 1))

    def _cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ij = np.floor((xy - self.lo) / _GRID_PX).astype(np.int64)
        return ij[:, 0], ij[:, 1]

    def add(self, xy: np.ndarray, *, weight: float) -> None:
        i, j = self._cells(xy)
        keep = (i >= 0) & (i < self.shape[0]) & (j >= 0) & (j < self.shape[1])
        np.add.at(self.counts, (i[keep], j[keep]), weight)

    def freeze(self) -> None:
        self.table[1:, 1:] = self.counts.cumsum(axis=0).cumsum(axis=1)

    def count_box(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Weighted number of points in each box ``[lo, hi]`` (rows of (k, 2) arrays)."""
        i0, j0 = self._cells(lo)
        i1, j1 = self._cells(hi)
        i0 = np.clip(i0, 0, self.shape[0])
        j0 = np.clip(j0, 0, self.shape[1])
        i1 = np.clip(i1 + 1, 0, self.shape[0])
        j1 = np.clip(j1 + 1, 0, self.shape[1])
        t = self.table
        return t[i1, j1] - t[i0, j1] - t[i1, j0] + t[i0, j0]
