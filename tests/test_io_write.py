"""Writing tables: ``format_tsv`` gives exactly pandas' ``to_csv`` bytes (its fast path and its
fallback), and ``write_table`` writes them atomically, gzip included."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heatseq.io.write import _format_fast, format_tsv, write_table


def to_csv(table: pd.DataFrame, *, index: bool = True) -> str:
    """The reference: what heatseq wrote before it had its own formatter."""
    return table.to_csv(sep="\t", index=index, float_format="%.10g", na_rep="NA",
                        lineterminator="\n")


SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e300, -1e-300, 5e-324, 0.1, 1 / 3, 2.5e-5,
           123456789012.0, 1e10, 9999999999.5, 1e-8]


def test_de_like_table_matches_to_csv_and_takes_the_fast_path(rng):
    n = 2000
    table = pd.DataFrame({
        "symbol": np.where(rng.random(n) < 0.3, None, [f"G{i}" for i in range(n)]),
        "baseMean": rng.lognormal(3, 3, n),
        "log2FoldChange": np.where(rng.random(n) < 0.2, np.nan, rng.normal(0, 2, n)),
        "padj": np.where(rng.random(n) < 0.5, np.nan, rng.random(n)),
        "edge": rng.choice(SPECIAL, n),
        "count": rng.integers(0, 10**9, n),
        "flag": rng.random(n) < 0.5,
    }, index=pd.Index([f"ENSG{i:011d}" for i in range(n)], name="gene_id"))
    assert _format_fast(table, index=True) is not None
    assert format_tsv(table) == to_csv(table)
    assert format_tsv(table, index=False) == to_csv(table, index=False)


def test_runs_of_missing_values_in_every_position():
    nan = np.nan
    table = pd.DataFrame({"a": [nan, 1.0, nan, nan], "b": [nan, nan, 2.0, nan],
                          "c": [nan, nan, nan, nan]}, index=pd.Index(["g1", "g2", "g3", "g4"]))
    assert format_tsv(table) == to_csv(table)
    assert format_tsv(table, index=False) == to_csv(table, index=False)
    assert format_tsv(table).splitlines()[1] == "g1\tNA\tNA\tNA"


@pytest.mark.parametrize("table", [
    # text that the csv writer quotes
    pd.DataFrame({"x": [1.0, 2.0], "s": ["a\tb", 'say "hi"']}, index=pd.Index(["g1", "g2"])),
    pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["g\n1", "g2"])),
    # a text field 'nan' next to float columns (would be mistaken for a missing number)
    pd.DataFrame({"x": [np.nan, 2.0], "s": ["nan", "b"]}, index=pd.Index(["g1", "g2"])),
    pd.DataFrame({"nan": [np.nan, 2.0]}, index=pd.Index(["g1", "g2"], name="id")),
    # one field per line ("" would be quoted), MultiIndex, extension and float32 dtypes
    pd.DataFrame({"s": ["", "a"]}),
    pd.DataFrame({"x": [1.0, 2.0]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)])),
    pd.DataFrame({"x": pd.array([1, None], dtype="Int64"), "y": [0.5, 1.5]}),
    pd.DataFrame({"x": np.array([0.1, 0.2], dtype=np.float32), "y": [0.5, 1.5]}),
    pd.DataFrame({"x": pd.Categorical(["a", "b"]), "y": [0.5, 1.5]}),
    pd.DataFrame({"x": [1.5, 2.5]}, index=pd.Index([0.5, 1.5])),
    pd.DataFrame({"x": [1, "a"], "y": [0.5, 1.5]}),
    pd.DataFrame({"x": [], "y": []}),
])
def test_tables_the_fast_path_cannot_write_go_through_to_csv(table):
    assert format_tsv(table) == to_csv(table)
    assert format_tsv(table, index=False) == to_csv(table, index=False)


floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(SPECIAL)
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_table_is_written_as_to_csv_writes_it(data):
    n = data.draw(st.integers(1, 6))
    kinds = data.draw(st.lists(st.sampled_from(["f", "i", "b", "s"]), min_size=0, max_size=4))
    columns = {}
    for j, kind in enumerate(kinds):
        if kind == "f":
            values = data.draw(st.lists(floats, min_size=n, max_size=n))
        elif kind == "i":
            values = data.draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
        elif kind == "b":
            values = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
        else:
            values = data.draw(st.lists(texts | st.none(), min_size=n, max_size=n))
        name = data.draw(st.sampled_from([f"c{j}", "nan", "x y", ""]))
        columns[f"{name}{j}" if name else ""] = values
    ids = data.draw(st.lists(texts, min_size=n, max_size=n))
    table = pd.DataFrame(columns, index=pd.Index(ids, name=data.draw(st.none() | texts)))
    table.columns = list(columns)
    for index in (True, False):
        assert format_tsv(table, index=index) == to_csv(table, index=index)


def test_write_table_plain_and_gzip(tmp_path):
    table = pd.DataFrame({"x": [0.1 + 0.2, np.nan]}, index=pd.Index(["a", "b"], name="id"))
    plain = write_table(table, tmp_path / "t.tsv")
    packed = write_table(table, tmp_path / "t.tsv.gz")
    expected = "id\tx\na\t0.3\nb\tNA\n"
    assert plain.read_text() == expected
    assert gzip.decompress(packed.read_bytes()).decode() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.tsv", "t.tsv.gz"]  # no leftovers
