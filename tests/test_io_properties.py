"""Property tests: random and mangled tables fed to every reader (matrix, featureCounts,
HTSeq, STAR, per-sample folders, sample sheets). Each outcome is a Dataset (a DataFrame for
sheets) or an InputError, never another exception, and the only warnings are heatseq's.

Examples per reader: ``HEATSEQ_PROPERTY_EXAMPLES`` (default 80; derandomised, so the run is
the same every time). Raise it locally to search harder.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heatseq import Dataset, HeatseqWarning, InputError
from heatseq.io.counts import read_count_dir, read_featurecounts, read_htseq, read_matrix, read_star
from heatseq.io.detect import read_counts
from heatseq.io.samples import read_samples

EXAMPLES = int(os.environ.get("HEATSEQ_PROPERTY_EXAMPLES", "80"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e300", "-0", "0.5", "1_000", "NA", "nan", "inf", "-inf", "", " ", "٣",
                     "0x10", "1,5", "True"]),
)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
CELLS = st.one_of(NUMBERS, TEXT, st.sampled_from(["ENSG00000000003", "gene", "\"", "'", "#",
                                                   "__no_feature", "N_unmapped", "Geneid"]))
DELIMITERS = st.sampled_from(["\t", ",", ";", " ", "|", "\t\t"])
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def tables(draw: st.DrawFn, *, header: list[str] | None = None, first: st.SearchStrategy | None
           = None, n_cols: tuple[int, int] = (1, 6)) -> str:
    """A delimited table: optional fixed header, ragged rows, random cells."""
    ncol = draw(st.integers(*n_cols))
    sep = draw(DELIMITERS)
    end = draw(LINE_ENDS)
    rows: list[list[str]] = []
    if header is not None:
        rows.append(header + draw(st.lists(TEXT, min_size=0, max_size=ncol)))
    elif draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(["gene", "S1", "S2", "S1", "", "A", "b"]),
                              min_size=ncol, max_size=ncol + 1))
        rows.append(names)
    n_rows = draw(st.integers(0, 8))
    for _ in range(n_rows):
        width = draw(st.integers(max(0, ncol - 1), ncol + 1))
        lead = [draw(first)] if first is not None else []
        rows.append(lead + draw(st.lists(st.one_of(NUMBERS, CELLS), min_size=width,
                                         max_size=width)))
    return end.join(sep.join(r) for r in rows) + draw(st.sampled_from(["", end, end + end]))


def encode(text: str, data: st.DataObject) -> bytes:
    raw = text.encode("utf-8")
    if data.draw(st.booleans(), label="bom"):
        raw = b"\xef\xbb\xbf" + raw
    if data.draw(st.booleans(), label="gzip"):
        raw = gzip.compress(raw)
        if data.draw(st.booleans(), label="truncate"):
            raw = raw[: data.draw(st.integers(0, len(raw)), label="cut")]
    return raw


def outcome(read: Callable[[], object], expected: type) -> None:
    """``read()`` returns ``expected`` or raises InputError; only heatseq warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = read()
        except InputError as exc:
            assert str(exc)  # a message, always
        else:
            assert isinstance(result, expected)
            if isinstance(result, Dataset):
                assert (result.counts.to_numpy() >= 0).all()
                assert (result.counts.sum(axis=1) > 0).all()
    others = [w for w in caught if not issubclass(w.category, HeatseqWarning)]
    assert not others, [f"{w.category.__name__}: {w.message}" for w in others]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@SETTINGS
@given(data=st.data())
def test_matrix_reader_random_tables(workdir, data):
    text = data.draw(tables(first=st.sampled_from(["ENSG00000000003", "g1", "g2", "", "g1"])))
    suffix = data.draw(st.sampled_from([".tsv", ".csv", ".txt"]))
    p = workdir / f"m{suffix}"
    p.write_bytes(encode(text, data))
    outcome(lambda: read_matrix(p, duplicates=data.draw(st.sampled_from(["error", "sum"]))),
            Dataset)
    outcome(lambda: read_counts(p), Dataset)


@SETTINGS
@given(raw=st.binary(max_size=400))
def test_every_reader_random_bytes(workdir, raw):
    p = workdir / "bytes.txt"
    p.write_bytes(raw)
    for read in (read_matrix, read_featurecounts, read_htseq, read_star, read_counts):
        outcome(lambda read=read: read(p), Dataset)
    outcome(lambda: read_samples(p), pd.DataFrame)


@SETTINGS
@given(data=st.data())
def test_featurecounts_mangled(workdir, data):
    header = ["Geneid", "Chr", "Start", "End", "Strand", "Length"]
    body = data.draw(tables(header=header, first=st.sampled_from(["g1", "g2", "ENSG01"]),
                            n_cols=(4, 9)))
    body = body.replace("|", "\t").replace(",", "\t").replace(";", "\t")
    p = workdir / "fc.txt"
    p.write_bytes(encode("# Program:featureCounts v2.0.6; Command:\"featureCounts\"\n" + body,
                         data))
    outcome(lambda: read_featurecounts(p), Dataset)
    outcome(lambda: read_counts(p), Dataset)


@SETTINGS
@given(data=st.data())
def test_htseq_mangled(workdir, data):
    ids = st.sampled_from(["g1", "g2", "ENSG00000000003", "__no_feature", "__ambiguous", ""])
    rows = data.draw(st.lists(st.tuples(ids, st.one_of(NUMBERS, CELLS)), max_size=10))
    extra = data.draw(st.sampled_from(["", "\t", "\t5"]))
    text = "".join(f"{g}\t{v}{extra if i == 2 else ''}\n" for i, (g, v) in enumerate(rows))
    p = workdir / "S1.counts"
    p.write_bytes(encode(text, data))
    outcome(lambda: read_htseq(p), Dataset)
    outcome(lambda: read_counts(p), Dataset)


@SETTINGS
@given(data=st.data())
def test_star_mangled(workdir, data):
    head = data.draw(st.lists(st.sampled_from(["N_unmapped", "N_multimapping", "N_noFeature",
                                               "N_ambiguous", "g0"]), max_size=5))
    lines = [f"{h}\t{data.draw(NUMBERS)}\t{data.draw(NUMBERS)}\t{data.draw(NUMBERS)}"
             for h in head]
    n = data.draw(st.integers(0, 6))
    for i in range(n):
        cells = data.draw(st.lists(st.one_of(NUMBERS, st.integers(0, 50).map(str)),
                                   min_size=2, max_size=4))
        lines.append("\t".join([f"g{i % 4}", *cells]))
    p = workdir / "S1_ReadsPerGene.out.tab"
    p.write_bytes(encode("\n".join(lines) + "\n", data))
    strand = data.draw(st.sampled_from([None, "unstranded", "forward", "reverse"]))
    outcome(lambda: read_star(p, strand=strand), Dataset)
    outcome(lambda: read_counts(p, strand=strand), Dataset)


@SETTINGS
@given(data=st.data())
def test_count_folder_mangled(workdir, data):
    d = Path(tempfile.mkdtemp(dir=workdir))
    for i in range(data.draw(st.integers(0, 3))):
        name = data.draw(st.sampled_from([f"S{i}.counts", f"S{i}_ReadsPerGene.out.tab",
                                          "counts.txt", f"S{i}.txt.gz"]))
        rows = data.draw(st.lists(st.tuples(st.sampled_from(["g1", "g2", "__no_feature"]),
                                            st.integers(0, 9)), min_size=1, max_size=4))
        (d / name).write_bytes(encode("".join(f"{g}\t{v}\n" for g, v in rows), data))
    outcome(lambda: read_count_dir(d), Dataset)
    outcome(lambda: read_counts(d), Dataset)


@SETTINGS
@given(data=st.data())
def test_sample_sheet_random_tables(workdir, data):
    text = data.draw(tables(first=st.sampled_from(["S1", "S2", "s1 ", "", "S1"])))
    p = workdir / data.draw(st.sampled_from(["s.csv", "s.tsv", "s.txt"]))
    p.write_bytes(encode(text, data))
    outcome(lambda: read_samples(p), pd.DataFrame)
