"""heatseq.enrich.collections: the bundled collections, their build, and the GO DAG.

References: the source GMT files and GO tables of the reference gene-set folder
(``../shared/genesets``, described in its SOURCE.md), parsed here independently of
:func:`heatseq.enrich.read_gmt` and of the build script; the bundled files must equal a
fresh rebuild byte for byte.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq.enrich.collections import (
    GODag,
    available_collections,
    collection_versions,
    go_dag,
    load_collection,
)
from heatseq.enrich.genesets import GeneSets
from heatseq.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "genesets"
BUNDLED = REPO / "src" / "heatseq" / "data" / "genesets"

# (collection, organism) -> (source GMT, rule for term ID and name)
EXPECTED = {
    ("go_bp", "human"): ("go_bp_human_symbol.gmt.gz", "go"),
    ("go_mf", "human"): ("go_mf_human_symbol.gmt.gz", "go"),
    ("go_cc", "human"): ("go_cc_human_symbol.gmt.gz", "go"),
    ("go_bp", "mouse"): ("go_bp_mouse_symbol.gmt.gz", "go"),
    ("go_mf", "mouse"): ("go_mf_mouse_symbol.gmt.gz", "go"),
    ("go_cc", "mouse"): ("go_cc_mouse_symbol.gmt.gz", "go"),
    ("reactome", "human"): ("reactome_human_symbol.gmt.gz", "reactome"),
    ("wikipathways", "human"): ("wikipathways_20230410_human_symbol.gmt.gz", "wikipathways"),
    ("hallmark", "human"): ("msigdb_hallmark_v7.4_human_symbol.gmt.gz", "hallmark"),
}
OPEN_LICENCES = {"CC BY 4.0", "CC0 1.0"}


def _parse_gmt(path: Path, rule: str) -> dict[str, tuple[str, frozenset[str]]]:
    """term ID -> (term name, genes), by the collection's rule (see build_genesets.py)."""
    out: dict[str, tuple[str, frozenset[str]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            first, second, *genes = line.rstrip("\n").split("\t")
            if rule == "go":
                term, name = first, second
            elif rule == "reactome":
                term, name = second, first
            elif rule == "wikipathways":
                name, _, term, _ = first.split("%")
            else:
                term = name = first
            assert term not in out
            out[term] = (name, frozenset(g for g in genes if g))
    return out


def _as_sets(g: GeneSets) -> dict[str, tuple[str, frozenset[str]]]:
    return {str(t): (str(n), frozenset(map(str, g.members(i))))
            for i, (t, n) in enumerate(zip(g.term_ids, g.term_names, strict=True))}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("build_genesets",
                                                  REPO / "scripts" / "build_genesets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert SHARED.is_dir(), SHARED
    out = tmp_path_factory.mktemp("genesets")
    module.build(SHARED, out)
    return out


# ---------------------------------------------------------------------- build
def test_bundled_files_equal_a_fresh_rebuild(rebuilt):
    built = sorted(p.name for p in rebuilt.iterdir())
    assert built == sorted(p.name for p in BUNDLED.iterdir())
    for name in built:
        assert (rebuilt / name).read_bytes() == (BUNDLED / name).read_bytes(), name


def test_bundled_folder_is_small():
    total = sum(p.stat().st_size for p in BUNDLED.iterdir())
    assert total < 6e6, total  # measured 4.2 MB


# ---------------------------------------------------------------------- contents
@pytest.mark.parametrize(("name", "organism"), sorted(EXPECTED))
def test_collection_equals_its_source_gmt(name, organism):
    source, rule = EXPECTED[(name, organism)]
    expected = _parse_gmt(SHARED / source, rule)
    g = load_collection(name, organism=organism)
    assert _as_sets(g) == expected
    # set order is the GMT's; genes sorted and unique within a set
    assert list(g.term_ids) == list(expected)
    idx, ptr = g.indices, g.indptr
    within = np.diff(idx) > 0
    starts = ptr[1:-1][np.diff(ptr)[1:] > 0]
    assert np.all(within | np.isin(np.arange(1, len(idx)), starts))
    info = collection_versions()["collections"][f"{name}_{organism}"]
    assert (info["sets"], info["genes"], info["pairs"]) == (len(g), len(g.genes), len(idx))
    assert g.id_type == "symbol" and g.organism == organism
    assert g.release == info["release"] and g.licence == info["licence"]
    assert g.licence in OPEN_LICENCES


def test_known_sets():
    bp = load_collection("go_bp", organism="human")
    pos = {t: i for i, t in enumerate(bp.term_ids)}
    i = pos["GO:0051384"]
    assert bp.term_names[i] == "response to glucocorticoid"
    assert {"NR3C1", "KLF9", "ZFP36"} <= set(bp.members(i))
    hm = load_collection("hallmark", organism="human")
    assert hm.term_ids[0] == "HALLMARK_TNFA_SIGNALING_VIA_NFKB" and hm.sizes[0] == 200
    re_ = load_collection("reactome", organism="human")
    assert re_.term_ids[0] == "R-HSA-164843" and re_.term_names[0] == "2-LTR circle formation"
    wp = load_collection("wikipathways", organism="human")
    assert wp.term_ids[1] == "WP5143" and wp.term_names[1] == "GDNF signaling"
    mm = load_collection("go_bp", organism="mouse")
    assert "Trp53" in set(mm.genes) and "TRP53" not in set(mm.genes)


def test_go_sets_are_propagated_over_is_a_and_part_of():
    """A gene annotated to a term is in every is_a/part_of ancestor's set (true-path rule),
    for every GO BP edge between two sets of the bundled human collection."""
    bp = load_collection("go_bp", organism="human")
    dag = go_dag()
    pos = pd.Series(np.arange(len(bp)), index=bp.term_ids)
    child = np.repeat(dag.ids, np.diff(dag.parent_indptr))
    parent = dag.ids[dag.parents]
    terms = pd.Index(bp.term_ids)
    both = pd.Index(child).isin(terms) & pd.Index(parent).isin(terms)
    assert both.sum() > 30_000  # 30,480 edges
    m = bp.membership().astype(np.int32)
    c = m[pos[child[both]].to_numpy()]
    p = m[pos[parent[both]].to_numpy()]
    assert (c - c.multiply(p)).count_nonzero() == 0
    # and the root holds every annotated gene
    assert bp.sizes[pos["GO:0008150"]] == len(bp.genes)


def test_collections_are_cached_and_read_only():
    a = load_collection("hallmark", organism="human")
    assert load_collection("hallmark", organism="human") is a
    with pytest.raises(ValueError, match="read-only"):
        a.indices[0] = 1
    restricted = a.restrict(list(a.genes[:500]), min_size=1)
    assert restricted.genes.tolist() == a.genes[:500].tolist()


def test_available_collections_table():
    table = available_collections()
    assert list(table.columns) == ["collection", "organism", "sets", "genes", "release",
                                   "licence"]
    pairs = list(zip(table["collection"], table["organism"], strict=True))
    assert pairs == [("go_bp", "human"), ("go_mf", "human"), ("go_cc", "human"),
                     ("reactome", "human"), ("wikipathways", "human"), ("hallmark", "human"),
                     ("go_bp", "mouse"), ("go_mf", "mouse"), ("go_cc", "mouse")]
    assert available_collections("fly").empty
    assert table.loc[0, "sets"] == 15_706 and table.loc[0, "genes"] == 18_903
    assert table["release"].str.len().min() > 10
    versions = collection_versions()
    assert "KEGG" in versions["left_out"] and "fly" in versions["left_out"]
    assert json.loads((BUNDLED / "versions.json").read_text()) == versions
    source_md = (BUNDLED / "SOURCE.md").read_text()
    assert "CC0 1.0" in source_md and "KEGG" in source_md


# ---------------------------------------------------------------------- errors
def test_unknown_organism_is_an_error():
    with pytest.raises(InputError, match=r"organism='rat' is not known; choose one of human, "
                                         r"mouse, fly"):
        load_collection("go_bp", organism="rat")
    with pytest.raises(InputError, match="organism='Human' is not known"):
        available_collections("Human")


def test_collection_not_bundled_for_the_organism_lists_what_is():
    with pytest.raises(InputError, match=r"'reactome' is not bundled for mouse; available for "
                                         r"mouse: go_bp, go_mf, go_cc"):
        load_collection("reactome", organism="mouse")
    with pytest.raises(InputError, match=r"'kegg' is not bundled for human; available for "
                                         r"human: go_bp, go_mf, go_cc, reactome, wikipathways, "
                                         r"hallmark"):
        load_collection("kegg", organism="human")
    with pytest.raises(InputError, match="bundles no collection for fly; give a GMT file"):
        load_collection("go_bp", organism="fly")


# ---------------------------------------------------------------------- GO DAG
def _edges() -> pd.DataFrame:
    edges = pd.read_csv(SHARED / "go_edges.tsv.gz", sep="\t", dtype=str)
    return edges[edges["relationship_type"].isin(["is_a", "part_of"])]


def _bfs_ancestors(term: str, parents: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = deque(parents.get(term, []))
    while todo:
        t = todo.popleft()
        if t not in seen:
            seen.add(t)
            todo.extend(parents.get(t, []))
    return seen


def test_go_dag_ancestors_match_a_walk_over_the_source_edges(rng):
    dag = go_dag()
    assert isinstance(dag, GODag)
    terms = pd.read_csv(SHARED / "go_terms.tsv.gz", sep="\t", dtype=str)
    assert len(dag) == len(terms) == 43_558
    table = dag.table()
    ref = terms.set_index("go_id")
    assert table["name"].equals(ref.loc[table.index, "name"].rename("name"))
    assert (table["namespace"] == ref.loc[table.index, "namespace"]).all()
    edges = _edges()
    parents = edges.groupby("child")["parent"].apply(list).to_dict()
    sample = [*rng.choice(dag.ids, size=300, replace=False), "GO:0051384", "GO:0008150"]
    for term in sample:
        assert dag.ancestors(term) == _bfs_ancestors(term, parents), term
        assert set(dag.parents_of(term)) == set(parents.get(term, [])), term


def test_go_dag_known_relations():
    dag = go_dag()
    anc = dag.ancestors("GO:0051384")  # response to glucocorticoid
    assert {"GO:0031960", "GO:0008150"} <= anc  # response to corticosteroid, BP root
    assert "GO:0051384" not in anc
    assert dag.is_ancestor(["GO:0031960", "GO:0051384", "GO:0031960", "GO:9999999"],
                           ["GO:0051384", "GO:0031960", "GO:0031960", "GO:0051384"]).tolist() \
        == [True, False, False, False]
    assert dag.ancestors("GO:9999999") == frozenset()
    # secondary IDs resolve to their primary term
    assert dag.alt_ids["GO:0000004"] == "GO:0008150"
    assert dag.index(["GO:0000004"])[0] == dag.index(["GO:0008150"])[0]
    m = dag.ancestor_matrix(["GO:0051384", "GO:9999999"])
    assert m.shape == (2, len(dag))
    assert set(dag.ids[m[[0]].indices]) == anc and m[[1]].nnz == 0
    rel = dict(zip(dag.ids[dag.parents[dag.parent_indptr[dag.index(["GO:0000002"])[0]]:
                                       dag.parent_indptr[dag.index(["GO:0000002"])[0] + 1]]],
                   dag.relation[dag.parent_indptr[dag.index(["GO:0000002"])[0]]:
                                dag.parent_indptr[dag.index(["GO:0000002"])[0] + 1]],
                   strict=True))
    edges = _edges()
    src = edges[edges["child"] == "GO:0000002"]
    assert rel == {p: ("is_a", "part_of").index(r)
                   for p, r in zip(src["parent"], src["relationship_type"], strict=True)}


def test_is_ancestor_needs_equal_lengths():
    with pytest.raises(InputError, match="2 ancestors but 1 terms"):
        go_dag().is_ancestor(["GO:0031960", "GO:0008150"], ["GO:0051384"])
