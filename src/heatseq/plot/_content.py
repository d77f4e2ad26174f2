"""What a heatmap shows, resolved from a Clustering and the options into plain pieces.

This module owns the checks of the heatmap's inputs and their translation into a
:class:`Content`: the ordered matrix and its colour scale, the dendrogram lines, the
annotation bars (colours per cell), which rows get labels and how, the sample labels and
the legends. Nothing is measured or drawn here (see :mod:`heatseq.plot._geometry` and
:mod:`heatseq.plot.heatmap`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Colormap, Normalize, to_rgb

from heatseq.errors import InputError, InputWarning
from heatseq.plot._dendrogram import dendrogram_lines
from heatseq.plot._layout import truncate
from heatseq.plot.legends import Legend, LevelLegend, ScaleLegend
from heatseq.plot.palettes import (
    DIRECTION_COLORS,
    annotation_kind,
    body_colormap,
    direction_colors,
    level_colors,
    module_colors,
    sorted_levels,
)

if TYPE_CHECKING:
    from heatseq.cluster import Clustering

__all__ = ["DEFAULT_ANNOTATE", "MAX_LABELLED_ROWS", "Bar", "Content", "LabelGenes", "Size",
           "check_size", "resolve_content"]

DEFAULT_ANNOTATE: tuple[str, ...] = ("condition",)
#: Up to this many rows, every row can carry its label beside it.
MAX_LABELLED_ROWS = 80
MAX_CHARS = 40
LabelGenes = Literal["auto", "none", "all"] | Sequence[str]
Size = Literal["auto", "single", "double"] | tuple[float, float]
_LABEL_CHOICES = ("auto", "none", "all")
_CONTINUOUS_CMAPS = ("YlGnBu", "Purples", "Oranges", "Greens", "Greys")
_VALUE_LABELS = {"vst": "VST", "log2": "log2(normalised count + 1)", "none": "value"}


@dataclass(frozen=True)
class Bar:
    """An annotation bar: its name and one RGB colour per row or column, in drawing order."""

    label: str
    rgb: np.ndarray


@dataclass(frozen=True)
class Content:
    """Everything a heatmap shows, in drawing order, before layout."""

    data: np.ndarray
    row_ids: pd.Index
    col_ids: pd.Index
    row_lines: np.ndarray | None
    col_lines: np.ndarray | None
    cmap: Colormap
    vmin: float
    vmax: float
    col_bars: tuple[Bar, ...]
    row_bars: tuple[Bar, ...]
    label_rows: np.ndarray
    label_texts: tuple[str, ...]
    label_mode: Literal["none", "direct", "leader"]
    sample_texts: tuple[str, ...]
    legends: tuple[Legend, ...]
    title: str | None
    caption: str
    square: bool = False


def check_size(size: object) -> None:
    """Check ``size=``: ``"auto"``, ``"single"``, ``"double"`` or (width, height) inches."""
    if isinstance(size, str):
        if size not in ("auto", "single", "double"):
            raise InputError(f"size={size!r} is not valid; choose one of: auto, single, double, "
                             "or give (width, height) in inches.")
        return
    ok = isinstance(size, (tuple, list)) and len(size) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and 0.5 <= v <= 100 for v in size)
    if not ok:
        raise InputError(f"size={size!r} is not valid; give 'auto', 'single' (89 mm), 'double' "
                         "(183 mm) or (width, height) in inches, each from 0.5 to 100.")


def _order_positions(order: pd.Index, index: pd.Index, what: str) -> np.ndarray:
    pos = pd.Index(order).get_indexer(index)
    if len(order) != len(index) or (pos < 0).any():
        raise InputError(f"The clustering's {what} order does not hold the same names as its "
                         f"values ({len(order)} vs {len(index)}); build it with heatseq.cluster.")
    return pos


def _tree(linkage: np.ndarray | None, positions: np.ndarray, what: str) -> np.ndarray | None:
    if linkage is None:
        return None
    z = np.asarray(linkage, dtype=float)
    if z.ndim != 2 or z.shape[0] != positions.size - 1:
        raise InputError(f"The clustering's {what} linkage has {z.shape[0]} merges for "
                         f"{positions.size} {what}s; it needs {positions.size - 1}.")
    try:
        return dendrogram_lines(z, positions)
    except ValueError as exc:
        raise InputError(f"The clustering's {what} order and linkage disagree: {exc}.") from None


def _value_label(clustering: Clustering) -> str:
    params = clustering.params
    scale = str(params.get("scale", "row"))
    transform = _VALUE_LABELS.get(str(params.get("transform", "none")), "value")
    if scale == "row":
        return "z-score"
    if scale in ("center", "centre"):
        return f"centred {transform}"
    return transform


def _limits(data: np.ndarray, clip: float | None, *, kind: str | None) -> tuple[float, float]:
    finite = data[np.isfinite(data)]
    if clip is not None:
        return -float(clip), float(clip)
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if kind is None and lo < 0 < hi:
        top = max(-lo, hi)
        return -top, top
    if kind == "distance":
        lo = 0.0
    if hi <= lo:
        return lo - 0.5, hi + 0.5
    return lo, hi


def _fmt(v: float) -> str:
    text = f"{v:.3g}"
    return text.replace("-", "\u2212") if text != "-0" else "0"


def _scale_legend(title: str, cmap: Colormap, vmin: float, vmax: float,
                  na_color: str | None) -> ScaleLegend:
    ticks = (vmin, 0.0, vmax) if np.isclose(vmin, -vmax) else (vmin, (vmin + vmax) / 2, vmax)
    return ScaleLegend(title, cmap, vmin, vmax, ticks, tuple(_fmt(t) for t in ticks), na_color)


def _rgb_by_codes(codes: np.ndarray, colours: Sequence[str], na_color: str) -> np.ndarray:
    """RGB per item from factor codes (-1 = missing -> ``na_color``), without a Python loop
    over the items."""
    table = np.array([to_rgb(c) for c in [*colours, na_color]], dtype=float).reshape(-1, 3)
    return table[np.where(codes < 0, len(colours), codes)]


def _categorical_bar(name: str, values: pd.Series, colours: Mapping[str, str], na_color: str
                     ) -> tuple[Bar, LevelLegend]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    ulevels = [_as_level(u) for u in uniques]
    rgb = _rgb_by_codes(codes, [colours[lv] for lv in ulevels], na_color)
    has_na = bool((codes < 0).any())
    levels = [lv for lv in colours if lv in set(ulevels)]
    labels = levels + (["NA"] if has_na else [])
    cols = [colours[lv] for lv in levels] + ([na_color] if has_na else [])
    return Bar(name, rgb), LevelLegend(name, tuple(labels), tuple(cols))


def _n_genes(module: int, n: int) -> str:
    return f"{module} ({n:,} gene{'' if n == 1 else 's'})"


def _as_level(v: object) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _continuous_bar(name: str, values: pd.Series, full: pd.Series, cmap_name: str,
                    na_color: str) -> tuple[Bar, ScaleLegend]:
    num = pd.to_numeric(full, errors="coerce").to_numpy(dtype=float)
    lo, hi = (float(np.nanmin(num)), float(np.nanmax(num))) if np.isfinite(num).any() else (0, 1)
    hi = hi if hi > lo else lo + 1.0
    cmap = colormaps[cmap_name].with_extremes(bad=na_color)
    shown = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    rgb = cmap(Normalize(lo, hi)(np.ma.masked_invalid(shown)))[:, :3]
    ticks = (lo, hi)
    legend = ScaleLegend(name, cmap, lo, hi, ticks, tuple(_fmt(t) for t in ticks),
                         na_color if np.isnan(shown).any() else None)
    return Bar(name, rgb), legend


def _table_bars(table: pd.DataFrame, order: pd.Index, columns: Sequence[str], *,
                given: Mapping[str, Mapping[str, str]] | None, na_color: str,
                directions: bool) -> tuple[list[Bar], list[Legend]]:
    colours = level_colors(table, columns, given=given)
    continuous = [c for c in table.columns if annotation_kind(table[c]) == "continuous"]
    bars: list[Bar] = []
    legends: list[Legend] = []
    for col in columns:
        shown = table[col].reindex(order)
        if col in continuous:
            cmap_name = _CONTINUOUS_CMAPS[continuous.index(col) % len(_CONTINUOUS_CMAPS)]
            bar, leg = _continuous_bar(str(col), shown, table[col], cmap_name, na_color)
        else:
            mapping = colours[str(col)]
            levels = sorted_levels(table[col])
            if directions and levels and all(lv.casefold() in DIRECTION_COLORS for lv in levels):
                mapping = {**direction_colors(levels), **(given or {}).get(str(col), {})}
            bar, leg = _categorical_bar(str(col), shown, mapping, na_color)
        bars.append(Bar(truncate(bar.label, MAX_CHARS), bar.rgb))
        legends.append(leg)
    return bars, legends


def _annotate_columns(samples: pd.DataFrame | None, annotate: Sequence[str]) -> list[str]:
    if isinstance(annotate, str):
        annotate = [annotate]
    cols = [str(c) for c in annotate]
    if samples is None:
        if cols and tuple(cols) != DEFAULT_ANNOTATE:
            raise InputError(f"annotate={cols} needs a sample table: pass samples=.")
        return []
    names = [str(c) for c in samples.columns]
    missing = [c for c in cols if c not in names]
    if missing and tuple(cols) == DEFAULT_ANNOTATE:
        return []
    if missing:
        raise InputError(f"Column(s) {', '.join(map(repr, missing))} to annotate are not in the "
                         f"sample table; columns are: {', '.join(names) or '(none)'}. Check "
                         "annotate= (--annotate).")
    return cols


def _sample_table(samples: pd.DataFrame, col_ids: pd.Index) -> pd.DataFrame:
    table = samples.copy()
    table.index = table.index.astype(str)
    table.columns = [str(c) for c in table.columns]
    missing = [s for s in col_ids if s not in table.index]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InputError(f"The sample table lacks {len(missing)} sample(s) of the heatmap: "
                         f"{shown}. Give a sample sheet with one row per sample.")
    return table


def _row_table(row_annotations: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(row_annotations, pd.Series):
        name = row_annotations.name if row_annotations.name is not None else "DE"
        row_annotations = row_annotations.rename(str(name)).to_frame()
    if not isinstance(row_annotations, pd.DataFrame):
        raise InputError("row_annotations must be a pandas Series or DataFrame indexed by gene "
                         f"ID, not {type(row_annotations).__name__}.")
    table = row_annotations.copy()
    table.index = table.index.astype(str)
    table.columns = [str(c) for c in table.columns]
    return table


def _label_positions(label_genes: LabelGenes, row_ids: pd.Index, labels: pd.Series
                     ) -> tuple[np.ndarray, Literal["none", "direct", "leader"]]:
    n = len(row_ids)
    if isinstance(label_genes, str):
        if label_genes not in _LABEL_CHOICES:
            raise InputError(f"label_genes={label_genes!r} is not valid; choose one of: "
                             f"{', '.join(_LABEL_CHOICES)}, or give a list of genes.")
        if label_genes == "none" or (label_genes == "auto" and n > MAX_LABELLED_ROWS):
            return np.empty(0, dtype=np.intp), "none"
        return np.arange(n), "direct"
    names = [str(g) for g in label_genes]
    if not names:
        return np.empty(0, dtype=np.intp), "none"
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(row_ids.astype(str).str.casefold()):
        by_key.setdefault(key, []).append(i)
    for i, key in enumerate(labels.astype(str).str.casefold()):
        by_key.setdefault(key, []).append(i)
    found: set[int] = set()
    unknown = []
    for name in names:
        hits = by_key.get(name.casefold())
        if hits:
            found.update(hits)
        else:
            unknown.append(name)
    if not found:
        raise InputError(f"None of the {len(names)} gene(s) to label is in the heatmap "
                         f"({', '.join(names[:10])}{' ...' if len(names) > 10 else ''}); give "
                         "gene IDs or symbols of drawn genes.")
    if unknown:
        warnings.warn(f"{len(unknown)} gene(s) to label are not in the heatmap and were skipped: "
                      f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}.",
                      InputWarning, stacklevel=4)
    pos = np.array(sorted(found), dtype=np.intp)
    return pos, ("direct" if n <= MAX_LABELLED_ROWS or pos.size == n else "leader")


def resolve_content(clustering: Clustering, *, samples: pd.DataFrame | None,
                    annotate: Sequence[str], row_annotations: pd.DataFrame | pd.Series | None,
                    palette: str, na_color: str, label_genes: LabelGenes,
                    show_dendrograms: bool, title: str | None,
                    level_colors: Mapping[str, Mapping[str, str]] | None,
                    value_label: str | None = None,
                    row_kind: Literal["gene", "sample"] = "gene") -> Content:
    """Check the inputs and resolve what the heatmap shows."""
    values = clustering.values
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise InputError(f"Nothing to draw: the clustering holds {values.shape[0]} genes and "
                         f"{values.shape[1]} samples.")
    rows = pd.Index(clustering.row_order).astype(str)
    cols = pd.Index(clustering.col_order).astype(str)
    vidx, vcol = values.index.astype(str), values.columns.astype(str)
    row_pos = _order_positions(rows, vidx, "row")
    col_pos = _order_positions(cols, vcol, "column")
    data = values.to_numpy(dtype=float)[np.argsort(row_pos)][:, np.argsort(col_pos)]
    data = np.where(np.isfinite(data), data, np.nan)
    row_lines = _tree(clustering.row_linkage, row_pos, "row") if show_dendrograms else None
    col_lines = _tree(clustering.col_linkage, col_pos, "column") if show_dendrograms else None

    kind = value_label if value_label in ("distance", "correlation") else None
    vmin, vmax = _limits(data, clustering.clip, kind=kind)
    cmap = body_colormap(palette, na_color=na_color)
    label = value_label or _value_label(clustering)
    if clustering.clip is not None:
        label += f", clipped at \u00b1{clustering.clip:.3g}"
    legends: list[Legend] = [_scale_legend(label, cmap, vmin, vmax,
                                           na_color if np.isnan(data).any() else None)]

    col_bars: list[Bar] = []
    annotate_cols = _annotate_columns(samples, annotate)
    table = _sample_table(samples, cols) if samples is not None else None
    if table is not None and annotate_cols:
        bars, legs = _table_bars(table, cols, annotate_cols, given=level_colors,
                                 na_color=na_color, directions=False)
        col_bars, legends = bars, legends + legs

    row_bars: list[Bar] = []
    if clustering.modules is not None and row_kind == "gene":
        mods = clustering.modules.copy()
        mods.index = mods.index.astype(str)
        mods = mods.reindex(rows)
        nums = mods.dropna().astype(int)
        mcol = module_colors(nums.unique().tolist())
        codes = pd.Categorical(mods, categories=list(mcol)).codes
        counts = nums.value_counts()
        row_bars.append(Bar("module", _rgb_by_codes(np.asarray(codes), list(mcol.values()),
                                                    na_color)))
        legends.append(LevelLegend("module", tuple(_n_genes(k, int(counts[k])) for k in mcol),
                                   tuple(mcol.values())))
    if row_annotations is not None:
        rtable = _row_table(row_annotations)
        if row_kind == "sample" and table is not None:
            rtable = table
            rcols = [str(c) for c in _row_table(row_annotations).columns]
        else:
            rcols = list(rtable.columns)
        bars, legs = _table_bars(rtable, rows, rcols, given=level_colors, na_color=na_color,
                                 directions=row_kind == "gene")
        row_bars.extend(bars)
        seen = {leg.title for leg in legends}
        legends.extend(leg for leg in legs if leg.title not in seen)

    row_labels = clustering.row_labels.copy()
    row_labels.index = row_labels.index.astype(str)
    labels = row_labels.reindex(rows).fillna(pd.Series(rows, index=rows)).astype(str)
    positions, mode = _label_positions(label_genes, rows, labels)
    return Content(
        data=data, row_ids=rows, col_ids=cols, row_lines=row_lines, col_lines=col_lines,
        cmap=cmap, vmin=vmin, vmax=vmax, col_bars=tuple(col_bars), row_bars=tuple(row_bars),
        label_rows=positions,
        label_texts=tuple(truncate(labels.iloc[i], MAX_CHARS) for i in positions),
        label_mode=mode, sample_texts=tuple(truncate(c, MAX_CHARS) for c in cols),
        legends=tuple(legends), title=title, caption=clustering.caption or "",
        square=row_kind == "sample",
    )
