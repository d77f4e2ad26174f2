"""The bundled gene-set collections and the GO DAG.

This module owns ``heatseq/data/genesets/`` (built by ``scripts/build_genesets.py`` from
the reference gene-set folder; origin, release, licence and citation of each collection
are in that folder's ``SOURCE.md`` and in :func:`collection_versions`):

* ``go_bp``, ``go_mf``, ``go_cc`` (human, mouse): Gene Ontology 2022-07-01 (go-basic),
  annotations propagated up the DAG over ``is_a`` and ``part_of`` (the true-path rule, as
  MSigDB C5 and most GMT-based tools; not over ``regulates``, which Bioconductor's
  ``GO2ALLEGS`` follows). Licence CC BY 4.0.
* ``reactome`` (human, CC BY 4.0), ``wikipathways`` 20230410 (human, CC0),
  ``hallmark`` MSigDB v7.4 (human, CC BY 4.0).
* Not shipped: KEGG (not openly licensed); no mouse pathway collections and nothing for fly
  (give a GMT file).

Gene IDs are official symbols (map input IDs with :func:`heatseq.enrich.ids.map_to_symbols`).
A collection is read on first use (one compressed ``.npz`` of CSR arrays, well under 0.5 s)
and cached for the life of the process; its arrays are read-only.

:class:`GODag` holds the GO terms (ID, name, namespace) with their ``is_a`` and ``part_of``
parents; ancestors are one sparse transitive closure, computed once and shared.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd

from heatseq.enrich.genesets import GeneSets
from heatseq.errors import InputError

__all__ = ["GODag", "available_collections", "collection_versions", "go_dag", "load_collection"]

Organism = Literal["human", "mouse", "fly"]
ORGANISMS: tuple[str, ...] = ("human", "mouse", "fly")
NAMESPACES: tuple[str, ...] = ("biological_process", "molecular_function", "cellular_component")
RELATIONS: tuple[str, ...] = ("is_a", "part_of")


# ---------------------------------------------------------------------- files
def _data_bytes(name: str) -> bytes:
    return resources.files("heatseq").joinpath("data", "genesets", name).read_bytes()


def _load_npz(name: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(_data_bytes(name)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _strings(blob: np.ndarray) -> np.ndarray:
    """Object array of the ``\\n``-joined UTF-8 values in ``blob``."""
    if len(blob) == 0:
        return np.array([], dtype=object)
    return np.array(blob.tobytes().decode("utf-8").split("\n"), dtype=object)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@cache
def _versions_text() -> str:
    return _data_bytes("versions.json").decode("utf-8")


def collection_versions() -> dict[str, Any]:
    """Release, licence, source, citation and size of every bundled collection and the DAG.

    Returns
    -------
    dict
        The content of the folder's ``versions.json`` (a fresh copy each call):
        ``{"collections": {"go_bp_human": {"name", "organism", "sets", "genes",
        "release", "licence", "source", "citation", ...}, ...}, "go_dag": {...},
        "left_out": {...}}``.

    Examples
    --------
    >>> collection_versions()["collections"]["hallmark_human"]["licence"]
    'CC BY 4.0'
    """
    return json.loads(_versions_text())


def available_collections(organism: Organism | None = None) -> pd.DataFrame:
    """The bundled collections, optionally for one organism.

    Parameters
    ----------
    organism
        ``"human"``, ``"mouse"``, ``"fly"`` (none bundled: the table is empty) or None
        for all.

    Returns
    -------
    pandas.DataFrame
        Columns collection, organism, sets, genes, release, licence; one row per
        collection and organism.

    Examples
    --------
    >>> available_collections("mouse")["collection"].tolist()
    ['go_bp', 'go_mf', 'go_cc']
    """
    if organism is not None:
        _check_organism(organism)
    rows = [{"collection": c["name"], "organism": c["organism"], "sets": c["sets"],
             "genes": c["genes"], "release": c["release"], "licence": c["licence"]}
            for c in collection_versions()["collections"].values()]
    table = pd.DataFrame(rows, columns=["collection", "organism", "sets", "genes", "release",
                                        "licence"])
    order = {"go_bp": 0, "go_mf": 1, "go_cc": 2, "reactome": 3, "wikipathways": 4,
             "hallmark": 5}
    table = table.assign(_o=table["collection"].map(order).fillna(99),
                         _g=table["organism"].map({o: i for i, o in enumerate(ORGANISMS)}))
    table = table.sort_values(["_g", "_o", "collection"], kind="mergesort")
    if organism is not None:
        table = table[table["organism"] == organism]
    return table.drop(columns=["_o", "_g"]).reset_index(drop=True)


def _check_organism(organism: object) -> None:
    if organism not in ORGANISMS:
        raise InputError(f"organism={organism!r} is not known; choose one of "
                         f"{', '.join(ORGANISMS)}.")


def load_collection(name: str, *, organism: Organism) -> GeneSets:
    """A bundled gene-set collection over official gene symbols.

    Parameters
    ----------
    name
        ``"go_bp"``, ``"go_mf"``, ``"go_cc"`` (human, mouse), ``"reactome"``,
        ``"wikipathways"``, ``"hallmark"`` (human); see :func:`available_collections`.
    organism
        ``"human"``, ``"mouse"`` or ``"fly"`` (fly has no bundled collection).

    Returns
    -------
    GeneSets
        With ``id_type="symbol"``, the organism, release and licence; ``meta`` holds the
        title, source, citation and file. Cached: the same (read-only) object each call.

    Raises
    ------
    InputError
        An unknown organism, or a collection not bundled for it (the message lists those
        that are).

    Examples
    --------
    >>> sets = load_collection("hallmark", organism="human")
    >>> len(sets), sets.licence
    (50, 'CC BY 4.0')
    """
    _check_organism(organism)
    return _load(str(name), organism)


@cache
def _load(name: str, organism: str) -> GeneSets:
    info = collection_versions()["collections"].get(f"{name}_{organism}")
    if info is None:
        have = available_collections(organism)["collection"].tolist()
        hint = (f"available for {organism}: {', '.join(have)}" if have else
                f"heatseq bundles no collection for {organism}; give a GMT file "
                "(heatseq.enrich.read_gmt / --gmt FILE)")
        raise InputError(f"Gene-set collection {name!r} is not bundled for {organism}; "
                         f"{hint}.")
    z = _load_npz(info["file"])
    indptr = z["indptr"].astype(np.int64)
    delta = z["indices"].astype(np.int32)
    # members are stored as differences within each set: undo with one cumulative sum,
    # restarted at each set's first member
    total = np.cumsum(delta, dtype=np.int64)
    sizes = np.diff(indptr)
    base = np.repeat(total[indptr[:-1][sizes > 0]] - delta[indptr[:-1][sizes > 0]],
                     sizes[sizes > 0])
    indices = (total - base).astype(np.int32)
    meta = {k: info[k] for k in ("title", "source", "citation", "file")}
    return GeneSets(name=name, term_ids=_frozen(_strings(z["term_ids"])),
                    term_names=_frozen(_strings(z["term_names"])),
                    genes=_frozen(_strings(z["genes"])), indptr=_frozen(indptr),
                    indices=_frozen(indices), id_type="symbol", organism=organism,
                    release=info["release"], licence=info["licence"], meta=meta)


# ---------------------------------------------------------------------- GO DAG
@dataclass(frozen=True, eq=False)
class GODag:
    """The Gene Ontology as bundled: terms and their ``is_a`` / ``part_of`` parents.

    Attributes
    ----------
    ids
        GO IDs (``GO:0008150``), sorted.
    names
        Term names, aligned with ``ids``.
    namespace
        ``biological_process``, ``molecular_function`` or ``cellular_component`` per term.
    parent_indptr, parents, relation
        Parents in CSR form: term ``i``'s parents are ``ids[parents[parent_indptr[i]:
        parent_indptr[i + 1]]]``, with ``relation`` 0 (``is_a``) or 1 (``part_of``).
    alt_ids
        Secondary GO ID -> primary GO ID.
    release
        The ontology release.
    """

    ids: np.ndarray
    names: np.ndarray
    namespace: np.ndarray
    parent_indptr: np.ndarray
    parents: np.ndarray
    relation: np.ndarray
    alt_ids: pd.Series
    release: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"GODag({len(self):,} terms, {len(self.parents):,} is_a/part_of edges, {self.release})"

    @cached_property
    def _pos(self) -> pd.Series:
        primary = pd.Series(np.arange(len(self.ids)), index=self.ids)
        alt = pd.Series(primary[self.alt_ids.to_numpy()].to_numpy(), index=self.alt_ids.index)
        return pd.concat([primary, alt])

    def index(self, term_ids: Iterable[str]) -> np.ndarray:
        """Positions of ``term_ids`` in :attr:`ids` (secondary IDs resolved; -1 if unknown)."""
        terms = pd.Index(np.asarray(list(term_ids), dtype=object))
        return self._pos.reindex(terms).fillna(-1).to_numpy(dtype=np.int64)

    def table(self) -> pd.DataFrame:
        """One row per term: index GO ID, columns name and namespace."""
        return pd.DataFrame({"name": self.names, "namespace": self.namespace},
                            index=pd.Index(self.ids, name="go_id"))

    def parents_of(self, term_id: str) -> tuple[str, ...]:
        """Direct ``is_a`` and ``part_of`` parents of one term (empty if unknown)."""
        i = int(self.index([term_id])[0])
        if i < 0:
            return ()
        return tuple(self.ids[self.parents[self.parent_indptr[i]:self.parent_indptr[i + 1]]])

    @cached_property
    def closure(self) -> Any:
        """Terms x terms ``scipy.sparse.csr_array`` of bools: ``closure[i, j]`` when term
        ``j`` is a proper ancestor of term ``i`` (over ``is_a`` and ``part_of``)."""
        from scipy.sparse import csr_array

        n = len(self.ids)
        step = csr_array((np.ones(len(self.parents), dtype=np.int8), self.parents,
                          self.parent_indptr), shape=(n, n))
        reach = step.astype(bool)
        while True:  # path doubling: longest path needs log2(depth) products
            grown = (reach + (reach.astype(np.int32) @ reach.astype(np.int32)).astype(bool))
            grown = grown.astype(bool)
            if grown.nnz == reach.nnz:
                break
            reach = grown
        reach.sort_indices()
        return reach

    def ancestors(self, term_id: str) -> frozenset[str]:
        """The proper ancestors of one term over ``is_a`` and ``part_of`` (empty if the
        term is unknown; a secondary ID is resolved first).

        Examples
        --------
        >>> "GO:0031960" in go_dag().ancestors("GO:0051384")
        True
        """
        i = int(self.index([term_id])[0])
        if i < 0:
            return frozenset()
        c = self.closure
        return frozenset(self.ids[c.indices[c.indptr[i]:c.indptr[i + 1]]].tolist())

    def ancestor_matrix(self, term_ids: Iterable[str]) -> Any:
        """Rows of :attr:`closure` for ``term_ids`` (an unknown term gives an empty row),
        as a ``csr_array`` of shape (len(term_ids), len(dag))."""
        from scipy.sparse import csr_array, diags_array

        pos = self.index(term_ids)
        if len(pos) == 0:
            return csr_array((0, len(self.ids)), dtype=bool)
        rows = self.closure[np.where(pos < 0, 0, pos)].astype(np.int8)
        return csr_array(diags_array((pos >= 0).astype(np.int8), dtype=np.int8) @ rows).astype(bool)

    def is_ancestor(self, ancestor: Iterable[str], term: Iterable[str]) -> np.ndarray:
        """Elementwise: is ``ancestor[k]`` a proper ancestor of ``term[k]``? (False for
        unknown terms.)

        Examples
        --------
        >>> go_dag().is_ancestor(["GO:0031960", "GO:0051384"], ["GO:0051384", "GO:0031960"])
        array([ True, False])
        """
        a, t = self.index(ancestor), self.index(term)
        if len(a) != len(t):
            raise InputError(f"is_ancestor: {len(a)} ancestors but {len(t)} terms; give two "
                             "lists of the same length.")
        ok = (a >= 0) & (t >= 0)
        out = np.zeros(len(a), dtype=bool)
        if ok.any():
            c = self.closure
            hit = np.asarray(c[t[ok], a[ok]]).ravel()
            out[ok] = hit.astype(bool)
        return out


@cache
def go_dag() -> GODag:
    """The bundled GO DAG (cached; see :class:`GODag`).

    Examples
    --------
    >>> dag = go_dag()
    >>> dag.table().loc["GO:0051384", "name"]
    'response to glucocorticoid'
    """
    z = _load_npz("go_dag.npz")
    info = collection_versions()["go_dag"]
    ids = _strings(z["ids"])
    alt = pd.Series(ids[z["alt_targets"]], index=_strings(z["alt_ids"]), dtype=object)
    return GODag(ids=_frozen(ids), names=_frozen(_strings(z["names"])),
                 namespace=_frozen(np.asarray(NAMESPACES, dtype=object)[z["namespace"]]),
                 parent_indptr=_frozen(z["parent_indptr"].astype(np.int64)),
                 parents=_frozen(z["parents"].astype(np.int32)),
                 relation=_frozen(z["relation"]), alt_ids=alt, release=info["release"])
