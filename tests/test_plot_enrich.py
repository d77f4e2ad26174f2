"""Enrichment figures (heatseq.plot.enrich): computed state (terms, order, sizes, colours)
and layout, measured with the figure's own renderer: term labels (wrapped) neither overlap
each other nor leave the figure, whatever their length."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from heatseq.errors import InputError
from heatseq.plot import save_figure
from heatseq.plot.enrich import bar_plot, dot_plot
from heatseq.plot.palettes import DIRECTION_COLORS

LONG = ("positive regulation of transcription by RNA polymerase II in response to "
        "endoplasmic reticulum stress and unfolded protein accumulation")


def _table(n: int = 30, *, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = np.sort(10 ** -rng.uniform(1, 12, n))
    names = [LONG if i % 7 == 0 else f"term number {i} " + "word " * (i % 5) for i in range(n)]
    names[3] = "Supercalifragilisticexpialidociousprocessnamewithoutanyspaces"
    overlap = rng.integers(3, 80, n)
    return pd.DataFrame({"collection": np.where(np.arange(n) % 3 == 0, "reactome", "go_bp"),
                         "term_id": [f"GO:{i:07d}" for i in range(n)], "term_name": names,
                         "set_size": overlap * 4, "overlap": overlap,
                         "expected": overlap / 3, "fold_enrichment": rng.uniform(1, 6, n),
                         "gene_ratio": overlap / 500, "pvalue": p,
                         "padj": np.minimum(1, p * n), "genes": "A;B"})


def _boxes(fig, texts):
    renderer = fig.canvas.get_renderer()
    return np.array([t.get_window_extent(renderer).extents for t in texts])


def _assert_inside_and_apart(fig, texts):
    fig.canvas.draw()
    boxes = _boxes(fig, texts)
    w, h = fig.canvas.get_width_height()
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
    a, b = boxes[:, None, :], boxes[None, :, :]
    overlap = ((a[..., 0] < b[..., 2]) & (b[..., 0] < a[..., 2])
               & (a[..., 1] < b[..., 3]) & (b[..., 1] < a[..., 3]))
    np.fill_diagonal(overlap, False)
    assert not overlap.any()


def _labels(fig):
    return [t for t in fig.axes[0].get_yticklabels() if t.get_text()]


@pytest.mark.parametrize("top_n", [1, 5, 20, 30])
def test_dot_plot_labels_inside_and_apart(top_n):
    t = _table()
    fig = dot_plot(t, top_n=top_n, title="A long title " * 12)
    labels = _labels(fig)
    assert len(labels) == min(top_n, len(t))
    title = [x for x in fig.texts if x.get_gid() == "title"]
    legends = [x for lg in fig.legends for x in lg.get_texts()]
    _assert_inside_and_apart(fig, labels)
    _assert_inside_and_apart(fig, labels + title + legends)
    for lab in labels:   # wrapped: no line wider than about 200 points (but long words)
        assert all(len(line) <= 62 for line in lab.get_text().split("\n"))


def test_dot_plot_state():
    t = _table()
    t.loc[1, "pvalue"] = t.loc[0, "pvalue"]          # a tie: broken by term ID
    fig = dot_plot(t, top_n=10, x="fold_enrichment")
    ax = fig.axes[0]
    texts = [x.get_text().replace("\n", " ") for x in _labels(fig)]
    assert texts == t["term_name"].head(10).str.strip().tolist()   # top to bottom = by p-value
    dots = next(c for c in ax.collections if c.get_gid() == "dots")
    xy = dots.get_offsets()
    np.testing.assert_allclose(xy[:, 0], t["fold_enrichment"].head(10))
    assert (np.diff(xy[:, 1]) > 0).all()             # rows go down (y axis inverted)
    ylim = ax.get_ylim()
    assert ylim[0] > ylim[1]
    sizes = dots.get_sizes()
    order = np.argsort(t["overlap"].head(10).to_numpy())
    assert (np.diff(sizes[order]) >= 0).all()        # size grows with overlap
    fig.canvas.draw()
    colors = dots.get_facecolors()
    best, worst = colors[0], colors[9]
    assert best[0] > best[2] and worst[2] > worst[0]  # smallest padj red, largest blue
    assert ax.get_xlabel().startswith("Fold enrichment")


def test_redundant_rows_and_lists_are_respected():
    t = _table(10)
    t["redundant_of"] = ""
    t.loc[0, "redundant_of"] = "GO:0000009"
    fig = dot_plot(t, top_n=3)
    assert _labels(fig)[0].get_text().replace("\n", " ") == t.loc[1, "term_name"].strip()
    both = pd.concat([t.assign(list="up"), t.assign(list="down")])
    with pytest.raises(InputError, match="several lists \\(up, down\\); choose one"):
        dot_plot(both)
    assert len(_labels(dot_plot(both, list_name="down", top_n=4))) == 4
    with pytest.raises(InputError, match="list_name='both' is not in the table; its lists "
                                         "are: up, down"):
        dot_plot(both, list_name="both")


def test_bar_plot_direction_and_collection():
    t = _table(12)
    up, down = t.assign(list="up"), t.assign(list="down")
    down["padj"] = down["padj"] * 7
    both = pd.concat([up, down, t.assign(list="both")])
    fig = bar_plot(both, top_n=10, color_by="direction")
    ax = fig.axes[0]
    bars = ax.patches
    widths = np.array([b.get_width() for b in bars])
    assert (np.diff(widths) <= 1e-12).all()          # sorted by padj, most significant first
    colors = {to_hex(b.get_facecolor()) for b in bars}
    assert colors == {DIRECTION_COLORS["up"].lower(), DIRECTION_COLORS["down"].lower()}
    _assert_inside_and_apart(fig, _labels(fig))
    fig2 = bar_plot(t, top_n=12, color_by="collection", title="by collection")
    cols = {to_hex(b.get_facecolor()) for b in fig2.axes[0].patches}
    assert len(cols) == 2
    _assert_inside_and_apart(fig2, _labels(fig2) + [x for lg in fig2.legends
                                                    for x in lg.get_texts()])
    np.testing.assert_allclose(sorted(b.get_width() for b in fig2.axes[0].patches),
                               sorted(-np.log10(t["padj"])))


def test_padj_zero_and_gsea_direction():
    t = _table(5)
    t.loc[0, "padj"] = 0.0
    t["NES"] = [2.0, -1.5, 1.2, -2.2, 0.5]
    fig = bar_plot(t, color_by="direction")
    widths = [b.get_width() for b in fig.axes[0].patches]
    assert widths[0] == pytest.approx(300.0)
    assert np.isfinite(widths).all()
    dot_plot(t)   # LogNorm copes with padj = 0


def test_figures_save_in_every_format(tmp_path):
    t = _table(8)
    for suffix in (".png", ".svg", ".pdf"):
        for name, fig in (("dot", dot_plot(t)), ("bar", bar_plot(t))):
            path = save_figure(fig, tmp_path / f"{name}{suffix}", dpi=72)
            assert path.stat().st_size > 1000


def test_bad_options():
    t = _table(5)
    with pytest.raises(InputError, match="x='pvalue' is not valid; choose one of: "
                                         "gene_ratio, fold_enrichment"):
        dot_plot(t, x="pvalue")
    with pytest.raises(InputError, match="color_by='list' is not valid"):
        bar_plot(t, color_by="list")
    with pytest.raises(InputError, match="top_n=0 is not valid"):
        dot_plot(t, top_n=0)
    with pytest.raises(InputError, match="no column 'overlap'"):
        dot_plot(t.drop(columns="overlap"))
    with pytest.raises(InputError, match="needs a 'list' column"):
        bar_plot(t, color_by="direction")
    with pytest.raises(InputError, match="no term to plot"):
        dot_plot(t.iloc[:0])


def test_drawing_into_given_axes():
    from matplotlib.figure import Figure

    t = _table(6)
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2, gridspec_kw={"wspace": 1.2})
    assert dot_plot(t, ax=left, title="dots") is fig
    assert bar_plot(t, ax=right, title="bars") is fig
    assert [x.get_text().replace("\n", " ") for x in left.get_yticklabels()][:2] == \
        t["term_name"].head(2).str.strip().tolist()
    assert left.get_title() == "dots" and len(right.patches) == 6
    fig.canvas.draw()
