"""tximport-style import of salmon / kallisto / RSEM output against R tximport 1.26.1.

Reference matrices (tests/data/tximportdata/reference_tximport_*.tsv.gz) were made by R
tximport 1.26.1 on the same GEUVADIS files; they are compared with a relative tolerance of
1e-6 (measured agreement: about 1e-14). scaledTPM is checked against the formula written
out in pandas; the length rules (geometric mean over samples, plain mean when a gene has
no abundance) against hand computation on a small synthetic example.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq import Dataset, InputError, InputWarning
from heatseq.io.quant_files import find_quant_files, read_quant_file, read_tx2gene
from heatseq.io.tximport import (
    TximportResult,
    read_kallisto,
    read_rsem,
    read_salmon,
    summarize_to_gene,
    tximport,
)

DATA = Path(__file__).parent / "data" / "tximportdata"
RUNS = pd.read_csv(DATA / "samples.txt", sep=" ")["run"].tolist()
TX2GENE_V27 = DATA / "tx2gene.gencode.v27.csv.gz"
TX2GENE_V87 = DATA / "tx2gene.ensembl.v87.derived.csv.gz"
RTOL = 1e-6  # relative, per value, against R tximport 1.26.1
KALLISTO_DROPPED = 15_557  # kallisto targets (Ensembl 87) absent from the derived tx2gene


def _reference(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"reference_tximport_{name}.tsv.gz", sep="\t", index_col=0)


def assert_matches_reference(mine: pd.DataFrame, ref: pd.DataFrame, *, rtol: float = RTOL) -> None:
    """Same genes in the same order, same columns, same NaN mask, values within rtol."""
    assert list(mine.index) == list(ref.index)
    assert list(mine.columns) == list(ref.columns)
    a, b = mine.to_numpy(dtype=float), ref.to_numpy(dtype=float)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def salmon_tx() -> TximportResult:
    files = {run: DATA / "salmon" / run / "quant.sf.gz" for run in RUNS}
    with pytest.warns(InputWarning, match="No tx2gene was given"):
        return tximport(files, type="salmon")


@pytest.fixture(scope="module")
def salmon_gene(salmon_tx: TximportResult) -> TximportResult:
    return summarize_to_gene(salmon_tx, tx2gene=TX2GENE_V27)


# ---------------------------------------------------------------------------- salmon
def test_salmon_transcript_level_keeps_file_values(salmon_tx: TximportResult) -> None:
    assert salmon_tx.level == "transcript"
    assert salmon_tx.counts.shape == (200_401, 6)
    assert list(salmon_tx.counts.columns) == RUNS
    raw = pd.read_csv(DATA / "salmon" / RUNS[0] / "quant.sf.gz", sep="\t", index_col=0)
    np.testing.assert_array_equal(salmon_tx.counts[RUNS[0]].to_numpy(), raw["NumReads"].to_numpy())
    np.testing.assert_array_equal(salmon_tx.length[RUNS[0]].to_numpy(),
                                  raw["EffectiveLength"].to_numpy())
    assert any("No tx2gene" in n for n in salmon_tx.notes)


@pytest.mark.parametrize("what", ["abundance", "counts", "length"])
def test_salmon_gene_level_matches_r(salmon_gene: TximportResult, what: str) -> None:
    assert_matches_reference(getattr(salmon_gene, what), _reference(f"salmon_{what}"))


def test_salmon_gene_level_bookkeeping(salmon_gene: TximportResult) -> None:
    assert salmon_gene.level == "gene"
    assert salmon_gene.counts.shape == (58_288, 6)
    assert salmon_gene.n_transcripts == 200_401
    assert salmon_gene.n_dropped == 0
    assert salmon_gene.dropped_fraction_counts == 0.0
    sums = salmon_gene.counts.sum().round().astype(int).tolist()
    assert sums == [22_830_167, 23_721_985, 34_481_913, 23_854_225, 28_694_460, 22_602_904]


def test_salmon_length_scaled_tpm_matches_r(salmon_tx: TximportResult) -> None:
    res = summarize_to_gene(salmon_tx, tx2gene=TX2GENE_V27,
                            counts_from_abundance="lengthScaledTPM")
    assert res.counts_from_abundance == "lengthScaledTPM"
    assert_matches_reference(res.counts, _reference("salmon_counts_lengthScaledTPM"))
    assert_matches_reference(res.length, _reference("salmon_length"))


def test_salmon_scaled_tpm_matches_formula(salmon_tx: TximportResult) -> None:
    res = summarize_to_gene(salmon_tx, tx2gene=TX2GENE_V27, counts_from_abundance="scaledTPM")
    # scaledTPM = gene TPM rescaled to each sample's total estimated count (R's outputs).
    tpm, counts = _reference("salmon_abundance"), _reference("salmon_counts")
    expected = tpm * (counts.sum(axis=0) / tpm.sum(axis=0))
    assert_matches_reference(res.counts, expected)
    np.testing.assert_allclose(res.counts.sum().to_numpy(), counts.sum().to_numpy(), rtol=1e-12)


def test_read_salmon_folder_gives_rounded_dataset() -> None:
    with pytest.warns(InputWarning, match="were not whole numbers and were rounded"):
        ds = read_salmon(DATA / "salmon", tx2gene=TX2GENE_V27)
    assert isinstance(ds, Dataset)
    assert list(ds.sample_names) == sorted(RUNS)
    assert ds.source is not None and ds.source.format == "salmon"
    ref_counts = _reference("salmon_counts")
    assert_matches_reference(ds.extra["counts_estimated"].T[RUNS], ref_counts)
    assert_matches_reference(ds.extra["abundance"].T[RUNS], _reference("salmon_abundance"))
    assert ds.lengths is not None
    assert_matches_reference(ds.lengths.T[RUNS], _reference("salmon_length"))
    # rounded half to even (R's round(), as DESeqDataSetFromTximport) from the unrounded sums
    ours, ref = ds.counts.T[RUNS].to_numpy(), ref_counts.to_numpy()
    np.testing.assert_array_equal(ours, np.round(ds.extra["counts_estimated"].T[RUNS]))
    # equal to R's rounded counts except one value that R's 15-digit file shows as 771.5 but
    # whose double sum (in R too) is 771.4999999999999 (ENSG00000120837.7 in ERR188356)
    diff = np.argwhere(ours != np.round(ref))
    assert diff.tolist() == [[5106, RUNS.index("ERR188356")]]
    assert ref_counts.index[5106] == "ENSG00000120837.7" and ours[5106, 5] == 771


# ---------------------------------------------------------------------------- kallisto
def test_read_kallisto_incomplete_tx2gene_matches_r() -> None:
    with pytest.warns(InputWarning) as record:
        ds = read_kallisto(DATA / "kallisto_boot", tx2gene=TX2GENE_V87)
    messages = [str(w.message) for w in record]
    dropped = [m for m in messages if "are not in" in m]
    assert len(dropped) == 1
    assert f"{KALLISTO_DROPPED:,} of 178,136 kallisto transcripts (8.7%)" in dropped[0]
    assert dropped[0] in ds.source.notes
    assert_matches_reference(ds.extra["counts_estimated"].T[RUNS], _reference("kallisto_counts"))
    assert ds.n_genes == 35_001
    # the number dropped, counted independently from one file
    raw = pd.read_csv(DATA / "kallisto_boot" / RUNS[0] / "abundance.tsv.gz", sep="\t")
    t2g = pd.read_csv(TX2GENE_V87)
    assert int((~raw["target_id"].isin(t2g["TXNAME"])).sum()) == KALLISTO_DROPPED


# ---------------------------------------------------------------------------- RSEM
def test_read_rsem_genes_results() -> None:
    with pytest.warns(InputWarning) as record:
        ds = read_rsem(DATA / "rsem")
    messages = " ".join(str(w.message) for w in record)
    assert "rounded" in messages and "effective lengths below 1" in messages
    assert list(ds.sample_names) == sorted(RUNS)
    assert ds.lengths is not None
    for run in RUNS:
        raw = pd.read_csv(DATA / "rsem" / run / f"{run}.genes.results.gz", sep="\t",
                          index_col=0)
        assert list(ds.gene_ids) == list(raw.index)
        np.testing.assert_array_equal(ds.counts.loc[run].to_numpy(),
                                      np.round(raw["expected_count"].to_numpy()))
        np.testing.assert_array_equal(ds.extra["counts_estimated"].loc[run].to_numpy(),
                                      raw["expected_count"].to_numpy())
        np.testing.assert_array_equal(ds.extra["abundance"].loc[run].to_numpy(),
                                      raw["TPM"].to_numpy())
        np.testing.assert_array_equal(ds.lengths.loc[run].to_numpy(),
                                      np.maximum(raw["effective_length"].to_numpy(), 1.0))


def test_tximport_rsem_gene_level_keeps_r_lengths() -> None:
    run = RUNS[0]
    path = DATA / "rsem" / run / f"{run}.genes.results.gz"
    res = tximport({run: path}, type="rsem")
    raw = pd.read_csv(path, sep="\t", index_col=0)
    assert res.level == "gene" and res.n_transcripts == len(raw)
    np.testing.assert_array_equal(res.length[run].to_numpy(), raw["effective_length"].to_numpy())
    with pytest.raises(InputError, match=r"needs transcript-level estimates; RSEM genes\.results"):
        tximport({run: path}, type="rsem", counts_from_abundance="scaledTPM")


def test_tximport_rsem_isoforms_use_their_gene_column(tmp_path: Path) -> None:
    iso = pd.DataFrame({"transcript_id": ["t1", "t2", "t3"], "gene_id": ["g2", "g2", "g1"],
                        "length": [100, 30, 500], "effective_length": [80.0, 0.0, 400.0],
                        "expected_count": [8.0, 0.0, 4.0], "TPM": [10.0, 0.0, 1.0],
                        "FPKM": [9.0, 0.0, 0.9], "IsoPct": [100.0, 0.0, 100.0]})
    path = tmp_path / "s1.isoforms.results"
    iso.to_csv(path, sep="\t", index=False)
    with pytest.warns(InputWarning, match="below 1 were set to 1"):
        res = tximport({"s1": path}, type="rsem")
    assert res.level == "gene" and list(res.counts.index) == ["g1", "g2"]
    np.testing.assert_allclose(res.counts["s1"].to_numpy(), [4.0, 8.0])
    np.testing.assert_allclose(res.length["s1"].to_numpy(), [400.0, 80.0])
    assert any("below 1 were set to 1" in n for n in res.notes)
    assert any("gene_id column" in n for n in res.notes)
    with pytest.raises(InputError, match="RSEM isoform-level file; read_rsem reads"):
        read_rsem(path)


# ---------------------------------------------------------------------------- synthetic
SYN_IDS = ["a1", "a2", "b1", "b2", "c1"]
SYN_GENES = ["gA", "gA", "gB", "gB", "gC"]
SYN_LEN = np.array([[100, 110, 120], [200, 210, 220], [50, 60, 70], [150, 150, 150],
                    [300, 300, 300]], dtype=float)
SYN_TPM = np.array([[10, 0, 5], [30, 0, 5], [0, 0, 0], [0, 0, 0], [60, 100, 90]], dtype=float)
SYN_COUNTS = np.array([[5, 0, 3], [10, 0, 2], [0, 0, 0], [0, 0, 0], [20, 40, 30.5]])


def _write_salmon(folder: Path, ids: list[str], j: int, *, drop: str | None = None,
                  gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({"Name": ids, "Length": SYN_LEN[: len(ids), j] + 50,
                          "EffectiveLength": SYN_LEN[: len(ids), j],
                          "TPM": SYN_TPM[: len(ids), j], "NumReads": SYN_COUNTS[: len(ids), j]})
    if drop:
        table = table.drop(columns=drop)
    path = folder / ("quant.sf.gz" if gz else "quant.sf")
    text = table.to_csv(sep="\t", index=False)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def syn_salmon(tmp_path: Path) -> Path:
    for j, s in enumerate(["s1", "s2", "s3"]):
        _write_salmon(tmp_path / "quant" / s, SYN_IDS, j, gz=(j == 1))
    return tmp_path / "quant"


@pytest.fixture
def syn_tx2gene() -> pd.DataFrame:
    return pd.DataFrame({"TXNAME": SYN_IDS, "GENEID": SYN_GENES})


def test_length_rules_match_hand_computation(syn_salmon: Path, syn_tx2gene: pd.DataFrame) -> None:
    files = find_quant_files(syn_salmon, type="salmon").files
    res = tximport(files, type="salmon", tx2gene=syn_tx2gene)
    assert list(res.length.index) == ["gA", "gB", "gC"]
    gA_s1 = (10 * 100 + 30 * 200) / 40
    gA_s3 = (5 * 120 + 5 * 220) / 10
    expected = np.array([
        [gA_s1, np.sqrt(gA_s1 * gA_s3), gA_s3],  # no abundance in s2: geometric mean
        [105.0] * 3,                              # none anywhere: mean of (60, 150)
        [300.0] * 3,
    ])
    np.testing.assert_allclose(res.length.to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(res.counts.to_numpy(), [[15, 0, 5], [0, 0, 0], [20, 40, 30.5]])
    lst = tximport(files, type="salmon", tx2gene=syn_tx2gene,
                   counts_from_abundance="lengthScaledTPM")
    new = res.abundance.to_numpy() * expected.mean(axis=1)[:, None]
    np.testing.assert_allclose(lst.counts.to_numpy(),
                               new * SYN_COUNTS.sum(0) / new.sum(0), rtol=1e-12)


def test_single_file_and_sample_folder(syn_salmon: Path, syn_tx2gene: pd.DataFrame) -> None:
    one = read_salmon(syn_salmon / "s1" / "quant.sf", tx2gene=syn_tx2gene)  # whole counts
    assert list(one.sample_names) == ["s1"]
    with pytest.warns(InputWarning, match="rounded"):
        same = read_salmon(syn_salmon / "s3", tx2gene=syn_tx2gene,
                           counts_from_abundance="scaledTPM")
    assert list(same.sample_names) == ["s3"] and same.lengths is None


def test_no_tx2gene_gives_transcript_dataset(syn_salmon: Path) -> None:
    with pytest.warns(InputWarning) as record:
        ds = read_salmon(syn_salmon)
    assert any("No tx2gene was given" in str(w.message) for w in record)
    assert list(ds.gene_ids) == SYN_IDS
    assert any("No tx2gene" in n for n in ds.source.notes)


def test_versions_are_stripped_when_nothing_matches(tmp_path: Path) -> None:
    ids = [f"{t}.3" for t in SYN_IDS]
    files = {"s1": _write_salmon(tmp_path / "s1", ids, 0)}
    t2g = pd.DataFrame({"tx": SYN_IDS, "gene": SYN_GENES})
    with pytest.warns(InputWarning, match="versions were ignored"):
        res = tximport(files, type="salmon", tx2gene=t2g)
    assert list(res.counts.index) == ["gA", "gB", "gC"] and res.n_dropped == 0
    assert any("versions were ignored" in n for n in res.notes)
    quiet = tximport(files, type="salmon", tx2gene=t2g, ignore_tx_version=True)
    pd.testing.assert_frame_equal(quiet.counts, res.counts)
    assert not quiet.notes


def test_read_tx2gene_formats(tmp_path: Path) -> None:
    csv = tmp_path / "t2g.csv"
    csv.write_text("TXNAME,GENEID\na1,gA\na2,gA\n")
    tsv = tmp_path / "t2g.tsv.gz"
    tsv.write_bytes(gzip.compress(b"a1\tgA\tx\na2\tgA\ty\n"))
    for path in (csv, tsv):
        t = read_tx2gene(path)
        assert t.columns.tolist() == ["transcript_id", "gene_id"]
        assert t.to_numpy().tolist() == [["a1", "gA"], ["a2", "gA"]]
    biomart = tmp_path / "mart.tsv"
    biomart.write_text("Transcript stable ID version\tGene stable ID\na1.1\tgA\n")
    assert read_tx2gene(biomart).to_numpy().tolist() == [["a1.1", "gA"]]
    named = tmp_path / "named.tsv"
    named.write_text("transcript_id\tgene_id\tgene_name\na1\tgA\tABC\n")
    assert read_tx2gene(named)["gene_name"].tolist() == ["ABC"]
    dup = tmp_path / "dup.csv"
    dup.write_text("a1,gA\na1,gB\n")
    with pytest.warns(InputWarning, match="listed with more than one gene"):
        assert read_tx2gene(dup).to_numpy().tolist() == [["a1", "gA"]]


def test_read_tx2gene_gtf_gives_symbols(tmp_path: Path, syn_salmon: Path) -> None:
    lines = ["#!genome-build GRCh38", "##description: test"]
    for tx, gene in zip(SYN_IDS, SYN_GENES, strict=True):
        attrs = f'gene_id "{gene}"; transcript_id "{tx}"; gene_name "{gene.upper()}";'
        lines.append(f"1\tHAVANA\ttranscript\t1\t100\t.\t+\t.\t{attrs}")
        lines += [f"1\tHAVANA\texon\t{i}\t{i + 10}\t.\t+\t.\t{attrs} exon_number {i};"
                  for i in (1, 2)]
    lines.insert(2, '1\tHAVANA\tgene\t1\t100\t.\t+\t.\tgene_id "gA"; gene_name "GA";')
    gtf = tmp_path / "genes.gtf.gz"
    gtf.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    t = read_tx2gene(gtf)
    assert t["transcript_id"].tolist() == SYN_IDS and t["gene_id"].tolist() == SYN_GENES
    with pytest.warns(InputWarning, match="rounded"):
        ds = read_salmon(syn_salmon, tx2gene=gtf)
    assert ds.symbols.tolist() == ["GA", "GB", "GC"]


# ---------------------------------------------------------------------------- errors
def test_error_tx2gene_missing_most_transcripts(syn_salmon: Path) -> None:
    files = find_quant_files(syn_salmon).files
    t2g = pd.DataFrame({"tx": ["a1", "c1"], "gene": ["gA", "gC"]})
    with pytest.raises(InputError, match=r"3 of 5 salmon transcripts \(60.0%\).*more than 50% "
                       r"missing.*same annotation release.*ignore_tx_version=True"):
        tximport(files, type="salmon", tx2gene=t2g)


def test_error_nothing_matches(syn_salmon: Path) -> None:
    t2g = pd.DataFrame({"tx": ["x1", "x2"], "gene": ["gX", "gX"]})
    with pytest.raises(InputError, match=r"None of the 5 transcript IDs.*Example IDs"):
        read_salmon(syn_salmon, tx2gene=t2g)


def test_error_quant_sf_missing_column(tmp_path: Path) -> None:
    _write_salmon(tmp_path / "s1", SYN_IDS, 0, drop="NumReads")
    with pytest.raises(InputError, match=r"quant.sf lacks column\(s\) 'NumReads' of a salmon "
                       "quant.sf file; its columns are: Name, Length, EffectiveLength, TPM"):
        read_salmon(tmp_path)


def test_error_non_numeric_value(tmp_path: Path) -> None:
    path = _write_salmon(tmp_path / "s1", SYN_IDS, 0)
    path.write_text(path.read_text().replace("\t10.0\t5.0", "\tten\t5.0"))
    with pytest.raises(InputError, match=r"row 2 \(a1\): column 'TPM' holds 'ten', not a number"):
        read_quant_file(path, type="salmon")


def test_error_folder_without_quantifier_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "empty_sample").mkdir()
    with pytest.raises(InputError, match=r"No quantifier output found in .* \(it holds: "
                       r"empty_sample/, notes.txt\). Expected one sub-folder per sample"):
        read_salmon(tmp_path)


def test_error_mixed_salmon_and_kallisto(tmp_path: Path) -> None:
    _write_salmon(tmp_path / "s1", SYN_IDS, 0)
    (tmp_path / "s2").mkdir()
    (tmp_path / "s2" / "abundance.tsv").write_text("target_id\tlength\teff_length\t"
                                                   "est_counts\ttpm\na1\t10\t5\t1\t1\n")
    with pytest.raises(InputError, match=r"mixes outputs of different quantifiers "
                       r"\(kallisto in s2; salmon in s1\)"):
        find_quant_files(tmp_path)


def test_error_wrong_reader_names_the_right_one() -> None:
    with pytest.raises(InputError, match=r"holds kallisto output, not salmon; read it with "
                       r"read_kallisto\(\)"):
        read_salmon(DATA / "kallisto_boot")


def test_error_kallisto_h5_only(tmp_path: Path) -> None:
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "abundance.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(InputError, match=r"abundance.h5 but no abundance.tsv.*kallisto h5dump"):
        read_kallisto(tmp_path)


def test_error_truncated_gzip(tmp_path: Path) -> None:
    src = DATA / "salmon" / RUNS[0] / "quant.sf.gz"
    (tmp_path / "s1").mkdir()
    raw = src.read_bytes()
    (tmp_path / "s1" / "quant.sf.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="gzip file that ends early or is damaged"):
        read_salmon(tmp_path, tx2gene=TX2GENE_V27)


def test_error_samples_with_different_transcripts(tmp_path: Path) -> None:
    files = {"s1": _write_salmon(tmp_path / "s1", SYN_IDS, 0),
             "s2": _write_salmon(tmp_path / "s2", SYN_IDS[:4], 1)}
    with pytest.raises(InputError, match=r"lists other IDs than .*missing from it: \['c1'\]"):
        tximport(files, type="salmon")


def test_error_bad_options(syn_salmon: Path) -> None:
    files = find_quant_files(syn_salmon).files
    with pytest.raises(InputError, match="type='star' is not valid; choose one of salmon, "
                       "kallisto, rsem"):
        tximport(files, type="star")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="counts_from_abundance='TPM' is not valid; choose one "
                       "of no, scaledTPM, lengthScaledTPM"):
        read_salmon(syn_salmon, counts_from_abundance="TPM")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="non-empty mapping of sample name"):
        tximport([], type="salmon")  # type: ignore[arg-type]


def test_rows_in_another_order_are_matched(tmp_path: Path, syn_tx2gene: pd.DataFrame) -> None:
    files = {"s1": _write_salmon(tmp_path / "s1", SYN_IDS, 0),
             "s2": _write_salmon(tmp_path / "s2", SYN_IDS, 1)}
    text = files["s2"].read_text().splitlines()
    files["s2"].write_text("\n".join([text[0], *reversed(text[1:])]) + "\n")
    with pytest.warns(InputWarning, match="another order"):
        res = tximport(files, type="salmon", tx2gene=syn_tx2gene)
    np.testing.assert_allclose(res.counts["s2"].to_numpy(), [0, 0, 40])
    assert any("another order" in n for n in res.notes)

