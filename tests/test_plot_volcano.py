"""Volcano and MA plots, static and interactive, on the airway DE result.

What is checked, against values computed here from the result table with pandas:
the legend counts and the number of points drawn per group; the labelled genes (the top-N
significant genes by padj plus the highlighted ones); that label boxes, measured with the
figure's renderer, neither overlap each other nor leave the axes; padj = 0 and all-NA
results; the files written; and the interactive fragment (parses, holds one point per
drawn gene, no external URL, unique ids, runs in Chromium without console errors).
"""

from __future__ import annotations

import dataclasses
import json
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from playwright.sync_api import sync_playwright

from heatseq import Dataset, DEResult, InputError, InputWarning, annotate, deseq, results
from heatseq.plot import save_figure
from heatseq.plot.volcano import GROUP_COLORS, ma_html, ma_plot, volcano, volcano_html

DATA = Path(__file__).parent / "data" / "airway"
ALPHA = 0.1


@pytest.fixture(scope="module")
def res() -> DEResult:
    samples = pd.read_csv(DATA / "samples.csv", dtype=str).set_index("sample")
    counts = pd.read_csv(DATA / "counts.tsv.gz", sep="\t", index_col=0)[samples.index]
    ds = annotate(Dataset(counts.T, samples=samples), organism="human")
    fit = deseq(ds, design="~ cell + dex", reference={"dex": "untrt"})
    return results(fit, contrast=("dex", "trt", "untrt"), alpha=ALPHA)


def with_table(res: DEResult, table: pd.DataFrame) -> DEResult:
    return dataclasses.replace(res, table=table)


def expected_groups(table: pd.DataFrame, *, column: str, threshold: float, kind: str
                    ) -> pd.Series:
    """Group of every drawn gene, computed independently of the plotting code."""
    lfc = table[column]
    if kind == "volcano":
        drawn = table[table["padj"].notna() & lfc.notna()]
    else:
        drawn = table[(table["baseMean"] > 0) & lfc.notna()]
    lfc = drawn[column]
    sig = (drawn["padj"] < ALPHA) & (lfc.abs() >= threshold)
    out = pd.Series("n.s.", index=drawn.index)
    out[sig & (lfc > 0)] = "up"
    out[sig & (lfc < 0)] = "down"
    return out


def legend_texts(fig: Figure) -> list[str]:
    """The legend's entries in reading order (rows first)."""
    legend = fig.axes[0].get_legend()
    renderer = fig.canvas.get_renderer()
    texts = legend.get_texts()
    pos = [t.get_window_extent(renderer) for t in texts]
    order = sorted(range(len(texts)), key=lambda k: (-round(pos[k].y0), pos[k].x0))
    return [texts[k].get_text() for k in order]


def points_per_group(fig: Figure) -> dict[str, int]:
    out = dict.fromkeys(GROUP_COLORS, 0)
    for coll in fig.axes[0].collections:
        gid = coll.get_gid() or ""
        for g in out:
            if gid in (f"heatseq-points-{g}", f"heatseq-edge-{g}"):
                out[g] += len(coll.get_offsets())
    return out


def label_texts(fig: Figure):
    return [t for t in fig.axes[0].texts if t.get_gid() == "heatseq-label"]


def assert_labels_clear(fig: Figure) -> None:
    """No two label boxes overlap and every box lies inside the axes (renderer extents)."""
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    boxes = np.array([t.get_window_extent(renderer).extents for t in label_texts(fig)])
    assert len(boxes)
    assert (boxes[:, 0] >= frame.x0).all() and (boxes[:, 2] <= frame.x1).all()
    assert (boxes[:, 1] >= frame.y0).all() and (boxes[:, 3] <= frame.y1).all()
    a, b = boxes[:, None, :], boxes[None, :, :]
    overlap = ((a[..., 0] < b[..., 2]) & (b[..., 0] < a[..., 2])
               & (a[..., 1] < b[..., 3]) & (b[..., 1] < a[..., 3]))
    np.fill_diagonal(overlap, False)
    assert not overlap.any()


@pytest.mark.parametrize(("lfc_column", "column", "threshold"),
                         [("log2FoldChange", "log2FoldChange", 1.0),
                          ("shrunk", "log2FoldChange_shrunk", 0.5)])
def test_volcano_legend_counts_equal_table_counts(res, lfc_column, column, threshold):
    fig = volcano(res, lfc_column=lfc_column, lfc_threshold=threshold)
    groups = expected_groups(res.table, column=column, threshold=threshold, kind="volcano")
    n = groups.value_counts()
    assert n["up"] > 100 and n["down"] > 100  # airway: hundreds of dex-responsive genes
    assert legend_texts(fig)[:3] == [f"up {n['up']:,}", f"down {n['down']:,}",
                                     f"n.s. {n['n.s.']:,}"]
    assert points_per_group(fig) == {g: int(n[g]) for g in GROUP_COLORS}
    caption = next(t.get_text() for t in fig.texts if t.get_gid() == "heatseq-caption")
    n_na = int(res.table["padj"].isna().sum())
    assert f"{n_na:,} genes with padj NA" in caption.replace("\n", " ")


def test_ma_legend_counts_and_edge_triangles(res):
    fig = ma_plot(res, ylim=2.0)
    t = res.table
    groups = expected_groups(t, column="log2FoldChange_shrunk", threshold=0.0, kind="ma")
    n = groups.value_counts()
    assert legend_texts(fig)[:3] == [f"up {n['up']:,}", f"down {n['down']:,}",
                                     f"n.s. {n['n.s.']:,}"]
    assert points_per_group(fig) == {g: int(n[g]) for g in GROUP_COLORS}
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "shrunk log2 fold change (apeglm)"
    lfc = t.loc[groups.index, "log2FoldChange_shrunk"]
    edges = [c for c in ax.collections if (c.get_gid() or "").startswith("heatseq-edge")]
    offsets = np.vstack([c.get_offsets() for c in edges])
    assert len(offsets) == int((lfc.abs() > 2.0).sum()) > 0
    np.testing.assert_array_equal(np.abs(offsets[:, 1]), 2.0)  # drawn at the edge
    lo, hi = ax.get_ylim()
    assert lo < -2.0 and hi > 2.0
    for c in ax.collections:
        if (c.get_gid() or "").startswith("heatseq-points"):
            assert (np.abs(c.get_offsets()[:, 1]) <= 2.0).all()


def test_ma_defaults_to_shrunk_and_falls_back(res):
    assert ma_plot(res, top_n=0).axes[0].get_ylabel().startswith("shrunk")
    t = res.table.copy()
    t["log2FoldChange_shrunk"] = np.nan
    fig = ma_plot(with_table(res, t), top_n=0)
    assert fig.axes[0].get_ylabel() == "log2 fold change"
    with pytest.raises(InputError, match=r"no log2FoldChange_shrunk values.*shrink='apeglm'"):
        volcano(with_table(res, t), lfc_column="shrunk")


@pytest.mark.parametrize("plot", [volcano, ma_plot])
def test_labels_never_overlap_nor_leave_the_axes(res, plot):
    fig = plot(res, top_n=40)
    assert_labels_clear(fig)
    assert len(label_texts(fig)) >= 30  # crowded top of the plot: most still find a place
    fig = plot(res, top_n=10)
    assert_labels_clear(fig)
    # the ten labels are the ten significant genes with the smallest padj
    column = "log2FoldChange" if plot is volcano else "log2FoldChange_shrunk"
    thr = 1.0 if plot is volcano else 0.0
    g = expected_groups(res.table, column=column, threshold=thr,
                        kind="volcano" if plot is volcano else "ma")
    top = res.table.loc[g.index[g != "n.s."]].sort_values("padj").head(10)
    expected = top["symbol"].fillna(pd.Series(top.index, index=top.index))
    assert sorted(t.get_text() for t in label_texts(fig)) == sorted(expected)


def test_labels_are_clear_in_a_small_figure_with_a_given_axes(res):
    fig = Figure(figsize=(7, 3))
    ax = fig.add_axes((0.1, 0.15, 0.35, 0.6))
    out = volcano(res, top_n=15, ax=ax)
    assert out is fig and fig.axes[0] is ax
    assert_labels_clear(fig)


def test_highlighted_genes_are_ringed_and_labelled(res):
    with pytest.warns(InputWarning, match="'NoSuchGene' matched no gene"):
        fig = volcano(res, highlight=["dusp1", "ENSG00000096060", "NoSuchGene"], top_n=3)
    texts = {t.get_text(): t for t in label_texts(fig)}
    assert {"DUSP1", "FKBP5"} <= set(texts)  # FKBP5 = ENSG00000096060, found by its ID
    assert texts["FKBP5"].get_fontweight() == "bold"
    ring = next(c for c in fig.axes[0].collections if c.get_gid() == "heatseq-highlight")
    t = res.table
    ids = [t.index[t["symbol"] == "DUSP1"][0], "ENSG00000096060"]
    expected = np.column_stack([t.loc[ids, "log2FoldChange"],
                                -np.log10(t.loc[ids, "padj"])])
    np.testing.assert_allclose(ring.get_offsets(), expected, rtol=1e-12)
    assert "highlighted" in legend_texts(fig)


def test_highlighted_gene_without_padj_is_reported(res):
    gone = res.table.index[res.table["padj"].isna() & (res.table["baseMean"] > 0)][0]
    with pytest.warns(InputWarning, match="cannot be drawn"):
        volcano(res, highlight=[gone])


def test_padj_zero_is_capped_and_marked(res):
    t = res.table.copy()
    top = t["padj"].nsmallest(3).index
    t.loc[top, "padj"] = 0.0
    fig = volcano(with_table(res, t), top_n=5)
    ax = fig.axes[0]
    finite_max = -np.log10(t.loc[t["padj"] > 0, "padj"].min())
    tri = [c for c in ax.collections if (c.get_gid() or "").startswith("heatseq-edge")]
    y = np.concatenate([c.get_offsets()[:, 1] for c in tri])
    assert len(y) == 3 and np.isfinite(y).all() and (y > finite_max).all()
    for c in ax.collections:
        assert np.isfinite(np.asarray(c.get_offsets())).all()
    assert np.isfinite(ax.get_ylim()).all() and ax.get_ylim()[1] > y.max()
    assert "capped" in legend_texts(fig)
    caption = next(t.get_text() for t in fig.texts if t.get_gid() == "heatseq-caption")
    assert "3 genes with padj = 0" in caption.replace("\n", " ")
    assert_labels_clear(fig)


def test_all_padj_na(res):
    t = res.table.copy()
    t["padj"] = np.nan
    r = with_table(res, t)
    fig = volcano(r)
    assert legend_texts(fig) == ["up 0", "down 0", "n.s. 0"]
    assert any(x.get_text() == "no gene to draw" for x in fig.axes[0].texts)
    assert not label_texts(fig)
    caption = next(x.get_text() for x in fig.texts if x.get_gid() == "heatseq-caption")
    assert "No gene has an adjusted p-value." in caption.replace("\n", " ")
    fig = ma_plot(r)
    drawn = int(((t["baseMean"] > 0) & t["log2FoldChange_shrunk"].notna()).sum())
    assert legend_texts(fig)[:3] == ["up 0", "down 0", f"n.s. {drawn:,}"]
    html = volcano_html(r)
    assert json.loads(_Fragment.parse(html).data)["ids"] == []


def test_figures_are_written_and_points_rasterised(res, tmp_path):
    cpu = time.process_time()
    fig = volcano(res, highlight=["DUSP1"])
    build = time.process_time() - cpu
    assert build < 10  # about 0.3 CPU s for 64,102 genes
    points = [c for c in fig.axes[0].collections if (c.get_gid() or "").startswith("heatseq-p")]
    assert all(c.get_rasterized() for c in points)
    assert not any(t.get_rasterized() for t in label_texts(fig))
    for suffix in (".png", ".svg", ".pdf"):
        path = save_figure(fig, tmp_path / f"volcano{suffix}")
        assert path.stat().st_size > 5000
    assert (tmp_path / "volcano.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "volcano.pdf").read_bytes()[:5] == b"%PDF-"
    svg = (tmp_path / "volcano.svg").read_text()
    assert "<image" in svg  # the point cloud as one embedded image
    assert ">DUSP1</text>" in svg  # labels stay text
    assert f">{legend_texts(fig)[0]}</text>" in svg


def test_bad_options_raise_clear_errors(res):
    with pytest.raises(InputError, match=r"lfc_column='lfc' is not valid; choose one of: "
                                         r"log2FoldChange, shrunk"):
        volcano(res, lfc_column="lfc")
    with pytest.raises(InputError, match=r"alpha=2 is not valid"):
        volcano(res, alpha=2)
    with pytest.raises(InputError, match=r"lfc_threshold=-1 is not valid"):
        volcano(res, lfc_threshold=-1)
    with pytest.raises(InputError, match=r"top_n=-3 is not valid"):
        ma_plot(res, top_n=-3)
    with pytest.raises(InputError, match=r"label_by='name' is not valid; choose one of: "
                                         r"symbol, gene_id"):
        volcano(res, label_by="name")
    with pytest.raises(InputError, match=r"ylim=0 is not valid"):
        ma_plot(res, ylim=0)
    with pytest.raises(InputError, match=r"size=\(1, 1\) is not valid"):
        volcano(res, size=(1, 1))
    with pytest.raises(InputError, match="Expected a DEResult"):
        volcano(res.table)
    with pytest.raises(InputError, match=r"element_id='1 bad' is not valid"):
        volcano_html(res, element_id="1 bad")
    with pytest.raises(InputError, match=r"width=10 is not valid"):
        ma_html(res, width=10)


# ----------------------------------------------------------------------------- interactive

class _Fragment(HTMLParser):
    """Collects ids, tags, the JSON data and the scripts of a fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.data = ""
        self.scripts: list[str] = []
        self._in: str | None = None

    @classmethod
    def parse(cls, html: str) -> _Fragment:
        p = cls()
        p.feed(html)
        p.close()
        return p

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "script":
            self._in = "data" if a.get("type") == "application/json" else "script"
        if tag not in ("input", "br", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()
        self._in = None

    def handle_data(self, data):
        if self._in == "data":
            self.data += data
        elif self._in == "script":
            self.scripts.append(data)


@pytest.mark.parametrize("kind", ["volcano", "ma"])
def test_html_fragment_parses_and_holds_every_point(res, kind):
    html = volcano_html(res) if kind == "volcano" else ma_html(res)
    p = _Fragment.parse(html)
    assert not p.stack  # every tag closed
    assert p.tags[0] == "div" and "canvas" in p.tags and "input" in p.tags
    assert len(p.ids) == len(set(p.ids)) == 1
    assert "http" not in html and "src=" not in html  # nothing loaded from elsewhere
    data = json.loads(p.data)
    column = "log2FoldChange" if kind == "volcano" else "log2FoldChange_shrunk"
    g = expected_groups(res.table, column=column, threshold=1.0 if kind == "volcano" else 0.0,
                        kind=kind)
    assert data["ids"] == list(g.index)
    assert len(data["lfc"]) == len(data["padj"]) == len(data["baseMean"]) == len(g)
    codes = np.array(list(data["group"]), dtype=int)
    np.testing.assert_array_equal(codes, g.map({"n.s.": 0, "up": 1, "down": 2}).to_numpy())
    assert data["counts"] == {k: int(v) for k, v in g.value_counts().items()}
    # 4 significant digits
    ref = res.table.loc[g.index, column].to_numpy()
    np.testing.assert_allclose(np.array(data["lfc"], dtype=float), ref, rtol=5e-4, atol=1e-300)
    assert len(html) < 150 * len(g)  # compact: about 60 bytes a gene


def test_html_fragments_have_distinct_ids(res):
    a, b = volcano_html(res), ma_html(res)
    ida, idb = _Fragment.parse(a).ids[0], _Fragment.parse(b).ids[0]
    assert ida != idb
    assert volcano_html(res) == a  # deterministic
    c = volcano_html(res, element_id="contrast-1-volcano")
    assert _Fragment.parse(c).ids == ["contrast-1-volcano"]


@pytest.mark.slow
def test_html_runs_in_chromium(res, tmp_path):
    """Two fragments on one page: no console errors, search rings a gene, hover shows it."""
    page_file = tmp_path / "page.html"
    page_file.write_text("<!doctype html><html><head><meta charset='utf-8'></head><body>"
                         + volcano_html(res, width=600, height=420) + ma_html(res)
                         + "</body></html>", encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 800, "height": 1200})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.locator(".hs-search").nth(1).fill("crispld2")
        assert page.locator(".hs-found").nth(1).text_content() == "1 found"
        assert page.locator(".hs-found").nth(0).text_content() == ""
        # hover the point of FKBP5 in the volcano: its tooltip names it
        t = res.table.loc["ENSG00000096060"]
        box = page.locator(".hs-over").nth(0).bounding_box()
        data = json.loads(_Fragment.parse(volcano_html(res, width=600, height=420)).data)
        xlim, ylim = data["xlim"], data["ylim"]
        px = 58 + (t["log2FoldChange"] - xlim[0]) / (xlim[1] - xlim[0]) * (600 - 58 - 12)
        py = 420 - 42 - (-np.log10(t["padj"]) - ylim[0]) / (ylim[1] - ylim[0]) * (420 - 8 - 42)
        page.mouse.move(box["x"] + px, box["y"] + py)
        page.wait_for_timeout(100)
        assert "ENSG00000096060" in page.locator(".hs-tip").nth(0).text_content()
        browser.close()
    assert errors == []
