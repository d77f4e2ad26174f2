"""Recognising what a count file or folder is, and :func:`read_counts`, the one reader a
user needs.

This module owns format detection (:func:`detect_format`: from file names, magic bytes
and first lines) and the dispatch to the format readers: count matrices and the
featureCounts/HTSeq/STAR readers of :mod:`heatseq.io.counts`, the salmon/kallisto/RSEM
readers of :mod:`heatseq.io.tximport` and :func:`heatseq.io.anndata.read_h5ad`.
"""

from __future__ import annotations

import importlib
import logging
import os
import warnings
from pathlib import Path
from typing import Literal

import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError, InputWarning
from heatseq.io._common import DUPLICATE_POLICIES
from heatseq.io._text import check_path
from heatseq.io.counts import read_count_dir, read_featurecounts, read_htseq, read_star
from heatseq.io.matrix import XLS_MAGIC, is_excel, read_matrix
from heatseq.io.samples import attach_samples
from heatseq.io.tools import STRANDS, TOOL_FORMATS, peek_lines, sniff_tool

__all__ = ["FORMATS", "detect_format", "read_counts"]

logger = logging.getLogger(__name__)

Format = Literal["auto", "matrix", "featurecounts", "htseq", "star", "salmon", "kallisto",
                 "rsem", "h5ad"]
#: Valid values of ``format=``.
FORMATS: tuple[str, ...] = ("auto", "matrix", "featurecounts", "htseq", "star", "salmon",
                            "kallisto", "rsem", "h5ad")
COUNTS_FROM_ABUNDANCE: tuple[str, ...] = ("no", "scaledTPM", "lengthScaledTPM")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_SALMON_FILES = ("quant.sf", "quant.sf.gz")
_KALLISTO_FILES = ("abundance.tsv", "abundance.tsv.gz", "abundance.h5")
_RSEM_SUFFIXES = (".genes.results", ".genes.results.gz")
_QUANT_FORMATS = ("salmon", "kallisto", "rsem")


def _by_name(name: str) -> str | None:
    low = name.lower()
    if low.endswith(".h5ad"):
        return "h5ad"
    if low in _SALMON_FILES:
        return "salmon"
    if low in _KALLISTO_FILES:
        return "kallisto"
    if low.endswith(_RSEM_SUFFIXES):
        return "rsem"
    if low.endswith(("readspergene.out.tab", "readspergene.out.tab.gz")):
        return "star"
    return None


def _detect_file(p: Path) -> str:
    with open(p, "rb") as fh:
        magic = fh.read(8)
    named = _by_name(p.name)
    if magic.startswith(_HDF5_MAGIC):
        if named in ("h5ad", "kallisto"):
            return named
        raise InputError(f"{p} is an HDF5 file. heatseq reads HDF5 only as AnnData (.h5ad) or "
                         "kallisto's abundance.h5; rename an AnnData file to .h5ad, or give a "
                         "text count table.")
    if named is not None:
        return named
    if magic.startswith(XLS_MAGIC) or is_excel(p):
        return "matrix"
    lines = peek_lines(p)
    kind = sniff_tool(lines) if lines else None
    if kind == "featurecounts_summary":
        raise InputError(f"{p} is featureCounts' summary (read assignment per status), not the "
                         "counts. Give the counts file (the same name without '.summary').")
    if kind == "rsem_isoforms":
        raise InputError(f"{p} is RSEM's transcript-level isoforms.results; give the gene-level "
                         "*.genes.results files.")
    return kind or "matrix"


def _detect_dir(d: Path) -> str:
    entries = [e for e in sorted(d.iterdir()) if not e.name.startswith(".")]
    subdirs = [e for e in entries if e.is_dir()]
    files = [e for e in entries if e.is_file()]
    found: dict[str, str] = {}
    for f in files + [x for s in subdirs for x in sorted(s.iterdir()) if x.is_file()]:
        kind = _by_name(f.name)
        if kind in _QUANT_FORMATS:
            found.setdefault(kind, str(f.relative_to(d)))
    if len(found) > 1:
        shown = "; ".join(f"{k}: {v}" for k, v in found.items())
        raise InputError(f"{d} mixes outputs of several quantifiers ({shown}). Put one "
                         "quantifier's outputs per folder.")
    if found:
        return next(iter(found))
    for f in files + [x for s in subdirs for x in sorted(s.iterdir()) if x.is_file()]:
        kind = _by_name(f.name)
        if kind is None:
            lines = peek_lines(f)
            kind = sniff_tool(lines) if lines else None
        if kind in TOOL_FORMATS:
            return kind
    shown = ", ".join(e.name + ("/" if e.is_dir() else "") for e in entries[:8]) or "nothing"
    raise InputError(f"{d} holds no count files heatseq recognises (found: {shown}). A folder "
                     "needs salmon (<sample>/quant.sf), kallisto (<sample>/abundance.tsv), RSEM "
                     "(*.genes.results) outputs, or one HTSeq-count, STAR (ReadsPerGene.out.tab) "
                     "or featureCounts file per sample; for a count matrix, give the file itself.")


def detect_format(path: str | os.PathLike[str]) -> str:
    """What a count file or folder is.

    Parameters
    ----------
    path
        A file or a folder.

    Returns
    -------
    str
        One of ``matrix``, ``featurecounts``, ``htseq``, ``star``, ``salmon``,
        ``kallisto``, ``rsem``, ``h5ad``. For a folder, the kind of the files in it
        (per-sample HTSeq/STAR/featureCounts files, or quantifier outputs).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "S1.counts"
    >>> _ = p.write_text("g1\\t5\\ng2\\t0\\n__no_feature\\t3\\n")
    >>> detect_format(p)
    'htseq'
    """
    p = check_path(path, what="count file or folder")
    return _detect_dir(p) if p.is_dir() else _detect_file(p)


def _check_option(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(f"{name}={value!r} is not valid; choose one of {', '.join(valid)}.")


def _ignored(option: str, fmt: str, p: Path) -> None:
    warnings.warn(f"{option} ignored: it applies to other formats than {fmt} ({p}).",
                  InputWarning, stacklevel=3)


def read_counts(path: str | os.PathLike[str], *, format: Format = "auto",
                tx2gene: str | os.PathLike[str] | pd.DataFrame | None = None,
                strand: Literal["unstranded", "forward", "reverse"] | None = None,
                duplicates: Literal["error", "sum", "first"] = "error",
                sheet: str | None = None,
                counts_from_abundance: Literal["no", "scaledTPM", "lengthScaledTPM"] = "no",
                samples: str | os.PathLike[str] | pd.DataFrame | None = None) -> Dataset:
    """Read counts in any supported format, detecting which.

    The format found is stored in ``Dataset.source.format`` and logged. Supported: count
    matrices (TSV/CSV/TXT, gzipped or not; XLSX), featureCounts, HTSeq-count, STAR
    ``ReadsPerGene.out.tab`` (one file, or a folder of per-sample files), salmon, kallisto
    and RSEM outputs (a file, or a folder of per-sample folders) and AnnData ``.h5ad``.

    Parameters
    ----------
    path
        A file or a folder.
    format
        ``"auto"`` (detect) or one of ``matrix``, ``featurecounts``, ``htseq``, ``star``,
        ``salmon``, ``kallisto``, ``rsem``, ``h5ad``.
    tx2gene
        salmon/kallisto: transcript-to-gene table (path or DataFrame) to sum transcripts
        to genes.
    strand
        STAR: which column to use (``unstranded``, ``forward``, ``reverse``); None guesses
        from the data and warns.
    duplicates
        Duplicated gene IDs: ``"error"``, ``"sum"`` or ``"first"``.
    sheet
        XLSX: the sheet to read (default: the first).
    counts_from_abundance
        salmon/kallisto: tximport's ``countsFromAbundance`` (``no``, ``scaledTPM``,
        ``lengthScaledTPM``).
    samples
        A sample sheet (path or DataFrame) to attach; see
        :func:`heatseq.io.samples.attach_samples`.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "counts.tsv"
    >>> _ = p.write_text("gene_id\\tA\\tB\\nENSG00000000003\\t5\\t7\\n")
    >>> read_counts(p).source.format
    'matrix'
    """
    _check_option("format", format, FORMATS)
    _check_option("duplicates", duplicates, DUPLICATE_POLICIES)
    _check_option("counts_from_abundance", counts_from_abundance, COUNTS_FROM_ABUNDANCE)
    if strand is not None:
        _check_option("strand", strand, STRANDS)
    p = check_path(path, what="count file or folder")
    fmt = detect_format(p) if format == "auto" else format
    logger.info("%s: detected %s%s", p, fmt, " (given)" if format != "auto" else "")
    if tx2gene is not None and fmt not in ("salmon", "kallisto"):
        _ignored("tx2gene", fmt, p)
    if counts_from_abundance != "no" and fmt not in ("salmon", "kallisto"):
        _ignored("counts_from_abundance", fmt, p)
    if strand is not None and fmt != "star":
        _ignored("strand", fmt, p)
    if sheet is not None and fmt != "matrix":
        _ignored("sheet", fmt, p)

    if fmt in TOOL_FORMATS and p.is_dir():
        ds = read_count_dir(p, format=format,  # type: ignore[arg-type]  (auto or the tool)
                            strand=strand, duplicates=duplicates)
    elif fmt == "matrix":
        ds = read_matrix(p, sheet=sheet, duplicates=duplicates)
    elif fmt == "featurecounts":
        ds = read_featurecounts(p, duplicates=duplicates)
    elif fmt == "htseq":
        ds = read_htseq(p, duplicates=duplicates)
    elif fmt == "star":
        ds = read_star(p, strand=strand, duplicates=duplicates)
    elif fmt == "h5ad":
        ds = importlib.import_module("heatseq.io.anndata").read_h5ad(p)
    else:
        ds = _read_quant(p, fmt, tx2gene=tx2gene, counts_from_abundance=counts_from_abundance)
    if samples is not None:
        ds = attach_samples(ds, samples)
    return ds


def _read_quant(p: Path, fmt: str, *, tx2gene: object, counts_from_abundance: str) -> Dataset:
    tximport = importlib.import_module("heatseq.io.tximport")
    if p.is_dir():
        inner = [p / n for n in (_SALMON_FILES if fmt == "salmon" else _KALLISTO_FILES)]
        p = next((f for f in inner if f.is_file()), p)  # one sample's output folder
    if fmt == "salmon":
        return tximport.read_salmon(p, tx2gene=tx2gene, counts_from_abundance=counts_from_abundance)
    if fmt == "kallisto":
        return tximport.read_kallisto(p, tx2gene=tx2gene,
                                      counts_from_abundance=counts_from_abundance)
    return tximport.read_rsem(p)
