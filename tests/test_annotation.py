"""heatseq.annotation: ID detection, ID <-> symbol mapping, the bundled tables and their build.

Reference numbers come from the annotation folder's SOURCE.md (coverage table) and from the
source tables themselves (OrgDb org.Hs.eg.db 3.16.0, NCBI mouse gene_info, FlyBase FB2021_05).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq import annotation as ann
from heatseq.annotation import (
    IdInfo,
    annotate,
    annotation_versions,
    detect_ids,
    guess_organism,
    map_ids,
    map_symbols,
    strip_version,
)
from heatseq.dataset import Dataset, Source
from heatseq.errors import InputError, InputWarning

REPO = Path(__file__).resolve().parents[1]
SHARED_ANNOTATION = Path(__file__).resolve().parents[2] / "shared" / "annotation"
BUNDLED = REPO / "src" / "heatseq" / "data" / "annotation"


def _gene_ids(data_dir: Path, name: str) -> pd.Index:
    return pd.read_csv(data_dir / name / "counts.tsv.gz", sep="\t", index_col=0).index


def _expressed(data_dir: Path, name: str) -> pd.Index:
    counts = pd.read_csv(data_dir / name / "counts.tsv.gz", sep="\t", index_col=0)
    return counts.index[counts.sum(axis=1).to_numpy() > 0]


# ---------------------------------------------------------------------- known IDs
def test_known_human_ids_map_with_and_without_versions():
    got = map_symbols(["ENSG00000120129", "ENSG00000096060", "ENSG00000120129.11",
                       "ENSG00000096060.14", "ENSG00000103196"])
    assert got.tolist() == ["DUSP1", "FKBP5", "DUSP1", "FKBP5", "CRISPLD2"]
    assert got.index.tolist()[2] == "ENSG00000120129.11"  # index = the IDs as given
    assert got.name == "symbol"


def test_gencode_par_y_copies_map_like_their_gene():
    got = map_symbols(["ENSG00000124334.17", "ENSG00000124334.17_PAR_Y"], organism="human")
    assert got.tolist() == ["IL9R", "IL9R"]


def test_entrez_ids_map_as_text_or_numbers():
    assert map_symbols(["7105", "1843"]).tolist() == ["TSPAN6", "DUSP1"]
    assert map_symbols(np.array([7105, 1843])).tolist() == ["TSPAN6", "DUSP1"]
    # Entrez IDs read as floats because of a missing value
    got = map_symbols([7105.0, np.nan], organism="human")
    assert got.iloc[0] == "TSPAN6" and pd.isna(got.iloc[1])


def test_mouse_ids_map():
    got = map_symbols(["ENSMUSG00000000001", "ENSMUSG00000000028", "14679"])
    assert got.tolist() == ["Gnai3", "Cdc45", "Gnai3"]
    assert map_ids(["Gnai3"], organism="mouse", to="entrez").tolist() == ["14679"]
    assert map_ids(["Gnai3"], organism="mouse", to="ensembl").tolist() == ["ENSMUSG00000000001"]


def test_fly_primary_and_secondary_flybase_ids_map():
    got = map_symbols(["FBgn0000008", "FBgn0034701", "FBgn0034702", "FBgn0000015",
                       "FBgn0002692", "FBgn0000353"])
    # FBgn0034701/2 are retired IDs merged into FBgn0000008 (a); FBgn0002692 into Abd-B;
    # FBgn0000353 was split into two current genes, so no single symbol is right.
    assert got.iloc[:5].tolist() == ["a", "a", "a", "Abd-B", "Abd-B"]
    assert pd.isna(got.iloc[5])
    ens = map_ids(["FBgn0034701", "Abd-B"], organism="fly", to="ensembl")
    assert ens.tolist() == ["FBgn0000008", "FBgn0000015"]


def test_unknown_ids_are_nan_and_index_keeps_input_order_and_duplicates():
    ids = ["ENSG00000120129", "ENSG99999999999", "ENSG00000120129", "not_a_gene", None]
    got = map_symbols(ids, organism="human")
    assert got.index.tolist() == ids
    assert got.iloc[0] == got.iloc[2] == "DUSP1"
    assert got.iloc[[1, 3, 4]].isna().all()


def test_transcript_ids_are_not_mapped():
    assert map_symbols(["ENST00000000233.9"], organism="human").isna().all()


# ---------------------------------------------------------------------- symbols
def test_human_symbols_match_ignoring_case():
    got = map_ids(["dusp1", "Fkbp5", "C1ORF112"], organism="human", to="symbol")
    assert got.tolist() == ["DUSP1", "FKBP5", "C1orf112"]
    assert map_ids(["dusp1"], organism="human", to="entrez").tolist() == ["1843"]
    assert map_ids(["FKBP5"], organism="human", to="ensembl").tolist() == ["ENSG00000096060"]


def test_mouse_symbols_exact_first_then_ignoring_case():
    got = map_ids(["Gnai3", "GNAI3", "gnai3"], organism="mouse", to="symbol")
    assert got.tolist() == ["Gnai3", "Gnai3", "Gnai3"]


def test_fly_symbols_are_case_sensitive_first():
    got = map_ids(["D", "d", "Dl", "dl", "DL", "abd-b"], organism="fly", to="symbol")
    # D (Dichaete) and d (dachs) are different genes; "DL" could be Dl or dl -> unmapped
    assert got.iloc[:4].tolist() == ["D", "d", "Dl", "dl"]
    assert pd.isna(got.iloc[4])
    assert got.iloc[5] == "Abd-B"
    ens = map_ids(["D", "d"], organism="fly", to="ensembl").tolist()
    assert ens == ["FBgn0000411", "FBgn0262029"]


def test_entrez_and_ensembl_targets():
    ids = ["ENSG00000120129.11", "7105", "TSPAN6"]
    assert map_ids(ids, organism="human", to="entrez").tolist() == ["1843", "7105", "7105"]
    assert map_ids(ids, organism="human", to="ensembl").tolist() == [
        "ENSG00000120129", "ENSG00000000003", "ENSG00000000003"]
    # an Entrez gene with no Ensembl ID of its own collapsed row still finds its Ensembl gene
    assert map_ids(["93655"], organism="human", to="ensembl").tolist() == ["ENSG00000004866"]
    # FlyBase has no Entrez IDs
    assert map_ids(["FBgn0000008"], organism="fly", to="entrez").isna().all()


def test_one_to_many_collapse_rules():
    got = map_ids(["ENSG00000205571", "ENSG00000099977", "ENSG00000088298"],
                  organism="human", to="symbol").tolist()
    # SMN1/SMN2 share this Ensembl ID in the OrgDb; Ensembl's own name (SMN2) wins.
    # DDT (1652) and DDTL: Ensembl name DDT. EDEM2 beats the MMP24-AS1-EDEM2 readthrough.
    assert got == ["SMN2", "DDT", "EDEM2"]


# ---------------------------------------------------------------------- coverage
def test_airway_coverage_matches_source_table(data_dir):
    # SOURCE.md: homo_sapiens 35329/64102 (55.1%); gtf_names 54533/64102 (85.1%);
    # expressed genes with gtf_names 31322/33469 (93.6%). Tolerance: 0.5 percentage points.
    ids = _gene_ids(data_dir, "airway")
    symbols = map_symbols(ids)
    entrez = map_ids(ids, to="entrez")
    assert len(ids) == 64102
    assert symbols.notna().mean() == pytest.approx(0.851, abs=0.005)
    assert entrez.notna().mean() == pytest.approx(0.551, abs=0.005)  # Entrez = OrgDb rows
    assert int(entrez.notna().sum()) == 35329
    expressed = map_symbols(_expressed(data_dir, "airway"), organism="human")
    assert expressed.notna().mean() == pytest.approx(0.936, abs=0.005)


def test_bottomly_coverage_matches_source_table(data_dir):
    # SOURCE.md: mus_musculus 22353/36536 (61.2%); expressed 12525/13932 (89.9%)
    symbols = map_symbols(_gene_ids(data_dir, "bottomly"))
    assert symbols.notna().mean() == pytest.approx(0.612, abs=0.005)
    expressed = map_symbols(_expressed(data_dir, "bottomly"), organism="mouse")
    assert expressed.notna().mean() == pytest.approx(0.899, abs=0.005)


# ---------------------------------------------------------------------- detection
def test_detect_ids_on_reference_datasets(data_dir):
    airway = detect_ids(_gene_ids(data_dir, "airway"))
    assert (airway.id_type, airway.organism, airway.versioned) == ("ensembl_gene", "human", False)
    assert airway.fraction_matching > 0.99  # the rest are GRCh37 LRG_ IDs
    bottomly = detect_ids(_gene_ids(data_dir, "bottomly"))
    assert bottomly == IdInfo("ensembl_gene", "mouse", False, 1.0)


def test_detect_ids_on_gencode_versioned_tximport_ids(data_dir):
    tx = data_dir / "tximportdata"
    genes = pd.read_csv(tx / "reference_tximport_salmon_counts.tsv.gz", sep="\t", index_col=0)
    info = detect_ids(genes.index)
    assert info == IdInfo("ensembl_gene", "human", True, 1.0)
    assert genes.index.str.endswith("_PAR_Y").sum() > 0
    assert map_symbols(genes.index).notna().mean() > 0.95
    kallisto = pd.read_csv(tx / "reference_tximport_kallisto_counts.tsv.gz", sep="\t", index_col=0)
    assert detect_ids(kallisto.index) == IdInfo("ensembl_gene", "human", False, 1.0)
    tx2gene = pd.read_csv(tx / "tx2gene.gencode.v27.csv.gz")
    assert detect_ids(tx2gene["TXNAME"]) == IdInfo("ensembl_transcript", "human", True, 1.0)


@pytest.mark.parametrize(("ids", "expected"), [
    (["TSPAN6", "DUSP1", "FKBP5", "novel_thing"], ("symbol", "human")),
    (["Gnai3", "Cdc45", "Actb"], ("symbol", "mouse")),
    (["Abd-B", "abd-A", "dl"], ("symbol", "fly")),
    (["7105", "1843", "2"], ("entrez", "human")),
    (["14679", "12544"], ("entrez", "mouse")),
    (["FBgn0000008", "FBgn0000015"], ("flybase", "fly")),
    (["ENSRNOG00000000001", "ENSRNOG00000000007"], ("ensembl_gene", None)),
    (["sample_1", "sample_2", "probe_x"], ("unknown", None)),
    ([], ("unknown", None)),
])
def test_detect_ids_types_and_organisms(ids, expected):
    info = detect_ids(ids)
    assert (info.id_type, info.organism) == expected
    assert guess_organism(ids) == expected[1]
    assert 0.0 <= info.fraction_matching <= 1.0


def test_detect_ids_fraction_counts_non_matching_ids():
    info = detect_ids(["ENSG00000120129", "ENSG00000096060", "ENSG00000103196", "__no_feature"])
    assert info.fraction_matching == pytest.approx(0.75)


# ---------------------------------------------------------------------- strip_version
def test_strip_version():
    assert strip_version("ENSG00000000003.14") == "ENSG00000000003"
    assert strip_version("ENSG00000000003") == "ENSG00000000003"
    assert strip_version("ENSG00000124334.17_PAR_Y") == "ENSG00000124334_PAR_Y"
    assert strip_version("ENSMUST00000000001.4") == "ENSMUST00000000001"
    got = strip_version(["ENSG00000000003.14", "RP11-34P13.3", "Nkx2.5"])
    assert isinstance(got, pd.Index)
    assert got.tolist() == ["ENSG00000000003", "RP11-34P13.3", "Nkx2.5"]
    s = pd.Series(["ENSG00000000003.14"], index=["a"])
    out = strip_version(s)
    assert isinstance(out, pd.Series) and out.index.tolist() == ["a"]
    assert out.tolist() == ["ENSG00000000003"]


def test_strip_version_keeps_gencode_ids_unique(data_dir):
    genes = pd.read_csv(data_dir / "tximportdata" / "reference_tximport_salmon_counts.tsv.gz",
                        sep="\t", index_col=0).index
    stripped = strip_version(genes)
    assert stripped.is_unique
    assert not stripped.str.contains(r"\.\d+$").any()


# ---------------------------------------------------------------------- annotate
def _small(ids, **kw) -> Dataset:
    counts = pd.DataFrame([[1] * len(ids), [2] * len(ids)], index=["s1", "s2"], columns=ids)
    return Dataset(counts, **kw)


def test_annotate_adds_symbols_and_keeps_columns():
    ids = ["ENSG00000120129.11", "ENSG00000096060", "ENSG99999999999"]
    genes = pd.DataFrame({"length": [10, 20, 30]}, index=ids)
    ds = _small(ids, genes=genes, source=Source(path="x.tsv", format="matrix"))
    out = annotate(ds)
    assert out is not ds and "symbol" not in ds.genes.columns
    assert out.genes.columns.tolist() == ["length", "symbol"]
    assert out.genes["symbol"].iloc[:2].tolist() == ["DUSP1", "FKBP5"]
    assert pd.isna(out.genes["symbol"].iloc[2])
    assert out.genes["length"].tolist() == [10, 20, 30]
    assert out.source.notes[-1] == ("Gene symbols from heatseq's bundled human annotation: "
                                    "2 of 3 gene IDs mapped.")
    pd.testing.assert_frame_equal(out.counts, ds.counts)


def test_annotate_keeps_existing_symbols_and_fills_missing():
    ids = ["ENSG00000120129", "ENSG00000096060"]
    genes = pd.DataFrame({"symbol": ["MyName", np.nan]}, index=ids)
    out = annotate(_small(ids, genes=genes), organism="human")
    assert out.genes["symbol"].tolist() == ["MyName", "FKBP5"]


def test_annotate_unknown_organism_warns_and_leaves_symbols_empty():
    ds = _small(["geneA", "geneB"])
    with pytest.warns(InputWarning, match=r"No gene symbols added: Could not tell the organism"):
        out = annotate(ds)
    assert out.genes["symbol"].isna().all()



def test_lookup_and_attach_halves_make_annotate():
    ids = ["ENSG00000120129", "ENSG00000096060", "ENSG99999999999"]
    genes = pd.DataFrame({"symbol": ["MyName", np.nan, ""]}, index=ids)
    ds = _small(ids, genes=genes, source=Source(path="x.tsv", format="matrix"))
    symbols, note = ann.gene_symbols(ds)
    assert symbols.tolist()[:2] == ["DUSP1", "FKBP5"] and pd.isna(symbols.iloc[2])
    assert note.endswith("2 of 3 gene IDs mapped.")
    halves, whole = ann.with_symbols(ds, symbols, note=note), annotate(ds)
    pd.testing.assert_frame_equal(halves.genes, whole.genes)
    assert halves.genes["symbol"].tolist()[:2] == ["MyName", "FKBP5"]
    assert halves.source.notes == whole.source.notes
    # symbols in another order are aligned on gene ID
    shuffled = ann.with_symbols(ds, symbols.iloc[::-1], note=note)
    pd.testing.assert_frame_equal(shuffled.genes, whole.genes)


# ---------------------------------------------------------------------- errors
def test_unknown_organism_is_an_error_listing_valid_ones():
    msg = r"organism='rat' is not valid; choose one of auto, human, mouse, fly\."
    with pytest.raises(InputError, match=msg):
        map_symbols(["ENSG00000120129"], organism="rat")
    with pytest.raises(InputError, match=msg):
        annotate(_small(["ENSG00000120129"]), organism="rat")


def test_unknown_target_is_an_error():
    with pytest.raises(InputError, match=r"to='gene' is not valid; choose one of symbol, "
                                         r"entrez, ensembl\."):
        map_ids(["DUSP1"], organism="human", to="gene")


def test_undetectable_organism_is_an_error():
    with pytest.raises(InputError, match=r"Could not tell the organism of these gene IDs "
                                         r"\(they look like: unknown; e\.g\. probe_1, probe_2\)\. "
                                         r"Pass organism= one of human, mouse, fly\."):
        map_symbols(["probe_1", "probe_2"])


def test_non_list_ids_are_an_error():
    with pytest.raises(InputError, match=r"Gene IDs must be a list.*got int"):
        map_symbols(5)
    with pytest.raises(InputError, match=r"annotate\(\) needs a heatseq Dataset; got list"):
        annotate(["ENSG00000120129"])


# ---------------------------------------------------------------------- bundled tables
def test_annotation_versions_describe_every_table():
    v = annotation_versions()
    assert sorted(v["organisms"]) == ["fly", "human", "mouse"]
    human = v["organisms"]["human"]
    assert human["tables"]["human.tsv.gz"]["rows"] == 67229
    assert human["tables"]["human.tsv.gz"]["columns"] == ["gene_id", "symbol", "entrez_id"]
    assert any("2022-Sep12" in s["date"] for s in human["sources"])
    assert all(s["licence"] for org in v["organisms"].values() for s in org["sources"])
    assert v["organisms"]["fly"]["tables"]["fly.tsv.gz"]["rows"] == 17873
    v["organisms"].clear()  # a copy: the next call is unaffected
    assert annotation_versions()["organisms"]


def test_bundled_row_counts_match_versions_and_ids_are_unique():
    v = annotation_versions()
    for info in v["organisms"].values():
        for name, t in info["tables"].items():
            table = pd.read_csv(BUNDLED / name, sep="\t", dtype=str, keep_default_na=False)
            assert len(table) == t["rows"], name
            assert table.iloc[:, 0].is_unique, name
            assert (table["symbol"] != "").all(), name


def test_bundled_files_are_small():
    total = sum(p.stat().st_size for p in BUNDLED.iterdir())
    assert total < 3_000_000


def test_tables_load_fast():
    loaders = [(ann._gene_table, "human"), (ann._entrez_table, "human"),
               (ann._symbol_table, "human"), (ann._gene_table, "mouse"),
               (ann._entrez_table, "mouse"), (ann._gene_table, "fly")]
    for fn, _ in loaders:
        fn.cache_clear()
    ann._fly_secondary.cache_clear()
    for fn, org in [*loaders, (lambda _: ann._fly_secondary(), "fly")]:
        start = time.perf_counter()
        fn(org)
        assert time.perf_counter() - start < 0.5, (fn, org)


def test_bundled_tables_equal_a_fresh_rebuild(tmp_path):
    spec = importlib.util.spec_from_file_location("build_annotation",
                                                  REPO / "scripts" / "build_annotation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert SHARED_ANNOTATION.is_dir(), SHARED_ANNOTATION
    module.build(SHARED_ANNOTATION, tmp_path)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in BUNDLED.iterdir())
    for name in built:
        assert (tmp_path / name).read_bytes() == (BUNDLED / name).read_bytes(), name


def test_lrg_records_are_not_looked_up_as_symbols():
    """Ensembl GTFs carry Locus Reference Genomic records (LRG_<n>) as gene IDs: they map
    to nothing, and never to the gene whose symbol they resemble (LRG1)."""
    from heatseq.annotation import map_symbols

    got = map_symbols(["LRG_1", "LRG_425", "LRG1", "ENSG00000120129"], organism="human")
    assert got.isna().tolist() == [True, True, False, False]
    assert got.iloc[2] == "LRG1" and got.iloc[3] == "DUSP1"
