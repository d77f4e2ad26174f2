"""Enrichment of a DE result, a gene list or heatmap modules, over bundled and user collections.

The callers' layer over :func:`~heatseq.enrich.ora.ora` and :func:`~heatseq.enrich.gsea.gsea`:
choose the collections (bundled ones by name, user GMT files), bring every gene ID to
official symbols (:mod:`heatseq.enrich.ids`), run the test per collection and per list,
collapse redundant GO terms, and return one table with the releases of the collections used.

Defaults (what a biologist gets without options):

- collections: human ``go_bp``, ``reactome``, ``hallmark``; mouse ``go_bp``; fly none
  (give a GMT);
- ORA lists from a DE table: ``up``, ``down`` and ``both`` at padj < 0.05 and
  |log2FoldChange| > 1, universe = the genes with a non-NA padj (the genes actually tested);
- GSEA: the Wald statistic as the ranking;
- modules: each module against all clustered genes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from heatseq.enrich.genesets import GeneSets, read_gmt
from heatseq.errors import InputError

__all__ = ["DEFAULT_COLLECTIONS", "Enrichment", "enrich_de", "enrich_list", "enrich_modules",
           "load_collections"]

log = logging.getLogger(__name__)

DEFAULT_COLLECTIONS: Mapping[str, tuple[str, ...]] = {
    "human": ("go_bp", "reactome", "hallmark"), "mouse": ("go_bp",), "fly": ()}
Method = Literal["ora", "gsea"]


@dataclass(frozen=True)
class Enrichment:
    """Enrichment results of one or more lists over one or more collections.

    Attributes
    ----------
    table
        One row per (list, collection, term): ``list`` (``up``/``down``/``both``, a module
        number, or ``ranking`` for GSEA) followed by the method's columns, sorted by list,
        collection, p-value, term ID.
    method
        ``"ora"`` or ``"gsea"``.
    releases
        Collection name -> release and licence, as printed in results and reports.
    notes
        What was mapped, dropped or chosen, in plain words.
    """

    table: pd.DataFrame
    method: str
    releases: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def top(self, *, list_name: str | None = None, n: int = 10, padj: float = 0.05,
            keep_redundant: bool = False) -> pd.DataFrame:
        """The ``n`` best terms (padj below ``padj``), redundant GO terms left out."""
        t = self.table
        if list_name is not None:
            t = t[t["list"].astype(str) == str(list_name)]
        t = t[t["padj"] < padj]
        if not keep_redundant and "redundant_of" in t.columns:
            t = t[t["redundant_of"].fillna("") == ""]
        return t.sort_values(["pvalue", "term_id"], kind="mergesort").head(n)


def load_collections(*, organism: str, names: Sequence[str] | None = None,
                     gmt: Sequence[str | os.PathLike[str]] = ()) -> list[GeneSets]:
    """The bundled collections ``names`` (default :data:`DEFAULT_COLLECTIONS`) for the
    organism, plus user GMT files with their genes mapped to symbols."""
    from heatseq.enrich.collections import load_collection

    if organism not in DEFAULT_COLLECTIONS:
        raise InputError(f"organism={organism!r} is not known; choose one of: "
                         f"{', '.join(DEFAULT_COLLECTIONS)}.")
    chosen = list(DEFAULT_COLLECTIONS[organism] if names is None else names)
    out = [load_collection(n, organism=organism) for n in chosen]
    for path in gmt:
        out.append(_user_gmt(path, organism=organism))
    if not out:
        raise InputError(f"No gene-set collection to test for {organism}: heatseq bundles none "
                         "for this organism; give a GMT file (--gmt FILE).")
    return out


def _user_gmt(path: str | os.PathLike[str], *, organism: str) -> GeneSets:
    """A user GMT with its genes spelled as official symbols (IDs of any kind mapped)."""
    from heatseq.enrich.ids import map_to_symbols

    g = read_gmt(path, organism=organism)
    mapping = map_to_symbols(list(g.genes), organism=organism)
    sym = mapping.symbols.reindex(list(g.genes))
    sets: dict[str, list[str]] = {}
    for i, term in enumerate(g.term_ids):
        genes = sym.iloc[g.indices[g.indptr[i]:g.indptr[i + 1]]].dropna()
        if len(genes):
            sets[str(term)] = list(genes.astype(str))
    if not sets:
        raise InputError(f"{path}: none of the genes of the GMT file could be mapped to "
                         f"{organism} gene symbols ({mapping.id_type} IDs detected). Check "
                         "the organism and the file's gene IDs.")
    names = dict(zip(map(str, g.term_ids), map(str, g.term_names), strict=True))
    log.info("%s: %d of %d genes mapped to symbols", path, mapping.n_mapped, len(g.genes))
    return GeneSets.from_dict(sets, name=g.name, names=names, id_type="symbol",
                              organism=organism, release=f"user file {os.fspath(path)}",
                              licence="user-provided")


def _symbols_of(table: pd.DataFrame, *, organism: str, notes: list[str]) -> pd.DataFrame:
    """The DE table with a ``symbol`` column (mapped from the gene IDs where missing)."""
    if "symbol" in table.columns and table["symbol"].notna().any():
        return table
    from heatseq.enrich.ids import map_to_symbols

    mapping = map_to_symbols(list(table.index.astype(str)), organism=organism)
    notes.extend(mapping.notes)
    out = table.copy()
    out["symbol"] = mapping.symbols.reindex(table.index.astype(str)).to_numpy()
    return out


def _releases(collections: Iterable[GeneSets]) -> dict[str, str]:
    return {c.name: f"{c.release} ({c.licence})" if c.licence else c.release
            for c in collections}


def _reduce(table: pd.DataFrame, collection: GeneSets) -> pd.DataFrame:
    if not collection.name.startswith("go_") or table.empty:
        return table
    from heatseq.enrich.reduce import mark_redundant

    return mark_redundant(table)


def _combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["list", "collection", "term_id", "term_name", "pvalue",
                                     "padj"])
    out = pd.concat(frames, ignore_index=True)
    return out.reset_index(drop=True)


def enrich_list(genes: Iterable[str], *, universe: Iterable[str], organism: str,
                collections: Sequence[GeneSets] | None = None, list_name: str = "list",
                min_size: int = 10, max_size: int = 500) -> Enrichment:
    """ORA of one gene list (symbols) against a universe (symbols) in each collection."""
    from heatseq.enrich.ora import ora

    colls = list(collections) if collections is not None else load_collections(organism=organism)
    genes = list(genes)
    universe = list(universe)
    frames = []
    for c in colls:
        t = ora(genes, c, universe=universe, min_size=min_size, max_size=max_size,
                label=list_name)
        frames.append(_reduce(t, c).assign(list=list_name))
    table = _combine(frames)
    table = table[["list", *[c for c in table.columns if c != "list"]]]
    return Enrichment(table=table, method="ora", releases=_releases(colls))


def enrich_de(table: Any, *, organism: str, collections: Sequence[GeneSets] | None = None,
              method: Method = "ora", alpha: float = 0.05, lfc_threshold: float = 1.0,
              min_size: int | None = None, max_size: int = 500,
              ranking: Literal["stat", "shrunk"] = "stat", seed: int = 0) -> Enrichment:
    """ORA (up, down and both lists) or preranked GSEA of a DE table.

    ``table`` is a :class:`heatseq.DEResult`, its ``.table`` or a table read from a
    ``heatseq de`` output (gene IDs as index; ``symbol``, ``padj``, ``log2FoldChange`` and,
    for GSEA, ``stat`` or ``log2FoldChange_shrunk``). Size limits default to 10-500 (ORA)
    and 15-500 (GSEA).
    """
    from heatseq.enrich.ora import de_gene_lists, ora, tested_universe

    frame = getattr(table, "table", table)
    if not isinstance(frame, pd.DataFrame):
        raise InputError("enrich_de needs a DE table (a DEResult or a pandas DataFrame).")
    if method not in ("ora", "gsea"):
        raise InputError(f"method={method!r} is not valid; choose ora or gsea.")
    notes: list[str] = []
    frame = _symbols_of(frame, organism=organism, notes=notes)
    colls = list(collections) if collections is not None else load_collections(organism=organism)
    frames = []
    if method == "ora":
        lists = de_gene_lists(frame, alpha=alpha, lfc_threshold=lfc_threshold)
        universe = tested_universe(frame)
        notes.append(f"Lists at padj < {alpha:g} and |log2FoldChange| > {lfc_threshold:g}: "
                     f"{len(lists['up']):,} up, {len(lists['down']):,} down; universe: "
                     f"{len(universe):,} tested genes with a symbol.")
        for name in ("up", "down", "both"):
            if not lists[name]:
                notes.append(f"No {name} genes: that list was not tested.")
                continue
            for c in colls:
                t = ora(lists[name], c, universe=universe, min_size=min_size or 10,
                        max_size=max_size, label=name)
                frames.append(_reduce(t, c).assign(list=name))
    else:
        from heatseq.enrich.gsea import gsea, ranking_from_de

        rank = ranking_from_de(frame, by=ranking)
        notes.append(f"GSEA ranking: {'Wald statistic' if ranking == 'stat' else 'shrunk LFC'}"
                     f" of {len(rank):,} genes.")
        for c in colls:
            t = gsea(rank, c, min_size=min_size or 15, max_size=max_size, seed=seed)
            frames.append(_reduce(t, c).assign(list="ranking"))
    out = _combine(frames)
    out = out[["list", *[c for c in out.columns if c != "list"]]]
    return Enrichment(table=out, method=method, releases=_releases(colls), notes=tuple(notes))


def enrich_modules(modules: pd.Series, *, symbols: pd.Series | None, organism: str,
                   collections: Sequence[GeneSets] | None = None, min_size: int = 10,
                   max_size: int = 500) -> Enrichment:
    """ORA of each heatmap module against all clustered genes (the universe).

    ``modules`` maps gene ID -> module number (``Clustering.modules``); ``symbols`` maps
    gene ID -> symbol (IDs without one are mapped offline, or left out).
    """
    notes: list[str] = []
    ids = modules.index.astype(str)
    if symbols is not None:
        sym = symbols.reindex(ids)
    else:
        from heatseq.enrich.ids import map_to_symbols

        mapping = map_to_symbols(list(ids), organism=organism)
        sym = mapping.symbols.reindex(ids)
        notes.extend(mapping.notes)
    frame = pd.DataFrame({"module": modules.to_numpy(), "symbol": sym.to_numpy()},
                         index=ids).dropna(subset=["symbol"])
    universe = list(pd.unique(frame["symbol"].astype(str)))
    colls = list(collections) if collections is not None else load_collections(organism=organism)
    tables = []
    for m in sorted(frame["module"].unique()):
        genes = list(pd.unique(frame.loc[frame["module"] == m, "symbol"].astype(str)))
        res = enrich_list(genes, universe=universe, organism=organism, collections=colls,
                          list_name=str(m), min_size=min_size, max_size=max_size)
        tables.append(res.table)
    out = _combine(tables)
    return Enrichment(table=out, method="ora", releases=_releases(colls), notes=tuple(notes))
