"""heatseq.datasets: the bundled airway dataset against the reference copy in tests/data/airway
(GEO GSE52778 via Bioconductor airway 1.23.0; library sizes from its SOURCE.md)."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.datasets import airway, airway_files

SAMPLES = ["SRR1039508", "SRR1039509", "SRR1039512", "SRR1039513",
           "SRR1039516", "SRR1039517", "SRR1039520", "SRR1039521"]


def test_airway_files_are_the_reference_files(data_dir):
    counts, samples = airway_files()
    assert counts.is_file() and samples.is_file()
    assert counts.read_bytes() == (data_dir / "airway" / "counts.tsv.gz").read_bytes()
    assert samples.read_bytes() == (data_dir / "airway" / "samples.csv").read_bytes()
    # md5 of the uncompressed text, as stated in SOURCE.md
    text = gzip.decompress(counts.read_bytes())
    assert hashlib.md5(text).hexdigest() == "06d232f0ff4f88327d78c8ee2908109d"
    assert (counts.parent / "SOURCE.md").is_file()


def test_airway_shape_and_library_sizes():
    ds = airway()
    assert isinstance(ds, Dataset)
    assert (ds.n_samples, ds.n_genes) == (8, 64102)
    assert ds.sample_names.tolist() == SAMPLES
    assert int(ds.library_sizes["SRR1039508"]) == 20_637_971
    sizes = ds.library_sizes
    assert (int(sizes.min()), int(sizes.median()), int(sizes.max())) == (15_163_415, 20_901_052,
                                                                         30_818_215)
    assert int((ds.counts.sum(axis=0) == 0).sum()) == 30633  # all-zero genes, per SOURCE.md


def test_airway_counts_equal_an_independent_read(data_dir):
    ref = pd.read_csv(data_dir / "airway" / "counts.tsv.gz", sep="\t", index_col=0)
    ds = airway()
    assert ds.counts.dtypes.eq(np.int64).all()
    np.testing.assert_array_equal(ds.counts.to_numpy(), ref.to_numpy().T)
    assert ds.gene_ids.tolist() == ref.index.tolist()


def test_airway_samples_keep_every_column_with_dex_and_cell_first(data_dir):
    ref = pd.read_csv(data_dir / "airway" / "samples.csv").set_index("sample")
    samples = airway().samples
    assert samples.columns.tolist()[:2] == ["dex", "cell"]
    assert sorted(samples.columns) == sorted(ref.columns)
    pd.testing.assert_frame_equal(samples[ref.columns], ref.rename_axis("sample"))
    assert samples["dex"].tolist() == ["untrt", "trt"] * 4
    assert samples["cell"].nunique() == 4


def test_airway_has_gene_symbols():
    ds = airway()
    symbols = ds.genes["symbol"]
    assert symbols["ENSG00000120129"] == "DUSP1"
    assert symbols["ENSG00000096060"] == "FKBP5"
    assert symbols["ENSG00000103196"] == "CRISPLD2"
    assert int(symbols.notna().sum()) == 54533  # 85.1%, as annotation SOURCE.md
    assert "54,533 of 64,102" in ds.source.notes[-1]


def test_airway_returns_independent_copies():
    a, b = airway(), airway()
    a.counts.iloc[0, 0] = -1
    assert b.counts.iloc[0, 0] != -1
