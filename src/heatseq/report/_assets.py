"""The style sheet and script inlined into every report (no framework, no external file).

Kept as Python strings (not package data files) so the report works from any install. The
script only reads the page: it sorts and filters tables, switches figures between the PNG and
the interactive view, shows a PNG at full resolution on a click, turns embedded PNGs into
download links and marks the current section in the table of contents. It never loads
anything.
"""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
:root {
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa; --line: #d1d9e0;
  --accent: #0a5cad; --ok: #1a7f37; --warn: #9a6700; --warn-bg: #fff8c5; --skip: #6e7781;
  --nav-w: 16rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.5; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
code { background: var(--panel); padding: 0 .25em; border-radius: 3px; }
.layout { display: flex; align-items: flex-start; }
nav#toc {
  position: sticky; top: 0; flex: 0 0 var(--nav-w); width: var(--nav-w); height: 100vh;
  overflow-y: auto; padding: 1.25rem 1rem; border-right: 1px solid var(--line);
  background: var(--panel); font-size: .9rem;
}
nav#toc .toc-title { font-weight: 600; margin: 0 0 .5rem; color: var(--muted);
  text-transform: uppercase; letter-spacing: .05em; font-size: .75rem; }
nav#toc ul { list-style: none; margin: 0; padding-left: 0; }
nav#toc ul ul { padding-left: .9rem; }
nav#toc li { margin: .15rem 0; }
nav#toc a { text-decoration: none; color: var(--fg); display: block; padding: .1rem .4rem;
  border-radius: 4px; }
nav#toc a:hover { background: #e7ecf0; }
nav#toc a.current { background: #dbe9f8; color: var(--accent); font-weight: 600; }
nav#toc a.status-not_run { color: var(--skip); }
main { flex: 1 1 auto; min-width: 0; max-width: 72rem; padding: 0 2rem 4rem; }
header.report-header { padding: 1.5rem 0 1rem; border-bottom: 1px solid var(--line);
  margin-bottom: 1rem; }
header.report-header h1 { margin: 0 0 .25rem; font-size: 1.75rem; }
header.report-header .meta { color: var(--muted); font-size: .9rem; }
section { scroll-margin-top: 1rem; }
section.level-1 { padding-top: .5rem; margin-top: 1.5rem; border-top: 1px solid var(--line); }
h2 { font-size: 1.4rem; margin: .75rem 0 .5rem; }
h3 { font-size: 1.15rem; margin: 1rem 0 .4rem; }
h4 { font-size: 1rem; margin: 1rem 0 .3rem; }
.badge { display: inline-block; font-size: .7rem; font-weight: 600; vertical-align: middle;
  padding: .1rem .45rem; border-radius: 999px; margin-left: .5rem; letter-spacing: .02em;
  text-transform: uppercase; }
.badge.warning { background: var(--warn-bg); color: var(--warn); border: 1px solid #d4a72c; }
.badge.not_run { background: #eaeef2; color: var(--skip); border: 1px solid var(--line); }
section.status-not_run > p { color: var(--muted); }
figure.report-figure { margin: 1rem 0 1.5rem; padding: .75rem; border: 1px solid var(--line);
  border-radius: 6px; background: #fff; break-inside: avoid; }
figure.report-figure .fig-head { display: flex; flex-wrap: wrap; gap: .5rem;
  align-items: baseline; justify-content: space-between; margin-bottom: .5rem; }
figure.report-figure .fig-title { font-weight: 600; }
figure.report-figure img { display: block; max-width: 100%; height: auto; margin: 0 auto;
  cursor: zoom-in; }
figure.report-figure .fig-static.zoomed { overflow: auto; }
figure.report-figure .fig-static.zoomed img { max-width: none; width: auto; cursor: zoom-out; }
figure.report-figure .fig-interactive { overflow-x: auto; }
figure.report-figure figcaption { color: var(--muted); font-size: .9rem; margin-top: .5rem; }
.actions { display: flex; flex-wrap: wrap; gap: .35rem; font-size: .8rem; }
.actions a, .actions button { font: inherit; color: var(--accent); background: var(--panel);
  border: 1px solid var(--line); border-radius: 4px; padding: .1rem .5rem; cursor: pointer;
  text-decoration: none; }
.actions button[aria-pressed="true"] { background: #dbe9f8; border-color: #9ec5ee; }
.table-block { margin: 1rem 0 1.5rem; }
.table-block .table-head { display: flex; flex-wrap: wrap; gap: .75rem; align-items: baseline;
  justify-content: space-between; }
.table-block .table-title { font-weight: 600; }
.table-block .table-note { color: var(--muted); font-size: .85rem; }
.table-block input[type="search"] { font: inherit; font-size: .85rem; padding: .2rem .5rem;
  border: 1px solid var(--line); border-radius: 4px; min-width: 14rem; }
.table-scroll { max-height: 32rem; overflow: auto; border: 1px solid var(--line);
  border-radius: 6px; margin-top: .4rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #eaeef2; text-align: left;
  vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { position: sticky; top: 0; background: var(--panel); z-index: 1;
  border-bottom: 1px solid var(--line); white-space: nowrap; }
thead th button { all: unset; cursor: pointer; }
thead th button::after { content: " \\2195"; color: #b0b8c1; font-size: .8em; }
thead th[aria-sort="ascending"] button::after { content: " \\25B2"; color: var(--accent); }
thead th[aria-sort="descending"] button::after { content: " \\25BC"; color: var(--accent); }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #f0f6fc; }
table.kv th { width: 16rem; font-weight: 600; background: none; position: static; }
details { margin: .75rem 0; }
details summary { cursor: pointer; color: var(--accent); }
details pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: .75rem; overflow: auto; max-height: 30rem; }
.print-only { display: none; }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; }
@media (max-width: 60rem) {
  .layout { display: block; }
  nav#toc { position: static; width: auto; height: auto; border-right: 0;
    border-bottom: 1px solid var(--line); }
  main { padding: 0 1rem 3rem; }
}
@media print {
  :root { font-size: 11pt; }
  nav#toc, .actions, .table-block input[type="search"], .no-print { display: none !important; }
  .layout { display: block; }
  main { max-width: none; padding: 0; }
  .table-scroll { max-height: none; overflow: visible; border: 0; }
  .print-only { display: inline; }
  thead th { position: static; }
  figure.report-figure { border: 0; padding: 0; }
  figure.report-figure .fig-static { display: block !important; }
  figure.report-figure .fig-interactive { display: none !important; }
  details pre { max-height: none; white-space: pre-wrap; }
  section.level-1 { break-before: auto; }
  h2, h3, h4 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

JS = """
(function () {
  "use strict";

  function pngBlobUrl(img) {
    var src = img.getAttribute("src") || "";
    var comma = src.indexOf(",");
    if (src.indexOf("data:image/png;base64,") !== 0 || comma < 0) { return null; }
    var bin = atob(src.slice(comma + 1));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return URL.createObjectURL(new Blob([bytes], {type: "image/png"}));
  }

  function setupDownloads() {
    document.querySelectorAll("a[data-png-from]").forEach(function (a) {
      var img = document.getElementById(a.getAttribute("data-png-from"));
      var url = img ? pngBlobUrl(img) : null;
      if (url) { a.href = url; }
    });
  }

  function setupZoom() {
    document.querySelectorAll("figure.report-figure .fig-static img").forEach(function (img) {
      img.title = "Click to show at full resolution";
      img.addEventListener("click", function () {
        img.parentNode.classList.toggle("zoomed");
      });
    });
  }

  function setupToggles() {
    document.querySelectorAll("figure.report-figure[data-interactive]").forEach(function (fig) {
      var buttons = fig.querySelectorAll("button[data-view]");
      var views = {
        "static": fig.querySelector(".fig-static"),
        "interactive": fig.querySelector(".fig-interactive")
      };
      buttons.forEach(function (btn) {
        btn.addEventListener("click", function () {
          var want = btn.getAttribute("data-view");
          Object.keys(views).forEach(function (k) { views[k].hidden = (k !== want); });
          buttons.forEach(function (b) {
            b.setAttribute("aria-pressed", String(b === btn));
          });
        });
      });
    });
  }

  function cellKey(td) {
    var v = td.getAttribute("data-v");
    if (v === null) { return {num: false, text: td.textContent.toLowerCase()}; }
    if (v === "") { return {num: true, missing: true}; }
    return {num: true, value: parseFloat(v)};
  }

  function compare(a, b) {
    if (a.num && b.num) {
      if (a.missing || b.missing) { return (a.missing ? 1 : 0) - (b.missing ? 1 : 0); }
      return a.value - b.value;
    }
    var ta = a.num ? String(a.value) : a.text, tb = b.num ? String(b.value) : b.text;
    return ta < tb ? -1 : (ta > tb ? 1 : 0);
  }

  function setupTables() {
    document.querySelectorAll(".table-block").forEach(function (block) {
      var table = block.querySelector("table.data");
      var tbody = table.tBodies[0];
      var heads = table.querySelectorAll("thead th");
      var count = block.querySelector(".match-count");
      heads.forEach(function (th, col) {
        var btn = th.querySelector("button");
        if (!btn) { return; }
        btn.addEventListener("click", function () {
          var asc = th.getAttribute("aria-sort") !== "ascending";
          heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", asc ? "ascending" : "descending");
          var rows = Array.prototype.slice.call(tbody.rows).map(function (tr, i) {
            return {tr: tr, key: cellKey(tr.cells[col]), i: i};
          });
          rows.sort(function (r1, r2) {
            var m1 = r1.key.missing, m2 = r2.key.missing;
            if (m1 || m2) { return (m1 ? 1 : 0) - (m2 ? 1 : 0) || r1.i - r2.i; }
            var c = compare(r1.key, r2.key);
            return (asc ? c : -c) || r1.i - r2.i;
          });
          rows.forEach(function (r) { tbody.appendChild(r.tr); });
        });
      });
      var box = block.querySelector("input[type='search']");
      if (box) {
        box.addEventListener("input", function () {
          var q = box.value.trim().toLowerCase();
          var shown = 0;
          Array.prototype.forEach.call(tbody.rows, function (tr) {
            var hit = q === "" || tr.textContent.toLowerCase().indexOf(q) >= 0;
            tr.hidden = !hit;
            if (hit) { shown++; }
          });
          if (count) { count.textContent = q === "" ? "" : shown + " matching"; }
        });
      }
    });
  }

  function setupToc() {
    var links = {};
    document.querySelectorAll("nav#toc a[href^='#']").forEach(function (a) {
      links[a.getAttribute("href").slice(1)] = a;
    });
    var sections = Array.prototype.slice.call(document.querySelectorAll("main section[id]"));
    var pending = false;
    function mark() {
      pending = false;
      var line = window.innerHeight * 0.3, current = null;
      sections.forEach(function (s) {
        if (s.getBoundingClientRect().top <= line) { current = s.id; }
      });
      Object.keys(links).forEach(function (id) {
        links[id].classList.toggle("current", id === current);
      });
    }
    window.addEventListener("scroll", function () {
      if (!pending) { pending = true; window.requestAnimationFrame(mark); }
    }, {passive: true});
    mark();
  }

  setupDownloads();
  setupZoom();
  setupToggles();
  setupTables();
  setupToc();
}());
"""
