"""What ``heatseq inspect`` computes: a frozen report on a count table and its sample sheet.

This module owns :class:`InspectReport` (format, genes, samples, library sizes, all-zero
genes, gene-ID type and symbol coverage, sample-sheet columns and levels, the notes the
reader left and the problems found, each with its fix) and the checks behind it. Drawing
it as text is :meth:`InspectReport.to_text`; the CLI only prints that.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import HeatseqError, HeatseqWarning
from heatseq.io.detect import read_counts

__all__ = ["InspectReport", "SheetColumn", "inspect_counts", "inspect_dataset"]

#: A library smaller than this fraction of the median is reported.
LOW_LIBRARY_FRACTION = 1 / 3
_MAX_LEVELS_SHOWN = 12
_ID_LABELS = {
    "ensembl_gene": "Ensembl gene IDs",
    "ensembl_transcript": "Ensembl transcript IDs",
    "entrez": "Entrez gene IDs",
    "symbol": "gene symbols",
    "flybase": "FlyBase gene IDs",
}


@dataclass(frozen=True)
class SheetColumn:
    """One sample-sheet column as ``inspect`` describes it.

    Attributes
    ----------
    name
        The column name.
    kind
        ``"categorical"`` (text with repeated values), ``"identifier"`` (text, a different
        value for every sample) or ``"numeric"``.
    levels
        For categorical columns: (level, number of samples), sorted by level.
    minimum, maximum
        For numeric columns: the range.
    n_missing
        Samples without a value.
    """

    name: str
    kind: Literal["categorical", "identifier", "numeric"]
    levels: tuple[tuple[str, int], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    n_missing: int = 0

    def describe(self) -> str:
        """One line: ``condition: trt (4), untrt (4)``."""
        if self.kind == "numeric":
            text = f"numeric, {self.minimum:g} to {self.maximum:g}"
        elif self.kind == "identifier":
            text = f"identifier, {len(self.levels)} distinct values"
        else:
            shown = ", ".join(f"{lv} ({n})" for lv, n in self.levels[:_MAX_LEVELS_SHOWN])
            more = len(self.levels) - _MAX_LEVELS_SHOWN
            text = shown + (f", ... ({len(self.levels)} levels)" if more > 0 else "")
        if self.n_missing:
            text += f"; {self.n_missing} missing"
        return f"{self.name}: {text}"


@dataclass(frozen=True)
class InspectReport:
    """What ``heatseq inspect`` found in a count table and its sample sheet.

    Attributes
    ----------
    path
        The file or folder read.
    format
        The detected format.
    n_genes, n_samples
        Table size.
    library_sizes
        (sample, total counts) in count-table order.
    n_zero_genes
        Genes with zero counts in every sample.
    id_type, organism, versioned
        What the gene IDs are (None when the annotation module is not available).
    n_symbols
        Genes with a known symbol (None when not checked).
    has_sheet
        Whether a sample sheet was attached.
    sheet_columns
        The sheet's columns, described.
    notes
        What the reader changed or guessed (its notes and warnings).
    problems
        Problems found, each with its fix.
    """

    path: str
    format: str
    n_genes: int
    n_samples: int
    library_sizes: tuple[tuple[str, int], ...]
    n_zero_genes: int
    id_type: str | None = None
    organism: str | None = None
    versioned: bool = False
    n_symbols: int | None = None
    has_sheet: bool = False
    sheet_columns: tuple[SheetColumn, ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def to_text(self) -> str:
        """The report as printed by ``heatseq inspect``."""
        sizes = np.array([n for _, n in self.library_sizes], dtype=np.int64)
        lines = [f"File: {self.path}", f"Format: {self.format}"]
        genes = f"Genes: {self.n_genes:,}"
        if self.n_zero_genes:
            genes += (f" ({self.n_zero_genes:,} have zero counts in every sample; normal with a "
                      "whole-genome annotation)")
        lines += [genes, f"Samples: {self.n_samples:,}"]
        lines.append(f"Library sizes: min {int(sizes.min()):,}, median "
                     f"{_median(sizes):,}, max {int(sizes.max()):,}")
        width = max(len(s) for s, _ in self.library_sizes)
        num_width = len(f"{int(sizes.max()):,}")
        lines += [f"  {s:<{width}}  {n:>{num_width},}" for s, n in self.library_sizes]
        lines.append(self._ids_line())
        if self.has_sheet:
            lines.append(f"Sample sheet: {len(self.sheet_columns)} column(s)")
            lines += [f"  {c.describe()}" for c in self.sheet_columns]
        else:
            lines.append("Sample sheet: none given")
        if self.notes:
            lines.append("Notes:")
            lines += [f"  - {n}" for n in self.notes]
        if self.problems:
            lines.append("Problems:")
            lines += [f"  - {p}" for p in self.problems]
        else:
            lines.append("Problems: none found")
        return "\n".join(lines)

    def _ids_line(self) -> str:
        if self.id_type is None:
            return "Gene IDs: not checked (heatseq.annotation is not available)"
        if self.id_type not in _ID_LABELS:
            return "Gene IDs: not recognised"
        text = "Gene IDs: " + _ID_LABELS[self.id_type]
        if self.organism:
            text += f" ({self.organism})"
        if self.versioned:
            text += ", with version suffixes"
        if self.n_symbols is not None:
            text += (f"; symbols for {self.n_symbols:,} of {self.n_genes:,} "
                     f"({100 * self.n_symbols / self.n_genes:.1f}%)")
        return text


def _median(sizes: np.ndarray) -> int:
    return int(np.round(np.median(sizes)))


def _describe_column(name: str, values: pd.Series) -> SheetColumn:
    missing = int(values.isna().sum())
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        lo = float(present.min()) if len(present) else float("nan")
        hi = float(present.max()) if len(present) else float("nan")
        return SheetColumn(name, "numeric", minimum=lo, maximum=hi, n_missing=missing)
    counts = present.astype(str).value_counts()
    levels = tuple(sorted((str(k), int(v)) for k, v in counts.items()))
    kind: Literal["categorical", "identifier"] = "categorical"
    if len(levels) == len(values) and len(values) >= 3:
        kind = "identifier"
    return SheetColumn(name, kind, levels=levels, n_missing=missing)


def _sheet_problems(columns: tuple[SheetColumn, ...], samples: pd.DataFrame) -> list[str]:
    problems = []
    for c in columns:
        if c.n_missing:
            who = samples.index[samples[c.name].isna()]
            problems.append(f"Column {c.name!r} has no value for {c.n_missing} sample(s) "
                            f"({', '.join(map(str, who[:5]))}). Fill them in, or leave the "
                            "column out of the design.")
        one_level = (c.kind == "categorical" and len(c.levels) == 1) or (
            c.kind == "numeric" and c.minimum == c.maximum)
        if one_level:
            value = c.levels[0][0] if c.levels else f"{c.minimum:g}"
            problems.append(f"Column {c.name!r} has the same value ({value}) for every sample; "
                            "it cannot be used in a design. Leave it out of --design.")
        if c.kind == "categorical" and len(c.levels) > 1:
            single = [lv for lv, n in c.levels if n == 1]
            if single:
                problems.append(f"Column {c.name!r}: level(s) {', '.join(single[:5])} have a "
                                "single sample (no replicate); a comparison of those groups "
                                "needs at least two samples each. Add replicates, or merge or "
                                "drop those levels.")
    return problems


def _id_info(dataset: Dataset) -> tuple[str | None, str | None, bool, int | None]:
    try:
        from heatseq.annotation import detect_ids, map_symbols
    except ImportError:
        return None, None, False, None
    ids = dataset.gene_ids
    info = detect_ids(ids)
    known = dataset.symbols.notna().to_numpy()
    if info.id_type != "unknown":
        try:
            mapped = map_symbols(ids, organism=info.organism or "auto")
        except HeatseqError:
            mapped = None
        if mapped is not None:
            known = known | mapped.notna().to_numpy()
    n_symbols = int(known.sum()) if (info.id_type != "unknown" or known.any()) else None
    return info.id_type, info.organism, bool(info.versioned), n_symbols


def inspect_dataset(dataset: Dataset, *, notes: tuple[str, ...] = ()) -> InspectReport:
    """Describe a Dataset and list the problems found, each with its fix.

    Parameters
    ----------
    dataset
        Counts, with a sample sheet attached or not.
    notes
        Further notes to report (e.g. warnings issued while reading), besides
        ``dataset.source.notes``.

    Returns
    -------
    InspectReport
    """
    counts = dataset.counts.to_numpy()
    sizes = counts.sum(axis=1)
    lib = tuple((str(s), int(n)) for s, n in zip(dataset.sample_names, sizes, strict=True))
    n_zero = int((counts.sum(axis=0) == 0).sum())
    id_type, organism, versioned, n_symbols = _id_info(dataset)
    samples = dataset.samples
    has_sheet = samples.shape[1] > 0
    columns = tuple(_describe_column(str(c), samples[c]) for c in samples.columns)

    problems = []
    median = float(np.median(sizes))
    low = [(s, n) for s, n in lib if n < LOW_LIBRARY_FRACTION * median]
    for s, n in low:
        problems.append(f"Sample {s} has a small library: {n:,} reads, {n / median:.1%} of the "
                        f"median ({_median(sizes):,}). Check its sequencing and alignment; "
                        "consider removing it.")
    if dataset.n_samples < 2:
        problems.append("Only one sample: differential expression needs at least two groups "
                        "with replicates. Add the other samples.")
    if has_sheet:
        problems += _sheet_problems(columns, samples)
    else:
        problems.append("No sample sheet given; the design needs one. Give --samples "
                        "sheet.csv (first column: the sample names of the count table).")
    if id_type == "unknown":
        problems.append(f"Gene IDs such as {dataset.gene_ids[0]!r} were not recognised (not "
                        "Ensembl, Entrez, FlyBase or human/mouse/fly symbols): plots will show "
                        "the IDs and enrichment needs gene sets that use them.")

    all_notes = list(dataset.source.notes) if dataset.source else []
    all_notes += [n for n in notes if n not in all_notes]
    return InspectReport(
        path=dataset.source.path if dataset.source else "",
        format=dataset.source.format if dataset.source else "unknown",
        n_genes=dataset.n_genes, n_samples=dataset.n_samples, library_sizes=lib,
        n_zero_genes=n_zero, id_type=id_type, organism=organism, versioned=versioned,
        n_symbols=n_symbols, has_sheet=has_sheet, sheet_columns=columns,
        notes=tuple(all_notes), problems=tuple(problems))


def inspect_counts(path: str | os.PathLike[str], *,
                   samples: str | os.PathLike[str] | pd.DataFrame | None = None,
                   format: Literal["auto", "matrix", "featurecounts", "htseq", "star", "salmon",
                                   "kallisto", "rsem", "h5ad"] = "auto",
                   tx2gene: str | os.PathLike[str] | pd.DataFrame | None = None,
                   strand: Literal["unstranded", "forward", "reverse"] | None = None,
                   duplicates: Literal["error", "sum", "first"] = "error",
                   sheet: str | None = None) -> InspectReport:
    """Read counts (and a sample sheet) with :func:`heatseq.io.detect.read_counts` and
    describe them.

    The reader's warnings are collected into the report's notes rather than issued; an
    input that cannot be read raises its InputError as usual.

    Parameters
    ----------
    path
        Count file or folder.
    samples
        Sample sheet (path or DataFrame), optional.
    format, tx2gene, strand, duplicates, sheet
        As for :func:`heatseq.io.detect.read_counts`.

    Returns
    -------
    InspectReport
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HeatseqWarning)
        ds = read_counts(path, format=format, tx2gene=tx2gene, strand=strand,
                         duplicates=duplicates, sheet=sheet, samples=samples)
    ours = [str(w.message) for w in caught if issubclass(w.category, HeatseqWarning)]
    for w in caught:
        if not issubclass(w.category, HeatseqWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return inspect_dataset(ds, notes=tuple(ours))
