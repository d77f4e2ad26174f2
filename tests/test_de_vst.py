"""Variance stabilizing transformation (heatseq.de.vst) against R DESeq2 1.38.3.

References, made by ``/work/shared/tools/r_refs.R`` (see each folder's SOURCE.md):
``vst_full_R.tsv.gz`` is ``varianceStabilizingTransformation(dds, blind=FALSE)`` (trend fitted
on all genes by ``DESeq()``), ``vst_R.tsv.gz`` is ``vst(dds, blind=FALSE)`` (trend refitted on
1,000 genes evenly spaced by mean). Inputs: R's size factors (``sizefactors_R.tsv``) and, for
the closed form, R's trend coefficients (``dispfit_R.tsv``).

Tolerances: ``TOLERANCE`` below, largest absolute difference on the log2-like scale (the issue
asks for 1e-3); the values measured when these tests were written are noted beside them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq.de.design import design_matrix
from heatseq.de.dispersion_trend import fit_dispersion_trend
from heatseq.de.vst import (
    VSTResult,
    _fmm_spline,
    variance_stabilizing_transformation,
    vst,
    vst_subset,
    vst_transform,
)
from heatseq.errors import InputError

DATA = Path(__file__).parent / "data"

#: what is compared -> largest absolute difference allowed
TOLERANCE = {
    "closed form (R's coefficients)": 1e-9,  # measured 6e-14
    "vst() on 1,000 genes": 1e-6,  # measured 6e-14 (trend refitted here)
    "full fit, parametric": 1e-6,  # measured 4e-12 (bottomly, trend refitted here)
    "local fit (R's gene-wise estimates)": 1e-6,  # measured 3e-8 (numerical integration)
}

SPEC = {  # formula, contrast factor, R's reference level
    "airway": ("~ cell + dex", "dex", "untrt"),
    "bottomly": ("~ batch + strain", "strain", "C57BL/6J"),
    "marioni_kidney_liver": ("~ condition", "condition", "Kidney"),
    "tcga_brca_paired": ("~ condition", "condition", "normal"),
}
PARAMETRIC = ["airway", "bottomly", "tcga_brca_paired"]  # marioni's trend fell back to local


@functools.cache
def load(name: str):
    formula, factor, ref = SPEC[name]
    folder = DATA / name
    samples = pd.read_csv(folder / "samples.csv", dtype=str).set_index("sample")
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)[samples.index]
    sf = pd.read_csv(folder / "sizefactors_R.tsv", sep="\t", index_col=0)["sizeFactor"]
    fit = pd.read_csv(folder / "dispfit_R.tsv", sep="\t", index_col=0)["value"]
    design = design_matrix(samples, formula, reference={factor: ref})
    return counts.T.to_numpy(float), sf.loc[samples.index].to_numpy(), fit, design, samples


@functools.cache
def reference(name: str, which: str) -> np.ndarray:
    samples = load(name)[4]
    table = pd.read_csv(DATA / name / f"{which}.tsv.gz", sep="\t", index_col=0)
    return table[samples.index].to_numpy().T


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    return float(np.nanmax(np.abs(a - b)))


# --------------------------------------------------------------------------- against R


@pytest.mark.parametrize("name", PARAMETRIC)
def test_closed_form_matches_r_full_fit(name):
    counts, sf, fit, _design, _s = load(name)
    assert fit["fitType"] == "parametric"
    coefs = (float(fit["asymptDisp"]), float(fit["extraPois"]))
    values = vst_transform(counts, trend=coefs, size_factors=sf)
    assert _max_diff(values, reference(name, "vst_full_R")) < TOLERANCE[
        "closed form (R's coefficients)"]


@pytest.mark.parametrize("name", list(SPEC))
def test_vst_on_subset_matches_r(name):
    counts, sf, _fit, design, _s = load(name)
    res = vst(counts, size_factors=sf, design=design, blind=False)
    assert isinstance(res, VSTResult)
    assert res.subset is not None and res.subset.shape == (1000,)
    assert res.fit_type == "parametric"  # on the 1,000 genes even marioni's fit succeeds
    assert _max_diff(res.values, reference(name, "vst_R")) < TOLERANCE["vst() on 1,000 genes"]


def test_full_fit_matches_r_bottomly():
    counts, sf, _fit, design, _s = load("bottomly")
    res = variance_stabilizing_transformation(counts, size_factors=sf, design=design,
                                              blind=False)
    assert res.subset is None and not res.blind
    assert _max_diff(res.values, reference("bottomly", "vst_full_R")) < TOLERANCE[
        "full fit, parametric"]


def test_local_fit_integration_matches_r_marioni():
    # marioni's parametric trend fell back to locfit in R; with R's gene-wise estimates the
    # trend is reproduced (1e-9) and the numerical integration + FMM spline is what is tested
    counts, sf, fit, _design, _s = load("marioni_kidney_liver")
    assert fit["fitType"] == "local"
    disp = pd.read_csv(DATA / "marioni_kidney_liver" / "dispersions_R.tsv.gz", sep="\t",
                       index_col=0)
    known = disp["dispGeneEst"].notna().to_numpy()
    trend = fit_dispersion_trend(disp["baseMean"].to_numpy()[known],
                                 disp["dispGeneEst"].to_numpy()[known], fit_type="local")
    values = vst_transform(counts, trend=trend, size_factors=sf)
    assert _max_diff(values, reference("marioni_kidney_liver", "vst_full_R")) < TOLERANCE[
        "local fit (R's gene-wise estimates)"]


# --------------------------------------------------------------------------- independent checks


def test_subset_is_r_selection():
    base_mean = np.array([0.5, 6.0, 100.0, 7.0, 6.0, 50.0, 9.0, 5.0])
    # above 5: positions 1, 2, 3, 4, 5, 6; sorted by mean (ties in input order): 1, 4, 3, 6, 5, 2
    # R: o[round(seq(1, 6, length.out = 4))] = o[c(1, 3, 4, 6)] (round(2.667) = 3, round(4.333) = 4)
    assert vst_subset(base_mean, nsub=4).tolist() == [1, 3, 6, 2]
    with pytest.raises(InputError, match="only 6 genes have a mean normalised count above 5"):
        vst_subset(base_mean, nsub=7)


def test_fmm_spline_reproduces_cubics():
    # the FMM end conditions make the spline exact for any cubic, inside and outside the knots
    x = np.sort(np.random.default_rng(3).uniform(0, 10, 40))
    cubic = np.polynomial.Polynomial([1.0, -2.0, 0.5, 0.03])
    spline = _fmm_spline(x, cubic(x))
    t = np.linspace(-2, 12, 301)
    np.testing.assert_allclose(spline(t), cubic(t), rtol=1e-10, atol=1e-10)


def test_transform_tends_to_log2_and_stabilises_variance(rng):
    # NB counts with the parametric trend: the VST's variance is about constant across means
    a1, a0 = 0.05, 1.0
    means = np.geomspace(20, 20000, 12)
    disp = a1 + a0 / means
    counts = rng.negative_binomial(1 / disp, 1 / (1 + means * disp), size=(4000, 12))
    values = vst_transform(counts, trend=(a1, a0), size_factors=np.ones(4000))
    sds = values.std(axis=0)
    assert sds.max() / sds.min() < 1.15
    high = means > 1000  # for large counts the VST is log2 (less the NB's E[log] bias)
    np.testing.assert_allclose(values.mean(axis=0)[high], np.log2(means[high]), atol=0.1)
    assert np.all(values.mean(axis=0)[~high] > np.log2(means[~high]) - 0.1)
    # and the mean-dispersion form tends to log2 for large counts
    q = np.array([[1e6], [1e7]])
    np.testing.assert_allclose(vst_transform(q, trend=0.05, size_factors=np.ones(2)),
                               np.log2(q), atol=1e-4)


def test_blind_ignores_the_design():
    counts, sf, _fit, design, _s = load("marioni_kidney_liver")
    blind = vst(counts, size_factors=sf, design=design, blind=True)
    intercept = vst(counts, size_factors=sf, design=np.ones((counts.shape[0], 1)), blind=False)
    np.testing.assert_array_equal(blind.values, intercept.values)
    assert blind.blind and blind.trend_coefficients == intercept.trend_coefficients


def test_reuses_fitted_dispersions_when_not_blind():
    counts, sf, _fit, _design, _s = load("airway")

    class Fitted:  # stands in for a Dispersions result: its trend is what is reused
        trend = fit_dispersion_trend(np.array([1.0, 10.0, 100.0]), np.array([1.0, 0.2, 0.05]),
                                     fit_type="parametric")

    res = variance_stabilizing_transformation(counts[:, :50], size_factors=sf, blind=False,
                                              dispersions=Fitted())
    direct = vst_transform(counts[:, :50], trend=Fitted.trend.coefficients, size_factors=sf)
    np.testing.assert_array_equal(res.values, direct)


def test_size_factors_estimated_when_missing():
    counts, _sf, _fit, _design, _s = load("marioni_kidney_liver")
    from heatseq.de.sizefactors import size_factors

    a = vst_transform(counts, trend=(0.01, 1.0))
    b = vst_transform(counts, trend=(0.01, 1.0), size_factors=size_factors(counts))
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- user errors


def test_errors():
    counts, sf, _fit, _design, _s = load("marioni_kidney_liver")
    with pytest.raises(InputError, match="fit_type='loess' is not valid; choose one of "
                                         "parametric, local, mean"):
        vst(counts, size_factors=sf, fit_type="loess")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="fewer than nsub=6000"):
        vst(counts, size_factors=sf, nsub=6000)
    with pytest.raises(InputError, match="blind=False needs the design"):
        vst(counts, size_factors=sf, blind=False)
    with pytest.raises(InputError, match="blind=False needs the fitted dispersions or the design"):
        variance_stabilizing_transformation(counts, size_factors=sf, blind=False)
    with pytest.raises(InputError, match="is not a dispersion trend"):
        vst_transform(counts, trend="parametric", size_factors=sf)
    with pytest.raises(InputError, match="3 size factors were given for 10 samples"):
        vst_transform(counts, trend=(0.01, 1.0), size_factors=sf[:3])
    with pytest.raises(InputError, match="must be a positive asymptDisp"):
        vst_transform(counts, trend=(-0.01, 1.0), size_factors=sf)
    with pytest.raises(InputError, match="design matrix has shape"):
        vst(counts, size_factors=sf, design=np.ones((3, 1)), blind=False)
    with pytest.raises(InputError, match="negative, NaN or infinite"):
        vst_transform(-counts, trend=(0.01, 1.0), size_factors=sf)
