"""Count matrices (TSV/CSV/TXT, gzipped or not, and XLSX) and the parsing steps every count
reader in :mod:`heatseq.io` shares.

This module owns :func:`read_matrix` and the private machinery behind all text and Excel
count readers: turning a file into a grid of cells with line numbers (so that a bad cell
is reported by file, line, column and value), converting cells to counts with those
checks (non-numeric, NaN/inf, negative, absurdly large), and the last steps before a
:class:`~heatseq.dataset.Dataset` is built (duplicated gene IDs, rounding of estimated
counts, samples without any counts).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset, Source
from heatseq.errors import InputError, InputWarning
from heatseq.io._common import DUPLICATE_POLICIES, handle_duplicate_genes, round_counts
from heatseq.io._text import check_path, read_text

__all__ = ["read_matrix"]

logger = logging.getLogger(__name__)

Orientation = Literal["auto", "genes_in_rows", "samples_in_rows"]
ORIENTATIONS: tuple[str, ...] = ("auto", "genes_in_rows", "samples_in_rows")

#: Larger than any read count a sequencer can produce; bigger values are not counts (and
#: would overflow sums of 64-bit integers downstream).
MAX_COUNT = 1e12

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
EXCEL_SUFFIXES = (".xlsx", ".xlsm")

_NA_TOKENS = frozenset({"na", "nan", "n/a", "#n/a", "null", "none", "-nan", "+nan"})
_SEP_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", None: "whitespace"}

#: Gene or transcript IDs of the common databases (Ensembl, FlyBase, WormBase, yeast,
#: Arabidopsis, RefSeq), used to recognise a transposed table and a missing header.
GENE_ID_RE = re.compile(
    r"^(?:ENS[A-Z]*[GT]\d{6,}|FBgn\d{7}|FBtr\d{7}|WBGene\d{8}|Y[A-P][LR]\d{3}[WC]"
    r"|AT[1-5CM]G\d{5}|[NX][MR]_\d+)(?:\.\d+)?(?:_PAR_Y)?$"
)

# Gene-annotation columns that may sit beside the counts in a matrix (compared after
# lower-casing and removing everything but letters and digits) -> genes-table column.
_ANNOTATION_COLUMNS = {
    "symbol": "symbol", "genesymbol": "symbol", "genename": "symbol", "name": "symbol",
    "hgncsymbol": "symbol", "mgisymbol": "symbol", "externalgenename": "symbol",
    "length": "length", "genelength": "length", "effectivelength": "length",
    "description": "description", "genedescription": "description",
    "biotype": "biotype", "genebiotype": "biotype", "genetype": "biotype",
    "chr": "chr", "chrom": "chr", "chromosome": "chr", "seqname": "chr",
    "start": "start", "end": "end", "strand": "strand",
    "entrez": "entrez_id", "entrezid": "entrez_id", "entrezgeneid": "entrez_id",
}


# ---------------------------------------------------------------------------- grids
@dataclass(frozen=True)
class Grid:
    """Cells of a table as read, before any interpretation.

    ``body`` holds strings (positional columns 0..k-1, whitespace kept); ``lines`` the
    1-based line (text) or row (Excel) number of each body row, for messages.
    """

    where: str
    header: tuple[str, ...]
    body: pd.DataFrame
    lines: np.ndarray
    unit: str = "line"
    sep: str | None = "\t"
    comments: tuple[str, ...] = ()

    def locate(self, row: int, col: str) -> str:
        """``'file, line 12, column 'S1''`` for body row ``row``."""
        return f"{self.where}, {self.unit} {int(self.lines[row])}, column {col!r}"


def _next_line(text: str, start: int) -> tuple[str, int]:
    end = text.find("\n", start)
    if end < 0:
        return text[start:], len(text)
    return text[start:end], end + 1


def sniff_sep(lines: list[str]) -> str | None:
    """The delimiter of a table from its first lines: tab, comma, semicolon, else None
    (runs of whitespace). A delimiter is taken when it splits every sampled line into
    the same number of fields (the header may have one field fewer, as R writes it)."""
    lines = [x for x in lines if x.strip()]
    if not lines:
        return "\t"
    for sep in ("\t", ",", ";"):
        counts = [_split(x, sep) for x in lines]
        if counts[0] == 0 and all(c == 0 for c in counts):
            continue
        body = counts[1:] or counts
        if len(set(body)) == 1 and body[0] > 0 and counts[0] in (body[0], body[0] - 1):
            return sep
    for sep in ("\t", ",", ";"):
        if sep in lines[0]:
            return sep
    if any(len(x.split()) > 1 for x in lines):
        return None
    return "\t"


def _split(line: str, sep: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=sep))) - 1
    except (csv.Error, StopIteration):
        return line.count(sep)


def _split_fields(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=sep))
    except (csv.Error, StopIteration):
        return line.split(sep)


def read_text_grid(path: Path, *, sep: str | Literal["sniff"] | None = "sniff",
                   has_header: bool = True, comment: str | None = "#",
                   what: str = "count table", rows: str = "gene") -> Grid:
    """Read a delimited text file (gzip, BOM, CRLF handled by ``read_text``) into a Grid.

    Leading blank lines and lines starting with ``comment`` are skipped (and kept in
    ``Grid.comments``). An empty file, or a header without data rows, is an InputError.
    """
    where = str(path)
    text = read_text(path)
    if not text.strip():
        raise InputError(f"{where} is empty. Give a {what} with a header line and one row per "
                         f"{rows}.")
    pos, line_no, comments, last_comment = 0, 0, [], -2
    while pos < len(text):
        line, nxt = _next_line(text, pos)
        if line.strip() and not (comment and line.startswith(comment)):
            break
        if line.strip():
            comments.append(line)
            last_comment = line_no
        pos, line_no = nxt, line_no + 1
    else:
        raise InputError(f"{where} holds only comment lines (starting with {comment!r}) and no "
                         "table. Give the count table itself.")
    first_line = line_no  # 0-based index of the header (or first data) line
    if sep == "sniff":
        sample = text[pos:pos + 20000].split("\n")[:21]
        sep = sniff_sep(sample[:-1] if len(sample) > 20 else sample)
    header: tuple[str, ...] = ()
    body_start = first_line
    if has_header:
        header_line, pos = _next_line(text, pos)
        header = tuple(_split_fields(header_line, sep))
        body_start += 1
        if last_comment == first_line - 1 and len(header) > 1 and all(
                is_number(h) for h in header[1:]):
            # '#gene_id<TAB>S1...' above a data line: a header written as a comment
            named = _split_fields(comments[-1].removeprefix(comment or ""), sep)
            if len(named) == len(header):
                header, body_start = tuple(named), first_line
                comments.pop()
        while pos < len(text):
            line, nxt = _next_line(text, pos)
            if line.strip():
                break
            pos, body_start = nxt, body_start + 1
        else:
            raise InputError(f"{where} has a header line but no data rows. Give a {what} "
                             f"with one row per {rows}.")
    try:
        body = pd.read_csv(io.StringIO(text), sep=sep if sep is not None else r"\s+",
                           header=None, skiprows=body_start, dtype=str, na_filter=False,
                           skip_blank_lines=False, engine="c", index_col=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{where} has a header line but no data rows. Give a {what} with "
                         f"one row per {rows}.") from None
    except pd.errors.ParserError as exc:
        raise InputError(_parser_message(where, str(exc), sep)) from None
    body.columns = range(body.shape[1])
    lines = body_start + 1 + np.arange(body.shape[0])
    keep = (body != "").any(axis=1).to_numpy()
    if not keep.all():
        body, lines = body[keep].reset_index(drop=True), lines[keep]
    if body.shape[0] == 0:
        raise InputError(f"{where} has a header line but no data rows. Give a {what} with one "
                         f"row per {rows}.")
    return Grid(where, header, body, lines, "line", sep, tuple(comments))


def _parser_message(where: str, msg: str, sep: str | None) -> str:
    name = _SEP_NAMES.get(sep, repr(sep))
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        exp, line, saw = m.groups()
        return (f"{where}, line {line}: {saw} {name}-separated fields, but the lines before it "
                f"have {exp}. Every line needs the same number of fields; check for stray "
                "delimiters or quotes in that line.")
    return (f"{where} could not be read as a {name}-separated table ({msg.strip()}). Check the "
            "delimiter and the quoting (an unmatched \" swallows the lines after it).")


def read_excel_grid(path: Path, *, sheet: str | None) -> tuple[Grid, str | None]:
    """Read one sheet of an .xlsx file into a Grid (cells as text, Excel row numbers).

    With several sheets and ``sheet=None`` the first is used and an InputWarning names
    them all; the note is returned too.
    """
    where = str(path)
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = [str(s) for s in book.sheet_names]
            chosen, note = _choose_sheet(where, names, sheet)
            raw = book.parse(chosen, header=None, dtype=object)
    except InputError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError) as exc:
        raise InputError(f"{where} could not be read as an Excel .xlsx file ({exc}). Save it "
                         "again from Excel, or export the sheet as CSV/TSV.") from None
    raw = raw.where(raw.notna(), "").astype(str)
    raw = raw.loc[:, (raw != "").any(axis=0)]
    raw.columns = range(raw.shape[1])
    filled = (raw != "").any(axis=1).to_numpy()
    if raw.shape[1] == 0 or not filled.any():
        raise InputError(f"Sheet {chosen!r} of {where} is empty.")
    rows = np.flatnonzero(filled)
    header = tuple(raw.iloc[rows[0]].tolist())
    body_rows = rows[1:]
    if len(body_rows) == 0:
        raise InputError(f"Sheet {chosen!r} of {where} has a header row but no data rows.")
    body = raw.iloc[body_rows].reset_index(drop=True)
    body.columns = range(body.shape[1])
    grid = Grid(f"{where} (sheet {chosen!r})", header, body, body_rows + 1, "row", "\t")
    return grid, note


def _choose_sheet(where: str, names: list[str], sheet: str | None) -> tuple[str, str | None]:
    if not names:
        raise InputError(f"{where} has no sheets.")
    if sheet is not None:
        if sheet not in names:
            raise InputError(f"Sheet {sheet!r} is not in {where}; its sheets are: "
                             f"{', '.join(repr(s) for s in names)}. Check --sheet.")
        return sheet, None
    note = None
    if len(names) > 1:
        shown = ", ".join(repr(s) for s in names)
        note = (f"{where} has {len(names)} sheets ({shown}); the first, {names[0]!r}, was read. "
                "Choose another with --sheet (sheet=).")
        warnings.warn(note, InputWarning, stacklevel=4)
    return names[0], note


def is_excel(path: Path) -> bool:
    """True for an .xlsx/.xlsm workbook; an old binary .xls is an InputError."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == XLS_MAGIC:
        raise InputError(f"{path} is an old Excel .xls file, which heatseq does not read. Save "
                         "it as .xlsx, or export the sheet as CSV/TSV.")
    if magic != XLSX_MAGIC:
        return False
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return True
    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


# ------------------------------------------------------------------------ numbers
def is_number(value: object) -> bool:
    """True when ``float(value)`` works."""
    try:
        float(value)
    except (ValueError, TypeError):
        return False
    return True


def parse_counts(grid: Grid, cols: list[int], names: list[str]) -> np.ndarray:
    """Cells of ``cols`` as a float array, or an InputError naming the first bad cell.

    Checked in this order: cells that are not numbers (empty, text), NaN/inf, negative
    values, values above :data:`MAX_COUNT`. Fractions are allowed (rounded later).
    """
    block = grid.body.iloc[:, cols].to_numpy(dtype=object)
    try:
        values = block.astype(float)
    except (ValueError, TypeError):
        ok = np.frompyfunc(is_number, 1, 1)(block).astype(bool)
        r, c = np.argwhere(~ok)[0]
        raise InputError(_bad_cell(grid, r, names[c], block[r, c])) from None
    finite = np.isfinite(values)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        v = str(block[r, c]).strip()
        what = "infinite" if np.isinf(values[r, c]) else "a missing value (NaN)"
        raise InputError(f"{grid.locate(r, names[c])}: {v!r} is {what}. Counts must be finite "
                         "numbers: use 0 for a gene without reads, or remove the row.")
    if (values < 0).any():
        r, c = np.argwhere(values < 0)[0]
        raise InputError(f"{grid.locate(r, names[c])}: negative count {block[r, c].strip()!r}. "
                         "Read counts are never negative; this looks like transformed or "
                         "normalised data (e.g. log values). Give the raw counts.")
    if (values > MAX_COUNT).any():
        r, c = np.argwhere(values > MAX_COUNT)[0]
        raise InputError(f"{grid.locate(r, names[c])}: {block[r, c].strip()!r} is larger than "
                         f"any read count ({MAX_COUNT:.0e}). Give raw read counts.")
    return values


def _bad_cell(grid: Grid, r: int, col: str, value: object) -> str:
    v = str(value).strip()
    where = grid.locate(r, col)
    if v == "":
        return (f"{where}: the cell is empty. Every count must be a number: use 0 for a gene "
                "without reads, or remove the row.")
    if v.lower() in _NA_TOKENS:
        return (f"{where}: {v!r} is a missing value. Counts must be numbers: use 0 for a gene "
                "without reads, or remove the row.")
    return (f"{where}: {v!r} is not a number. Counts must be numbers; correct the cell, or "
            "remove the column if it holds annotation rather than counts.")


def clean_ids(grid: Grid, col: int, what: str = "gene ID") -> pd.Index:
    """Column ``col`` of the body as stripped IDs; an empty ID is an InputError."""
    ids = grid.body[col].str.strip()
    empty = (ids == "").to_numpy()
    if empty.any():
        r = int(np.flatnonzero(empty)[0])
        raise InputError(f"{grid.where}, {grid.unit} {int(grid.lines[r])}: the {what} (first "
                         f"column) is empty. Give every row a {what}, or remove the row.")
    return pd.Index(ids.to_numpy(dtype=object))


def check_sample_names(names: list[str], *, where: str) -> None:
    """Sample names must be non-empty and unique (before pandas would rename them)."""
    for i, n in enumerate(names):
        if n == "":
            raise InputError(f"{where}: count column {i + 1} has no sample name in the header. "
                             "Name every sample column.")
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(n, []).append(i + 1)
    dups = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dups:
        shown = "; ".join(f"{n!r} (count columns {', '.join(map(str, p))})"
                          for n, p in list(dups.items())[:5])
        raise InputError(f"{where}: {len(dups)} sample name(s) occur more than once: {shown}. "
                         "Each sample needs a unique name; rename the columns.")


# ------------------------------------------------------------------- finishing
def check_duplicates_policy(duplicates: str) -> None:
    """Raise when ``duplicates`` is not one of error|sum|first."""
    if duplicates not in DUPLICATE_POLICIES:
        raise InputError(f"duplicates={duplicates!r} is not valid; choose one of "
                         f"{', '.join(DUPLICATE_POLICIES)}.")


def build_dataset(counts: pd.DataFrame, *, path: str | os.PathLike[str], fmt: str,
                  where: str, duplicates: str, genes: pd.DataFrame | None = None,
                  notes: list[str] | None = None,
                  extra: dict[str, object] | None = None) -> Dataset:
    """Finish a genes x samples float table into a Dataset.

    Applies the duplicated-ID policy, rounds estimated counts (with a warning), refuses
    samples whose counts are all zero, and records the notes in ``Dataset.source``.
    """
    notes = list(notes or [])
    counts.index = pd.Index(counts.index.astype(str), name="gene_id")
    counts, note = handle_duplicate_genes(counts, policy=duplicates, where=where)
    if note:
        notes.append(note)
    counts, note = round_counts(counts, where=where)
    if note:
        notes.append(note)
    totals = counts.to_numpy().sum(axis=0)
    zero = counts.columns[totals == 0]
    if len(zero):
        shown = ", ".join(map(repr, zero[:10])) + (" ..." if len(zero) > 10 else "")
        raise InputError(f"{where}: {len(zero)} sample(s) have no counts at all (every gene is "
                         f"0): {shown}. An empty library breaks normalisation (its size factor "
                         "would be 0); remove the sample from the count table and the sample "
                         "sheet.")
    if genes is not None:
        genes = genes[~genes.index.duplicated(keep="first")]
    ds = Dataset(counts.T, genes=genes if genes is not None else pd.DataFrame(),
                 source=Source(str(path), fmt, tuple(notes)), extra=extra or {})
    logger.info("%s: read as %s, %d genes x %d samples", where, fmt, ds.n_genes, ds.n_samples)
    for n in notes:
        logger.info("%s", n)
    return ds


# ----------------------------------------------------------------------- matrices
def gene_like_fraction(ids: list[str] | pd.Index) -> float:
    """Fraction of ``ids`` that look like database gene/transcript IDs."""
    ids = list(ids)
    if not ids:
        return 0.0
    return sum(bool(GENE_ID_RE.match(str(x).strip())) for x in ids) / len(ids)


def _shape(s: str) -> str:
    return re.sub(r"\d", "0", s.strip())


def _reconcile_header(grid: Grid) -> tuple[list[str], pd.DataFrame]:
    """Header names aligned to the body's columns (R's header without the ID column,
    trailing delimiters and empty columns handled)."""
    header = [h.strip() for h in grid.header]
    body = grid.body
    n_body = body.shape[1]
    if len(header) == n_body - 1:
        header = ["", *header]
    elif len(header) > n_body:
        extra = header[n_body:]
        if any(extra):
            raise InputError(f"{grid.where}: the header has {len(header)} fields but the data "
                             f"rows have {n_body}. Check the delimiter and that every column "
                             "has values.")
        header = header[:n_body]
    elif len(header) < n_body:
        surplus = body.iloc[:, len(header):]
        if (surplus != "").any().any():
            raise InputError(f"{grid.where}: the data rows have {n_body} fields but the header "
                             f"has {len(header)}. Give every column a name in the header.")
        body = body.iloc[:, :len(header)]
    empty_cols = [i for i in range(1, len(header))
                  if header[i] == "" and not (body[i] != "").any()]
    if empty_cols:
        body = body.drop(columns=empty_cols)
        header = [h for i, h in enumerate(header) if i not in set(empty_cols)]
        body.columns = range(body.shape[1])
    return header, body


def _is_transposed(header: list[str], ids: pd.Index, n_rows: int) -> tuple[bool, str]:
    names = header[1:]
    head_genes = gene_like_fraction(names[:2000])
    row_genes = gene_like_fraction(ids[:2000])
    if head_genes >= 0.5 and row_genes < 0.5:
        return True, f"the header holds gene IDs such as {names[0]!r}"
    if len(names) >= 100 and n_rows * 10 <= len(names) and row_genes < 0.5:
        return True, f"it has {len(names):,} columns but only {n_rows} rows"
    return False, ""


def read_matrix(path: str | os.PathLike[str], *, sheet: str | None = None,
                duplicates: Literal["error", "sum", "first"] = "error",
                orientation: Orientation = "auto") -> Dataset:
    """Read a count matrix: TSV, CSV or whitespace-separated TXT (gzipped or not), or XLSX.

    Genes are in rows by default: the first column holds gene IDs, the header the sample
    names (R's ``write.table`` header without a first field is accepted). A table with
    samples in rows and genes in columns is recognised (gene-ID-like header names, or far
    more columns than rows), transposed and reported with an InputWarning. Columns of gene
    annotation beside the counts (``symbol``/``gene_name``, ``length``, ``description``,
    ``chr``...) go to ``Dataset.genes``. Non-integer counts are rounded with a warning.

    Parameters
    ----------
    path
        The file. The delimiter (tab, comma, semicolon, whitespace) is sniffed.
    sheet
        For an Excel file: the sheet to read (default: the first, with a warning naming
        the others when there are several).
    duplicates
        Duplicated gene IDs: ``"error"`` (default), ``"sum"`` their counts, or keep the
        ``"first"`` row.
    orientation
        ``"auto"`` (detect), ``"genes_in_rows"`` or ``"samples_in_rows"``.

    Returns
    -------
    Dataset
        With ``source.format == "matrix"``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "counts.csv"
    >>> _ = p.write_text("gene,a,b\\ng1,5,0\\ng2,1,7\\n")
    >>> read_matrix(p).counts.loc["b"].tolist()
    [0, 7]
    """
    check_duplicates_policy(duplicates)
    if orientation not in ORIENTATIONS:
        raise InputError(f"orientation={orientation!r} is not valid; choose one of "
                         f"{', '.join(ORIENTATIONS)}.")
    p = check_path(path, what="count file")
    if p.is_dir():
        raise InputError(f"{p} is a folder; read_matrix needs one file. Use read_counts for a "
                         "folder of per-sample files or quantifier outputs.")
    notes: list[str] = []
    if is_excel(p):
        grid, note = read_excel_grid(p, sheet=sheet)
        if note:
            notes.append(note)
    else:
        if sheet is not None:
            warnings.warn(f"sheet={sheet!r} ignored: {p} is a text file, not Excel.",
                          InputWarning, stacklevel=2)
        grid = read_text_grid(p)
    return matrix_from_grid(grid, path=p, duplicates=duplicates, orientation=orientation,
                            notes=notes)


def matrix_from_grid(grid: Grid, *, path: Path, duplicates: str, orientation: str,
                     notes: list[str], fmt: str = "matrix") -> Dataset:
    """Interpret a Grid as a count matrix (see :func:`read_matrix`)."""
    header, body = _reconcile_header(grid)
    if body is not grid.body:
        grid = Grid(grid.where, tuple(header), body, grid.lines, grid.unit, grid.sep,
                    grid.comments)
    if len(header) < 2:
        seps = "tabs, commas or semicolons"
        raise InputError(f"{grid.where}: found a single column, so no sample columns. A count "
                         f"table needs a gene-ID column followed by one column per sample, "
                         f"separated by {seps}.")
    ids = clean_ids(grid, 0, "gene ID")
    names = header[1:]
    if names and all(is_number(n) for n in names) and header[0] and (
            GENE_ID_RE.match(header[0]) or _shape(header[0]) == _shape(str(ids[0]))):
        raise InputError(f"{grid.where}: the first line ({', '.join(header[:3])} ...) looks like "
                         "data, not a header. Add a header line with the sample names "
                         "(gene_id, sample1, sample2, ...); for HTSeq-count output of several "
                         "BAM files give --format htseq.")
    if orientation == "auto":
        transposed, why = _is_transposed(header, ids, body.shape[0])
    else:
        transposed, why = orientation == "samples_in_rows", "orientation='samples_in_rows'"
    if transposed:
        return _transposed(grid, header, ids, why, path=path, duplicates=duplicates,
                           notes=notes, fmt=fmt, guessed=orientation == "auto")

    ann_cols = [i for i in range(1, len(header))
                if re.sub(r"[^a-z0-9]", "", header[i].lower()) in _ANNOTATION_COLUMNS]
    count_cols = [i for i in range(1, len(header)) if i not in ann_cols]
    if not count_cols:
        raise InputError(f"{grid.where}: no sample columns; the columns after the gene IDs "
                         f"({', '.join(header[1:6])}) all look like gene annotation.")
    names = [header[i] for i in count_cols]
    check_sample_names(names, where=grid.where)
    values = parse_counts(grid, count_cols, names)
    genes = None
    if ann_cols:
        genes = pd.DataFrame(index=pd.Index(ids, name="gene_id"))
        for i in ann_cols:
            key = _ANNOTATION_COLUMNS[re.sub(r"[^a-z0-9]", "", header[i].lower())]
            if key in genes.columns:
                continue
            col = body[i].str.strip().replace("", np.nan).to_numpy()
            if key == "length":
                col = pd.to_numeric(col, errors="coerce")
            genes[key] = col
        note = (f"{grid.where}: column(s) {', '.join(repr(header[i]) for i in ann_cols)} taken "
                "as gene annotation, not samples.")
        warnings.warn(note, InputWarning, stacklevel=4)
        notes.append(note)
    counts = pd.DataFrame(values, index=ids, columns=pd.Index(names, name="sample"))
    return build_dataset(counts, path=path, fmt=fmt, where=grid.where, duplicates=duplicates,
                         genes=genes, notes=notes)


def _transposed(grid: Grid, header: list[str], samples: pd.Index, why: str, *, path: Path,
                duplicates: str, notes: list[str], fmt: str, guessed: bool) -> Dataset:
    genes = header[1:]
    for i, g in enumerate(genes):
        if g == "":
            raise InputError(f"{grid.where}: column {i + 2} has no gene ID in the header. Name "
                             "every gene column.")
    check_sample_names(list(samples), where=f"{grid.where} (samples in rows)")
    values = parse_counts(grid, list(range(1, len(header))), genes)
    note = (f"{grid.where}: samples are in rows and genes in columns ({why}); the table was "
            "transposed to genes x samples.")
    if guessed:
        warnings.warn(note, InputWarning, stacklevel=4)
    notes.append(note)
    counts = pd.DataFrame(values.T, index=pd.Index(genes), columns=pd.Index(samples, name="sample"))
    return build_dataset(counts, path=path, fmt=fmt, where=grid.where, duplicates=duplicates,
                         notes=notes)
