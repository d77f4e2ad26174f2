"""Writing outputs atomically and reproducibly.

Every table or file heatseq writes goes to a temporary file in the target folder and is
renamed into place, so an interrupted run never leaves a partial file that looks finished.
Tables are written with a fixed float format so the same inputs give byte-identical files.
:func:`format_tsv` gives exactly the bytes of pandas ``to_csv(sep="\\t",
float_format="%.10g", na_rep="NA")``, formatted in one C-level ``%`` operation over the
whole table (a few times faster than ``to_csv`` on 64,000-row tables); tables it cannot
format that way (quoting needed, extension dtypes, MultiIndex) go through ``to_csv``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from heatseq.errors import InputError

__all__ = ["atomic_path", "ensure_outdir", "format_tsv", "write_table", "write_tables"]

FLOAT_FORMAT = "%.10g"
NA_REP = "NA"
_QUOTED = ("\t", '"', "\n", "\r")  # characters that make the csv writer quote a field


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_table(table: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = True) -> Path:
    """Write a TSV (gzip when the name ends in .gz) atomically with a fixed float format."""
    return _write_bytes(format_tsv(table, index=index).encode(), Path(path))


def write_tables(tables: Sequence[tuple[pd.DataFrame, str | os.PathLike[str]]], *,
                 n_jobs: int = 1) -> list[Path]:
    """:func:`write_table` for each ``(table, path)``, the text of the tables formatted on
    ``n_jobs`` forked processes (the bytes are the same)."""
    from heatseq._fork import run_forked

    texts = run_forked([functools.partial(_encoded, table) for table, _ in tables],
                       n_jobs=n_jobs)
    return [_write_bytes(data, Path(path)) for data, (_, path) in zip(texts, tables, strict=True)]


def _encoded(table: pd.DataFrame) -> bytes:
    return format_tsv(table).encode()


def _write_bytes(data: bytes, target: Path) -> Path:
    with atomic_path(target) as tmp:
        if target.suffix == ".gz":
            import gzip

            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write(data)
        else:
            tmp.write_bytes(data)
    return target


def format_tsv(table: pd.DataFrame, *, index: bool = True) -> str:
    """The TSV text of ``table``: the bytes of pandas ``to_csv`` with a tab separator,
    ``%.10g`` floats, ``NA`` for missing values and ``\\n`` line ends.

    Parameters
    ----------
    table
        The table; its index is written as the first column when ``index`` is true.
    index
        Write the index (named by ``table.index.name``, or an empty header field).

    Returns
    -------
    str
        The whole file's text, header line included.

    Examples
    --------
    >>> t = pd.DataFrame({"x": [0.1 + 0.2, float("nan")]}, index=pd.Index(["a", "b"], name="id"))
    >>> format_tsv(t).split("\\n")
    ['id\\tx', 'a\\t0.3', 'b\\tNA', '']
    """
    fast = _format_fast(table, index=index)
    if fast is not None:
        return fast
    return table.to_csv(sep="\t", index=index, float_format=FLOAT_FORMAT, na_rep=NA_REP,
                        lineterminator="\n")


def _format_fast(table: pd.DataFrame, *, index: bool) -> str | None:
    """``format_tsv`` as one ``%`` over a row template; None when the table needs to_csv."""
    n = len(table)
    if (n == 0 or isinstance(table.columns, pd.MultiIndex)
            or (index and isinstance(table.index, pd.MultiIndex))):
        return None
    header = [str(c) for c in table.columns]
    if index:
        header.insert(0, "" if table.index.name is None else str(table.index.name))
    arrays = [table.iloc[:, j].to_numpy() for j in range(table.shape[1])]
    if index:
        arrays.insert(0, table.index.to_numpy())
    maybe = [_field(a) for a in arrays]
    fields = [f for f in maybe if f is not None]
    if (len(fields) < 2 or len(fields) < len(maybe) or not _plain(header)
            or (index and arrays[0].dtype.kind == "f")):
        return None
    has_nan = any(f == FLOAT_FORMAT and bool(np.isnan(v).any()) for f, v in fields)
    if has_nan and ("nan" in header or any(f == "%s" and _has_nan_text(v) for f, v in fields)):
        return None  # a text field 'nan' would be taken for a formatted NaN below
    cells = np.empty((n, len(fields)), dtype=object)
    for j, (_, values) in enumerate(fields):
        cells[:, j] = values
    row = "\t".join(f for f, _ in fields) + "\n"
    text = "\t".join(header) + "\n" + (row * n) % tuple(cells.ravel().tolist())
    if has_nan:  # '%.10g' % nan is 'nan'; pandas writes na_rep
        text = _replace_nan_fields(text)
    return text


def _replace_nan_fields(text: str) -> str:
    """Every whole field 'nan' -> NA_REP (a field is delimited by tabs and line ends)."""
    text = text.replace("\nnan\t", f"\n{NA_REP}\t")
    for _ in range(2):  # '\tnan\tnan\t': one pass takes every other field (shared tabs)
        text = text.replace("\tnan\t", f"\t{NA_REP}\t")
    return text.replace("\tnan\n", f"\t{NA_REP}\n")


def _field(values: np.ndarray) -> tuple[str, np.ndarray | list[object]] | None:
    """The ``%`` format and the values of one column; None if only to_csv can write it."""
    kind = values.dtype.kind
    if kind == "f" and values.dtype == np.float64:
        return FLOAT_FORMAT, values
    if kind in "iub":
        return "%s", values.tolist()
    if kind != "O":
        return None
    missing = pd.isna(values)
    out = values.copy()
    out[missing] = NA_REP
    items = out.tolist()
    if pd.api.types.infer_dtype(out, skipna=False) != "string" or not _plain(items):
        return None
    return "%s", items


def _plain(items: list[str]) -> bool:
    """True when no string needs the csv writer's quotes."""
    joined = "\0".join(items)
    return not any(ch in joined for ch in _QUOTED)


def _has_nan_text(items: np.ndarray | list[object]) -> bool:
    return "nan" in set(items)  # type: ignore[arg-type]


def ensure_outdir(path: str | os.PathLike[str], *, force: bool = False,
                  inputs: tuple[str | os.PathLike[str], ...] = ()) -> Path:
    """Check an output folder: create it, refuse a file, a read-only folder, a non-empty folder
    (unless ``force``), or a folder that holds one of the inputs."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"Output folder {out} is a file. Give a folder path with -o.")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise InputError(f"Output folder {out} is not empty. Choose a new folder or add --force.")
        resolved = out.resolve()
        for inp in inputs:
            p = Path(inp).resolve()
            if p == resolved or resolved in p.parents:
                raise InputError(f"Output folder {out} contains the input {inp}; inputs are never "
                                 "overwritten. Choose another output folder.")
    else:
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise InputError(f"Cannot create output folder {out}: {exc.strerror}. "
                             "Choose a writable location.") from None
    if not os.access(out, os.W_OK):
        raise InputError(f"Output folder {out} is not writable. Choose a writable location.")
    return out
