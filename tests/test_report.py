"""The HTML report without a browser: valid markup, offline, escaped, deterministic, atomic.

The page is parsed with :mod:`html.parser` (every tag closed in order, ids unique); resource
references must be ``data:``/``blob:``/``#`` or relative paths; hostile text (a gene called
``<script>``) must stay text; two renders must give the same bytes; a failed render must
leave no file. Numbers are checked against the formatting rules of
:mod:`heatseq.report._format` on exact values.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure as MplFigure

import heatseq
from heatseq.errors import InputError
from heatseq.plot import save_figure
from heatseq.report import Figure, Report, Section, Table, render
from heatseq.report import render_report as render_report_fn

HOSTILE = '<script>alert("x")</script>" onmouseover="bad'
FRAGMENT = '<div class="plot" id="pca-live"><canvas width="10" height="10"></canvas></div>'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Page(HTMLParser):
    """Collects tags, attributes and text; fails on a mis-nested or unclosed tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] not in ("script", "style"):
            self.text.append(data)


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    assert p.errors == []
    assert p.stack == []
    assert p.doctype.lower() == "doctype html"
    return p


def _png(path: Path, *, dpi: int = 50) -> Path:
    fig = MplFigure(figsize=(2, 1.5))
    fig.add_subplot().plot([0, 1, 2], [1, 0, 2])
    return save_figure(fig, path, dpi=dpi)


def _svg(path: Path) -> Path:
    fig = MplFigure(figsize=(2, 1.5))
    fig.add_subplot().plot([0, 1], [1, 0])
    return save_figure(fig, path)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    png = _png(tmp_path / "figs" / "pca.png")
    svg = _svg(tmp_path / "figs" / "pca.svg")
    de = pd.DataFrame({"baseMean": [1234.5678, 0.5, 2e7],
                       "log2FoldChange": [2.5, -0.000123, np.nan],
                       "padj": [1.23456e-10, 0.0456789, np.nan],
                       "n": np.array([3, 10, 0], dtype=np.int64),
                       "up": [True, False, True]},
                      index=pd.Index(["TP53", HOSTILE, "GAPDH"], name="gene"))
    de.to_csv(tmp_path / "de.tsv", sep="\t")
    return Report(
        title=f"Run {HOSTILE}",
        created="2024-05-06 07:08",
        methods=f"We used **heatseq** {HOSTILE}.\n\nSecond *paragraph* with `code`.",
        provenance={"command": "heatseq run", "versions": {"heatseq": heatseq.__version__},
                    "inputs": {"counts.tsv": {"sha256": "ab" * 32}}, "note": HOSTILE},
        sections=(
            Section(id="qc", title=f"QC {HOSTILE}", paragraphs=(f"Gene {HOSTILE}.",),
                    figures=(Figure(id="pca", title=f"PCA {HOSTILE}", caption=HOSTILE,
                                    png=png, svg=svg, html=FRAGMENT),),
                    subsections=(Section(id="qc-verdict", title="Verdict",
                                         status="warning"),)),
            Section(id="de", title="DE", tables=(Table(id="de-top", title="Top",
                                                       frame=de, download=tmp_path / "de.tsv",
                                                       max_rows=2),)),
            Section(id="enrichment", title="Enrichment", status="not_run"),
        ),
    )


def _render(report: Report, path: Path) -> str:
    return render_report_fn(report, path).read_text(encoding="utf-8")


def test_page_is_valid_html_with_every_section(report, tmp_path):
    page = _render(report, tmp_path / "out" / "report.html")
    p = parse(page)
    ids = [a["id"] for _, a in p.tags if "id" in a]
    assert len(ids) == len(set(ids))
    sections = [a["id"] for t, a in p.tags if t == "section"]
    assert sections == ["qc", "qc-verdict", "de", "enrichment", "methods", "provenance"]
    toc = [a["href"] for t, a in p.tags if t == "a" and a.get("href", "").startswith("#")]
    assert toc == ["#qc", "#qc-verdict", "#de", "#enrichment", "#methods", "#provenance"]
    assert f"heatseq {heatseq.__version__}" in page
    assert '<span class="badge warning">warning</span>' in page
    assert '<span class="badge not_run">not run</span>' in page


def test_no_network_references(report, tmp_path):
    page = _render(report, tmp_path / "out" / "report.html")
    p = parse(page)
    refs = [v for _, a in p.tags for k, v in a.items() if k in ("src", "href", "action")]
    assert refs
    for ref in refs:
        assert ref is not None
        ok = ref.startswith(("data:", "blob:", "#")) or not re.match(r"[a-z][a-z0-9+.-]*:|/", ref)
        assert ok, ref
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page
    csp = [a["content"] for t, a in p.tags if t == "meta"
           and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none'")


def test_hostile_text_stays_text(report, tmp_path):
    page = _render(report, tmp_path / "out" / "report.html")
    p = parse(page)
    assert sum(1 for t, _ in p.tags if t == "script") == 1  # only the report's own script
    assert not any(k.startswith("on") for _, a in p.tags for k in a)
    text = "".join(p.text)
    assert text.count(HOSTILE) >= 7  # title, heading, paragraph, caption, cell, methods, ...
    assert f"Run {HOSTILE}" in p.text  # the <title> and the <h1>
    img = next(a for t, a in p.tags if t == "img")
    assert img["alt"] == f"PCA {HOSTILE}"


def test_interactive_fragment_is_shown_first(report, tmp_path):
    page = _render(report, tmp_path / "report.html")
    parse(page)
    fig = page.split('<figure class="report-figure" id="pca" data-interactive>', 1)[1]
    fig = fig.split("</figure>", 1)[0]
    assert f'<div class="fig-interactive">{FRAGMENT}</div>' in fig  # inserted as it is
    assert '<div class="fig-static" hidden><img' in fig
    assert fig.index("fig-interactive") < fig.index("fig-static")
    assert '<button type="button" data-view="interactive" aria-pressed="true">' in fig


def test_same_input_gives_the_same_bytes(report, tmp_path):
    a = render_report_fn(report, tmp_path / "a" / "report.html").read_bytes()
    b = render_report_fn(report, tmp_path / "b" / "report.html").read_bytes()
    assert a == b
    other = Report(title=report.title, sections=report.sections, methods=report.methods,
                   provenance=report.provenance, created="2099-12-31 23:59")
    c = render_report_fn(other, tmp_path / "c" / "report.html").read_bytes()
    assert c != a
    assert c.replace(b"2099-12-31 23:59", b"2024-05-06 07:08") == a


def test_figures_are_embedded_and_downloadable(report, tmp_path):
    out = tmp_path / "out" / "report.html"
    p = parse(_render(report, out))
    fig = report.sections[0].figures[0]
    img = next(a for t, a in p.tags if t == "img")
    assert base64.b64decode(img["src"].split(",", 1)[1]) == fig.png.read_bytes()
    assert img["src"].startswith("data:image/png;base64,")
    # 2 x 1.5 inches at 50 dpi = 100 x 75 pixels, shown at 96 CSS px per inch
    assert (img["width"], img["height"]) == ("192", "144")
    links = {a["download"]: a for t, a in p.tags if t == "a" and "download" in a}
    assert links["pca.png"]["data-png-from"] == img["id"]
    assert links["pca.png"]["href"] == "../figs/pca.png"
    svg = links["pca.svg"]["href"]
    assert svg.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(svg.split(",", 1)[1]) == fig.svg.read_bytes()
    json_link = links["provenance.json"]["href"]
    assert b'"sha256": "abab' in base64.b64decode(json_link.split(",", 1)[1])


def test_large_svg_is_linked_not_embedded(report, tmp_path, monkeypatch):
    monkeypatch.setattr(render, "SVG_EMBED_LIMIT", 100)
    p = parse(_render(report, tmp_path / "report.html"))
    links = {a["download"]: a["href"] for t, a in p.tags if t == "a" and "download" in a}
    assert links["pca.svg"] == "figs/pca.svg"


def test_table_cells_are_formatted(report, tmp_path):
    page = _render(report, tmp_path / "report.html")
    body = page.split('id="de-top"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1])
    assert len(rows) == 2  # max_rows=2
    assert "Showing the first 2 of 3 rows." in page
    assert "The printout shows the first" not in page  # only for tables over PRINT_ROWS rows
    heads = re.findall(r"<button type=\"button\">(.*?)</button>", body)
    assert heads == ["gene", "baseMean", "log2FoldChange", "padj", "n", "up"]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert cells[0] == ["TP53", "1235", "2.5", "1.23e-10", "3", "yes"]
    assert cells[1][1:] == ["0.5", "-1.230e-04", "4.57e-02", "10", "no"]
    keys = re.findall(r'data-v="([^"]*)"', rows[0])
    assert [float(k) for k in keys] == [1234.5678, 2.5, 1.23456e-10, 3]
    assert '<a href="de.tsv">Full table (de.tsv, 3 rows)</a>' in page
    # NA and huge numbers, on the third row
    full = Table(id="t", title="t", frame=pd.DataFrame({"padj": [np.nan], "x": [2e7]}))
    p2 = _render(Report(title="t", sections=(Section(id="s", title="s", tables=(full,)),),
                        methods="", provenance={}, created=""), tmp_path / "r2.html")
    assert re.search(r'<td class="num" data-v="">NA</td><td class="num" '
                     r'data-v="20000000.0">2.000e\+07</td>', p2)


def test_lists_are_taken_as_tuples():
    s = Section(id="s", title="t", paragraphs=["a", "b"], subsections=[Section(id="u", title="u")])
    assert s.paragraphs == ("a", "b") and isinstance(s.subsections, tuple)
    r = Report(title="t", sections=[s], methods="", provenance={}, created="")
    assert r.sections == (s,)


def test_markup_subset(tmp_path):
    rep = Report(title="t", sections=(Section(id="s", title="s", paragraphs=(
        "**bold** and *it* and `a*b*c` and 2 * 3 * 4 and **<b>**",)),),
        methods="m", provenance={}, created="")
    page = _render(rep, tmp_path / "r.html")
    assert ("<p><strong>bold</strong> and <em>it</em> and <code>a*b*c</code> and "
            "2 * 3 * 4 and <strong>&lt;b&gt;</strong></p>") in page


def test_failed_render_leaves_no_file(report, tmp_path):
    out = tmp_path / "out"
    target = out / "report.html"
    target.parent.mkdir()
    target.write_text("previous report")
    sections = (*report.sections,
                Section(id="late", title="late", figures=(Figure(
                    id="gone", title="g", caption="", png=tmp_path / "missing.png"),)))
    broken = Report(title="t", sections=sections, methods="", provenance={}, created="")
    with pytest.raises(InputError, match=r"Figure 'gone': the PNG file .*missing\.png does "
                                         r"not exist\. Save the figure"):
        render_report_fn(broken, target)
    assert target.read_text() == "previous report"
    assert sorted(x.name for x in out.iterdir()) == ["report.html"]


def test_interrupted_write_leaves_no_partial_file(report, tmp_path, monkeypatch):
    target = tmp_path / "report.html"

    def fail_halfway(self: Path, data: bytes) -> int:
        with open(self, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", fail_halfway)
    with pytest.raises(OSError, match="No space left"):
        render_report_fn(report, target)
    assert list(tmp_path.glob("*.html")) == []
    assert [x.name for x in tmp_path.iterdir() if x.is_file()] == ["de.tsv"]


def test_provenance_tables(report, tmp_path):
    page = _render(report, tmp_path / "report.html")
    prov = page.split('<section id="provenance"', 1)[1]
    assert '<tr><th scope="row">command</th><td>heatseq run</td></tr>' in prov
    assert "<h3>Versions</h3>" in prov and "<h3>Inputs</h3>" in prov
    assert f'<th scope="row">counts.tsv.sha256</th><td>{"ab" * 32}</td>' in prov
    assert "<details><summary>Full provenance (JSON)</summary>" in prov


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: Section(id="1abc", title="t"), r"Section id '1abc' is not valid: an id starts"),
    (lambda p: Section(id="methods", title="t"), r"Section id 'methods' is reserved"),
    (lambda p: Section(id="s", title="t", status="done"),
     r"status='done' is not valid; choose one of 'ok', 'warning', 'not_run'"),
    (lambda p: Section(id="s", title="t", paragraphs="text"),
     r"Section 's' paragraphs must be a tuple of str values"),
    (lambda p: Section(id="s", title="t", figures=[Section(id="x", title="x")]),
     r"Section 's' figures must be a tuple of Figure values"),
    (lambda p: Table(id="t", title="t", frame=[[1]]), r"Table 't' frame must be a pandas"),
    (lambda p: Table(id="t", title="t", frame=pd.DataFrame(), max_rows=0),
     r"Table 't' max_rows=0 is not valid"),
    (lambda p: Figure(id="f", title="t", caption="c", png=3),
     r"Figure 'f' png must be a file path"),
    (lambda p: Report(title="t", sections=(), methods="", provenance=[], created=""),
     r"Report provenance must be a mapping"),
])
def test_bad_content_is_refused_on_construction(make, match, tmp_path):
    with pytest.raises(InputError, match=match):
        make(tmp_path)


def test_bad_files_and_ids_are_refused_on_render(tmp_path):
    def rep(*sections: Section) -> Report:
        return Report(title="t", sections=sections, methods="", provenance={}, created="")

    png = _png(tmp_path / "a.png")
    (tmp_path / "fake.png").write_text("not a png")
    with pytest.raises(InputError, match=r"ids must be unique, but these are used twice: "
                                         r"'x' \(section and figure\)"):
        render_report_fn(rep(Section(id="x", title="x", figures=(
            Figure(id="x", title="f", caption="", png=png),))), tmp_path / "r.html")
    with pytest.raises(InputError, match=r"Figure 'f': .*fake\.png is not a PNG file"):
        render_report_fn(rep(Section(id="s", title="s", figures=(
            Figure(id="f", title="f", caption="", png=tmp_path / "fake.png"),))),
            tmp_path / "r.html")
    with pytest.raises(InputError, match=r"Figure 'f': the SVG file .*none\.svg does not exist"):
        render_report_fn(rep(Section(id="s", title="s", figures=(
            Figure(id="f", title="f", caption="", png=png, svg=tmp_path / "none.svg"),))),
            tmp_path / "r.html")
    with pytest.raises(InputError, match=r"Table 't': the download file .*none\.tsv does not"):
        render_report_fn(rep(Section(id="s", title="s", tables=(
            Table(id="t", title="t", frame=pd.DataFrame({"a": [1]}),
                  download=tmp_path / "none.tsv"),))), tmp_path / "r.html")
    with pytest.raises(InputError, match=r"it is a folder\. Give a file name"):
        render_report_fn(rep(), tmp_path)
    with pytest.raises(InputError, match=r"render_report needs a heatseq.report.Report"):
        render_report_fn({"title": "t"}, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
