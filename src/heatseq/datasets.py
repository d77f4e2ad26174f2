"""Example data bundled with heatseq.

This module owns the files in ``heatseq/data/airway/`` (origin, citation and licence in
that folder's ``SOURCE.md``) and turns them into a :class:`~heatseq.dataset.Dataset`. The
bundled counts are read with a small private pandas call, independent of the general
readers in :mod:`heatseq.io`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from heatseq.annotation import annotate
from heatseq.dataset import Dataset, Source

__all__ = ["airway", "airway_files"]

_FIRST_COLUMNS = ("dex", "cell")


def airway_files() -> tuple[Path, Path]:
    """Paths of the bundled airway count table and sample sheet.

    Returns
    -------
    tuple of Path
        ``(counts.tsv.gz, samples.csv)``: a gzipped TSV with genes in rows (first column
        ``gene_id``) and a CSV with one row per sample (first column ``sample``), the
        layout the readers and the CLI take.

    Examples
    --------
    >>> counts, samples = airway_files()
    >>> counts.name, samples.name
    ('counts.tsv.gz', 'samples.csv')
    """
    folder = resources.files("heatseq").joinpath("data", "airway")
    counts, samples = Path(str(folder / "counts.tsv.gz")), Path(str(folder / "samples.csv"))
    for p in (counts, samples):
        if not p.is_file():  # pragma: no cover - a broken installation
            raise FileNotFoundError(f"heatseq's bundled file {p} is missing; reinstall heatseq.")
    return counts, samples


def airway() -> Dataset:
    """The airway dataset (Himes et al. 2014, GEO GSE52778): 8 samples x 64,102 genes.

    Four human airway smooth muscle cell lines, each untreated (``untrt``) and treated with
    dexamethasone (``trt``). The samples table keeps every column of the sample sheet, with
    ``dex`` and ``cell`` first; the genes table has a ``symbol`` column from heatseq's
    bundled human annotation (NaN for the GRCh37 IDs without a current symbol). The
    standard analysis is ``design="~ cell + dex"`` with
    ``contrast=("dex", "trt", "untrt")`` (``untrt`` is the reference).

    Returns
    -------
    Dataset

    Examples
    --------
    >>> ds = airway()
    >>> ds.n_samples, ds.n_genes
    (8, 64102)
    >>> int(ds.library_sizes["SRR1039508"])
    20637971
    >>> ds.samples.columns[:2].tolist()
    ['dex', 'cell']
    """
    counts_path, samples_path = airway_files()
    table = pd.read_csv(counts_path, sep="\t", index_col=0, compression="gzip",
                        dtype={"gene_id": str})
    counts = pd.DataFrame(table.to_numpy(dtype=np.int64).T, index=table.columns,
                          columns=table.index)
    samples = pd.read_csv(samples_path, dtype={"sample": str}).set_index("sample")
    rest = [c for c in samples.columns if c not in _FIRST_COLUMNS]
    samples = samples[[*_FIRST_COLUMNS, *rest]]
    ds = Dataset(counts, samples=samples, source=Source(
        path=str(counts_path), format="matrix",
        notes=("Bundled airway dataset (Himes et al. 2014, GEO GSE52778).",)))
    return annotate(ds, organism="human")
