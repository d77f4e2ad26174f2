"""Gene-set collections: the :class:`GeneSets` value and GMT files.

A collection is stored as a sparse membership matrix in CSR form: set ``i`` holds the genes
``genes[indices[indptr[i]:indptr[i + 1]]]``. Every algorithm of :mod:`heatseq.enrich` works
on these arrays (no Python loop over sets for the statistics), and restricting a collection
to a universe is one vectorised pass.

GMT (Broad's gene-matrix-transposed format): one set per line, ``name<TAB>description<TAB>
gene<TAB>gene...``; gzipped files are read too. A line with fewer than two fields, an
empty line between sets, or a set name given twice is an error naming the file and line
(real GMT files in the wild have all three; silently skipping them hides a broken
download). A gene listed twice in one set counts once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from heatseq.errors import InputError
from heatseq.io._text import check_path, read_text

__all__ = ["GeneSets", "read_gmt", "write_gmt"]


@dataclass(frozen=True, eq=False)
class GeneSets:
    """A collection of gene sets over one gene vocabulary.

    Attributes
    ----------
    name
        Short collection name, e.g. ``"go_bp"``, ``"hallmark"``, or a GMT file's stem.
    term_ids
        One ID per set (``GO:0006955``, ``HALLMARK_APOPTOSIS``, ``R-HSA-...``), unique.
    term_names
        One human-readable name per set (``"immune response"``).
    genes
        The gene vocabulary (as the collection spells it: symbols or Entrez IDs).
    indptr, indices
        CSR membership: set ``i`` holds ``genes[indices[indptr[i]:indptr[i+1]]]``; indices
        of a set are sorted and unique.
    id_type
        ``"symbol"``, ``"entrez"``, ``"ensembl"`` or ``"unknown"``.
    organism
        ``"human"``, ``"mouse"``, ``"fly"`` or None when not known.
    release
        The release of the collection in words (printed in every result and report).
    licence
        Its licence (e.g. ``"CC BY 4.0"``).
    meta
        Anything else (source URL, citation).
    """

    name: str
    term_ids: np.ndarray
    term_names: np.ndarray
    genes: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    id_type: str = "unknown"
    organism: str | None = None
    release: str = ""
    licence: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.term_ids)
        if len(self.term_names) != n or len(self.indptr) != n + 1:
            raise ValueError("GeneSets: term_ids, term_names and indptr do not agree in length")
        if len(self.indices) != int(self.indptr[-1]):
            raise ValueError("GeneSets: indices do not match indptr")

    def __len__(self) -> int:
        return len(self.term_ids)

    def __repr__(self) -> str:
        return (f"GeneSets({self.name!r}: {len(self):,} sets over {len(self.genes):,} genes, "
                f"{self.id_type}, {self.organism or 'organism unknown'}"
                + (f", {self.release}" if self.release else "") + ")")

    @property
    def sizes(self) -> np.ndarray:
        """Number of genes in each set."""
        return np.diff(self.indptr)

    def members(self, i: int) -> np.ndarray:
        """The genes of set ``i`` (by position)."""
        return self.genes[self.indices[self.indptr[i]:self.indptr[i + 1]]]

    def as_dict(self) -> dict[str, list[str]]:
        """``{term_id: [genes]}`` (for small collections and tests)."""
        return {str(t): [str(g) for g in self.members(i)] for i, t in enumerate(self.term_ids)}

    def membership(self) -> Any:
        """The sets x genes membership as a ``scipy.sparse.csr_array`` of int8 ones."""
        from scipy.sparse import csr_array

        return csr_array((np.ones(len(self.indices), dtype=np.int8), self.indices, self.indptr),
                         shape=(len(self), len(self.genes)))

    def restrict(self, universe: Iterable[str], *, min_size: int = 1,
                 max_size: int | None = None) -> GeneSets:
        """The collection restricted to the genes of ``universe`` (same spelling), keeping the
        sets whose restricted size is within ``[min_size, max_size]``; set order is kept."""
        uni = set(universe)   # hashed: np.isin on text arrays is quadratic
        keep_gene = np.fromiter((g in uni for g in self.genes), dtype=bool,
                                count=len(self.genes))
        new_index = np.cumsum(keep_gene) - 1
        kept = keep_gene[self.indices]
        set_of = np.repeat(np.arange(len(self)), self.sizes)
        sizes = np.bincount(set_of[kept], minlength=len(self))
        ok = sizes >= min_size
        if max_size is not None:
            ok &= sizes <= max_size
        sel = kept & ok[set_of]
        indptr = np.concatenate([[0], np.cumsum(np.where(ok, sizes, 0)[ok])]).astype(np.int64)
        return GeneSets(name=self.name, term_ids=self.term_ids[ok], term_names=self.term_names[ok],
                        genes=self.genes[keep_gene], indptr=indptr,
                        indices=new_index[self.indices[sel]].astype(np.int32),
                        id_type=self.id_type, organism=self.organism, release=self.release,
                        licence=self.licence, meta=self.meta)

    @classmethod
    def from_dict(cls, sets: Mapping[str, Iterable[str]], *, name: str = "sets",
                  names: Mapping[str, str] | None = None, **kwargs: Any) -> GeneSets:
        """Build a collection from ``{term_id: genes}`` (duplicates within a set dropped;
        the gene vocabulary sorted)."""
        term_ids = list(sets)
        members = [sorted({str(g) for g in sets[t]}) for t in term_ids]
        vocab = np.array(sorted({g for m in members for g in m}), dtype=object)
        pos = {g: i for i, g in enumerate(vocab)}
        indices = np.fromiter((pos[g] for m in members for g in m), dtype=np.int32,
                              count=sum(len(m) for m in members))
        indptr = np.concatenate([[0], np.cumsum([len(m) for m in members])]).astype(np.int64)
        nm = names or {}
        return cls(name=name, term_ids=np.array(term_ids, dtype=object),
                   term_names=np.array([nm.get(t, t) for t in term_ids], dtype=object),
                   genes=vocab, indptr=indptr, indices=indices, **kwargs)


def read_gmt(path: str | os.PathLike[str], *, name: str | None = None, **kwargs: Any) -> GeneSets:
    """Read a GMT file (gzipped or not) into a :class:`GeneSets`.

    The description column becomes ``term_names`` (the set name when it is empty, ``na``
    or a URL). ``kwargs`` (``id_type``, ``organism``, ``release``, ``licence``) are passed
    to :class:`GeneSets`.

    Raises
    ------
    InputError
        For a missing file, an empty file, an empty line between sets, a line with fewer
        than two tab-separated fields, a set with no genes, or a set name given twice; each
        message names the file and the line.
    """
    p = check_path(path, what="GMT gene-set file")
    lines = read_text(p).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise InputError(f"{p}: the GMT file is empty; it needs one gene set per line "
                         "(name<TAB>description<TAB>genes...).")
    sets: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for no, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            raise InputError(f"{p}, line {no}: empty line between gene sets. Remove it (a GMT "
                             "file has one set per line and no blank lines).")
        fields = line.split("\t")
        set_name = fields[0].strip()
        if len(fields) < 2 or not set_name:
            raise InputError(f"{p}, line {no}: a GMT line needs a set name, a description and "
                             "genes separated by tabs; found "
                             f"{'no tab' if len(fields) < 2 else 'an empty set name'}. Check "
                             "that the file is tab-separated.")
        genes = [g.strip() for g in fields[2:] if g.strip()]
        if not genes:
            raise InputError(f"{p}, line {no}: gene set {set_name!r} has no genes. Remove the "
                             "line or add its genes.")
        if set_name in sets:
            raise InputError(f"{p}, line {no}: gene set name {set_name!r} is given twice (first "
                             f"on line {first_line[set_name]}). Set names must be unique: "
                             "rename or merge the sets.")
        first_line[set_name] = no
        sets[set_name] = genes
        desc = fields[1].strip()
        names[set_name] = set_name if desc.lower() in ("", "na") or "://" in desc else desc
    return GeneSets.from_dict(sets, name=name or _stem(p), names=names, **kwargs)


def write_gmt(sets: GeneSets, path: str | os.PathLike[str]) -> Path:
    """Write a collection as GMT (gzip when the name ends in .gz), atomically."""
    import gzip

    from heatseq.io.write import atomic_path

    text = "".join(f"{t}\t{n}\t" + "\t".join(map(str, sets.members(i))) + "\n"
                   for i, (t, n) in enumerate(zip(sets.term_ids, sets.term_names, strict=True)))
    target = Path(path)
    with atomic_path(target) as tmp:
        if target.suffix == ".gz":
            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write(text.encode())
        else:
            tmp.write_text(text, encoding="utf-8")
    return target


def _stem(p: Path) -> str:
    name = p.name
    for suffix in (".gz", ".gmt", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name
