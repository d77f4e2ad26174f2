"""Enrichment results as files: the ``enrichment.tsv`` layout and its figures.

This module owns the file layout shared by ``heatseq enrich`` and ``heatseq run``:

- :func:`enrichment_table`: one row per (list, collection, term) with the columns
  :data:`TABLE_COLUMNS` (``list``, ``collection``, ``term_id``, ``term_name``, ``set_size``,
  ``overlap``, ``expected``, ``fold_enrichment``, ``pvalue``, ``padj``, ``genes``), then
  ``gene_ratio`` (ORA) or ``es``, ``nes``, ``leading_edge_size`` (GSEA), then
  ``redundant_of`` and ``release``. For GSEA, ``overlap`` and ``genes`` are the leading
  edge (its size and genes, in ranking order) and ``expected`` / ``fold_enrichment`` are NA.
- :func:`write_enrichment`: the table (atomically, byte-identical between runs) and the
  figures: a dot plot and a bar plot per ORA list; for GSEA a bar plot coloured by the
  sign of NES and running-score plots of the most significant sets up and down.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from heatseq.enrich.analysis import Enrichment
from heatseq.enrich.genesets import GeneSets

__all__ = ["TABLE_COLUMNS", "enrichment_table", "safe_name", "write_enrichment"]

#: The leading columns of ``enrichment.tsv``, in order.
TABLE_COLUMNS = ("list", "collection", "term_id", "term_name", "set_size", "overlap",
                 "expected", "fold_enrichment", "pvalue", "padj", "genes")
_ORA_EXTRA = ("gene_ratio",)
_GSEA_EXTRA = ("es", "nes", "leading_edge_size")


def safe_name(text: str) -> str:
    """A file-name part: letters, digits, ``.``, ``-`` and ``_`` kept, the rest ``_``."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._")
    return out or "x"


def enrichment_table(enrichment: Enrichment) -> pd.DataFrame:
    """The ``enrichment.tsv`` table of an :class:`~heatseq.enrich.analysis.Enrichment`."""
    t = enrichment.table.copy()
    gsea = enrichment.method == "gsea"
    if gsea:
        t["overlap"] = t.get("leading_edge_size", pd.Series(dtype="int64"))
        t["genes"] = t.get("leading_edge", pd.Series(dtype=object))
        t["expected"] = np.nan
        t["fold_enrichment"] = np.nan
    if "redundant_of" not in t.columns:
        t["redundant_of"] = ""
    t["redundant_of"] = t["redundant_of"].fillna("").astype(object)
    releases = dict(enrichment.releases)
    t["release"] = t["collection"].astype(str).map(releases).fillna("") if len(t) else ""
    cols = [*TABLE_COLUMNS, *(_GSEA_EXTRA if gsea else _ORA_EXTRA), "redundant_of", "release"]
    for c in cols:
        if c not in t.columns:
            t[c] = pd.Series(dtype=object)
    out = t[cols].reset_index(drop=True)
    out["list"] = out["list"].astype(str)
    return out


def _lists(table: pd.DataFrame) -> list[str]:
    return [str(v) for v in pd.unique(table["list"].astype(str))] if len(table) else []


def write_enrichment(enrichment: Enrichment, folder: str | os.PathLike[str], *,
                     stem: str = "enrichment", formats: Sequence[str] = ("png", "svg"),
                     dpi: int = 200, top_n: int = 20, kinds: Sequence[str] = ("dot", "bar"),
                     lists: Sequence[str] | None = None,
                     collections: Sequence[GeneSets] = (), running: int = 3,
                     title: str | None = None) -> dict[str, Any]:
    """Write ``<stem>.tsv`` and the figures into ``folder``.

    Parameters
    ----------
    enrichment
        The result.
    folder
        Where to write (created).
    stem
        File-name stem: ``<stem>.tsv``, ``<stem>.<list>.dot.<fmt>``, ``<stem>.<list>.bar.<fmt>``
        (ORA), ``<stem>.bar.<fmt>`` and ``<stem>.gsea.<term>.<fmt>`` (GSEA).
    formats, dpi
        Figure formats (png, svg, pdf) and PNG resolution.
    top_n
        Terms per dot or bar plot.
    kinds
        ORA figures per list: ``"dot"`` and/or ``"bar"``.
    lists
        The ORA lists to draw (default: every list in the table).
    collections
        For GSEA running-score plots: the collections tested (the sets are looked up by
        collection name and term ID); none: no running-score plot.
    running
        GSEA running-score plots: the ``running`` most significant sets of each sign.
    title
        Prefix of the figure titles (e.g. the contrast).

    Returns
    -------
    dict
        ``{"table": path, "figures": {name: {fmt: path}}}`` with paths relative to
        ``folder``; figure names are ``"<list>.dot"``, ``"<list>.bar"``, ``"bar"`` and
        ``"gsea.<term>"``.
    """
    from heatseq.io.write import write_table

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    table = enrichment_table(enrichment)
    rel_table = f"{stem}.tsv"
    write_table(table, out / rel_table, index=False)
    figures: dict[str, dict[str, str]] = {}
    tested = table[table["pvalue"].notna()]
    if tested.empty:
        return {"table": rel_table, "figures": figures}
    from heatseq.plot.enrich import bar_plot, dot_plot
    from heatseq.plot.heatmap import save_figure

    def save(fig: Any, name: str) -> None:
        figures[name] = {}
        for fmt in formats:
            rel = f"{stem}.{name}.{fmt}"
            save_figure(fig, out / rel, dpi=dpi)
            figures[name][fmt] = rel

    head = f"{title}: " if title else ""
    if enrichment.method == "ora":
        for name in lists if lists is not None else _lists(tested):
            sub = tested[tested["list"] == str(name)]
            if sub.empty:
                continue
            label = _list_words(name)
            if "dot" in kinds:
                save(dot_plot(sub, top_n=top_n, title=f"{head}{label}"),
                     f"{safe_name(name)}.dot")
            if "bar" in kinds:
                save(bar_plot(sub, top_n=top_n, title=f"{head}{label}"),
                     f"{safe_name(name)}.bar")
        return {"table": rel_table, "figures": figures}
    save(bar_plot(tested.drop(columns="list"), top_n=top_n, color_by="direction",
                  title=f"{head}GSEA, most significant sets"), "bar")
    if running and collections and enrichment.ranking is not None:
        from heatseq.plot.gsea import gsea_plot

        by_name = {c.name: c for c in collections}
        keep = tested[tested["redundant_of"] == ""]
        for sign in (1, -1):
            picked = keep[np.sign(keep["nes"].to_numpy(dtype=float)) == sign].head(running)
            for _, row in picked.iterrows():
                coll = by_name.get(str(row["collection"]))
                if coll is None:
                    continue
                fig = gsea_plot(enrichment.ranking, coll, term_id=str(row["term_id"]),
                                result_row=_row(row))
                save(fig, f"gsea.{safe_name(row['term_id'])}")
    return {"table": rel_table, "figures": figures}


def _row(row: pd.Series) -> Mapping[str, Any]:
    return {"nes": row["nes"], "padj": row["padj"], "pvalue": row["pvalue"],
            "leading_edge_size": row["leading_edge_size"], "es": row["es"]}


def _list_words(name: str) -> str:
    return {"up": "genes up", "down": "genes down", "both": "all DE genes"}.get(
        str(name), f"module {name}" if str(name).isdigit() else str(name))
