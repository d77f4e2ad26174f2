"""The run's plan (design, contrasts, reference, condition/batch columns) and its output folder:
decisions and the bad-input messages, checked before any heavy step."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from heatseq.errors import DesignError, InputError
from heatseq.workflow.outdir import staged_outdir
from heatseq.workflow.plan import CONTROL_NAMES, parse_contrast, plan_run


@pytest.fixture(scope="module")
def airway_sheet() -> pd.DataFrame:
    import heatseq

    return heatseq.datasets.airway().samples


def test_given_design_and_contrast(airway_sheet):
    plan = plan_run(airway_sheet, design="~ cell + dex", contrasts=[("dex", "trt", "untrt")])
    assert plan.design == "~ cell + dex" and not plan.proposed
    assert plan.contrasts == (("dex", "trt", "untrt"),)
    assert plan.reference == {"dex": "untrt"}
    assert plan.condition == "dex" and plan.batch == ("cell",)
    assert plan.annotate == ("cell", "dex")
    assert plan.notes == ()


def test_proposed_design_names_confounded_columns_and_control(airway_sheet):
    plan = plan_run(airway_sheet, design=None)
    # condition and dex are aliases: one of them, the cell line as a blocking factor
    assert plan.design == "~ cell + dex" and plan.proposed
    assert any("dex and condition" in n for n in plan.notes)
    # untrt reads as the control, so the default contrast is trt vs untrt (R would say
    # untrt vs trt: 'trt' sorts first)
    assert plan.contrasts == (("dex", "trt", "untrt"),)
    assert any("'untrt' reads as the control" in n for n in plan.notes)


def test_default_contrast_without_a_control_name_follows_r():
    s = pd.DataFrame({"g": ["b", "b", "a", "a", "c", "c"]}, index=list("123456"))
    plan = plan_run(s, design="~ g")
    assert plan.contrasts == (("g", "b", "a"), ("g", "c", "a"))
    assert not any("control" in n for n in plan.notes)


def test_control_names_are_lower_case():
    assert all(n == n.lower() for n in CONTROL_NAMES)


def test_contrast_level_not_in_sheet(airway_sheet):
    with pytest.raises(InputError, match=r"'trtd' is not a value of column 'dex' in the sample "
                       r"sheet samples.csv; its values are: trt, untrt"):
        plan_run(airway_sheet, design="~ cell + dex", contrasts=[("dex", "trtd", "untrt")],
                 where=" samples.csv")


def test_contrast_factor_not_in_sheet(airway_sheet):
    with pytest.raises(InputError, match="'dose' is not a column of the sample sheet"):
        plan_run(airway_sheet, design="~ cell + dex", contrasts=[("dose", "hi", "lo")])


def test_design_column_not_in_sheet(airway_sheet):
    with pytest.raises(DesignError, match="Column 'batch' in the design '~ batch \\+ dex' is "
                       "not in the sample table"):
        plan_run(airway_sheet, design="~ batch + dex")


def test_confounded_design_names_both_columns(airway_sheet):
    with pytest.raises(DesignError, match="condition and dex are confounded"):
        plan_run(airway_sheet, design="~ condition + dex")


def test_parse_contrast_errors():
    with pytest.raises(InputError, match="FACTOR,LEVEL,REFERENCE"):
        parse_contrast("dex,trt")
    assert parse_contrast(" dex , trt , untrt ") == ("dex", "trt", "untrt")


def test_outdir_that_is_a_file(tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"), staged_outdir(f):
        pass
    assert f.read_text() == "x"


def test_read_only_outdir(tmp_path):
    # refused on its mode bits, so also when the tests run as root (as CI does)
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(InputError, match="is read-only"), staged_outdir(d):
            pass
        assert list(d.iterdir()) == []
    finally:
        d.chmod(stat.S_IRWXU)


def test_failed_run_leaves_no_output(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(RuntimeError), staged_outdir(out) as stage:
        (stage / "half.tsv").write_text("partial")
        raise RuntimeError("step failed")
    assert not out.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(RuntimeError), staged_outdir(existing) as stage:
        (stage / "half.tsv").write_text("partial")
        raise RuntimeError("step failed")
    assert list(existing.iterdir()) == []


def test_finished_run_moves_everything(tmp_path):
    out = tmp_path / "o"
    with staged_outdir(out) as stage:
        (stage / "sub").mkdir()
        (stage / "sub" / "a.tsv").write_text("a")
        (stage / "b.txt").write_text("b")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == \
        ["b.txt", "sub", "sub/a.tsv"]
