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
- modules: each module against all clustered genes;
- a gene list without a universe (:func:`enrich_list` with ``universe=None``): every gene
  annotated in the collection, as g:Profiler's default (the table's notes say so);
- user GMT files: a set none of whose genes is in the universe (or the ranking) is an error
  that names the set and its line (it can never be tested and usually means other gene IDs
  or another organism), unless ``empty_sets="drop"``, which leaves such sets out and says
  so in the notes.
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
           "enrich_ranking", "load_collections", "read_de_table", "read_gene_file"]

log = logging.getLogger(__name__)

DEFAULT_COLLECTIONS: Mapping[str, tuple[str, ...]] = {
    "human": ("go_bp", "reactome", "hallmark"), "mouse": ("go_bp",), "fly": ()}
Method = Literal["ora", "gsea"]
EmptySets = Literal["error", "drop"]


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
    unmapped
        Input name (``"gene list"``, ``"universe"``, ``"DE table"``, ...) -> the input IDs
        that could not be mapped to a symbol of the organism.
    ranking
        GSEA: the ranking tested (symbol -> metric, largest first); None for ORA.
    """

    table: pd.DataFrame
    method: str
    releases: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    unmapped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ranking: pd.Series | None = None

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
    """A user GMT with its genes spelled as official symbols (IDs of any kind mapped).

    Sets keep their file order (set ``i`` is on line ``i + 1``: blank lines are refused by
    :func:`read_gmt`); a set none of whose genes maps keeps no gene and is reported by the
    universe check (:func:`_check_user_sets`)."""
    from heatseq.enrich.ids import map_to_symbols

    g = read_gmt(path, organism=organism)
    try:
        mapping = map_to_symbols(list(g.genes), organism=organism, source=f"GMT file {path}")
    except InputError:
        raise InputError(f"{path}: none of the {len(g.genes):,} genes of the GMT file could be "
                         f"mapped to {organism} gene symbols (e.g. "
                         + ", ".join(map(str, g.genes[:3])) + "). Check the organism "
                         "(--organism) and the file's gene IDs (Ensembl, Entrez or "
                         "symbols).") from None
    sym = mapping.symbols.reindex(list(g.genes))
    sets: dict[str, list[str]] = {}
    for i, term in enumerate(g.term_ids):
        genes = sym.iloc[g.indices[g.indptr[i]:g.indptr[i + 1]]].dropna()
        sets[str(term)] = list(genes.astype(str))
    names = dict(zip(map(str, g.term_ids), map(str, g.term_names), strict=True))
    log.info("%s: %d of %d genes mapped to symbols", path, mapping.n_mapped, len(g.genes))
    given = {str(t): int(n) for t, n in zip(g.term_ids, g.sizes, strict=True)}
    return GeneSets.from_dict(sets, name=g.name, names=names, id_type="symbol",
                              organism=organism, release=f"user file {os.fspath(path)}",
                              licence="user-provided",
                              meta={"user": True, "file": os.fspath(path), "given": given})


def _check_user_sets(colls: Sequence[GeneSets], universe: Iterable[str], *,
                     empty_sets: EmptySets, what: str, notes: list[str]) -> list[GeneSets]:
    """User collections whose every set has a gene in ``universe``: an error naming the
    empty sets and their lines, or (``empty_sets="drop"``) the collections without them."""
    import numpy as np

    if empty_sets not in ("error", "drop"):
        raise InputError(f"empty_sets={empty_sets!r} is not valid; choose error or drop.")
    uni = set(universe)
    out = []
    for c in colls:
        if not c.meta.get("user"):
            out.append(c)
            continue
        in_uni = np.fromiter((g in uni for g in c.genes), dtype=bool, count=len(c.genes))
        csum = np.concatenate([[0], np.cumsum(in_uni[c.indices], dtype=np.int64)])
        hits = csum[c.indptr[1:]] - csum[c.indptr[:-1]]
        empty = np.flatnonzero(hits == 0)
        if not len(empty):
            out.append(c)
            continue
        given = c.meta.get("given", {})
        listed = ", ".join(f"{c.term_ids[i]!r} (line {i + 1}, {given.get(str(c.term_ids[i]), 0)}"
                           " genes)" for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
        file = c.meta.get("file", c.name)
        head = (f"{file}: gene set {listed} has" if len(empty) == 1 else
                f"{file}: {len(empty)} gene sets have")
        if empty_sets == "error" or len(empty) == len(c):
            it, them = ("it", "it") if len(empty) == 1 else ("they", "them")
            tail = f" ({listed})" if len(empty) > 1 else ""
            raise InputError(
                f"{head} no gene among the {len(uni):,} genes of the {what}{tail}, so {it} "
                "can never be tested. This usually means the file uses other gene IDs or "
                f"another organism than the data. Remove {them} from the file, or leave such "
                "sets out with --skip-empty-sets (Python: empty_sets=\"drop\").")
        notes.append(f"{head} no gene among the {len(uni):,} genes of the {what} and "
                     f"{'was' if len(empty) == 1 else 'were'} left out"
                     + (f": {listed}" if len(empty) > 1 else "") + ".")
        keep = sorted(set(range(len(c))) - set(empty.tolist()))
        out.append(GeneSets.from_dict({str(c.term_ids[i]): list(c.members(i)) for i in keep},
                                      name=c.name, names=dict(zip(map(str, c.term_ids),
                                                                  map(str, c.term_names),
                                                                  strict=True)),
                                      id_type=c.id_type, organism=c.organism,
                                      release=c.release, licence=c.licence, meta=c.meta))
    return out


def _symbols_of(table: pd.DataFrame, *, organism: str, notes: list[str],
                unmapped: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """The DE table with an official ``symbol`` per row: the gene ID mapped offline, or,
    where the ID does not map, the table's own ``symbol`` mapped (case corrected)."""
    from heatseq.enrich.ids import map_to_symbols

    ids = table.index.astype(str)
    own = table["symbol"] if "symbol" in table.columns else None
    try:
        mapping = map_to_symbols(list(ids), organism=organism, source="DE table gene IDs")
        sym = mapping.symbols.reindex(ids)
        missing = tuple(mapping.unmapped)
    except InputError:
        if own is None or own.isna().all():
            raise
        sym = pd.Series(None, index=ids, dtype=object)
        missing = tuple(pd.unique(ids))
        mapping = None
    if own is not None and sym.isna().any():
        fill = own.to_numpy(dtype=object)[sym.isna().to_numpy()]
        fill_ids = [f for f in fill if isinstance(f, str) and f.strip()]
        if fill_ids:
            extra = map_to_symbols(fill_ids, organism=organism, source="DE table symbols")
            got = extra.symbols.reindex([str(f) for f in fill]).to_numpy(dtype=object)
            sym[sym.isna().to_numpy()] = got
            missing = tuple(i for i, v in zip(ids, sym.to_numpy(), strict=True)
                            if pd.isna(v))
    if mapping is not None:
        notes.extend(mapping.notes)
    if missing and unmapped is not None:
        unmapped["DE table"] = tuple(dict.fromkeys(missing))
    out = table.copy()
    out["symbol"] = sym.to_numpy()
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


def _map(ids: Iterable[Any], *, organism: str, what: str, notes: list[str],
         unmapped: dict[str, tuple[str, ...]]) -> list[str]:
    """Distinct official symbols of ``ids`` (input order); notes and unmapped IDs kept."""
    from heatseq.enrich.ids import map_to_symbols

    mapping = map_to_symbols(ids, organism=organism, source=what)  # type: ignore[arg-type]
    notes.extend(mapping.notes)
    if mapping.unmapped:
        unmapped[what] = mapping.unmapped
    return list(pd.unique(mapping.mapped().astype(str)))


def enrich_list(genes: Iterable[str], *, universe: Iterable[str] | None = None,
                organism: str, collections: Sequence[GeneSets] | None = None,
                list_name: str = "list", min_size: int = 10, max_size: int = 500,
                map_ids: bool = True, empty_sets: EmptySets = "error",
                list_source: str = "gene list", universe_source: str = "universe"
                ) -> Enrichment:
    """ORA of one gene list against a universe in each collection.

    Parameters
    ----------
    genes
        The list: gene IDs of any supported kind (Ensembl with or without version, Entrez,
        symbols in any case), mapped to official symbols when ``map_ids``; symbols as the
        collections spell them otherwise.
    universe
        The background genes (the genes measured or tested), mapped the same way; None:
        every gene annotated in each collection.
    organism
        ``"human"``, ``"mouse"`` or ``"fly"``.
    collections
        Default :func:`load_collections` of the organism.
    list_name
        The ``list`` column of the table.
    min_size, max_size
        Sets tested: size within the background in this range.
    map_ids
        Map the IDs (False: they are symbols already, e.g. from a heatmap module).
    empty_sets
        A user GMT set with no gene in the universe: ``"error"`` or ``"drop"``.
    list_source, universe_source
        How messages, notes and :attr:`Enrichment.unmapped` name the two inputs (the CLI
        gives the file names).
    """
    from heatseq.enrich.ora import ora

    colls = list(collections) if collections is not None else load_collections(organism=organism)
    notes: list[str] = []
    unmapped: dict[str, tuple[str, ...]] = {}
    genes = (_map(genes, organism=organism, what=list_source, notes=notes, unmapped=unmapped)
             if map_ids else list(genes))
    if universe is None:
        pool = list(dict.fromkeys(str(g) for c in colls for g in c.genes))
        notes.append("No universe given: the background of each collection is every gene "
                     "annotated in it. Give the genes you measured (--universe) for a fair "
                     "background.")
    else:
        pool = (_map(universe, organism=organism, what=universe_source, notes=notes,
                     unmapped=unmapped) if map_ids else list(universe))
    colls = _check_user_sets(colls, pool, empty_sets=empty_sets, what="universe", notes=notes)
    frames = []
    for c in colls:
        uni = pool if universe is not None else [str(g) for g in c.genes]
        t = ora(genes, c, universe=uni, min_size=min_size, max_size=max_size,
                label=list_name)
        frames.append(_reduce(t, c).assign(list=list_name))
        if t.attrs.get("list_not_in_universe"):
            notes.append(f"{c.name}: {t.attrs['list_not_in_universe']:,} genes of the list are "
                         "not in the universe and were left out.")
    table = _combine(frames)
    table = table[["list", *[c for c in table.columns if c != "list"]]]
    return Enrichment(table=table, method="ora", releases=_releases(colls), notes=tuple(notes),
                      unmapped=unmapped)


def enrich_ranking(scores: pd.Series, *, organism: str,
                   collections: Sequence[GeneSets] | None = None, min_size: int = 15,
                   max_size: int = 500, seed: int = 0, map_ids: bool = True,
                   empty_sets: EmptySets = "error", n_jobs: int | None = None) -> Enrichment:
    """Preranked GSEA of a gene -> score Series (IDs of any supported kind) in each
    collection; genes that share a symbol keep the score of largest magnitude."""
    from heatseq.enrich.gsea import gsea, ranking_from_de

    if not isinstance(scores, pd.Series):
        raise InputError("enrich_ranking needs a pandas Series of gene -> score, not "
                         f"{type(scores).__name__}.")
    notes: list[str] = []
    unmapped: dict[str, tuple[str, ...]] = {}
    ids = scores.index.astype(str)
    if map_ids:
        from heatseq.enrich.ids import map_to_symbols

        mapping = map_to_symbols(list(ids), organism=organism, source="ranking")
        notes.extend(mapping.notes)
        if mapping.unmapped:
            unmapped["ranking"] = mapping.unmapped
        sym = mapping.symbols.reindex(ids).to_numpy()
    else:
        sym = ids.to_numpy()
    frame = pd.DataFrame({"symbol": sym, "stat": pd.to_numeric(scores, errors="coerce")
                          .to_numpy(dtype=float)})
    rank = ranking_from_de(frame)
    colls = list(collections) if collections is not None else load_collections(organism=organism)
    colls = _check_user_sets(colls, rank.index, empty_sets=empty_sets, what="ranking",
                             notes=notes)
    notes.append(f"GSEA ranking: {len(rank):,} genes.")
    frames = []
    for c in colls:
        t = gsea(rank, c, min_size=min_size, max_size=max_size, seed=seed, n_jobs=n_jobs)
        frames.append(_reduce(_edge_as_genes(t), c).assign(list="ranking"))
    out = _combine(frames)
    out = out[["list", *[c for c in out.columns if c != "list"]]]
    return Enrichment(table=out, method="gsea", releases=_releases(colls), notes=tuple(notes),
                      unmapped=unmapped, ranking=rank)


def _edge_as_genes(t: pd.DataFrame) -> pd.DataFrame:
    """A GSEA table with its leading edge also as ``genes`` (what redundancy compares)."""
    return t.assign(genes=t["leading_edge"]) if "leading_edge" in t.columns else t


def enrich_de(table: Any, *, organism: str, collections: Sequence[GeneSets] | None = None,
              method: Method = "ora", alpha: float = 0.05, lfc_threshold: float = 1.0,
              min_size: int | None = None, max_size: int = 500,
              ranking: Literal["stat", "shrunk"] = "stat", seed: int = 0,
              empty_sets: EmptySets = "error", n_jobs: int | None = None,
              map_ids: bool = True) -> Enrichment:
    """ORA (up, down and both lists) or preranked GSEA of a DE table.

    ``table`` is a :class:`heatseq.DEResult`, its ``.table`` or a table read from a
    ``heatseq de`` output (gene IDs as index; ``symbol``, ``padj``, ``log2FoldChange`` and,
    for GSEA, ``stat`` or ``log2FoldChange_shrunk``; see :func:`read_de_table`). Gene IDs
    are mapped to official symbols; where an ID does not map, the table's ``symbol`` is
    mapped instead (``map_ids=False``: the ``symbol`` column is used as it is, e.g. from
    :func:`heatseq.annotate`). Size limits default to 10-500 (ORA) and 15-500 (GSEA).
    """
    from heatseq.enrich.ora import de_gene_lists, ora, tested_universe

    frame = getattr(table, "table", table)
    if not isinstance(frame, pd.DataFrame):
        raise InputError("enrich_de needs a DE table (a DEResult or a pandas DataFrame).")
    if method not in ("ora", "gsea"):
        raise InputError(f"method={method!r} is not valid; choose ora or gsea.")
    notes: list[str] = []
    unmapped: dict[str, tuple[str, ...]] = {}
    if map_ids or "symbol" not in frame.columns:
        frame = _symbols_of(frame, organism=organism, notes=notes, unmapped=unmapped)
    colls = list(collections) if collections is not None else load_collections(organism=organism)
    frames = []
    rank = None
    if method == "ora":
        lists = de_gene_lists(frame, alpha=alpha, lfc_threshold=lfc_threshold)
        universe = tested_universe(frame)
        if not universe:
            raise InputError("The DE table has no gene with both a symbol and an adjusted "
                             "p-value (padj), so there is no tested universe. Check the "
                             "organism and the table's padj column.")
        colls = _check_user_sets(colls, universe, empty_sets=empty_sets,
                                 what="universe (the genes with a padj)", notes=notes)
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
        colls = _check_user_sets(colls, rank.index, empty_sets=empty_sets, what="ranking",
                                 notes=notes)
        notes.append(f"GSEA ranking: {'Wald statistic' if ranking == 'stat' else 'shrunk LFC'}"
                     f" of {len(rank):,} genes.")
        for c in colls:
            t = gsea(rank, c, min_size=min_size or 15, max_size=max_size, seed=seed,
                     n_jobs=n_jobs)
            frames.append(_reduce(_edge_as_genes(t), c).assign(list="ranking"))
    out = _combine(frames)
    out = out[["list", *[c for c in out.columns if c != "list"]]]
    return Enrichment(table=out, method=method, releases=_releases(colls), notes=tuple(notes),
                      unmapped=unmapped, ranking=rank)


def enrich_modules(modules: pd.Series, *, symbols: pd.Series | None, organism: str,
                   collections: Sequence[GeneSets] | None = None, min_size: int = 10,
                   max_size: int = 500) -> Enrichment:
    """ORA of each heatmap module against all clustered genes (the universe).

    ``modules`` maps gene ID -> module number (``Clustering.modules``); ``symbols`` maps
    gene ID -> symbol (IDs without one are mapped offline, or left out). A module whose
    genes hit no set of the size range gives no rows (and a note).
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
        try:
            res = enrich_list(genes, universe=universe, organism=organism, collections=colls,
                              list_name=str(m), min_size=min_size, max_size=max_size,
                              map_ids=False)
        except InputError as exc:   # e.g. no gene of the module is annotated
            notes.append(f"Module {m}: not tested ({exc})")
            continue
        tables.append(res.table)
    out = _combine(tables)
    return Enrichment(table=out, method="ora", releases=_releases(colls), notes=tuple(notes))


# ---------------------------------------------------------------------- files
_HEADER_WORDS = {"gene", "genes", "gene_id", "geneid", "gene_name", "symbol", "symbols",
                 "gene_symbol", "id", "ids", "ensembl", "ensembl_id", "entrez", "entrez_id",
                 "name", "feature", "rank", "score"}
_DE_ALIASES = {"padj": ("padj", "FDR", "adj.P.Val", "qvalue", "q_value", "p_adj"),
               "log2FoldChange": ("log2FoldChange", "logFC", "log2FC", "log2_fold_change"),
               "stat": ("stat", "t", "z"),
               "symbol": ("symbol", "gene_name", "Symbol", "SYMBOL", "gene_symbol")}


def _split(line: str) -> list[str]:
    if "\t" in line:
        return [f.strip().strip('"') for f in line.split("\t")]
    if "," in line:
        return [f.strip().strip('"') for f in line.split(",")]
    return [f.strip('"') for f in line.split()]


def read_gene_file(path: str | os.PathLike[str], *, what: str = "gene list"
                   ) -> tuple[list[str], pd.Series | None]:
    """The gene IDs of a list file and, when it has them, their scores.

    One gene per line, or a table (tab-, comma- or space-separated) whose first column is
    the gene ID; a numeric second column is read as the score (a ranking for GSEA). A
    header line (``gene``, ``symbol``, ``gene_id``, ...), blank lines and ``#`` comments are
    skipped; gzipped files are read too.

    Returns
    -------
    tuple
        The IDs in file order (repeats kept; they count once), and a Series ID -> score or
        None when the file has no numeric second column.
    """
    from heatseq.io._text import check_path, read_text

    p = check_path(path, what=what)
    if p.is_dir():
        raise InputError(f"{p} is a folder; give a text file with one gene ID per line.")
    rows = [_split(line) for line in read_text(p).split("\n")
            if line.strip() and not line.lstrip().startswith("#")]
    if rows and rows[0] and rows[0][0].lower() in _HEADER_WORDS:
        rows = rows[1:]
    ids = [r[0] for r in rows if r and r[0]]
    if not ids:
        raise InputError(f"{p}: the {what} file holds no gene IDs. Give one gene ID per line "
                         "(Ensembl, Entrez or symbols).")
    scores = None
    if all(len(r) >= 2 for r in rows):
        values = pd.to_numeric(pd.Series([r[1] for r in rows]), errors="coerce")
        if values.notna().all():
            scores = pd.Series(values.to_numpy(dtype=float), index=pd.Index(ids, dtype=object),
                               name="score")
    return ids, scores


def read_de_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A DE results table (``heatseq de``, R DESeq2, edgeR or limma output) with heatseq's
    column names.

    The first column holds the gene IDs; tab- or comma-separated, gzipped or not. Columns
    are recognised by name: ``padj`` (or ``FDR``, ``adj.P.Val``, ``qvalue``),
    ``log2FoldChange`` (or ``logFC``, ``log2FC``), ``stat`` (or ``t``) and ``symbol`` (or
    ``gene_name``).
    """
    from heatseq.io._text import check_path, read_text

    p = check_path(path, what="DE results table")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give the DE results table (e.g. de_results.tsv).")
    text = read_text(p)
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first else ","
    import io as _io

    try:
        frame = pd.read_csv(_io.StringIO(text), sep=sep, index_col=0, dtype={0: str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{p}: cannot be read as a table ({exc}). Give a tab- or "
                         "comma-separated DE table with gene IDs in the first column.") from None
    if frame.empty:
        raise InputError(f"{p}: the DE table has no rows.")
    renames = {}
    for name, aliases in _DE_ALIASES.items():
        if name in frame.columns:
            continue
        hit = next((a for a in aliases if a in frame.columns), None)
        if hit is not None:
            renames[hit] = name
    frame = frame.rename(columns=renames)
    for col in ("padj", "log2FoldChange", "stat"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame.index = frame.index.astype(str)
    frame.index.name = "gene_id"
    return frame
