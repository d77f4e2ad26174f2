"""Colours of heatseq's figures: the heatmap palettes and the colours of annotation levels.

This module owns

- the continuous palettes of the heatmap body (:data:`PALETTES`): ``"rdbu"``
  (blue-white-red, red = high; ColorBrewer RdBu), ``"rbg"`` (green-black-red, the classic
  microarray scale), ``"viridis"`` and ``"cb_diverging"`` (purple-white-orange, ColorBrewer
  PuOr, safe for the common colour-vision deficiencies), each with an NA colour;
- the colours of the levels of a sample-sheet factor (:func:`level_colors`): a pure
  function of the sample table, so every figure of a run shows ``trt`` in the same colour.
  Levels are sorted (numbers numerically, text case-insensitively) and take the colours of
  a fixed qualitative palette in turn; the k-th categorical column of the sheet uses the
  k-th palette (Okabe-Ito, then Paul Tol's bright, muted and light sets), so two factors
  rarely share colours. A mapping given by the user wins over the palette.
- the colours of gene modules and of the DE direction bar.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Colormap, LinearSegmentedColormap, to_hex

from heatseq.errors import InputError

__all__ = [
    "DIRECTION_COLORS",
    "PALETTES",
    "Palette",
    "annotation_kind",
    "body_colormap",
    "direction_colors",
    "level_colors",
    "module_colors",
    "sorted_levels",
]

Palette = Literal["rdbu", "rbg", "viridis", "cb_diverging"]
#: Valid values of ``palette=`` and what each one is.
PALETTES: Mapping[str, str] = {
    "rdbu": "blue-white-red, red = high (ColorBrewer RdBu)",
    "rbg": "green-black-red, red = high (classic microarray scale)",
    "viridis": "viridis (sequential, perceptually uniform)",
    "cb_diverging": "purple-white-orange, orange = high (ColorBrewer PuOr, colour-blind safe)",
}

# Qualitative palettes, in the order the categorical columns of a sheet use them.
_OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
              "#999999")
_TOL_BRIGHT = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")
_TOL_MUTED = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99",
              "#999933", "#AA4499")
_TOL_LIGHT = ("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33",
              "#AAAA00", "#DDDDDD")
_QUALITATIVE = (_OKABE_ITO, _TOL_BRIGHT, _TOL_MUTED, _TOL_LIGHT)
# Gene modules: ColorBrewer Dark2 then Paired's dark members; distinct from the sheet colours.
_MODULES = ("#1B9E77", "#D95F02", "#7570B3", "#E7298A", "#66A61E", "#E6AB02", "#A6761D",
            "#666666", "#1F78B4", "#33A02C", "#E31A1C", "#FF7F00")
#: Colours of the DE direction bar (keys compared case-insensitively).
DIRECTION_COLORS: Mapping[str, str] = {"up": "#B2182B", "down": "#2166AC",
                                       "n.s.": "#E0E0E0", "ns": "#E0E0E0"}
_DIGITS = re.compile(r"(\d+)")
# Numeric sheet columns with at most this many distinct whole values are factors (e.g. batch 1-3).
_MAX_INTEGER_LEVELS = 10


def body_colormap(palette: str, *, na_color: str = "#d9d9d9") -> Colormap:
    """The colormap of the heatmap body for ``palette``, with ``na_color`` for missing values.

    Parameters
    ----------
    palette
        One of :data:`PALETTES`.
    na_color
        Colour of NaN cells.

    Returns
    -------
    matplotlib.colors.Colormap
        Values past the colour limits take the end colours.

    Examples
    --------
    >>> cmap = body_colormap("rdbu")
    >>> [to_hex(cmap(x)) for x in (0.0, 1.0)]
    ['#053061', '#67001f']
    """
    if palette not in PALETTES:
        raise InputError(f"palette={palette!r} is not valid; choose one of: "
                         f"{', '.join(PALETTES)}.")
    if palette == "rdbu":
        base: Colormap = colormaps["RdBu_r"]
    elif palette == "rbg":
        base = LinearSegmentedColormap.from_list("heatseq_rbg", ["#00FF00", "#000000", "#FF0000"],
                                                 N=256)
    elif palette == "viridis":
        base = colormaps["viridis"]
    else:
        base = colormaps["PuOr_r"]
    return base.with_extremes(bad=na_color)


def _natural_key(value: object) -> tuple[int, float, tuple[tuple[int, int, str], ...]]:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value), ())
    text = str(value)
    try:
        return (0, float(text), ())
    except ValueError:
        parts = _DIGITS.split(text.casefold())
        return (1, 0.0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


def sorted_levels(values: pd.Series) -> list[str]:
    """The distinct non-missing values of ``values`` as strings, sorted: numbers numerically,
    then text case-insensitively with runs of digits compared as numbers (L2 before L10).

    Examples
    --------
    >>> sorted_levels(pd.Series(["b", "A", 10, 2, None, "L10", "L2"]))
    ['2', '10', 'A', 'b', 'L2', 'L10']
    """
    uniq = pd.unique(values.dropna())
    return [_as_level(v) for v in sorted(uniq, key=_natural_key)]


def _as_level(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def annotation_kind(values: pd.Series) -> Literal["categorical", "continuous"]:
    """Whether a sample-sheet column is drawn with level colours or a colour scale.

    Text, booleans and categories are categorical; numbers are continuous unless they are
    whole numbers with at most 10 distinct values (a batch number 1-3 is a factor).
    """
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "categorical"
    finite = values.dropna().to_numpy(dtype=float)
    if finite.size and np.all(finite == np.round(finite)) and \
            np.unique(finite).size <= _MAX_INTEGER_LEVELS:
        return "categorical"
    return "continuous"


def _spread_colors(n: int) -> list[str]:
    """``n`` distinct colours: evenly spaced hues, alternating two lightness values."""
    out = []
    for i in range(n):
        light = 0.45 if i % 2 == 0 else 0.65
        r, g, b = colorsys.hls_to_rgb(i / n, light, 0.65)
        out.append(to_hex((r, g, b)))
    return out


def _palette_for(index: int, n: int) -> list[str]:
    base = list(_QUALITATIVE[index % len(_QUALITATIVE)])
    if n <= len(base):
        return base[:n]
    tab20 = [to_hex(c) for c in colormaps["tab20"].colors]  # type: ignore[attr-defined]
    if n <= len(tab20):
        return tab20[:n]
    return _spread_colors(n)


def _check_color_map(given: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for col, mapping in (given or {}).items():
        if not isinstance(mapping, Mapping):
            raise InputError(f"level_colors[{col!r}] must map levels to colours, e.g. "
                             "{'trt': '#E69F00'}; got " + type(mapping).__name__ + ".")
        out[str(col)] = {}
        for level, colour in mapping.items():
            try:
                out[str(col)][_as_level(level)] = to_hex(colour)
            except ValueError:
                raise InputError(f"level_colors[{col!r}][{level!r}] = {colour!r} is not a "
                                 "colour; give a name ('red') or a hex code ('#B2182B').") from None
    return out


def level_colors(samples: pd.DataFrame, columns: Sequence[str] | None = None, *,
                 given: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, dict[str, str]]:
    """Colours of the levels of the categorical columns of a sample table.

    Deterministic: the k-th categorical column of ``samples`` (in the table's column order)
    takes the k-th qualitative palette and its sorted levels take the palette's colours in
    turn, so the same sheet gives the same colours in every figure whichever columns a
    figure shows. Continuous columns (see :func:`annotation_kind`) are not in the result.

    Parameters
    ----------
    samples
        The sample table (one row per sample).
    columns
        The columns to colour (default: all).
    given
        Colours chosen by the user, column -> level -> colour; they win, and the palette
        fills in the other levels with colours not already taken.

    Returns
    -------
    dict
        column -> level (as text) -> hex colour.

    Examples
    --------
    >>> sheet = pd.DataFrame({"dex": ["untrt", "trt", "untrt"]}, index=["a", "b", "c"])
    >>> level_colors(sheet)
    {'dex': {'trt': '#e69f00', 'untrt': '#56b4e9'}}
    """
    names = [str(c) for c in samples.columns]
    wanted = names if columns is None else [str(c) for c in columns]
    missing = [c for c in wanted if c not in names]
    if missing:
        raise InputError(f"Column(s) {', '.join(map(repr, missing))} are not in the sample "
                         f"table; columns are: {', '.join(names) or '(none)'}.")
    chosen = _check_color_map(given)
    categorical = [c for c in names if annotation_kind(samples[c]) == "categorical"]
    out: dict[str, dict[str, str]] = {}
    for col in wanted:
        if col not in categorical:
            continue
        levels = sorted_levels(samples[col])
        fixed = chosen.get(col, {})
        free = [to_hex(c) for c in _palette_for(categorical.index(col),
                                                len(levels) + len(fixed))]
        free = [c for c in free if c not in set(fixed.values())]
        colours: dict[str, str] = {}
        for level in levels:
            colours[level] = fixed[level] if level in fixed else free.pop(0)
        out[col] = colours
    return out


def module_colors(modules: Sequence[int]) -> dict[int, str]:
    """Colour of each gene module number (1, 2, ...), fixed by the number.

    Examples
    --------
    >>> module_colors([2, 1])
    {1: '#1b9e77', 2: '#d95f02'}
    """
    nums = sorted({int(m) for m in modules})
    top = max(nums, default=0)
    base = list(_MODULES) if top <= len(_MODULES) else _spread_colors(top)
    return {m: to_hex(base[(m - 1) % len(base)]) for m in nums}


def direction_colors(levels: Sequence[str]) -> dict[str, str]:
    """Colours of DE-direction levels: up red, down blue, others light grey or a palette."""
    out: dict[str, str] = {}
    others = [lv for lv in levels if lv.casefold() not in DIRECTION_COLORS]
    spare = iter(_palette_for(3, len(others)))
    for lv in levels:
        out[lv] = DIRECTION_COLORS.get(lv.casefold()) or to_hex(next(spare))
    return out
