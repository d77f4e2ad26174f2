"""The numbers a heatmap shows: transformed expression, row scaling and colour limits.

This module owns three steps, in drawing order:

1. :func:`expression_values`: counts -> a genes x samples table on a log-like scale. A
   :class:`~heatseq.dataset.Dataset` (or an integer matrix) gets DESeq2's VST (blind to the
   design); should the VST fail, log2(normalised + 1) with median-of-ratios size factors stands
   in and a note says so. A table of non-integer values (already VST or log) is kept as given.
2. :func:`scale_rows`: row z-scores with ``ddof=1`` exactly as R's ``scale(t(x))`` (pheatmap's
   ``scale="row"``), row centring, or nothing. Constant rows become 0, NaN stays NaN, +-inf
   becomes NaN; each case is reported in a note, never an error.
3. :func:`colour_limit`: the symmetric colour limit, by default the 99th percentile of the
   absolute finite values.
"""

from __future__ import annotations

import logging
from typing import Literal, get_args

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError

__all__ = ["colour_limit", "expression_values", "scale_rows"]

log = logging.getLogger(__name__)

Transform = Literal["auto", "vst", "log2", "none"]
Scale = Literal["row", "none", "center"]

TRANSFORMS: tuple[str, ...] = get_args(Transform)
SCALES: tuple[str, ...] = get_args(Scale)

#: Percentile of |value| used as the colour limit when ``clip="auto"``.
AUTO_CLIP_PERCENTILE = 99.0


def check_option(value: object, valid: tuple[str, ...], *, name: str) -> None:
    """Raise an InputError unless ``value`` is one of ``valid`` (listed in the message)."""
    if value not in valid:
        raise InputError(f"{name}={value!r} is not valid; choose one of: {', '.join(valid)}.")


def _genes_by_samples(data: Dataset | pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """A float genes x samples table and whether it holds counts (non-negative integers)."""
    if isinstance(data, Dataset):
        return data.counts.T.astype(float), True
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"Expected a Dataset or a genes x samples DataFrame, got "
                         f"{type(data).__name__}.")
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise InputError(f"The expression table has {data.shape[0]} genes and {data.shape[1]} "
                         "samples; it needs at least one of each.")
    try:
        table = data.astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"The expression table must be numeric (genes x samples): {exc}") from None
    table.index = table.index.astype(str)
    table.columns = table.columns.astype(str)
    v = table.to_numpy()
    finite = np.isfinite(v)
    is_counts = bool(finite.all() and (v >= 0).all() and np.array_equal(v, np.round(v)))
    return table, is_counts


def _log2_normalised(counts: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    k = counts.to_numpy().T  # samples x genes
    try:
        sf = _size_factors(k, method="ratio")
        how = "median-of-ratios size factors"
    except InputError:
        sf = _size_factors(k, method="poscounts")
        how = "poscounts size factors (every gene has a zero)"
    values = np.log2(k / sf[:, None] + 1.0).T
    return pd.DataFrame(values, index=counts.index, columns=counts.columns), how


def _vst(counts: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    from heatseq.de.vst import variance_stabilizing_transformation, vst

    k = counts.to_numpy().T.astype(np.int64)
    sf, sf_how = None, ""
    try:
        _size_factors(k, method="ratio")
    except InputError:  # every gene has a zero somewhere
        sf, sf_how = _size_factors(k, method="poscounts"), ", poscounts size factors"
    if k.shape[1] >= 1000:
        res = vst(k, blind=True, size_factors=sf)
        how = f"DESeq2 vst (blind, trend fitted on 1,000 genes{sf_how})"
    else:
        res = variance_stabilizing_transformation(k, blind=True, size_factors=sf)
        how = f"DESeq2 varianceStabilizingTransformation (blind{sf_how})"
    if res.fit_type != "parametric":
        how += f"; {res.fit_type} dispersion trend"
    values = pd.DataFrame(np.asarray(res.values).T, index=counts.index, columns=counts.columns)
    return values, how


def _size_factors(k: np.ndarray, *, method: Literal["ratio", "poscounts"]) -> np.ndarray:
    from heatseq.de.sizefactors import size_factors

    return size_factors(k, method=method)


def expression_values(data: Dataset | pd.DataFrame, *, transform: Transform = "auto",
                      notes: list[str] | None = None) -> pd.DataFrame:
    """Expression on a log-like scale, genes x samples, ready to select, scale and cluster.

    Parameters
    ----------
    data
        A Dataset (raw counts), or a genes x samples table: integer counts, or values that
        are already transformed (VST, rlog, log-CPM...).
    transform
        ``"auto"``: VST for counts (a Dataset or a table of non-negative whole numbers), the
        values as given otherwise. ``"vst"``: DESeq2's VST (counts only). ``"log2"``:
        log2(normalised count + 1) for counts, log2(value + 1) for other non-negative tables.
        ``"none"``: the values as given.
    notes
        Optional list to which the same one-line note as ``attrs["transform_note"]`` is
        appended (for callers that collect notes along a pipeline).

    Returns
    -------
    pandas.DataFrame
        Genes x samples, float. ``attrs["transform"]`` says what was done (``"vst"``,
        ``"log2"`` or ``"none"``; :func:`heatseq.cluster.cluster` records it) and
        ``attrs["transform_note"]`` says it in words.

    Raises
    ------
    InputError
        If ``transform`` is not valid, the VST is asked for values that are not counts, or
        log2 for negative values.

    Examples
    --------
    >>> from heatseq.datasets import airway
    >>> v = expression_values(airway())
    >>> v.shape
    (64102, 8)
    """
    check_option(transform, TRANSFORMS, name="transform")
    table, is_counts = _genes_by_samples(data)
    where = "counts" if isinstance(data, Dataset) else "the expression table"
    if transform == "auto":
        transform = "vst" if is_counts else "none"
    if transform == "none":
        out, how = table, "values drawn as given (no transform)"
    elif transform == "vst":
        if not is_counts:
            raise InputError(f"transform='vst' needs raw counts (non-negative whole numbers), but "
                             f"{where} holds other values; use transform='none' for a table "
                             "that is already transformed, or 'log2'.")
        try:
            out, how = _vst(table)
        except (InputError, ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            out, how = _log2_normalised(table)
            how = f"log2(normalised count + 1) with {how}, because the VST failed: {exc}"
            log.warning("VST failed (%s); using log2(normalised + 1)", exc)
    else:  # log2
        if is_counts:
            out, how = _log2_normalised(table)
            how = f"log2(normalised count + 1) with {how}"
        else:
            v = table.to_numpy()
            if np.nanmin(v) < 0:
                raise InputError(f"transform='log2' needs non-negative values, but {where} has "
                                 f"values down to {np.nanmin(v):.3g}; it looks transformed "
                                 "already: use transform='none'.")
            out = pd.DataFrame(np.log2(v + 1.0), index=table.index, columns=table.columns)
            how = "log2(value + 1) of the values given"
    out.index.name, out.columns.name = "gene_id", "sample"
    out.attrs["transform"] = "log2" if how.startswith("log2") else transform
    out.attrs["transform_note"] = f"Values: {how}."
    if notes is not None:
        notes.append(out.attrs["transform_note"])
    return out


def scale_rows(values: pd.DataFrame, *, scale: Scale = "row") -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Scale each gene's row: z-scores (R's ``scale()``), centring, or nothing.

    Parameters
    ----------
    values
        Genes x samples.
    scale
        ``"row"``: (x - row mean) / row SD with ``ddof=1``, like pheatmap's ``scale="row"``.
        ``"center"``: x - row mean. ``"none"``: unchanged.

    Returns
    -------
    scaled : pandas.DataFrame
        Same shape and labels. Means and SDs ignore NaN; a row with fewer than two finite
        values or with SD 0 (a constant row) is set to 0 where it has values.
    notes : tuple of str
        What was handled, in plain words: infinite values (set to NaN), missing values,
        constant rows.

    Raises
    ------
    InputError
        If ``scale`` is not valid, or row z-scores are asked of a single sample.

    Examples
    --------
    >>> import pandas as pd
    >>> z, notes = scale_rows(pd.DataFrame({"a": [1.0, 5.0], "b": [3.0, 5.0]}, index=["g1", "g2"]))
    >>> z.round(4).to_numpy().tolist(), notes
    ([[-0.7071, 0.7071], [0.0, 0.0]], ('1 constant row (no variation across samples) shown as 0.',))
    """
    check_option(scale, SCALES, name="scale")
    if scale == "row" and values.shape[1] < 2:
        raise InputError(f"Row z-scores need at least 2 samples; the table has "
                         f"{values.shape[1]} ({', '.join(map(str, values.columns))}). "
                         "Use scale='none' to draw the values of a single sample.")
    v = values.to_numpy(dtype=float, copy=True)
    notes: list[str] = []
    inf = np.isinf(v)
    if inf.any():
        v[inf] = np.nan
        notes.append(f"{int(inf.sum()):,} infinite value(s) in {int(inf.any(axis=1).sum()):,} "
                     "row(s) treated as missing.")
    nan = np.isnan(v)
    n_nan_rows = int(nan.any(axis=1).sum())
    if nan.any():
        all_nan = int(nan.all(axis=1).sum())
        extra = f"; {all_nan:,} row(s) have no value at all" if all_nan else ""
        notes.append(f"{int(nan.sum()):,} missing value(s) in {n_nan_rows:,} row(s) are drawn in "
                     f"the NA colour and count as the row mean (0 after centring) for "
                     f"clustering{extra}.")
    if scale == "none":
        out = v
    else:
        n_ok = (~np.isnan(v)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n_ok > 0, np.nansum(v, axis=1) / np.maximum(n_ok, 1), 0.0)
            centred = v - mean[:, None]
            if scale == "center":
                out = centred
            else:
                ss = np.nansum(centred * centred, axis=1)
                sd = np.sqrt(ss / np.maximum(n_ok - 1, 1))
                # SD at rounding level relative to the values: a constant row
                tiny = sd <= 1e-12 * np.maximum(np.abs(mean), 1.0)
                constant = (n_ok < 2) | tiny
                out = centred / np.where(constant, 1.0, sd)[:, None]
                out[constant] = np.where(np.isnan(out[constant]), np.nan, 0.0)
                n_const = int((constant & (n_ok > 0)).sum())
                if n_const:
                    noun = "row" if n_const == 1 else "rows"
                    notes.append(f"{n_const:,} constant {noun} (no variation across samples) "
                                 "shown as 0.")
    scaled = pd.DataFrame(out, index=values.index, columns=values.columns)
    return scaled, tuple(notes)


def colour_limit(values: pd.DataFrame | np.ndarray, *, clip: float | Literal["auto"] | None = "auto",
                 scale: Scale = "row") -> float | None:
    """The symmetric colour limit: values beyond +-limit take the end colours.

    Parameters
    ----------
    values
        The scaled matrix.
    clip
        ``"auto"``: the 99th percentile of |finite values| for centred data (``scale`` row or
        center), rounded up to 2 significant digits; None for ``scale="none"`` (the full
        range is drawn). A number: that limit. None: no clip.
    scale
        The scaling that produced ``values``.

    Returns
    -------
    float or None

    Raises
    ------
    InputError
        If ``clip`` is neither ``"auto"``, None nor a positive number.
    """
    if clip is None:
        return None
    if isinstance(clip, str):
        if clip != "auto":
            raise InputError(f"clip={clip!r} is not valid; give 'auto', None or a positive number.")
        if scale == "none":
            return None
        v = np.abs(np.asarray(values, dtype=float))
        v = v[np.isfinite(v)]
        if v.size == 0:
            return None
        q = float(np.percentile(v, AUTO_CLIP_PERCENTILE))
        if q <= 0:
            return None
        digits = 1 - int(np.floor(np.log10(q)))
        return float(np.ceil(q * 10**digits) / 10**digits)
    try:
        c = float(clip)
    except (TypeError, ValueError):
        raise InputError(f"clip={clip!r} is not valid; give 'auto', None or a positive number.") from None
    if not np.isfinite(c) or c <= 0:
        raise InputError(f"clip={clip!r} is not valid; give 'auto', None or a positive number.")
    return c
