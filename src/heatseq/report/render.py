"""Rendering a :class:`~heatseq.report.model.Report` to one self-contained ``report.html``.

The page works offline and from any folder: the style sheet and the script are inline, PNGs
are embedded as base64 ``data:`` URIs (and offered for download as ``blob:`` links the script
makes from them), SVGs are embedded as ``data:`` download links when they are at most
:data:`SVG_EMBED_LIMIT` bytes and linked by their path relative to the report otherwise, and a
Content-Security-Policy forbids the page (and the interactive fragments inside it) to load
anything from the network. Full tables are linked by relative path.

Layout: a sticky table of contents on the left; a header with the title, the ``created``
string and heatseq's version; the caller's sections; "Methods"; "Provenance" (readable tables
and collapsible JSON). The page prints cleanly (no navigation or controls, the first
:data:`PRINT_ROWS` rows of each table without a scroll box, PNGs instead of interactive views).

The output is a function of the content: the same report gives the same bytes, and only the
``created`` string (which the caller passes) changes between runs. The file is written
atomically: the whole page is built in memory (every figure read and checked) before a
temporary file beside the target is written and renamed onto it, so an error leaves no file
and never a partial one.
"""

from __future__ import annotations

import base64
import logging
import os
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from heatseq._version import __version__
from heatseq.errors import InputError
from heatseq.io.write import atomic_path
from heatseq.report._assets import CSS, JS
from heatseq.report._format import cell_texts, esc, flatten, json_text, markup, paragraphs
from heatseq.report.model import Figure, Report, Section, Table

__all__ = ["PRINT_ROWS", "SVG_EMBED_LIMIT", "render_report"]

log = logging.getLogger(__name__)

#: SVG files up to this many bytes are embedded in the page as download links; larger ones
#: are linked by their path relative to the report (keep them beside it).
SVG_EMBED_LIMIT = 1_048_576

#: Rows of each table shown when the page is printed (the screen shows ``Table.max_rows``).
PRINT_ROWS = 50

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CSP = ("default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; font-src data:; connect-src data: blob:; "
        "base-uri 'none'; form-action 'none'")
_STATUS_BADGE = {"ok": "", "warning": '<span class="badge warning">warning</span>',
                 "not_run": '<span class="badge not_run">not run</span>'}


def render_report(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write ``report`` as one self-contained HTML file, atomically.

    Parameters
    ----------
    report
        What to show (:class:`~heatseq.report.model.Report`).
    path
        The HTML file to write (e.g. ``OUTDIR/report.html``); its folder is created when
        missing. Relative links (large SVGs, full tables) are made relative to this folder.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    heatseq.errors.InputError
        A figure file that is missing or not a PNG/SVG, a table download that is missing,
        ids used twice, or a path that is a folder. Nothing is written then.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> from heatseq.report import Report, Section, Table, render_report
    >>> table = Table(id="top-genes", title="Top genes",
    ...               frame=pd.DataFrame({"padj": [1.234e-9]}, index=pd.Index(["TP53"], name="gene")))
    >>> rep = Report(title="Demo", sections=(Section(id="de", title="DE", tables=(table,)),),
    ...              methods="Made with **heatseq**.", provenance={"seed": 0}, created="today")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = render_report(rep, Path(tmp) / "report.html")
    ...     page = out.read_text()
    >>> "1.23e-09" in page and "<strong>heatseq</strong>" in page
    True
    """
    if not isinstance(report, Report):
        raise InputError(f"render_report needs a heatseq.report.Report, not "
                         f"{type(report).__name__}. Build one with Report(title=..., ...).")
    target = Path(path)
    if target.is_dir():
        raise InputError(f"Cannot write the report to {target}: it is a folder. Give a file "
                         "name such as report.html.")
    _check_unique_ids(report)
    page = _page(report, base=target.parent.resolve())
    with atomic_path(target) as tmp:
        tmp.write_bytes(page.encode("utf-8"))
    log.info("wrote %s (%d bytes)", target, len(page.encode("utf-8")))
    return target


# ----------------------------------------------------------------------------- checks

def _walk(sections: tuple[Section, ...]) -> Iterator[Section]:
    for s in sections:
        yield s
        yield from _walk(s.subsections)


def _check_unique_ids(report: Report) -> None:
    seen: dict[str, str] = {}
    dup: list[str] = []
    for s in _walk(report.sections):
        items = [("section", s.id)] + [("figure", f.id) for f in s.figures] \
            + [("table", t.id) for t in s.tables]
        for kind, ident in items:
            if ident in seen:
                dup.append(f"{ident!r} ({seen[ident]} and {kind})")
            else:
                seen[ident] = kind
    if dup:
        raise InputError(f"Report ids must be unique, but these are used twice: {', '.join(dup)}. "
                         "Give each section, figure and table its own id.")


def _read_png(fig: Figure) -> tuple[bytes, int, int, float | None]:
    """The PNG's bytes, pixel size and resolution (dpi, when the file says)."""
    if not fig.png.is_file():
        raise InputError(f"Figure {fig.id!r}: the PNG file {fig.png} does not exist. Save the "
                         "figure (heatseq.plot.save_figure) before rendering the report.")
    data = fig.png.read_bytes()
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise InputError(f"Figure {fig.id!r}: {fig.png} is not a PNG file. Give the PNG "
                         "written by heatseq.plot.save_figure (a .png path).")
    width, height = struct.unpack(">II", data[16:24])
    dpi = None
    pos = 8
    while pos + 8 <= len(data):  # walk the chunks up to the image data, for pHYs
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs" and length == 9:
            ppx, _ppy, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and ppx > 0:
                dpi = ppx * 0.0254
            break
        if kind == b"IDAT":
            break
        pos += 12 + length
    return data, width, height, dpi


def _relative(path: Path, base: Path) -> str:
    """A link to ``path`` relative to the report's folder (URL-quoted)."""
    try:
        rel = os.path.relpath(path.resolve(), base)
    except ValueError:  # another drive (Windows): no relative path exists
        return path.resolve().as_uri()
    return quote(Path(rel).as_posix())


# ----------------------------------------------------------------------------- page

def _page(report: Report, *, base: Path) -> str:
    body = "\n".join(_section(s, level=1, base=base) for s in report.sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="heatseq {esc(__version__)}">',
        f"<title>{esc(report.title)}</title>",
        '<link rel="icon" href="data:,">',
        f"<style>{CSS}@media print {{ table.data tbody tr:nth-child(n+{PRINT_ROWS + 1}) "
        "{ display: none; } }\n</style>",
        "</head>",
        "<body>",
        '<div class="layout">',
        _toc(report),
        "<main>",
        '<header class="report-header" id="top">',
        f"<h1>{esc(report.title)}</h1>",
        f'<div class="meta">Created <time>{esc(report.created)}</time> &middot; '
        f"heatseq {esc(__version__)}</div>",
        "</header>",
        body,
        _methods(report.methods),
        _provenance(report.provenance),
        f"<footer>Made with heatseq {esc(__version__)}. This file is self-contained: it "
        "works offline and can be moved or e-mailed on its own (full tables and large SVGs "
        "are separate files beside it).</footer>",
        "</main>",
        "</div>",
        f"<script>{JS}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _toc(report: Report) -> str:
    def items(sections: tuple[Section, ...]) -> str:
        out = []
        for s in sections:
            sub = f"<ul>{items(s.subsections)}</ul>" if s.subsections else ""
            note = {"ok": "", "warning": " (warning)", "not_run": " (not run)"}[s.status]
            out.append(f'<li><a href="#{s.id}" class="status-{s.status}">{esc(s.title)}'
                       f"{note}</a>{sub}</li>")
        return "".join(out)

    return ('<nav id="toc" aria-label="Contents"><p class="toc-title">Contents</p><ul>'
            f"{items(report.sections)}"
            '<li><a href="#methods">Methods</a></li>'
            '<li><a href="#provenance">Provenance</a></li></ul></nav>')


def _section(section: Section, *, level: int, base: Path) -> str:
    h = min(level + 1, 4)
    parts = [f'<section id="{section.id}" class="level-{level} status-{section.status}">',
             f"<h{h}>{esc(section.title)}{_STATUS_BADGE[section.status]}</h{h}>"]
    parts += [f"<p>{markup(p)}</p>" for p in section.paragraphs]
    parts += [_figure(f, base=base) for f in section.figures]
    parts += [_table(t, base=base) for t in section.tables]
    parts += [_section(s, level=level + 1, base=base) for s in section.subsections]
    parts.append("</section>")
    return "\n".join(parts)


def _figure(fig: Figure, *, base: Path) -> str:
    data, width, height, dpi = _read_png(fig)
    shown_w = width if dpi is None else round(width * 96 / dpi)
    shown_h = height if dpi is None else round(height * 96 / dpi)
    img_id = f"{fig.id}.img"
    png_uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    links = [f'<a download="{fig.id}.png" href="{_relative(fig.png, base)}" '
             f'data-png-from="{img_id}" title="Download the PNG">PNG</a>']
    if fig.svg is not None:
        if not fig.svg.is_file():
            raise InputError(f"Figure {fig.id!r}: the SVG file {fig.svg} does not exist. Save "
                             "it (heatseq.plot.save_figure with a .svg path) or leave svg=None.")
        size = fig.svg.stat().st_size
        if size <= SVG_EMBED_LIMIT:
            svg = fig.svg.read_bytes()
            if b"<svg" not in svg[:4096]:
                raise InputError(f"Figure {fig.id!r}: {fig.svg} is not an SVG file. Give the "
                                 "file written by heatseq.plot.save_figure with a .svg path.")
            href = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        else:
            href = _relative(fig.svg, base)
        links.append(f'<a download="{fig.id}.svg" href="{href}" title="Download the SVG">'
                     "SVG</a>")
    toggle = interactive = ""
    if fig.html is not None:  # the interactive view first, the PNG a click away
        toggle = ('<button type="button" data-view="interactive" aria-pressed="true">'
                  'Interactive</button><button type="button" data-view="static" '
                  'aria-pressed="false">Image</button>')
        interactive = f'<div class="fig-interactive">{fig.html}</div>'
    hidden = " hidden" if fig.html is not None else ""
    return "\n".join([
        f'<figure class="report-figure" id="{fig.id}"'
        f'{" data-interactive" if fig.html is not None else ""}>',
        f'<div class="fig-head"><span class="fig-title">{esc(fig.title)}</span>'
        f'<span class="actions">{toggle}{"".join(links)}</span></div>',
        interactive,
        f'<div class="fig-static"{hidden}><img id="{img_id}" src="{png_uri}" '
        f'alt="{esc(fig.title)}" width="{shown_w}" height="{shown_h}"></div>',
        f"<figcaption>{markup(fig.caption)}</figcaption>",
        "</figure>",
    ])


def _table(table: Table, *, base: Path) -> str:
    frame = table.frame
    total = len(frame)
    shown = frame.iloc[:table.max_rows]
    if not isinstance(shown.index, pd.RangeIndex) or shown.index.name is not None:
        shown = shown.reset_index(names=_index_names(shown.index))
    columns = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c)
               for c in shown.columns]
    cells: list[list[str]] = []
    head: list[str] = []
    for j, name in enumerate(columns):
        texts, keys = cell_texts(shown.iloc[:, j])
        numeric = keys is not None
        cls = ' class="num"' if numeric else ""
        head.append(f'<th scope="col"{cls}><button type="button">{esc(name)}</button></th>')
        if numeric:
            cells.append([f'<td class="num" data-v="{k}">{esc(t)}</td>'
                          for t, k in zip(texts, keys, strict=True)])
        else:
            cells.append([f"<td>{esc(t)}</td>" for t in texts])
    rows = ["<tr>" + "".join(r) + "</tr>" for r in zip(*cells, strict=True)] if cells else []
    note = [markup(table.caption)] if table.caption else []
    if total > len(shown):
        note.append(f"Showing the first {len(shown):,} of {total:,} rows.")
    elif total == 0:
        note.append("No rows.")
    if len(shown) > PRINT_ROWS:
        note.append(f'<span class="print-only">The printout shows the first {PRINT_ROWS} '
                    "rows.</span>")
    download = ""
    if table.download is not None:
        if not table.download.is_file():
            raise InputError(f"Table {table.id!r}: the download file {table.download} does "
                             "not exist. Write the full table before rendering the report, or "
                             "leave download=None.")
        download = (f'<a href="{_relative(table.download, base)}">Full table '
                    f"({esc(table.download.name)}, {total:,} rows)</a>")
    return "\n".join([
        f'<div class="table-block" id="{table.id}">',
        f'<div class="table-head"><span class="table-title">{esc(table.title)}</span>'
        f'<span class="actions"><input type="search" placeholder="Filter rows" '
        f'aria-label="Filter {esc(table.title)}"><span class="match-count table-note">'
        f"</span>{download}</span></div>",
        f'<p class="table-note">{" ".join(note)}</p>' if note else "",
        '<div class="table-scroll"><table class="data">',
        f"<thead><tr>{''.join(head)}</tr></thead>",
        "<tbody>",
        *rows,
        "</tbody></table></div>",
        "</div>",
    ])


def _index_names(index: pd.Index) -> list[str]:
    names = [str(n) if n is not None else "" for n in index.names]
    if len(names) == 1 and not names[0]:
        return ["id"]
    return [n or f"level_{i}" for i, n in enumerate(names)]


def _methods(methods: str) -> str:
    paras = paragraphs(methods) or ["No methods text was given."]
    return "\n".join(['<section id="methods" class="level-1 status-ok">', "<h2>Methods</h2>",
                      *(f"<p>{markup(p)}</p>" for p in paras), "</section>"])


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in rows)
    return f'<div class="table-scroll"><table class="kv"><tbody>{body}</tbody></table></div>'


def _provenance(provenance: Mapping[str, Any]) -> str:
    general: list[tuple[str, str]] = []
    groups: list[str] = []
    for key, value in provenance.items():
        if isinstance(value, Mapping):
            rows = flatten(value)
            groups.append(f"<h3>{esc(str(key).replace('_', ' ').capitalize())}</h3>"
                          + (_kv_table(rows) if rows else "<p>(none)</p>"))
        else:
            general += flatten(value, prefix=str(key))
    text = json_text(dict(provenance.items()))
    uri = "data:application/json;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
    parts = ['<section id="provenance" class="level-1 status-ok">', "<h2>Provenance</h2>"]
    if not general and not groups:
        parts.append("<p>No provenance was given.</p>")
    if general:
        parts.append(_kv_table(general))
    parts += groups
    parts += ["<details><summary>Full provenance (JSON)</summary>",
              f'<p class="actions"><a download="provenance.json" href="{uri}">Download JSON</a></p>',
              f"<pre>{esc(text)}</pre></details>", "</section>"]
    return "\n".join(parts)
