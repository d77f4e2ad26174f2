"""heatseq.cluster against R: pheatmap's trees and orders on four data sets, and R ``hclust``
for every valid metric / method pair.

References (see each folder's README / SOURCE.md):

* ``tests/data/<dataset>/pheatmap_R_{order.tsv,tree.tsv.gz}``: pheatmap 1.0.12 (R 4.2.2) on the
  500 most variable genes of ``vst_R.tsv.gz``, ``scale = "row"``, euclidean, complete.
* ``tests/data/heatmap/hclust_R_{tree,order}.tsv.gz``: ``hclust`` on the row z-scores of the
  300 most variable genes of bottomly, made by ``tests/data/heatmap/make_refs.R``.

Tolerances: merge heights and cophenetic distances within 1e-10 (absolute; found: <= 1.1e-12);
leaf orders identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import cophenet

from heatseq.cluster import cluster, select_genes
from heatseq.cluster.distance import square_distances

DATA = Path(__file__).parent / "data"

TOL = 1e-10
DATASETS = ["airway", "bottomly", "marioni_kidney_liver", "tcga_brca_paired"]


def r_linkage(merge: pd.DataFrame) -> np.ndarray:
    """R's ``hclust`` merge matrix + heights -> a scipy linkage matrix."""
    a = merge[["merge1", "merge2"]].to_numpy()
    n = len(a) + 1
    ids = np.where(a < 0, -a - 1, n + a - 1)
    sizes = np.ones(2 * n - 1)
    z = np.empty((n - 1, 4))
    for i in range(n - 1):  # test helper: a few hundred merges
        sizes[n + i] = sizes[ids[i, 0]] + sizes[ids[i, 1]]
        z[i] = [ids[i, 0], ids[i, 1], float(merge["height"].iat[i]), sizes[n + i]]
    return z


def assert_same_tree(mine: np.ndarray, ref: np.ndarray) -> None:
    assert mine.shape == ref.shape
    np.testing.assert_allclose(np.sort(mine[:, 2]), np.sort(ref[:, 2]), rtol=0, atol=TOL)
    np.testing.assert_allclose(cophenet(mine), cophenet(ref), rtol=0, atol=TOL)


@pytest.fixture(scope="module", params=DATASETS)
def pheatmap_case(request):
    d = DATA / request.param
    vst = pd.read_csv(d / "vst_R.tsv.gz", sep="\t", index_col=0)
    order = pd.read_csv(d / "pheatmap_R_order.tsv", sep="\t")
    tree = pd.read_csv(d / "pheatmap_R_tree.tsv.gz", sep="\t")
    return request.param, vst, order, tree


def test_top_variance_selection_equals_r(pheatmap_case):
    _, vst, order, _ = pheatmap_case
    sel = select_genes(vst, n=500)
    rows = order[order["axis"] == "row"].sort_values("input_index")
    # same genes, in R's order(var, decreasing = TRUE) order (the rows pheatmap clustered)
    assert list(sel.ids) == list(rows["id"])
    assert sel.caption == f"500 of {len(vst):,} genes (top variance)"


def test_pheatmap_trees_and_orders(pheatmap_case):
    name, vst, order, tree = pheatmap_case
    sel = select_genes(vst, n=500)
    c = cluster(vst.loc[sel.ids], k=3)
    for axis, mine, got in (("row", c.row_linkage, c.row_order),
                            ("col", c.col_linkage, c.col_order)):
        ref = r_linkage(tree[tree["axis"] == axis].reset_index(drop=True))
        assert_same_tree(mine, ref)
        want = order[order["axis"] == axis].sort_values("position")["id"].astype(str)
        assert list(got) == list(want), f"{name} {axis} order differs from pheatmap"


@pytest.fixture(scope="module")
def hclust_refs():
    d = DATA / "heatmap"
    x = pd.read_csv(d / "bottomly_top300.tsv.gz", sep="\t", index_col=0)
    trees = pd.read_csv(d / "hclust_R_tree.tsv.gz", sep="\t")
    orders = pd.read_csv(d / "hclust_R_order.tsv.gz", sep="\t")
    return x, trees, orders


PAIRS = [("euclidean", m) for m in ("complete", "average", "ward.D2", "single")] + [
    (metric, m) for metric in ("correlation", "spearman", "cosine", "manhattan")
    for m in ("complete", "average", "single")]


@pytest.mark.parametrize(("metric", "method"), PAIRS)
def test_hclust_every_pair(hclust_refs, metric, method):
    x, trees, orders = hclust_refs
    c = cluster(x, row_metric=metric, col_metric=metric, method=method, k=2)
    for axis in ("row", "col"):
        sel = (trees["metric"] == metric) & (trees["method"] == method) & (trees["axis"] == axis)
        ref = r_linkage(trees[sel].reset_index(drop=True))
        osel = (orders["metric"] == metric) & (orders["method"] == method) & (orders["axis"] == axis)
        want = list(orders[osel].sort_values("position")["id"].astype(str))
        mine = c.row_linkage if axis == "row" else c.col_linkage
        got = list(c.row_order if axis == "row" else c.col_order)
        if metric == "spearman" and axis == "row" and method != "average":
            # 21 samples: many gene pairs have exactly equal rank correlations, so several
            # trees are equally valid and R's hclust and fastcluster break the ties
            # differently (documented). Single linkage's tree is unique; complete's is checked
            # to be a valid complete-linkage tree of the same distances.
            if method == "single":
                np.testing.assert_allclose(cophenet(mine), cophenet(ref), rtol=0, atol=TOL)
            else:
                d = square_distances(c.values.to_numpy(), metric="spearman")
                assert_valid_complete_tree(mine, d)
            continue
        assert_same_tree(mine, ref)
        assert got == want, f"{metric}/{method} {axis} order differs from R"


def assert_valid_complete_tree(z: np.ndarray, d: np.ndarray) -> None:
    """Every merge joins two clusters at the smallest complete-linkage distance among the
    clusters present, and its height is that distance: a correct complete-linkage tree."""
    n = z.shape[0] + 1
    m = np.full((2 * n - 1, 2 * n - 1), np.inf)
    m[:n, :n] = d
    np.fill_diagonal(m, np.inf)
    active = np.zeros(2 * n - 1, dtype=bool)
    active[:n] = True
    for i, (a, b, h, _) in enumerate(z):  # test helper: a few hundred merges
        a, b = int(a), int(b)
        sub = m[np.ix_(active, active)]
        assert abs(sub.min() - h) <= TOL and abs(m[a, b] - h) <= TOL
        new = np.maximum(m[a], m[b])
        active[[a, b]] = False
        m[n + i, :] = np.where(active, new, np.inf)
        m[:, n + i] = m[n + i, :]
        active[n + i] = True
