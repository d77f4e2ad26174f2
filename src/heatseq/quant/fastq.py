"""Finding the samples' FASTQ files and checking that a FASTQ file is whole.

This module owns :func:`find_samples` (a sample sheet with ``sample``, ``fastq_1``,
``fastq_2`` and design columns, or a folder of FASTQ files named the usual ways) and
:func:`check_fastq` (one streaming pass over a file: its SHA-256, its record count and
whether it is a complete FASTQ).

Folder naming: ``<sample>[_S<n>][_L<lane>]{_R1,_R2,_1,_2,.1,.2}[_001].{fastq,fq}[.gz]``;
a file without a mate marker is a single-end sample; lanes (``_L001``, ``_L002``) and
several files of one sample are passed to salmon together (it reads them as one library).
A sheet may list a sample on several rows (one per lane); its design columns must then
agree. Relative paths in a sheet are relative to the sheet's folder.

Why heatseq checks FASTQ files itself: salmon 1.10 quantifies a truncated gzip up to the
damage, and skips malformed records, without an error. A FASTQ whose gzip stream ends
early, whose line count is not a multiple of four, whose first record does not start with
``@``, or whose mate file holds a different number of records is therefore reported as
damaged before salmon runs.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from heatseq.errors import InputError

__all__ = ["FastqCheck", "SampleReads", "check_fastq", "find_samples"]

_FASTQ_EXT = re.compile(r"\.(fastq|fq)(\.gz)?$", re.IGNORECASE)
_MATE = re.compile(r"^(?P<stem>.+?)[._](R?)(?P<mate>[12])(_\d{3})?$")
_ILLUMINA = re.compile(r"(_S\d+)?(_L\d{3})?$")
_SHEET_COLUMNS = ("sample", "fastq_1", "fastq_2")


@dataclass(frozen=True)
class SampleReads:
    """One sample's FASTQ files.

    Attributes
    ----------
    sample
        Sample name (the output folder's name).
    fastq_1
        Mate-1 files (or the single-end files), in lane order.
    fastq_2
        Mate-2 files, one per mate-1 file; empty for single-end.
    """

    sample: str
    fastq_1: tuple[Path, ...]
    fastq_2: tuple[Path, ...] = ()

    @property
    def paired(self) -> bool:
        """True for paired-end reads."""
        return bool(self.fastq_2)

    @property
    def files(self) -> tuple[Path, ...]:
        """Every FASTQ file of the sample."""
        return self.fastq_1 + self.fastq_2


@dataclass(frozen=True)
class FastqCheck:
    """What one pass over a FASTQ file found.

    Attributes
    ----------
    records
        Number of reads.
    sha256
        SHA-256 of the file's bytes as stored (compressed when gzipped).
    size, mtime_ns
        The file's size and modification time when it was read.
    """

    records: int
    sha256: str
    size: int
    mtime_ns: int


def find_samples(reads: str | os.PathLike[str]) -> tuple[list[SampleReads], pd.DataFrame]:
    """The samples and their FASTQ files, from a sample sheet or a folder.

    Parameters
    ----------
    reads
        A sample sheet (CSV/TSV/XLSX) with columns ``sample``, ``fastq_1``, ``fastq_2``
        (empty for single-end) and any design columns; or a folder of FASTQ files (see the
        module docstring for the names recognised).

    Returns
    -------
    samples
        One entry per sample, in sheet order (folder: sorted by name).
    design
        The sheet's other columns, indexed by ``sample`` (no columns for a folder).

    Raises
    ------
    InputError
        A missing FASTQ file, a mate-1 file without its mate 2, a sheet without the
        required columns, or a folder without FASTQ files.
    """
    p = Path(reads)
    if not p.exists():
        raise InputError(f"--reads {p} does not exist. Give a sample sheet (sample, fastq_1, "
                         "fastq_2, design columns) or a folder of FASTQ files.")
    found, design = (_from_folder(p), pd.DataFrame(index=pd.Index([], name="sample"))) \
        if p.is_dir() else _from_sheet(p)
    for s in found:
        for f in s.files:
            if not f.is_file():
                raise InputError(f"FASTQ file of sample {s.sample!r} not found: {f}. Check the "
                                 f"path in {p}" + (" (relative paths are relative to the "
                                                   "sheet's folder)." if p.is_file() else "."))
    return found, design


def _read_sheet(p: Path) -> pd.DataFrame:
    """The sheet as strings (a sample may have several rows, one per lane)."""
    from heatseq.io._text import read_text

    if p.suffix.lower() in (".xlsx", ".xls"):
        try:
            return pd.read_excel(p, dtype=str).fillna("")
        except (ValueError, OSError) as exc:
            raise InputError(f"Sample sheet {p} could not be read as Excel ({exc}).") from None
    text = read_text(p)
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first else ","
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                           skip_blank_lines=True)
    except pd.errors.ParserError as exc:
        raise InputError(f"Sample sheet {p} could not be parsed ({exc}). Check that every "
                         "row has the same number of columns.") from None


def _from_sheet(p: Path) -> tuple[list[SampleReads], pd.DataFrame]:
    sheet = _read_sheet(p)
    cols = [str(c).strip() for c in sheet.columns]
    sheet.columns = cols
    lower = {c.lower(): c for c in cols}
    missing = [c for c in _SHEET_COLUMNS if c not in lower and c != "fastq_2"]
    if missing:
        raise InputError(f"Sample sheet {p} lacks column(s) {', '.join(missing)}; its columns "
                         f"are: {', '.join(cols)}. Give sample, fastq_1, fastq_2 (empty for "
                         "single-end) and the design columns.")
    sheet = sheet.rename(columns={lower[c]: c for c in _SHEET_COLUMNS if c in lower})
    if "fastq_2" not in sheet.columns:
        sheet["fastq_2"] = ""
    sheet = sheet.apply(lambda col: col.str.strip())
    base = p.resolve().parent
    by_sample: dict[str, tuple[list[Path], list[Path]]] = {}
    for i, (sample, f1, f2) in enumerate(sheet[list(_SHEET_COLUMNS)].itertuples(index=False),
                                         start=2):
        if not sample or not f1:
            raise InputError(f"{p}, row {i}: the sample name or fastq_1 is empty. Every row "
                             "needs both (fastq_2 is empty for single-end reads).")
        r1, r2 = by_sample.setdefault(sample, ([], []))
        r1.append(_resolve(base, f1))
        if f2:
            r2.append(_resolve(base, f2))
        if r2 and len(r1) != len(r2):
            raise InputError(f"{p}, row {i}: sample {sample!r} mixes paired-end and single-end "
                             "rows; give fastq_2 on every row of a paired-end sample.")
    extra = sheet.drop(columns=list(_SHEET_COLUMNS)).replace({"": None, "NA": None})
    groups = extra.groupby(sheet["sample"], sort=False)
    n_values = groups.nunique()
    if (n_values > 1).any().any():
        col = n_values.columns[(n_values > 1).any()][0]
        who = n_values.index[n_values[col] > 1][0]
        raise InputError(f"{p}: column {col!r} has different values on the rows of sample "
                         f"{who!r}; a sample's rows (lanes) must agree on the design columns.")
    design = groups.first().reindex(list(by_sample))
    design.index.name = "sample"
    design = design.apply(lambda col: pd.to_numeric(col) if _numeric(col) else col)
    samples = [SampleReads(s, tuple(r1), tuple(r2)) for s, (r1, r2) in by_sample.items()]
    return samples, design


def _numeric(col: pd.Series) -> bool:
    values = col.dropna()
    return bool(len(values)) and pd.to_numeric(values, errors="coerce").notna().all()


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _from_folder(folder: Path) -> list[SampleReads]:
    files = sorted(f for f in folder.iterdir() if f.is_file() and _FASTQ_EXT.search(f.name))
    if not files:
        shown = ", ".join(sorted(x.name for x in folder.iterdir())[:8]) or "nothing"
        raise InputError(f"No FASTQ files (*.fastq, *.fq, gzipped or not) in {folder}; it "
                         f"holds: {shown}. Give a folder of FASTQ files or a sample sheet.")
    mates: dict[str, dict[str, list[Path]]] = {}
    for f in files:
        stem = _FASTQ_EXT.sub("", f.name)
        m = _MATE.match(stem)
        mate, stem = (m.group("mate"), m.group("stem")) if m else ("0", stem)
        sample = _ILLUMINA.sub("", stem) or stem
        mates.setdefault(sample, {}).setdefault(mate, []).append(f)
    out = []
    for sample, by_mate in sorted(mates.items()):
        single, r1, r2 = by_mate.get("0", []), by_mate.get("1", []), by_mate.get("2", [])
        if single and (r1 or r2):
            raise InputError(f"{folder}: sample {sample!r} has both single-end "
                             f"({single[0].name}) and paired files ({(r1 or r2)[0].name}). "
                             "Put them in separate folders or use a sample sheet.")
        if len(r1) != len(r2):
            have, lack = ((r1, "2") if len(r1) > len(r2) else (r2, "1"))
            raise InputError(f"{folder}: {have[-1].name} (sample {sample!r}) has no mate-{lack} "
                             f"file ({len(r1)} R1 vs {len(r2)} R2 files). Add the missing mate, "
                             "or rename single-end files without _1/_R1.")
        out.append(SampleReads(sample, tuple(single or r1), tuple(r2)))
    return out


def check_fastq(path: str | os.PathLike[str], *, sample: str = "") -> FastqCheck:
    """Read a FASTQ file once: SHA-256, record count, and whether it is complete.

    Parameters
    ----------
    path
        A FASTQ file, gzipped (also multi-member, as ``cat a.gz b.gz``) or not.
    sample
        Sample name for the error message.

    Returns
    -------
    FastqCheck

    Raises
    ------
    InputError
        When the gzip stream is damaged or ends early, the file is empty, the first record
        does not start with ``@``, or the number of lines is not a multiple of four.
    """
    p = Path(path)
    who = f" (sample {sample!r})" if sample else ""
    stat = p.stat()
    sha = hashlib.sha256()
    lines = 0
    first = b""
    last = b"\n"
    with open(p, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        gz = head == b"\x1f\x8b"
        dec = zlib.decompressobj(wbits=47) if gz else None
        try:
            for block in iter(lambda: fh.read(1 << 22), b""):
                sha.update(block)
                data = block
                if dec is not None:
                    data = dec.decompress(block)
                    while dec.eof and dec.unused_data:  # the next gzip member
                        rest = dec.unused_data
                        dec = zlib.decompressobj(wbits=47)
                        data += dec.decompress(rest)
                if data:
                    if not first:
                        first = data[:1]
                    lines += data.count(b"\n")
                    last = data[-1:]
        except zlib.error as exc:
            raise InputError(f"FASTQ file {p}{who} is damaged: its gzip data is corrupt ({exc}). "
                             "Copy or download it again (`gzip -t` checks it).") from None
        if dec is not None and not dec.eof:
            raise InputError(f"FASTQ file {p}{who} is truncated: its gzip stream ends early. "
                             "Copy or download it again (`gzip -t` checks it).")
    if last != b"\n":
        lines += 1
    if lines == 0:
        raise InputError(f"FASTQ file {p}{who} is empty. Check the file.")
    if first != b"@":
        raise InputError(f"FASTQ file {p}{who} does not start with '@' (it starts with "
                         f"{first!r}); it is not a FASTQ file.")
    if lines % 4:
        raise InputError(f"FASTQ file {p}{who} is damaged: it has {lines:,} lines, not a "
                         "multiple of 4 (a FASTQ record is 4 lines). Copy or download it "
                         "again, or regenerate it.")
    return FastqCheck(lines // 4, sha.hexdigest(), stat.st_size, stat.st_mtime_ns)
