"""heatseq.qc: QC metrics, PCA, batch removal and the replicate verdict.

Data: ``tests/data/airway`` (``~ cell + dex``, condition dex) and ``tests/data/bottomly``
(``~ batch + strain``, condition strain), counts and DESeq2 1.38.3 outputs (see their
SOURCE.md). What the figures show, from my own look at the PCA and the sample distance
heatmap (``pca_plot`` and ``sample_heatmap(sample_distances(vst))``, blind VST):

* airway: PC1 (41%) puts the 4 ``trt`` samples on one side and the 4 ``untrt`` on the other;
  PC2 (26%) orders the cell lines (N080611 lowest, N061011 highest), each line's pair close.
  In the distance tree the N080611 pair (SRR1039516/SRR1039517) branches off first; the
  other three untrt and three trt samples form one branch each. So: dex replicates cluster,
  cell line is the second factor, and neither dex group is a single branch until the cell
  line is accounted for.
* bottomly: PC1 (40%) separates the strains, PC2 (22%) puts experiment exp4 apart; in the tree
  the exp4 samples of both strains branch together. With the batch removed, each strain is one
  branch.

Tolerances: QC metrics and PCA against independent numpy/pandas code, relative 1e-10 (both
are exact computations in float64); size factors against R's, relative 1e-10 (measured 3e-16).
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from heatseq.cluster import expression_values, sample_distances
from heatseq.dataset import Dataset
from heatseq.errors import DesignError, InputError
from heatseq.qc import (
    log_counts,
    pca,
    qc_metrics,
    remove_batch_effect,
    replicate_verdict,
    sample_correlations,
    top_variable_genes,
)

DATA = Path(__file__).parent / "data"

RTOL = 1e-10


@functools.cache
def dataset(name: str) -> Dataset:
    folder = DATA / name
    samples = pd.read_csv(folder / "samples.csv", dtype=str).set_index("sample")
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)[samples.index]
    return Dataset(counts.T, samples=samples)


@functools.cache
def vst(name: str) -> pd.DataFrame:
    return expression_values(dataset(name))


def relabel(ds: Dataset, column: str, a: str, b: str) -> Dataset:
    s = ds.samples.copy()
    s.loc[a, column], s.loc[b, column] = s.loc[b, column], s.loc[a, column]
    return ds.with_samples(s)


# ----------------------------------------------------------------------------- metrics

def test_qc_metrics_match_independent_computation(data_dir):
    ds = dataset("airway")
    m = qc_metrics(ds)
    k = ds.counts
    assert list(m.index) == list(k.index)
    np.testing.assert_array_equal(m["library_size"], k.sum(axis=1))
    np.testing.assert_array_equal(m["detected"], (k > 0).sum(axis=1))
    np.testing.assert_array_equal(m["detected_10"], (k >= 10).sum(axis=1))
    top = k.apply(lambda row: row.sort_values(ascending=False).iloc[:100].sum(), axis=1)
    np.testing.assert_allclose(m["top100_percent"], 100 * top / k.sum(axis=1), rtol=RTOL)
    sf_r = pd.read_csv(data_dir / "airway" / "sizefactors_R.tsv", sep="\t",
                       index_col=0)["sizeFactor"]
    np.testing.assert_allclose(m["size_factor"], sf_r.loc[m.index], rtol=RTOL)
    expressed = k.loc[:, k.sum(axis=0) > 0]
    logs = np.log2(expressed.div(sf_r.loc[k.index], axis=0) + 1)
    np.testing.assert_allclose(m["log2_median"], logs.median(axis=1), rtol=RTOL)
    np.testing.assert_allclose(m["log2_q75"], logs.quantile(0.75, axis=1), rtol=RTOL)
    np.testing.assert_allclose(m["log2_mean"], logs.mean(axis=1), rtol=RTOL)
    assert m.attrs["notes"] == ()
    lc = log_counts(ds)
    assert lc.shape == (expressed.shape[1], 8) and lc.attrs["what"].startswith("log2(normalised")


def test_qc_metrics_reports_an_empty_sample():
    ds = dataset("airway")
    counts = ds.counts.copy()
    counts.loc["SRR1039512"] = 0
    m = qc_metrics(Dataset(counts, samples=ds.samples))
    assert m.loc["SRR1039512", "library_size"] == 0
    assert m.loc["SRR1039512", "detected"] == 0
    assert np.isnan(m.loc["SRR1039512", "size_factor"])
    assert np.isfinite(m["size_factor"].drop("SRR1039512")).all()
    assert any("SRR1039512" in n and "no counts" in n for n in m.attrs["notes"])


def test_qc_metrics_rejects_non_dataset():
    with pytest.raises(InputError, match="Expected a heatseq Dataset"):
        qc_metrics(pd.DataFrame({"a": [1]}))


# ----------------------------------------------------------------------------- PCA

def _reference_pca(values: pd.DataFrame, n_top: int) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Written differently: pandas variance and a stable lexsort for the genes, then the
    eigen-decomposition of the samples' Gram matrix (no SVD)."""
    var = values.var(axis=1, ddof=1).to_numpy()
    order = np.lexsort((np.arange(len(var)), -var))[:n_top]
    genes = values.index[order]
    x = values.loc[genes].T.to_numpy()
    x = x - x.mean(axis=0)
    evals, evecs = np.linalg.eigh(x @ x.T)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    evals = np.clip(evals, 0, None)
    scores = evecs * np.sqrt(evals)
    return genes, scores, evals / evals.sum()


@pytest.mark.parametrize("name", ["airway", "bottomly"])
def test_pca_matches_independent_computation(name):
    v = vst(name)
    res = pca(v)
    genes, scores, ratio = _reference_pca(v, 500)
    assert res.genes.equals(genes)
    k = 4  # the leading components are well separated; later ones may be near-degenerate
    np.testing.assert_allclose(res.variance_ratio.to_numpy(), ratio[: len(res.variance_ratio)],
                               rtol=1e-8, atol=1e-12)
    got = res.scores.to_numpy()[:, :k]
    np.testing.assert_allclose(np.abs(got), np.abs(scores[:, :k]), rtol=1e-8, atol=1e-8)
    # sign convention: the largest |loading| of each component is positive
    lead = res.loadings.abs().idxmax()
    assert all(res.loadings.loc[lead[c], c] > 0 for c in res.loadings.columns)
    assert res.variance_ratio.sum() == pytest.approx(1.0, rel=RTOL)


def test_pca_is_repeatable_and_independent_of_sample_order():
    v = vst("airway")
    a, b = pca(v), pca(v)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    rev = pca(v[v.columns[::-1]])
    np.testing.assert_allclose(rev.scores.loc[a.scores.index, ["PC1", "PC2", "PC3"]],
                               a.scores[["PC1", "PC2", "PC3"]], atol=1e-9)


def test_pca_airway_pc1_is_dex_and_pc2_is_cell_line():
    ds = dataset("airway")
    res = pca(vst("airway"))
    dex = ds.samples["dex"]
    pc1 = res.scores["PC1"]
    assert np.sign(pc1[dex == "trt"]).nunique() == 1
    assert np.sign(pc1[dex == "untrt"]).nunique() == 1
    assert np.sign(pc1[dex == "trt"].iloc[0]) != np.sign(pc1[dex == "untrt"].iloc[0])
    assert res.variance_ratio["PC1"] == pytest.approx(0.408, abs=0.005)
    assert res.variance_ratio["PC2"] == pytest.approx(0.262, abs=0.005)
    pc2 = res.scores["PC2"].groupby(ds.samples["cell"]).mean()
    extremes = {pc2.idxmin(), pc2.idxmax()}
    assert extremes == {"N080611", "N061011"}
    assert res.axis_label(1) == "PC1 (41% variance)"


def test_pca_options_checked():
    v = vst("airway")
    assert pca(v, n_top=100, n_components=3).scores.shape == (8, 3)
    with pytest.raises(InputError, match="n_components=9 is not valid"):
        pca(v, n_components=9)
    with pytest.raises(InputError, match="n_top=1 is not valid"):
        pca(v, n_top=1)
    with pytest.raises(InputError, match="at least 2 samples"):
        pca(v.iloc[:, :1])
    with pytest.raises(InputError, match="component=12 is not available"):
        pca(v).axis_label(12)


def test_sample_correlations_and_top_genes():
    v = vst("airway")
    r = sample_correlations(v, n_top=300)
    top = top_variable_genes(v, n_top=300)
    ref = np.corrcoef(v.loc[top].to_numpy().T)
    np.testing.assert_allclose(r.to_numpy(), ref, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- batch removal

def test_remove_batch_effect_matches_reparameterised_fit():
    """limma's removeBatchEffect (sum-to-zero batch coding), checked against a fit with
    treatment-coded batch followed by moving every sample to the average batch."""
    ds = dataset("bottomly")
    v = vst("bottomly").iloc[:2000]
    got = remove_batch_effect(v, ds.samples, batch="batch", condition="strain")
    s = ds.samples
    levels = sorted(s["batch"].unique())
    x = np.column_stack([np.ones(len(s)), (s["strain"] == "DBA/2J").to_numpy(float)] +
                        [(s["batch"] == lv).to_numpy(float) for lv in levels[1:]])
    coef = np.linalg.lstsq(x, v.T.to_numpy(), rcond=None)[0]
    effects = np.vstack([np.zeros(v.shape[0]), coef[2:]])  # per batch level, reference 0
    per_sample = effects[[levels.index(b) for b in s["batch"]]]
    ref = v.T.to_numpy() - per_sample + effects.mean(axis=0)
    np.testing.assert_allclose(got.T.to_numpy(), ref, rtol=1e-9, atol=1e-9)


def test_remove_batch_effect_errors():
    ds = dataset("airway")
    v = vst("airway").iloc[:50]
    s = ds.samples.copy()
    s["run"] = s["dex"]
    with pytest.raises(DesignError, match="confounded with the condition 'dex'"):
        remove_batch_effect(v, s, batch="run", condition="dex")
    with pytest.raises(InputError, match="Batch column 'lane' is not in the sample table"):
        remove_batch_effect(v, s, batch="lane", condition="dex")
    with pytest.raises(InputError, match="both the condition and a batch"):
        remove_batch_effect(v, s, batch="dex", condition="dex")
    with pytest.raises(InputError, match="lacks 1 sample"):
        remove_batch_effect(v, s.iloc[1:], batch="cell", condition="dex")


# ----------------------------------------------------------------------------- verdict

def _tree_groups(values: pd.DataFrame, k: int) -> list[set[str]]:
    d = sample_distances(values).to_numpy()
    z = linkage(squareform(d, checks=False), method="complete")
    cut = fcluster(z, k, criterion="maxclust")
    return sorted(({str(s) for s in values.columns[cut == c]} for c in np.unique(cut)), key=len)


def test_airway_verdict_agrees_with_the_figures():
    ds, v = dataset("airway"), vst("airway")
    # what the distance heatmap shows: the N080611 pair splits off first, then dex
    assert _tree_groups(v, 2)[0] == {"SRR1039516", "SRR1039517"}
    assert _tree_groups(v, 3)[1:] == [{"SRR1039508", "SRR1039512", "SRR1039520"},
                                      {"SRR1039509", "SRR1039513", "SRR1039521"}]
    verdict = replicate_verdict(ds, values=v, condition="dex")
    groups = {g.group: g for g in verdict.group_findings}
    assert {g: f.status for g, f in groups.items()} == {"trt": "clusters", "untrt": "clusters"}
    assert not groups["trt"].one_branch and not groups["untrt"].one_branch
    assert verdict.outliers == () and verdict.swaps == ()
    assert all(f.silhouette > 0.25 for f in verdict.sample_findings)
    assert groups["trt"].within_correlation > groups["trt"].between_correlation
    assert "The 4 trt replicates cluster together" in verdict.sentences[1]
    assert "do not form one branch" in verdict.sentences[1]
    assert "No outlier and no label-swap suspect was found." in verdict.sentences
    assert verdict.summary.startswith("Replicates cluster together in 2 of 2 judged dex groups")
    # the cell line is the second factor: once removed, each dex group is one branch
    by_cell = replicate_verdict(ds, values=v, condition="dex", batch="cell")
    assert all(g.status == "clusters" and g.one_branch for g in by_cell.group_findings)
    assert min(f.silhouette for f in by_cell.sample_findings) > \
        max(f.silhouette for f in verdict.sample_findings)
    assert by_cell.sentences[1].startswith("Batch was taken into account: the effect of 'cell'")


def test_airway_verdict_same_on_r_vst(data_dir):
    """The verdict does not hinge on heatseq's own VST: R's vst(blind=FALSE) gives the same."""
    v = pd.read_csv(data_dir / "airway" / "vst_R.tsv.gz", sep="\t", index_col=0)
    verdict = replicate_verdict(dataset("airway"), values=v, condition="dex")
    assert [g.status for g in verdict.group_findings] == ["clusters", "clusters"]
    assert verdict.outliers == () and verdict.swaps == ()
    assert verdict.params["transform"] == "given"


def test_bottomly_verdict_takes_batch_into_account():
    ds, v = dataset("bottomly"), vst("bottomly")
    plain = replicate_verdict(ds, values=v, condition="strain")
    assert not any(g.one_branch for g in plain.group_findings)  # exp4 branches together
    assert not any("Batch" in s for s in plain.sentences)
    verdict = replicate_verdict(ds, values=v, condition="strain", batch="batch")
    assert verdict.batch == ("batch",)
    assert ("Batch was taken into account: the effect of 'batch' was removed from the values "
            "first (as limma's removeBatchEffect), keeping the strain effect.") in verdict.sentences
    assert "The effect of 'batch' was removed before judging." in verdict.summary
    assert all(g.status == "clusters" and g.one_branch for g in verdict.group_findings)
    assert verdict.swaps == ()
    mean_sil = {g.group: g.silhouette for g in verdict.group_findings}
    assert all(mean_sil[g.group] > g.silhouette for g in plain.group_findings)


SWAPS = [("SRR1039512", "SRR1039517"), ("SRR1039508", "SRR1039509")]  # other / same cell line


@pytest.mark.parametrize("batch", [None, "cell"])
@pytest.mark.parametrize("pair", SWAPS)
def test_swapped_labels_are_named(pair, batch):
    ds = relabel(dataset("airway"), "dex", *pair)
    verdict = replicate_verdict(ds, values=vst("airway"), condition="dex", batch=batch)
    assert set(verdict.swaps) == set(pair)
    assert verdict.outliers == ()
    text = " ".join(verdict.sentences)
    for sample in pair:
        f = next(f for f in verdict.sample_findings if f.sample == sample)
        other = "trt" if f.group == "untrt" else "untrt"
        assert f.nearest_group == other and f.nearest_correlation > f.own_correlation
        assert (f"{sample} ({f.group}) correlates {f.nearest_correlation:.2f} with {other} "
                f"replicates and {f.own_correlation:.2f} with its own group") in text
    table = verdict.to_frame()
    assert set(table.index[table["status"] == "label swap"]) == set(pair)


def test_every_airway_swap_is_found():
    ds, v = dataset("airway"), vst("airway")
    trt = ds.samples.index[ds.samples["dex"] == "trt"]
    untrt = ds.samples.index[ds.samples["dex"] == "untrt"]
    for a, b in itertools.product(untrt, trt):
        verdict = replicate_verdict(relabel(ds, "dex", a, b), values=v, condition="dex",
                                    batch="cell")
        assert set(verdict.swaps) == {a, b} and verdict.outliers == (), (a, b)


@pytest.mark.parametrize(("name", "condition", "batch", "sample", "kind"), [
    ("airway", "dex", None, "SRR1039512", "noise"),
    ("bottomly", "strain", None, "SRX033480", "noise"),
    ("bottomly", "strain", "batch", "SRX033480", "noise"),
    ("bottomly", "strain", "batch", "SRX033480", "contamination"),
])
def test_damaged_sample_is_the_only_outlier(name, condition, batch, sample, kind, rng):
    """A sample made noisy (every count times exp(N(0, 1))) or contaminated (5% of genes
    8-fold up or down) is called an outlier, and nothing else is flagged."""
    ds = dataset(name)
    counts = ds.counts.copy()
    if kind == "noise":
        factor = np.exp(rng.normal(0.0, 1.0, counts.shape[1]))
    else:
        factor = np.ones(counts.shape[1])
        pick = rng.random(counts.shape[1]) < 0.05
        factor[pick] = np.where(rng.random(pick.sum()) < 0.5, 8.0, 1 / 8)
    counts.loc[sample] = np.round(counts.loc[sample] * factor)
    verdict = replicate_verdict(Dataset(counts, samples=ds.samples), condition=condition,
                                batch=batch)
    assert verdict.outliers == (sample,) and verdict.swaps == ()
    f = next(f for f in verdict.sample_findings if f.sample == sample)
    assert f.own_correlation < verdict.limit
    assert any(s.startswith(f"Outlier: {sample} (") for s in verdict.sentences)


# ----------------------------------------------------------------------------- edge cases

def test_group_with_one_sample_is_not_judged():
    ds = dataset("airway")
    s = ds.samples.copy()
    s.loc["SRR1039521", "dex"] = "mock"
    verdict = replicate_verdict(ds.with_samples(s), values=vst("airway"), condition="dex")
    groups = {g.group: g for g in verdict.group_findings}
    assert groups["mock"].status == "not judged"
    assert ("Group mock has a single sample (SRR1039521), so its replicates cannot be judged."
            in verdict.sentences)
    assert groups["trt"].status == "clusters" and groups["untrt"].status == "clusters"
    assert verdict.swaps == () and verdict.outliers == ()  # a single sample is no group
    f = next(f for f in verdict.sample_findings if f.sample == "SRR1039521")
    assert f.status == "not judged" and np.isnan(f.own_correlation)
    assert "mock could not be judged" in verdict.summary


def test_two_groups_of_two():
    ds = dataset("airway").subset(samples=["SRR1039508", "SRR1039509", "SRR1039512",
                                           "SRR1039513"])
    verdict = replicate_verdict(ds, condition="dex")
    assert [g.status for g in verdict.group_findings] == ["clusters", "clusters"]
    assert verdict.outliers == () and verdict.swaps == ()
    assert np.isnan(verdict.limit)
    assert "Fewer than 3 pairs of replicates: outliers cannot be judged." in verdict.sentences
    swapped = replicate_verdict(relabel(ds, "dex", "SRR1039512", "SRR1039513"), condition="dex")
    assert set(swapped.swaps) == {"SRR1039512", "SRR1039513"}


def test_identical_samples_are_reported_not_flagged():
    ds = dataset("airway")
    counts = ds.counts.copy()
    counts.loc["SRR1039520"] = counts.loc["SRR1039508"]
    verdict = replicate_verdict(Dataset(counts, samples=ds.samples), condition="dex")
    assert verdict.duplicates == (("SRR1039508", "SRR1039520"),)
    assert verdict.outliers == () and verdict.swaps == ()
    assert ("SRR1039508 and SRR1039520 have identical counts: check that the same file was not "
            "loaded twice.") in verdict.sentences
    assert verdict.correlations.loc["SRR1039508", "SRR1039520"] == pytest.approx(1.0, abs=1e-12)


def test_sample_without_counts_is_refused():
    ds = dataset("airway")
    counts = ds.counts.copy()
    counts.loc["SRR1039512"] = 0
    with pytest.raises(InputError, match=r"SRR1039512 have no counts at all .* Remove them"):
        replicate_verdict(Dataset(counts, samples=ds.samples), condition="dex")


def test_single_condition_level():
    ds = dataset("airway")
    s = ds.samples.copy()
    s["dex"] = "x"
    verdict = replicate_verdict(ds.with_samples(s), values=vst("airway"), condition="dex")
    assert verdict.group_findings[0].status == "not judged"
    assert "Column 'dex' has one level (x): label swaps cannot be judged." in verdict.sentences


def test_verdict_table_and_types():
    verdict = replicate_verdict(dataset("airway"), values=vst("airway"), condition="dex")
    table = verdict.to_frame()
    assert list(table.columns) == ["group", "status", "own_correlation", "nearest_group",
                                   "nearest_correlation", "silhouette", "evidence"]
    assert list(table.index) == list(dataset("airway").sample_names)
    assert isinstance(verdict.sentences, list) and isinstance(verdict.summary, str)
    with pytest.raises(AttributeError):
        verdict.condition = "cell"  # type: ignore[misc]


def test_verdict_errors():
    ds, v = dataset("airway"), vst("airway")
    with pytest.raises(InputError, match="Condition column 'condtion' is not in the sample "
                                         "table; columns are: condition, cell, dex"):
        replicate_verdict(ds, values=v, condition="condtion")
    with pytest.raises(InputError, match="Batch column 'lane' is not in the sample table"):
        replicate_verdict(ds, values=v, condition="dex", batch="lane")
    s = ds.samples.copy()
    s.loc["SRR1039508", "dex"] = np.nan
    with pytest.raises(InputError, match=r"no value for sample.* SRR1039508"):
        replicate_verdict(ds.with_samples(s), values=v, condition="dex")
    with pytest.raises(DesignError, match="confounded"):
        replicate_verdict(ds, values=v, condition="dex", batch="condition")
    with pytest.raises(InputError, match="values lacks 1 sample"):
        replicate_verdict(ds, values=v.iloc[:, 1:], condition="dex")
    for option, bad in [("outlier_mads", -1), ("outlier_fold", 0.5), ("swap_margin", "x"),
                        ("cluster_min", float("nan"))]:
        with pytest.raises(InputError, match=f"{option}=.* is not valid"):
            replicate_verdict(ds, values=v, condition="dex", **{option: bad})
    with pytest.raises(InputError, match="Expected a heatseq Dataset"):
        replicate_verdict(v, condition="dex")  # type: ignore[arg-type]


def test_simulated_groups_known_truth(rng):
    """Three groups with independent mean profiles; A4 and C2 given 5x the replicate noise:
    A4 is an outlier, the C pair (2 replicates) disagrees, nothing else is flagged."""
    n_genes = 2000
    means = rng.normal(8.0, 2.0, size=(n_genes, 3))
    names = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2"]
    group = [n[0] for n in names]
    noise = np.where(np.isin(names, ["A4", "C2"]), 1.5, 0.3)
    values = pd.DataFrame(means[:, ["ABC".index(g) for g in group]]
                          + rng.normal(size=(n_genes, 10)) * noise,
                          index=[f"g{i}" for i in range(n_genes)], columns=names)
    counts = pd.DataFrame(rng.poisson(50, size=(10, 30)), index=names)
    ds = Dataset(counts, samples=pd.DataFrame({"group": group}, index=names))
    verdict = replicate_verdict(ds, values=values, condition="group")
    assert verdict.outliers == ("A4",) and verdict.swaps == ()
    status = {g.group: g.status for g in verdict.group_findings}
    assert status == {"A": "clusters", "B": "clusters", "C": "replicates disagree"}
    assert ("The 2 C replicates (C1 and C2) differ more than replicates usually do in this data "
            "set") in " ".join(verdict.sentences)
    a4 = next(f for f in verdict.sample_findings if f.sample == "A4")
    assert re.match(rf"A4 \(A\) correlates {a4.own_correlation:.2f} with its own group "
                    r"\(median\), below the 0\.\d\d that replicates reach", a4.evidence)
