"""tximport-style import of salmon, kallisto and RSEM output, to the numbers of R tximport.

This module owns the summarisation of transcript-level estimates to genes
(:func:`tximport`, :func:`summarize_to_gene`, :class:`TximportResult`) and the readers that
turn quantifier output folders into a :class:`heatseq.Dataset` (:func:`read_salmon`,
:func:`read_kallisto`, :func:`read_rsem`). Finding and parsing the files is done by
:mod:`heatseq.io.quant_files`.

The arithmetic follows R tximport 1.26.1 (``summarizeToGene``, ``makeCountsFromAbundance``,
``replaceMissingLength``; Soneson, Love & Robinson 2015, F1000Research 4:1521), per gene
:math:`g` with transcripts :math:`t \\in g` and sample :math:`j`:

- abundance :math:`A_{gj} = \\sum_{t} A_{tj}` (TPM), counts :math:`C_{gj} = \\sum_t C_{tj}`;
- length :math:`L_{gj} = \\sum_t A_{tj} \\ell_{tj} / A_{gj}` (abundance-weighted mean
  effective length). Where :math:`A_{gj} = 0` the length is undefined: it becomes the
  geometric mean of the gene's lengths in the other samples, or, when the gene has no
  abundance in any sample, the plain mean over its transcripts of the transcripts'
  across-sample mean effective length;
- ``scaledTPM``: :math:`C_{gj} = A_{gj} \\cdot S_j / \\sum_g A_{gj}`; ``lengthScaledTPM``:
  :math:`C_{gj} = A_{gj} \\bar L_g \\cdot S_j / \\sum_g A_{gj} \\bar L_g` with
  :math:`\\bar L_g` the gene's mean length over samples and :math:`S_j` the sample's total
  estimated counts (of the transcripts kept).

Genes come out sorted by ID (code-point order, as R's ``rowsum`` gives for these IDs);
samples keep the order of ``files``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from heatseq.dataset import Dataset, Source
from heatseq.errors import InputError
from heatseq.io._common import round_counts
from heatseq.io.quant_files import (
    QUANT_TYPES,
    QuantType,
    _check_choice,
    _dedupe_tx2gene,
    _warn,
    find_quant_files,
    read_quant_file,
    read_tx2gene,
)

__all__ = ["COUNTS_FROM_ABUNDANCE", "MAX_DROPPED_FRACTION", "TximportResult", "read_kallisto",
           "read_rsem", "read_salmon", "read_tx2gene", "summarize_to_gene", "tximport"]

log = logging.getLogger(__name__)

CountsFromAbundance = Literal["no", "scaledTPM", "lengthScaledTPM"]
COUNTS_FROM_ABUNDANCE: tuple[str, ...] = ("no", "scaledTPM", "lengthScaledTPM")

#: More than this fraction of the transcripts, or of the estimated counts, missing from
#: tx2gene is an InputError rather than a warning.
MAX_DROPPED_FRACTION = 0.5

Tx2Gene = str | os.PathLike[str] | pd.DataFrame


@dataclass(frozen=True)
class TximportResult:
    """tximport's matrices, genes (or transcripts) x samples as in R.

    Attributes
    ----------
    abundance
        Summed TPM.
    counts
        Summed estimated counts (unrounded), or counts made from abundance.
    length
        Abundance-weighted average effective length (tximport's offset matrix).
    counts_from_abundance
        ``"no"``, ``"scaledTPM"`` or ``"lengthScaledTPM"``.
    n_transcripts
        Rows per quantification file (genes for RSEM genes.results).
    n_dropped
        Transcripts not in tx2gene, left out of the sums.
    dropped_fraction_counts
        Their share of all estimated counts (all samples together).
    type
        The quantifier: ``"salmon"``, ``"kallisto"`` or ``"rsem"``.
    level
        ``"gene"``, or ``"transcript"`` when no tx2gene was given.
    symbols
        Gene name per gene ID when the tx2gene table had them, else None.
    notes
        What was dropped, matched loosely or changed, in plain words.
    """

    abundance: pd.DataFrame
    counts: pd.DataFrame
    length: pd.DataFrame
    counts_from_abundance: str
    n_transcripts: int
    n_dropped: int
    dropped_fraction_counts: float
    type: str
    level: Literal["gene", "transcript"]
    symbols: pd.Series | None = None
    notes: tuple[str, ...] = ()

    def to_dataset(self, *, path: str = "") -> Dataset:
        """A Dataset of the rounded counts (samples x genes), as DESeq2's
        ``DESeqDataSetFromTximport`` rounds them.

        ``lengths`` is the transposed length matrix when ``counts_from_abundance`` is
        ``"no"`` and None otherwise (DESeq2 then uses the counts alone). RSEM gene lengths
        below 1 are set to 1, tximport's rule for RSEM, so that they can serve as an
        offset. ``extra`` holds ``"abundance"`` (TPM) and ``"counts_estimated"``
        (unrounded counts), samples x genes.
        """
        where = path or f"{self.type} import"
        counts, note = round_counts(self.counts.T, where=where)
        notes = [*self.notes, *([note] if note else [])]
        lengths = self.length.T if self.counts_from_abundance == "no" else None
        if lengths is not None and self.type == "rsem" and self.level == "gene":
            small = lengths.to_numpy() < 1
            if small.any():
                msg = (f"{where}: {int(small.sum()):,} RSEM effective lengths below 1 (genes "
                       "too short for the fragment length) were set to 1, tximport's rule "
                       "for RSEM, so they can be used as a length offset.")
                _warn(msg)
                notes.append(msg)
                lengths = lengths.mask(small, 1.0)
        genes = (pd.DataFrame({"symbol": self.symbols}) if self.symbols is not None
                 else pd.DataFrame())
        extra = {"abundance": self.abundance.T.copy(), "counts_estimated": self.counts.T.copy()}
        return Dataset(counts, genes=genes, lengths=lengths, extra=extra,
                       source=Source(path, self.type, tuple(notes)))


# ---------------------------------------------------------------------------- entry points
def tximport(files: Mapping[str, str | os.PathLike[str]], *,
             type: QuantType,
             tx2gene: Tx2Gene | None = None,
             counts_from_abundance: CountsFromAbundance = "no",
             ignore_tx_version: bool = False) -> TximportResult:
    """Import quantifier output and summarise it to genes, as R ``tximport()``.

    Parameters
    ----------
    files
        Sample name -> ``quant.sf`` / ``abundance.tsv`` / RSEM results file (gzipped or
        not). Samples keep this order. All files must list the same transcripts.
    type
        The quantifier: ``"salmon"``, ``"kallisto"`` or ``"rsem"``. RSEM
        ``*.genes.results`` are already gene-level and are combined as they are;
        ``*.isoforms.results`` are summarised like salmon output.
    tx2gene
        Transcript -> gene table (path, see :func:`read_tx2gene`, or a DataFrame whose
        first two columns are transcript and gene ID). None gives transcript-level
        matrices (R's ``txOut = TRUE``) with a warning; RSEM isoforms.results then use
        their own ``gene_id`` column.
    counts_from_abundance
        ``"no"`` (summed estimated counts), ``"scaledTPM"`` or ``"lengthScaledTPM"``.
    ignore_tx_version
        Remove version suffixes (from the first ``.``) from the files' transcript IDs
        before matching, as R's ``ignoreTxVersion``. When no ID matches as given but some
        match without versions on either side, versions are ignored automatically with a
        warning.

    Returns
    -------
    TximportResult

    Raises
    ------
    InputError
        When more than :data:`MAX_DROPPED_FRACTION` (half) of the transcripts, or of the
        estimated counts, are missing from tx2gene, or none match at all.

    Examples
    --------
    With salmon output in ``s1/`` and a GENCODE v27 tx2gene table (the test suite runs this
    on the GEUVADIS files)::

        res = tximport({"s1": "s1/quant.sf"}, type="salmon", tx2gene="tx2gene.csv")
        res.counts.shape  # (58288, 1)
    """
    _check_choice(type, "type", QUANT_TYPES)
    _check_choice(counts_from_abundance, "counts_from_abundance", COUNTS_FROM_ABUNDANCE)
    samples, tables, notes = _read_all(files, type)
    first = tables[0]
    mats = {k: np.column_stack([t[k].to_numpy() for t in tables])
            for k in ("abundance", "counts", "length")}
    if first.index.name == "gene_id":  # RSEM genes.results: already gene level
        return _rsem_gene_level(first.index, samples, mats, tx2gene=tx2gene,
                                counts_from_abundance=counts_from_abundance, notes=notes)
    if type == "rsem":
        small = mats["length"] < 1
        if small.any():
            mats["length"][small] = 1.0
            msg = (f"{int(small.sum()):,} RSEM effective lengths below 1 were set to 1 "
                   "(tximport's rule for RSEM transcripts).")
            _warn(msg)
            notes.append(msg)
    ids = first.index.astype(str)
    frames = {k: pd.DataFrame(v, index=pd.Index(ids, name="transcript_id"),
                              columns=pd.Index(samples, name="sample"))
              for k, v in mats.items()}
    tx = TximportResult(frames["abundance"], frames["counts"], frames["length"], "no",
                        n_transcripts=len(ids), n_dropped=0, dropped_fraction_counts=0.0,
                        type=type, level="transcript", notes=tuple(notes))
    if tx2gene is None and "gene_id" in first.columns:
        tx2gene = pd.DataFrame({"transcript_id": ids, "gene_id": first["gene_id"].to_numpy()})
        tx = replace(tx, notes=(*tx.notes, "No tx2gene given: transcripts were summarised "
                                "to the gene_id column of the RSEM isoforms.results files."))
    if tx2gene is not None:
        return summarize_to_gene(tx, tx2gene=tx2gene, counts_from_abundance=counts_from_abundance,
                                 ignore_tx_version=ignore_tx_version)
    msg = (f"No tx2gene was given, so the {type} estimates stay at transcript level (the "
           "'gene' IDs are transcript IDs). Give tx2gene (a transcript,gene table or a GTF) "
           "to summarise to genes.")
    _warn(msg)
    counts = tx.counts
    if counts_from_abundance != "no":
        counts = _counts_from_abundance(counts, tx.abundance, tx.length, counts_from_abundance)
    return replace(tx, counts=counts, counts_from_abundance=counts_from_abundance,
                   notes=(*tx.notes, msg))


def summarize_to_gene(result: TximportResult, *, tx2gene: Tx2Gene,
                      counts_from_abundance: CountsFromAbundance = "no",
                      ignore_tx_version: bool = False) -> TximportResult:
    """Summarise a transcript-level :class:`TximportResult` to genes, as R
    ``summarizeToGene()``.

    Parameters
    ----------
    result
        From ``tximport(files, type=..., tx2gene=None)``.
    tx2gene, counts_from_abundance, ignore_tx_version
        As in :func:`tximport`.

    Returns
    -------
    TximportResult
        Gene level; ``notes`` extend those of ``result``.
    """
    _check_choice(counts_from_abundance, "counts_from_abundance", COUNTS_FROM_ABUNDANCE)
    if result.level != "transcript":
        raise InputError("summarize_to_gene needs a transcript-level result "
                         "(tximport(..., tx2gene=None)); this one is already gene level.")
    if result.counts_from_abundance != "no" and counts_from_abundance == "no":
        raise InputError(
            f"The transcript counts were made with counts_from_abundance="
            f"{result.counts_from_abundance!r}, so the original counts are gone; rerun "
            "tximport with counts_from_abundance='no' to summarise original counts.")
    t2g, where = _as_tx2gene(tx2gene)
    ids = result.counts.index.astype(str)
    rows, t2g, match_note = _match(ids, t2g, where=where, ignore_tx_version=ignore_tx_version,
                                   kind=result.type)
    notes = list(result.notes) + ([match_note] if match_note else [])
    counts_tx = result.counts.to_numpy()
    kept = rows >= 0
    n_dropped = int((~kept).sum())
    total = float(counts_tx.sum())
    frac = float(counts_tx[~kept].sum()) / total if total > 0 else 0.0
    if n_dropped:
        _check_dropped(ids, t2g, kept, frac, where=where, kind=result.type)
        shown = ", ".join(ids[~kept][:3])
        msg = (f"{n_dropped:,} of {len(ids):,} {result.type} transcripts "
               f"({n_dropped / len(ids):.1%}), holding {frac:.1%} of the estimated counts, "
               f"are not in {where} and were left out (e.g. {shown}). A tx2gene from the same "
               "annotation release as the quantification index keeps them.")
        _warn(msg)
        notes.append(msg)
    gene_of_row = t2g["gene_id"].to_numpy()[rows[kept]]
    codes, genes = pd.factorize(gene_of_row, sort=True)
    abundance, counts, length = _summarise(
        codes, len(genes), result.abundance.to_numpy()[kept], counts_tx[kept],
        result.length.to_numpy()[kept])
    if counts_from_abundance != "no":
        counts = _counts_from_abundance_arrays(counts, abundance, length, counts_from_abundance,
                                               samples=result.counts.columns)
    gidx = pd.Index(np.asarray(genes, dtype=object).astype(str), name="gene_id")
    frames = [pd.DataFrame(m, index=gidx, columns=result.counts.columns)
              for m in (abundance, counts, length)]
    symbols = None
    if "gene_name" in t2g.columns:
        names = t2g.drop_duplicates("gene_id").set_index("gene_id")["gene_name"]
        symbols = names.reindex(gidx).rename("symbol")
    log.info("summarised %d transcripts to %d genes", int(kept.sum()), len(gidx))
    return TximportResult(*frames, counts_from_abundance=counts_from_abundance,
                          n_transcripts=len(ids), n_dropped=n_dropped,
                          dropped_fraction_counts=frac, type=result.type, level="gene",
                          symbols=symbols, notes=tuple(notes))


# ---------------------------------------------------------------------------- readers
def read_salmon(path: str | os.PathLike[str], *, tx2gene: Tx2Gene | None = None,
                counts_from_abundance: CountsFromAbundance = "no",
                ignore_tx_version: bool = False) -> Dataset:
    """Read salmon output into a Dataset of gene-level counts.

    Parameters
    ----------
    path
        A ``quant.sf[.gz]`` file, one sample's folder, or a folder with one sub-folder per
        sample (``<sample>/quant.sf[.gz]``; samples sorted by name).
    tx2gene, counts_from_abundance, ignore_tx_version
        As in :func:`tximport`.

    Returns
    -------
    Dataset
        Rounded counts (samples x genes), ``lengths`` from tximport (None unless
        ``counts_from_abundance="no"``), ``extra["abundance"]`` (TPM) and
        ``extra["counts_estimated"]`` (unrounded).
    """
    return _read_tx_quant(path, "salmon", tx2gene=tx2gene,
                          counts_from_abundance=counts_from_abundance,
                          ignore_tx_version=ignore_tx_version)


def read_kallisto(path: str | os.PathLike[str], *, tx2gene: Tx2Gene | None = None,
                  counts_from_abundance: CountsFromAbundance = "no",
                  ignore_tx_version: bool = False) -> Dataset:
    """Read kallisto output (``abundance.tsv``) into a Dataset of gene-level counts.

    Parameters
    ----------
    path
        An ``abundance.tsv[.gz]`` file, one sample's folder, or a folder with one
        sub-folder per sample. ``abundance.h5`` alone is not read: export it with
        ``kallisto h5dump``.
    tx2gene, counts_from_abundance, ignore_tx_version
        As in :func:`tximport`.

    Returns
    -------
    Dataset
        As :func:`read_salmon`.
    """
    return _read_tx_quant(path, "kallisto", tx2gene=tx2gene,
                          counts_from_abundance=counts_from_abundance,
                          ignore_tx_version=ignore_tx_version)


def read_rsem(path: str | os.PathLike[str]) -> Dataset:
    """Read RSEM gene-level results (``*.genes.results[.gz]``) into a Dataset.

    Parameters
    ----------
    path
        One genes.results file, a folder of ``<sample>.genes.results[.gz]`` files, or a
        folder with one sub-folder per sample holding one.

    Returns
    -------
    Dataset
        ``expected_count`` rounded as counts, ``effective_length`` as lengths (values below
        1 set to 1), ``extra["abundance"]`` (TPM) and ``extra["counts_estimated"]``.
    """
    found = find_quant_files(path, type="rsem")
    iso = [str(p) for p in found.files.values() if ".isoforms.results" in p.name]
    if iso:
        raise InputError(f"{iso[0]} is an RSEM isoform-level file; read_rsem reads "
                         "*.genes.results. Give those, or summarise the isoforms with "
                         "tximport(files, type='rsem', tx2gene=...).")
    _warn_notes(found.notes)
    res = tximport(found.files, type="rsem")
    return replace(res, notes=(*found.notes, *res.notes)).to_dataset(path=str(path))


def _read_tx_quant(path: str | os.PathLike[str], kind: str, *, tx2gene: Tx2Gene | None,
                   counts_from_abundance: str, ignore_tx_version: bool) -> Dataset:
    _check_choice(counts_from_abundance, "counts_from_abundance", COUNTS_FROM_ABUNDANCE)
    found = find_quant_files(path, type=kind)  # type: ignore[arg-type]
    _warn_notes(found.notes)
    res = tximport(found.files, type=kind, tx2gene=tx2gene,  # type: ignore[arg-type]
                   counts_from_abundance=counts_from_abundance,  # type: ignore[arg-type]
                   ignore_tx_version=ignore_tx_version)
    return replace(res, notes=(*found.notes, *res.notes)).to_dataset(path=str(path))


def _warn_notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        _warn(note)


# ---------------------------------------------------------------------------- internals
def _read_all(files: Mapping[str, str | os.PathLike[str]],
              kind: str) -> tuple[list[str], list[pd.DataFrame], list[str]]:
    if not isinstance(files, Mapping) or len(files) == 0:
        raise InputError("files must be a non-empty mapping of sample name -> quantifier "
                         "file, e.g. {'s1': 'salmon/s1/quant.sf'}.")
    samples = [str(s) for s in files]
    paths = [Path(p) for p in files.values()]
    tables: list[pd.DataFrame] = []
    notes: list[str] = []
    for sample, p in zip(samples, paths, strict=True):
        t = read_quant_file(p, type=kind)  # type: ignore[arg-type]
        if tables:
            t = _align_rows(tables[0], t, first=paths[0], this=p, notes=notes, sample=sample)
        tables.append(t)
    log.info("read %d %s file(s), %d rows each", len(tables), kind, len(tables[0]))
    return samples, tables, notes


def _align_rows(ref: pd.DataFrame, t: pd.DataFrame, *, first: Path, this: Path,
                notes: list[str], sample: str) -> pd.DataFrame:
    if ref.index.name != t.index.name:
        raise InputError(f"{this} and {first} are different kinds of RSEM file (genes vs "
                         "isoforms results); give one kind for all samples.")
    if len(ref) == len(t) and np.array_equal(ref.index.to_numpy(), t.index.to_numpy()):
        return t
    same_set = (len(ref) == len(t) and ref.index.is_unique and t.index.is_unique
                and ref.index.sort_values().equals(t.index.sort_values()))
    if same_set:
        msg = f"{this}: rows were in another order than in {first} and were matched by ID."
        _warn(msg)
        notes.append(msg)
        return t.loc[ref.index]
    extra = t.index.difference(ref.index)[:3].tolist()
    lacking = ref.index.difference(t.index)[:3].tolist()
    raise InputError(
        f"{this} (sample {sample!r}) lists other IDs than {first}: {len(t):,} vs "
        f"{len(ref):,} rows; only in this file: {extra or 'none'}, missing from it: "
        f"{lacking or 'none'}. All samples must be quantified against the same index.")


def _rsem_gene_level(ids: pd.Index, samples: list[str], mats: dict[str, np.ndarray], *,
                     tx2gene: Tx2Gene | None, counts_from_abundance: str,
                     notes: list[str]) -> TximportResult:
    if counts_from_abundance != "no":
        raise InputError(f"counts_from_abundance={counts_from_abundance!r} needs "
                         "transcript-level estimates; RSEM genes.results are gene level. Use "
                         "'no', or give the *.isoforms.results files.")
    if tx2gene is not None:
        msg = "tx2gene was not used: RSEM genes.results files are already gene level."
        _warn(msg)
        notes.append(msg)
    gidx = pd.Index(ids.astype(str), name="gene_id")
    cols = pd.Index(samples, name="sample")
    frames = [pd.DataFrame(mats[k], index=gidx, columns=cols)
              for k in ("abundance", "counts", "length")]
    return TximportResult(*frames, counts_from_abundance="no", n_transcripts=len(gidx),
                          n_dropped=0, dropped_fraction_counts=0.0, type="rsem", level="gene",
                          notes=tuple(notes))


def _as_tx2gene(tx2gene: Tx2Gene) -> tuple[pd.DataFrame, str]:
    if isinstance(tx2gene, pd.DataFrame):
        if tx2gene.shape[1] < 2:
            raise InputError(f"The tx2gene table has {tx2gene.shape[1]} column(s); it needs "
                             "transcript IDs in column 1 and gene IDs in column 2.")
        table = pd.DataFrame({"transcript_id": tx2gene.iloc[:, 0].to_numpy(),
                              "gene_id": tx2gene.iloc[:, 1].to_numpy()})
        for col in ("gene_name", "symbol"):
            if col in tx2gene.columns[2:]:
                table["gene_name"] = tx2gene[col].to_numpy()
                break
        na = table[["transcript_id", "gene_id"]].isna().any(axis=1).to_numpy()
        if na.any():
            raise InputError(f"The tx2gene table has a missing transcript or gene ID in row "
                             f"{int(np.flatnonzero(na)[0]) + 1}; remove or complete it.")
        table["transcript_id"] = table["transcript_id"].astype(str)
        table["gene_id"] = table["gene_id"].astype(str)
        return _dedupe_tx2gene(table, where="the tx2gene table"), "the tx2gene table"
    if isinstance(tx2gene, str | os.PathLike):
        return read_tx2gene(tx2gene), str(tx2gene)
    raise InputError(f"tx2gene must be a file path or a DataFrame, not {type(tx2gene).__name__}.")


def _strip_version(ids: pd.Index | pd.Series) -> np.ndarray:
    return pd.Series(np.asarray(ids, dtype=object)).str.replace(r"\..*", "", regex=True).to_numpy()


def _match(ids: pd.Index, t2g: pd.DataFrame, *, where: str, ignore_tx_version: bool,
           kind: str) -> tuple[np.ndarray, pd.DataFrame, str | None]:
    """Row of ``t2g`` for each file ID (-1 when absent), the table used, and a note."""
    file_ids = _strip_version(ids) if ignore_tx_version else ids.to_numpy()
    rows = pd.Index(t2g["transcript_id"]).get_indexer(file_ids)
    if (rows >= 0).any():
        return rows, t2g, None
    stripped = t2g.assign(transcript_id=_strip_version(t2g["transcript_id"]))
    stripped = stripped[~stripped["transcript_id"].duplicated()].reset_index(drop=True)
    rows = pd.Index(stripped["transcript_id"]).get_indexer(_strip_version(ids))
    n = int((rows >= 0).sum())
    if n == 0:
        raise InputError(
            f"None of the {len(ids):,} transcript IDs of the {kind} files are in the first "
            f"column of {where}, even without version suffixes. Example IDs (files): "
            f"{', '.join(ids[:3])}; (tx2gene): {', '.join(t2g['transcript_id'].iloc[:3])}. "
            "Use a tx2gene made from the same annotation as the quantification index.")
    note = (f"None of the {kind} transcript IDs matched {where} as given (e.g. {ids[0]} vs "
            f"{t2g['transcript_id'].iat[0]}); without version suffixes {n:,} of {len(ids):,} "
            "match, so versions were ignored. Pass ignore_tx_version=True to do this "
            "knowingly, or use a tx2gene from the same annotation release.")
    _warn(note)
    return rows, stripped, note


def _check_dropped(ids: pd.Index, t2g: pd.DataFrame, kept: np.ndarray, frac: float, *,
                   where: str, kind: str) -> None:
    n_dropped = int((~kept).sum())
    frac_tx = n_dropped / len(ids)
    if frac_tx <= MAX_DROPPED_FRACTION and frac <= MAX_DROPPED_FRACTION:
        return
    raise InputError(
        f"{n_dropped:,} of {len(ids):,} {kind} transcripts ({frac_tx:.1%}), holding {frac:.1%} "
        f"of the estimated counts, are not in {where}; more than "
        f"{MAX_DROPPED_FRACTION:.0%} missing means the table does not fit these files. "
        f"Missing e.g.: {', '.join(ids[~kept][:3])}; tx2gene has e.g.: "
        f"{', '.join(t2g['transcript_id'].iloc[:3])}. Use a tx2gene (or GTF) of the same "
        "annotation release as the quantification index, or ignore_tx_version=True when "
        "only version suffixes differ.")


def _summarise(codes: np.ndarray, n_genes: int, abundance: np.ndarray, counts: np.ndarray,
               length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R summarizeToGene: rowsum of abundance and counts, weighted mean length."""
    n = codes.size
    member = sparse.csr_array((np.ones(n), (codes, np.arange(n))), shape=(n_genes, n))
    g_abundance = member @ abundance
    g_counts = member @ counts
    weighted = member @ (abundance * length)
    with np.errstate(invalid="ignore", divide="ignore"):
        g_length = weighted / g_abundance
    per_gene = np.bincount(codes, minlength=n_genes)
    ave_gene = (member @ length.mean(axis=1)) / per_gene
    return g_abundance, g_counts, _replace_missing_length(g_length, ave_gene)


def _replace_missing_length(length: np.ndarray, ave_gene: np.ndarray) -> np.ndarray:
    """tximport's replaceMissingLength: NaN -> geometric mean over the gene's other samples,
    or the simple average transcript length when all samples are NaN."""
    nan = np.isnan(length)
    all_nan = nan.all(axis=1)
    some = nan.any(axis=1) & ~all_nan
    out = length.copy()
    if some.any():
        sub, m = out[some], nan[some]
        with np.errstate(divide="ignore"):
            logs = np.where(m, 0.0, np.log(np.where(m, 1.0, sub)))
        geo = np.exp(logs.sum(axis=1) / (~m).sum(axis=1))
        out[some] = np.where(m, geo[:, None], sub)
    out[all_nan] = ave_gene[all_nan, None]
    return out


def _counts_from_abundance_arrays(counts: np.ndarray, abundance: np.ndarray,
                                  length: np.ndarray, mode: str, *,
                                  samples: pd.Index) -> np.ndarray:
    """tximport's makeCountsFromAbundance: rescale (length-scaled) TPM to library size."""
    new = abundance * length.mean(axis=1)[:, None] if mode == "lengthScaledTPM" else abundance
    new_sum = new.sum(axis=0)
    if (new_sum <= 0).any():
        bad = samples[np.flatnonzero(new_sum <= 0)[0]]
        raise InputError(f"Sample {bad!r} has zero total abundance, so "
                         f"counts_from_abundance={mode!r} cannot scale it; check its "
                         "quantification or use 'no'.")
    return new * (counts.sum(axis=0) / new_sum)


def _counts_from_abundance(counts: pd.DataFrame, abundance: pd.DataFrame, length: pd.DataFrame,
                           mode: str) -> pd.DataFrame:
    values = _counts_from_abundance_arrays(counts.to_numpy(), abundance.to_numpy(),
                                           length.to_numpy(), mode, samples=counts.columns)
    return pd.DataFrame(values, index=counts.index, columns=counts.columns)
