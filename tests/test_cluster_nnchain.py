"""heatseq's compiled linkage (heatseq.cluster._nnchain) against fastcluster, merge for merge.

fastcluster 1.3 (``fastcluster.linkage`` on the same condensed float64 distances) is the
reference: it is R ``hclust``'s drop-in replacement and was heatseq's linkage before. Checked:

* float64, both layouts (condensed and square), every method, random data without ties:
  the linkage matrices are identical (same merges, same children order, same sizes; heights
  equal, tolerance 0) and the cophenetic distances agree to 1e-12;
* data with many exact ties (integer points): the same merges as fastcluster too (same scan
  order and tie rule), heights equal;
* float32: a valid tree of the rounded distances (complete linkage checked merge by merge);
  cophenetic distances within 1e-6 relative of the float64 tree on random data;
* the distance fill: square and condensed layouts hold the same values as scipy ``pdist``;
* numba's cache: with the package folder unwritable the functions compile into the user cache
  folder, and no warning escapes (run in a fresh process with ``-W error``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import fastcluster
import numpy as np
import pytest
from scipy.cluster.hierarchy import cophenet
from scipy.spatial.distance import pdist, squareform

from heatseq.cluster._nnchain import linkage_condensed, linkage_square
from heatseq.cluster.distance import condensed_distances, flat_square_distances
from heatseq.cluster.linkage import FLOAT32_ROWS, linkage, plan
from heatseq.errors import InputError

METHODS = [("complete", "complete"), ("average", "average"), ("ward.D2", "ward"),
           ("single", "single")]


def _ours(d: np.ndarray, n: int, method: str, layout: str) -> np.ndarray:
    if layout == "square":
        return linkage_square(squareform(d).ravel(), n, method=method)
    return linkage_condensed(d.copy(), n, method=method)


@pytest.mark.parametrize("layout", ["condensed", "square"])
@pytest.mark.parametrize(("method", "fc"), METHODS)
def test_identical_to_fastcluster_on_random_data(rng, method, fc, layout):
    # sizes cover the compaction of the matrix (at half the points, past 64)
    for n, dim in ((2, 3), (3, 2), (17, 4), (300, 5), (1200, 8)):
        x = rng.normal(size=(n, dim)) * rng.lognormal(size=(n, 1))
        d = pdist(x)
        ref = fastcluster.linkage(d, method=fc)
        z = _ours(d, n, method, layout)
        assert z.shape == (n - 1, 4) and z.dtype == np.float64
        np.testing.assert_array_equal(z[:, [0, 1, 3]], ref[:, [0, 1, 3]])
        np.testing.assert_allclose(z[:, 2], ref[:, 2], rtol=0, atol=0)
        if n > 2:
            np.testing.assert_allclose(cophenet(z), cophenet(ref), rtol=0, atol=1e-12)


@pytest.mark.parametrize("layout", ["condensed", "square"])
@pytest.mark.parametrize(("method", "fc"), METHODS)
def test_ties_are_broken_as_fastcluster_does(rng, method, fc, layout):
    # points on a small integer grid: many exactly equal distances
    x = rng.integers(0, 4, size=(400, 3)).astype(float)
    d = pdist(x)
    ref = fastcluster.linkage(d, method=fc)
    z = _ours(d, 400, method, layout)
    np.testing.assert_array_equal(z, ref)


def test_float32_complete_tree_is_valid_for_rounded_distances(rng):
    n = 150
    x = rng.normal(size=(n, 4))
    d32 = pdist(x).astype(np.float32)
    z = linkage_square(squareform(d32).ravel(), n, method="complete")
    m = np.full((2 * n - 1, 2 * n - 1), np.inf)
    m[:n, :n] = squareform(d32.astype(np.float64))
    np.fill_diagonal(m, np.inf)
    active = np.zeros(2 * n - 1, dtype=bool)
    active[:n] = True
    for i, (a, b, h, _) in enumerate(z):  # test helper: 149 merges
        a, b = int(a), int(b)
        assert m[np.ix_(active, active)].min() == h == m[a, b]
        new = np.maximum(m[a], m[b])
        active[[a, b]] = False
        m[n + i] = m[:, n + i] = np.where(active, new, np.inf)
        active[n + i] = True


@pytest.mark.parametrize(("method", "fc"), METHODS)
def test_float32_agrees_with_float64(rng, method, fc):
    x = rng.normal(size=(800, 6))
    z64 = linkage(x, method=method, precision="float64")
    z32 = linkage(x, method=method, precision="float32")
    c64, c32 = cophenet(z64), cophenet(z32)
    np.testing.assert_allclose(c32, c64, rtol=1e-6)
    assert np.mean((z64[:, [0, 1, 3]] == z32[:, [0, 1, 3]]).all(axis=1)) > 0.99
    # heatseq's float64 distances (BLAS) differ from pdist's by ~1e-15: same merges
    ref = fastcluster.linkage(pdist(x), method=fc)
    np.testing.assert_array_equal(z64[:, [0, 1, 3]], ref[:, [0, 1, 3]])
    np.testing.assert_allclose(z64[:, 2], ref[:, 2], rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "correlation", "spearman", "cosine",
                                    "manhattan"])
def test_square_and_condensed_fill_equal_pdist(rng, metric):
    x = rng.normal(size=(333, 7)) * rng.lognormal(size=(333, 1)) + 2.0
    x[10] = x[11]  # identical rows: exactly 0 apart
    want = pdist(x, {"manhattan": "cityblock"}.get(metric, metric)) if metric != "spearman" \
        else condensed_distances(x, metric="spearman")
    for dtype, rtol in ((np.float64, 1e-11), (np.float32, 1e-7)):
        cond = condensed_distances(x, metric=metric, dtype=dtype)
        sq = flat_square_distances(x, metric=metric, dtype=dtype).reshape(333, 333)
        assert cond.dtype == sq.dtype == dtype
        np.testing.assert_array_equal(sq, sq.T)
        assert (np.diag(sq) == 0).all()
        np.testing.assert_allclose(squareform(sq, checks=False), want, rtol=rtol, atol=1e-7)
        np.testing.assert_allclose(cond, want, rtol=rtol, atol=1e-7)
        if metric in ("euclidean", "manhattan"):
            assert sq[10, 11] == 0


def test_plan_chooses_type_and_layout():
    small = plan(FLOAT32_ROWS)
    assert small.layout == "square" and small.dtype is np.float64
    big = plan(20_000)
    assert big.layout == "square" and big.dtype is np.float32 and big.gb == pytest.approx(1.6)
    assert big.text == ("blocked BLAS euclidean distances (float32, square matrix) + NN-chain "
                        "complete linkage (numba) in place")
    # square float32 of 40,000 rows is 6.4 GB: the condensed one (3.2 GB) fits in 4 GB
    assert plan(40_000).layout == "condensed"
    assert plan(60_000, method="ward.D2").layout == "vector"
    assert plan(60_000).layout == "refuse"
    with pytest.raises(InputError, match=r"precision='half' is not valid; choose one of: auto, "
                                         r"float64, float32\."):
        plan(10, precision="half")  # type: ignore[arg-type]


def test_condensed_route_equals_square_route(rng):
    x = rng.normal(size=(500, 5))
    # 500 rows: square float64 2 MB, condensed 1 MB
    square = linkage(x, method="average")
    condensed = linkage(x, method="average", max_matrix_gb=1.5e-3)
    np.testing.assert_array_equal(square, condensed)


def test_optimal_ordering_on_both_routes(rng):
    x = rng.normal(size=(60, 4))
    a = linkage(x, optimal_ordering=True)
    b = linkage(x, optimal_ordering=True, max_matrix_gb=2e-5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(cophenet(a), cophenet(linkage(x)), rtol=0, atol=1e-12)


@pytest.mark.slow
def test_cache_falls_back_to_user_folder_without_warnings(tmp_path):
    """An unwritable package folder (simulated: numba's in-tree locator fails as it does on a
    read-only folder) compiles into the user cache folder; ``-W error`` shows no warning."""
    code = textwrap.dedent("""
        import numba.core.caching as caching
        def unwritable(self):
            raise PermissionError("read-only package folder")
        caching.InTreeCacheLocator.ensure_cache_path = unwritable
        import numpy as np
        from heatseq.cluster._nnchain import linkage_condensed
        z = linkage_condensed(np.array([1.0, 4.0, 3.0]), 3, method="complete")
        assert z.tolist() == [[0.0, 1.0, 1.0, 2.0], [2.0, 3.0, 4.0, 3.0]], z
    """)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    cached = list((tmp_path / "numba").rglob("*.nbi"))
    assert any("_nnchain" in p.name for p in cached), cached
