"""Volcano and MA plots of a :class:`heatseq.de.results.DEResult`, static and interactive.

This module owns :func:`volcano` and :func:`ma_plot` (matplotlib figures, saved with
:func:`heatseq.plot.save_figure`) and :func:`volcano_html` and :func:`ma_html` (self-contained
interactive HTML fragments, drawn by :mod:`heatseq.plot._interactive`). Both kinds are drawn
from the same prepared points, so the counts in a static legend and in an interactive one
agree. No statistics are computed here: the groups come from the result's ``padj`` and LFC.

Conventions, stated in every figure's caption:

- a gene is *up* (*down*) when ``padj < alpha`` and ``|LFC| >= lfc_threshold`` and its LFC is
  positive (negative), with the LFC of the plotted column; every other gene is *n.s.*;
- volcano: genes whose padj is NA (independent filtering, Cook's outliers, all-zero counts)
  have no y value and are left out (their number is in the caption); padj = 0 (below the
  smallest double) would be infinite and is drawn as a triangle at a cap above the largest
  finite value;
- MA: genes with baseMean 0 or no LFC are left out; genes with padj NA are drawn as n.s.;
  LFCs beyond the y limit are drawn as triangles at the edge, as DESeq2's ``plotMA``;
- labels: the ``top_n`` significant genes with the smallest padj, plus the highlighted
  genes (bold, ringed), placed without overlap by :mod:`heatseq.plot._labels`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from heatseq.de.results import DEResult
from heatseq.errors import InputError, InputWarning
from heatseq.plot._interactive import render_html
from heatseq.plot._labels import place_labels
from heatseq.plot._layout import TextMeasure, wrap_text
from heatseq.plot.palettes import DIRECTION_COLORS

__all__ = ["GROUP_COLORS", "ma_html", "ma_plot", "volcano", "volcano_html"]

log = logging.getLogger(__name__)

LfcColumn = Literal["log2FoldChange", "shrunk"]
LabelBy = Literal["symbol", "gene_id"]
_LFC_COLUMNS = {"log2FoldChange": "log2FoldChange", "shrunk": "log2FoldChange_shrunk"}
_LABEL_BY = ("symbol", "gene_id")
#: Colours of the gene groups (up and down as the heatmap's DE direction bar).
GROUP_COLORS = {"up": DIRECTION_COLORS["up"], "down": DIRECTION_COLORS["down"],
                "n.s.": "#BDBDBD"}
_GROUPS = ("up", "down", "n.s.")
_RASTER_MIN = 2000   # point clouds larger than this are embedded as an image in SVG/PDF
_CAP_GAP = 1.06      # padj = 0 is drawn this factor above the largest finite -log10 padj
_FONT = {"label": 6.5, "axis": 8.0, "tick": 7.0, "title": 9.0, "legend": 7.0, "caption": 6.0}


@dataclass(frozen=True)
class _Prepared:
    """The points of a volcano or MA plot and everything drawn around them (internal)."""

    kind: str
    frame: pd.DataFrame          # index gene_id: label, baseMean, lfc, padj, x, y, group, edge
    counts: dict[str, int]
    label_ids: tuple[str, ...]   # genes to label, most important first
    bold: tuple[bool, ...]
    title: str
    xlabel: str
    ylabel: str
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xscale: str
    hlines: tuple[float, ...]
    vlines: tuple[float, ...]
    caption: str
    params: dict[str, object] = field(default_factory=dict)


# ----------------------------------------------------------------------------- public API

def volcano(result: DEResult, *, alpha: float | None = None, lfc_threshold: float = 1.0,
            lfc_column: LfcColumn = "log2FoldChange", top_n: int = 10,
            highlight: Sequence[str] = (), label_by: LabelBy = "symbol",
            title: str | None = None, size: tuple[float, float] = (4.8, 4.6),
            ax: Axes | None = None) -> Figure:
    """Volcano plot: log2 fold change against -log10 adjusted p-value.

    Up, down and n.s. genes in their own colours with their counts in the legend, dashed
    lines at ``padj = alpha`` and ``LFC = ±lfc_threshold``, the ``top_n`` genes with the
    smallest padj labelled without overlap, chosen genes highlighted. Genes whose padj is NA
    are left out and counted in the caption; padj = 0 is drawn as a triangle at a cap.

    Parameters
    ----------
    result
        From :func:`heatseq.results`.
    alpha
        Significance level of padj; default the result's ``alpha``.
    lfc_threshold
        Minimum |LFC| of a significant gene (0 for none).
    lfc_column
        ``"log2FoldChange"`` (the tested MLE, default) or ``"shrunk"`` (the shrunk LFC).
    top_n
        How many significant genes to label, smallest padj first.
    highlight
        Gene IDs or symbols (case-insensitive) to ring and label; unknown names are reported
        with an :class:`~heatseq.errors.InputWarning`.
    label_by
        ``"symbol"`` (falls back to the ID where a gene has none) or ``"gene_id"``.
    title
        Figure title; default the contrast's name.
    size
        Width and height in inches (ignored when ``ax`` is given).
    ax
        Draw into this axes instead of a new figure (its position must be final).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import heatseq
    >>> full = heatseq.datasets.airway()
    >>> ds = heatseq.Dataset(full.counts.iloc[:, :3000], samples=full.samples)
    >>> fit = heatseq.deseq(ds, design="~ cell + dex")
    >>> res = heatseq.results(fit, contrast=("dex", "trt", "untrt"), shrink="none")
    >>> fig = volcano(res, top_n=5)
    >>> fig.axes[0].get_xlabel()
    'log2 fold change (dex trt vs untrt)'
    """
    prep = _prepare(result, kind="volcano", alpha=alpha, lfc_threshold=lfc_threshold,
                   lfc_column=lfc_column, top_n=top_n, highlight=highlight, label_by=label_by,
                   title=title)
    return _draw(prep, size=size, ax=ax)


def ma_plot(result: DEResult, *, lfc_column: LfcColumn | None = None,
            alpha: float | None = None, lfc_threshold: float = 0.0, top_n: int = 10,
            highlight: Sequence[str] = (), label_by: LabelBy = "symbol",
            ylim: float | None = None, title: str | None = None,
            size: tuple[float, float] = (4.8, 4.6), ax: Axes | None = None) -> Figure:
    """MA plot: mean of normalised counts (log scale) against log2 fold change.

    Significant genes in the up/down colours with counts in the legend, LFCs beyond the y
    limit drawn as triangles at the edge (as DESeq2's ``plotMA``), labels as in
    :func:`volcano`. Genes with baseMean 0 are left out; genes with padj NA are n.s.

    Parameters
    ----------
    result
        From :func:`heatseq.results`.
    lfc_column
        ``"shrunk"`` (default when the result has shrunk LFCs) or ``"log2FoldChange"``.
    alpha
        Significance level of padj; default the result's ``alpha``.
    lfc_threshold
        Minimum |LFC| of a significant gene (default 0, as ``plotMA``).
    top_n, highlight, label_by, title, size, ax
        As in :func:`volcano`.
    ylim
        The y axis runs from ``-ylim`` to ``ylim``; default a round value above the 99.9th
        percentile of |LFC|, so that only extreme genes become edge triangles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    prep = _prepare(result, kind="ma", alpha=alpha, lfc_threshold=lfc_threshold,
                   lfc_column=lfc_column, top_n=top_n, highlight=highlight, label_by=label_by,
                   title=title, ylim=ylim)
    return _draw(prep, size=size, ax=ax)


def volcano_html(result: DEResult, *, alpha: float | None = None, lfc_threshold: float = 1.0,
                 lfc_column: LfcColumn = "log2FoldChange", top_n: int = 10,
                 highlight: Sequence[str] = (), label_by: LabelBy = "symbol",
                 title: str | None = None, width: int = 640, height: int = 480,
                 element_id: str | None = None) -> str:
    """The volcano plot as an interactive, self-contained HTML fragment.

    A ``<div>`` with a canvas and a little inline JavaScript (no external file, works
    offline, several fragments per page): hover a point for its gene ID, symbol, baseMean,
    LFC and padj; type in the search box to ring genes by ID or symbol; drag a rectangle to
    zoom, double-click to reset. Point data are embedded as compact JSON (4 significant
    digits).

    Parameters
    ----------
    result, alpha, lfc_threshold, lfc_column, top_n, highlight, label_by, title
        As in :func:`volcano`.
    width, height
        Size of the plot in CSS pixels.
    element_id
        The ``id`` of the fragment's root element; default one derived from its content.

    Returns
    -------
    str
    """
    prep = _prepare(result, kind="volcano", alpha=alpha, lfc_threshold=lfc_threshold,
                   lfc_column=lfc_column, top_n=top_n, highlight=highlight, label_by=label_by,
                   title=title)
    return render_html(_payload(prep), width=width, height=height, element_id=element_id)


def ma_html(result: DEResult, *, lfc_column: LfcColumn | None = None,
            alpha: float | None = None, lfc_threshold: float = 0.0, top_n: int = 10,
            highlight: Sequence[str] = (), label_by: LabelBy = "symbol",
            ylim: float | None = None, title: str | None = None, width: int = 640,
            height: int = 480, element_id: str | None = None) -> str:
    """The MA plot as an interactive, self-contained HTML fragment (see :func:`volcano_html`).

    Parameters
    ----------
    result, lfc_column, alpha, lfc_threshold, top_n, highlight, label_by, ylim, title
        As in :func:`ma_plot`.
    width, height, element_id
        As in :func:`volcano_html`.

    Returns
    -------
    str
    """
    prep = _prepare(result, kind="ma", alpha=alpha, lfc_threshold=lfc_threshold,
                   lfc_column=lfc_column, top_n=top_n, highlight=highlight, label_by=label_by,
                   title=title, ylim=ylim)
    return render_html(_payload(prep), width=width, height=height, element_id=element_id)


# ----------------------------------------------------------------------------- preparation

def _prepare(result: DEResult, *, kind: str, alpha: float | None, lfc_threshold: float,
            lfc_column: str | None, top_n: int, highlight: Sequence[str], label_by: str,
            title: str | None, ylim: float | None = None) -> _Prepared:
    """Check the options and compute the points, groups, limits and caption of a plot."""
    if not isinstance(result, DEResult):
        raise InputError(f"Expected a DEResult (from heatseq.results); got "
                         f"{type(result).__name__}.")
    a = result.alpha if alpha is None else alpha
    if isinstance(a, bool) or not isinstance(a, int | float) or not 0 < a < 1:
        raise InputError(f"alpha={alpha!r} is not valid; give a number between 0 and 1 "
                         "(e.g. 0.05).")
    if isinstance(lfc_threshold, bool) or not isinstance(lfc_threshold, int | float) \
            or not np.isfinite(lfc_threshold) or lfc_threshold < 0:
        raise InputError(f"lfc_threshold={lfc_threshold!r} is not valid; give a number >= 0 "
                         "(e.g. 1 for a two-fold change).")
    if isinstance(top_n, bool) or not isinstance(top_n, int | np.integer) or top_n < 0:
        raise InputError(f"top_n={top_n!r} is not valid; give a whole number >= 0.")
    if label_by not in _LABEL_BY:
        raise InputError(f"label_by={label_by!r} is not valid; choose one of: "
                         f"{', '.join(_LABEL_BY)}.")
    table = result.table
    column = _lfc_column(table, lfc_column, kind=kind)
    shrunk = column != "log2FoldChange"
    if ylim is not None and (isinstance(ylim, bool) or not isinstance(ylim, int | float)
                             or not np.isfinite(ylim) or ylim <= 0):
        raise InputError(f"ylim={ylim!r} is not valid; give a positive number (the y axis "
                         "runs from -ylim to ylim) or None.")

    ids = table.index.astype(str)
    symbol = table["symbol"] if "symbol" in table else pd.Series(np.nan, index=table.index)
    has_symbol = symbol.notna().to_numpy() & (symbol.astype(str).str.len() > 0).to_numpy()
    label = np.where(has_symbol & (label_by == "symbol"), symbol.astype(str).to_numpy(),
                     ids.to_numpy())
    lfc = table[column].to_numpy(dtype=float)
    padj = table["padj"].to_numpy(dtype=float)
    base = table["baseMean"].to_numpy(dtype=float)
    sig = (padj < a) & (np.abs(lfc) >= lfc_threshold)
    group = np.where(sig & (lfc > 0), "up", np.where(sig & (lfc < 0), "down", "n.s."))
    frame = pd.DataFrame({"symbol": np.where(has_symbol, symbol.astype(str), ""),
                          "label": label, "baseMean": base, "lfc": lfc, "padj": padj,
                          "group": group}, index=pd.Index(ids, name="gene_id"))
    frame["edge"] = ""

    hidden: list[str] = []
    name = result.name
    lfc_words = ("shrunk log2 fold change" + (f" ({result.shrink})" if result.shrink in
                                              ("apeglm", "normal") else "")
                 if shrunk else "log2 fold change")
    if kind == "volcano":
        keep = np.isfinite(padj) & np.isfinite(lfc)
        n_na = int((~keep).sum())
        frame = frame[keep].copy()
        with np.errstate(divide="ignore"):
            y = -np.log10(frame["padj"].to_numpy())
        zero = ~np.isfinite(y)
        finite_max = float(y[~zero].max()) if (~zero).any() else 1.0
        cap = max(finite_max, -np.log10(a)) * _CAP_GAP if zero.any() else np.nan
        y[zero] = cap
        frame["x"] = frame["lfc"]
        frame["y"] = y
        frame.loc[zero, "edge"] = "top"
        if n_na:
            hidden.append(f"{n_na:,} genes with padj NA (independent filtering, Cook's "
                          "outliers or zero counts) are not shown.")
        if zero.any():
            hidden.append(f"{int(zero.sum()):,} genes with padj = 0 (below 1e-308) are drawn "
                          "as triangles at the top.")
        xmax = max(float(np.abs(frame["x"]).max()) if len(frame) else 1.0,
                   1.5 * lfc_threshold, 1.0) * 1.08
        ytop = max(float(frame["y"].max()) if len(frame) else 1.0, -np.log10(a), 1.0) * 1.1
        xlim, ylims = (-xmax, xmax), (0.0, ytop)
        hlines = (float(-np.log10(a)),)
        vlines = (-float(lfc_threshold), float(lfc_threshold)) if lfc_threshold > 0 else ()
        xlabel, ylabel, xscale = f"{lfc_words} ({name})", "−log10 adjusted p-value", "linear"
        what = (f"Volcano plot of {name}: {lfc_words} against −log10 adjusted p-value "
                "(Benjamini–Hochberg).")
        lines = f"Dashed lines: padj = {a:g}" + (f" and |LFC| = {lfc_threshold:g}."
                                                 if lfc_threshold > 0 else ".")
    else:
        keep = np.isfinite(lfc) & np.isfinite(base) & (base > 0)
        n_out = int((~keep).sum())
        frame = frame[keep].copy()
        values = frame["lfc"].to_numpy()
        lim = float(ylim) if ylim is not None else _default_ylim(values)
        frame["x"] = frame["baseMean"]
        frame["y"] = np.clip(values, -lim, lim)
        frame.loc[values > lim, "edge"] = "top"
        frame.loc[values < -lim, "edge"] = "bottom"
        n_na = int(frame["padj"].isna().sum())
        if n_out:
            hidden.append(f"{n_out:,} genes with baseMean 0 or no LFC are not shown.")
        if n_na:
            hidden.append(f"{n_na:,} genes with padj NA are drawn as n.s.")
        n_clip = int((frame["edge"] != "").sum())
        if n_clip:
            hidden.append(f"{n_clip:,} genes with |LFC| > {lim:g} are drawn as triangles at "
                          "the edge.")
        if len(frame):
            lo, hi = float(frame["x"].min()), float(frame["x"].max())
        else:
            lo, hi = 1.0, 10.0
        xlim = (lo / 1.6, hi * 1.6)
        ylims = (-lim * 1.04, lim * 1.04)
        hlines = (-float(lfc_threshold), float(lfc_threshold)) if lfc_threshold > 0 else ()
        vlines = ()
        xlabel, ylabel, xscale = "mean of normalised counts", f"{lfc_words}", "log"
        what = (f"MA plot of {name}: {lfc_words} against the mean of normalised counts "
                "(baseMean, log scale).")
        lines = f"Dashed lines: |LFC| = {lfc_threshold:g}." if lfc_threshold > 0 else ""

    counts = {g: int((frame["group"] == g).sum()) for g in _GROUPS}
    label_ids, bold = _choose_labels(frame, highlight=highlight, top_n=int(top_n), table=table)
    rule = (f"Up/down: padj < {a:g}" + (f" and |LFC| ≥ {lfc_threshold:g}" if lfc_threshold
                                         else "") + ".")
    labels_txt = (f"Labelled: the {min(top_n, counts['up'] + counts['down'])} significant "
                  "genes with the smallest padj" if top_n else "")
    if any(bold):
        labels_txt += ("; " if labels_txt else "Labelled: ") + "highlighted genes in bold"
    caption = " ".join(p for p in (what, rule, lines, *hidden,
                                   labels_txt + "." if labels_txt else "") if p)
    if not (result.table["padj"].notna().any()):
        caption += " No gene has an adjusted p-value."
    return _Prepared(kind=kind, frame=frame, counts=counts, label_ids=label_ids, bold=bold,
                    title=result.name if title is None else str(title), xlabel=xlabel,
                    ylabel=ylabel, xlim=xlim, ylim=ylims, xscale=xscale, hlines=hlines,
                    vlines=vlines, caption=caption,
                    params={"alpha": a, "lfc_threshold": float(lfc_threshold),
                            "lfc_column": column})


def _lfc_column(table: pd.DataFrame, lfc_column: str | None, *, kind: str) -> str:
    if lfc_column is None:
        shr = _LFC_COLUMNS["shrunk"]
        if kind == "ma" and shr in table and table[shr].notna().any():
            return shr
        return "log2FoldChange"
    if lfc_column not in _LFC_COLUMNS:
        raise InputError(f"lfc_column={lfc_column!r} is not valid; choose one of: "
                         f"{', '.join(_LFC_COLUMNS)}.")
    column = _LFC_COLUMNS[lfc_column]
    if column not in table or not table[column].notna().any():
        raise InputError(f"The result has no {column} values (it was computed with "
                         "shrink='none' or for a contrast that cannot be shrunk); use "
                         "lfc_column='log2FoldChange' or rerun results() with shrink='apeglm'.")
    return column


def _default_ylim(values: np.ndarray) -> float:
    if not len(values):
        return 1.0
    q = float(np.quantile(np.abs(values), 0.999))
    top = float(np.abs(values).max())
    lim = max(np.ceil(q * 1.1 * 2) / 2, 1.0)
    return lim if top > lim else max(top * 1.05, 1.0)


def _choose_labels(frame: pd.DataFrame, *, highlight: Sequence[str], top_n: int,
                   table: pd.DataFrame) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """Highlighted genes (in the plot) first, then the top_n significant genes by padj."""
    if isinstance(highlight, str):
        highlight = [highlight]
    wanted = [str(h) for h in highlight]
    chosen: list[str] = []
    if wanted:
        ids = table.index.astype(str)
        keys = pd.Series(ids.str.lower(), index=ids)
        sym = table["symbol"].fillna("").astype(str).str.lower().to_numpy() \
            if "symbol" in table else np.full(len(ids), "")
        unknown, missing = [], []
        for name in wanted:
            low = name.lower()
            hits = ids[(keys.to_numpy() == low) | (sym == low)
                       | (keys.str.split(".").str[0].to_numpy() == low)]
            if not len(hits):
                unknown.append(name)
                continue
            shown = [h for h in hits if h in frame.index]
            if not shown:
                missing.append(name)
            chosen.extend(h for h in shown if h not in chosen)
        if unknown:
            warnings.warn(f"highlight: {', '.join(map(repr, unknown))} matched no gene ID or "
                          "symbol of the result; check the spelling (matching ignores case).",
                          InputWarning, stacklevel=4)
        if missing:
            warnings.warn(f"highlight: {', '.join(map(repr, missing))} cannot be drawn (no "
                          "padj, baseMean 0 or no LFC) and were left out.", InputWarning,
                          stacklevel=4)
    sig = frame[frame["group"] != "n.s."]
    order = sig.assign(_abs=-sig["lfc"].abs()).sort_values(["padj", "_abs"], kind="mergesort")
    top = [g for g in order.index[:top_n] if g not in chosen]
    return tuple(chosen + top), tuple([True] * len(chosen) + [False] * len(top))


# ----------------------------------------------------------------------------- drawing

def _draw(prep: _Prepared, *, size: tuple[float, float], ax: Axes | None) -> Figure:
    if ax is None:
        w, h = _check_size(size)
        fig = Figure(figsize=(w, h), dpi=100)
        FigureCanvasAgg(fig)
        cap_lines = wrap_text(prep.caption, (w - 0.16) * 72, _FONT["caption"], TextMeasure())
        bottom = 0.46 + len(cap_lines) * _FONT["caption"] * 1.3 / 72 + 0.08
        left, right, top = 0.62, 0.18, 0.72
        ax = fig.add_axes((left / w, bottom / h, 1 - (left + right) / w,
                           1 - (bottom + top) / h))
        fig.text(0.08 / w, 0.08 / h, "\n".join(cap_lines), fontsize=_FONT["caption"],
                 color="#505050", ha="left", va="bottom", linespacing=1.3,
                 gid="heatseq-caption")
    else:
        fig = ax.figure  # type: ignore[assignment]
        if not isinstance(fig, Figure):
            raise InputError("ax must belong to a matplotlib Figure.")
        if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
    frame = prep.frame
    ax.set_xscale(prep.xscale)
    ax.set_xlim(*prep.xlim)
    ax.set_ylim(*prep.ylim)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    for spine in ("left", "bottom"):
        ax.spines[spine].set_linewidth(0.6)
    ax.tick_params(labelsize=_FONT["tick"], width=0.6, length=3)
    ax.set_xlabel(prep.xlabel, fontsize=_FONT["axis"])
    ax.set_ylabel(prep.ylabel, fontsize=_FONT["axis"])
    for v in prep.vlines:
        ax.axvline(v, color="#808080", linestyle=(0, (4, 3)), linewidth=0.6, zorder=1)
    for v in prep.hlines:
        ax.axhline(v, color="#808080", linestyle=(0, (4, 3)), linewidth=0.6, zorder=1)
    if prep.kind == "ma":
        ax.axhline(0.0, color="#404040", linewidth=0.6, zorder=1)

    raster = len(frame) > _RASTER_MIN
    sizes = {"n.s.": 3.0, "up": 5.0, "down": 5.0}
    handles = []
    for z, g in enumerate(("n.s.", "down", "up")):
        sub = frame[(frame["group"] == g) & (frame["edge"] == "")]
        coll = ax.scatter(sub["x"], sub["y"], s=sizes[g], c=GROUP_COLORS[g], linewidths=0,
                          alpha=0.75 if g == "n.s." else 0.85, zorder=2 + z,
                          rasterized=raster, label=g)
        coll.set_gid(f"heatseq-points-{g}")
        for edge, marker in (("top", "^"), ("bottom", "v")):
            e = frame[(frame["group"] == g) & (frame["edge"] == edge)]
            if len(e):
                tri = ax.scatter(e["x"], e["y"], s=14, marker=marker, c=GROUP_COLORS[g],
                                 linewidths=0, zorder=3 + z, clip_on=False,
                                 rasterized=raster and len(e) > _RASTER_MIN)
                tri.set_gid(f"heatseq-edge-{g}")
    for g in _GROUPS:
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=4.5,
                              markerfacecolor=GROUP_COLORS[g], markeredgewidth=0,
                              label=f"{g} {prep.counts[g]:,}"))
    if (frame["edge"] != "").any():
        handles.append(Line2D([], [], linestyle="", marker="^", markersize=4.5,
                              markerfacecolor="#707070", markeredgewidth=0,
                              label="capped" if prep.kind == "volcano" else "beyond limit"))

    labelled = frame.loc[list(prep.label_ids)]
    bold = np.asarray(prep.bold, dtype=bool)
    if bold.any():
        hl = labelled[bold]
        ring = ax.scatter(hl["x"], hl["y"], s=30, facecolors="none", edgecolors="#000000",
                          linewidths=0.9, zorder=6, clip_on=False)
        ring.set_gid("heatseq-highlight")
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=5.5,
                              markerfacecolor="none", markeredgecolor="#000000",
                              markeredgewidth=0.9, label="highlighted"))
    ncol = len(handles) if len(handles) <= 4 else 3
    rows = -(-len(handles) // ncol)
    # matplotlib fills legend columns first; order the handles so rows read up, down, n.s.
    order = [r * ncol + c for c in range(ncol) for r in range(rows) if r * ncol + c < len(handles)]
    legend = ax.legend(handles=[handles[k] for k in order], loc="lower left", bbox_to_anchor=(0.0, 1.01),
                       ncols=ncol, frameon=False, fontsize=_FONT["legend"], handletextpad=0.2,
                       columnspacing=1.1, borderaxespad=0.0, borderpad=0.1)
    legend.set_gid("heatseq-legend")
    ax.set_title(prep.title, loc="left", fontsize=_FONT["title"], fontweight="bold",
                 pad=5 + rows * 11)

    if len(labelled):
        obstacles = frame[["x", "y"]].to_numpy()
        if len(obstacles) > 20000:  # the grid only needs the dense region's shape
            step = len(obstacles) // 20000 + 1
            obstacles = obstacles[::step]
        placed = place_labels(ax, labelled[["x", "y"]].to_numpy(),
                              labels=list(labelled["label"]), obstacles=obstacles,
                              fontsize=_FONT["label"], bold=list(bold))
        for t in placed.texts:
            t.set_gid("heatseq-label")
        if placed.dropped:
            log.info("no free place for the labels of %s", ", ".join(placed.dropped))
    if not len(frame):
        ax.text(0.5, 0.5, "no gene to draw", transform=ax.transAxes, ha="center",
                va="center", fontsize=_FONT["axis"], color="#707070")
    return fig


def _check_size(size: tuple[float, float]) -> tuple[float, float]:
    try:
        w, h = (float(v) for v in size)
    except (TypeError, ValueError):
        raise InputError(f"size={size!r} is not valid; give (width, height) in inches, "
                         "e.g. (4.8, 4.6).") from None
    if not (2.5 <= w <= 30 and 2.5 <= h <= 30):
        raise InputError(f"size={size!r} is not valid; width and height must be between 2.5 "
                         "and 30 inches.")
    return w, h


# ----------------------------------------------------------------------------- interactive

def _payload(prep: _Prepared) -> dict[str, object]:
    """What the interactive plot needs, as plain JSON-able values."""
    f = prep.frame
    group_code = f["group"].map({"n.s.": 0, "up": 1, "down": 2}).to_numpy()
    edge_code = f["edge"].map({"": 0, "top": 1, "bottom": 2}).to_numpy()
    return {
        "kind": prep.kind, "title": prep.title, "xlabel": prep.xlabel, "ylabel": prep.ylabel,
        "xlim": list(prep.xlim), "ylim": list(prep.ylim), "xscale": prep.xscale,
        "hlines": list(prep.hlines), "vlines": list(prep.vlines), "caption": prep.caption,
        "counts": prep.counts, "colors": GROUP_COLORS,
        "ids": list(f.index), "symbols": list(f["symbol"]),
        "baseMean": f["baseMean"].to_numpy(), "lfc": f["lfc"].to_numpy(),
        "padj": f["padj"].to_numpy(), "x": f["x"].to_numpy(), "y": f["y"].to_numpy(),
        "group": group_code, "edge": edge_code,
        "labels": [int(f.index.get_loc(g)) for g in prep.label_ids],
        "label_text": list(f.loc[list(prep.label_ids), "label"]),
        "bold": list(prep.bold),
    }
