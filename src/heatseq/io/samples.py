"""Sample sheets: reading them (CSV/TSV/XLSX) and matching them to a count table.

This module owns :func:`read_samples` (first column = sample names, every other column
kept; a column is numeric when all its values are numbers, text otherwise) and
:func:`attach_samples` (exact, then case- and whitespace-insensitive matching of sheet
rows to count columns, with every mismatch reported).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset, Source
from heatseq.errors import InputError, InputWarning
from heatseq.io._text import check_path
from heatseq.io.matrix import Grid, is_excel, read_excel_grid, read_text_grid

__all__ = ["attach_samples", "read_samples"]

_MISSING = frozenset({"", "na", "n/a", "nan", "null"})
_SHOW = 10


def read_samples(path: str | os.PathLike[str], *, sheet: str | None = None) -> pd.DataFrame:
    """Read a sample sheet: CSV, TSV or whitespace-separated text (gzipped or not), or XLSX.

    The first column holds the sample names (they become the index, named ``sample``);
    every other column is kept. A column whose non-empty values are all numbers is
    numeric (integers when they are all whole and none is missing); any other column
    holds strings. Empty cells and ``NA`` are missing values.

    Parameters
    ----------
    path
        The file; the delimiter is sniffed.
    sheet
        For an Excel file: the sheet (default: the first, with a warning when there are
        several).

    Returns
    -------
    pandas.DataFrame
        One row per sample.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "samples.csv"
    >>> _ = p.write_text("sample,condition,rin\\nA,ctrl,9.1\\nB,treated,8.7\\n")
    >>> read_samples(p).dtypes.astype(str).tolist()
    ['object', 'float64']
    """
    p = check_path(path, what="sample sheet")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give the sample sheet file (CSV, TSV or XLSX).")
    if is_excel(p):
        grid, _ = read_excel_grid(p, sheet=sheet)
    else:
        if sheet is not None:
            warnings.warn(f"sheet={sheet!r} ignored: {p} is a text file, not Excel.",
                          InputWarning, stacklevel=2)
        grid = read_text_grid(p, comment=None, what="sample sheet", rows="sample")
    return _sheet_from_grid(grid)


def _sheet_from_grid(grid: Grid) -> pd.DataFrame:
    header = [h.strip() for h in grid.header]
    body = grid.body.apply(lambda c: c.str.strip())
    n = body.shape[1]
    if len(header) == n - 1:
        header = ["sample", *header]
    elif len(header) > n:
        if any(header[n:]):
            raise InputError(f"{grid.where}: the header has {len(header)} fields but the rows "
                             f"have {n}. Check the delimiter.")
        header = header[:n]
    elif len(header) < n:
        if (body.iloc[:, len(header):] != "").any().any():
            raise InputError(f"{grid.where}: the rows have {n} fields but the header has "
                             f"{len(header)}. Give every column a name.")
        body = body.iloc[:, :len(header)]
    keep = [i for i in range(len(header)) if i == 0 or header[i] or (body[i] != "").any()]
    for i in keep[1:]:
        if not header[i]:
            raise InputError(f"{grid.where}: column {i + 1} has values but no name in the "
                             "header. Name every column.")
    header = [header[i] for i in keep]
    body = body[keep]
    seen = [h for h in header[1:] if header[1:].count(h) > 1]
    if seen:
        raise InputError(f"{grid.where}: column name(s) {', '.join(sorted(set(map(repr, seen))))} "
                         "occur more than once. Give each column a unique name.")
    names = body[keep[0]]
    empty = (names == "").to_numpy()
    if empty.any():
        r = int(np.flatnonzero(empty)[0])
        raise InputError(f"{grid.where}, {grid.unit} {int(grid.lines[r])}: the sample name "
                         "(first column) is empty. Give every row a sample name, or remove it.")
    dup = names[names.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        rows = [int(grid.lines[i]) for i in np.flatnonzero((names == first).to_numpy())]
        raise InputError(f"{grid.where}: sample {first!r} appears on {grid.unit}s "
                         f"{', '.join(map(str, rows[:5]))} ({dup.nunique()} duplicated "
                         "name(s) in all). Each sample needs one row.")
    table = pd.DataFrame(index=pd.Index(names.to_numpy(dtype=object), name="sample"))
    for name, col in zip(header[1:], keep[1:], strict=True):
        table[name] = _typed(body[col].to_numpy(dtype=object))
    return table


def _typed(values: np.ndarray) -> np.ndarray:
    """Numbers when every non-missing value is a number; strings (NaN for missing) else."""
    missing = np.array([v.lower() in _MISSING for v in values], dtype=bool)
    num = pd.to_numeric(pd.Series(np.where(missing, "nan", values)), errors="coerce").to_numpy()
    if (~missing).any() and not np.isnan(num[~missing]).any():
        if not missing.any() and np.isfinite(num).all() and (num == np.round(num)).all() \
                and (np.abs(num) < 2**53).all():
            return num.astype(np.int64)
        return num.astype(float)
    out = values.astype(object)
    out[missing] = np.nan
    return out


def _norm(name: str) -> str:
    return "".join(str(name).split()).casefold()


def _shown(names: list[str]) -> str:
    head = ", ".join(map(str, names[:_SHOW]))
    return head + (f" ... ({len(names)} in all)" if len(names) > _SHOW else "")


def attach_samples(dataset: Dataset, samples: str | os.PathLike[str] | pd.DataFrame) -> Dataset:
    """Attach a sample sheet to a Dataset, matching its rows to the count columns.

    Names are matched exactly first, then ignoring case and whitespace (an InputWarning
    lists what was matched that way). Count samples missing from the sheet are an
    InputError naming them; sheet rows without counts are dropped with an InputWarning; a
    sheet that matches no count column is an InputError showing both lists.

    Parameters
    ----------
    dataset
        The counts.
    samples
        A sample sheet path (see :func:`read_samples`) or a DataFrame indexed by sample
        name (or with a ``sample`` column).

    Returns
    -------
    Dataset
        A copy whose ``samples`` table is the sheet's rows in count-table order.
    """
    if isinstance(samples, pd.DataFrame):
        sheet = samples.copy()
        if isinstance(sheet.index, pd.RangeIndex) and "sample" in sheet.columns:
            sheet = sheet.set_index("sample")
        sheet.index = pd.Index([str(x).strip() for x in sheet.index], name="sample")
        where = "the sample table"
        dup = sheet.index[sheet.index.duplicated()].unique()
        if len(dup):
            raise InputError(f"{where}: sample(s) {_shown(list(dup))} appear more than once. "
                             "Each sample needs one row.")
    elif isinstance(samples, (str, os.PathLike)):
        sheet = read_samples(samples)
        where = str(Path(samples))
    else:
        raise InputError(f"samples must be a path or a pandas DataFrame, not "
                         f"{type(samples).__name__}.")
    counts_names = [str(s) for s in dataset.sample_names]
    sheet_names = list(sheet.index)
    by_exact = set(sheet_names)
    match: dict[str, str] = {c: c for c in counts_names if c in by_exact}
    used = set(match.values())
    loose: dict[str, list[str]] = {}
    for s in sheet_names:
        if s not in used:
            loose.setdefault(_norm(s), []).append(s)
    fuzzy = []
    for c in counts_names:
        if c in match:
            continue
        cands = loose.get(_norm(c), [])
        if len(cands) > 1:
            raise InputError(f"{where}: count column {c!r} matches several sheet rows when case "
                             f"and spaces are ignored ({', '.join(map(repr, cands))}). Make the "
                             "names identical to the count table's.")
        if cands:
            match[c] = cands[0]
            fuzzy.append((c, cands[0]))
    if not match:
        raise InputError(
            f"{where} matches none of the count table's samples. Sheet (first column): "
            f"{_shown(sheet_names)}. Count table: {_shown(counts_names)}. The first column of "
            "the sheet must hold the sample names used as count column headers.")
    missing = [c for c in counts_names if c not in match]
    if missing:
        raise InputError(f"{where} lacks {len(missing)} sample(s) of the count table: "
                         f"{_shown(missing)}. Add a row for each, or remove those columns "
                         "from the counts.")
    notes = []
    if fuzzy:
        note = (f"{where}: {len(fuzzy)} sample(s) matched ignoring case and spaces: "
                + ", ".join(f"{s!r} -> {c!r}" for c, s in fuzzy[:_SHOW])
                + (" ..." if len(fuzzy) > _SHOW else "") + ".")
        warnings.warn(note, InputWarning, stacklevel=2)
        notes.append(note)
    extra = [s for s in sheet_names if s not in set(match.values())]
    if extra:
        note = (f"{where}: {len(extra)} sheet row(s) have no counts and were dropped: "
                f"{_shown(extra)}.")
        warnings.warn(note, InputWarning, stacklevel=2)
        notes.append(note)
    table = sheet.loc[[match[c] for c in counts_names]]
    table.index = pd.Index(counts_names, name="sample")
    source = dataset.source or Source("", "unknown")
    source = replace(source, notes=(*source.notes, *notes))
    return Dataset(dataset.counts, samples=table, genes=dataset.genes, lengths=dataset.lengths,
                   source=source, extra=dataset.extra)
