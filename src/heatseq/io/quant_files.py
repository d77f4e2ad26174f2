"""Finding and parsing transcript-quantifier outputs and transcript-to-gene tables.

This module owns the file side of tximport-style import: which files in a folder are
salmon ``quant.sf``, kallisto ``abundance.tsv`` or RSEM ``*.genes.results`` /
``*.isoforms.results`` outputs (:func:`find_quant_files`), parsing one such file into
abundance, estimated counts and effective length (:func:`read_quant_file`), and reading a
transcript -> gene table from CSV/TSV or GTF (:func:`read_tx2gene`). The summarisation to
genes lives in :mod:`heatseq.io.tximport`.

Every file is opened through :func:`heatseq.io._text.read_text`, so gzip (also truncated
gzip), byte-order marks and Windows line ends are handled the same way as elsewhere.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from heatseq.errors import InputError, InputWarning
from heatseq.io._text import check_path, read_text

__all__ = ["QUANT_TYPES", "QuantFiles", "QuantType", "find_quant_files", "read_quant_file",
           "read_tx2gene"]

log = logging.getLogger(__name__)

QuantType = Literal["salmon", "kallisto", "rsem"]
QUANT_TYPES: tuple[str, ...] = ("salmon", "kallisto", "rsem")


@dataclass(frozen=True)
class _Format:
    label: str
    id_col: str
    abundance: str
    counts: str
    length: str
    gene_col: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        extra = (self.gene_col,) if self.gene_col else ()
        return (self.id_col, *extra, self.length, self.abundance, self.counts)


# Column presets of R tximport 1.26.1 (salmon, kallisto, rsem with txIn TRUE / FALSE).
_FORMATS: dict[str, _Format] = {
    "salmon": _Format("salmon quant.sf", "Name", "TPM", "NumReads", "EffectiveLength"),
    "kallisto": _Format("kallisto abundance.tsv", "target_id", "tpm", "est_counts", "eff_length"),
    "rsem_genes": _Format("RSEM genes.results", "gene_id", "TPM", "expected_count",
                          "effective_length"),
    "rsem_isoforms": _Format("RSEM isoforms.results", "transcript_id", "TPM", "expected_count",
                             "effective_length", gene_col="gene_id"),
}

_SALMON_NAMES = ("quant.sf", "quant.sf.gz")
_KALLISTO_NAMES = ("abundance.tsv", "abundance.tsv.gz")
_RSEM_GENES = re.compile(r"^(?P<sample>.+)\.genes\.results(\.gz)?$")
_RSEM_ISOFORMS = re.compile(r"^(?P<sample>.+)\.isoforms\.results(\.gz)?$")
_EXPECTED = ("salmon: <sample>/quant.sf[.gz]; kallisto: <sample>/abundance.tsv[.gz]; "
             "RSEM: <sample>.genes.results[.gz]")


@dataclass(frozen=True)
class QuantFiles:
    """Quantifier output files found under a path.

    Attributes
    ----------
    type
        ``"salmon"``, ``"kallisto"`` or ``"rsem"``.
    files
        Sample name -> file, sorted by sample name.
    notes
        What was ignored while looking (e.g. sub-folders without quantifier output).
    """

    type: str
    files: dict[str, Path]
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- discovery
def _kind_of_name(name: str) -> str | None:
    """'salmon', 'kallisto', 'kallisto_h5', 'rsem' or None, from a file name alone."""
    low = name.lower()
    if low in _SALMON_NAMES:
        return "salmon"
    if low in _KALLISTO_NAMES:
        return "kallisto"
    if low == "abundance.h5":
        return "kallisto_h5"
    if _RSEM_GENES.match(name) or _RSEM_ISOFORMS.match(name):
        return "rsem"
    return None


def _h5_error(where: Path) -> InputError:
    return InputError(
        f"{where} holds kallisto's abundance.h5 but no abundance.tsv; heatseq reads the TSV. "
        "Export it with `kallisto h5dump -o <folder> abundance.h5` (or rerun kallisto quant, "
        "which writes abundance.tsv too) and give the abundance.tsv file or its folder."
    )


def _sample_of_file(p: Path) -> str:
    name = p.name
    if name.lower() in _SALMON_NAMES + _KALLISTO_NAMES:
        parent = p.resolve().parent.name
        return parent or name
    for rx in (_RSEM_GENES, _RSEM_ISOFORMS):
        m = rx.match(name)
        if m:
            return m.group("sample")
    stem = name[:-3] if name.lower().endswith(".gz") else name
    for ext in (".sf", ".tsv", ".txt", ".results"):
        if stem.lower().endswith(ext):
            return stem[: -len(ext)]
    return stem


def _scan_folder(folder: Path) -> dict[str, list[Path]]:
    """Recognised files directly inside ``folder``, by kind."""
    found: dict[str, list[Path]] = {}
    for child in sorted(folder.iterdir()):
        if child.is_file():
            kind = _kind_of_name(child.name)
            if kind:
                found.setdefault(kind, []).append(child)
    return found


def _pick(found: dict[str, list[Path]], folder: Path) -> tuple[str, Path] | None:
    """The one sample file of a per-sample folder (plain text preferred over .gz)."""
    for kind in ("salmon", "kallisto"):
        if kind in found:
            return kind, found[kind][0]
    if "rsem" in found:
        genes = [p for p in found["rsem"] if _RSEM_GENES.match(p.name)]
        if len(genes) > 1:
            raise InputError(f"{folder} holds {len(genes)} RSEM genes.results files "
                             f"({', '.join(p.name for p in genes[:4])}); keep one per sample folder.")
        return "rsem", (genes or found["rsem"])[0]
    if "kallisto_h5" in found:
        raise _h5_error(folder)
    return None


def find_quant_files(path: str | os.PathLike[str], *,
                     type: QuantType | None = None) -> QuantFiles:
    """Find the quantifier output files under ``path``.

    Parameters
    ----------
    path
        One file (``quant.sf[.gz]``, ``abundance.tsv[.gz]``, ``<sample>.genes.results[.gz]``),
        one sample's folder, a folder holding one sub-folder per sample (the sub-folder
        name is the sample name), or a folder of ``<sample>.genes.results[.gz]`` files.
    type
        The expected quantifier; a folder holding another quantifier's output raises an
        InputError naming the right reader. None accepts any.

    Returns
    -------
    QuantFiles
        The quantifier and the files by sample name, sorted by sample name.
    """
    if type is not None:
        _check_choice(type, "type", QUANT_TYPES)
    p = check_path(path, what="quantification file or folder")
    notes: list[str] = []
    if p.is_file():
        kind = _kind_of_name(p.name)
        if kind == "kallisto_h5":
            raise _h5_error(p.parent)
        kind = kind or type or _sniff_kind(p)
        files = {_sample_of_file(p): p}
    else:
        kind, files, notes = _find_in_folder(p)
    if type is not None and kind != type:
        raise InputError(f"{p} holds {kind} output, not {type}; read it with read_{kind}() "
                         f"(or tximport(..., type={kind!r})).")
    return QuantFiles(kind, dict(sorted(files.items())), tuple(notes))


def _find_in_folder(p: Path) -> tuple[str, dict[str, Path], list[str]]:
    direct = _scan_folder(p)
    rsem = direct.get("rsem", [])
    rsem = [x for x in rsem if _RSEM_GENES.match(x.name)] or rsem
    others = sorted(k for k in direct if k != "rsem")
    if rsem and others:
        raise InputError(f"{p} mixes RSEM results files with {others[0]} output; put each "
                         "quantifier's files in their own folder and read them separately.")
    if rsem:
        files = {_sample_of_file(x): x for x in rsem}
        if len(files) < len(rsem):
            raise InputError(f"{p} holds RSEM files of the same sample twice (e.g. gzipped "
                             "and not); keep one file per sample.")
        return "rsem", files, []
    if others:
        single = _pick(direct, p)
        assert single is not None
        return single[0], {p.resolve().name: single[1]}, []
    kinds: dict[str, list[str]] = {}
    files: dict[str, Path] = {}
    skipped: list[str] = []
    for sub in sorted(x for x in p.iterdir() if x.is_dir()):
        picked = _pick(_scan_folder(sub), sub)
        if picked is None:
            skipped.append(sub.name)
            continue
        kinds.setdefault(picked[0], []).append(sub.name)
        files[sub.name] = picked[1]
    if not files:
        entries = sorted(x.name + ("/" if x.is_dir() else "") for x in p.iterdir())
        shown = ", ".join(entries[:8]) + (" ..." if len(entries) > 8 else "") or "nothing"
        raise InputError(f"No quantifier output found in {p} or its sub-folders (it holds: "
                         f"{shown}). Expected one sub-folder per sample ({_EXPECTED}).")
    if len(kinds) > 1:
        parts = "; ".join(f"{k} in {', '.join(v[:3])}{' ...' if len(v) > 3 else ''}"
                          for k, v in sorted(kinds.items()))
        raise InputError(f"{p} mixes outputs of different quantifiers ({parts}). Put each "
                         "quantifier's samples in their own folder and read them separately.")
    if skipped:
        notes = [f"{p}: ignored {len(skipped)} sub-folder(s) without quantifier output: "
                 f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}."]
    else:
        notes = []
    return next(iter(kinds)), files, notes


def _sniff_kind(p: Path) -> str:
    header = _header(p, read_text(p))
    for kind, fmt in (("salmon", _FORMATS["salmon"]), ("kallisto", _FORMATS["kallisto"]),
                      ("rsem", _FORMATS["rsem_genes"])):
        if set(fmt.required) <= set(header):
            return kind
    raise InputError(f"{p} is not a recognised quantifier output (columns: "
                     f"{', '.join(header[:8])}). Expected {_EXPECTED}.")


# ---------------------------------------------------------------------------- parsing
def _header(p: Path, text: str) -> list[str]:
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise InputError(f"{p} is empty or starts with a blank line; give the quantifier's "
                         "output file as written.")
    return first.split("\t")


def _format_for(kind: str, header: list[str]) -> _Format:
    if kind == "rsem":
        iso = _FORMATS["rsem_isoforms"]
        return iso if header[:1] == [iso.id_col] else _FORMATS["rsem_genes"]
    return _FORMATS[kind]


def read_quant_file(path: str | os.PathLike[str], *,
                    type: QuantType) -> pd.DataFrame:
    """Read one salmon, kallisto or RSEM output file.

    Parameters
    ----------
    path
        ``quant.sf``, ``abundance.tsv``, ``*.genes.results`` or ``*.isoforms.results``,
        gzipped or not.
    type
        The quantifier that wrote it.

    Returns
    -------
    pandas.DataFrame
        Indexed by the file's IDs in file order (``transcript_id``, or ``gene_id`` for RSEM
        genes.results), with float columns ``abundance`` (TPM), ``counts`` (estimated
        counts) and ``length`` (effective length); RSEM isoforms.results also keep
        ``gene_id``. These are the columns R tximport reads (e.g. salmon's TPM, NumReads
        and EffectiveLength).
    """
    _check_choice(type, "type", QUANT_TYPES)
    p = check_path(path, what=f"{type} output file")
    if p.name.lower().endswith(".h5"):
        raise _h5_error(p.parent)
    text = read_text(p)
    header = _header(p, text)
    fmt = _format_for(type, header)
    missing = [c for c in fmt.required if c not in header]
    if missing:
        hint = _other_format_hint(header, type)
        raise InputError(
            f"{p} lacks column(s) {', '.join(map(repr, missing))} of a {fmt.label} file; its "
            f"columns are: {', '.join(header[:10])}. Expected {', '.join(fmt.required)}.{hint}"
        )
    num_cols = [fmt.length, fmt.abundance, fmt.counts]
    str_cols = [fmt.id_col] + ([fmt.gene_col] if fmt.gene_col else [])
    dtypes = {c: str for c in str_cols} | {c: np.float64 for c in num_cols}
    try:
        table = pd.read_csv(io.StringIO(text), sep="\t", usecols=str_cols + num_cols,
                            dtype=dtypes, na_filter=False, engine="c",
                            quoting=csv.QUOTE_NONE)
    except ValueError as exc:
        raise _locate_bad_value(p, text, num_cols, fmt.id_col, exc) from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{p} could not be parsed as a tab-separated {fmt.label} file "
                         f"({exc}). Give the file as the quantifier wrote it.") from None
    if table.shape[0] == 0:
        raise InputError(f"{p} has a header but no rows; the quantification looks unfinished.")
    values = table[num_cols].to_numpy()
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(f"{p}, row {row + 2} ({table[fmt.id_col].iat[row]}): column "
                         f"{num_cols[col]!r} is {values[row, col]}; it must be a finite "
                         "number >= 0. The file looks damaged; rerun the quantifier.")
    out = pd.DataFrame({"abundance": table[fmt.abundance].to_numpy(),
                        "counts": table[fmt.counts].to_numpy(),
                        "length": table[fmt.length].to_numpy()},
                       index=pd.Index(table[fmt.id_col].to_numpy(),
                                      name="gene_id" if fmt is _FORMATS["rsem_genes"]
                                      else "transcript_id"))
    if fmt.gene_col:
        out["gene_id"] = table[fmt.gene_col].to_numpy()
    log.debug("read %s: %d rows", p, len(out))
    return out


def _other_format_hint(header: list[str], type: str) -> str:
    for kind, fmt in _FORMATS.items():
        if kind.split("_")[0] != type and set(fmt.required) <= set(header):
            name = kind.split("_")[0]
            return f" It looks like {fmt.label} output: read it with read_{name}() or type={name!r}."
    return ""


def _locate_bad_value(p: Path, text: str, num_cols: list[str], id_col: str,
                      exc: Exception) -> InputError:
    raw = pd.read_csv(io.StringIO(text), sep="\t", usecols=[id_col, *num_cols], dtype=str,
                      na_filter=False, quoting=csv.QUOTE_NONE)
    for col in num_cols:
        parsed = pd.to_numeric(raw[col], errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            i = int(bad[0])
            return InputError(f"{p}, row {i + 2} ({raw[id_col].iat[i]}): column {col!r} holds "
                              f"{raw[col].iat[i]!r}, not a number. The file looks damaged or "
                              "edited; rerun the quantifier.")
    return InputError(f"{p} could not be read: {exc}.")


# ---------------------------------------------------------------------------- tx2gene
_TX_HEADER = re.compile(r"^(ensembl_)?(tx|transcript|target|isoform)s?(_?(stable_)?(id|name))?"
                        r"(_version)?$|^name$")
_GENE_HEADER = re.compile(r"^(ensembl_)?genes?(_?(stable_)?(id|name))?(_version)?$|"
                          r"^(gene_)?symbol$|^external_gene_name$")
_NAME_HEADERS = {"gene_name", "genename", "symbol", "gene_symbol", "external_gene_name"}


def _norm(cell: str) -> str:
    return re.sub(r"[\s.\-]+", "_", cell.strip().strip('"').lower())


def read_tx2gene(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a transcript -> gene table.

    Parameters
    ----------
    path
        A CSV/TSV (gzipped or not, with or without a header) whose first column is the
        transcript ID and second the gene ID, as R tximport expects; further columns are
        ignored, except a third column headed ``gene_name``/``symbol`` which is kept. A GTF
        (``.gtf`` or ``.gtf.gz``) is also accepted: ``transcript_id``, ``gene_id`` and
        ``gene_name`` (when present) are taken from its transcript and exon lines.

    Returns
    -------
    pandas.DataFrame
        Columns ``transcript_id``, ``gene_id`` (and ``gene_name`` when known), one row per
        transcript. A transcript listed twice with different genes keeps its first gene, as
        R tximport does, with an InputWarning.
    """
    p = check_path(path, what="tx2gene file")
    name = p.name.lower()
    text = read_text(p)
    if name.endswith((".gtf", ".gtf.gz")):
        table = _parse_gtf(p, text)
    else:
        table = _parse_table(p, text)
    return _dedupe_tx2gene(table, where=str(p))


def _parse_table(p: Path, text: str) -> pd.DataFrame:
    lines = [ln for ln in text.split("\n", 2)[:2] if ln.strip()]
    if not lines:
        raise InputError(f"{p} is empty; give a table with transcript IDs in the first "
                         "column and gene IDs in the second.")
    first = lines[0]
    sep = "\t" if "\t" in first else "," if "," in first else r"\s+"
    cells = re.split(sep, first.strip()) if sep == r"\s+" else first.split(sep)
    if len(cells) < 2:
        raise InputError(f"{p} has a single column ({cells[0][:40]!r} on line 1); a tx2gene "
                         "table needs transcript IDs in column 1 and gene IDs in column 2.")
    normed = [_norm(c) for c in cells]
    has_header = bool(_TX_HEADER.match(normed[0]) or _GENE_HEADER.match(normed[1]))
    try:
        raw = pd.read_csv(io.StringIO(text), sep=sep, header=0 if has_header else None,
                          dtype=str, keep_default_na=False, skip_blank_lines=True,
                          engine="c" if sep != r"\s+" else "python")
    except pd.errors.ParserError as exc:
        raise InputError(f"{p} could not be parsed as a {'TSV' if sep == chr(9) else 'CSV'} "
                         f"tx2gene table ({exc}). Check that every row has the same number "
                         "of columns.") from None
    table = pd.DataFrame({"transcript_id": raw.iloc[:, 0].str.strip().to_numpy(),
                          "gene_id": raw.iloc[:, 1].str.strip().to_numpy()})
    if has_header and len(cells) > 2 and normed[2] in _NAME_HEADERS:
        table["gene_name"] = raw.iloc[:, 2].to_numpy()
    empty = (table["transcript_id"] == "") | (table["gene_id"] == "")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputError(f"{p}, line {i + 1 + has_header}: the transcript or gene ID is empty. "
                         "Every row needs both; remove or complete that row.")
    return table


_ATTR = {k: re.compile(rf'{k} "([^"]*)"') for k in ("transcript_id", "gene_id", "gene_name")}


def _parse_gtf(p: Path, text: str) -> pd.DataFrame:
    text = re.sub(r"(?m)^#.*\n?", "", text)
    try:
        gtf = pd.read_csv(io.StringIO(text), sep="\t", header=None, names=list(range(9)),
                          usecols=[2, 8], dtype=str, keep_default_na=False,
                          quoting=csv.QUOTE_NONE, engine="c")
    except pd.errors.ParserError as exc:
        raise InputError(f"{p} is not a GTF with 9 tab-separated columns ({exc}).") from None
    feature = "transcript" if (gtf[2] == "transcript").any() else "exon"
    lines = gtf[gtf[2] == feature]
    if lines.empty:
        raise InputError(f"{p} has no 'transcript' or 'exon' lines in column 3; give a GTF "
                         "annotation (GFF3 is not supported) or a transcript,gene table.")
    attrs = lines[8]
    table = pd.DataFrame({"transcript_id": attrs.str.extract(_ATTR["transcript_id"])[0],
                          "gene_id": attrs.str.extract(_ATTR["gene_id"])[0]})
    names = attrs.str.extract(_ATTR["gene_name"])[0]
    if names.notna().any():
        table["gene_name"] = names
    table = table.dropna(subset=["transcript_id", "gene_id"])
    if table.empty:
        raise InputError(f"{p}: no transcript line carries both transcript_id and gene_id "
                         'attributes (e.g. gene_id "ENSG..."; transcript_id "ENST...";).')
    return table.drop_duplicates().reset_index(drop=True)


def _dedupe_tx2gene(table: pd.DataFrame, *, where: str) -> pd.DataFrame:
    table = table.drop_duplicates(subset=["transcript_id", "gene_id"])
    dup = table["transcript_id"].duplicated()
    if dup.any():
        shown = ", ".join(table.loc[dup, "transcript_id"].iloc[:3])
        _warn(f"{where}: {int(dup.sum())} transcript(s) are listed with more than one gene "
              f"(e.g. {shown}); the first gene of each is kept, as R tximport does.")
        table = table[~dup]
    return table.reset_index(drop=True)


def _warn(message: str) -> None:
    """Issue an InputWarning attributed to the first caller outside heatseq."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("heatseq."):
        frame = frame.f_back
        level += 1
    warnings.warn(message, InputWarning, stacklevel=level)


def _check_choice(value: object, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{name}={value!r} is not valid; choose one of {', '.join(choices)}.")
