"""The content model of an HTML report: plain frozen values that :func:`render_report` draws.

A caller (``heatseq run``, a notebook) describes what the report shows as a :class:`Report` of
:class:`Section` values holding paragraphs, :class:`Figure` and :class:`Table` values; nothing
here computes or reads files (the renderer reads the figure files). Values are checked on
construction, so a mistake is reported where the report is built, not when it is written.

Ids (of sections, figures and tables) become HTML ``id`` attributes and link targets: they
start with a letter and hold only letters, digits, ``-`` and ``_``. They must be unique in
one report (checked by the renderer); ``methods`` and ``provenance`` are taken by the
sections the renderer adds itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd

from heatseq.errors import InputError

__all__ = ["Figure", "Report", "Section", "Status", "Table"]

#: The state of a section, shown as a badge beside its title and in the table of contents.
Status = Literal["ok", "warning", "not_run"]

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
#: Ids the renderer uses for the parts it adds.
RESERVED_IDS: frozenset[str] = frozenset({"methods", "provenance", "top", "toc"})


def _check_id(kind: str, value: object) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise InputError(f"{kind} id {value!r} is not valid: an id starts with a letter and holds "
                         "only letters, digits, '-' and '_' (e.g. 'qc-pca').")
    if value in RESERVED_IDS:
        raise InputError(f"{kind} id {value!r} is reserved for the report's own sections "
                         f"({', '.join(sorted(RESERVED_IDS))}); choose another id.")


def _check_text(kind: str, name: str, value: object) -> None:
    if not isinstance(value, str):
        raise InputError(f"{kind} {name} must be text (str), not {type(value).__name__}: "
                         f"{value!r}.")


def _as_path(kind: str, name: str, value: object) -> Path:
    if isinstance(value, str | Path):
        return Path(value)
    raise InputError(f"{kind} {name} must be a file path (str or pathlib.Path), not "
                     f"{type(value).__name__}: {value!r}.")


def _as_tuple(kind: str, name: str, value: object, item: type) -> tuple:
    """``value`` as a tuple (a list is converted) whose items are all ``item``."""
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or not all(isinstance(v, item) for v in value):
        raise InputError(f"{kind} {name} must be a tuple of {item.__name__} values, got "
                         f"{type(value).__name__}: {value!r:.80}. Wrap the items in a tuple, "
                         f"e.g. {name}=(a, b).")
    return value


@dataclass(frozen=True)
class Figure:
    """A figure: a PNG shown in the report, downloadable as PNG and (when given) SVG.

    Parameters
    ----------
    id
        Anchor of the figure (see the module docstring for the rules).
    title
        Short title shown above the figure.
    caption
        What the figure shows, under it (the paragraph markup of :class:`Section` applies).
    png
        The PNG file, embedded as it is (make it at a sensible dpi; 100-150 for screens).
    svg
        The SVG file offered for download: embedded when it is at most
        :data:`heatseq.report.render.SVG_EMBED_LIMIT` bytes, else linked by its path relative
        to the report (keep it beside the report).
    html
        An optional interactive view: a self-contained HTML fragment (inline script and style,
        nothing loaded from elsewhere; e.g. :mod:`heatseq.plot`'s interactive volcano). It is
        shown first, with a toggle to the PNG (which is what prints). It is inserted **as it
        is** (it is markup, not text): build it with heatseq's plotting code, which escapes
        gene names, never from untrusted text. Its scripts should find their elements from
        their own root (``document.currentScript``), as several fragments share the page.
    """

    id: str
    title: str
    caption: str
    png: Path
    svg: Path | None = None
    html: str | None = None

    def __post_init__(self) -> None:
        _check_id("Figure", self.id)
        _check_text(f"Figure {self.id!r}", "title", self.title)
        _check_text(f"Figure {self.id!r}", "caption", self.caption)
        object.__setattr__(self, "png", _as_path(f"Figure {self.id!r}", "png", self.png))
        if self.svg is not None:
            object.__setattr__(self, "svg", _as_path(f"Figure {self.id!r}", "svg", self.svg))
        if self.html is not None:
            _check_text(f"Figure {self.id!r}", "html", self.html)


@dataclass(frozen=True)
class Table:
    """A table shown sortable (click a header) and searchable (a filter box).

    Parameters
    ----------
    id
        Anchor of the table.
    title
        Short title shown above the table.
    frame
        The rows to show, in the order to show them. A named or non-default index is shown
        as the first column. Columns named like p-values (``pvalue``, ``padj``, ``fdr``,
        ``qvalue``, ...) are shown in 3-significant-digit scientific notation, other floats
        with 4 significant digits, missing values as ``NA``.
    caption
        A sentence under the title.
    download
        The full table (e.g. a TSV beside the report), linked by its path relative to the
        report.
    max_rows
        Rows shown at most (the first ones); the report says how many there are in all.
    """

    id: str
    title: str
    frame: pd.DataFrame
    caption: str = ""
    download: Path | None = None
    max_rows: int = 500

    def __post_init__(self) -> None:
        _check_id("Table", self.id)
        _check_text(f"Table {self.id!r}", "title", self.title)
        _check_text(f"Table {self.id!r}", "caption", self.caption)
        if not isinstance(self.frame, pd.DataFrame):
            raise InputError(f"Table {self.id!r} frame must be a pandas DataFrame, not "
                             f"{type(self.frame).__name__}. Convert it with pd.DataFrame(...).")
        if self.download is not None:
            object.__setattr__(self, "download",
                               _as_path(f"Table {self.id!r}", "download", self.download))
        if (not isinstance(self.max_rows, int) or isinstance(self.max_rows, bool)
                or self.max_rows < 1):
            raise InputError(f"Table {self.id!r} max_rows={self.max_rows!r} is not valid; give "
                             "a whole number of at least 1 (e.g. 500).")


@dataclass(frozen=True)
class Section:
    """A section of the report: paragraphs, then figures, then tables, then subsections.

    Paragraph text is escaped; a small markup is understood: ``**bold**``, ``*italic*`` and
    ```code```.

    Parameters
    ----------
    id
        Anchor of the section, used by the table of contents.
    title
        Heading.
    paragraphs
        Text paragraphs, in order.
    figures, tables, subsections
        The content, in order (tuples; a list is converted) (subsections nest to any depth; headings stop at ``<h4>``).
    status
        ``"ok"``, ``"warning"`` (shown with a warning badge) or ``"not_run"`` (a step that
        did not run; its paragraphs should say why).
    """

    id: str
    title: str
    paragraphs: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    subsections: tuple[Section, ...] = ()
    status: Status = "ok"

    def __post_init__(self) -> None:
        _check_id("Section", self.id)
        where = f"Section {self.id!r}"
        _check_text(where, "title", self.title)
        for name, item in (("paragraphs", str), ("figures", Figure), ("tables", Table),
                           ("subsections", Section)):
            object.__setattr__(self, name, _as_tuple(where, name, getattr(self, name), item))
        valid = get_args(Status)
        if self.status not in valid:
            raise InputError(f"{where} status={self.status!r} is not valid; choose one of "
                             f"{', '.join(repr(v) for v in valid)}.")


@dataclass(frozen=True)
class Report:
    """A whole report.

    Parameters
    ----------
    title
        Title of the page and of its header.
    sections
        The sections, in order; "Methods" and "Provenance" are added after them.
    methods
        The methods paragraph(s) (tools, versions, parameters, citations); blank lines
        separate paragraphs, and the markup of :class:`Section` applies.
    provenance
        Versions, parameters, input checksums and the like (e.g. the content of
        ``run.json``): shown as readable tables and as collapsible JSON.
    created
        When the report was made, as the caller wants it shown (e.g. an ISO timestamp). It
        is the only part of the page that is not a function of the content.
    """

    title: str
    sections: tuple[Section, ...]
    methods: str
    provenance: Mapping[str, Any]
    created: str

    def __post_init__(self) -> None:
        _check_text("Report", "title", self.title)
        object.__setattr__(self, "sections",
                           _as_tuple("Report", "sections", self.sections, Section))
        _check_text("Report", "methods", self.methods)
        _check_text("Report", "created", self.created)
        if not isinstance(self.provenance, Mapping):
            raise InputError("Report provenance must be a mapping (e.g. the dict written to "
                             f"run.json), not {type(self.provenance).__name__}.")
