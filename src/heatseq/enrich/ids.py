"""Gene IDs of an enrichment input brought to the bundled collections' official symbols.

This module owns the enrichment-side wording of ID mapping: it detects what a gene list
holds and maps it offline with :mod:`heatseq.annotation` (which owns the tables and the
rules: Ensembl with or without version, Entrez, FlyBase, symbols in any case), then counts
and lists what did not map and says in plain words what was done. The bundled collections
(:mod:`heatseq.enrich.collections`) spell genes as the same official symbols: human HGNC
(upper case), mouse MGI/NCBI (``Trp53``), fly FlyBase (``Abd-B``; case matters: ``D`` and
``d`` are different genes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from heatseq.annotation import detect_ids, map_symbols
from heatseq.errors import InputError

__all__ = ["IdMapping", "map_to_symbols"]

log = logging.getLogger(__name__)

Organism = Literal["human", "mouse", "fly"]
ORGANISMS: tuple[str, ...] = ("human", "mouse", "fly")

_TYPE_WORDS = {"ensembl_gene": "Ensembl gene", "ensembl_transcript": "Ensembl transcript",
               "entrez": "Entrez (NCBI Gene)", "symbol": "gene symbol", "flybase": "FlyBase",
               "unknown": "unrecognised"}


@dataclass(frozen=True)
class IdMapping:
    """Gene IDs mapped to official symbols.

    Attributes
    ----------
    symbols
        Indexed by the distinct input IDs as text, in input order; the official symbol, or
        NA where the ID is unknown. Named ``symbol``.
    id_type
        The detected ID type: ``"ensembl_gene"``, ``"ensembl_transcript"``, ``"entrez"``,
        ``"symbol"``, ``"flybase"`` or ``"unknown"``.
    organism
        The organism the IDs were mapped for.
    n_mapped
        Number of distinct input IDs with a symbol.
    unmapped
        The distinct input IDs without a symbol, in input order.
    notes
        What was done, in plain words (counts, version suffixes ignored, symbols whose case
        was corrected, IDs sharing a symbol).
    """

    symbols: pd.Series
    id_type: str
    organism: str
    n_mapped: int
    unmapped: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def mapped(self) -> pd.Series:
        """Only the input IDs that have a symbol."""
        return self.symbols.dropna()


def _as_ids(ids: Iterable[object], what: str) -> pd.Index:
    """Distinct non-missing IDs as stripped text, in input order."""
    if isinstance(ids, str) or isinstance(ids, pd.DataFrame) or not isinstance(ids, Iterable):
        raise InputError(f"{what}: gene IDs must be a list, array, Index or Series; got "
                         f"{type(ids).__name__}.")
    values = ids.to_numpy() if isinstance(ids, pd.Index | pd.Series) else np.asarray(list(ids))
    raw = pd.Series(values)
    if raw.dtype.kind == "f":  # Entrez IDs read as floats because of a missing value
        v = raw.to_numpy(dtype=float)
        raw = pd.Series(np.where(np.isfinite(v) & (v == np.round(v)),
                                 np.nan_to_num(v).astype(np.int64).astype(str), None),
                        dtype=object)
    text = raw.where(raw.notna()).astype(object)
    text = text[text.notna()].astype(str).str.strip()
    text = text[text != ""]
    return pd.Index(text.drop_duplicates().to_numpy(dtype=object), dtype=object)


def _examples(values: Iterable[object], n: int = 3) -> str:
    vals = [str(v) for v in values]
    more = ", ..." if len(vals) > n else ""
    return ", ".join(vals[:n]) + more


def map_to_symbols(ids: Iterable[object], *, organism: Organism,
                   source: str | None = None) -> IdMapping:
    """Map gene IDs of any supported kind to the official symbols the collections use.

    Parameters
    ----------
    ids
        Ensembl gene IDs (with or without a version suffix), Entrez IDs (text or numbers),
        FlyBase IDs or gene symbols in any case; may be mixed. Missing values and repeats
        are dropped.
    organism
        ``"human"``, ``"mouse"`` or ``"fly"``.
    source
        The file or list the IDs come from, named in messages (default ``"gene list"``).

    Returns
    -------
    IdMapping

    Raises
    ------
    InputError
        An unknown organism, an empty list, or a list in which no ID maps (the message
        says what the IDs look like and for which organism they were detected).

    Examples
    --------
    >>> m = map_to_symbols(["ENSG00000120129.11", "7105", "fkbp5"], organism="human")
    >>> m.symbols.tolist(), m.n_mapped
    (['DUSP1', 'TSPAN6', 'FKBP5'], 3)
    """
    what = source or "gene list"
    if organism not in ORGANISMS:
        raise InputError(f"organism={organism!r} is not known; choose one of "
                         f"{', '.join(ORGANISMS)}.")
    given = _as_ids(ids, what)
    if len(given) == 0:
        raise InputError(f"{what}: no gene IDs given. Give one gene ID per line (Ensembl, "
                         "Entrez or symbols).")
    info = detect_ids(given)
    symbols = map_symbols(given, organism=organism)
    symbols = pd.Series(symbols.to_numpy(dtype=object), index=given, name="symbol", dtype=object)
    ok = symbols.notna().to_numpy()
    n_mapped = int(ok.sum())
    words = _TYPE_WORDS.get(info.id_type, info.id_type)
    if n_mapped == 0:
        seen = (f" {info.organism}" if info.organism else "")
        hint = (f" They look like{seen} {words} IDs, not {organism}: check --organism."
                if info.organism not in (None, organism) else
                f" They look like {words} IDs{' (' + info.organism + ')' if info.organism else ''}.")
        raise InputError(f"{what}: none of the {len(given):,} gene IDs could be mapped to "
                         f"{organism} gene symbols (e.g. {_examples(given)}).{hint} heatseq "
                         "maps Ensembl gene IDs, Entrez IDs, FlyBase IDs and official symbols: "
                         "check the organism and that the file holds one such ID per line.")
    unmapped = tuple(given[~ok].tolist())
    notes = [f"{what}: {n_mapped:,} of {len(given):,} IDs ({words} IDs detected) mapped to "
             f"{organism} gene symbols" + (f"; {len(unmapped):,} unmapped (e.g. {_examples(unmapped)})"
                          if unmapped else "") + "."]
    if info.versioned:
        notes.append(f"{what}: Ensembl version suffixes (.N) were ignored for mapping.")
    text = pd.Series(given.to_numpy(dtype=object), index=given)
    sym = symbols.where(ok, "")
    recased = ok & (text != sym).to_numpy() & (text.str.lower() == sym.str.lower()).to_numpy()
    if recased.any():
        n_re = int(recased.sum())
        pairs = [f"{a} -> {b}" for a, b in zip(given[recased][:4], sym[recased][:4], strict=True)]
        notes.append(f"{what}: {n_re:,} symbols given in another case were matched to the "
                     f"official {organism} spelling ({_examples(pairs)}).")
    shared = symbols[ok].duplicated(keep=False)
    if shared.any():
        n_sym = symbols[ok][shared].nunique()
        notes.append(f"{what}: {int(shared.sum()):,} input IDs share {n_sym:,} symbols "
                     f"(e.g. {_examples(symbols[ok][shared].unique())}); each symbol counts "
                     "once in enrichment.")
    for note in notes:
        log.info(note)
    return IdMapping(symbols=symbols, id_type=info.id_type, organism=organism,
                     n_mapped=n_mapped, unmapped=unmapped, notes=tuple(notes))
