"""Bad inputs: each raises one InputError whose message names the file, the place and the
fix, and ``heatseq inspect`` prints it as ``Error: ...``, exits 2, writes nothing to stdout
and shows no traceback. A BOM and Windows line ends are accepted silently."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import heatseq.commands.inspect  # noqa: F401  (registers the subcommand)
from heatseq import InputError, InputWarning
from heatseq.cli import cli
from heatseq.io.counts import read_count_dir, read_matrix
from heatseq.io.detect import read_counts
from heatseq.io.samples import read_samples

DATA = Path(__file__).parent / "data"
AIRWAY = DATA / "airway" / "counts.tsv.gz"
GOOD = "gene_id\tS1\tS2\tS3\nENSG01\t10\t0\t5\nENSG02\t3\t7\t0\nENSG03\t0\t1\t2\n"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _empty(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", ""))]


def _header_only(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", "gene_id\tS1\tS2\n\n"))]


def _dup_genes(d: Path) -> list[str]:
    rows = "".join(f"G{i}\t1\t2\n" for i in (1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7))
    return [str(write(d / "counts.tsv", "gene\tA\tB\n" + rows))]


def _dup_samples(d: Path) -> list[str]:
    return [str(write(d / "counts.csv", "gene,A,B,A\ng1,1,2,3\ng2,4,5,6\n"))]


def _non_numeric(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", GOOD.replace("7", "seven")))]


def _negative(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", GOOD.replace("\t3\t", "\t-3\t")))]


def _nan(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", GOOD.replace("\t1\t", "\tNaN\t")))]


def _inf(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", GOOD.replace("\t10\t", "\tinf\t")))]


def _empty_cell(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", GOOD.replace("\t5\n", "\t\n")))]


def _zero_sample(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", "gene\tS1\tS2\tS3\ng1\t5\t0\t1\ng2\t7\t0\t3\n"))]


def _sheet_none(d: Path) -> list[str]:
    counts = write(d / "counts.tsv", GOOD)
    sheet = write(d / "samples.csv", "sample,group\nGSM1,a\nGSM2,a\nGSM3,b\n")
    return [str(counts), "--samples", str(sheet)]


def _sheet_missing(d: Path) -> list[str]:
    counts = write(d / "counts.tsv", GOOD)
    sheet = write(d / "samples.csv", "sample,group\nS1,a\nS3,b\n")
    return [str(counts), "--samples", str(sheet)]


def _sheet_dup(d: Path) -> list[str]:
    counts = write(d / "counts.tsv", GOOD)
    sheet = write(d / "samples.csv", "sample,group\nS1,a\nS2,a\nS3,b\nS2,b\n")
    return [str(counts), "--samples", str(sheet)]


def _binary(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", bytes(range(256)) * 4))]


def _latin1(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", "gene\tS1\tS2\ng\xe8ne1\t1\t2\n".encode("latin-1")))]


def _truncated_gz(d: Path) -> list[str]:
    data = AIRWAY.read_bytes()
    return [str(write(d / "counts.tsv.gz", data[: len(data) // 2]))]


def _missing_path(d: Path) -> list[str]:
    return [str(d / "no_such_counts.tsv")]


def _old_xls(d: Path) -> list[str]:
    return [str(write(d / "counts.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)))]


def _ragged(d: Path) -> list[str]:
    return [str(write(d / "counts.csv", "gene,A,B\ng1,1,2\ng2,3,4,5\n"))]


def _headerless(d: Path) -> list[str]:
    return [str(write(d / "counts.tsv", "ENSG0001\t5\t6\nENSG0002\t1\t2\n"))]


def _one_column(d: Path) -> list[str]:
    return [str(write(d / "counts.txt", "gene\ng1\ng2\n"))]


def _mixed_dir(d: Path) -> list[str]:
    write(d / "S1.counts", "g1\t5\ng2\t3\n__no_feature\t1\n")
    write(d / "S2_ReadsPerGene.out.tab",
          "N_unmapped\t1\t1\t1\nN_multimapping\t1\t1\t1\nN_noFeature\t1\t1\t1\n"
          "N_ambiguous\t1\t1\t1\ng1\t5\t0\t5\ng2\t3\t0\t3\n")
    return [str(d)]


def _genes_differ(d: Path) -> list[str]:
    write(d / "S1.counts", "g1\t5\ng2\t3\n__no_feature\t1\n")
    write(d / "S2.counts", "g1\t5\ng9\t3\n__no_feature\t1\n")
    return [str(d)]


def _empty_dir(d: Path) -> list[str]:
    write(d / "notes.md", "# nothing here\n")
    return [str(d)]


CASES: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("empty file", _empty, r"counts\.tsv is empty\. Give a count table with a header line"),
    ("header only", _header_only, r"counts\.tsv has a header line but no data rows\."),
    ("duplicated gene IDs", _dup_genes,
     r"counts\.tsv: 7 gene ID\(s\) occur more than once: G1, G2, G3, G4, G5 and 2 more\. Use "
     r"--duplicates sum to add their counts or --duplicates first"),
    ("duplicated sample names", _dup_samples,
     r"counts\.csv: 1 sample name\(s\) occur more than once: 'A' \(count columns 1, 3\)\. Each "
     r"sample needs a unique name"),
    ("non-numeric cell", _non_numeric,
     r"counts\.tsv, line 3, column 'S2': 'seven' is not a number\. Counts must be numbers"),
    ("negative count", _negative,
     r"counts\.tsv, line 3, column 'S1': negative count '-3'\. Read counts are never negative"),
    ("NaN", _nan, r"counts\.tsv, line 4, column 'S2': 'NaN' is a missing value \(NaN\)\. Counts "
                  r"must be finite numbers"),
    ("inf", _inf, r"counts\.tsv, line 2, column 'S1': 'inf' is infinite\."),
    ("empty cell", _empty_cell, r"counts\.tsv, line 2, column 'S3': the cell is empty\."),
    ("all-zero sample", _zero_sample,
     r"counts\.tsv: 1 sample\(s\) have no counts at all \(every gene is 0\): 'S2'\. An empty "
     r"library breaks normalisation .* remove the sample from the count table"),
    ("sheet matches none", _sheet_none,
     r"samples\.csv matches none of the count table's samples\. Sheet \(first column\): GSM1, "
     r"GSM2, GSM3\. Count table: S1, S2, S3\."),
    ("sheet missing samples", _sheet_missing,
     r"samples\.csv lacks 1 sample\(s\) of the count table: S2\. Add a row for each"),
    ("sheet duplicated sample", _sheet_dup,
     r"samples\.csv: sample 'S2' appears on lines 3, 5"),
    ("binary file", _binary, r"counts\.tsv is a binary file, not a text table"),
    ("non-UTF-8 file", _latin1,
     r"counts\.tsv is not UTF-8 text: byte 0xe8 on line 2 cannot be decoded\. Re-save the file "
     r"as UTF-8"),
    ("truncated gzip", _truncated_gz,
     r"counts\.tsv\.gz is a gzip file that ends early or is damaged .* `gzip -t`"),
    ("path does not exist", _missing_path,
     r"Count file or folder not found: .*no_such_counts\.tsv\. Check the path\."),
    ("old xls", _old_xls, r"counts\.xls is an old Excel \.xls file, which heatseq does not read"),
    ("ragged rows", _ragged,
     r"counts\.csv, line 3: 4 comma-separated fields, but the lines before it have 3\."),
    ("no header", _headerless,
     r"counts\.tsv: the first line \(ENSG0001, 5, 6 \.\.\.\) looks like data, not a header\."),
    ("single column", _one_column, r"counts\.txt: found a single column, so no sample columns\."),
    ("mixed tools in a folder", _mixed_dir,
     r"mixes count files of different tools \(HTSeq-count: S1\.counts; STAR: "
     r"S2_ReadsPerGene\.out\.tab\)"),
    ("per-sample genes differ", _genes_differ,
     r"S2\.counts: its genes differ from .*S1\.counts's: 1 of S1\.counts's genes missing \(e\.g\. "
     r"g2\); 1 genes not in S1\.counts \(e\.g\. g9\)"),
    ("folder without count files", _empty_dir,
     r"holds no count files heatseq recognises \(found: notes\.md\)"),
]


def _api(args: list[str]):
    if "--samples" in args:
        return read_counts(args[0], samples=args[2])
    return read_counts(args[0])


@pytest.mark.parametrize("name, make, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_one_clear_error(tmp_path, name, make, message):
    args = make(tmp_path)
    with pytest.raises(InputError, match=message):
        _api(args)


@pytest.mark.parametrize("name, make, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_cli_exit_2_without_traceback(tmp_path, name, make, message):
    args = make(tmp_path)
    result = CliRunner().invoke(cli, ["inspect", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # nothing written before the error
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.output
    assert re.search(message, result.stderr), result.stderr


def test_bom_and_windows_line_ends_are_accepted_silently(tmp_path):
    clean = read_matrix(write(tmp_path / "clean.tsv", GOOD))
    messy = write(tmp_path / "messy.tsv", b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    got = read_matrix(messy)  # no warning: the suite turns warnings into errors
    pd.testing.assert_frame_equal(got.counts, clean.counts)
    assert got.source.notes == ()
    sheet = write(tmp_path / "s.csv", b"\xef\xbb\xbfsample,g\r\nS1,a\r\nS2,b\r\n")
    assert list(read_samples(sheet).columns) == ["g"]


def test_excel_with_several_sheets_uses_the_first_and_says_so(tmp_path):
    p = tmp_path / "counts.xlsx"
    table = pd.read_csv(AIRWAY, sep="\t", index_col=0).iloc[:20]
    with pd.ExcelWriter(p) as xw:
        table.to_excel(xw, sheet_name="counts")
        pd.DataFrame({"note": ["made by hand"]}).to_excel(xw, sheet_name="about")
    with pytest.warns(InputWarning, match=r"counts\.xlsx has 2 sheets \('counts', 'about'\); the "
                                          r"first, 'counts', was read\. Choose another with "
                                          r"--sheet"):
        ds = read_counts(p)
    np.testing.assert_array_equal(ds.counts.to_numpy(), table.T.to_numpy())
    result = CliRunner().invoke(cli, ["inspect", str(p)])
    assert result.exit_code == 0
    assert "first, 'counts', was read. Choose another with --sheet" in result.stdout
    result = CliRunner().invoke(cli, ["inspect", str(p), "--sheet", "about"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert "'made by hand' is not a number" in result.stderr


def test_damaged_xlsx(tmp_path):
    p = write(tmp_path / "counts.xlsx", b"PK\x03\x04" + bytes(200))
    with pytest.raises(InputError, match=r"counts\.xlsx could not be read as an Excel \.xlsx "
                                         r"file"):
        read_matrix(p)


def test_huge_count_is_refused(tmp_path):
    p = write(tmp_path / "c.tsv", "g\tA\ng1\t1e300\ng2\t5\n")
    with pytest.raises(InputError, match=r"c\.tsv, line 2, column 'A': '1e300' is larger than "
                                         r"any read count"):
        read_matrix(p)


def test_count_dir_on_a_file(tmp_path):
    with pytest.raises(InputError, match="is a file, not a folder of per-sample count files"):
        read_count_dir(AIRWAY)
