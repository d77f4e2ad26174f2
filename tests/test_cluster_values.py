"""heatseq.cluster values: transform, row scaling (against independent pandas code), colour
limits, gene selection, sample distances and the distance kernels (against scipy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from heatseq import Dataset, InputError, InputWarning
from heatseq.cluster import (
    colour_limit,
    expression_values,
    sample_distances,
    scale_rows,
    select_genes,
)
from heatseq.cluster.distance import condensed_distances
from heatseq.de.vst import variance_stabilizing_transformation


@pytest.fixture
def values(rng) -> pd.DataFrame:
    x = rng.normal(8.0, 2.0, size=(40, 6))
    return pd.DataFrame(x, index=[f"g{i}" for i in range(40)],
                        columns=[f"s{j}" for j in range(6)])


# ------------------------------------------------------------------ scaling
def test_row_zscores_equal_independent_pandas(values):
    z, notes = scale_rows(values)
    ref = values.sub(values.mean(axis=1), axis=0).div(values.std(axis=1, ddof=1), axis=0)
    np.testing.assert_allclose(z.to_numpy(), ref.to_numpy(), rtol=1e-13, atol=1e-13)
    assert notes == ()
    assert list(z.index) == list(values.index) and list(z.columns) == list(values.columns)


def test_center_and_none(values):
    c, _ = scale_rows(values, scale="center")
    np.testing.assert_allclose(c.to_numpy(), values.sub(values.mean(axis=1), axis=0).to_numpy(),
                               atol=1e-13)
    n, notes = scale_rows(values, scale="none")
    np.testing.assert_array_equal(n.to_numpy(), values.to_numpy())
    assert notes == ()


def test_constant_nan_and_inf_rows_are_handled_with_notes(values):
    v = values.copy()
    v.iloc[0] = 5.0                      # constant
    v.iloc[1, 2] = np.nan                # one missing value
    v.iloc[2] = np.nan                   # nothing at all
    v.iloc[3, 0] = np.inf                # infinite
    z, notes = scale_rows(v)
    assert (z.iloc[0] == 0).all()
    assert np.isnan(z.iloc[1, 2]) and np.isfinite(z.iloc[1].drop("s2")).all()
    # the NaN row's z-scores use its 5 other values (pandas skips NaN the same way)
    ref = v.iloc[1].drop("s2")
    np.testing.assert_allclose(z.iloc[1].drop("s2"), (ref - ref.mean()) / ref.std(ddof=1),
                               atol=1e-13)
    assert z.iloc[2].isna().all()
    assert np.isnan(z.iloc[3, 0])
    assert notes == (
        "1 infinite value(s) in 1 row(s) treated as missing.",
        "8 missing value(s) in 3 row(s) are drawn in the NA colour and count as the row mean "
        "(0 after centring) for clustering; 1 row(s) have no value at all.",
        "1 constant row (no variation across samples) shown as 0.",
    )


def test_row_zscores_need_two_samples():
    one = pd.DataFrame({"s1": [1.0, 2.0]}, index=["a", "b"])
    with pytest.raises(InputError, match=r"Row z-scores need at least 2 samples; the table has 1 "
                                         r"\(s1\)\. Use scale='none'"):
        scale_rows(one)
    with pytest.raises(InputError, match=r"scale='rows' is not valid; choose one of: row, none, "
                                         r"center\."):
        scale_rows(one, scale="rows")


def test_colour_limit(values):
    z, _ = scale_rows(values)
    q = np.percentile(np.abs(z.to_numpy()), 99)
    lim = colour_limit(z)
    assert q <= lim <= q * 1.1 and lim == float(f"{lim:.2g}")
    assert colour_limit(z, clip=2.5) == 2.5
    assert colour_limit(z, clip=None) is None
    assert colour_limit(values, scale="none") is None
    with pytest.raises(InputError, match=r"clip=-1 is not valid; give 'auto', None or a positive"):
        colour_limit(z, clip=-1)


# ------------------------------------------------------------------ transform
@pytest.fixture
def counts_ds(rng) -> Dataset:
    mu = rng.lognormal(4, 1.5, size=300)
    k = rng.negative_binomial(5, 5 / (5 + mu[None, :]), size=(6, 300))
    genes = pd.DataFrame({"symbol": [f"SYM{i}" for i in range(300)]},
                         index=[f"ENSG{i:05d}" for i in range(300)])
    return Dataset(pd.DataFrame(k, index=[f"s{j}" for j in range(6)], columns=genes.index),
                   genes=genes)


def test_dataset_gets_vst(counts_ds):
    v = expression_values(counts_ds)
    ref = variance_stabilizing_transformation(counts_ds.counts.to_numpy(), blind=True).values
    np.testing.assert_allclose(v.to_numpy(), np.asarray(ref).T, rtol=1e-12)
    assert v.shape == (300, 6) and v.index.name == "gene_id"
    assert v.attrs["transform_note"] == "Values: DESeq2 varianceStabilizingTransformation (blind)."


def test_integer_table_is_counts_and_decimal_table_is_drawn_as_given(counts_ds):
    table = counts_ds.counts.T
    v = expression_values(table)
    np.testing.assert_allclose(v.to_numpy(), expression_values(counts_ds).to_numpy())
    logs = np.log2(table + 1.5)
    out = expression_values(logs)
    np.testing.assert_array_equal(out.to_numpy(), logs.to_numpy())
    assert out.attrs["transform_note"] == "Values: values drawn as given (no transform)."


def test_log2_transform(counts_ds):
    from heatseq.de.sizefactors import size_factors

    k = counts_ds.counts.to_numpy()
    want = np.log2(k / size_factors(k)[:, None] + 1).T
    np.testing.assert_allclose(expression_values(counts_ds, transform="log2").to_numpy(), want)
    tpm = pd.DataFrame([[0.5, 3.0], [7.25, 0.0]], index=["a", "b"], columns=["x", "y"])
    np.testing.assert_allclose(expression_values(tpm, transform="log2").to_numpy(),
                               np.log2(tpm.to_numpy() + 1))


def test_transform_errors(counts_ds):
    logs = np.log2(counts_ds.counts.T + 0.5)
    with pytest.raises(InputError, match=r"transform='vst' needs raw counts .* use "
                                         r"transform='none'"):
        expression_values(logs, transform="vst")
    with pytest.raises(InputError, match=r"transform='log2' needs non-negative values, but the "
                                         r"expression table has values down to -1"):
        expression_values(logs, transform="log2")
    with pytest.raises(InputError, match=r"transform='rlog' is not valid; choose one of: auto, "
                                         r"vst, log2, none\."):
        expression_values(counts_ds, transform="rlog")
    with pytest.raises(InputError, match=r"has 0 genes and 2 samples"):
        expression_values(pd.DataFrame(columns=["a", "b"], dtype=float))


# ------------------------------------------------------------------ selection
def test_select_top_variance_ties_keep_table_order():
    v = pd.DataFrame({"a": [0, 0, 1, 0, 5.0], "b": [1, 2, 0, 1, 0.0]},
                     index=["g1", "g2", "g3", "g4", "g5"])
    # variances: g1 0.5, g2 2, g3 0.5, g4 0.5, g5 12.5
    sel = select_genes(v, n=3)
    assert list(sel.ids) == ["g5", "g2", "g1"]
    assert sel.caption == "3 of 5 genes (top variance)"
    assert list(select_genes(v, by="all").ids) == ["g1", "g2", "g3", "g4", "g5"]


def test_select_top_variance_of_dataset_uses_vst(counts_ds):
    sel = select_genes(counts_ds, n=20)
    v = expression_values(counts_ds)
    want = v.var(axis=1, ddof=1).sort_values(ascending=False, kind="stable").index[:20]
    assert list(sel.ids) == list(want)


def test_select_list_case_insensitive_ids_and_symbols(counts_ds):
    with pytest.warns(InputWarning, match=r"2 of 4 names in the gene list matched no gene ID or "
                                          r"symbol and are left out: NOPE, xyz1\."):
        sel = select_genes(counts_ds, by="list", genes=["sym3", "ensg00007", "NOPE", "xyz1"])
    assert list(sel.ids) == ["ENSG00003", "ENSG00007"]
    assert sel.unknown == ("NOPE", "xyz1")
    assert sel.caption == "2 of 300 genes (gene list; 2 names not found)"


def test_select_list_errors(counts_ds):
    with pytest.raises(InputError, match=r"The gene list is empty; give at least one gene ID or "
                                         r"symbol\."):
        select_genes(counts_ds, by="list", genes=["", "  "])
    with pytest.raises(InputError, match=r"None of the 2 names in the gene list matched a gene ID "
                                         r"or symbol: FOO, BAR\. Gene IDs look like 'ENSG00000'"):
        select_genes(counts_ds, by="list", genes=["FOO", "BAR"])
    with pytest.raises(InputError, match=r"by='list' needs genes="):
        select_genes(counts_ds, by="list")
    with pytest.raises(InputError, match=r"by='variance' is not valid; choose one of: "
                                         r"top_variance, de, list, all\."):
        select_genes(counts_ds, by="variance")
    with pytest.raises(InputError, match=r"n=0 is not valid"):
        select_genes(counts_ds, n=0)


def test_select_de_genes():
    de = pd.DataFrame({"padj": [0.01, 0.2, 0.001, 0.05, np.nan, 0.03],
                       "pvalue": [0.001, 0.1, 0.0001, 0.01, np.nan, 0.003],
                       "log2FoldChange": [2.0, 3.0, -1.0, 0.5, 4.0, -2.5]},
                      index=["a", "b", "c", "d", "e", "f"])
    v = pd.DataFrame(np.ones((6, 2)), index=list("abcdef"), columns=["x", "y"])
    sel = select_genes(v, by="de", de_result=de, n=3)
    assert list(sel.ids) == ["c", "a", "f"]
    assert sel.caption == "3 of 6 genes (DE, padj < 0.1; smallest padj of 4)"
    sel = select_genes(v, by="de", de_result=de, n=2, lfc_threshold=1)
    assert list(sel.ids) == ["c", "a"]
    sel = select_genes(v, by="de", de_result=de, n=4, balanced=True)
    assert list(sel.ids) == ["c", "a", "f", "d"]
    sel = select_genes(v, by="de", de_result=de, n=2, balanced=True)
    assert list(sel.ids) == ["c", "a"] and "1 up, 1 down" in sel.caption
    with pytest.raises(InputError, match=r"No gene has padj < 0\.0001 and \|log2FoldChange\| >= "
                                         r"0 in the DE result"):
        select_genes(v, by="de", de_result=de, alpha=1e-4)
    with pytest.raises(InputError, match=r"by='de' needs de_result="):
        select_genes(v, by="de")


# ------------------------------------------------------------------ distances
@pytest.mark.parametrize(("metric", "scipy_metric"), [
    ("euclidean", "euclidean"), ("correlation", "correlation"), ("cosine", "cosine"),
    ("manhattan", "cityblock")])
def test_distances_equal_scipy(rng, metric, scipy_metric):
    x = rng.normal(size=(700, 9)) * rng.lognormal(size=(700, 1)) + 3.0
    np.testing.assert_allclose(condensed_distances(x, metric=metric), pdist(x, scipy_metric),
                               rtol=1e-11, atol=1e-13)


def test_spearman_distance_equals_scipy(rng):
    x = rng.normal(size=(50, 7))
    x[:, 3] = x[:, 2]  # rank ties
    rho = spearmanr(x, axis=1).statistic
    want = 1 - rho[np.triu_indices(50, k=1)]
    np.testing.assert_allclose(condensed_distances(x, metric="spearman"), want, atol=1e-14)


def test_close_and_identical_rows_are_exact(rng):
    # identical rows are exactly 0 apart and near-duplicates keep full relative precision,
    # which the product form alone would not give
    base = rng.normal(size=(30, 40)) * 10 + 100
    x = np.vstack([base, base, base + 1e-7 * rng.normal(size=base.shape)])
    d = condensed_distances(x)
    ref = pdist(x)
    assert (d[ref == 0] == 0).all()
    np.testing.assert_allclose(d, ref, rtol=1e-9, atol=0)


def test_constant_rows_under_correlation():
    x = np.array([[1.0, 2, 3], [3.0, 3, 3], [2.0, 4, 6.5], [7.0, 7, 7]])
    d = condensed_distances(x, metric="correlation")
    # pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3): constant rows are 1 from others, 0 from each other
    np.testing.assert_allclose(d, [1, pdist(x[[0, 2]], "correlation")[0], 1, 1, 0, 1], atol=1e-14)


def test_distance_input_errors():
    with pytest.raises(InputError, match=r"metric='pearson' is not valid; choose one of: "
                                         r"euclidean, correlation, spearman, cosine, manhattan\."):
        condensed_distances(np.ones((3, 2)), metric="pearson")
    with pytest.raises(InputError, match=r"Distances need finite values"):
        condensed_distances(np.array([[1.0, np.nan], [1.0, 2.0]]))


def test_sample_distances(values):
    d = sample_distances(values)
    assert d.shape == (6, 6) and (np.diag(d) == 0).all()
    np.testing.assert_allclose(d.to_numpy(), d.to_numpy().T)
    np.testing.assert_allclose(d.loc["s0", "s3"],
                               np.sqrt(((values["s0"] - values["s3"]) ** 2).sum()), rtol=1e-12)
    c = sample_distances(values, metric="correlation")
    np.testing.assert_allclose(c.loc["s1", "s2"], 1 - np.corrcoef(values["s1"], values["s2"])[0, 1],
                               atol=1e-14)
    with pytest.raises(InputError, match=r"Sample distances need at least 2 samples; the table "
                                         r"has 1\."):
        sample_distances(values[["s0"]])


def test_transform_is_recorded_for_the_legend(counts_ds):
    from heatseq.cluster import cluster

    v = expression_values(counts_ds)
    assert v.attrs["transform"] == "vst"
    sel = select_genes(v, n=30)
    c = cluster(v.loc[sel.ids], k=2)
    assert c.params["transform"] == "vst"
    assert c.notes[0] == "Values: DESeq2 varianceStabilizingTransformation (blind)."
    logs = expression_values(counts_ds, transform="log2")
    assert cluster(logs.iloc[:30], k=2).params["transform"] == "log2"
    plain = pd.DataFrame(logs.iloc[:30].to_numpy(), index=logs.index[:30], columns=logs.columns)
    assert cluster(plain, k=2).params["transform"] == "none"
    assert cluster(plain, k=2, transform="vst").params["transform"] == "vst"
