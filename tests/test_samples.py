"""Sample sheets: reading CSV/TSV/XLSX with typed columns, and matching to count columns
(exact, then case/whitespace-insensitive; missing, extra and unmatched rows reported)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq import Dataset, InputError, InputWarning, Source
from heatseq.io.detect import read_counts
from heatseq.io.samples import attach_samples, read_samples

DATA = Path(__file__).parent / "data"
SHEET = DATA / "airway" / "samples.csv"
COUNTS = DATA / "airway" / "counts.tsv.gz"
COLUMNS = ["condition", "cell", "dex", "albut", "SampleName", "Run", "avgLength", "Experiment",
           "Sample", "BioSample"]


@pytest.fixture(scope="module")
def raw_sheet() -> pd.DataFrame:
    """The airway sheet read with plain pandas, everything as text."""
    return pd.read_csv(SHEET, dtype=str)


def small_dataset(names: list[str]) -> Dataset:
    counts = pd.DataFrame(np.arange(1, 3 * len(names) + 1).reshape(len(names), 3),
                          index=names, columns=["g1", "g2", "g3"])
    return Dataset(counts, source=Source("counts.tsv", "matrix", ("read",)))


def test_airway_sheet_typed_columns(raw_sheet):
    sheet = read_samples(SHEET)
    assert sheet.index.name == "sample"
    assert list(sheet.columns) == COLUMNS
    assert sheet.index.tolist() == raw_sheet["sample"].tolist()
    assert sheet["avgLength"].dtype == np.int64
    assert sheet["avgLength"].tolist() == [126, 126, 126, 87, 120, 126, 101, 98]
    for c in COLUMNS:
        if c != "avgLength":
            assert sheet[c].tolist() == raw_sheet[c].tolist(), c
            assert all(isinstance(v, str) for v in sheet[c])


@pytest.mark.parametrize("suffix", [".tsv", ".xlsx", ".csv.gz", ".txt"])
def test_sheet_formats_give_the_same_table(tmp_path, raw_sheet, suffix):
    p = tmp_path / f"samples{suffix}"
    if suffix == ".xlsx":
        raw_sheet.to_excel(p, index=False)
    elif suffix == ".txt":
        p.write_text(raw_sheet.to_string(index=False))
    else:
        raw_sheet.to_csv(p, sep="\t" if suffix == ".tsv" else ",", index=False)
    pd.testing.assert_frame_equal(read_samples(p), read_samples(SHEET))


def test_sheet_missing_values_and_mixed_columns(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id,rin,batch,note,dose\nA,9.1,1,ok,0\nB,,2,NA,10\nC, 8.5 ,x, fine ,2.5\n")
    sheet = read_samples(p)
    assert np.allclose(sheet["rin"].to_numpy(), [9.1, np.nan, 8.5], equal_nan=True)
    assert sheet["batch"].tolist() == ["1", "2", "x"]  # not all numbers: text
    assert sheet["note"].tolist()[0::2] == ["ok", "fine"] and pd.isna(sheet["note"].iloc[1])
    assert sheet["dose"].dtype == float and sheet["dose"].tolist() == [0.0, 10.0, 2.5]


def test_sheet_header_without_sample_field(tmp_path):
    p = tmp_path / "r.tsv"
    p.write_text("condition\tbatch\nS1\tctrl\tb1\nS2\ttrt\tb1\n")
    sheet = read_samples(p)
    assert sheet.index.tolist() == ["S1", "S2"] and list(sheet.columns) == ["condition", "batch"]


def test_attach_exact(raw_sheet):
    ds = read_counts(COUNTS, samples=SHEET)
    assert list(ds.samples.columns) == COLUMNS
    assert ds.samples.index.tolist() == list(ds.sample_names)
    assert ds.samples.loc["SRR1039509", "dex"] == "trt"
    assert ds.source.format == "matrix"


def test_attach_follows_count_order_not_sheet_order():
    ds = small_dataset(["b", "a", "c"])
    sheet = pd.DataFrame({"group": ["x", "y", "z"]}, index=["a", "b", "c"])
    out = attach_samples(ds, sheet)
    assert out.samples["group"].tolist() == ["y", "x", "z"]


def test_attach_case_and_space_insensitive_with_warning():
    ds = small_dataset(["Ctrl_1", "Ctrl_2", "Trt_1"])
    sheet = pd.DataFrame({"sample": ["ctrl_1 ", "CTRL_2", "Trt_1"], "g": ["c", "c", "t"]})
    with pytest.warns(InputWarning, match=r"the sample table: 2 sample\(s\) matched ignoring case "
                                          r"and spaces: 'ctrl_1' -> 'Ctrl_1', 'CTRL_2' -> "
                                          r"'Ctrl_2'\."):
        out = attach_samples(ds, sheet)
    assert out.samples["g"].tolist() == ["c", "c", "t"]
    assert out.source.notes[0] == "read" and "matched ignoring case" in out.source.notes[1]


def test_attach_drops_extra_rows_with_warning(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("sample,g\na,1\nb,2\nc,3\nextra1,4\nextra2,5\n")
    with pytest.warns(InputWarning, match=r"s\.csv: 2 sheet row\(s\) have no counts and were "
                                          r"dropped: extra1, extra2\."):
        out = attach_samples(small_dataset(["a", "b", "c"]), p)
    assert out.samples["g"].tolist() == [1, 2, 3]


def test_attach_missing_samples_is_an_error(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("sample,g\na,1\n")
    with pytest.raises(InputError, match=r"s\.csv lacks 2 sample\(s\) of the count table: b, c\. "
                                         r"Add a row for each"):
        attach_samples(small_dataset(["a", "b", "c"]), p)


def test_attach_no_match_shows_both_lists(tmp_path):
    p = tmp_path / "s.csv"
    names = [f"GSM{i}" for i in range(12)]
    p.write_text("sample,g\n" + "".join(f"{n},x\n" for n in names))
    with pytest.raises(InputError, match=r"s\.csv matches none of the count table's samples\. "
                                         r"Sheet \(first column\): GSM0, GSM1, .*GSM9 \.\.\. \(12 "
                                         r"in all\)\. Count table: a, b, c\."):
        attach_samples(small_dataset(["a", "b", "c"]), p)


def test_attach_ambiguous_loose_match():
    sheet = pd.DataFrame({"g": [1, 2]}, index=["s 1", "S1"])
    with pytest.raises(InputError, match="count column 's1' matches several sheet rows"):
        attach_samples(small_dataset(["s1"]), sheet)


def test_attach_rejects_other_types():
    with pytest.raises(InputError, match="samples must be a path or a pandas DataFrame, not list"):
        attach_samples(small_dataset(["a"]), ["a"])  # type: ignore[arg-type]
