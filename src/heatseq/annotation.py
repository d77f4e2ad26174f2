"""Offline gene annotation: what kind of gene IDs a table uses, and ID <-> symbol mapping.

This module owns the bundled annotation tables in ``heatseq/data/annotation/`` (built by
``scripts/build_annotation.py``; sources, dates, licences and the rules that collapse
one-to-many rows are in that folder's ``SOURCE.md`` and in :func:`annotation_versions`):

* human: Ensembl (ENSG) -> symbol and Entrez from Bioconductor's org.Hs.eg.db (NCBI Gene
  2022), with Ensembl's own GTF gene names as a fallback for genes without an NCBI record;
  every human Entrez gene -> symbol.
* mouse: Ensembl (ENSMUSG) -> symbol and Entrez from NCBI gene_info (2020); every mouse
  Entrez gene -> symbol.
* fly: FlyBase FBgn (FB2021_05) -> symbol, including secondary (retired or merged) FBgn IDs.

Tables are read on first use and cached for the life of the process. Entrez IDs are
returned as text (``"7105"``), as they appear in GMT files. Ensembl version suffixes
(``ENSG00000000003.14``) are ignored for lookups, and GENCODE's ``_PAR_Y`` copies map like
the gene they copy.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError, InputWarning

__all__ = [
    "IdInfo",
    "annotate",
    "annotation_versions",
    "detect_ids",
    "gene_symbols",
    "guess_organism",
    "map_ids",
    "map_symbols",
    "strip_version",
    "with_symbols",
]

log = logging.getLogger(__name__)

Organism = Literal["human", "mouse", "fly"]
OrganismOption = Literal["auto", "human", "mouse", "fly"]
IdType = Literal["ensembl_gene", "ensembl_transcript", "entrez", "symbol", "flybase", "unknown"]
Target = Literal["symbol", "entrez", "ensembl"]

ORGANISMS: tuple[str, ...] = ("human", "mouse", "fly")
TARGETS: tuple[str, ...] = ("symbol", "entrez", "ensembl")

#: An ID type wins when at least this fraction of the IDs has its pattern.
PATTERN_MIN_FRACTION = 0.5
#: Symbols win when at least this fraction of the IDs are known symbols of one organism.
SYMBOL_MIN_FRACTION = 0.3

_ENSEMBL_RE = r"^(ENS[A-Z]{0,6}?[GT]\d{11})(\.\d+)?(?:_PAR_Y)?$"
_FLYBASE_RE = r"FBgn\d{7}"
_ENTREZ_RE = r"\d+"
_SPECIES = {"": "human", "MUS": "mouse"}
_ENSEMBL_PATTERN = re.compile(_ENSEMBL_RE)
_FLYBASE_PATTERN = re.compile(_FLYBASE_RE)
_ENTREZ_PATTERN = re.compile(_ENTREZ_RE)
#: Gene IDs that are neither symbols nor mappable: Ensembl GTFs name their Locus Reference
#: Genomic records ``LRG_<n>`` (airway's GTF has 425 of them); no bundled table maps them.
_NOT_A_SYMBOL = re.compile(r"LRG_\d+")
_VERSION_RE = re.compile(r"^(ENS[A-Z]{0,6}?[A-Z]\d{11})\.\d+(_PAR_Y)?$")


@dataclass(frozen=True)
class IdInfo:
    """What :func:`detect_ids` found out about a list of gene IDs.

    Attributes
    ----------
    id_type
        ``"ensembl_gene"``, ``"ensembl_transcript"``, ``"entrez"``, ``"symbol"``,
        ``"flybase"`` or ``"unknown"``.
    organism
        ``"human"``, ``"mouse"``, ``"fly"`` or None when it cannot be told.
    versioned
        True when most Ensembl IDs carry a version suffix (``.14``).
    fraction_matching
        Fraction of the IDs that have the detected type (for symbols: that are known symbols
        of the detected organism). For ``"unknown"``, the best fraction any type reached.
    """

    id_type: IdType
    organism: Organism | None
    versioned: bool
    fraction_matching: float


# ---------------------------------------------------------------------- bundled tables
def _read_table(name: str, index: str) -> pd.DataFrame:
    ref = resources.files("heatseq").joinpath("data", "annotation", name)
    with ref.open("rb") as fh:
        table = pd.read_csv(fh, sep="\t", dtype=str, compression="gzip",
                            keep_default_na=False, na_values=[""])
    return table.set_index(index)


def _fold(symbols: pd.Series, organism: str) -> pd.Series:
    """Upper case (human) or lower case (mouse, fly); missing values stay missing."""
    fold = str.upper if organism == "human" else str.lower
    values = [fold(v) if isinstance(v, str) else np.nan for v in symbols.tolist()]
    return pd.Series(values, index=symbols.index, name=symbols.name, dtype=object)


@cache
def _gene_table(organism: str) -> pd.DataFrame:
    """Unversioned Ensembl ID (fly: primary FBgn) -> symbol, entrez_id; sorted by ID."""
    table = _read_table(f"{organism}.tsv.gz", "gene_id")
    if "entrez_id" not in table.columns:
        table["entrez_id"] = np.nan
    return table[["symbol", "entrez_id"]]


@cache
def _entrez_table(organism: str) -> pd.DataFrame:
    """Entrez ID -> symbol, gene_id; sorted numerically (empty for fly)."""
    if organism == "fly":
        return pd.DataFrame({"symbol": [], "gene_id": []}, index=pd.Index([], name="entrez_id"),
                            dtype=object)
    return _read_table(f"{organism}_entrez.tsv.gz", "entrez_id")


@cache
def _fly_secondary() -> pd.Series:
    """Secondary FBgn -> primary FBgn, for secondary IDs that point to one gene only."""
    fb = _read_table("fly.tsv.gz", "gene_id")["secondary_ids"].dropna()
    sec = fb.str.split(",").explode()
    sec = sec[~sec.duplicated(keep=False)]
    return pd.Series(sec.index.to_numpy(), index=sec.to_numpy(), dtype=object)


@dataclass(frozen=True)
class _Symbols:
    """One organism's symbol lookups (official spelling -> IDs; folded spelling -> official).

    ``entrez`` and ``gene`` are built on first use: annotating with symbols needs neither.
    """

    official: pd.Index
    key: pd.Series
    from_gene: pd.DataFrame
    from_entrez: pd.DataFrame

    @cached_property
    def entrez(self) -> pd.Series:
        ez = pd.concat([self.from_entrez[["symbol", "entrez_id"]],
                        self.from_gene[["symbol", "entrez_id"]].dropna()]).drop_duplicates("symbol")
        return ez.set_index("symbol")["entrez_id"]

    @cached_property
    def gene(self) -> pd.Series:
        gene = pd.concat([self.from_gene[["symbol", "gene_id"]],
                          self.from_entrez[["symbol", "gene_id"]].dropna()]).drop_duplicates("symbol")
        return gene.set_index("symbol")["gene_id"]


@cache
def _symbol_table(organism: str) -> _Symbols:
    genes = _gene_table(organism).reset_index()
    entrez = _entrez_table(organism).reset_index()
    # genes with an Entrez ID first, then by Ensembl ID; Entrez rows by lowest Entrez ID
    order = np.lexsort((genes["gene_id"].to_numpy(), genes["entrez_id"].isna().to_numpy()))
    from_gene = genes.iloc[order].drop_duplicates("symbol")
    from_entrez = entrez.drop_duplicates("symbol")
    official = pd.Index(pd.concat([from_gene["symbol"], from_entrez["symbol"]]).unique())
    keys = _fold(official.to_series(), organism).to_numpy()
    key = pd.Series(official.to_numpy(), index=keys, dtype=object)
    # human: first spelling wins; mouse/fly: a folded key shared by two symbols (fly D / d)
    # is left to exact matching
    key = key[~key.index.duplicated(keep="first" if organism == "human" else False)]
    return _Symbols(official=official, key=key, from_gene=from_gene, from_entrez=from_entrez)


@lru_cache(maxsize=1)
def _versions_text() -> str:
    ref = resources.files("heatseq").joinpath("data", "annotation", "versions.json")
    return ref.read_text(encoding="utf-8")


def annotation_versions() -> dict[str, Any]:
    """Sources, release dates, licences, collapsing rules and row counts of the bundled tables.

    Returns
    -------
    dict
        The content of ``versions.json``: ``{"organisms": {"human": {"sources": [...],
        "tables": {...}, "inputs": {...}}, ...}, "rules": {...}}``. A fresh copy each call.

    Examples
    --------
    >>> sorted(annotation_versions()["organisms"])
    ['fly', 'human', 'mouse']
    """
    return json.loads(_versions_text())


# ---------------------------------------------------------------------- helpers
def _first_valid(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a`` where it is not missing, else ``b`` (aligned on position), as object dtype."""
    av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    return pd.Series(np.where(pd.isna(av), bv, av), index=a.index, dtype=object)


def _check_option(value: object, valid: tuple[str, ...], name: str) -> None:
    if value not in valid:
        raise InputError(f"{name}={value!r} is not valid; choose one of {', '.join(valid)}.")


def _as_text(ids: object) -> tuple[pd.Index, pd.Series]:
    """The IDs as given (for the result index) and as stripped text (NaN where missing)."""
    if isinstance(ids, str):
        ids = [ids]
    if isinstance(ids, pd.DataFrame) or not isinstance(ids, Iterable):
        raise InputError(f"Gene IDs must be a list, array, Index or Series of IDs; got "
                         f"{type(ids).__name__}.")
    values = ids.to_numpy() if isinstance(ids, pd.Index | pd.Series) else np.asarray(list(ids))
    given = pd.Index(values)
    raw = pd.Series(values)
    if raw.dtype.kind == "f":  # Entrez IDs read as floats because of a missing value
        v = raw.to_numpy(dtype=float)
        whole = np.isfinite(v) & (v == np.round(v))
        text = np.full(v.shape, np.nan, dtype=object)
        text[whole] = v[whole].astype(np.int64).astype(str)
        return given, pd.Series(text, dtype=object)
    if raw.dtype.kind in "iub":
        return given, raw.astype(str).astype(object)
    missing = raw.isna().to_numpy()
    text = raw.astype(str).str.strip().to_numpy(dtype=object)
    text[missing | (text == "")] = np.nan
    return given, pd.Series(text, dtype=object)


@dataclass(frozen=True)
class _Ids:
    """IDs as stripped text (``q``, NaN where missing) and what each one looks like; parsed
    once per call (one regex pass per pattern over plain lists: pandas' ``.str`` methods
    cost several times more on 60,000 IDs)."""

    q: pd.Series
    ens: pd.DataFrame  # key (unversioned ID), kind (G/T), species (MUS, ...), version
    is_fb: np.ndarray
    is_entrez: np.ndarray


def _classify(q: pd.Series) -> _Ids:
    values = q.tolist()
    text = [v if isinstance(v, str) else "" for v in values]
    match = _ENSEMBL_PATTERN.match  # the pattern is anchored: match == search
    found = [match(v) for v in text]
    key = [m[1] if m else np.nan for m in found]
    version = [(m[2] if m[2] is not None else np.nan) if m else np.nan for m in found]
    kind = [k[-12] if m else np.nan for k, m in zip(key, found, strict=True)]
    species = [k[3:-12] if m else np.nan for k, m in zip(key, found, strict=True)]
    columns = {"key": key, "kind": kind, "species": species, "version": version}
    ens = pd.DataFrame({k: np.array(v, dtype=object) for k, v in columns.items()},
                       index=q.index)
    fb, entrez = _FLYBASE_PATTERN.fullmatch, _ENTREZ_PATTERN.fullmatch
    is_fb = np.fromiter((fb(v) is not None for v in text), dtype=bool, count=len(text))
    is_entrez = np.fromiter((entrez(v) is not None for v in text), dtype=bool, count=len(text))
    return _Ids(q, ens, is_fb, is_entrez)


def _fraction(mask: np.ndarray | pd.Series, n: int) -> float:
    return float(np.count_nonzero(np.asarray(mask, dtype=bool))) / n if n else 0.0


# ---------------------------------------------------------------------- detection
@overload
def strip_version(ids: str) -> str: ...
@overload
def strip_version(ids: pd.Series) -> pd.Series: ...
@overload
def strip_version(ids: Iterable[object]) -> pd.Index: ...
def strip_version(ids: object) -> str | pd.Series | pd.Index:
    """Remove Ensembl version suffixes: ``ENSG00000000003.14`` -> ``ENSG00000000003``.

    Only Ensembl/GENCODE IDs are changed (symbols such as ``RP11-34P13.3`` keep their dot).
    GENCODE's pseudo-autosomal copies keep their suffix so that IDs stay unique:
    ``ENSG00000124334.17_PAR_Y`` -> ``ENSG00000124334_PAR_Y``.

    Parameters
    ----------
    ids
        One ID, or a list/array/Index/Series of IDs.

    Returns
    -------
    str, pandas.Series or pandas.Index
        A str for a str, a Series (same index) for a Series, else an Index.

    Examples
    --------
    >>> strip_version("ENSG00000000003.14")
    'ENSG00000000003'
    >>> list(strip_version(["ENSG00000124334.17_PAR_Y", "TSPAN6"]))
    ['ENSG00000124334_PAR_Y', 'TSPAN6']
    """
    if isinstance(ids, str):
        return _VERSION_RE.sub(r"\1\2", ids)
    _, text = _as_text(ids)
    stripped = text.str.replace(_VERSION_RE, r"\1\2", regex=True).to_numpy(dtype=object)
    if isinstance(ids, pd.Series):
        return pd.Series(stripped, index=ids.index, name=ids.name, dtype=object)
    return pd.Index(stripped, dtype=object)


def _symbol_fractions(q: pd.Series, n: int, *, folded: bool) -> dict[str, float]:
    out = {}
    for org in ORGANISMS:
        sym = _symbol_table(org)
        hits = _fold(q, org).isin(sym.key.index) if folded else q.isin(sym.official)
        out[org] = _fraction(hits, n)
    return out


def _detect(ids: _Ids) -> IdInfo:
    q, ens = ids.q, ids.ens
    n = len(q)
    if n == 0:
        return IdInfo("unknown", None, False, 0.0)
    is_ens = ens["kind"].notna()
    fractions = {
        "ensembl_gene": _fraction(ens["kind"] == "G", n),
        "ensembl_transcript": _fraction(ens["kind"] == "T", n),
        "flybase": _fraction(ids.is_fb, n),
        "entrez": _fraction(ids.is_entrez, n),
    }
    best = max(fractions, key=lambda k: fractions[k])
    if fractions[best] >= PATTERN_MIN_FRACTION:
        organism: str | None = None
        versioned = False
        if best.startswith("ensembl"):
            kind = "G" if best == "ensembl_gene" else "T"
            hit = ens[ens["kind"] == kind]
            organism = _SPECIES.get(hit["species"].value_counts().idxmax())
            versioned = _fraction(hit["version"].notna(), len(hit)) > 0.5
        elif best == "flybase":
            organism = "fly"
        else:
            counts = {org: int(q.isin(_entrez_table(org).index).sum())
                      for org in ("human", "mouse")}
            top = max(counts, key=lambda k: counts[k])
            organism = top if counts[top] > 0 else None
        return IdInfo(best, organism, versioned, fractions[best])  # type: ignore[arg-type]
    plain = q[~is_ens.to_numpy()]
    for folded in (False, True):
        sym = _symbol_fractions(plain, n, folded=folded)
        org = max(ORGANISMS, key=lambda k: sym[k])
        if sym[org] >= SYMBOL_MIN_FRACTION:
            return IdInfo("symbol", org, False, sym[org])  # type: ignore[arg-type]
        fractions[f"symbol_{folded}"] = sym[org]
    return IdInfo("unknown", None, False, max(fractions.values()))


def detect_ids(ids: Iterable[object]) -> IdInfo:
    """Tell the type and organism of a list of gene IDs.

    The ID type whose pattern most IDs match wins when at least
    :data:`PATTERN_MIN_FRACTION` of them match (Ensembl gene/transcript, FlyBase FBgn,
    Entrez numbers); the organism comes from the Ensembl species prefix (``ENSG`` human,
    ``ENSMUSG`` mouse) or, for Entrez IDs, from the bundled Entrez tables. Otherwise the
    IDs are compared with each organism's symbols (exact case first, then ignoring case).

    Parameters
    ----------
    ids
        Gene IDs (list, array, Index or Series).

    Returns
    -------
    IdInfo

    Examples
    --------
    >>> detect_ids(["ENSG00000000003.14", "ENSG00000000005.5"])
    IdInfo(id_type='ensembl_gene', organism='human', versioned=True, fraction_matching=1.0)
    """
    _, q = _as_text(ids)
    return _detect(_classify(q))


def guess_organism(ids: Iterable[object]) -> str | None:
    """The organism of a list of gene IDs (``"human"``, ``"mouse"``, ``"fly"``), or None.

    Examples
    --------
    >>> guess_organism(["ENSMUSG00000000001", "ENSMUSG00000000003"])
    'mouse'
    """
    return detect_ids(ids).organism


# ---------------------------------------------------------------------- mapping
def _resolve_organism(ids: _Ids, organism: str) -> str:
    _check_option(organism, ("auto", *ORGANISMS), "organism")
    if organism != "auto":
        return organism
    q = ids.q
    info = _detect(ids)
    if info.organism is None:
        raise InputError(
            f"Could not tell the organism of these gene IDs (they look like: {info.id_type}; "
            f"e.g. {', '.join(map(str, q.dropna().head(3)))}). Pass organism= one of "
            f"{', '.join(ORGANISMS)}."
        )
    log.info("Gene IDs look like %s %s IDs.", info.organism, info.id_type)
    return info.organism


def _official_symbols(q: pd.Series, organism: str) -> pd.Series:
    """Symbols given in any case -> the official symbol (NaN when unknown)."""
    sym = _symbol_table(organism)
    folded = _fold(q, organism).map(sym.key)
    if organism == "human":
        return folded.astype(object)
    return _first_valid(q.where(q.isin(sym.official)), folded)


def _lookup(ids: _Ids, organism: str, to: str) -> np.ndarray:
    """Map each ID by its own kind (Ensembl/FlyBase gene, Entrez, symbol) to ``to``."""
    q, ens, is_fb, is_entrez = ids.q, ids.ens, ids.is_fb, ids.is_entrez
    nothing = pd.Series(np.nan, index=q.index, dtype=object)
    is_symbol = ens["kind"].isna().to_numpy() & ~is_fb & ~is_entrez & q.notna().to_numpy()
    if is_symbol.any():  # LRG records are not symbols: they need no symbol tables
        lrg = _NOT_A_SYMBOL.fullmatch
        cand = np.flatnonzero(is_symbol)
        is_symbol[cand[[lrg(v) is not None for v in q.to_numpy()[cand]]]] = False
    if organism == "fly":  # FlyBase IDs play the role of Ensembl gene IDs (Ensembl uses them)
        gene_key = q.where(is_fb)
    else:
        gene_key = ens["key"].where(ens["kind"] == "G")
    parts = []
    if gene_key.notna().any():
        genes = _gene_table(organism)
        known = gene_key.where(gene_key.isin(genes.index))
        if organism == "fly":
            known = _first_valid(known, gene_key.map(_fly_secondary()))
        column = {"symbol": "symbol", "entrez": "entrez_id"}.get(to)
        parts.append(known.map(genes[column]) if column else known)
    if is_entrez.any():
        table = _entrez_table(organism)
        entrez = q.where(is_entrez)
        entrez = entrez.where(entrez.isin(table.index))
        column = {"symbol": "symbol", "ensembl": "gene_id"}.get(to)
        parts.append(entrez.map(table[column]) if column else entrez)
    if is_symbol.any():
        values = np.full(len(q), np.nan, dtype=object)  # only the symbol-like IDs are looked up
        values[is_symbol] = _official_symbols(q[is_symbol], organism).to_numpy(dtype=object)
        symbol = pd.Series(values, index=q.index, dtype=object)
        sym = _symbol_table(organism)
        parts.append(symbol if to == "symbol" else
                     symbol.map(sym.entrez if to == "entrez" else sym.gene))
    out = nothing
    for part in parts:
        out = _first_valid(out, part)
    return out.to_numpy(dtype=object)


def map_ids(ids: Iterable[object], *, organism: OrganismOption = "auto",
            to: Target) -> pd.Series:
    """Map gene IDs of any supported kind to symbols, Entrez IDs or Ensembl IDs.

    Parameters
    ----------
    ids
        Ensembl gene IDs (with or without version, GENCODE ``_PAR_Y`` included), Entrez
        IDs, FlyBase FBgn IDs (primary or secondary) or gene symbols; may be mixed.
        Symbols are matched ignoring case for human (symbols are upper-case) and exact
        case first, then ignoring case, for mouse (``Gnai3``) and fly (``D`` and ``d`` are
        different genes).
    organism
        ``"auto"`` (guess with :func:`detect_ids`), ``"human"``, ``"mouse"`` or ``"fly"``.
    to
        ``"symbol"``, ``"entrez"`` (text; always NaN for fly, whose FlyBase table has no
        Entrez IDs) or ``"ensembl"`` (unversioned; for fly the current FlyBase FBgn, which
        Ensembl also uses).

    Returns
    -------
    pandas.Series
        Indexed by the IDs as given, named ``to``; NaN where the ID is unknown.
        Transcript IDs are not mapped.

    Raises
    ------
    InputError
        An unknown ``organism`` or ``to``, or ``organism="auto"`` and the organism cannot
        be told from the IDs.

    Examples
    --------
    >>> map_ids(["DUSP1", "fkbp5"], organism="human", to="ensembl").tolist()
    ['ENSG00000120129', 'ENSG00000096060']
    """
    _check_option(to, TARGETS, "to")
    given, q = _as_text(ids)
    parsed = _classify(q)
    org = _resolve_organism(parsed, organism)
    values = _lookup(parsed, org, to)
    return pd.Series(values, index=given, name=to, dtype=object)


def map_symbols(ids: Iterable[object], *, organism: OrganismOption = "auto") -> pd.Series:
    """Gene symbols for gene IDs: ``map_ids(ids, organism=organism, to="symbol")``.

    Parameters
    ----------
    ids
        Ensembl gene IDs (with or without version), Entrez IDs, FlyBase IDs (incl.
        secondary FBgn) or symbols (returned in their official spelling).
    organism
        ``"auto"``, ``"human"``, ``"mouse"`` or ``"fly"``.

    Returns
    -------
    pandas.Series
        Indexed by the IDs as given, named ``symbol``; NaN where unknown.

    Examples
    --------
    >>> map_symbols(["ENSG00000120129.11", "ENSG00000096060"]).tolist()
    ['DUSP1', 'FKBP5']
    """
    return map_ids(ids, organism=organism, to="symbol")


def annotate(dataset: Dataset, *, organism: OrganismOption = "auto") -> Dataset:
    """A copy of ``dataset`` whose genes table has a ``symbol`` column.

    Existing columns are kept; where a ``symbol`` column exists already its values win and
    only missing ones are filled. The number of mapped genes is recorded in
    ``source.notes``. When ``organism="auto"`` and the organism cannot be told, symbols
    stay empty and an :class:`~heatseq.errors.InputWarning` says so.

    Parameters
    ----------
    dataset
        The counts whose gene IDs are annotated.
    organism
        ``"auto"``, ``"human"``, ``"mouse"`` or ``"fly"``.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import pandas as pd
    >>> ds = Dataset(pd.DataFrame({"ENSG00000120129": [5], "ENSG00000096060": [7]}))
    >>> annotate(ds).genes["symbol"].tolist()
    ['DUSP1', 'FKBP5']
    """
    if not isinstance(dataset, Dataset):
        raise InputError(f"annotate() needs a heatseq Dataset; got {type(dataset).__name__}.")
    _check_option(organism, ("auto", *ORGANISMS), "organism")
    symbols, note = _symbols_of(dataset, organism)
    return with_symbols(dataset, symbols, note=note)


def _symbols_of(dataset: Dataset, organism: OrganismOption) -> tuple[pd.Series, str]:
    """The symbols of ``dataset``'s gene IDs (indexed by gene ID, NaN where unmapped) and
    the note that says how many mapped; warns when the organism cannot be told."""
    _, q = _as_text(dataset.gene_ids)
    parsed = _classify(q)
    try:
        org = _resolve_organism(parsed, organism)
    except InputError as exc:
        warnings.warn(f"No gene symbols added: {exc}", InputWarning, stacklevel=3)
        symbols = pd.Series(np.nan, index=dataset.gene_ids, dtype=object)
        return symbols, "No gene symbols added: the organism could not be told from the gene IDs."
    symbols = pd.Series(_lookup(parsed, org, "symbol"), index=dataset.gene_ids, dtype=object)
    return symbols, (f"Gene symbols from heatseq's bundled {org} annotation: "
                     f"{int(symbols.notna().sum()):,} of {len(symbols):,} gene IDs mapped.")


def gene_symbols(dataset: Dataset, *, organism: OrganismOption = "auto") -> tuple[pd.Series, str]:
    """The lookup half of :func:`annotate`: symbols for ``dataset``'s gene IDs and the note.

    ``annotate(ds)`` attaches what ``gene_symbols(ds)`` finds with :func:`with_symbols`;
    the two halves let the lookup run elsewhere (another process) while ``ds`` is in use.

    Returns
    -------
    (pandas.Series, str)
        Symbols indexed by gene ID (NaN where unmapped) and the note for ``source.notes``.
    """
    if not isinstance(dataset, Dataset):
        raise InputError(f"gene_symbols() needs a heatseq Dataset; got {type(dataset).__name__}.")
    _check_option(organism, ("auto", *ORGANISMS), "organism")
    return _symbols_of(dataset, organism)


def with_symbols(dataset: Dataset, symbols: pd.Series, *, note: str | None = None) -> Dataset:
    """The attach half of :func:`annotate`: a copy of ``dataset`` with ``symbols`` (from
    :func:`gene_symbols`) as its ``symbol`` column and ``note`` added to ``source.notes``.

    A ``symbol`` column already present wins where it has a value.
    """
    genes = dataset.genes.copy()
    if not symbols.index.equals(dataset.gene_ids):
        symbols = symbols.reindex(dataset.gene_ids)
    if "symbol" in genes.columns:
        old = genes["symbol"].astype(object).where(genes["symbol"].astype(str) != "")
        genes["symbol"] = _first_valid(old, symbols)
    else:
        genes["symbol"] = symbols
    source = dataset.source
    if source is not None and note is not None:
        source = dataclasses.replace(source, notes=(*source.notes, note))
    return Dataset(dataset.counts, samples=dataset.samples, genes=genes, lengths=dataset.lengths,
                   source=source, extra=dataset.extra)

