"""Wald and LRT tests, Cook's distances, outlier replacement and independent filtering.

The whole ``results()`` path of DESeq2 1.38.3 is rebuilt from heatseq's parts with R's size
factors and final dispersions (``tests/data/<dataset>/sizefactors_R.tsv``,
``dispersions_R.tsv.gz``) and compared with ``deseq2_R.tsv.gz`` (``results(dds,
contrast=...)``, alpha 0.1, Cook's cutoff and independent filtering at their defaults).

Tolerances:
  genes with baseMean >= 10 and a p-value: log2FoldChange, lfcSE, stat Pearson >= 0.9999,
  |diff| < 0.01 for >= 99.9 % of genes; pvalue relative difference < 1e-4 for >= 99.9 %;
  NA patterns of pvalue and padj identical; padj < 0.05 Jaccard >= 0.99 (and >= 0.999).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2, nbinom, norm

from heatseq.de.cooks import (
    cooks_cutoff_default,
    cooks_distance,
    cooks_outliers,
    max_cooks,
    n_or_more_in_cell,
    refit_genes,
    replace_outliers,
    robust_dispersions,
    trimmed_mean,
)
from heatseq.de.filtering import (
    filtered_p,
    independent_filtering,
    lowess,
    p_adjust_bh,
    quantile_type7,
)
from heatseq.de.glm import fit_nb_glm
from heatseq.de.lrt import lrt_from_fits, lrt_test
from heatseq.de.wald import contrast_all_zero, contrast_samples, wald_test
from heatseq.errors import DesignError, InputError
from r_reference import SPEC, design_matrix, load

DATA = Path(__file__).parent / "data"



@functools.cache
def deseq_results(name: str) -> dict:
    """DESeq2's nbinomWaldTest + refitWithoutOutliers + results(), from heatseq's parts."""
    y, samples, sf, disp, _ref, xdf = load(name)
    terms, factor, num, den = SPEC[name]
    x = xdf.to_numpy()
    m, p = x.shape
    d = disp["dispersion"].to_numpy()
    fit = fit_nb_glm(y, design=x, size_factors=sf, dispersions=d)
    cooks = cooks_distance(y, fit)
    base_mean = (y / sf[:, None]).mean(axis=0)
    now_zero = np.zeros(y.shape[1], dtype=bool)
    maxc = None
    replaced = None
    if n_or_more_in_cell(x, 7).any():
        replaced = replace_outliers(y, cooks, design=x, size_factors=sf)
        nonzero = replaced.counts.sum(axis=0) > 0
        genes = replaced.replace & nonzero
        if genes.any():
            # R's final dispersions of these genes are those re-estimated on replaced counts
            fit = refit_genes(fit, replaced.counts, genes=genes, dispersions=d)
            base_mean = (replaced.counts / sf[:, None]).mean(axis=0)
            now_zero = replaced.replace & ~nonzero
            maxc = max_cooks(cooks, design=x, replaceable=replaced.replaceable)
    if maxc is None:
        maxc = max_cooks(cooks, design=x)
    level = samples[factor].astype(str)
    zero = contrast_all_zero(y, samples=level.isin([num, den]).to_numpy())
    contrast = np.zeros(p)
    contrast[list(xdf.columns).index(f"{factor}{num}")] = 1.0
    res = wald_test(fit, contrast=contrast, zero_genes=zero)
    lfc, se, stat, pvalue = (
        a.copy() for a in (res.log2FoldChange, res.lfcSE, res.stat, res.pvalue)
    )
    two_group = len(terms) == 1 and samples[terms[0]].nunique() == 2
    outlier = cooks_outliers(
        maxc, cutoff=cooks_cutoff_default(m, p), counts=y, cooks=cooks, two_group_design=two_group
    )
    pvalue[outlier] = np.nan
    lfc[now_zero], se[now_zero], stat[now_zero], pvalue[now_zero] = 0.0, 0.0, 0.0, 1.0
    padj, info = independent_filtering(pvalue, base_mean, alpha=0.1)
    return {"baseMean": base_mean, "log2FoldChange": lfc, "lfcSE": se, "stat": stat,
            "pvalue": pvalue, "padj": padj, "info": info, "outlier": outlier,
            "replaced": replaced, "cooks": cooks}  # fmt: skip


@pytest.mark.parametrize("name", list(SPEC))
def test_results_match_deseq2(name):
    ref = load(name)[4]
    res = deseq_results(name)
    for col in ("pvalue", "padj"):
        assert (np.isnan(res[col]) == ref[col].isna().to_numpy()).all(), col
    # baseMean of genes with replaced counts follows the replaced counts; R flagged its
    # outliers with dispersions from before the refit, so a few genes differ in tcga
    close = np.isclose(res["baseMean"], ref["baseMean"].to_numpy(), rtol=1e-10, atol=0)
    assert np.mean(close) >= 0.9995
    use = (ref["baseMean"] >= 10).to_numpy() & ref["pvalue"].notna().to_numpy()
    for col in ("log2FoldChange", "lfcSE", "stat"):
        mine, r = res[col][use], ref[col].to_numpy()[use]
        assert np.corrcoef(mine, r)[0, 1] >= 0.9999, col
        assert np.mean(np.abs(mine - r) < 0.01) >= 0.999, col
    tested = ref["pvalue"].notna().to_numpy()
    rel = np.abs(res["pvalue"][tested] - ref["pvalue"].to_numpy()[tested])
    rel /= np.maximum(ref["pvalue"].to_numpy()[tested], 1e-300)
    assert np.mean(rel < 1e-4) >= 0.999
    mine_sig = res["padj"] < 0.05
    r_sig = (ref["padj"] < 0.05).to_numpy()
    jaccard = (mine_sig & r_sig).sum() / (mine_sig | r_sig).sum()
    assert jaccard >= 0.999, jaccard


def test_cooks_flags_match_deseq2():
    # bottomly: three genes lose their p-value to Cook's distance in R; marioni none
    # (the two-group rule keeps them); airway has no cell with 3 replicates
    for name in ("bottomly", "marioni_kidney_liver", "airway"):
        ref = load(name)[4]
        r_out = (ref["pvalue"].isna() & (ref["baseMean"] > 0)).to_numpy()
        np.testing.assert_array_equal(deseq_results(name)["outlier"], r_out)
    assert deseq_results("bottomly")["outlier"].sum() == 3


def test_replacement_flags_match_deseq2():
    # tcga: 30 + 30 samples, all replaceable; R's flags were computed with its dispersions
    # before the refit, ours with the final ones, so a handful may differ
    disp = load("tcga_brca_paired")[3]
    rep = deseq_results("tcga_brca_paired")["replaced"]
    r_rep = (disp["replace"] == True).to_numpy()  # noqa: E712 (NA-safe)
    assert rep.replaceable.all()
    assert np.mean(rep.replace == r_rep) >= 0.9995
    assert abs(int(rep.replace.sum()) - int(r_rep.sum())) <= 3


def test_robust_dispersions_and_trimmed_mean():
    # R: mean(c(1, 2, 3, 100), trim = 0.2) drops floor(4 * 0.2) = 0 values -> 26.5;
    # mean(c(1:9, 100), trim = 0.2) drops 2 at each end -> 5.5
    assert trimmed_mean(np.array([1.0, 2, 3, 100]), trim=0.2) == 26.5
    assert trimmed_mean(np.r_[np.arange(1.0, 10), 100], trim=0.2) == 5.5
    y = np.array([[10, 20], [12, 0], [9, 5], [11, 7], [30, 9], [31, 1], [29, 4]], float)
    x = np.column_stack([np.ones(7), [0, 0, 0, 0, 1, 1, 1]])
    alpha = robust_dispersions(y, design=x, size_factors=np.ones(7))
    # gene 1 by hand: cells of 4 (trim 1/4, scale 1.86) and 3 (trim 1/3, scale 2.04)
    g1 = y[:, 0]
    m4 = np.mean(np.sort(g1[:4])[1:3])
    v4 = 1.86 * np.mean(np.sort((g1[:4] - m4) ** 2)[1:3])
    m3 = np.sort(g1[4:])[1]
    v3 = 2.04 * np.sort((g1[4:] - m3) ** 2)[1]
    mean = g1.mean()
    assert alpha[0] == pytest.approx(max((max(v4, v3) - mean) / mean**2, 0.04))
    assert alpha[1] >= 0.04


def test_cooks_distance_formula(rng):
    y = rng.negative_binomial(10, 0.1, size=(8, 30)).astype(float)
    y[3, 0] = 2000.0
    x = np.column_stack([np.ones(8), np.repeat([0.0, 1.0], 4)])
    fit = fit_nb_glm(y, design=x, size_factors=np.ones(8), dispersions=np.full(30, 0.1))
    c = cooks_distance(y, fit)
    a = robust_dispersions(y, design=x, size_factors=np.ones(8))
    h = fit.hat_diagonals
    expected = (y - fit.mu) ** 2 / (fit.mu + a * fit.mu**2) / 2 * h / (1 - h) ** 2
    np.testing.assert_allclose(c, expected, rtol=1e-12)
    assert np.argmax(c[:, 0]) == 3 and c[3, 0] > cooks_cutoff_default(8, 2)
    assert cooks_cutoff_default(10, 2) == pytest.approx(8.649111, rel=1e-6)  # R: qf(.99, 2, 8)
    assert cooks_cutoff_default(2, 2) == np.inf
    mx = max_cooks(c, design=x)
    np.testing.assert_allclose(mx, c.max(axis=0))
    assert np.isnan(max_cooks(c, design=x, replaceable=np.ones(8, bool))).all()
    with pytest.raises(InputError, match="at least 3 replicates"):
        replace_outliers(y, c, design=x, size_factors=np.ones(8), min_replicates=2)
    rep = replace_outliers(y, c, design=x, size_factors=np.ones(8), min_replicates=3)
    assert rep.replace[0] and rep.counts[3, 0] == np.trunc(trimmed_mean(y[:, 0], trim=0.2))
    with pytest.raises(InputError, match="two_group_design=True needs"):
        cooks_outliers(mx, cutoff=1.0, two_group_design=True)


def test_independent_filtering_matches_deseq2_given_r_pvalues():
    # isolates pvalueAdjustment: R's p-values and baseMean in, R's padj out
    for name in SPEC:
        ref = load(name)[4]
        padj, info = independent_filtering(ref["pvalue"].to_numpy(), ref["baseMean"].to_numpy())
        r = ref["padj"].to_numpy()
        np.testing.assert_array_equal(np.isnan(padj), np.isnan(r))
        ok = ~np.isnan(r)
        np.testing.assert_allclose(padj[ok], r[ok], rtol=1e-10)
        assert info.num_rej.shape == (50,) and info.thetas[-1] == 0.95
        assert info.threshold == quantile_type7(ref["baseMean"].to_numpy(), info.theta)


def test_independent_filtering_without_signal_does_not_filter(rng):
    p = rng.random(3000)
    padj, info = independent_filtering(p, rng.gamma(1.0, 50.0, 3000))
    assert info.index == 0 and info.theta == 0.0
    np.testing.assert_allclose(padj, p_adjust_bh(p))
    with pytest.raises(InputError, match="alpha must be between 0 and 1"):
        independent_filtering(p, p, alpha=1.5)
    with pytest.raises(InputError, match="equal length"):
        independent_filtering(p, p[:10])


def test_p_adjust_bh_like_r():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "BH") -> all 0.05
    np.testing.assert_allclose(p_adjust_bh(np.array([0.01, 0.02, 0.03, 0.04, 0.05])), 0.05)
    # R: p.adjust(c(0.04, NA, 0.001, 0.5), "BH") -> 0.06, NA, 0.003, 0.5
    out = p_adjust_bh(np.array([0.04, np.nan, 0.001, 0.5]))
    np.testing.assert_allclose(out, [0.06, np.nan, 0.003, 0.5])
    assert np.isnan(p_adjust_bh(np.array([np.nan]))).all()
    fp = filtered_p(
        np.array([1.0, 2, 3, 4]), np.array([0.01, 0.02, 0.5, 0.03]), theta=np.array([0, 0.5])
    )
    np.testing.assert_allclose(fp[:, 0], p_adjust_bh(np.array([0.01, 0.02, 0.5, 0.03])))
    np.testing.assert_allclose(fp[:, 1], [np.nan, np.nan, 0.5, 0.06])


def test_lowess_matches_r_on_cars():
    # R: unique(round(lowess(cars)$y, 6)) for R's datasets::cars (speed, dist)
    speed = [4, 4, 7, 7, 8, 9, 10, 10, 10, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14,
             15, 15, 15, 16, 16, 17, 17, 17, 18, 18, 18, 18, 19, 19, 19, 20, 20, 20, 20, 20, 22,
             23, 24, 24, 24, 24, 25]  # fmt: skip
    dist = [2, 10, 4, 22, 16, 10, 18, 26, 34, 17, 28, 14, 20, 24, 28, 26, 34, 34, 46, 26, 36, 60,
            80, 20, 26, 54, 32, 40, 32, 40, 50, 42, 56, 76, 84, 36, 46, 68, 32, 48, 52, 56, 64,
            66, 54, 70, 92, 93, 120, 85]  # fmt: skip
    r_y = [4.965459, 13.124495, 15.858633, 18.579691, 21.280313, 24.129277, 27.119549,
           30.027276, 32.962506, 36.757728, 40.435075, 43.463492, 46.885479, 50.793152,
           56.491224, 67.585824, 73.079695, 78.643164, 84.328698]  # fmt: skip
    xs, ys = lowess(np.array(speed, float), np.array(dist, float))
    np.testing.assert_array_equal(xs, np.sort(speed))
    np.testing.assert_allclose(np.unique(np.round(ys, 6)), r_y, atol=1e-6)
    with pytest.raises(InputError, match="same length"):
        lowess(np.arange(3.0), np.arange(4.0))


def test_quantile_type7_is_r_default(rng):
    v = rng.gamma(0.5, 10, 1001)
    probs = np.linspace(0, 1, 37)
    np.testing.assert_allclose(quantile_type7(v, probs), np.quantile(v, probs), rtol=1e-14)


def _two_group(rng, n=300):
    x = np.column_stack([np.ones(10), np.repeat([0.0, 1.0], 5)])
    beta = np.column_stack([rng.uniform(3, 7, n), np.where(rng.random(n) < 0.3, 2.0, 0.0)])
    mu = np.exp(x @ beta.T)
    y = rng.negative_binomial(10, 10 / (10 + mu)).astype(float)
    return y, x, np.full(n, 0.1)


def test_wald_contrast_equals_refit_with_other_reference():
    # airway, cell N061011 vs N080611: the contrast (0, 1, -1, 0, 0) of the fit with
    # reference N052611 equals the coefficient of a fit with reference N080611
    y, samples, sf, disp, _ref, _x = load("airway")
    d = disp["dispersion"].to_numpy()
    keep = (y.sum(axis=0) > 0) & (disp["baseMean"] >= 10).to_numpy()
    x1 = design_matrix(samples, ["cell", "dex"], {"dex": "untrt"})
    x2 = design_matrix(samples, ["cell", "dex"], {"dex": "untrt", "cell": "N080611"})
    f1 = fit_nb_glm(y[:, keep], design=x1.to_numpy(), size_factors=sf, dispersions=d[keep])
    f2 = fit_nb_glm(y[:, keep], design=x2.to_numpy(), size_factors=sf, dispersions=d[keep])
    c = np.zeros(5)
    c[list(x1.columns).index("cellN061011")] = 1
    c[list(x1.columns).index("cellN080611")] = -1
    c2 = np.zeros(5)
    c2[list(x2.columns).index("cellN061011")] = 1
    a = wald_test(f1, contrast=c)
    b = wald_test(f2, contrast=c2)
    assert np.mean(np.abs(a.log2FoldChange - b.log2FoldChange) < 1e-4) > 0.999
    assert np.mean(np.abs(a.lfcSE - b.lfcSE) < 1e-4) > 0.999
    assert np.mean(np.abs(a.pvalue - b.pvalue) < 1e-4) > 0.999
    assert not contrast_samples(x1.to_numpy(), c2).any()  # one-signed: DESeq2 never zeros
    assert contrast_samples(x1.to_numpy(), c).sum() == 4


def test_wald_thresholds(rng):
    y, x, d = _two_group(rng)
    fit = fit_nb_glm(y, design=x, size_factors=np.ones(10), dispersions=d)
    c = np.array([0.0, 1.0])
    base = wald_test(fit, contrast=c)
    lfc, se = base.log2FoldChange, base.lfcSE
    np.testing.assert_allclose(base.pvalue, 2 * norm.sf(np.abs(lfc / se)), rtol=1e-10)
    t = 0.5
    ga = wald_test(fit, contrast=c, lfc_threshold=t)
    np.testing.assert_allclose(ga.pvalue, np.minimum(1, 2 * norm.sf((np.abs(lfc) - t) / se)))
    np.testing.assert_allclose(ga.stat, np.sign(lfc) * np.maximum((np.abs(lfc) - t) / se, 0))
    gr = wald_test(fit, contrast=c, lfc_threshold=t, alt_hypothesis="greater")
    np.testing.assert_allclose(gr.pvalue, norm.sf((lfc - t) / se))
    le = wald_test(fit, contrast=c, lfc_threshold=t, alt_hypothesis="less")
    np.testing.assert_allclose(le.pvalue, norm.sf((-t - lfc) / se))
    la = wald_test(fit, contrast=c, lfc_threshold=t, alt_hypothesis="lessAbs")
    expected = np.maximum(norm.sf((t - lfc) / se), norm.sf((lfc + t) / se))
    np.testing.assert_allclose(la.pvalue, expected)
    tt = wald_test(fit, contrast=c, use_t=True, df=8)
    assert (tt.pvalue >= base.pvalue - 1e-15).all()
    zero = np.zeros(y.shape[1], bool)
    zero[:3] = True
    z = wald_test(fit, contrast=c, zero_genes=zero)
    assert (z.log2FoldChange[:3] == 0).all() and (z.pvalue[:3] == 1).all()
    assert (z.lfcSE[:3] == se[:3]).all()
    frame = base.to_frame()
    assert list(frame.columns) == ["log2FoldChange", "lfcSE", "stat", "pvalue"]
    with pytest.raises(InputError, match="alt_hypothesis='bigger' is not valid; choose one of"):
        wald_test(fit, contrast=c, alt_hypothesis="bigger")
    with pytest.raises(InputError, match="needs a positive lfc_threshold"):
        wald_test(fit, contrast=c, alt_hypothesis="lessAbs")
    with pytest.raises(InputError, match="needs df="):
        wald_test(fit, contrast=c, use_t=True)
    with pytest.raises(DesignError, match="one per coefficient"):
        wald_test(fit, contrast=np.ones(3))
    with pytest.raises(DesignError, match="not all zero"):
        wald_test(fit, contrast=np.zeros(2))


def test_lrt(rng):
    y, x, d = _two_group(rng)
    res = lrt_test(y, full=x, reduced=x[:, :1], dispersions=d, size_factors=np.ones(10))
    full, red = res.full_fit, res.reduced_fit
    # independent likelihoods from scipy at each model's fitted means
    ll_full = nbinom.logpmf(y, 1 / d, 1 / (1 + d * full.mu)).sum(axis=0)
    ll_red = nbinom.logpmf(y, 1 / d, 1 / (1 + d * red.mu)).sum(axis=0)
    np.testing.assert_allclose(res.stat, 2 * (ll_full - ll_red), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.pvalue, chi2.sf(res.stat, 1))
    assert res.df == 1 and (res.stat > -1e-8).all()
    # the reduced ~ 1 model is DESeq2's shortcut: the mean of normalised counts
    np.testing.assert_allclose(np.exp(red.beta[:, 0]), y.mean(axis=0))
    # LFC and SE reported from the full model's last coefficient
    wald = wald_test(full, contrast=np.array([0.0, 1.0]))
    np.testing.assert_allclose(res.log2FoldChange, wald.log2FoldChange)
    np.testing.assert_allclose(res.lfcSE, wald.lfcSE)
    # for one coefficient the LRT and Wald tests agree on which genes change
    assert np.corrcoef(res.stat, wald.stat**2)[0, 1] > 0.95
    assert list(res.to_frame().columns) == ["log2FoldChange", "lfcSE", "stat", "pvalue"]
    with pytest.raises(DesignError, match="must drop at least one term"):
        lrt_test(y, full=x[:, :1], reduced=x, dispersions=d, size_factors=np.ones(10))
    with pytest.raises(DesignError, match="full model must have more"):
        lrt_from_fits(red, full)
    with pytest.raises(DesignError, match="finite weights"):
        lrt_from_fits(full, red, contrast=np.zeros(2))
