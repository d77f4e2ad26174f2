"""heatseq.enrich.ids: gene IDs of an enrichment input mapped to the collections' symbols.

Reference: org.Hs.eg.db 3.16.0's Ensembl -> symbol pairs (``../shared/annotation``, the
source of the bundled annotation) for airway's genes that have exactly one symbol there;
hand-checked IDs (NCBI Gene: 7105 TSPAN6, 1843 DUSP1; MGI: Trp53, Gnai3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq.enrich.collections import load_collection
from heatseq.enrich.ids import IdMapping, map_to_symbols
from heatseq.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SHARED_ANNOTATION = REPO.parent / "shared" / "annotation"


@pytest.fixture(scope="module")
def airway_ids() -> pd.Index:
    counts = pd.read_csv(REPO / "tests" / "data" / "airway" / "counts.tsv.gz", sep="\t",
                         index_col=0, usecols=[0])
    return counts.index


@pytest.fixture(scope="module")
def orgdb_unique() -> pd.Series:
    """Ensembl ID -> symbol for genes with exactly one symbol in org.Hs.eg.db."""
    pairs = pd.read_csv(SHARED_ANNOTATION / "homo_sapiens.tsv.gz", sep="\t", dtype=str,
                        usecols=["gene_id", "symbol"]).drop_duplicates()
    one = pairs[~pairs["gene_id"].duplicated(keep=False)]
    return one.set_index("gene_id")["symbol"]


def test_airway_ensembl_ids_map_like_orgdb(airway_ids, orgdb_unique):
    m = map_to_symbols(airway_ids, organism="human")
    assert isinstance(m, IdMapping)
    assert m.id_type == "ensembl_gene" and m.organism == "human"
    assert m.symbols.index.equals(pd.Index(airway_ids.astype(str), dtype=object))
    common = orgdb_unique.index.intersection(airway_ids)
    assert len(common) > 25_000
    assert (m.symbols[common] == orgdb_unique[common]).all()
    assert m.n_mapped == int(m.symbols.notna().sum())
    assert m.n_mapped / len(airway_ids) > 0.55  # airway has 63,677 Ensembl IDs, many non-coding
    assert len(m.unmapped) == len(airway_ids) - m.n_mapped
    assert m.unmapped[:3] == tuple(m.symbols.index[m.symbols.isna()][:3])
    assert m.notes[0].startswith(f"gene list: {m.n_mapped:,} of {len(airway_ids):,} IDs "
                                 "(Ensembl gene IDs detected) mapped to human gene symbols; ")
    assert m.symbols["ENSG00000096060"] == "FKBP5"
    assert m.symbols["ENSG00000120129"] == "DUSP1"


def test_versioned_ensembl_ids_map_the_same(airway_ids, rng):
    plain = map_to_symbols(airway_ids, organism="human")
    versions = rng.integers(1, 20, size=len(airway_ids)).astype(str)
    versioned = airway_ids.astype(str) + "." + versions
    m = map_to_symbols(versioned, organism="human", source="counts.tsv")
    assert m.symbols.index.tolist() == list(versioned)
    assert m.symbols.reset_index(drop=True).equals(plain.symbols.reset_index(drop=True))
    assert m.n_mapped == plain.n_mapped
    assert "counts.tsv: Ensembl version suffixes (.N) were ignored for mapping." in m.notes


def test_entrez_ids_as_text_numbers_or_floats():
    for ids in (["7105", "1843"], [7105, 1843], np.array([7105.0, 1843.0])):
        m = map_to_symbols(ids, organism="human")
        assert m.symbols.tolist() == ["TSPAN6", "DUSP1"], ids
        assert m.symbols.index.tolist() == ["7105", "1843"]
        assert m.id_type == "entrez"
    m = map_to_symbols([7105.0, np.nan, 1843.0], organism="human")  # missing value dropped
    assert m.symbols.tolist() == ["TSPAN6", "DUSP1"]


def test_human_symbols_in_any_case_map_and_the_note_says_so():
    hallmark = load_collection("hallmark", organism="human")
    genes = list(hallmark.genes[:400])
    given = [g.lower() for g in genes[:200]] + genes[200:]
    m = map_to_symbols(given, organism="human")
    assert m.id_type == "symbol"
    ok = m.symbols.notna()
    assert ok.mean() > 0.99
    assert m.symbols[ok].tolist() == [g for g, k in zip(genes, ok, strict=True) if k]
    lowered = sum(1 for a, b in zip(given, genes, strict=True) if a != b)
    recased = [n for n in m.notes if "given in another case" in n]
    assert len(recased) == 1
    assert recased[0].startswith(f"gene list: {lowered - int((~ok[:200]).sum()):,} symbols "
                                 "given in another case were matched to the official human "
                                 f"spelling ({given[0]} -> {genes[0]}")
    assert not any("another case" in n for n in map_to_symbols(genes, organism="human").notes)


def test_mouse_symbols_and_ids():
    m = map_to_symbols(["Trp53", "TRP53", "gnai3", "ENSMUSG00000000028", "14679"],
                       organism="mouse")
    assert m.symbols.tolist() == ["Trp53", "Trp53", "Gnai3", "Cdc45", "Gnai3"]
    assert any("2 symbols given in another case" in n for n in m.notes)
    assert any("share 2 symbols" in n for n in m.notes)
    bp = load_collection("go_bp", organism="mouse")
    mapped = map_to_symbols([g.upper() for g in bp.genes[:1000]], organism="mouse")
    ok = mapped.symbols.notna().to_numpy()
    assert ok.mean() > 0.95
    # every mapped symbol is the collection's own spelling
    assert (mapped.symbols.to_numpy()[ok] == bp.genes[:1000][ok]).mean() > 0.99


def test_fly_ids_map_and_case_matters():
    m = map_to_symbols(["FBgn0000008", "FBgn0034701", "Abd-B"], organism="fly")
    assert m.symbols.tolist() == ["a", "a", "Abd-B"]


def test_duplicates_and_blanks_are_dropped():
    m = map_to_symbols(["DUSP1", " DUSP1 ", "", None, "FKBP5", "DUSP1"], organism="human")
    assert m.symbols.index.tolist() == ["DUSP1", "FKBP5"]
    assert m.unmapped == ()


# ---------------------------------------------------------------------- errors
def test_unknown_organism():
    with pytest.raises(InputError, match=r"organism='rat' is not known; choose one of human, "
                                         r"mouse, fly\."):
        map_to_symbols(["DUSP1"], organism="rat")


def test_no_mappable_ids_names_the_list_and_what_was_detected():
    with pytest.raises(InputError, match=r"genes\.txt: none of the 2 gene IDs could be mapped "
                                         r"to human gene symbols \(e\.g\. foo, bar\)\. They look "
                                         r"like unrecognised IDs\."):
        map_to_symbols(["foo", "bar"], organism="human", source="genes.txt")
    with pytest.raises(InputError, match=r"They look like mouse Ensembl gene IDs, not human: "
                                         r"check --organism"):
        map_to_symbols(["ENSMUSG00000000001", "ENSMUSG00000000028"], organism="human")


def test_empty_list_and_wrong_type():
    with pytest.raises(InputError, match="gene list: no gene IDs given"):
        map_to_symbols(["", None], organism="human")
    with pytest.raises(InputError, match="gene IDs must be a list, array, Index or Series; "
                                         "got str"):
        map_to_symbols("DUSP1", organism="human")
