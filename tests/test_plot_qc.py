"""heatseq.plot.qc: the QC figures, tested on their computed state (bar heights, colours,
markers, label positions), not pixels. Data: tests/data/airway and tests/data/bottomly."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Text

from heatseq.cluster import expression_values
from heatseq.dataset import Dataset
from heatseq.errors import InputError
from heatseq.plot import level_colors, sample_heatmap, save_figure
from heatseq.plot.qc import (
    count_distribution_plot,
    detected_genes_plot,
    library_size_plot,
    pca_plot,
)
from heatseq.qc import log_counts, pca, qc_metrics, sample_correlations

DATA = Path(__file__).parent / "data"


@functools.cache
def dataset(name: str) -> Dataset:
    folder = DATA / name
    samples = pd.read_csv(folder / "samples.csv", dtype=str).set_index("sample")
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)[samples.index]
    return Dataset(counts.T, samples=samples)


@functools.cache
def pcs(name: str):
    return pca(expression_values(dataset(name)))


def _labels(fig: Figure):
    return [t for t in fig.axes[0].texts if t.get_gid() == "heatseq-pca-label"]


def _boxes(fig: Figure) -> list[np.ndarray]:
    renderer = fig.canvas.get_renderer()
    # the text's own box (an Annotation's extent also covers its leader line)
    return [np.asarray(Text.get_window_extent(t, renderer).extents) for t in _labels(fig)]


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


@pytest.mark.parametrize(("name", "color_by", "shape_by"), [("airway", "dex", "cell"),
                                                            ("bottomly", "strain", "batch")])
def test_pca_plot_labels_colours_and_markers(name, color_by, shape_by):
    ds, res = dataset(name), pcs(name)
    fig = pca_plot(res, samples=ds.samples, color_by=color_by, shape_by=shape_by)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_xlabel() == res.axis_label(1) and ax.get_ylabel() == res.axis_label(2)
    texts = _labels(fig)
    assert sorted(t.get_text() for t in texts) == sorted(ds.sample_names)
    boxes = _boxes(fig)
    for a, b in itertools.combinations(boxes, 2):
        assert _overlap(a, b) == 0.0
    frame = ax.get_window_extent(fig.canvas.get_renderer()).extents
    for box in boxes:  # every label inside the axes
        assert box[0] >= frame[0] - 1 and box[2] <= frame[2] + 1
        assert box[1] >= frame[1] - 1 and box[3] <= frame[3] + 1
    # colours are the shared level colours; one marker per level of shape_by
    colours = level_colors(ds.samples)[color_by]
    points = [c for c in ax.collections if c.get_gid() == "heatseq-pca-points"]
    assert len(points) == ds.samples[shape_by].nunique()
    drawn = {}
    for coll in points:
        for (x, y), rgba in zip(coll.get_offsets(), coll.get_facecolors(), strict=True):
            sample = res.scores.index[np.isclose(res.scores["PC1"], x)
                                      & np.isclose(res.scores["PC2"], y)][0]
            drawn[sample] = tuple(rgba)
    assert len(drawn) == ds.n_samples
    for sample, rgba in drawn.items():
        expected = to_rgba(colours[ds.samples.loc[sample, color_by]])
        np.testing.assert_allclose(rgba, expected)
    paths = {tuple(map(tuple, c.get_paths()[0].vertices.round(3))) for c in points}
    assert len(paths) == len(points)


def test_pca_plot_crowded_labels_do_not_overlap():
    """20 points in a tight cluster: labels still do not overlap each other."""
    rng = np.random.default_rng(3)
    values = pd.DataFrame(rng.normal(size=(50, 20)), columns=[f"sample_{i:02d}" for i in range(20)])
    fig = pca_plot(pca(values))
    fig.canvas.draw()
    boxes = _boxes(fig)
    assert len(boxes) == 20
    assert all(_overlap(a, b) == 0.0 for a, b in itertools.combinations(boxes, 2))


def test_pca_plot_other_components_and_options():
    ds, res = dataset("airway"), pcs("airway")
    fig = pca_plot(res, samples=ds.samples, color_by="dex", components=(2, 3), labels=False)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC2 (") and ax.get_ylabel().startswith("PC3 (")
    assert _labels(fig) == []
    x = ax.collections[0].get_offsets()[:, 0]
    np.testing.assert_allclose(np.sort(x), np.sort(res.scores["PC2"]))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["dex", "trt", "untrt"]
    # into given axes
    fig2 = Figure()
    FigureCanvasAgg(fig2)
    ax2 = fig2.add_subplot()
    assert pca_plot(res, ax=ax2) is fig2
    assert len(_labels(fig2)) == 8


def test_pca_plot_errors():
    ds, res = dataset("airway"), pcs("airway")
    with pytest.raises(InputError, match=r"components=\(1, 1\) is not valid"):
        pca_plot(res, components=(1, 1))
    with pytest.raises(InputError, match=r"from 1 to 8"):
        pca_plot(res, components=(1, 9))
    with pytest.raises(InputError, match="labels='yes' is not valid"):
        pca_plot(res, labels="yes")
    with pytest.raises(InputError, match="color_by='treatment' is not a column"):
        pca_plot(res, samples=ds.samples, color_by="treatment")
    with pytest.raises(InputError, match="shape_by='cell' needs the sample table"):
        pca_plot(res, shape_by="cell")


def test_bar_charts_show_the_metrics():
    ds = dataset("airway")
    m = qc_metrics(ds)
    colours = level_colors(ds.samples)["dex"]
    fig = library_size_plot(m, samples=ds.samples, color_by="dex")
    bars = fig.axes[0].patches
    np.testing.assert_allclose([b.get_height() for b in bars], m["library_size"] / 1e6)
    for bar, sample in zip(bars, m.index, strict=True):
        np.testing.assert_allclose(bar.get_facecolor(),
                                   to_rgba(colours[ds.samples.loc[sample, "dex"]]))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(m.index)
    fig = detected_genes_plot(m, samples=ds.samples, color_by="dex")
    heights = {gid: [p.get_height() for p in fig.axes[0].patches if p.get_gid() == gid]
               for gid in ("heatseq-bars-detected", "heatseq-bars-detected10")}
    np.testing.assert_array_equal(heights["heatseq-bars-detected"], m["detected"])
    np.testing.assert_array_equal(heights["heatseq-bars-detected10"], m["detected_10"])
    with pytest.raises(InputError, match="qc_metrics"):
        library_size_plot(m.drop(columns="library_size"))


def test_count_distribution_boxes():
    ds = dataset("airway")
    lc = log_counts(ds)
    fig = count_distribution_plot(lc, samples=ds.samples, color_by="dex")
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if p.get_gid() == "heatseq-box"]
    assert len(boxes) == 8
    medians = [line.get_ydata()[0] for line in ax.lines if line.get_gid() == "heatseq-median"]
    np.testing.assert_allclose(medians, lc.median(axis=0), rtol=1e-12)
    assert ax.get_ylabel() == "log2(normalised count + 1)"
    with pytest.raises(InputError, match="genes x samples"):
        count_distribution_plot(pd.DataFrame())


def test_correlation_heatmap_and_saving(tmp_path):
    ds = dataset("airway")
    r = sample_correlations(expression_values(ds))
    fig = sample_heatmap(r, samples=ds.samples, annotate=["dex", "cell"], kind="correlation")
    labels = [t.get_text() for t in fig.texts if t.get_gid() == "heatseq-sample-label"]
    assert sorted(labels) == sorted(ds.sample_names)
    out = save_figure(pca_plot(pcs("airway"), samples=ds.samples, color_by="dex"),
                      tmp_path / "pca.svg")
    assert "SRR1039508" in out.read_text()
