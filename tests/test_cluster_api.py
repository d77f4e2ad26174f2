"""heatseq.cluster.cluster: modules, summaries, edge cases (1-3 samples, 1 gene, NaN and
constant rows), the memory plan, and every user-facing error."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import cophenet, dendrogram, fcluster
from scipy.cluster.hierarchy import linkage as scipy_linkage

from heatseq import InputError
from heatseq.cluster import (
    Clustering,
    choose_k,
    cluster,
    cut_modules,
    dendrogram_coordinates,
    leaf_order,
    linkage,
    modules_table,
)

SAMPLES = pd.DataFrame({"dex": ["untrt", "trt"] * 4, "cell": list("aabbccdd")},
                       index=[f"s{j}" for j in range(8)])


@pytest.fixture
def three_modules(rng) -> pd.DataFrame:
    """60 genes in 3 known groups: up in trt, down in trt, and up in cell 'a' samples."""
    trt = (SAMPLES["dex"] == "trt").to_numpy(float)
    cell_a = (SAMPLES["cell"] == "a").to_numpy(float)
    patterns = [3 * trt, -3 * trt, 4 * cell_a]
    rows = [8 + p + rng.normal(0, 0.3, size=8) for p in patterns for _ in range(20)]
    ids = [f"ENSG{i:03d}" for i in range(60)]
    order = rng.permutation(60)
    return pd.DataFrame(np.array(rows)[order], index=np.array(ids)[order], columns=SAMPLES.index)


def truth(ids) -> np.ndarray:
    return np.array([int(g[4:]) // 20 for g in ids])


def test_modules_recover_groups_and_are_numbered_top_to_bottom(three_modules):
    labels = pd.Series({g: f"GENE{int(g[4:])}" for g in three_modules.index})
    c = cluster(three_modules, samples=SAMPLES, condition="dex", gene_labels=labels)
    assert isinstance(c, Clustering)
    assert c.params["k_used"] == 3 and c.params["k_method"] == "silhouette"
    assert max(c.params["k_scores"], key=c.params["k_scores"].get) == 3
    mods = c.modules
    assert list(mods.index) == list(c.row_order)
    # numbered 1..k in drawing order, each module a contiguous block
    first_seen = pd.unique(mods.to_numpy())
    assert list(first_seen) == [1, 2, 3]
    assert (np.diff(mods.to_numpy()) >= 0).all()
    # same partition as the truth
    t = pd.Series(truth(mods.index), index=mods.index)
    assert pd.crosstab(mods, t).gt(0).sum(axis=1).eq(1).all()
    by_truth = {int(t[mods == m].iloc[0]): s for m, s in
                zip(range(1, 4), c.module_summaries, strict=True)}
    assert by_truth[0].text.startswith(f"Module {by_truth[0].module}, 20 genes: high in trt, "
                                       "low in untrt; top genes GENE")
    assert "high in untrt, low in trt" in by_truth[1].text
    assert "no clear difference between untrt, trt (|difference| < 0.5)" in by_truth[2].text
    assert by_truth[0].mean_z["trt"] > 0.8 and by_truth[0].mean_z["untrt"] < -0.8
    assert all(g.startswith("GENE") and int(g[4:]) < 20 for g in by_truth[0].top_genes)
    assert set(by_truth[0].genes) == {f"ENSG{i:03d}" for i in range(20)}


def test_modules_table(three_modules):
    c = cluster(three_modules, k=3)
    tab = modules_table(c, samples=SAMPLES, condition="dex")
    assert list(tab.columns) == ["gene_id", "symbol", "module", "mean_z_untrt", "mean_z_trt"]
    assert list(tab["gene_id"]) == list(c.row_order)
    z = c.values.loc[tab["gene_id"]]
    want = z[SAMPLES.index[SAMPLES["dex"] == "trt"]].mean(axis=1)
    np.testing.assert_allclose(tab["mean_z_trt"].to_numpy(), want.to_numpy(), atol=1e-13)
    assert (tab["symbol"] == tab["gene_id"]).all()  # no labels given: IDs shown
    with pytest.raises(InputError, match=r"Condition column 'treatment' is not in the samples "
                                         r"table; columns are: dex, cell\."):
        modules_table(c, samples=SAMPLES, condition="treatment")


def test_cut_modules_matches_scipy_partition_and_height(three_modules):
    c = cluster(three_modules, k=2)
    for k in (2, 3, 5, 60):
        mods = cut_modules(c.row_linkage, c.values.index, k=k)
        ref = fcluster(c.row_linkage, k, criterion="maxclust")
        ref = pd.Series(ref, index=c.values.index).loc[mods.index]
        assert mods.nunique() == k
        assert pd.crosstab(mods, ref).gt(0).sum(axis=1).eq(1).all()
    h = c.row_linkage[-3, 2]
    assert cut_modules(c.row_linkage, c.values.index, height=h).nunique() == 3
    with pytest.raises(InputError, match=r"Give exactly one of k \(number of modules\) or height"):
        cut_modules(c.row_linkage, c.values.index)
    with pytest.raises(InputError, match=r"k=61 modules is out of range; choose 1 to 60"):
        cut_modules(c.row_linkage, c.values.index, k=61)


def test_height_gap_criterion(three_modules):
    c = cluster(three_modules, k_method="height_gap")
    z = c.row_linkage
    gaps = {k: z[-k + 1, 2] - z[-k, 2] for k in range(2, 9)}
    assert c.params["k_used"] == max(gaps, key=gaps.get)
    k, scores = choose_k(c.values.to_numpy(), z, k_method="height_gap")
    assert k == c.params["k_used"] and scores == pytest.approx(gaps)


def test_result_fields(three_modules):
    c = cluster(three_modules, caption_prefix="60 of 1,000 genes (top variance)",
                timings={"select": 0.5})
    assert c.caption == "60 of 1,000 genes (top variance); row z-scores; euclidean, complete linkage"
    assert set(c.timings) == {"select", "scale", "distances", "linkage", "order", "modules",
                              "cpu_distances", "cpu_linkage"}
    assert c.timings["select"] == 0.5
    assert c.params["method"] == "complete" and c.params["scale"] == "row"
    assert c.values.index.equals(three_modules.index)  # original order kept
    assert sorted(c.col_order) == sorted(SAMPLES.index)
    assert c.ordered_values.index.equals(c.row_order)
    # samples cluster by treatment: the first 4 drawn are one dex level
    assert SAMPLES.loc[c.col_order[:4], "dex"].nunique() == 1
    with pytest.raises(TypeError):
        c.params["k"] = 3  # read-only


def test_optimal_ordering_and_given_col_order(three_modules):
    plain = cluster(three_modules, k=3)
    opt = cluster(three_modules, k=3, optimal_ordering=True)
    np.testing.assert_allclose(cophenet(opt.row_linkage), cophenet(plain.row_linkage))
    order = list(reversed(SAMPLES.index))
    c = cluster(three_modules, col_order=order, k=2)
    assert list(c.col_order) == order and c.col_linkage is None
    assert c.caption.endswith("euclidean, complete linkage; samples in the given order")
    with pytest.raises(InputError, match=r"col_order must list every sample exactly once "
                                         r"\(not samples: sX; missing: s7\)"):
        cluster(three_modules, col_order=[*order[1:], "sX"])


def test_one_two_three_samples_and_one_gene(rng):
    for n in (2, 3):
        v = pd.DataFrame(rng.normal(size=(12, n)), index=[f"g{i}" for i in range(12)],
                         columns=[f"s{j}" for j in range(n)])
        c = cluster(v)
        assert len(c.row_order) == 12 and len(c.col_order) == n
        z = v.sub(v.mean(axis=1), axis=0).div(v.std(axis=1), axis=0)
        np.testing.assert_allclose(c.values.to_numpy(), z.to_numpy(), atol=1e-12)
        assert c.modules is not None and 1 <= c.modules.nunique() <= 8
    one = pd.DataFrame({"s0": rng.normal(size=5)}, index=[f"g{i}" for i in range(5)])
    c = cluster(one, cluster_cols=False, scale="none")
    assert list(c.col_order) == ["s0"] and c.col_linkage is None
    np.testing.assert_allclose(sorted(c.values["s0"]), c.values.loc[c.row_order, "s0"]
                               .sort_values().to_numpy())
    gene = pd.DataFrame([[1.0, 3.0, 2.0]], index=["g1"], columns=["a", "b", "c"])
    c = cluster(gene)
    assert list(c.row_order) == ["g1"] and c.row_linkage is None and c.modules is None
    # z-scores -1, 1, 0: a and c merge first; a single column comes before a cluster (R's rule)
    assert list(c.col_order) == ["b", "a", "c"]
    assert "A single gene: rows are not clustered and there are no modules." in c.notes


def test_constant_and_nan_rows_cluster_without_error(rng):
    v = pd.DataFrame(rng.normal(size=(20, 5)), index=[f"g{i}" for i in range(20)],
                     columns=list("abcde"))
    v.iloc[3] = 2.0
    v.iloc[4] = 7.0
    v.iloc[5, 1] = np.nan
    v.iloc[6] = np.nan
    v.iloc[7, 0] = -np.inf
    for metric in ("euclidean", "correlation", "spearman", "cosine", "manhattan"):
        c = cluster(v, row_metric=metric, col_metric=metric, k=3)
        assert sorted(c.row_order) == sorted(v.index)
        assert np.isfinite(c.row_linkage[:, 2]).all()
        assert np.isnan(c.values.loc["g5", "b"]) and c.values.loc["g6"].isna().all()
        # the two constant rows are merged first, at distance 0
        merged = {int(a) for a, b, h, _ in c.row_linkage if h == 0 for a in (a, b)}
        assert {3, 4} <= merged
    assert any("constant rows" in n for n in c.notes)
    assert any("infinite" in n for n in c.notes) and any("missing" in n for n in c.notes)


def test_vector_route_for_ward_equals_matrix_route(rng):
    x = rng.normal(size=(300, 6))
    x[:100] += 3
    v = pd.DataFrame(x, index=[f"g{i}" for i in range(300)], columns=list("abcdef"))
    small = cluster(v, method="ward.D2", max_matrix_gb=1e-5, k=2)
    big = cluster(v, method="ward.D2", k=2)
    assert small.params["row_algorithm"].startswith("fastcluster.linkage_vector('ward')")
    assert big.params["row_algorithm"].startswith("blocked BLAS euclidean distances")
    np.testing.assert_allclose(cophenet(small.row_linkage), cophenet(big.row_linkage),
                               rtol=1e-10)
    # and both equal scipy's ward on the z-scored rows (R's ward.D2)
    ref = scipy_linkage(small.values.to_numpy(), method="ward")
    np.testing.assert_allclose(cophenet(big.row_linkage), cophenet(ref), rtol=1e-10)
    single = cluster(v, method="single", max_matrix_gb=1e-5, k=2)
    ref = scipy_linkage(single.values.to_numpy(), method="single")
    np.testing.assert_allclose(cophenet(single.row_linkage), cophenet(ref), rtol=1e-10)


def test_memory_refusal_names_the_size_and_the_ways_out(rng):
    v = pd.DataFrame(rng.normal(size=(300, 4)), index=[f"g{i}" for i in range(300)],
                     columns=list("abcd"))
    with pytest.raises(InputError, match=r"Clustering 300 rows with complete linkage on euclidean "
                                         r"distances needs a 0\.0 GB distance matrix \(limit "
                                         r"max_matrix_gb=1e-05\)\. Use method='ward.D2' or 'single'"
                                         r" with metric='euclidean'"):
        cluster(v, max_matrix_gb=1e-5)


def test_leaf_order_is_iterative_on_a_deep_tree():
    # single linkage on points of a line with growing gaps: a caterpillar tree 5,000 deep
    n = 5000
    x = np.cumsum(np.arange(1, n + 1, dtype=float))[:, None]
    z = linkage(x, method="single", max_matrix_gb=1e-6)
    assert n > sys.getrecursionlimit()
    order = leaf_order(z)
    # each merge adds the next point to the cluster; the single point is drawn first
    assert list(order) == [*range(n - 1, 1, -1), 0, 1]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "ward.D2", "row_metric": "correlation"},
     r"The row metric 'correlation' cannot be used with method 'ward.D2' \(Ward's method needs "
     r"euclidean distances\)\. Valid metric: methods are euclidean: complete, average, ward.D2, "
     r"single; correlation: complete, average, single; spearman: complete, average, single; "
     r"cosine: complete, average, single; manhattan: complete, average, single\."),
    ({"method": "ward.D2", "col_metric": "manhattan"},
     r"The col metric 'manhattan' cannot be used with method 'ward.D2'"),
    ({"method": "ward"}, r"method='ward' is not valid; choose one of: complete, average, "
                         r"ward.D2, single\."),
    ({"row_metric": "pearson"}, r"row_metric='pearson' is not valid; choose one of: euclidean, "
                                r"correlation, spearman, cosine, manhattan\."),
    ({"scale": "z"}, r"scale='z' is not valid; choose one of: row, none, center\."),
    ({"k": 0}, r"k=0 modules is out of range; choose 1 to 10 \(the number of genes\)"),
    ({"k_method": "gap"}, r"k_method='gap' is not valid; choose one of: silhouette, "
                          r"height_gap\."),
    ({"clip": "max"}, r"clip='max' is not valid; give 'auto', None or a positive number\."),
    ({"condition": "dex"}, r"Condition column 'dex' is not in the samples table; columns are: "
                           r"none given\."),
])
def test_bad_options(rng, kwargs, message):
    v = pd.DataFrame(rng.normal(size=(10, 3)), index=[f"g{i}" for i in range(10)],
                     columns=list("abc"))
    with pytest.raises(InputError, match=message):
        cluster(v, **kwargs)


def test_bad_tables(rng):
    with pytest.raises(InputError, match=r"There are no genes to cluster \(the table has 0 rows\);"
                                         r" check the gene selection\."):
        cluster(pd.DataFrame(columns=["a", "b"], dtype=float))
    one = pd.DataFrame({"s1": [1.0, 2.0, 4.0]}, index=["g1", "g2", "g3"])
    with pytest.raises(InputError, match=r"Clustering columns needs at least 2 samples; the table "
                                         r"has 1 \(s1\)\. Give cluster_cols=False"):
        cluster(one)
    with pytest.raises(InputError, match=r"Row z-scores need at least 2 samples"):
        cluster(one, cluster_cols=False)
    dup = pd.DataFrame(np.ones((2, 2)), index=["g1", "g1"], columns=["a", "b"])
    with pytest.raises(InputError, match=r"1 duplicated gene ID\(s\): g1\."):
        cluster(dup)
    with pytest.raises(InputError, match=r"cluster\(\) takes a genes x samples DataFrame"):
        cluster(np.ones((3, 3)))


def test_dendrogram_coordinates_equal_scipy_and_need_no_recursion(rng):
    z = scipy_linkage(rng.normal(size=(40, 3)), "average")
    x, y = dendrogram_coordinates(z)
    ref = dendrogram(z, no_plot=True)
    mine = sorted(map(tuple, np.round(np.hstack([x * 10, y]), 9)))
    want = sorted(map(tuple, np.round(np.hstack([ref["icoord"], ref["dcoord"]]), 9)))
    assert mine == want
    n = 5000  # deeper than the recursion limit
    deep = linkage(np.cumsum(np.arange(1, n + 1, dtype=float))[:, None], method="single",
                   max_matrix_gb=1e-6)
    x, y = dendrogram_coordinates(deep)
    assert x.shape == (n - 1, 4) and x[-1, 0] == 0.5 and y[-1, 1] == deep[-1, 2]
