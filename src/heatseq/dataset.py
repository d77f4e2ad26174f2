"""The central data model: :class:`Dataset`.

A Dataset holds raw counts as a samples x genes table (the orientation of AnnData,
PyDESeq2 and scikit-learn), a samples table indexed by sample name and a genes table
indexed by gene ID. It is frozen and validated on construction: the three tables are
aligned, names are unique, counts are finite non-negative integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from heatseq.errors import InputError

__all__ = ["Dataset", "Source"]


@dataclass(frozen=True)
class Source:
    """Where a Dataset came from and what the reader noticed.

    Attributes
    ----------
    path
        The file or folder that was read.
    format
        The detected format, e.g. ``"matrix"``, ``"featurecounts"``, ``"salmon"``.
    notes
        One line per thing the reader changed, dropped or guessed, in plain words.
    """

    path: str
    format: str
    notes: tuple[str, ...] = ()


def _frozen_mapping(m: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class Dataset:
    """Raw counts with their sample and gene annotation.

    Parameters
    ----------
    counts
        Samples x genes, non-negative integers. The index holds sample names, the columns
        gene IDs.
    samples
        One row per sample, indexed like ``counts.index`` (the order is taken from
        ``counts``). Defaults to an empty table.
    genes
        One row per gene, indexed like ``counts.columns``; a ``symbol`` column when known.
        Defaults to an empty table.
    lengths
        Optional samples x genes average transcript lengths (tximport's ``length``
        matrix), for use as a normalisation offset.
    source
        Where the counts came from.
    extra
        Further per-gene or per-run tables a reader kept (e.g. featureCounts' annotation
        columns), by name.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = Dataset(pd.DataFrame({"g1": [1, 2], "g2": [0, 5]}, index=["s1", "s2"]))
    >>> ds.n_samples, ds.n_genes
    (2, 2)
    """

    counts: pd.DataFrame
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)
    genes: pd.DataFrame = field(default_factory=pd.DataFrame)
    lengths: pd.DataFrame | None = None
    source: Source | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts = self.counts
        if not isinstance(counts, pd.DataFrame):
            raise InputError("Dataset counts must be a pandas DataFrame (samples x genes).")
        if counts.shape[0] == 0 or counts.shape[1] == 0:
            raise InputError(
                f"The count table has {counts.shape[0]} samples and {counts.shape[1]} genes; "
                "it needs at least one of each."
            )
        samples_idx = pd.Index(counts.index.astype(str), name="sample")
        genes_idx = pd.Index(counts.columns.astype(str), name="gene_id")
        _check_unique(samples_idx, "sample name")
        _check_unique(genes_idx, "gene ID")
        values = _as_count_values(counts)
        counts = pd.DataFrame(values, index=samples_idx, columns=genes_idx)

        samples = self.samples if self.samples is not None else pd.DataFrame()
        samples = _align(samples, samples_idx, "samples", "sample")
        genes = self.genes if self.genes is not None else pd.DataFrame()
        genes = _align(genes, genes_idx, "genes", "gene")

        lengths = self.lengths
        if lengths is not None:
            lengths = lengths.copy()
            lengths.index = lengths.index.astype(str)
            lengths.columns = lengths.columns.astype(str)
            if set(lengths.index) != set(samples_idx) or set(lengths.columns) != set(genes_idx):
                raise InputError("The lengths table must have the same samples and genes as counts.")
            lengths = lengths.loc[samples_idx, genes_idx].astype(float)
            lengths.index.name, lengths.columns.name = "sample", "gene_id"

        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "genes", genes)
        object.__setattr__(self, "lengths", lengths)
        object.__setattr__(self, "extra", _frozen_mapping(self.extra))

    # ------------------------------------------------------------------ properties
    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.counts.shape[0])

    @property
    def n_genes(self) -> int:
        """Number of genes."""
        return int(self.counts.shape[1])

    @property
    def sample_names(self) -> pd.Index:
        """Sample names, in count-table order."""
        return self.counts.index

    @property
    def gene_ids(self) -> pd.Index:
        """Gene IDs, in count-table order."""
        return self.counts.columns

    @property
    def library_sizes(self) -> pd.Series:
        """Total counts per sample."""
        return self.counts.sum(axis=1).rename("library_size")

    @property
    def symbols(self) -> pd.Series:
        """Gene symbol per gene ID (NaN where unknown)."""
        if "symbol" in self.genes.columns:
            return self.genes["symbol"]
        return pd.Series(np.nan, index=self.gene_ids, name="symbol", dtype=object)

    # ------------------------------------------------------------------ derivation
    def with_samples(self, samples: pd.DataFrame) -> Dataset:
        """A copy with another samples table (indexed by sample name)."""
        return Dataset(self.counts, samples=samples, genes=self.genes, lengths=self.lengths,
                       source=self.source, extra=self.extra)

    def with_genes(self, genes: pd.DataFrame) -> Dataset:
        """A copy with another genes table (indexed by gene ID)."""
        return Dataset(self.counts, samples=self.samples, genes=genes, lengths=self.lengths,
                       source=self.source, extra=self.extra)

    def subset(self, *, samples: object = None, genes: object = None) -> Dataset:
        """A copy restricted to the given sample names and/or gene IDs (in that order)."""
        s = self.sample_names if samples is None else pd.Index(samples).astype(str)
        g = self.gene_ids if genes is None else pd.Index(genes).astype(str)
        lengths = None if self.lengths is None else self.lengths.loc[s, g]
        return Dataset(self.counts.loc[s, g], samples=self.samples.loc[s],
                       genes=self.genes.loc[g], lengths=lengths, source=self.source,
                       extra=self.extra)

    def __repr__(self) -> str:
        fmt = f", format={self.source.format!r}" if self.source else ""
        cols = ", ".join(map(str, self.samples.columns[:6]))
        return (f"Dataset({self.n_samples} samples x {self.n_genes} genes{fmt}; "
                f"sample columns: [{cols}])")


def _check_unique(idx: pd.Index, what: str) -> None:
    dup = idx[idx.duplicated()].unique()
    if len(dup):
        shown = ", ".join(map(str, dup[:5])) + (" ..." if len(dup) > 5 else "")
        raise InputError(f"{len(dup)} duplicated {what}(s): {shown}. Each {what} must be unique.")


def _as_count_values(counts: pd.DataFrame) -> np.ndarray:
    try:
        values = counts.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Counts must be numeric: {exc}") from None
    if not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0]
        raise InputError(
            f"Counts contain NaN or infinite values (first at sample {counts.index[bad[0]]!r}, "
            f"gene {counts.columns[bad[1]]!r}); counts must be finite."
        )
    if (values < 0).any():
        bad = np.argwhere(values < 0)[0]
        raise InputError(
            f"Counts contain negative values (first at sample {counts.index[bad[0]]!r}, "
            f"gene {counts.columns[bad[1]]!r}: {values[bad[0], bad[1]]}); counts must be >= 0."
        )
    if not np.array_equal(values, np.round(values)):
        raise InputError("Counts must be whole numbers; round estimated counts first "
                         "(the readers do this with a warning).")
    return values.astype(np.int64)


def _align(table: pd.DataFrame, idx: pd.Index, what: str, noun: str) -> pd.DataFrame:
    if table.shape[0] == 0 and table.shape[1] == 0:
        return pd.DataFrame(index=idx)
    table = table.copy()
    table.index = table.index.astype(str)
    _check_unique(table.index, f"{noun} in the {what} table")
    missing = idx.difference(table.index, sort=False)
    if len(missing):
        shown = ", ".join(map(str, missing[:5]))
        raise InputError(f"The {what} table lacks {len(missing)} {noun}(s) of the counts: {shown}.")
    table = table.loc[idx]
    table.index.name = idx.name
    return table
