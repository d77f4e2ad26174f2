"""The web app in a real browser: Debian's chromium driven by Playwright against a real
``heatseq serve`` on loopback (issue 7, acceptance 1 and 4).

``test_bad_uploads_show_their_message_in_the_page``: a binary file, the wrong delimiter, a
sample sheet that does not match, a 0-byte file, a file over the limit (once stopped by the
page, once by the server) and a path-traversal file name each put their message in the page.

``test_the_whole_analysis_in_the_browser``: upload the airway files, read what was detected,
choose the contrast, run, see the QC verdict, sort the DE table, hover the volcano (and
click: the gene is selected everywhere), change the heatmap's k, open a module, download the
report. No console error, no request leaves the server. Screenshots of every page go to
``$HEATSEQ_ARTIFACTS/web/`` (else ``test-artifacts/web/``).

``test_heatmap_stays_smooth_at_20000_genes_by_100_samples``: the payload of a server
clustering of 20,000 x 100 values drawn by the page's heatmap.js: paint, zoom and hover
times measured in the browser.

Needs the Debian package ``chromium`` (``playwright install`` is never used).
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, sync_playwright

from web_support import AIRWAY, CHROMIUM, CHROMIUM_ARGS, LiveServer, artifact_dir, small_counts

pytestmark = pytest.mark.slow

LIMIT_MB = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("web_browser")
    with LiveServer(root / "data", args=("--max-upload-mb", str(LIMIT_MB))) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """Console errors and every request of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.urls.append(r.url))


def _open(browser, server: LiveServer, *, width: int = 1400) -> tuple[Page, Watch]:
    ctx = browser.new_context(viewport={"width": width, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    watch = Watch(page)
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return page, watch


def _upload(page: Page, kind: str, name: str, data: bytes) -> None:
    before = page.evaluate("window.heatseq.inspection && JSON.stringify(window.heatseq.inspection)")
    page.set_input_files(f"#file-{kind}", files=[{"name": name, "mimeType":
                                                  "application/octet-stream", "buffer": data}])
    page.wait_for_function(
        """([kind, before]) => {
            const s = document.getElementById('status-' + kind).textContent;
            return !s.startsWith('Uploading') && s !== '' &&
                   (document.getElementById('status-' + kind).classList.contains('error') ||
                    JSON.stringify(window.heatseq.inspection) !== before);
        }""", arg=[kind, before], timeout=30000)


def _status(page: Page, kind: str) -> str:
    return page.inner_text(f"#status-{kind}")


def _alert(page: Page) -> str:
    assert page.is_visible("#upload-message")
    return page.inner_text("#upload-message")


# ---------------------------------------------------------------------- acceptance 4
def test_bad_uploads_show_their_message_in_the_page(browser, server: LiveServer) -> None:
    page, watch = _open(browser, server)
    shots = artifact_dir("web")
    good = small_counts(400)

    _upload(page, "counts", "photo.tsv", os.urandom(3000) + b"\x00" * 50)
    assert "photo.tsv is a binary file, not a text table" in _status(page, "counts")
    assert "photo.tsv is a binary file" in _alert(page)
    assert page.get_attribute("#drop-counts", "class").split()[-1] == "bad"
    page.screenshot(path=str(shots / "bad_binary.png"), full_page=True)

    piped = pd.read_csv(io.BytesIO(good), sep="\t", index_col=0).to_csv(sep="|").encode()
    _upload(page, "counts", "piped.csv", piped)
    assert "piped.csv: found a single column, so no sample columns" in _status(page, "counts")
    assert "separated by tabs, commas or semicolons" in _alert(page)

    _upload(page, "counts", "empty.tsv", b"")
    assert "empty.tsv is empty (0 bytes)" in _status(page, "counts")

    big = b"gene\ta\n" + b"g\t1\n" * int(0.6 * 2**20)  # 2.4 MB, the limit is 2 MB
    _upload(page, "counts", "big.tsv", big)
    assert "big.tsv (2.4 MB) is larger than the upload limit of 2.0 MB" in _status(page, "counts")
    page.evaluate("window.heatseq.config.max_upload_bytes = 1e12")  # now the server refuses
    _upload(page, "counts", "big2.tsv", big)
    assert ("big2.tsv (2.4 MB) is larger than the upload limit of 2.0 MB" in
            _status(page, "counts"))
    assert "--max-upload-mb" in _alert(page)
    page.evaluate(f"window.heatseq.config.max_upload_bytes = {int(LIMIT_MB * 2**20)}")

    # a file whose name is a path (a browser's picker gives only base names; a script can
    # send anything): the page sends it as given and shows the server's refusal
    page.evaluate("""async () => {
        const f = new File(['gene\\ta\\ng1\\t1\\n'], '../../../etc/heatseq-evil.tsv');
        await window.heatseq.uploadFile('counts', f);
    }""")
    text = _status(page, "counts")
    assert "The file name '../../../etc/heatseq-evil.tsv' has folder parts" in text
    assert "never uses file names as paths" in text
    assert not Path("/etc/heatseq-evil.tsv").exists()
    assert not [p for p in server.data_dir.rglob("*") if "evil" in p.name]

    _upload(page, "counts", "counts.tsv", good)
    assert "✓ counts.tsv" in _status(page, "counts")
    sheet = pd.read_csv(AIRWAY / "samples.csv")
    sheet.iloc[:, 0] = [f"S{i}" for i in range(len(sheet))]
    _upload(page, "samples", "wrong_sheet.csv", sheet.to_csv(index=False).encode())
    text = _status(page, "samples")
    assert "wrong_sheet.csv matches none of the count table's samples" in text
    assert "The first column of the sheet must hold the sample names" in text
    assert page.is_disabled("#to-design")
    page.screenshot(path=str(shots / "bad_sheet.png"), full_page=True)
    assert not watch.errors or all("status of 4" in e for e in watch.errors), watch.errors
    page.context.close()


# ---------------------------------------------------------------------- acceptance 1
def _plot_point(page: Page, div: str, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of data point (x, y) of a plotly plot."""
    return tuple(page.evaluate("""([id, x, y]) => {
        const gd = document.getElementById(id), fl = gd._fullLayout;
        const r = gd.getBoundingClientRect();
        return [r.left + fl.xaxis._offset + fl.xaxis.d2p(x),
                r.top + fl.yaxis._offset + fl.yaxis.d2p(y)];
    }""", [div, x, y]))


def _stable_point(page: Page, div: str, x: float, y: float) -> tuple[float, float]:
    """:func:`_plot_point` once two readings 0.2 s apart agree (the layout has settled)."""
    last = _plot_point(page, div, x, y)
    for _ in range(25):
        page.wait_for_timeout(200)
        now = _plot_point(page, div, x, y)
        if now == last:
            return now
        last = now
    return last


def _de_column(page: Page, name: str) -> list[float]:
    heads = page.eval_on_selector_all("#de-table thead th", "e => e.map(x => x.dataset.sort)")
    j = heads.index(name)
    cells = page.eval_on_selector_all(f"#de-table tbody tr td:nth-child({j + 1})",
                                      "e => e.map(x => x.textContent)")
    return [float(c) if c != "NA" else float("nan") for c in cells]


def test_the_whole_analysis_in_the_browser(browser, server: LiveServer) -> None:
    page, watch = _open(browser, server)
    shots = artifact_dir("web")
    t_start = time.monotonic()

    # 1. upload the airway files
    page.set_input_files("#file-counts", str(AIRWAY / "counts.tsv.gz"))
    page.wait_for_function("document.getElementById('status-counts').textContent.startsWith('✓')",
                           timeout=30000)
    page.set_input_files("#file-samples", str(AIRWAY / "samples.csv"))
    page.wait_for_function("window.heatseq.inspection.ready === true", timeout=30000)
    detected = page.inner_text("#detected")
    assert "64,102" in detected and "ensembl_gene (human)" in detected
    assert "Column 'albut' has the same value" in page.inner_text("#problems")
    page.screenshot(path=str(shots / "1_data.png"), full_page=True)

    # 2. the design, pre-filled from the sheet; choose the dex contrast
    page.click("#to-design")
    page.wait_for_selector("#design-form:not([hidden])")
    assert page.input_value("#design-formula") == "~ cell + condition"
    assert "Confounded columns: condition and dex" in page.inner_text("#plan-message")
    page.select_option("#contrast-factor", "dex")
    page.wait_for_function("document.getElementById('contrast-ref').value === 'untrt'")
    assert page.input_value("#contrast-level") == "trt"
    assert page.input_value("#design-formula") == "~ cell + dex"
    page.wait_for_function("document.getElementById('plan-message').textContent"
                           ".includes('tests trt against untrt in dex')")
    page.screenshot(path=str(shots / "2_design.png"), full_page=True)

    # 3. run; live progress; the QC verdict
    page.click("#run-button")
    page.wait_for_selector("#run-status:not([hidden])")
    seen = set()
    t0 = time.monotonic()
    while not page.is_visible("#page-qc") and time.monotonic() - t0 < 240:
        seen.add(page.get_attribute("#run-status", "data-status"))
        page.wait_for_timeout(150)
    assert page.is_visible("#page-qc"), page.inner_text("#run-status")
    assert seen & {"queued", "running"}
    page.wait_for_selector("#qc-verdict-summary")
    verdict = page.inner_text("#qc-verdict-summary")
    assert verdict.startswith("Replicates cluster together in 2 of 2 judged dex groups")
    page.wait_for_selector("#qc-pca .main-svg")
    assert page.eval_on_selector_all("#qc-verdict-table tbody tr", "e => e.length") == 8
    page.screenshot(path=str(shots / "3_qc.png"), full_page=True)

    # 4. the DE table: sorted by padj; click log2FC (largest first), click again (smallest)
    page.click("nav#steps button[data-page=de]")
    page.wait_for_selector("#de-table tbody tr")
    padj = _de_column(page, "padj")
    assert padj == sorted(padj) and len(padj) == 50
    page.click("#de-table th[data-sort=log2FoldChange]")
    page.wait_for_selector("#de-table th[data-sort=log2FoldChange][aria-sort=descending]")
    lfc = _de_column(page, "log2FoldChange")
    assert lfc == sorted(lfc, reverse=True) and lfc[0] > 5
    page.click("#de-table th[data-sort=log2FoldChange]")
    page.wait_for_selector("#de-table th[data-sort=log2FoldChange][aria-sort=ascending]")
    lfc = _de_column(page, "log2FoldChange")
    assert lfc == sorted(lfc) and lfc[0] < -3
    page.fill("#de-search", "FKBP5")
    page.wait_for_function("document.getElementById('de-count').textContent.includes('of 1')")
    assert "FKBP5" in page.inner_text("#de-table tbody")
    page.screenshot(path=str(shots / "4_de.png"), full_page=True)
    page.fill("#de-search", "")

    # 5. volcano: hover the most significant gene, then click it: selected everywhere
    page.click("nav#steps button[data-page=plots]")
    page.wait_for_selector("#volcano .main-svg", timeout=30000)
    page.wait_for_function("document.getElementById('ma').data !== undefined")
    top = page.evaluate("""() => {
        const p = window.heatseq.points[window.heatseq.de.stem];
        let best = -1;
        for (let i = 0; i < p.padj.length; i++)
            if (p.padj[i] !== null && (best < 0 || p.padj[i] < p.padj[best])) best = i;
        return {gene: p.gene_id[best], symbol: p.symbol[best], x: p.lfc[best],
                y: -Math.log10(Math.max(p.padj[best], 1e-300))};
    }""")
    page.locator("#volcano").scroll_into_view_if_needed()
    for _ in range(3):  # the plot may still be settling (a resize) while the page loads
        x, y = _stable_point(page, "volcano", top["x"], top["y"])
        page.mouse.move(x - 30, y + 30)
        page.mouse.move(x, y, steps=5)
        page.wait_for_function("window.heatseq.lastPlotHover !== null", timeout=10000)
        if page.evaluate("window.heatseq.lastPlotHover.gene") == top["gene"]:
            break
    page.wait_for_selector("#volcano .hoverlayer .hovertext")
    assert top["symbol"] in (page.text_content("#volcano .hoverlayer") or "")
    assert page.evaluate("window.heatseq.lastPlotHover.gene") == top["gene"]
    page.mouse.click(x, y)
    page.wait_for_function("window.heatseq.selected !== null")
    assert page.evaluate("window.heatseq.selected") == top["gene"]
    page.wait_for_selector("#gene-panel:not([hidden])")
    assert top["symbol"] in page.inner_text("#selected-gene")
    ma_sel = page.evaluate("document.getElementById('ma').data[3].x.length")
    assert ma_sel == 1  # ringed on the MA plot too
    page.screenshot(path=str(shots / "5_volcano_ma.png"), full_page=True)

    # 6. the heatmap: hover a cell, change k, open a module
    page.click("nav#steps button[data-page=heatmap]")
    page.wait_for_function("window.heatseq.hmView !== null && window.heatseq.hm.off", timeout=60000)
    first = page.evaluate("window.heatseq.lastRedraw")
    box = page.locator("#hm-canvas").bounding_box()
    lay = page.evaluate("window.heatseq.hm.L")
    page.mouse.move(box["x"] + lay["x0"] + lay["bodyW"] * 0.6, box["y"] + lay["y0"] + 40)
    page.wait_for_selector("#tooltip:not([hidden])")
    hover = page.evaluate("window.heatseq.hmHover")
    tip = page.inner_text("#tooltip")
    assert hover["sample"] in tip and hover["label"] in tip and f"{hover['value']:.3f}" in tip
    meta = page.evaluate("window.heatseq.hmView")
    assert hover["gene"] == meta["rows"][hover["row"]] and hover["sample"] == meta["cols"][hover["col"]]
    k_before = meta["k"]
    page.select_option("#hm-k", "5")
    page.wait_for_function("window.heatseq.hmView.k === 5", timeout=30000)
    redraw = page.evaluate("window.heatseq.lastRedraw")
    assert page.eval_on_selector_all("#hm-modules li", "e => e.length") == 5
    assert k_before != 5
    assert redraw["ms"] < 1500, redraw
    page.select_option("#hm-genes", "de")
    page.fill("#hm-n", "300")
    page.dispatch_event("#hm-n", "change")
    page.wait_for_function("window.heatseq.hmView.genes === 'de' && window.heatseq.hmView.n_genes === 300",
                           timeout=30000)
    de_redraw = page.evaluate("window.heatseq.lastRedraw")
    page.click("#hm-modules li[data-module='1']")
    page.wait_for_selector("#hm-module-detail h3", timeout=30000)
    assert page.inner_text("#hm-module-detail h3").startswith("Module 1,")
    assert page.evaluate("window.heatseq.hm.rn") < 300  # zoomed onto the module
    page.screenshot(path=str(shots / "6_heatmap.png"), full_page=True)
    print(f"\nairway heatmap in the browser: first view {first['ms']:.0f} ms, k change "
          f"{redraw['ms']:.0f} ms (server {sum(redraw['server'].values()):.3f} s), DE genes "
          f"{de_redraw['ms']:.0f} ms")

    # 7. enrichment page and 8. downloads: the report
    page.click("nav#steps button[data-page=enrich]")
    page.wait_for_selector("#enrich-content > *")
    page.click("nav#steps button[data-page=downloads]")
    page.wait_for_selector("#open-report")
    with page.expect_download() as dl:
        page.click("#downloads a[download] >> nth=0")  # the report's own link comes first
    report = Path(dl.value.path()).read_text(encoding="utf-8")
    assert dl.value.suggested_filename.endswith(".html")
    assert "<html" in report[:300].lower() and "dex trt vs untrt" in report
    assert page.locator("a", has_text="XLSX").count() >= 5
    assert page.locator("a", has_text="PDF").count() >= 5
    page.screenshot(path=str(shots / "8_downloads.png"), full_page=True)

    assert not watch.errors, watch.errors
    outside = [u for u in watch.urls if not u.startswith((server.url, "data:", "blob:"))]
    assert not outside, outside
    print(f"whole analysis in the browser: {time.monotonic() - t_start:.1f} s")
    page.context.close()


# ---------------------------------------------------------------------- the big heatmap
def test_heatmap_stays_smooth_at_20000_genes_by_100_samples(browser, server: LiveServer) -> None:
    from heatseq.web.heatmap import HeatmapOptions, compute_view

    rng = np.random.default_rng(7)
    n_genes, n_samples = 20_000, 100
    groups = np.repeat([0, 1, 2, 3], n_samples // 4)
    effect = rng.normal(0, 2, size=(n_genes, 4))[:, groups] * (rng.random((n_genes, 1)) < 0.3)
    values = pd.DataFrame(8 + effect + rng.normal(size=(n_genes, n_samples)),
                          index=[f"G{i:05d}" for i in range(n_genes)],
                          columns=[f"S{j:03d}" for j in range(n_samples)])
    samples = pd.DataFrame({"group": [f"g{g}" for g in groups]}, index=values.columns)
    t0 = time.perf_counter()
    view, _ = compute_view(values, HeatmapOptions(n=n_genes, k=6), samples=samples,
                           condition="group", annotate=["group"], de_tables={}, symbols=None)
    server_s = time.perf_counter() - t0
    assert len(view.matrix) == n_genes * n_samples * 2
    meta = {**view.meta, "matrix_url": "/x"}
    html = ("<!doctype html><html><head><link rel=stylesheet href='/static/app.css'>"
            "<script src='/static/heatmap.js'></script></head><body>"
            "<div id='hm-container' class='hm-container' style='width:1100px'></div>"
            "<div id='tooltip' class='tooltip' hidden></div></body></html>")
    ctx = browser.new_context(viewport={"width": 1200, "height": 1100})
    page = ctx.new_page()
    watch = Watch(page)
    page.route(f"{server.url}/big-heatmap", lambda r: r.fulfill(body=html,
                                                                 content_type="text/html"))
    page.route(f"{server.url}/big-heatmap.bin", lambda r: r.fulfill(
        body=view.matrix, content_type="application/octet-stream"))
    page.goto(f"{server.url}/big-heatmap")
    palette = json.dumps(__import__("heatseq.web.heatmap", fromlist=["x"]).palette_tables()["rdbu"])
    timing = page.evaluate(f"""async () => {{
        const meta = {json.dumps(meta)};
        const t0 = performance.now();
        const buf = await (await fetch('/big-heatmap.bin')).arrayBuffer();
        const t1 = performance.now();
        const hm = new HeatmapCanvas(document.getElementById('hm-container'), {{}});
        window.hm = hm;
        hm.setData(meta, new Uint16Array(buf), {palette}, meta.vmin, meta.vmax);
        const t2 = performance.now();
        const zooms = [];
        for (let i = 0; i < 10; i++) {{
            const a = performance.now();
            hm.zoomTo(i * 1500, 20000 - i * 1900);
            zooms.push(performance.now() - a);
        }}
        hm.resetZoom();
        const a = performance.now();
        hm.setColours({palette}.slice().reverse(), -2, 2);
        const recolour = performance.now() - a;
        return {{fetch: t1 - t0, setData: t2 - t1, paint: hm.lastPaintMs,
                 zoomMax: Math.max(...zooms), recolour}};
    }}""")
    box = page.locator("#hm-canvas").bounding_box()
    lay = page.evaluate("window.hm.L")
    hovers = []
    for i in range(20):
        y = box["y"] + lay["y0"] + (i + 0.5) * lay["bodyH"] / 20
        x = box["x"] + lay["x0"] + (i * 37 % 100 + 0.5) * lay["bodyW"] / 100
        t = time.perf_counter()
        page.mouse.move(x, y)
        page.wait_for_function("document.getElementById('tooltip').hidden === false")
        hovers.append(time.perf_counter() - t)
        info = page.evaluate("window.hm.lastHover")
        assert info["gene"] == meta["rows"][info["row"]]
        code_value = page.evaluate(f"window.hm.value({info['row']}, {info['col']})")
        truth = view.clustering.values.loc[info["gene"], info["sample"]]
        assert abs(code_value - truth) <= (meta["hi"] - meta["lo"]) / 65534 + 1e-12
    page.mouse.wheel(0, -400)
    assert page.evaluate("window.hm.rn") < n_genes
    page.screenshot(path=str(artifact_dir("web") / "heatmap_20000x100.png"))
    assert not watch.errors, watch.errors
    print(f"\n20,000 x 100 heatmap: server clustering + payload {server_s:.1f} s, payload "
          f"{len(view.matrix) / 2**20:.1f} MB + {len(json.dumps(view.meta)) / 2**20:.2f} MB "
          f"JSON; browser: fetch {timing['fetch']:.0f} ms, paint {timing['paint']:.0f} ms, "
          f"zoom redraw max {timing['zoomMax']:.1f} ms, recolour {timing['recolour']:.0f} ms, "
          f"hover round trip median {np.median(hovers) * 1000:.0f} ms (Playwright included)")
    assert timing["zoomMax"] < 100 and timing["recolour"] < 1000 and timing["setData"] < 2000
    ctx.close()
