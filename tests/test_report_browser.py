"""The HTML report in a real browser: Debian's chromium driven by Playwright, offline.

A report is built from real content (a heatseq heatmap of bundled airway genes, an MA plot
and the top-genes table of R DESeq2's airway results from ``tests/data/airway``, an
interactive volcano fragment), opened as ``file://``, and used as a person would: every
section visible, no console error, no request except ``file:``/``data:``/``blob:``, the table
sorts on a click and filters on typing, the downloads give the exact PNG/SVG bytes, the
interactive view switches and reacts to the mouse.

Full-page screenshots go to ``$HEATSEQ_ARTIFACTS/report/`` when that variable is set, else to
``test-artifacts/report/`` at the top of the checkout (git-ignored).

Needs the Debian package ``chromium`` and the Python package ``playwright`` (its own browser
download, ``playwright install``, is not used).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure as MplFigure
from playwright.sync_api import sync_playwright

import heatseq
from heatseq.cluster import cluster, expression_values, select_genes
from heatseq.plot import heatmap, save_figure
from heatseq.provenance import package_versions
from heatseq.report import Figure, Report, Section, Table, render_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DATA = Path(__file__).parent / "data" / "airway"
HOSTILE = "<script>alert('x')</script>&amp;"
ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _artifact_dir() -> Path:
    env = os.environ.get("HEATSEQ_ARTIFACTS")
    out = (Path(env) if env else ROOT / "test-artifacts") / "report"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _volcano_fragment(de: pd.DataFrame) -> str:
    """A self-contained interactive volcano (inline SVG; hovering a point names its gene),
    made the way heatseq's fragments are: its script finds its elements from its own root."""
    d = de.dropna(subset=["padj"]).head(300)
    x = d["log2FoldChange"].to_numpy()
    y = -np.log10(np.maximum(d["padj"].to_numpy(), 1e-300))
    px = 20 + 360 * (x - x.min()) / (np.ptp(x) or 1)
    py = 280 - 260 * (y - y.min()) / (np.ptp(y) or 1)
    dots = "".join(
        f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" data-gene="{g}"><title>{g}</title></circle>'
        for a, b, g in zip(px, py, d.index, strict=True))
    return ('<div class="live-volcano"><style>.live-volcano circle{fill:#c0392b;opacity:.6}'
            ".live-volcano circle:hover{opacity:1}</style>"
            '<div class="readout">hover a point</div>'
            f'<svg width="400" height="300">{dots}</svg>'
            "<script>(function(){var root=document.currentScript.parentNode;"
            "root.querySelectorAll('circle').forEach(function(c){"
            "c.addEventListener('mouseenter',function(){root.querySelector('.readout')"
            ".textContent=c.getAttribute('data-gene');});});}());</script></div>")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("report")
    ds = heatseq.datasets.airway()
    counts = ds.counts.loc[:, (ds.counts.mean(axis=0) >= 200).to_numpy()]
    values = expression_values(counts.T)
    sel = select_genes(values, n=40)
    clus = cluster(values.loc[sel.ids], samples=ds.samples, condition="dex",
                   caption_prefix=sel.caption)
    fig = heatmap(clus, samples=ds.samples, annotate=("dex", "cell"))
    save_figure(fig, out / "heatmap.png", dpi=100)
    save_figure(fig, out / "heatmap.svg")

    de = pd.read_csv(DATA / "deseq2_R.tsv.gz", sep="\t", index_col="gene_id")
    ma = MplFigure(figsize=(5, 3.5), layout="constrained")
    ax = ma.add_subplot()
    ok = de["baseMean"] > 0
    sig = (de["padj"] < 0.1).to_numpy()[ok.to_numpy()]
    ax.scatter(np.log10(de.loc[ok, "baseMean"]), de.loc[ok, "log2FoldChange"], s=2,
               c=np.where(sig, "#c0392b", "#999999"), rasterized=True)
    ax.set_xlabel("log10 baseMean")
    ax.set_ylabel("log2 fold change")
    save_figure(ma, out / "ma.png", dpi=100)

    top = de.sort_values("padj", kind="mergesort").head(600)
    top = top.rename(index={top.index[3]: HOSTILE})
    top.to_csv(out / "de_dex.tsv", sep="\t")

    report = Report(
        title="heatseq report: airway <dex>",
        created="2024-01-02T03:04:05",
        methods="Counts were analysed with **heatseq** (DESeq2 1.38.3 steps), design "
                "`~ cell + dex`.\n\nHeatmaps show *row z-scores* of VST values.",
        provenance={"command": "heatseq run counts.tsv", "versions": package_versions(),
                    "parameters": {"design": "~ cell + dex", "alpha": 0.1,
                                   "contrast": ["dex", "trt", "untrt"]},
                    "inputs": {"counts.tsv.gz": {"sha256": hashlib.sha256(
                        (DATA / "counts.tsv.gz").read_bytes()).hexdigest()}}},
        sections=(
            Section(id="inputs", title="Inputs", paragraphs=(
                "8 samples, 64,102 genes; sample sheet with columns `dex`, `cell`.",)),
            Section(id="qc", title="Quality control", subsections=(
                Section(id="qc-heatmap", title="Top variable genes",
                        figures=(Figure(id="heatmap", title="Top 40 variable genes",
                                        caption=clus.caption, png=out / "heatmap.png",
                                        svg=out / "heatmap.svg"),)),
                Section(id="qc-verdict", title="Replicate verdict", status="warning",
                        paragraphs=("**SRR1039512** looks like an outlier.",)),
            )),
            Section(id="contrast-dex", title="dex: trt vs untrt",
                    paragraphs=("4,023 genes with padj < 0.1.",),
                    figures=(Figure(id="volcano", title="MA plot and volcano",
                                    caption="MA plot; the interactive view is a volcano.",
                                    png=out / "ma.png", html=_volcano_fragment(de)),),
                    tables=(Table(id="top-genes", title="Top genes", frame=top,
                                  caption="Sorted by padj.", download=out / "de_dex.tsv",
                                  max_rows=500),)),
            Section(id="enrichment", title="Enrichment", status="not_run",
                    paragraphs=("Enrichment was not run: the capability is not built yet.",)),
        ),
    )
    path = render_report(report, out / "report.html")
    return {"path": path, "out": out, "report": report, "top": top.head(500)}


@pytest.fixture(scope="module")
def browser_page(built: dict, tmp_path_factory: pytest.TempPathFactory):
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install -y chromium"
    events: dict[str, list] = {"console": [], "pageerror": [], "failed": [], "requests": []}
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1280, "height": 900},
            accept_downloads=True, offline=True)
        context.on("request", lambda r: events["requests"].append(r.url))
        context.on("requestfailed", lambda r: events["failed"].append((r.url, r.failure)))
        page = context.pages[0] if context.pages else context.new_page()
        page.on("console", lambda m: events["console"].append((m.type, m.text)))
        page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
        start = time.perf_counter()
        page.goto(built["path"].as_uri(), wait_until="load")
        events["load_seconds"] = time.perf_counter() - start
        yield page, events, context
        context.close()


def _visible_rows(page) -> int:
    return page.locator("#top-genes tbody tr:visible").count()


def _column(page, col: int, attr: str | None = None) -> list[str]:
    js = ("(rows, a) => rows.filter(r => !r.hidden).map(r => a ? "
          f"r.cells[{col}].getAttribute(a) : r.cells[{col}].textContent)")
    return page.locator("#top-genes tbody tr").evaluate_all(js, attr)


def test_page_loads_offline_without_errors(browser_page, built):
    page, events, _ = browser_page
    assert events["requests"][0] == built["path"].as_uri()
    schemes = {u.split(":", 1)[0] for u in events["requests"]}
    assert schemes <= {"file", "data", "blob", "about"}, events["requests"]
    assert events["failed"] == []
    assert events["pageerror"] == []
    assert [c for c in events["console"] if c[0] in ("error", "warning")] == []
    assert page.title() == "heatseq report: airway <dex>"
    broken = page.locator("img").evaluate_all(
        "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.id)")
    assert broken == []


def test_every_section_is_present_and_visible(browser_page, built):
    page, _, _ = browser_page
    ids = ["inputs", "qc", "qc-heatmap", "qc-verdict", "contrast-dex", "enrichment",
           "methods", "provenance"]
    for ident in ids:
        section = page.locator(f"section#{ident}")
        assert section.count() == 1, ident
        section.scroll_into_view_if_needed()
        assert section.is_visible(), ident
        assert page.locator(f"nav#toc a[href='#{ident}']").is_visible(), ident
    assert page.locator("#qc-verdict .badge.warning").inner_text().lower() == "warning"
    assert page.locator("#enrichment .badge.not_run").inner_text().lower() == "not run"
    assert page.locator("header h1").inner_text() == "heatseq report: airway <dex>"
    assert f"heatseq {heatseq.__version__}" in page.locator("header .meta").inner_text()
    assert page.locator("#methods strong").inner_text() == "heatseq"
    # a click in the table of contents brings the section into view
    page.locator("nav#toc a[href='#enrichment']").click()
    page.wait_for_function("() => location.hash === '#enrichment'")
    top = page.locator("section#enrichment").evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= top < 300
    # the table of contents marks the section being read
    page.locator("nav#toc a[href='#contrast-dex']").click()
    page.wait_for_function("() => document.querySelector('nav#toc a.current')"
                           "?.getAttribute('href') === '#contrast-dex'")


def test_table_sorts_on_click(browser_page, built):
    page, _, _ = browser_page
    top = built["top"]
    assert _visible_rows(page) == 500
    assert "first 500 of 600 rows" in page.locator("#top-genes p.table-note").inner_text()
    header = page.locator("#top-genes thead th", has_text="log2FoldChange")
    col = list(top.columns).index("log2FoldChange") + 1  # the gene id column comes first
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    want = top.sort_values("log2FoldChange", kind="mergesort").index.tolist()
    assert _column(page, 0) == want
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    want = top.sort_values("log2FoldChange", ascending=False, kind="mergesort").index.tolist()
    assert _column(page, 0) == want
    values = [float(v) for v in _column(page, col, "data-v")]
    assert values == sorted(values, reverse=True)
    # text column, then back to padj order
    page.locator("#top-genes thead th", has_text="gene_id").locator("button").click()
    assert [g.lower() for g in _column(page, 0)] == sorted(g.lower() for g in top.index)
    page.locator("#top-genes thead th", has_text="padj").locator("button").click()
    padj = [float(v) for v in _column(page, list(top.columns).index("padj") + 1, "data-v")]
    assert padj == sorted(padj)
    shown = _column(page, list(top.columns).index("padj") + 1)
    assert shown[0] == f"{top['padj'].min():.2e}"


def test_table_filters_on_typing(browser_page, built):
    page, _, _ = browser_page
    box = page.locator("#top-genes input[type='search']")
    gene = built["top"].index[10]
    box.fill(gene)
    assert _visible_rows(page) == 1
    assert _column(page, 0) == [gene]
    assert "1 matching" in page.locator("#top-genes .match-count").inner_text()
    box.fill("<script>")
    assert _column(page, 0) == [HOSTILE]  # shown as text, never run
    box.fill("no such gene")
    assert _visible_rows(page) == 0
    box.fill("")
    assert _visible_rows(page) == 500
    link = page.locator("#top-genes a", has_text="Full table")
    assert link.get_attribute("href") == "de_dex.tsv"


def test_figure_downloads_give_the_files(browser_page, built):
    page, _, _ = browser_page
    out = built["out"]
    png_link = page.locator("#heatmap a[download='heatmap.png']")
    assert png_link.get_attribute("href").startswith("blob:")
    svg_link = page.locator("#heatmap a[download='heatmap.svg']")
    assert svg_link.get_attribute("href").startswith("data:image/svg+xml;base64,")
    for link, source in ((png_link, out / "heatmap.png"), (svg_link, out / "heatmap.svg"),
                         (page.locator("#volcano a[download='volcano.png']"), out / "ma.png")):
        link.scroll_into_view_if_needed()
        with page.expect_download() as info:
            link.click()
        got = Path(info.value.path()).read_bytes()
        assert got == source.read_bytes(), source.name


def test_click_on_a_figure_shows_it_at_full_resolution(browser_page):
    page, _, _ = browser_page
    img = page.locator("figure#heatmap img")
    img.scroll_into_view_if_needed()
    natural, shown = img.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")
    assert shown == pytest.approx(natural * 0.96, abs=1)  # a 100-dpi PNG at 96 px per inch
    img.click()
    assert img.evaluate("i => i.getBoundingClientRect().width") == pytest.approx(natural, abs=1)
    img.click()
    assert img.evaluate("i => i.getBoundingClientRect().width") == pytest.approx(shown, abs=1)


def test_interactive_view_toggles_and_reacts(browser_page):
    page, events, _ = browser_page
    fig = page.locator("figure#volcano")
    fig.scroll_into_view_if_needed()
    assert fig.locator(".fig-interactive").is_visible()  # shown first
    assert not fig.locator(".fig-static").is_visible()
    dot = fig.locator("circle").last  # drawn on top of the others
    gene = dot.get_attribute("data-gene")
    dot.hover(force=True)
    assert fig.locator(".readout").inner_text() == gene
    fig.locator("button[data-view='static']").click()
    assert fig.locator(".fig-static img").is_visible()
    assert not fig.locator(".fig-interactive").is_visible()
    assert fig.locator("button[data-view='static']").get_attribute("aria-pressed") == "true"
    fig.locator("button[data-view='interactive']").click()
    assert fig.locator(".fig-interactive").is_visible()
    assert events["pageerror"] == []


def test_provenance_json_expands(browser_page):
    page, _, _ = browser_page
    pre = page.locator("#provenance details pre")
    assert not pre.is_visible()
    page.locator("#provenance details summary").click()
    assert pre.is_visible()
    digest = hashlib.sha256((DATA / "counts.tsv.gz").read_bytes()).hexdigest()
    assert digest in pre.inner_text()
    assert page.locator("#provenance table.kv th", has_text="parameters.design").count() == 0
    assert page.locator("#provenance table.kv th", has_text="design").count() == 1


def test_screenshots_are_saved(browser_page, built):
    page, events, _ = browser_page
    out = _artifact_dir()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(out / "report-full.png"), full_page=True)
    page.set_viewport_size({"width": 800, "height": 1000})
    page.screenshot(path=str(out / "report-narrow.png"), full_page=False)
    page.set_viewport_size({"width": 1280, "height": 900})
    shutil.copy(built["path"], out / "report.html")
    # the print view: no navigation, no controls, tables in full, the PNG instead of the frame
    page.emulate_media(media="print")
    assert not page.locator("nav#toc").is_visible()
    assert not page.locator("#top-genes input[type='search']").is_visible()
    assert page.locator("figure#volcano .fig-static").is_visible()
    rows = page.locator("#top-genes tbody tr")
    assert rows.nth(49).is_visible() and not rows.nth(50).is_visible()
    assert page.locator("#top-genes .print-only").is_visible()
    page.pdf(path=str(out / "report.pdf"), format="A4", print_background=True)
    page.emulate_media(media="screen")
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    for name in ("report-full.png", "report-narrow.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    assert [c for c in events["console"] if c[0] in ("error", "warning")] == []
    assert events["pageerror"] == []
