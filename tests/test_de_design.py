"""Design formulas, model matrices and contrasts (heatseq.de.design) against R.

References (R 4.2.2, DESeq2 1.38.3; scripts beside the fixtures):
- ``design_cases/``: ``model.matrix()`` values and column names, term labels, ``assign`` and
  DESeq2 ``resultsNames()`` for 28 formulas on a synthetic sample table; R's ``factor()``
  level order for 82 strings.
- ``lrt_airway/``: the full and reduced model matrices of ``DESeq(test="LRT")`` on airway.
- ``interaction/``: the model matrix and resultsNames of ``~ strain * batch`` on bottomly.
Model matrices must match exactly (they are 0/1 or copies of the covariate), names as
strings.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq.de.design import (
    Design,
    confounded_columns,
    contrast_vector,
    design_matrix,
    factor_levels,
    proposed_design,
)
from heatseq.errors import DesignError, InputError, InputWarning

DATA = Path(__file__).parent / "data"
CASES = DATA / "design_cases"


def _samples(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name / "samples.csv", index_col=0)


def _r_matrix(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", index_col=0)


def _assert_design_matches(design: Design, folder: str, matrix_file: str) -> None:
    ref = _r_matrix(DATA / folder / matrix_file)
    assert design.r_names == tuple(ref.columns)
    assert list(design.matrix.index) == list(ref.index)
    np.testing.assert_array_equal(design.values, ref.to_numpy(dtype=float))


# ---------------------------------------------------------------- R model.matrix cases
_FORMULAS = pd.read_csv(CASES / "formulas.tsv", sep="\t", keep_default_na=False)
_NAMES = pd.read_csv(CASES / "coef_names.tsv", sep="\t", keep_default_na=False)
_MATRICES = pd.read_csv(CASES / "model_matrices.tsv.gz", sep="\t")


@pytest.mark.parametrize("case", list(_FORMULAS.itertuples(index=False)), ids=lambda c: c.formula)
def test_model_matrix_equals_r_model_matrix(case):
    samples = pd.read_csv(CASES / "samples.csv", index_col=0)
    # a plain numeric column of whole numbers is continuous, with a warning (as DESeq2's message)
    integer_covariate = re.search(r"(?<!factor\()\bdose\b", case.formula) is not None
    if integer_covariate:
        with pytest.warns(InputWarning, match=r"'dose' holds whole numbers \(1, 2, 10\).*"
                                              r"factor\(dose\)"):
            d = design_matrix(samples, case.formula)
    else:
        d = design_matrix(samples, case.formula)
    names = _NAMES[_NAMES.case == case.case].sort_values("position")
    assert d.r_names == tuple(names.r_name)
    assert d.assign == tuple(names["assign"])
    assert d.terms == (tuple(case.term_labels.split("|")) if case.term_labels else ())
    if case.status == "ok":  # R DESeq2 fitted it: our coefficient names are its resultsNames
        assert d.coef_names == tuple(names.deseq2_name)
    else:  # a non-syntactic column name: R DESeq2 fails, we name it like make.names would
        assert d.coef_names == ("Intercept", "cell.type_hela_vs_HEK",
                                "treatment_Treated_vs_control")
    m = _MATRICES[_MATRICES.case == case.case]
    ref = m.pivot(index="sample", columns="position", values="value").loc[samples.index]
    np.testing.assert_array_equal(d.values, ref.to_numpy(dtype=float))
    assert list(d.matrix.columns) == list(d.coef_names)
    assert d.matrix.dtypes.eq(np.float64).all()


def test_factor_levels_sort_like_r():
    ref = pd.read_csv(CASES / "factor_levels.tsv", sep="\t", keep_default_na=False, quoting=3)
    shuffled = ref.level.sample(frac=1.0, random_state=7).tolist()
    assert factor_levels(shuffled + shuffled[:5]) == tuple(ref.level)


def test_factor_levels_numbers_and_booleans():
    assert factor_levels([10, 2, 1, 2]) == ("1", "2", "10")
    assert factor_levels([1.5, 10.0, 2.0]) == ("1.5", "2", "10")
    assert factor_levels(pd.Series([True, False, True])) == ("FALSE", "TRUE")
    assert factor_levels(["b", None, "a"]) == ("a", "b")


# ---------------------------------------------------------------- LRT and interaction refs
def test_lrt_airway_full_and_reduced_equal_r():
    s = _samples("airway")
    full = design_matrix(s, "~ cell + dex", reference={"dex": "untrt"})
    reduced = design_matrix(s, "~ cell")
    _assert_design_matches(full, "lrt_airway", "model_matrix_R.tsv")
    _assert_design_matches(reduced, "lrt_airway", "model_matrix_reduced_R.tsv")
    names = pd.read_csv(DATA / "lrt_airway" / "coef_names_R.tsv", sep="\t")
    assert full.coef_names == tuple(names.deseq2_name)
    assert full.coef_names[-1] == "dex_trt_vs_untrt"  # what results() of the LRT reports
    assert full.n_coefs - reduced.n_coefs == 1  # LRT degrees of freedom
    # the reduced model's columns are the full model's first columns
    np.testing.assert_array_equal(full.values[:, :reduced.n_coefs], reduced.values)


def test_interaction_bottomly_equals_r():
    s = _samples("bottomly")
    ref = {"strain": "C57BL/6J"}
    d = design_matrix(s, "~ strain * batch", reference=ref)
    _assert_design_matches(d, "interaction", "model_matrix_R.tsv")
    names = pd.read_csv(DATA / "interaction" / "coef_names_R.tsv", sep="\t")
    assert d.coef_names == tuple(names.deseq2_name)
    assert d.factors == {"strain": ("C57BL/6J", "DBA/2J"), "batch": ("exp4", "exp6", "exp7")}
    assert d.terms == ("strain", "batch", "strain:batch")
    assert d.coef_levels[4] == (("strain", "DBA/2J"), ("batch", "exp6"))
    reduced = design_matrix(s, "~ strain + batch", reference=ref)
    _assert_design_matches(reduced, "interaction", "model_matrix_reduced_R.tsv")
    # the list contrast R used for "strain effect within exp6"
    v = contrast_vector(d, [["strain_DBA.2J_vs_C57BL.6J", "strainDBA.2J.batchexp6"]])
    np.testing.assert_array_equal(v, [0, 1, 0, 0, 1, 0])
    # R-style names are accepted too
    np.testing.assert_array_equal(contrast_vector(d, "strainDBA/2J:batchexp6"),
                                  contrast_vector(d, "strainDBA.2J.batchexp6"))


def test_default_reference_is_r_sort_order():
    d = design_matrix(_samples("airway"), "~ cell + dex")
    assert d.factors["dex"] == ("trt", "untrt")  # R's factor() order; common.R relevels
    assert d.coef_names[-1] == "dex_untrt_vs_trt"
    assert d.factors["cell"] == ("N052611", "N061011", "N080611", "N61311")


# ---------------------------------------------------------------- contrasts
def test_contrast_vectors_are_differences_of_sample_rows():
    """Independent check: for two samples that differ only in one factor, X[a] - X[b] is the
    contrast of a's level vs b's level (the expected log fold change c'beta)."""
    s = _samples("airway")
    d = design_matrix(s, "~ cell + dex", reference={"dex": "untrt"})
    x = d.matrix
    for factor, a, b in [("dex", "SRR1039509", "SRR1039508"),    # trt vs untrt, cell N61311
                         ("dex", "SRR1039508", "SRR1039509"),    # untrt vs trt: negated
                         ("cell", "SRR1039520", "SRR1039516"),   # N061011 vs N080611
                         ("cell", "SRR1039512", "SRR1039508")]:  # reference vs another
        c = contrast_vector(d, (factor, s.loc[a, factor], s.loc[b, factor]))
        np.testing.assert_array_equal(c, (x.loc[a] - x.loc[b]).to_numpy())
    np.testing.assert_array_equal(contrast_vector(d, "dex_trt_vs_untrt"), [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(contrast_vector(d, np.array([0, 1, -1, 0, 0.5])),
                                  [0, 1, -1, 0, 0.5])


def test_contrast_without_intercept_and_factor_call():
    s = pd.read_csv(CASES / "samples.csv", index_col=0)
    d = design_matrix(s, "~ 0 + group")
    np.testing.assert_array_equal(contrast_vector(d, ("group", "c 3", "A-1")), [-1, 0, 1])
    d = design_matrix(s, "~ factor(dose) + treatment")
    np.testing.assert_array_equal(contrast_vector(d, ("dose", "10", "2")), [0, -1, 1, 0])
    np.testing.assert_array_equal(contrast_vector(d, ("factor(dose)", "10", "1")),
                                  [0, 0, 1, 0])


# ---------------------------------------------------------------- design errors
@pytest.fixture
def toy() -> pd.DataFrame:
    return pd.DataFrame({"batch": ["b1", "b1", "b1", "b2", "b2", "b2"],
                         "condition": ["A", "A", "A", "B", "B", "B"],
                         "sex": ["f", "m", "f", "m", "f", "m"],
                         "site": ["x"] * 6,
                         "age": [30.5, 41.0, 22.5, 35.0, 50.5, 28.0]},
                        index=[f"s{i}" for i in range(6)])


def test_error_unknown_column(toy):
    with pytest.raises(DesignError, match=r"Column 'condtion' in the design '~ condtion' is not "
                       r"in the sample table; columns are: batch, condition, sex, site, age\. "
                       r"Did you mean 'condition'\?"):
        design_matrix(toy, "~ condtion")


def test_error_factor_with_one_level(toy):
    with pytest.raises(DesignError, match=r"Column 'site' has one value \('x'\) in all 6 "
                       r"samples; .* Remove 'site' from the design"):
        design_matrix(toy, "~ site + condition")


def test_error_confounded_columns(toy):
    with pytest.raises(DesignError, match=r"not of full rank \(rank 2 for 3 coefficients\).*"
                       r"batch and condition are confounded: every batch has one condition.*"
                       r"condition_B_vs_A = batch_b2_vs_b1"):
        design_matrix(toy, "~ batch + condition")


def test_error_nested_column_names_the_direction():
    s = pd.DataFrame({"ind": ["i1", "i1", "i2", "i2", "i3", "i3", "i4", "i4"],
                      "cond": ["A", "A", "A", "A", "B", "B", "B", "B"]})
    with pytest.raises(DesignError, match=r"ind and cond are confounded: every ind has one "
                       r"cond;"):
        design_matrix(s, "~ ind + cond")


def test_error_interaction_cell_without_samples():
    s = pd.DataFrame({"g": ["a", "a", "b", "b", "a", "a", "b"],
                      "t": ["x", "x", "x", "x", "y", "y", "x"]})
    with pytest.raises(DesignError, match=r"coefficient gb\.ty is zero for every sample: no "
                       r"sample has g b and t y"):
        design_matrix(s, "~ g * t")


def test_error_no_replicates(toy):
    s = toy.iloc[[0, 3]]
    with pytest.raises(DesignError, match=r"'~ condition' has 2 samples and 2 coefficients: no "
                       r"replicates to estimate dispersion"):
        design_matrix(s, "~ condition")


def test_error_more_coefficients_than_samples(toy):
    with pytest.raises(DesignError, match=r"has 4 coefficients but there are only 3 samples"):
        design_matrix(toy.iloc[[0, 1, 3]], "~ sex * condition")


@pytest.mark.parametrize(("formula", "message", "caret"), [
    ("~ batch +", "expected a column name, 0, 1 or '(' but found the end of the design", 9),
    ("~ batch condition", "unexpected 'condition' (missing '+'?)", 8),
    ("~ log(age)", "the function log() is not supported in a design", 2),
    ("~ (batch + sex", "expected ')'", 14),
    ("~ batch $ sex", "unexpected character '$'", 8),
    ("counts ~ batch", "a design has nothing left of '~'", 0),
    ("batch + sex", "a design starts with '~'", 0),
    ("~ .", "'.' (all columns) is not supported", 2),
    ("~ batch + 2", "the number 2 has no meaning here", 10),
    ("~ (batch + sex)^0", "'^' needs a whole number of at least 1", 16),
    ("~ 0:batch", "':' cannot combine the numbers 0 or 1 with columns", 3),
])
def test_error_syntax_with_caret(toy, formula, message, caret):
    with pytest.raises(DesignError) as info:
        design_matrix(toy, formula)
    text = str(info.value)
    assert text.startswith(f"Cannot read the design {formula!r}: {message}")
    assert f"\n  {formula}\n  {' ' * caret}^\n" in text


def test_error_missing_values(toy):
    s = toy.copy()
    s.loc["s2", "sex"] = np.nan
    with pytest.raises(DesignError, match=r"Column 'sex' of the sample table has missing "
                       r"values \(samples s2\)"):
        design_matrix(s, "~ sex + condition")


def test_error_reference(toy):
    with pytest.raises(DesignError, match=r"Reference level 'C' is not a level of 'condition'; "
                       r"levels are: A, B\."):
        design_matrix(toy, "~ sex + condition", reference={"condition": "C"})
    with pytest.raises(DesignError, match=r"reference names 'batch', which is not a factor of "
                       r"the design '~ sex \+ condition'; factors are: sex, condition\."):
        design_matrix(toy, "~ sex + condition", reference={"batch": "b2"})


def test_error_column_twice_and_empty(toy):
    with pytest.raises(DesignError, match=r"uses column 'age' twice \(age and factor\(age\)\)"):
        design_matrix(toy, "~ age + factor(age)")
    with pytest.raises(DesignError, match=r"has no terms and no intercept"):
        design_matrix(toy, "~ 0")
    with pytest.raises(InputError, match=r"samples must be a pandas DataFrame, not dict"):
        design_matrix({"a": [1]}, "~ a")  # type: ignore[arg-type]


def test_error_levels_with_the_same_coefficient_name():
    s = pd.DataFrame({"g": ["a b", "a b", "a.b", "a.b", "c", "c"]})
    with pytest.raises(DesignError, match=r"Different levels give the same coefficient name "
                       r"'g_a.b_vs_c'"):
        design_matrix(s, "~ g", reference={"g": "c"})


def test_unused_categories_are_dropped_with_a_warning(toy):
    s = toy.assign(condition=pd.Categorical(toy.condition, categories=["B", "Z", "A"]))
    with pytest.warns(InputWarning, match=r"Factor 'condition': levels without samples were "
                      r"dropped: Z\."):
        d = design_matrix(s, "~ sex + condition")
    assert d.factors["condition"] == ("B", "A")  # the Categorical's order, not sorted
    assert d.coef_names[-1] == "condition_A_vs_B"


def test_continuous_covariate_without_warning(toy):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = design_matrix(toy, "~ age + sex")
    assert d.continuous == ("age",)
    np.testing.assert_array_equal(d.matrix["age"], toy.age)


# ---------------------------------------------------------------- contrast errors
@pytest.fixture
def airway_design() -> Design:
    return design_matrix(_samples("airway"), "~ cell + dex", reference={"dex": "untrt"})


def test_error_contrast_level_not_in_factor(airway_design):
    with pytest.raises(DesignError, match=r"Contrast level 'treated' is not a level of 'dex'; "
                       r"levels are: untrt, trt\."):
        contrast_vector(airway_design, ("dex", "treated", "untrt"))


def test_error_contrast_factor_not_in_design(airway_design):
    with pytest.raises(DesignError, match=r"Contrast factor 'condition' is not a factor of the "
                       r"design '~ cell \+ dex'; factors are: cell, dex\."):
        contrast_vector(airway_design, ("condition", "trt", "untrt"))


def test_error_contrast_level_equals_reference(airway_design):
    with pytest.raises(DesignError, match=r"compares level 'trt' of 'dex' with itself; give two "
                       r"different levels, e\.g\. \('dex', 'trt', 'untrt'\)"):
        contrast_vector(airway_design, ("dex", "trt", "trt"))


def test_error_numeric_contrast_wrong_length(airway_design):
    with pytest.raises(DesignError, match=r"The numeric contrast has 2 values but the design "
                       r"'~ cell \+ dex' has 5 coefficients \(Intercept, cell_N061011_vs_N052611"):
        contrast_vector(airway_design, [0.0, 1.0])
    with pytest.raises(DesignError, match=r"finite values, not all zero"):
        contrast_vector(airway_design, np.zeros(5))


def test_error_unknown_coefficient(airway_design):
    with pytest.raises(DesignError, match=r"Coefficient 'dex_trt_vs_untreated' is not in the "
                       r"design '~ cell \+ dex'; coefficients \(resultsNames\) are: Intercept, "
                       r".*dex_trt_vs_untrt\. Did you mean 'dex_trt_vs_untrt'\?"):
        contrast_vector(airway_design, "dex_trt_vs_untreated")


def test_error_other_contrasts():
    s = pd.read_csv(CASES / "samples.csv", index_col=0)
    d = design_matrix(s, "~ age + treatment + treatment:genotype")
    with pytest.raises(DesignError, match=r"'age' is a continuous covariate .* use its "
                       r"coefficient name 'age'"):
        contrast_vector(d, ("age", "30", "20"))
    with pytest.raises(DesignError, match=r"Factor 'genotype' appears only in interaction terms"):
        contrast_vector(d, ("genotype", "WT", "KO"))
    with pytest.raises(DesignError, match=r"'age' is named twice in the list contrast"):
        contrast_vector(d, [["age"], ["age"]])
    with pytest.raises(DesignError, match=r"Cannot use the contrast 3\.5"):
        contrast_vector(d, 3.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- sample-sheet helpers
@pytest.mark.parametrize(("folder", "expected"), [
    ("airway", [("condition", "dex")]),
    ("bottomly", [("condition", "strain"), ("batch", "experiment_number")]),
    ("marioni_kidney_liver", [("condition", "tissue"), ("condition", "tissue_run"),
                              ("tissue", "tissue_run"), ("run", "tissue_run")]),
    ("tcga_brca_paired", [("condition", "sample_type_code"), ("condition", "lacen_trait"),
                          ("sample_type_code", "lacen_trait")]),
])
def test_confounded_columns_of_real_sheets(folder, expected):
    assert confounded_columns(_samples(folder)) == expected


@pytest.mark.parametrize(("folder", "expected"), [
    ("airway", "~ cell + condition"),        # dex is an alias of condition
    ("bottomly", "~ batch + condition"),     # strain alias; numeric lane/experiment left out
    ("marioni_kidney_liver", "~ condition"),  # tissue_run is nested in condition
    ("tcga_brca_paired", "~ patient + condition"),  # paired: both samples of each patient
])
def test_proposed_design_of_real_sheets(folder, expected, caplog):
    s = _samples(folder)
    with caplog.at_level("INFO", logger="heatseq.de.design"):
        formula = proposed_design(s)
    assert formula == expected
    design_matrix(s, formula)  # the proposal can be fitted
    if folder == "airway":
        assert "'dex' left out, it is an alias of 'condition'" in caplog.text


def test_proposed_design_needs_a_condition():
    s = pd.DataFrame({"id": ["a", "b", "c"], "site": ["x", "x", "x"]})
    with pytest.raises(DesignError, match=r"No column of the sample table can be a condition"):
        proposed_design(s)
