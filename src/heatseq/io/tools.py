"""Count files written by the read-counting tools: featureCounts, HTSeq-count and STAR
(``ReadsPerGene.out.tab``), one file or a folder of per-sample files.

This module owns the readers of those formats, the recognition of each from its first
lines (:func:`sniff_tool`), the cleaning of sample names from BAM paths and file names,
and the choice of STAR's strand column.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError, InputWarning
from heatseq.io._text import check_path, open_bytes
from heatseq.io.matrix import (
    GENE_ID_RE,
    Grid,
    build_dataset,
    check_duplicates_policy,
    check_sample_names,
    clean_ids,
    is_number,
    parse_counts,
    read_text_grid,
)

__all__ = [
    "choose_strand",
    "clean_sample_name",
    "peek_lines",
    "read_featurecounts",
    "read_htseq",
    "read_star",
    "sniff_tool",
]

logger = logging.getLogger(__name__)

Strand = Literal["unstranded", "forward", "reverse"]
STRANDS: tuple[str, ...] = ("unstranded", "forward", "reverse")
ToolFormat = Literal["auto", "featurecounts", "htseq", "star"]
TOOL_FORMATS: tuple[str, ...] = ("featurecounts", "htseq", "star")

FEATURECOUNTS_COLUMNS = ("geneid", "chr", "start", "end", "strand", "length")
HTSEQ_SPECIAL = ("__no_feature", "__ambiguous", "__too_low_aQual", "__not_aligned",
                 "__alignment_not_unique")
STAR_SPECIAL = ("N_unmapped", "N_multimapping", "N_noFeature", "N_ambiguous")
#: A stranded library puts several times more reads on one strand's column than on the other.
STRAND_RATIO = 4.0

# Suffixes removed (repeatedly, case-insensitively) from file names and BAM paths to get a
# sample name: compression, tool outputs, aligner and post-processing stages.
_NAME_SUFFIXES = (
    ".gz", ".bz2", ".bam", ".sam", ".cram", "readspergene.out.tab", ".tab", ".counts",
    ".count", ".txt", ".tsv", ".csv", ".htseq", ".htseq-count", "htseq_counts", ".featurecounts",
    ".genecounts", "_counts", "-counts", "aligned.sortedbycoord.out", "aligned.out",
    "aligned.tocoord", ".sorted", ".sort", "_sorted", ".sortedbycoord", ".dedup", ".dedupped",
    ".markdup", ".markdups", ".markdupes", ".rmdup", ".filtered", ".primary", ".unique",
    ".uniq", ".mapped",
)

_HTSEQ_FIRST = re.compile(r"^[^\t]+(?:\t\d+(?:\.\d+)?)+$")


def strip_suffixes(name: str) -> str:
    """``name`` without folder and known suffixes; may be empty (see clean_sample_name)."""
    out = re.split(r"[/\\]", name.strip())[-1]
    changed = True
    while changed and out:
        changed = False
        low = out.lower()
        for suf in _NAME_SUFFIXES:
            if low.endswith(suf):
                out = out[: -len(suf)].rstrip("._-")
                changed = True
                break
    return out


def clean_sample_name(name: str) -> str:
    """A sample name from a file name or BAM path.

    The folder part and known suffixes (``.gz``, ``.bam``, ``ReadsPerGene.out.tab``,
    ``.counts``, ``.txt``, ``.sorted``, ``Aligned.sortedByCoord.out``...) are removed;
    when nothing is left the file's base name is kept.

    Examples
    --------
    >>> clean_sample_name("/x/y/S1.sorted.bam")
    'S1'
    >>> clean_sample_name("S2_ReadsPerGene.out.tab.gz")
    'S2'
    """
    return strip_suffixes(name) or re.split(r"[/\\]", name.strip())[-1]


def sniff_tool(lines: list[str]) -> str | None:
    """Recognise a tool's count file from its first lines.

    Returns ``"featurecounts"``, ``"featurecounts_summary"``, ``"star"``, ``"htseq"``,
    ``"salmon"``, ``"kallisto"``, ``"rsem"``, ``"rsem_isoforms"`` or None.
    """
    content = [x for x in lines if x.strip()]
    if not content:
        return None
    if any(x.startswith("# Program:featureCounts") for x in content[:5]):
        table = [x for x in content if not x.startswith("#")]
        if table and table[0].split("\t")[0] == "Status":
            return "featurecounts_summary"
        return "featurecounts"
    first = content[0]
    fields = [f.strip().lower() for f in first.split("\t")]
    if tuple(fields[:6]) == FEATURECOUNTS_COLUMNS:
        return "featurecounts"
    if fields[0] == "status" and len(content) > 1 and content[1].startswith("Assigned\t"):
        return "featurecounts_summary"
    if first.startswith("N_unmapped\t"):
        return "star"
    if fields[:5] == ["name", "length", "effectivelength", "tpm", "numreads"]:
        return "salmon"
    if fields[:5] == ["target_id", "length", "eff_length", "est_counts", "tpm"]:
        return "kallisto"
    if fields[:2] == ["gene_id", "transcript_id(s)"]:
        return "rsem"
    if fields[:2] == ["transcript_id", "gene_id"] and "expected_count" in fields:
        return "rsem_isoforms"
    if first.startswith(HTSEQ_SPECIAL) or (_HTSEQ_FIRST.match(first) and len(fields) == 2):
        return "htseq"  # several count columns without a header: rather a matrix that lost it
    return None


def peek_lines(path: Path, *, n_bytes: int = 1 << 16) -> list[str] | None:
    """The first lines of a text file (gunzipped), for recognising its format.

    Returns None for a binary file (NUL bytes); a damaged gzip is an InputError.
    """
    with open(path, "rb") as fh:
        raw = fh.read(n_bytes)
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                raw = gz.read(n_bytes)
        except (EOFError, OSError, zlib.error):
            open_bytes(path)  # raises the InputError that names the problem
            return []
    if b"\x00" in raw:
        return None
    complete = len(raw) < n_bytes
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines if complete else lines[:-1]


# ------------------------------------------------------------------ one file each
@dataclass(frozen=True)
class Parsed:
    """A tool file parsed to genes x columns floats, before it becomes a Dataset."""

    counts: pd.DataFrame
    notes: tuple[str, ...]
    where: str
    genes: pd.DataFrame | None = None
    extra: pd.DataFrame | None = None
    special: tuple[tuple[str, float], ...] = ()


def _special_rows(ids: pd.Index, values: np.ndarray, names: tuple[str, ...],
                  ) -> tuple[np.ndarray, tuple[tuple[str, float], ...]]:
    """Mask of a tool's summary rows (HTSeq ``__*``, STAR ``N_*``) and their totals."""
    special = np.asarray(ids.isin(names))
    if names is HTSEQ_SPECIAL:
        special = special | np.asarray(ids.str.startswith("__"), dtype=bool)
    totals = values[special].sum(axis=1)
    return special, tuple(zip(ids[special], totals.tolist(), strict=True))


def special_note(where: str, tool: str, totals: dict[str, float], n_files: int = 1) -> str:
    """The note saying which summary rows were dropped, with their totals."""
    shown = "; ".join(f"{n} {t:,.0f}" for n, t in totals.items())
    if n_files > 1:
        return (f"{where}: {tool}'s summary rows dropped from the {n_files} files (totals over "
                f"them: {shown}).")
    return f"{where}: {tool}'s summary rows dropped (totals: {shown})."


def parse_featurecounts(path: Path) -> Parsed:
    """featureCounts output as genes x samples, with lengths and annotation columns."""
    grid = read_text_grid(path, sep="\t")
    header = [h.strip() for h in grid.header]
    if header and header[0] == "Status":
        raise InputError(f"{grid.where} is featureCounts' summary (read assignment per status), "
                         "not the counts. Give the counts file (the same name without "
                         "'.summary').")
    if tuple(h.lower() for h in header[:6]) != FEATURECOUNTS_COLUMNS:
        raise InputError(f"{grid.where} is not featureCounts output: its header starts "
                         f"{', '.join(header[:6])!s}, but featureCounts writes Geneid, Chr, "
                         "Start, End, Strand, Length and one column per BAM file.")
    if grid.body.shape[1] != len(header):
        raise InputError(f"{grid.where}: the header has {len(header)} fields but the rows have "
                         f"{grid.body.shape[1]}.")
    bams = header[6:]
    if not bams:
        raise InputError(f"{grid.where}: featureCounts output without count columns (no BAM "
                         "file after Length).")
    check_sample_names(bams, where=grid.where)
    names, note = _names_from_bams(bams, where=grid.where)
    ids = clean_ids(grid, 0, "gene ID")
    values = parse_counts(grid, list(range(6, len(header))), bams)
    length = parse_counts(grid, [5], ["Length"])[:, 0]
    ann = grid.body.iloc[:, 1:5].apply(lambda c: c.str.strip())
    ann.columns = ["chr", "start", "end", "strand"]
    ann.index = pd.Index(ids, name="gene_id")
    ann["length"] = length.astype(np.int64)
    genes = pd.DataFrame({"length": length.astype(np.int64)}, index=ann.index)
    counts = pd.DataFrame(values, index=ids, columns=pd.Index(names, name="sample"))
    return Parsed(counts, (note,) if note else (), grid.where, genes, ann)


def _names_from_bams(bams: list[str], *, where: str) -> tuple[list[str], str | None]:
    names = [clean_sample_name(b) for b in bams]
    if len(set(names)) < len(names):
        names = [re.split(r"[/\\]", b)[-1] for b in bams]
        if len(set(names)) < len(names):
            names = list(bams)
    changed = [(b, n) for b, n in zip(bams, names, strict=True) if b != n]
    if not changed:
        return names, None
    shown = ", ".join(f"{b} -> {n}" for b, n in changed[:3])
    more = f" (and {len(changed) - 3} more)" if len(changed) > 3 else ""
    return names, f"{where}: sample names taken from the BAM file names: {shown}{more}."


def parse_htseq(path: Path) -> Parsed:
    """HTSeq-count output as genes x samples, summary rows removed (totals kept)."""
    grid = read_text_grid(path, sep="\t", has_header=False, comment=None)
    ncol = grid.body.shape[1]
    if ncol < 2:
        raise InputError(f"{grid.where} has one column; HTSeq-count output has a gene ID and a "
                         "count per line, separated by a tab.")
    notes = []
    first = grid.body.iloc[0, 1:].str.strip()
    header: list[str] | None = None
    if not any(is_number(v) for v in first) and not GENE_ID_RE.match(grid.body.iloc[0, 0]):
        header = [h.strip() for h in grid.body.iloc[0].tolist()]
        body = grid.body.iloc[1:].reset_index(drop=True)
        if body.shape[0] == 0:
            raise InputError(f"{grid.where} has a header line but no data rows.")
        grid = Grid(grid.where, (), body, grid.lines[1:], grid.unit, grid.sep)
        notes.append(f"{grid.where}: first line taken as a header (HTSeq-count writes none).")
    ids = clean_ids(grid, 0, "gene ID")
    cols = list(range(1, ncol))
    if header is not None and ncol > 2:
        names = header[1:]
        check_sample_names(names, where=grid.where)
    else:
        stem = clean_sample_name(path.name)
        names = [stem] if ncol == 2 else [f"{stem}_{i}" for i in cols]
    values = parse_counts(grid, cols, names)
    special, totals = _special_rows(ids, values, HTSEQ_SPECIAL)
    keep = ~special
    if not keep.any():
        raise InputError(f"{grid.where} holds only HTSeq's summary rows (__no_feature ...) and "
                         "no genes.")
    counts = pd.DataFrame(values[keep], index=ids[keep], columns=pd.Index(names, name="sample"))
    return Parsed(counts, tuple(notes), grid.where, special=totals)


def parse_star(path: Path) -> Parsed:
    """genes x 3 (unstranded, forward, reverse) floats with the N_* rows dropped."""
    grid = read_text_grid(path, sep="\t", has_header=False, comment=None)
    if grid.body.shape[1] != 4:
        raise InputError(f"{grid.where} has {grid.body.shape[1]} columns; STAR's "
                         "ReadsPerGene.out.tab has 4: gene ID, unstranded, forward "
                         "(column 3) and reverse (column 4) counts.")
    ids = clean_ids(grid, 0, "gene ID")
    cols = ["unstranded (column 2)", "forward (column 3)", "reverse (column 4)"]
    values = parse_counts(grid, [1, 2, 3], cols)
    special, totals = _special_rows(ids, values[:, :1], STAR_SPECIAL)
    if not special.any():
        raise InputError(f"{grid.where} is not STAR's ReadsPerGene.out.tab: it lacks the "
                         f"{', '.join(STAR_SPECIAL)} lines at the top.")
    if special.all():
        raise InputError(f"{grid.where} holds only STAR's N_* summary lines and no genes.")
    counts = pd.DataFrame(values[~special], index=ids[~special], columns=list(STRANDS))
    return Parsed(counts, (), grid.where, special=totals)


def choose_strand(forward: float, reverse: float, *, strand: str | None,
                  where: str) -> tuple[str, str | None]:
    """STAR's column for ``strand``, or, when None, chosen from the column sums.

    As featureCounts/RSeQC-style checks do: when one strand's total is more than
    :data:`STRAND_RATIO` times the other's, the library is stranded and that column is
    right; otherwise the unstranded column is used. A guess is issued as InputWarning.
    """
    if strand is not None:
        if strand not in STRANDS:
            raise InputError(f"strand={strand!r} is not valid; choose one of "
                             f"{', '.join(STRANDS)}.")
        return strand, None
    hi, lo = max(forward, reverse), min(forward, reverse)
    ratio = hi / lo if lo > 0 else float("inf")
    sums = f"sums: forward (column 3) {forward:,.0f}, reverse (column 4) {reverse:,.0f}"
    if ratio > STRAND_RATIO:
        pick = "forward" if forward > reverse else "reverse"
        why = (f"one strand column has {ratio:,.1f}x the counts of the other ({sums}), so the "
               f"library is {pick}-stranded")
    elif ratio < 1.5:
        pick = "unstranded"
        why = f"the two strand columns are about equal ({sums}), so the library is unstranded"
    else:
        pick = "unstranded"
        why = (f"the two strand columns differ by {ratio:.1f}x ({sums}), less than the "
               f"{STRAND_RATIO:g}x of a stranded library; check the library protocol")
    note = (f"{where}: no --strand given; used STAR's {pick} column because {why}. "
            "Give --strand unstranded|forward|reverse (strand=) to choose.")
    warnings.warn(note, InputWarning, stacklevel=3)
    return pick, note


# ------------------------------------------------------------------ public readers
def read_featurecounts(path: str | os.PathLike[str], *,
                       duplicates: Literal["error", "sum", "first"] = "error") -> Dataset:
    """Read featureCounts output (``-o counts.txt``): Geneid, Chr, Start, End, Strand,
    Length, then one count column per BAM file.

    Sample names are cleaned from the BAM paths (``/x/y/S1.sorted.bam`` -> ``S1``) with a
    note; gene lengths go to ``Dataset.genes['length']`` and the annotation columns to
    ``Dataset.extra['featurecounts_annotation']``.

    Parameters
    ----------
    path
        The counts file (not its ``.summary``).
    duplicates
        Duplicated gene IDs: ``"error"``, ``"sum"`` or ``"first"``.

    Returns
    -------
    Dataset
        With ``source.format == "featurecounts"``.
    """
    check_duplicates_policy(duplicates)
    p = _file(path)
    parsed = parse_featurecounts(p)
    return build_dataset(parsed.counts, path=p, fmt="featurecounts", where=parsed.where,
                         duplicates=duplicates, genes=parsed.genes, notes=list(parsed.notes),
                         extra={"featurecounts_annotation": parsed.extra})


def read_htseq(path: str | os.PathLike[str], *,
               duplicates: Literal["error", "sum", "first"] = "error") -> Dataset:
    """Read HTSeq-count output: gene ID and count per line, no header.

    The summary rows (``__no_feature``, ``__ambiguous``, ``__too_low_aQual``,
    ``__not_aligned``, ``__alignment_not_unique``) are dropped and their totals noted. The
    sample is named after the file (``S1.counts.txt`` -> ``S1``); output of several BAM
    files (one column each) gets ``<name>_1``, ``<name>_2``...

    Parameters
    ----------
    path
        The file.
    duplicates
        Duplicated gene IDs: ``"error"``, ``"sum"`` or ``"first"``.

    Returns
    -------
    Dataset
        With ``source.format == "htseq"``.
    """
    check_duplicates_policy(duplicates)
    p = _file(path)
    parsed = parse_htseq(p)
    notes = list(parsed.notes)
    if parsed.special:
        notes.append(special_note(parsed.where, "HTSeq", dict(parsed.special)))
    return build_dataset(parsed.counts, path=p, fmt="htseq", where=parsed.where,
                         duplicates=duplicates, notes=notes)


def read_star(path: str | os.PathLike[str], *, strand: Strand | None = None,
              duplicates: Literal["error", "sum", "first"] = "error") -> Dataset:
    """Read STAR's ``ReadsPerGene.out.tab`` (``--quantMode GeneCounts``).

    Four ``N_*`` lines (dropped, totals noted) precede one line per gene with counts for an
    unstranded library (column 2), reads on the gene's strand (column 3, htseq-count
    ``-s yes``) and on the opposite strand (column 4, ``-s reverse``, e.g. TruSeq).

    Parameters
    ----------
    path
        The file; the sample is named after it (``S1_ReadsPerGene.out.tab`` -> ``S1``).
    strand
        ``"unstranded"``, ``"forward"`` or ``"reverse"``. None guesses from the column sums
        (see :func:`choose_strand`) and warns which column was used and why.
    duplicates
        Duplicated gene IDs: ``"error"``, ``"sum"`` or ``"first"``.

    Returns
    -------
    Dataset
        With ``source.format == "star"``.
    """
    check_duplicates_policy(duplicates)
    if strand is not None and strand not in STRANDS:
        raise InputError(f"strand={strand!r} is not valid; choose one of {', '.join(STRANDS)}.")
    p = _file(path)
    parsed = parse_star(p)
    sums = parsed.counts.sum(axis=0)
    pick, note = choose_strand(sums["forward"], sums["reverse"], strand=strand,
                               where=parsed.where)
    counts = parsed.counts[[pick]].rename(columns={pick: clean_sample_name(p.name)})
    notes = [special_note(parsed.where, "STAR", dict(parsed.special)), *([note] if note else [])]
    return build_dataset(counts, path=p, fmt="star", where=parsed.where,
                         duplicates=duplicates, notes=notes)


def _file(path: str | os.PathLike[str]) -> Path:
    p = check_path(path, what="count file")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give one file, or use read_count_dir for a folder "
                         "of per-sample files.")
    return p
