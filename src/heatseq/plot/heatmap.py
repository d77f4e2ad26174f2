"""The clustered expression heatmap: draws a given :class:`heatseq.cluster.Clustering`.

This module owns :func:`heatmap` (genes x samples with dendrograms, annotation bars,
modules, labels, legends and caption), :func:`sample_heatmap` (the same engine on a
sample-to-sample distance or correlation matrix) and :func:`save_figure` (PNG/SVG/PDF,
written atomically). It never clusters: orders, trees and modules come from
:mod:`heatseq.cluster`. Figures are built as :class:`matplotlib.figure.Figure` objects and
never touch pyplot's global state or rcParams.

What is drawn is first resolved into plain pieces (:mod:`heatseq.plot._content`), then laid
out in points with every text measured (:mod:`heatseq.plot._geometry`), then drawn here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from heatseq.errors import InputError
from heatseq.io.write import atomic_path
from heatseq.plot._content import (
    DEFAULT_ANNOTATE,
    Bar,
    Content,
    LabelGenes,
    Size,
    check_size,
    resolve_content,
)
from heatseq.plot._geometry import RASTER_ROWS, Geometry, fit_geometry
from heatseq.plot._layout import Box, Canvas, TextMeasure
from heatseq.plot.legends import draw_legends
from heatseq.plot.palettes import PALETTES, Palette

if TYPE_CHECKING:
    from heatseq.cluster import Clustering

__all__ = ["FIGURE_FORMATS", "heatmap", "sample_heatmap", "save_figure"]

log = logging.getLogger(__name__)

#: File suffixes :func:`save_figure` writes.
FIGURE_FORMATS: tuple[str, ...] = (".png", ".svg", ".pdf")


def heatmap(clustering: Clustering, *, samples: pd.DataFrame | None = None,
            annotate: Sequence[str] = DEFAULT_ANNOTATE,
            row_annotations: pd.DataFrame | pd.Series | None = None,
            palette: Palette = "rdbu", na_color: str = "#d9d9d9",
            label_genes: LabelGenes = "auto", show_dendrograms: bool = True,
            title: str | None = None, size: Size = "auto",
            level_colors: Mapping[str, Mapping[str, str]] | None = None,
            ax: Axes | None = None) -> Figure:
    """Draw a clustered heatmap of genes x samples.

    Layout: column dendrogram on top, row dendrogram on the left, sample-sheet annotation
    bars under the column dendrogram, module and row-annotation bars beside the rows, gene
    labels on the right, sample labels below, legends (colour scale first) to the right or,
    when the width is fixed and tight, below, and the clustering's caption at the bottom.
    Every text is measured before anything is placed, so nothing overlaps.

    Parameters
    ----------
    clustering
        What to draw, from :mod:`heatseq.cluster`.
    samples
        Sample table (indexed by sample name) for the annotation bars. Level colours are
        computed from the whole table (:func:`heatseq.plot.palettes.level_colors`), so they
        are the same in every figure drawn from it.
    annotate
        Sample-table columns drawn as bars above the heatmap. The default ``("condition",)``
        is skipped quietly when there is no such column; a named column that is missing is
        an error.
    row_annotations
        Per-gene values drawn as bars beside the rows (e.g. DE direction ``up``/``down``),
        a Series or a DataFrame indexed by gene ID; one bar per column.
    palette
        ``"rdbu"`` (blue-white-red, red = high), ``"rbg"`` (green-black-red),
        ``"viridis"`` or ``"cb_diverging"`` (purple-white-orange, colour-blind safe).
    na_color
        Colour of missing values.
    label_genes
        ``"auto"`` (all labels when there are at most 80 rows, else none), ``"none"``,
        ``"all"``, or gene IDs / labels to show (case-insensitive); with more than 80
        rows these are set beside the heatmap with leader lines that fan out.
    show_dendrograms
        Draw the trees (when the clustering has them).
    title
        Title above the figure.
    size
        ``"auto"`` (fitted to the content), ``"single"`` (89 mm wide) or ``"double"``
        (183 mm wide) journal columns, or (width, height) in inches.
    level_colors
        Colours to use, column -> level -> colour; they win over the palette.
    ax
        Draw into the area of this Axes (which is removed) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scipy.cluster.hierarchy import linkage, leaves_list
    >>> from heatseq.cluster import Clustering
    >>> x = pd.DataFrame(np.arange(12.0).reshape(4, 3) % 5, index=list("abcd"),
    ...                  columns=["s1", "s2", "s3"])
    >>> z = linkage(x.to_numpy(), "complete")
    >>> c = Clustering(values=x, row_order=x.index[leaves_list(z)], col_order=x.columns,
    ...                row_linkage=z, col_linkage=None, modules=None, module_summaries=(),
    ...                clip=None, caption="4 genes", row_labels=pd.Series(x.index, x.index))
    >>> fig = heatmap(c)
    >>> labels = [t.get_text() for t in fig.texts if t.get_gid() == "heatseq-gene-label"]
    >>> labels == list(c.row_order)
    True
    """
    _check_choice("palette", palette, tuple(PALETTES))
    check_size(size)
    content = resolve_content(clustering, samples=samples, annotate=annotate,
                              row_annotations=row_annotations, palette=palette,
                              na_color=na_color, label_genes=label_genes,
                              show_dendrograms=show_dendrograms, title=title,
                              level_colors=level_colors)
    return _render(content, size=size, ax=ax)


def sample_heatmap(matrix: pd.DataFrame | Clustering, *, samples: pd.DataFrame | None = None,
                   annotate: Sequence[str] = DEFAULT_ANNOTATE,
                   kind: Literal["distance", "correlation"] = "distance",
                   method: Literal["complete", "average", "single"] = "complete",
                   palette: Palette = "viridis", show_dendrograms: bool = True,
                   title: str | None = None, size: Size = "auto",
                   level_colors: Mapping[str, Mapping[str, str]] | None = None,
                   ax: Axes | None = None) -> Figure:
    """Draw a sample-to-sample distance or correlation heatmap (for QC) with the engine of
    :func:`heatmap`: same layout, legends, level colours and annotation bars (on both axes).

    Parameters
    ----------
    matrix
        Samples x samples: distances (e.g. :func:`heatseq.cluster.sample_distances`) or
        correlations, the same names on both axes; or a Clustering of such a matrix. A
        matrix is ordered by the hierarchical clustering of its own distances (1 - r for
        correlations), as ``pheatmap(m, clustering_distance_rows = d)`` in DESeq2's
        vignette; rows and columns share the order.
    samples, annotate, show_dendrograms, title, size, level_colors, ax
        As in :func:`heatmap`.
    kind
        ``"distance"`` (colour scale from 0: dark = close with viridis) or ``"correlation"``.
    method
        Linkage of the samples' tree: ``"complete"``, ``"average"`` or ``"single"``.
    palette
        As in :func:`heatmap`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame([[0, 1, 4], [1, 0, 3], [4, 3, 0]], index=list("abc"), columns=list("abc"))
    >>> fig = sample_heatmap(d)
    >>> [t.get_text() for t in fig.texts if t.get_gid() == "heatseq-sample-label"]
    ['c', 'a', 'b']
    """
    _check_choice("kind", kind, ("distance", "correlation"))
    _check_choice("method", method, ("complete", "average", "single"))
    _check_choice("palette", palette, tuple(PALETTES))
    check_size(size)
    clustering = matrix if not isinstance(matrix, pd.DataFrame) else \
        _cluster_square(matrix, kind=kind, method=method)
    row_ann = None
    if samples is not None:
        cols = [c for c in annotate if c in samples.columns] \
            if tuple(annotate) == DEFAULT_ANNOTATE else list(annotate)
        if cols:
            row_ann = samples.reindex(columns=cols)
    content = resolve_content(clustering, samples=samples, annotate=annotate,
                              row_annotations=row_ann, palette=palette, na_color="#d9d9d9",
                              label_genes="auto", show_dendrograms=show_dendrograms,
                              title=title, level_colors=level_colors,
                              value_label=kind, row_kind="sample")
    return _render(content, size=size, ax=ax)


def _cluster_square(matrix: pd.DataFrame, *, kind: str, method: str) -> Clustering:
    """Order a square sample matrix by the hierarchical clustering of its distances."""
    import fastcluster
    from scipy.cluster.hierarchy import leaves_list
    from scipy.spatial.distance import squareform

    from heatseq.cluster import Clustering

    names = pd.Index(matrix.index.astype(str))
    cols = pd.Index(matrix.columns.astype(str))
    if matrix.shape[0] != matrix.shape[1] or not names.sort_values().equals(cols.sort_values()):
        raise InputError(f"sample_heatmap needs a square samples x samples matrix with the same "
                         f"names on both axes; got {matrix.shape[0]} x {matrix.shape[1]}. Use "
                         "heatseq.cluster.sample_distances to make one.")
    try:
        v = matrix.set_axis(names, axis=0).set_axis(cols, axis=1).loc[names, names] \
            .to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise InputError("The sample matrix must hold numbers.") from None
    if not np.isfinite(v).all() or not np.allclose(v, v.T, rtol=1e-9, atol=1e-12):
        raise InputError(f"The sample {kind} matrix must be finite and symmetric.")
    d = 1.0 - v if kind == "correlation" else v
    if (d < -1e-9).any():
        raise InputError("Distances must be >= 0 (correlations from -1 to 1); check kind=.")
    n = len(names)
    frame = pd.DataFrame(v, index=names, columns=names)
    z = None
    order = names
    if n > 1:
        condensed = squareform(np.clip((d + d.T) / 2, 0, None), checks=False)
        z = fastcluster.linkage(condensed, method=method)
        order = names[leaves_list(z)]
    caption = f"{kind.capitalize()}s between {n:,} samples; {method} linkage"
    return Clustering(values=frame, row_order=order, col_order=order, row_linkage=z,
                      col_linkage=z, modules=None, module_summaries=(), clip=None,
                      caption=caption, row_labels=pd.Series(names, index=names),
                      params={"kind": kind, "method": method})


def _check_choice(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(f"{name}={value!r} is not valid; choose one of: {', '.join(valid)}.")


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 300) -> Path:
    """Write a figure to PNG, SVG or PDF (chosen by the suffix), atomically.

    The file is written to a temporary name in the same folder and renamed into place, so
    an interrupted run never leaves a half-written figure. Text stays text in SVG and PDF
    (editable, searchable); the heatmap body of large heatmaps is embedded as an image.
    Dates are left out of SVG/PDF metadata so the same figure gives the same bytes.

    Parameters
    ----------
    fig
        The figure.
    path
        Target file: ``.png``, ``.svg`` or ``.pdf``.
    dpi
        Resolution of PNGs and of rasterised parts of vector files.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise InputError(f"Cannot write a figure to {target}: the suffix "
                         f"{target.suffix or '(none)'!r} is not one of "
                         f"{', '.join(FIGURE_FORMATS)}. Give a file name ending in one of them.")
    if not isinstance(dpi, (int, np.integer)) or isinstance(dpi, bool) or not 10 <= dpi <= 2400:
        raise InputError(f"dpi={dpi!r} is not valid; give a whole number from 10 to 2400 "
                         "(300 for print).")
    fmt = suffix[1:]
    metadata: dict[str, str | None] = {"png": {"Software": "heatseq"},
                                       "svg": {"Date": None},
                                       "pdf": {"CreationDate": None, "ModDate": None}}[fmt]
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    with atomic_path(target) as tmp, \
            matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42,
                                   "svg.hashsalt": "heatseq"}):
        fig.savefig(tmp, format=fmt, dpi=int(dpi), metadata=metadata, facecolor="white")
    log.info("wrote %s", target)
    return target


# ----------------------------------------------------------------------------- drawing

def _render(content: Content, *, size: Size, ax: Axes | None) -> Figure:
    measure = TextMeasure()
    if ax is not None:
        fig = ax.figure
        if not isinstance(fig, Figure):
            raise InputError("ax must belong to a matplotlib Figure.")
        fw, fh = fig.get_size_inches()
        pos = ax.get_position()
        origin = (pos.x0 * fw, pos.y0 * fh)
        fixed: tuple[float, float] | None = (pos.width * fw * 72, pos.height * fh * 72)
        ax.remove()
        geo = fit_geometry(content, measure=measure, width=fixed[0], height=fixed[1])
    else:
        width, height = _size_points(size)
        geo = fit_geometry(content, measure=measure, width=width, height=height)
        fig = Figure(figsize=(geo.width / 72, geo.height / 72), dpi=100)
        FigureCanvasAgg(fig)
        origin = (0.0, 0.0)
    canvas = Canvas(fig, origin_in=origin, width=geo.width, height=geo.height)
    _draw(canvas, content, geo, measure)
    return fig


def _size_points(size: Size) -> tuple[float | None, float | None]:
    if size == "auto":
        return None, None
    if size == "single":
        return 89 / 25.4 * 72, None
    if size == "double":
        return 183 / 25.4 * 72, None
    w, h = size  # type: ignore[misc]
    return float(w) * 72, float(h) * 72


def _draw(canvas: Canvas, content: Content, geo: Geometry, measure: TextMeasure) -> None:
    _draw_body(canvas, content, geo.body)
    if geo.col_tree is not None and content.col_lines is not None:
        _draw_tree(canvas, content.col_lines, geo.col_tree, axis="col",
                   n=content.data.shape[1])
    if geo.row_tree is not None and content.row_lines is not None:
        _draw_tree(canvas, content.row_lines, geo.row_tree, axis="row",
                   n=content.data.shape[0])
    for bar, box in zip(content.col_bars, geo.col_bars, strict=True):
        _draw_bar(canvas, bar, box, axis="col")
        canvas.text(geo.body.right + geo.gap, box.y + box.h / 2, bar.label,
                    size=geo.bar_name_font, gid="heatseq-bar-name")
    for bar, box in zip(content.row_bars, geo.row_bars, strict=True):
        _draw_bar(canvas, bar, box, axis="row")
        canvas.text(box.x + box.w / 2, geo.body.bottom + geo.gap, bar.label,
                    size=geo.row_bar_name_font, gid="heatseq-bar-name", ha="center", va="top",
                    rotation=90)
    for text, y in zip(geo.gene_texts, geo.gene_y, strict=True):
        canvas.text(geo.gene_x, y, text, size=geo.gene_font, gid="heatseq-gene-label")
    if geo.leaders:
        canvas.lines(geo.leaders, gid="heatseq-leader-lines", linewidth=0.4)
    pitch = geo.body.w / content.data.shape[1]
    for j, text in enumerate(geo.sample_texts):
        x = geo.body.x + (j + 0.5) * pitch
        canvas.text(x, geo.body.bottom + geo.gap, text, size=geo.sample_font,
                    gid="heatseq-sample-label", ha="center", va="top",
                    rotation=90 if geo.sample_rotated else 0)
    draw_legends(canvas, geo.legends, measure=measure)
    if geo.title_lines:
        canvas.text(geo.margin, geo.margin, "\n".join(geo.title_lines), size=geo.title_font,
                    gid="heatseq-title", va="top")
    if geo.caption_lines:
        canvas.text(geo.margin, geo.caption_y, "\n".join(geo.caption_lines),
                    size=geo.caption_font, gid="heatseq-caption", va="top", color="#333333")


def _draw_body(canvas: Canvas, content: Content, box: Box) -> None:
    ax = canvas.axes(box, gid="heatseq-body")
    n, m = content.data.shape
    norm = Normalize(content.vmin, content.vmax)
    data = np.ma.masked_invalid(content.data)
    if n > RASTER_ROWS:
        rgba = _downsampled_rgba(data, content, rows=int(np.ceil(box.h / 72 * 300)))
        image = ax.imshow(rgba, aspect="auto", interpolation="nearest", extent=(0, m, n, 0))
        image.set_rasterized(True)
    else:
        mesh = ax.pcolormesh(np.arange(m + 1), np.arange(n + 1), data, cmap=content.cmap,
                             norm=norm, shading="flat", antialiased=False, linewidth=0,
                             edgecolors="none")
        mesh.set_rasterized(False)
    ax.set_xlim(0, m)
    ax.set_ylim(n, 0)


def _downsampled_rgba(data: np.ma.MaskedArray, content: Content, *, rows: int) -> np.ndarray:
    """Colours of the body, with rows averaged in groups when there are more rows than
    pixels at 300 dpi (each pixel shows the mean colour of the rows it covers)."""
    norm = Normalize(content.vmin, content.vmax)
    n = data.shape[0]
    rgba = content.cmap(norm(data), bytes=True)
    if n <= rows:
        return rgba
    starts = np.unique((np.arange(rows) * n) // rows)
    sums = np.add.reduceat(rgba.astype(np.float32), starts, axis=0)
    counts = np.diff(np.append(starts, n)).astype(np.float32)
    return np.clip(np.round(sums / counts[:, None, None]), 0, 255).astype(np.uint8)


def _tree_path(lines: np.ndarray) -> Path:
    """All merges of a dendrogram as one compound path (move to the first point of each
    merge, then three line segments), built without a Python loop."""
    k = lines.shape[0]
    codes = np.full((k, 4), MplPath.LINETO, dtype=MplPath.code_type)
    codes[:, 0] = MplPath.MOVETO
    return MplPath(lines.reshape(-1, 2), codes.reshape(-1))


def _draw_tree(canvas: Canvas, lines: np.ndarray, box: Box, *, axis: str, n: int) -> None:
    ax = canvas.axes(box, gid=f"heatseq-{axis}-dendrogram")
    top = float(lines[:, :, 1].max()) if lines.size else 1.0
    top = top if top > 0 else 1.0
    width = 0.5 if n <= 2000 else (0.25 if n <= 10_000 else 0.15)
    path = _tree_path(lines if axis == "col" else lines[:, :, ::-1])
    patch = PathPatch(path, fill=False, edgecolor="#222222", linewidth=width,
                      capstyle="butt", joinstyle="miter")
    patch.set_gid(f"heatseq-{axis}-dendrogram-lines")
    ax.add_artist(patch)  # not add_patch: it would walk every vertex for data limits
    if axis == "col":
        ax.set_xlim(0, n)
        ax.set_ylim(0, top * 1.02)
    else:
        ax.set_xlim(top * 1.02, 0)
        ax.set_ylim(n, 0)


def _draw_bar(canvas: Canvas, bar: Bar, box: Box, *, axis: str) -> None:
    ax = canvas.axes(box, gid=f"heatseq-{axis}-bar")
    rgb = bar.rgb[None, :, :] if axis == "col" else bar.rgb[:, None, :]
    k = bar.rgb.shape[0]
    extent = (0, k, 1, 0) if axis == "col" else (0, 1, k, 0)
    ax.imshow(rgb, aspect="auto", interpolation="nearest", extent=extent)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
