"""The heatmap drawing (heatseq.plot): computed state of the figure, not pixels.

Orders, labels, colours and artists are read back from the Figure; every text, swatch,
bar, dendrogram, colour bar and the body are checked pairwise for overlap (at 72, 150 and
300 dpi, since hinting changes text widths) on hard cases; the dendrogram drawn from R's
own pheatmap tree (airway, top 500 genes) equals scipy's reference coordinates.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from scipy.cluster.hierarchy import dendrogram, fcluster, leaves_list, linkage

from heatseq.cluster import Clustering
from heatseq.errors import InputError, InputWarning
from heatseq.plot import PALETTES, heatmap, level_colors, sample_heatmap, save_figure
from heatseq.plot._dendrogram import dendrogram_lines, leaf_positions
from heatseq.plot._layout import spread_labels
from heatseq.plot.palettes import body_colormap

DPIS = (72, 150, 300)


# ----------------------------------------------------------------------------- helpers

def make_clustering(n: int, m: int, *, seed: int = 0, rows: bool = True, cols: bool = True,
                    k: int | None = 3, long: bool = False, clip: float | None = 2.0,
                    values: np.ndarray | None = None) -> Clustering:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, m)) if values is None else values
    genes = [f"ENSG{i:011d}" for i in range(n)]
    names = [f"sample_with_a_rather_long_name_{i}_and_more" if long else f"S{i}"
             for i in range(m)]
    v = pd.DataFrame(x, index=genes, columns=names)
    filled = np.nan_to_num(x)
    zr = linkage(filled, "average") if rows and n > 1 else None
    zc = linkage(filled.T, "average") if cols and m > 1 else None
    ro = v.index[leaves_list(zr)] if zr is not None else v.index
    co = v.columns[leaves_list(zc)] if zc is not None else v.columns
    modules = None
    if zr is not None and k:
        raw = pd.Series(fcluster(zr, k, "maxclust"), index=genes).loc[ro]
        renumber = {c: i + 1 for i, c in enumerate(pd.unique(raw))}
        modules = raw.map(renumber)
    labels = pd.Series([("GENE_" * 12 + str(i)) if long else f"G{i}" for i in range(n)],
                       index=genes)
    return Clustering(values=v, row_order=ro, col_order=co, row_linkage=zr, col_linkage=zc,
                      modules=modules, module_summaries=(), clip=clip,
                      caption=f"{n} of 18,342 genes (top variance); row z-scores; euclidean, "
                              "complete linkage" + (" and more words" * 12 if long else ""),
                      row_labels=labels, params={"scale": "row"})


def make_sheet(c: Clustering, *, levels: int = 2, long: bool = False, extra: int = 0
               ) -> pd.DataFrame:
    names = list(c.values.columns)
    data = {"condition": [("level_" + "x" * 60 + f"_{i % levels}") if long else f"L{i % levels}"
                          for i in range(len(names))]}
    for e in range(extra):
        key = f"col{e}" + ("_with_a_long_column_name" * 3 if long else "")
        data[key] = [f"v{(i * (e + 2)) % 7}" for i in range(len(names))]
    return pd.DataFrame(data, index=names)


def gid_texts(fig: Figure, gid: str) -> list:
    return [t for t in fig.texts if t.get_gid() == gid]


def all_boxes(fig: Figure, dpi: float) -> list[tuple[str, str, object]]:
    fig.set_dpi(dpi)
    r = fig.canvas.get_renderer()
    out = [(t.get_gid(), t.get_text(), t.get_window_extent(r)) for t in fig.texts
           if t.get_text()]
    out += [(ax.get_gid(), "", ax.get_window_extent(r)) for ax in fig.axes]
    out += [(p.get_gid(), "", p.get_window_extent(r)) for p in fig.patches]
    return out


def assert_no_overlap(fig: Figure, *, tol: float = 0.25) -> None:
    """Every pair of boxes is disjoint, and every box is inside the figure."""
    for dpi in DPIS:
        boxes = all_boxes(fig, dpi)
        a = np.array([[b.x0, b.y0, b.x1, b.y1] for _, _, b in boxes])
        hit = ((a[:, None, 0] < a[None, :, 2] - tol) & (a[None, :, 0] < a[:, None, 2] - tol)
               & (a[:, None, 1] < a[None, :, 3] - tol) & (a[None, :, 1] < a[:, None, 3] - tol))
        i, j = np.nonzero(np.triu(hit, 1))
        pairs = [(boxes[x][:2], boxes[y][:2]) for x, y in zip(i, j, strict=True)]
        assert not pairs, f"{len(pairs)} overlapping boxes at {dpi} dpi, e.g. {pairs[:3]}"
        w, h = fig.get_size_inches() * dpi
        outside = [boxes[k][:2] for k in range(len(boxes))
                   if a[k, 0] < -tol or a[k, 1] < -tol or a[k, 2] > w + tol or a[k, 3] > h + tol]
        assert not outside, f"outside the figure at {dpi} dpi: {outside[:3]}"


def body_axes(fig: Figure):
    return next(ax for ax in fig.axes if ax.get_gid() == "heatseq-body")


def body_array(fig: Figure) -> np.ndarray:
    ax = body_axes(fig)
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    n, m = (int(v) for v in (ax.get_ylim()[0], ax.get_xlim()[1]))
    return np.ma.filled(mesh.get_array(), np.nan).reshape(n, m)


# ----------------------------------------------------------------------------- dendrograms

def test_dendrogram_lines_equal_scipy_coordinates(rng):
    x = rng.normal(size=(40, 5))
    z = linkage(x, "complete")
    order = leaves_list(z)
    lines = dendrogram_lines(z, leaf_positions(order, 40))
    ref = dendrogram(z, no_plot=True)
    ours = np.sort(np.round(np.c_[lines[:, :, 0], lines[:, :, 1]], 9), axis=0)
    theirs = np.sort(np.round(np.c_[np.array(ref["icoord"]) / 10, ref["dcoord"]], 9), axis=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def _r_linkage(tree: pd.DataFrame, axis: str) -> np.ndarray:
    """R's hclust merge matrix (negative = leaf) as a scipy linkage matrix."""
    t = tree[tree["axis"] == axis].sort_values("step")
    n = len(t) + 1
    merge = t[["merge1", "merge2"]].to_numpy()
    idx = np.where(merge < 0, -merge - 1, n + merge - 1)
    size = np.ones(2 * n - 1)
    for k, (a, b) in enumerate(idx):  # n - 1 = 499 merges; test-side conversion only
        size[n + k] = size[a] + size[b]
    return np.c_[idx.astype(float), t["height"].to_numpy(), size[n:]]


def test_dendrogram_of_r_pheatmap_tree_airway(data_dir):
    """R's own tree and order (pheatmap, airway top-500): the drawn lines equal scipy's
    dendrogram of the same tree, and the figure shows genes in R's order."""
    tree = pd.read_csv(data_dir / "airway" / "pheatmap_R_tree.tsv.gz", sep="\t")
    order = pd.read_csv(data_dir / "airway" / "pheatmap_R_order.tsv", sep="\t")
    for axis in ("row", "col"):
        z = _r_linkage(tree, axis)
        o = order[order["axis"] == axis].sort_values("position")
        positions = leaf_positions(o["input_index"].to_numpy() - 1, len(o))
        lines = dendrogram_lines(z, positions)
        ref = dendrogram(z, no_plot=True)
        ours = np.sort(np.round(np.c_[lines[:, :, 0], lines[:, :, 1]], 8), axis=0)
        theirs = np.sort(np.round(np.c_[np.array(ref["icoord"]) / 10, ref["dcoord"]], 8),
                         axis=0)
        np.testing.assert_allclose(ours, theirs, atol=1e-8)
    rows = order[order["axis"] == "row"].sort_values("input_index")["id"].to_numpy()
    cols = order[order["axis"] == "col"].sort_values("input_index")["id"].to_numpy()
    vst = pd.read_csv(data_dir / "airway" / "vst_R.tsv.gz", sep="\t", index_col=0)
    sub = vst.loc[rows, cols]
    z = sub.sub(sub.mean(axis=1), axis=0).div(sub.std(axis=1, ddof=1), axis=0)
    r_rows = pd.Index(order[order["axis"] == "row"].sort_values("position")["id"])
    r_cols = pd.Index(order[order["axis"] == "col"].sort_values("position")["id"])
    c = Clustering(values=z, row_order=r_rows, col_order=r_cols,
                   row_linkage=_r_linkage(tree, "row"), col_linkage=_r_linkage(tree, "col"),
                   modules=None, module_summaries=(), clip=None, caption="airway top 500",
                   row_labels=pd.Series(z.index, index=z.index))
    fig = heatmap(c, label_genes="none")
    np.testing.assert_allclose(body_array(fig), z.loc[r_rows, r_cols].to_numpy(), rtol=0,
                               atol=0)
    assert [t.get_text() for t in gid_texts(fig, "heatseq-sample-label")] == list(r_cols)


def _chain_linkage(n: int) -> np.ndarray:
    """The deepest tree: leaf k joins the cluster of leaves 0..k-1 (breaks recursive code)."""
    z = np.empty((n - 1, 4))
    z[:, 0] = np.arange(1, n)
    z[:, 1] = np.r_[0, n + np.arange(n - 2)]
    z[:, 2] = np.arange(1, n, dtype=float)
    z[:, 3] = np.arange(2, n + 1)
    return z


def test_dendrogram_60000_leaves_without_recursion():
    n = 60_000
    z = _chain_linkage(n)
    order = leaves_list(z)
    t = time.perf_counter()
    lines = dendrogram_lines(z, leaf_positions(order, n))
    assert time.perf_counter() - t < 2.0
    assert lines.shape == (n - 1, 4, 2)
    assert lines[-1, 1, 1] == pytest.approx(n - 1)  # the root merge at the top height
    assert np.all((lines[:, :, 0] >= 0.5) & (lines[:, :, 0] <= n - 0.5))


def test_dendrogram_rejects_an_order_that_is_not_the_trees():
    z = linkage(np.array([[0.0], [0.1], [5.0], [5.1]]), "complete")
    with pytest.raises(ValueError, match="not next to each other"):
        dendrogram_lines(z, leaf_positions(np.array([0, 2, 1, 3]), 4))
    c = make_clustering(6, 3)
    bad = Clustering(**{**c.__dict__, "row_order": c.row_order[::-1][[0, 2, 1, 3, 4, 5]]})
    with pytest.raises(InputError, match="order and linkage disagree"):
        heatmap(bad)


@pytest.mark.slow
def test_heatmap_of_60000_rows_draws_and_saves(tmp_path):
    n, m = 60_000, 4
    rng = np.random.default_rng(3)
    genes = pd.Index([f"g{i}" for i in range(n)])
    v = pd.DataFrame(rng.normal(size=(n, m)), index=genes, columns=list("abcd"))
    z = _chain_linkage(n)
    c = Clustering(values=v, row_order=genes[leaves_list(z)], col_order=v.columns,
                   row_linkage=z, col_linkage=None, modules=None, module_summaries=(),
                   clip=2.5, caption="60,000 genes", row_labels=pd.Series(genes, index=genes))
    t = time.perf_counter()
    fig = heatmap(c)
    path = save_figure(fig, tmp_path / "big.png", dpi=100)
    assert time.perf_counter() - t < 30
    assert path.stat().st_size > 0
    body = next(a for a in body_axes(fig).get_images())
    assert body.get_rasterized()


# ----------------------------------------------------------------------------- order, labels

def test_body_rows_and_columns_follow_the_clustering_order():
    c = make_clustering(30, 7)
    fig = heatmap(c)
    np.testing.assert_array_equal(body_array(fig), c.values.loc[c.row_order, c.col_order])
    genes = gid_texts(fig, "heatseq-gene-label")
    assert [t.get_text() for t in genes] == list(c.row_labels[c.row_order])
    samples = gid_texts(fig, "heatseq-sample-label")
    assert [t.get_text() for t in samples] == list(c.col_order)


def test_labels_sit_on_their_rows_and_columns():
    c = make_clustering(25, 6)
    fig = heatmap(c)
    fig.set_dpi(100)
    r = fig.canvas.get_renderer()
    body = body_axes(fig).get_window_extent(r)
    pitch_y = body.height / 25
    ys = [t.get_window_extent(r) for t in gid_texts(fig, "heatseq-gene-label")]
    centres = np.array([(b.y0 + b.y1) / 2 for b in ys])
    want = body.y1 - (np.arange(25) + 0.5) * pitch_y
    np.testing.assert_allclose(centres, want, atol=0.6)
    assert all(b.x0 >= body.x1 for b in ys)
    xs = [t.get_window_extent(r) for t in gid_texts(fig, "heatseq-sample-label")]
    np.testing.assert_allclose([(b.x0 + b.x1) / 2 for b in xs],
                               body.x0 + (np.arange(6) + 0.5) * body.width / 6, atol=0.6)
    assert all(b.y1 <= body.y0 for b in xs)


def test_gene_labels_auto_none_all_and_chosen():
    small, big = make_clustering(80, 4), make_clustering(81, 4)
    assert len(gid_texts(heatmap(small), "heatseq-gene-label")) == 80
    assert gid_texts(heatmap(big), "heatseq-gene-label") == []
    assert gid_texts(heatmap(small, label_genes="none"), "heatseq-gene-label") == []
    assert len(gid_texts(heatmap(big, label_genes="all"), "heatseq-gene-label")) == 81
    chosen = heatmap(big, label_genes=["g5", "ENSG00000000007", "G70"])  # case-insensitive
    texts = {t.get_text() for t in gid_texts(chosen, "heatseq-gene-label")}
    assert texts == {"G5", "G7", "G70"}


def test_leader_lines_fan_out_without_overlap():
    c = make_clustering(600, 10)
    wanted = [f"G{i}" for i in range(0, 90)]  # 90 labels crowded onto 600 rows
    fig = heatmap(c, label_genes=wanted)
    labels = gid_texts(fig, "heatseq-gene-label")
    assert len(labels) == 90
    leaders = next(a for a in fig.artists if a.get_gid() == "heatseq-leader-lines")
    fig.set_dpi(100)
    r = fig.canvas.get_renderer()
    body = body_axes(fig).get_window_extent(r)
    segs = [leaders.get_transform().transform(s) for s in leaders.get_segments()]
    pos = {g: i for i, g in enumerate(c.row_order)}
    rows = sorted(pos[g] for g in c.row_labels.index[c.row_labels.isin(wanted)])
    starts = np.array([s[0, 1] for s in segs])
    np.testing.assert_allclose(starts, body.y1 - (np.array(rows) + 0.5) * body.height / 600,
                               atol=0.6)
    boxes = [t.get_window_extent(r) for t in labels]
    ends = np.array([s[-1] for s in segs])
    np.testing.assert_allclose(ends[:, 1], [(b.y0 + b.y1) / 2 for b in boxes], atol=0.6)
    assert all(e[0] < b.x0 for e, b in zip(ends, boxes, strict=True))
    assert_no_overlap(fig)


def test_spread_labels_keeps_order_spacing_and_bounds(rng):
    t = np.sort(rng.uniform(0, 100, 60))
    y = spread_labels(t, spacing=1.5, low=0, high=100)
    assert np.all(np.diff(y) >= 1.5 - 1e-9)
    assert y[0] >= 0 and y[-1] <= 100
    free = spread_labels(np.array([10.0, 50.0, 90.0]), spacing=2, low=0, high=100)
    np.testing.assert_allclose(free, [10, 50, 90])


def test_unknown_genes_to_label_warn_and_none_found_is_an_error():
    c = make_clustering(100, 4)
    with pytest.warns(InputWarning, match="1 gene\\(s\\) to label are not in the heatmap.*NOPE"):
        heatmap(c, label_genes=["G1", "NOPE"])
    with pytest.raises(InputError, match="None of the 2 gene\\(s\\) to label"):
        heatmap(c, label_genes=["NOPE", "NADA"])
    with pytest.raises(InputError, match=r"label_genes='some' is not valid.*auto, none, all"):
        heatmap(c, label_genes="some")


# ----------------------------------------------------------------------------- colours

def test_level_colors_are_stable_and_a_given_mapping_wins():
    sheet = pd.DataFrame({"batch": [2, 1, 3, 1], "dex": ["untrt", "trt", "untrt", "trt"],
                          "rin": [9.1, 8.7, 7.2, 9.9]}, index=list("abcd"))
    full = level_colors(sheet)
    assert set(full) == {"batch", "dex"}  # rin is continuous
    assert full == {"batch": {"1": "#e69f00", "2": "#56b4e9", "3": "#009e73"},  # Okabe-Ito
                    "dex": {"trt": "#4477aa", "untrt": "#ee6677"}}  # Paul Tol's bright
    assert level_colors(sheet, ["dex"])["dex"] == full["dex"]  # subset: same colours
    assert level_colors(sheet.iloc[::-1])["dex"] == full["dex"]  # row order: same colours
    assert full["batch"] != full["dex"]  # each factor its own palette
    given = level_colors(sheet, ["dex"], given={"dex": {"trt": "black"}})
    assert given["dex"]["trt"] == "#000000"
    assert given["dex"]["untrt"] != "#000000"
    with pytest.raises(InputError, match="'nope' are not in the sample table"):
        level_colors(sheet, ["nope"])


def test_annotation_bar_colours_match_level_colors():
    c = make_clustering(12, 6)
    sheet = make_sheet(c, levels=3, extra=1)
    fig = heatmap(c, samples=sheet, annotate=("condition", "col0"),
                  level_colors={"condition": {"L2": "#123456"}})
    bars = [ax for ax in fig.axes if ax.get_gid() == "heatseq-col-bar"]
    assert len(bars) == 2
    mapping = level_colors(sheet, given={"condition": {"L2": "#123456"}})
    for ax, col in zip(bars, ("condition", "col0"), strict=True):
        shown = ax.get_images()[0].get_array()[0]
        want = np.array([to_rgb(mapping[col][sheet.loc[s, col]]) for s in c.col_order])
        np.testing.assert_allclose(shown, want)
    legend_labels = [t.get_text() for t in gid_texts(fig, "heatseq-legend-label")]
    assert legend_labels[:3] == ["L0", "L1", "L2"]


def test_palettes_red_high_and_na_colour():
    assert set(PALETTES) == {"rdbu", "rbg", "viridis", "cb_diverging"}
    hi, lo = body_colormap("rdbu")(1.0), body_colormap("rdbu")(0.0)
    assert hi[0] > hi[2] and lo[2] > lo[0]  # red = high, blue = low
    assert to_hex(body_colormap("rbg")(0.5)) in ("#000000", "#010000", "#000100")
    assert to_hex(body_colormap("rbg")(1.0)) == "#ff0000"
    cb = body_colormap("cb_diverging")(1.0)
    assert cb[0] > cb[2]  # orange high
    x = np.random.default_rng(1).normal(size=(10, 4))
    x[3, 2] = np.nan
    c = make_clustering(10, 4, values=x)
    fig = heatmap(c, palette="viridis", na_color="#ff00ff")
    mesh = next(cc for cc in body_axes(fig).collections if isinstance(cc, QuadMesh))
    assert to_hex(mesh.get_cmap().get_bad()) == "#ff00ff"
    assert mesh.get_cmap().name == "viridis"
    assert "NA" in [t.get_text() for t in gid_texts(fig, "heatseq-legend-label")]
    with pytest.raises(InputError, match=r"palette='jet' is not valid.*rdbu, rbg, viridis"):
        heatmap(c, palette="jet")  # type: ignore[arg-type]


def test_colour_bar_shows_the_clip():
    c = make_clustering(10, 4, clip=2.7)
    fig = heatmap(c)
    titles = [t.get_text() for t in gid_texts(fig, "heatseq-legend-title")]
    assert titles[0] == "z-score, clipped at \u00b12.7"
    ticks = [t.get_text() for t in gid_texts(fig, "heatseq-colorbar-label")]
    assert ticks == ["\u22122.7", "0", "2.7"]
    mesh = next(cc for cc in body_axes(fig).collections if isinstance(cc, QuadMesh))
    assert mesh.norm.vmin == -2.7 and mesh.norm.vmax == 2.7


def test_module_and_direction_bars():
    c = make_clustering(40, 5, k=4)
    de = pd.Series(np.where(np.arange(40) % 3 == 0, "up", "down"), index=c.values.index,
                   name="DE")
    fig = heatmap(c, row_annotations=de)
    bars = [ax for ax in fig.axes if ax.get_gid() == "heatseq-row-bar"]
    assert len(bars) == 2
    direction = bars[1].get_images()[0].get_array()[:, 0]
    want = np.array([to_rgb("#B2182B") if de[g] == "up" else to_rgb("#2166AC")
                     for g in c.row_order])
    np.testing.assert_allclose(direction, want)
    modules = bars[0].get_images()[0].get_array()[:, 0]
    first = [tuple(modules[i]) for i in np.unique(c.modules.loc[c.row_order].to_numpy(),
                                                   return_index=True)[1]]
    assert len(set(first)) == 4
    names = [t.get_text() for t in gid_texts(fig, "heatseq-bar-name")]
    assert names == ["module", "DE"]


# ----------------------------------------------------------------------------- layout

CASES = {
    "many levels": dict(n=30, m=60, levels=60),
    "long names": dict(n=12, m=3, long=True, extra=2),
    "1 sample": dict(n=10, m=1),
    "2 samples": dict(n=10, m=2),
    "3 samples": dict(n=10, m=3, extra=1),
    "1 gene": dict(n=1, m=6),
    "5000 genes": dict(n=5000, m=12, extra=1),
    "single column": dict(n=200, m=30, extra=3, size="single"),
    "double column, long": dict(n=50, m=20, long=True, extra=2, size="double"),
    "given size": dict(n=100, m=10, extra=1, size=(4.0, 5.0)),
    "no trees": dict(n=20, m=5, rows=False, cols=False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_nothing_overlaps(name):
    opts = dict(CASES[name])
    c = make_clustering(opts.pop("n"), opts.pop("m"), long=opts.get("long", False),
                        rows=opts.pop("rows", True), cols=opts.pop("cols", True))
    sheet = make_sheet(c, levels=opts.pop("levels", 3), long=opts.pop("long", False),
                       extra=opts.pop("extra", 0))
    fig = heatmap(c, samples=sheet, annotate=tuple(sheet.columns), title=f"case: {name}",
                  **opts)
    assert_no_overlap(fig)
    if "size" in opts and isinstance(opts["size"], str):
        mm = {"single": 89, "double": 183}[opts["size"]]
        assert fig.get_size_inches()[0] == pytest.approx(mm / 25.4, abs=0.01)
    elif "size" in opts:
        np.testing.assert_allclose(fig.get_size_inches(), opts["size"], atol=0.01)


def test_drawing_into_an_axes_region():
    outer = Figure(figsize=(10, 6))
    FigureCanvasAgg(outer)
    ax_left = outer.add_axes((0.02, 0.05, 0.45, 0.9))
    ax_right = outer.add_axes((0.5, 0.05, 0.48, 0.9))
    c = make_clustering(40, 6)
    fig = heatmap(c, samples=make_sheet(c), ax=ax_right)
    assert fig is outer
    assert ax_right not in fig.axes and ax_left in fig.axes
    fig.set_dpi(100)
    r = fig.canvas.get_renderer()
    region_x0 = 0.5 * 10 * 100
    for t in fig.texts:
        assert t.get_window_extent(r).x0 >= region_x0 - 0.5


def test_sample_heatmap_orders_both_axes_alike():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 6))
    x[:, 3:] += 3
    names = [f"s{i}" for i in range(6)]
    v = pd.DataFrame(x, columns=names)
    d = pd.DataFrame(np.sqrt(((x[:, :, None] - x[:, None, :]) ** 2).sum(0)), index=names,
                     columns=names)
    sheet = pd.DataFrame({"condition": ["a"] * 3 + ["b"] * 3}, index=names)
    fig = sample_heatmap(d, samples=sheet)
    cols = [t.get_text() for t in gid_texts(fig, "heatseq-sample-label")]
    rows = [t.get_text() for t in gid_texts(fig, "heatseq-gene-label")]
    assert cols == rows
    assert {frozenset(cols[:3]), frozenset(cols[3:])} == {frozenset(names[:3]),
                                                          frozenset(names[3:])}
    np.testing.assert_allclose(body_array(fig), d.loc[rows, cols].to_numpy())
    assert [ax.get_gid() for ax in fig.axes].count("heatseq-row-bar") == 1
    assert_no_overlap(fig)
    corr = sample_heatmap(v.corr(), kind="correlation")
    assert gid_texts(corr, "heatseq-legend-title")[0].get_text() == "correlation"
    with pytest.raises(InputError, match="square samples x samples"):
        sample_heatmap(d.iloc[:, :4])


def test_constant_nan_rows_one_gene_one_sample_do_not_crash():
    x = np.random.default_rng(2).normal(size=(6, 3))
    x[1] = np.nan
    x[2] = 0.0
    fig = heatmap(make_clustering(6, 3, values=x))
    assert np.isnan(body_array(fig)).sum() == 3
    one = heatmap(make_clustering(1, 1))
    assert [ax.get_gid() for ax in one.axes if "dendrogram" in (ax.get_gid() or "")] == []
    assert [t.get_text() for t in gid_texts(one, "heatseq-sample-label")] == ["S0"]


# ----------------------------------------------------------------------------- files, state

def test_large_bodies_are_rasterised_small_ones_vector(tmp_path):
    small = heatmap(make_clustering(50, 4))
    mesh = next(cc for cc in body_axes(small).collections if isinstance(cc, QuadMesh))
    assert not mesh.get_rasterized()
    big = heatmap(make_clustering(2500, 4, k=None))
    image = body_axes(big).get_images()[0]
    assert isinstance(image, AxesImage) and image.get_rasterized()
    svg = save_figure(big, tmp_path / "big.svg").read_text()
    assert svg.count("<image") == 2  # the body and the colour bar's gradient
    assert "z-score, clipped at" in svg  # text stays text
    tree = big.axes[[a.get_gid() for a in big.axes].index("heatseq-row-dendrogram")]
    assert not tree.patches[0].get_rasterized()
    pdf = save_figure(big, tmp_path / "big.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" in pdf


def test_save_figure_png_size_atomic_and_suffix_errors(tmp_path):
    fig = heatmap(make_clustering(20, 4))
    path = save_figure(fig, tmp_path / "out" / "hm.png")
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    fw, fh = fig.get_size_inches()
    assert abs(w - fw * 300) <= 1 and abs(h - fh * 300) <= 1
    assert [p.name for p in path.parent.iterdir()] == ["hm.png"]  # no temporary file left
    with pytest.raises(InputError, match=r"'\.jpg' is not one of \.png, \.svg, \.pdf"):
        save_figure(fig, tmp_path / "hm.jpg")
    with pytest.raises(InputError, match="dpi=0 is not valid"):
        save_figure(fig, tmp_path / "hm.png", dpi=0)
    a = save_figure(fig, tmp_path / "a.svg").read_bytes()
    b = save_figure(fig, tmp_path / "b.svg").read_bytes()
    assert a == b  # no dates: same figure, same bytes


def test_no_global_matplotlib_state_is_touched(tmp_path):
    import matplotlib.pyplot as plt

    before = dict(matplotlib.rcParams)
    figs_before = plt.get_fignums()
    fig = heatmap(make_clustering(20, 4), samples=None)
    save_figure(fig, tmp_path / "x.svg")
    save_figure(fig, tmp_path / "x.pdf")
    assert plt.get_fignums() == figs_before
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_option_errors():
    c = make_clustering(8, 4)
    sheet = make_sheet(c)
    with pytest.raises(InputError, match="'batch' to annotate are not in the sample table; "
                                         "columns are: condition"):
        heatmap(c, samples=sheet, annotate=("batch",))
    heatmap(c, samples=sheet.drop(columns="condition").assign(x=1))  # default: skipped quietly
    with pytest.raises(InputError, match="lacks 1 sample\\(s\\) of the heatmap: S3"):
        heatmap(c, samples=sheet.drop(index="S3"))
    with pytest.raises(InputError, match="size='huge' is not valid"):
        heatmap(c, size="huge")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs a sample table"):
        heatmap(c, annotate=("batch",))


def test_fixed_size_too_small_warns():
    c = make_clustering(50, 10)
    with pytest.warns(InputWarning, match="does not fit in 1.00 x 1.00 in"):
        fig = heatmap(c, size=(1.0, 1.0))
    assert fig.get_size_inches()[0] > 1.5
    assert_no_overlap(fig)


def test_doc_images_exist_and_are_small():
    root = Path(__file__).resolve().parents[1] / "docs" / "images"
    for name in ("airway_top500_heatmap.png", "airway_de_heatmap.png"):
        p = root / name
        assert p.exists(), p
        assert p.stat().st_size < 1_000_000
