"""GMT files and the GeneSets value: reading, bad input (issue 6 acceptance 5), restriction."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from heatseq.enrich import GeneSets, read_gmt, write_gmt
from heatseq.errors import InputError

GMT = "SET_A\tfirst set\tTP53\tMDM2\tCDKN1A\nSET_B\thttp://x.org/b\tMDM2\tMYC\tMYC\nSET_C\tna\tEGFR\n"


def test_read_gmt_and_round_trip(tmp_path):
    p = tmp_path / "s.gmt"
    p.write_text(GMT)
    g = read_gmt(p, id_type="symbol", organism="human")
    assert g.name == "s" and len(g) == 3
    assert list(g.term_names) == ["first set", "SET_B", "SET_C"]  # URL / na -> the name
    assert g.as_dict() == {"SET_A": ["CDKN1A", "MDM2", "TP53"], "SET_B": ["MDM2", "MYC"],
                           "SET_C": ["EGFR"]}
    assert list(g.sizes) == [3, 2, 1]
    out = write_gmt(g, tmp_path / "o.gmt.gz")
    with gzip.open(out, "rt") as fh:
        assert fh.readline() == "SET_A\tfirst set\tCDKN1A\tMDM2\tTP53\n"
    assert read_gmt(out).as_dict() == g.as_dict()


def test_membership_matches_members(tmp_path):
    p = tmp_path / "s.gmt"
    p.write_text(GMT)
    g = read_gmt(p)
    m = g.membership().toarray()
    for i in range(len(g)):
        assert set(g.genes[m[i] == 1]) == set(g.members(i))


def test_restrict_before_size_filter():
    g = GeneSets.from_dict({"a": ["x", "y", "z"], "b": ["y", "q"], "c": ["q"]}, name="t")
    r = g.restrict(["x", "y", "q"], min_size=2)
    assert r.as_dict() == {"a": ["x", "y"], "b": ["q", "y"]}
    assert list(r.term_ids) == ["a", "b"]
    r2 = g.restrict(["x", "y", "z", "q"], min_size=1, max_size=2)
    assert list(r2.term_ids) == ["b", "c"]
    assert np.array_equal(r2.sizes, [2, 1])


@pytest.mark.parametrize(("text", "match"), [
    ("A\td\tG1\n\nB\td\tG2\n", r"line 2: empty line between gene sets"),
    ("A\td\tG1\nA\td\tG2\n", r"line 2: gene set name 'A' is given twice \(first on line 1\)"),
    ("A\td\n", r"line 1: gene set 'A' has no genes"),
    ("A G1 G2\n", r"line 1: .*no tab"),
    ("\n\n", r"the GMT file is empty"),
])
def test_bad_gmt(tmp_path, text, match):
    p = tmp_path / "bad.gmt"
    p.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        read_gmt(p)
    assert str(p) in str(info.value)


def test_missing_gmt(tmp_path):
    with pytest.raises(InputError, match=r"nope\.gmt"):
        read_gmt(tmp_path / "nope.gmt")
