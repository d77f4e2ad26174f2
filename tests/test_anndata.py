"""heatseq.io.anndata: Dataset <-> AnnData <-> .h5ad, round trips and bad inputs."""

from __future__ import annotations

import anndata
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from heatseq.dataset import Dataset, Source
from heatseq.datasets import airway
from heatseq.errors import InputError, InputWarning
from heatseq.io.anndata import from_anndata, read_h5ad, to_anndata, write_h5ad


@pytest.fixture
def small(rng) -> Dataset:
    genes = [f"ENSG{i:011d}" for i in range(1, 7)]
    samples = ["s1", "s2", "s3", "s4"]
    counts = pd.DataFrame(rng.integers(0, 1000, size=(4, 6)), index=samples, columns=genes)
    sample_table = pd.DataFrame({
        "condition": pd.Categorical(["ctrl", "trt", "ctrl", "trt"], categories=["trt", "ctrl"]),
        "batch": ["a", "a", "b", "b"],
        "age": [1, 2, 3, 4],
        "rin": [7.5, np.nan, 8.1, 9.0],
        "note": ["x", np.nan, "y", "z"],
    }, index=samples)
    gene_table = pd.DataFrame({"symbol": ["A", np.nan, "C", "D", "E", "F"],
                               "length": [100, 200, 300, 400, 500, 600]}, index=genes)
    lengths = pd.DataFrame(rng.uniform(100, 2000, size=(4, 6)), index=samples, columns=genes)
    extra = {"annotation": pd.DataFrame({"Chr": ["1", "2", np.nan, "X", "Y", "MT"],
                                         "Start": [1, 2, 3, 4, 5, 6]}, index=genes)}
    return Dataset(counts, samples=sample_table, genes=gene_table, lengths=lengths,
                   source=Source(path="counts.tsv", format="matrix", notes=("one note",)),
                   extra=extra)


def _assert_same(a: Dataset, b: Dataset) -> None:
    pd.testing.assert_frame_equal(a.counts, b.counts)
    pd.testing.assert_frame_equal(a.samples, b.samples)
    pd.testing.assert_frame_equal(a.genes, b.genes)
    if a.lengths is None:
        assert b.lengths is None
    else:
        pd.testing.assert_frame_equal(a.lengths, b.lengths)
    assert sorted(a.extra) == sorted(b.extra)
    for k in a.extra:
        pd.testing.assert_frame_equal(a.extra[k], b.extra[k])


def test_to_anndata_layout(small):
    ad = to_anndata(small)
    assert ad.shape == (4, 6)
    assert ad.X.dtype == np.int64
    np.testing.assert_array_equal(ad.X, small.counts.to_numpy())
    assert ad.obs_names.tolist() == small.sample_names.tolist()
    assert ad.var_names.tolist() == small.gene_ids.tolist()
    pd.testing.assert_frame_equal(ad.obs, small.samples)
    np.testing.assert_allclose(ad.layers["length"], small.lengths.to_numpy())
    info = ad.uns["heatseq"]
    assert (info["source_path"], info["source_format"], info["notes"]) == (
        "counts.tsv", "matrix", ["one note"])


def test_in_memory_round_trip(small):
    back = from_anndata(to_anndata(small))
    _assert_same(small, back)
    assert back.source == small.source


def test_h5ad_round_trip(small, tmp_path):
    path = write_h5ad(small, tmp_path / "small.h5ad")
    assert path == tmp_path / "small.h5ad"
    back = read_h5ad(path)
    _assert_same(small, back)
    assert back.samples["condition"].cat.categories.tolist() == ["trt", "ctrl"]
    assert back.source == Source(path=str(path), format="h5ad", notes=("one note",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.h5ad"]  # no temp files left


def test_h5ad_round_trip_of_airway(tmp_path):
    ds = airway()
    back = read_h5ad(write_h5ad(ds, tmp_path / "airway.h5ad", compression="lzf"))
    _assert_same(ds, back)
    assert back.genes["symbol"].isna().sum() == 64102 - 54533
    assert back.source.notes == ds.source.notes


def test_h5ad_written_by_heatseq_is_plain_anndata(small, tmp_path):
    path = write_h5ad(small, tmp_path / "x.h5ad", compression="none")
    ad = anndata.read_h5ad(path)
    assert ad.shape == (4, 6)
    assert ad.var["symbol"].astype(object).tolist()[:3] == ["A", np.nan, "C"]


def test_from_anndata_sparse_x_and_layer(small):
    ad = to_anndata(small)
    ad.X = sp.csr_matrix(ad.X)
    ad.layers["raw"] = small.counts.to_numpy() * 2
    pd.testing.assert_frame_equal(from_anndata(ad).counts, small.counts)
    doubled = from_anndata(ad, layer="raw")
    np.testing.assert_array_equal(doubled.counts.to_numpy(), small.counts.to_numpy() * 2)


def test_from_anndata_rounds_non_integer_values_with_a_warning():
    ad = anndata.AnnData(X=np.array([[0.5, 1.5, 2.0], [2.5, 3.49, 10.0]]),
                         obs=pd.DataFrame(index=["s1", "s2"]),
                         var=pd.DataFrame(index=["g1", "g2", "g3"]))
    with pytest.warns(InputWarning, match=r"AnnData X: 4 of 6 count values were not whole "
                                          r"numbers and were rounded \(largest change 0\.5\)"):
        ds = from_anndata(ad)
    # half to even, as R's round()
    np.testing.assert_array_equal(ds.counts.to_numpy(), [[0, 2, 2], [2, 3, 10]])
    assert "rounded" in ds.source.notes[-1]


def test_from_anndata_without_heatseq_info_has_no_source():
    ad = anndata.AnnData(X=np.ones((2, 2), dtype=np.int64),
                         obs=pd.DataFrame(index=["s1", "s2"]),
                         var=pd.DataFrame(index=["g1", "g2"]))
    ds = from_anndata(ad)
    assert ds.source is None and ds.lengths is None


# ---------------------------------------------------------------------- bad inputs
def test_missing_layer_lists_layers(small):
    ad = to_anndata(small)
    with pytest.raises(InputError, match=r"AnnData: there is no layer 'counts'; layers are: "
                                         r"'length'\. Pass layer=None to use X\."):
        from_anndata(ad, layer="counts")


def test_negative_and_nan_values_are_errors():
    obs, var = pd.DataFrame(index=["s1"]), pd.DataFrame(index=["g1", "g2"])
    with pytest.raises(InputError, match=r"negative values .*counts must be >= 0"):
        from_anndata(anndata.AnnData(X=np.array([[1.0, -2.0]]), obs=obs, var=var))
    with pytest.raises(InputError, match=r"NaN or infinite values .*gene 'g2'"):
        from_anndata(anndata.AnnData(X=np.array([[1.0, np.nan]]), obs=obs, var=var))


def test_from_anndata_needs_anndata():
    with pytest.raises(InputError, match=r"from_anndata\(\) needs an anndata\.AnnData; got "
                                         r"DataFrame"):
        from_anndata(pd.DataFrame({"a": [1]}))


def test_read_h5ad_of_a_text_file_is_an_error(tmp_path, data_dir):
    path = tmp_path / "counts.h5ad"
    path.write_text("gene_id\ts1\ng1\t5\n")
    with pytest.raises(InputError, match=r"counts\.h5ad is not an HDF5 file, so not an \.h5ad "
                                         r"\(AnnData\) file\."):
        read_h5ad(path)
    with pytest.raises(InputError, match=r"is not an HDF5 file"):
        read_h5ad(data_dir / "airway" / "counts.tsv.gz")


def test_read_h5ad_of_plain_hdf5_is_an_error(tmp_path):
    import h5py

    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as fh:
        fh["foo"] = np.arange(3)
    with pytest.raises(InputError, match=r"plain\.h5 is an HDF5 file but not an AnnData \(\.h5ad\)"
                                         r" file: it has no obs/var groups \(top level holds: "
                                         r"foo\)"):
        read_h5ad(path)


def test_read_h5ad_of_truncated_file_is_an_error(small, tmp_path):
    path = write_h5ad(small, tmp_path / "x.h5ad")
    data = path.read_bytes()
    cut = tmp_path / "cut.h5ad"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.h5ad is an HDF5 file that cannot be opened"):
        read_h5ad(cut)


def test_read_h5ad_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match=r"H5ad file not found: .*nope\.h5ad\. Check the path\."):
        read_h5ad(tmp_path / "nope.h5ad")
    with pytest.raises(InputError, match=r"is a folder; give an \.h5ad file"):
        read_h5ad(tmp_path)


def test_write_h5ad_refuses_to_overwrite_its_input(small, tmp_path):
    path = write_h5ad(small, tmp_path / "x.h5ad")
    ds = read_h5ad(path)
    before = path.read_bytes()
    with pytest.raises(InputError, match=r"Refusing to overwrite .*x\.h5ad: the dataset was read "
                                         r"from this file\. Write to another path\."):
        write_h5ad(ds, tmp_path / "." / "x.h5ad")
    assert path.read_bytes() == before
    write_h5ad(ds, tmp_path / "y.h5ad")  # elsewhere is fine


def test_write_h5ad_bad_targets(small, tmp_path):
    with pytest.raises(InputError, match=r"the folder .*missing does not exist"):
        write_h5ad(small, tmp_path / "missing" / "x.h5ad")
    with pytest.raises(InputError, match=r"is a folder; give a file name ending in \.h5ad"):
        write_h5ad(small, tmp_path)
    with pytest.raises(InputError, match=r"compression='zip' is not valid; choose one of gzip, "
                                         r"lzf, none\."):
        write_h5ad(small, tmp_path / "x.h5ad", compression="zip")


def test_failed_write_leaves_the_old_file_and_no_temp_file(small, tmp_path, monkeypatch):
    path = write_h5ad(small, tmp_path / "x.h5ad")
    before = path.read_bytes()

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(anndata.AnnData, "write_h5ad", boom)
    with pytest.raises(OSError, match="disk full"):
        write_h5ad(small, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5ad"]


def test_extra_that_h5ad_cannot_hold_is_left_out_with_a_warning(small, tmp_path):
    ds = Dataset(small.counts, extra={"callback": object()})
    with pytest.warns(InputWarning, match=r"Dataset\.extra\['callback'\] \(object\) cannot be "
                                          r"stored in an h5ad file and was left out\."):
        path = write_h5ad(ds, tmp_path / "x.h5ad")
    assert dict(read_h5ad(path).extra) == {}
