"""Count readers: matrices (TSV/CSV/TXT/XLSX, gzipped, transposed), featureCounts, HTSeq,
STAR (one file and folders of per-sample files), format detection and dispatch.

Every reader is checked against the airway counts (64,102 genes x 8 samples, read
independently with pandas here): the counts must be equal exactly (integers, tolerance 0).
"""

from __future__ import annotations

import gzip
import logging
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq import Dataset, InputError, InputWarning
from heatseq.io.counts import (
    read_count_dir,
    read_featurecounts,
    read_htseq,
    read_matrix,
    read_star,
)
from heatseq.io.detect import detect_format, read_counts
from heatseq.io.tools import choose_strand, clean_sample_name

DATA = Path(__file__).parent / "data"
AIRWAY = DATA / "airway" / "counts.tsv.gz"
FORMATS = DATA / "formats"
SPECIAL = {"__no_feature": 1021, "__ambiguous": 57, "__too_low_aQual": 3, "__not_aligned": 12,
           "__alignment_not_unique": 230}
STAR_HEAD = pd.DataFrame({"u": [2674603, 2360465, 2149742, 2026802],
                          "f": [2674603, 2360465, 34305538, 5522],
                          "r": [2674603, 2360465, 2296917, 568755]},
                         index=["N_unmapped", "N_multimapping", "N_noFeature", "N_ambiguous"])


@pytest.fixture(scope="module")
def airway() -> pd.DataFrame:
    """genes x samples, read with plain pandas (independent of heatseq's readers)."""
    return pd.read_csv(AIRWAY, sep="\t", index_col=0)


def assert_counts_equal(ds: Dataset, ref: pd.DataFrame) -> None:
    """Dataset counts (samples x genes) equal a genes x samples reference, labels and all."""
    assert isinstance(ds, Dataset)
    assert list(ds.sample_names) == [str(c) for c in ref.columns]
    assert list(ds.gene_ids) == [str(g) for g in ref.index]
    np.testing.assert_array_equal(ds.counts.to_numpy(), ref.T.to_numpy())


# ------------------------------------------------------------------ matrices
def test_airway_matrix_matches_pandas_and_source_md(airway):
    ds = read_counts(AIRWAY)
    assert ds.source.format == "matrix"
    assert_counts_equal(ds, airway)
    sizes = ds.library_sizes
    # SOURCE.md: min 15,163,415, median 20,901,052, max 30,818,215; SRR1039508 = 20,637,971
    assert (sizes.min(), int(np.median(sizes)), sizes.max()) == (15163415, 20901052, 30818215)
    assert sizes["SRR1039508"] == 20637971
    assert int((ds.counts.sum(axis=0) == 0).sum()) == 30633


def test_detection_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="heatseq"):
        read_counts(AIRWAY)
    assert f"{AIRWAY}: detected matrix" in caplog.text


@pytest.mark.parametrize("name, sep, kwargs", [
    ("counts.tsv", "\t", {}),
    ("counts.csv", ",", {}),
    ("counts.csv.gz", ",", {"compression": "gzip"}),
    ("counts.txt", ";", {}),
])
def test_matrix_delimiters_and_gzip(tmp_path, airway, name, sep, kwargs):
    p = tmp_path / name
    airway.to_csv(p, sep=sep, **kwargs)
    ds = read_counts(p)
    assert ds.source.format == "matrix"
    assert_counts_equal(ds, airway)


def test_matrix_whitespace_separated_txt(tmp_path, airway):
    sub = airway.iloc[:300]
    p = tmp_path / "counts.txt"
    # aligned columns separated by runs of spaces, as R's print or pandas' to_string write
    p.write_text("gene " + sub.to_string(index_names=False).lstrip() + "\n")
    assert_counts_equal(read_matrix(p), sub)


def test_matrix_comments_and_commented_header(tmp_path, airway):
    sub = airway.iloc[:100, :3]
    p = tmp_path / "c.tsv"
    p.write_text("# made by hand\n# second note\n" + sub.to_csv(sep="\t"))
    assert_counts_equal(read_matrix(p), sub)
    q = tmp_path / "h.tsv"
    q.write_text("# made by hand\n#" + sub.to_csv(sep="\t"))  # '#gene_id<TAB>SRR...' header
    assert_counts_equal(read_matrix(q), sub)
    r = tmp_path / "only.tsv"
    r.write_text("# nothing\n# here\n")
    with pytest.raises(InputError, match=r"only\.tsv holds only comment lines"):
        read_matrix(r)


def test_matrix_r_style_header_and_quotes(tmp_path, airway):
    sub = airway.iloc[:500]
    p = tmp_path / "r.csv"
    # R write.csv: quoted strings and an empty first header field
    lines = ['"",' + ",".join(f'"{c}"' for c in sub.columns)]
    lines += [f'"{g}",' + ",".join(map(str, row)) for g, row in zip(sub.index, sub.to_numpy(),
                                                                  strict=True)]
    p.write_text("\n".join(lines) + "\n")
    assert_counts_equal(read_matrix(p), sub)
    # R write.table default: header without a field for the row names
    q = tmp_path / "r.tsv"
    q.write_text("\t".join(sub.columns) + "\n" + sub.to_csv(sep="\t", header=False))
    assert_counts_equal(read_matrix(q), sub)


def test_matrix_xlsx(tmp_path, airway):
    sub = airway.iloc[:400]
    p = tmp_path / "counts.xlsx"
    sub.to_excel(p, sheet_name="counts")
    ds = read_counts(p)
    assert ds.source.format == "matrix"
    assert_counts_equal(ds, sub)


def test_matrix_xlsx_sheet_choice(tmp_path, airway):
    sub = airway.iloc[:50]
    p = tmp_path / "book.xlsx"
    with pd.ExcelWriter(p) as xw:
        sub.to_excel(xw, sheet_name="raw")
        (sub * 2).to_excel(xw, sheet_name="doubled")
    with pytest.warns(InputWarning, match=r"2 sheets \('raw', 'doubled'\); the first, 'raw', "
                                          r"was read\. Choose another with --sheet"):
        ds = read_counts(p)
    assert_counts_equal(ds, sub)
    assert_counts_equal(read_counts(p, sheet="doubled"), sub * 2)
    with pytest.raises(InputError, match=r"Sheet 'other' is not in .*book\.xlsx; its sheets are: "
                                         r"'raw', 'doubled'\. Check --sheet\."):
        read_counts(p, sheet="other")


def test_transposed_matrix_by_gene_ids(tmp_path, airway):
    sub = airway.iloc[:1000]
    p = tmp_path / "t.csv"
    sub.T.to_csv(p, index_label="sample")
    with pytest.warns(InputWarning, match=r"samples are in rows and genes in columns \(the "
                                          r"header holds gene IDs such as 'ENSG00000000003'\); "
                                          r"the table was transposed"):
        ds = read_counts(p)
    assert_counts_equal(ds, sub)
    assert any("transposed" in n for n in ds.source.notes)


def test_transposed_matrix_by_shape(tmp_path, rng):
    genes = [f"GENE{i}" for i in range(300)]  # not database IDs: detected by shape
    values = rng.poisson(20, size=(300, 6))
    ref = pd.DataFrame(values, index=genes, columns=[f"s{i}" for i in range(6)])
    p = tmp_path / "t.tsv"
    ref.T.to_csv(p, sep="\t")
    with pytest.warns(InputWarning, match="it has 300 columns but only 6 rows"):
        ds = read_matrix(p)
    assert_counts_equal(ds, ref)
    assert_counts_equal(read_matrix(p, orientation="samples_in_rows"), ref)


def test_non_integer_counts_are_rounded_half_to_even(tmp_path):
    p = tmp_path / "est.tsv"
    p.write_text("gene\ta\tb\ng1\t2.5\t3.5\ng2\t10.2\t0.4\ng3\t7\t1\n")
    with pytest.warns(InputWarning, match=r"4 of 6 count values were not whole numbers and were "
                                          r"rounded \(largest change 0\.5\)"):
        ds = read_matrix(p)
    assert ds.counts.loc["a"].tolist() == [2, 10, 7]
    assert ds.counts.loc["b"].tolist() == [4, 0, 1]


def test_duplicate_gene_policies(tmp_path):
    p = tmp_path / "dup.tsv"
    p.write_text("gene\ta\tb\ng1\t1\t2\ng2\t5\t5\ng1\t10\t20\n")
    with pytest.raises(InputError, match=r"1 gene ID\(s\) occur more than once: g1\. Use "
                                         r"--duplicates sum"):
        read_matrix(p)
    with pytest.warns(InputWarning, match="duplicated gene ID"):
        summed = read_counts(p, duplicates="sum")
    assert summed.counts.to_dict() == {"g1": {"a": 11, "b": 22}, "g2": {"a": 5, "b": 5}}
    with pytest.warns(InputWarning, match="first row of each kept"):
        first = read_counts(p, duplicates="first")
    assert first.counts["g1"].tolist() == [1, 2]


def test_annotation_columns_go_to_genes_table(tmp_path):
    p = tmp_path / "ann.csv"
    p.write_text("gene_id,gene_name,Length,S1,S2\nENSG00000120129,DUSP1,1200,5,7\n"
                 "ENSG00000096060,FKBP5,3000,0,9\n")
    with pytest.warns(InputWarning, match="column\\(s\\) 'gene_name', 'Length' taken as gene "
                                          "annotation"):
        ds = read_matrix(p)
    assert list(ds.sample_names) == ["S1", "S2"]
    assert ds.symbols.tolist() == ["DUSP1", "FKBP5"]
    assert ds.genes["length"].tolist() == [1200, 3000]


def test_matrix_reader_is_fast_on_64k_by_8(airway):
    start = time.perf_counter()
    read_matrix(AIRWAY)
    assert time.perf_counter() - start < 2.0  # measured ~0.2 s


# ------------------------------------------------------------ featureCounts
def _write_featurecounts(path: Path, table: pd.DataFrame, bams: list[str]) -> None:
    ann = pd.DataFrame({"Chr": "chr1;chr1", "Start": "100;500", "End": "200;900",
                        "Strand": "+;+", "Length": 502}, index=table.index)
    body = pd.concat([ann, table.set_axis(bams, axis=1)], axis=1)
    with open(path, "w") as fh:
        fh.write('# Program:featureCounts v2.0.6; Command:"featureCounts" "-a" "x.gtf"\n')
        body.to_csv(fh, sep="\t", index_label="Geneid")


def test_featurecounts_full_airway(tmp_path, airway):
    p = tmp_path / "counts.txt"
    bams = [f"/x/y/{s}.sorted.bam" for s in airway.columns]
    _write_featurecounts(p, airway, bams)
    assert detect_format(p) == "featurecounts"
    ds = read_counts(p)
    assert ds.source.format == "featurecounts"
    assert_counts_equal(ds, airway)
    assert (ds.genes["length"] == 502).all()
    assert ds.source.notes[0].startswith(f"{p}: sample names taken from the BAM file names: "
                                         "/x/y/SRR1039508.sorted.bam -> SRR1039508, ")
    assert ds.extra["featurecounts_annotation"]["chr"].iloc[0] == "chr1;chr1"


def test_featurecounts_fixture_file():
    ds = read_featurecounts(FORMATS / "featurecounts.txt")
    ref = pd.read_csv(AIRWAY, sep="\t", index_col=0).iloc[:40, :2]
    assert_counts_equal(ds, ref)
    fixture = pd.read_csv(FORMATS / "featurecounts.txt", sep="\t", comment="#", index_col=0)
    np.testing.assert_array_equal(ds.genes["length"].to_numpy(), fixture["Length"].to_numpy())


def test_featurecounts_summary_is_refused():
    with pytest.raises(InputError, match=r"featurecounts\.txt\.summary is featureCounts' summary "
                                         r".* Give the counts file \(the same name without "
                                         r"'\.summary'\)"):
        read_counts(FORMATS / "featurecounts.txt.summary")


def test_featurecounts_name_collisions_keep_more_of_the_path(tmp_path, airway):
    p = tmp_path / "fc.txt"
    _write_featurecounts(p, airway.iloc[:20, :2], ["/a/S1.bam", "/b/S1.sorted.bam"])
    ds = read_featurecounts(p)
    assert list(ds.sample_names) == ["S1.bam", "S1.sorted.bam"]


@pytest.mark.parametrize("given, expected", [
    ("/x/y/S1.sorted.bam", "S1"),
    ("S1Aligned.sortedByCoord.out.bam", "S1"),
    ("S2_ReadsPerGene.out.tab.gz", "S2"),
    ("S3.ReadsPerGene.out.tab", "S3"),
    ("sample_4.counts.txt", "sample_4"),
    ("C:\\data\\S5.markdup.bam", "S5"),
    ("ReadsPerGene.out.tab", "ReadsPerGene.out.tab"),
    ("liver.htseq.tsv", "liver"),
])
def test_clean_sample_name(given, expected):
    assert clean_sample_name(given) == expected


# --------------------------------------------------------------------- HTSeq
def _write_htseq(path: Path, column: pd.Series) -> None:
    special = pd.Series(SPECIAL)
    text = pd.concat([column, special]).to_csv(sep="\t", header=False)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def test_htseq_one_file(tmp_path, airway):
    p = tmp_path / "SRR1039508.counts.txt"
    _write_htseq(p, airway["SRR1039508"])
    assert detect_format(p) == "htseq"
    ds = read_counts(p)
    assert ds.source.format == "htseq"
    assert_counts_equal(ds, airway[["SRR1039508"]])
    assert ds.source.notes == (f"{p}: HTSeq's summary rows dropped (totals: __no_feature 1,021; "
                               "__ambiguous 57; __too_low_aQual 3; __not_aligned 12; "
                               "__alignment_not_unique 230).",)


def test_htseq_fixture_file():
    ds = read_htseq(FORMATS / "SRR1039508.htseq.counts")
    ref = pd.read_csv(AIRWAY, sep="\t", index_col=0).iloc[:40, :1]
    assert_counts_equal(ds, ref)


def test_htseq_folder(tmp_path, airway):
    for s in airway.columns[::-1]:  # written in reverse order: samples come back sorted
        _write_htseq(tmp_path / f"{s}.htseq.counts.gz", airway[s])
    (tmp_path / "README.md").write_text("# run notes\n")
    assert detect_format(tmp_path) == "htseq"
    ds = read_counts(tmp_path)
    assert ds.source.format == "htseq"
    assert_counts_equal(ds, airway)
    assert ds.source.notes[0] == f"{tmp_path}: 8 HTSeq-count files, one per sample."
    assert ds.source.notes[1] == f"{tmp_path}: 1 other file(s) skipped: README.md."
    assert "__no_feature 8,168" in ds.source.notes[2]


# ---------------------------------------------------------------------- STAR
def _star_table(counts: pd.Series, *, library: str, rng: np.random.Generator) -> pd.DataFrame:
    v = counts.to_numpy()
    if library == "reverse":
        anti = rng.binomial(v, 0.02)
        cols = {"u": v + anti, "f": anti, "r": v}
    elif library == "forward":
        anti = rng.binomial(v, 0.02)
        cols = {"u": v + anti, "f": v, "r": anti}
    else:
        half = rng.binomial(v, 0.5)
        cols = {"u": v, "f": half, "r": v - half}
    return pd.concat([STAR_HEAD, pd.DataFrame(cols, index=counts.index)])


def _write_star(path: Path, table: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", header=False)


@pytest.mark.parametrize("library, column", [("reverse", "r"), ("forward", "f")])
def test_star_stranded_library_guessed(tmp_path, airway, rng, library, column):
    table = _star_table(airway["SRR1039508"], library=library, rng=rng)
    p = tmp_path / "SRR1039508_ReadsPerGene.out.tab"
    _write_star(p, table)
    assert detect_format(p) == "star"
    with pytest.warns(InputWarning, match=rf"used STAR's {library} column because one strand "
                                          rf"column has 50\.\dx the counts of the other .* so the "
                                          rf"library is {library}-stranded\. Give --strand"):
        ds = read_counts(p)
    assert ds.source.format == "star"
    assert_counts_equal(ds, airway[["SRR1039508"]])
    assert "N_noFeature 2,149,742" in ds.source.notes[0]


def test_star_strand_given_picks_the_column(tmp_path, airway, rng):
    table = _star_table(airway["SRR1039509"], library="reverse", rng=rng)
    p = tmp_path / "SRR1039509.ReadsPerGene.out.tab"
    _write_star(p, table)
    ds = read_star(p, strand="unstranded")
    np.testing.assert_array_equal(ds.counts.loc["SRR1039509"].to_numpy(), table["u"].iloc[4:])
    ds = read_star(p, strand="forward")
    np.testing.assert_array_equal(ds.counts.loc["SRR1039509"].to_numpy(), table["f"].iloc[4:])


def test_star_unstranded_library_guessed(tmp_path, airway, rng):
    p = tmp_path / "S_ReadsPerGene.out.tab"
    _write_star(p, _star_table(airway["SRR1039512"], library="unstranded", rng=rng))
    with pytest.warns(InputWarning, match=r"used STAR's unstranded column because the two strand "
                                          r"columns are about equal"):
        ds = read_star(p)
    np.testing.assert_array_equal(ds.counts.iloc[0].to_numpy(), airway["SRR1039512"].to_numpy())


def test_choose_strand_thresholds():
    assert choose_strand(100.0, 100.0, strand="reverse", where="x") == ("reverse", None)
    with pytest.warns(InputWarning, match="differ by 2.0x .* check the library protocol"):
        assert choose_strand(200.0, 100.0, strand=None, where="x")[0] == "unstranded"
    with pytest.warns(InputWarning, match="reverse-stranded"):
        assert choose_strand(10.0, 41.0, strand=None, where="x")[0] == "reverse"
    with pytest.raises(InputError, match="strand='both' is not valid; choose one of "
                                         "unstranded, forward, reverse"):
        choose_strand(1.0, 1.0, strand="both", where="x")


def test_star_fixture_file():
    with pytest.warns(InputWarning, match="reverse-stranded"):
        ds = read_star(FORMATS / "SRR1039508_ReadsPerGene.out.tab")
    ref = pd.read_csv(AIRWAY, sep="\t", index_col=0).iloc[:40, :1]
    assert_counts_equal(ds, ref)


def test_star_per_sample_folders(tmp_path, airway, rng):
    for s in airway.columns:
        _write_star(tmp_path / s / "ReadsPerGene.out.tab",
                    _star_table(airway[s], library="reverse", rng=rng))
        (tmp_path / s / "Log.final.out").write_text("Started job on |\tNov 22 05:00:00\n")
    with pytest.warns(InputWarning, match=f"{tmp_path}: no --strand given; used STAR's reverse"):
        ds = read_counts(tmp_path)
    assert ds.source.format == "star"
    assert_counts_equal(ds, airway)
    ds = read_count_dir(tmp_path, strand="reverse")
    assert_counts_equal(ds, airway)


# --------------------------------------------------------- featureCounts dir
def test_featurecounts_per_sample_files(tmp_path, airway):
    for s in airway.columns[:3]:
        _write_featurecounts(tmp_path / f"{s}.featureCounts.txt", airway[[s]],
                             [f"/bams/{s}.Aligned.sortedByCoord.out.bam"])
        (tmp_path / f"{s}.featureCounts.txt.summary").write_text("Status\tx.bam\nAssigned\t1\n")
    ds = read_count_dir(tmp_path)
    assert ds.source.format == "featurecounts"
    assert_counts_equal(ds, airway.iloc[:, :3])
    assert (ds.genes["length"] == 502).all()


# ------------------------------------------------------ detection and dispatch
def test_detect_quantifier_outputs_by_name(tmp_path):
    tx = DATA / "tximportdata"
    assert detect_format(tx / "salmon") == "salmon"
    assert detect_format(tx / "kallisto_boot") == "kallisto"
    assert detect_format(tx / "rsem") == "rsem"
    assert detect_format(next((tx / "rsem").glob("*/*.genes.results.gz"))) == "rsem"
    assert detect_format(next((tx / "salmon").glob("*/quant.sf*"))) == "salmon"
    h5ad = tmp_path / "x.h5ad"
    h5ad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert detect_format(h5ad) == "h5ad"


def test_detect_quantifier_outputs_by_content(tmp_path):
    salmon = tmp_path / "s1.sf"
    salmon.write_text("Name\tLength\tEffectiveLength\tTPM\tNumReads\nENST1\t100\t80.5\t3.2\t4\n")
    kallisto = tmp_path / "k.tsv"
    kallisto.write_text("target_id\tlength\teff_length\test_counts\ttpm\nENST1\t100\t80\t4\t3\n")
    assert detect_format(salmon) == "salmon"
    assert detect_format(kallisto) == "kallisto"


def _fake_module(monkeypatch, name: str, calls: list[tuple[str, Path, dict]],
                 *functions: str) -> None:
    """Install a stand-in for a teammate's reader module that records how it is called."""
    module = types.ModuleType(name)
    for fname in functions:
        def reader(path, _fname=fname, **kwargs):
            calls.append((_fname, Path(path), kwargs))
            return Dataset(pd.DataFrame({"g1": [1, 2]}, index=["a", "b"]))
        setattr(module, fname, reader)
    monkeypatch.setitem(sys.modules, name, module)


def test_dispatch_to_tximport_and_anndata_readers(tmp_path, monkeypatch):
    calls: list[tuple[str, Path, dict]] = []
    _fake_module(monkeypatch, "heatseq.io.tximport", calls, "read_salmon", "read_kallisto",
                 "read_rsem")
    _fake_module(monkeypatch, "heatseq.io.anndata", calls, "read_h5ad")
    tx = DATA / "tximportdata"
    read_counts(tx / "salmon", tx2gene=tx / "tx2gene.gencode.v27.csv.gz",
                counts_from_abundance="lengthScaledTPM")
    read_counts(tx / "kallisto_boot")
    read_counts(tx / "rsem")
    one = tmp_path / "one"
    one.mkdir()
    (one / "quant.sf").write_text("Name\tLength\tEffectiveLength\tTPM\tNumReads\n")
    read_counts(one)
    h5ad = tmp_path / "x.h5ad"
    h5ad.write_bytes(b"\x89HDF\r\n\x1a\n")
    read_counts(h5ad)
    assert calls == [
        ("read_salmon", tx / "salmon", {"tx2gene": tx / "tx2gene.gencode.v27.csv.gz",
                                        "counts_from_abundance": "lengthScaledTPM"}),
        ("read_kallisto", tx / "kallisto_boot", {"tx2gene": None, "counts_from_abundance": "no"}),
        ("read_rsem", tx / "rsem", {}),
        ("read_salmon", one / "quant.sf", {"tx2gene": None, "counts_from_abundance": "no"}),
        ("read_h5ad", h5ad, {}),
    ]


def test_options_that_do_not_apply_are_reported(airway):
    with pytest.warns(InputWarning, match=r"strand ignored: it applies to other formats than "
                                          r"matrix"):
        read_counts(AIRWAY, strand="reverse")


@pytest.mark.parametrize("kwargs, message", [
    ({"format": "csv"}, "format='csv' is not valid; choose one of auto, matrix, featurecounts, "
                        "htseq, star, salmon, kallisto, rsem, h5ad."),
    ({"duplicates": "mean"}, "duplicates='mean' is not valid; choose one of error, sum, first."),
    ({"strand": "yes"}, "strand='yes' is not valid; choose one of unstranded, forward, reverse."),
    ({"counts_from_abundance": "TPM"}, "counts_from_abundance='TPM' is not valid"),
])
def test_invalid_options_list_valid_values(kwargs, message):
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        read_counts(AIRWAY, **kwargs)


def test_explicit_format_overrides_detection(tmp_path, airway):
    p = tmp_path / "fc.txt"
    _write_featurecounts(p, airway.iloc[:30, :2], ["a.bam", "b.bam"])
    with pytest.warns(InputWarning, match="'Chr', 'Start', 'End', 'Strand', 'Length' taken as "
                                          "gene annotation"):
        ds = read_counts(p, format="matrix")
    assert list(ds.sample_names) == ["a.bam", "b.bam"]
    assert ds.genes["length"].tolist() == [502] * 30
