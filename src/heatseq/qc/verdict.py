"""The replicate verdict: do the replicates of each condition agree, which samples are
outliers, which look like label swaps, each said in plain words with its evidence.

This module owns :func:`replicate_verdict` and its result types (:class:`Verdict`,
:class:`SampleFinding`, :class:`GroupFinding`). The sentences are written by
:mod:`heatseq.qc._words`.

How samples are compared
    Pearson correlations :math:`r` between samples over the ``n_top`` (500) most variable
    genes of the transformed values (DESeq2's VST by default), the numbers of a correlation
    heatmap; distances are :math:`d = 1 - r`. When ``batch`` columns are given, their effect
    is removed from the values, keeping the condition's, as limma's ``removeBatchEffect``
    (:func:`heatseq.qc.batch.remove_batch_effect`; genes are chosen by variance of the
    corrected values), and the verdict says so. Two refinements keep a wrong label from
    hiding itself: each sample's own correlations are computed with the batch effects
    fitted *without that sample* (when its batch has other samples), and once a sample is
    called a label-swap suspect the fit treats it as a member of the group it resembles.
    The correlations reported between two samples are the mean of their two views.

For each sample :math:`i` of a group (a level of the condition) with at least one other
replicate, with the trusted samples (those not flagged so far, see below):

* :math:`a_i`: the median distance to the other trusted replicates of its group
  (so :math:`1 - a_i` is its median correlation with its own group; the median keeps one
  bad replicate from implicating the others);
* :math:`b_i`: the smallest median distance to the trusted samples of another group, the
  *nearest group*;
* the silhouette :math:`s_i = (b_i - a_i) / \\max(a_i, b_i)` (Rousseeuw 1987): near 1 when
  the sample sits well inside its group, negative when it is closer to another group.

The replicate distance scale of the data set comes from all pairs of trusted replicates
within groups (pooled over groups; a swap suspect counts with the group it resembles):
their median :math:`m` and scaled median absolute
deviation :math:`\\mathrm{MAD}` (times 1.4826). The *replicate limit* is
:math:`t = \\max(m + k\\,\\mathrm{MAD},\\; f\\,m)`, with ``outlier_mads`` :math:`k = 3` and
``outlier_fold`` :math:`f = 1.5` (the fold keeps a near-zero MAD, e.g. technical
replicates, from calling tiny differences). It needs at least 3 such pairs.

Calls, made one sample at a time, most extreme first, each call removing the sample from the
trusted set before the next round (so one bad sample does not hide or implicate another):

* **label swap suspect**: :math:`s_i < -`\\ ``swap_margin`` (default 0.05: it is clearly
  closer to another group than to its own) and :math:`b_i \\le t` (it is as close to that
  group as replicates usually are to each other; a sample far from every group is an
  outlier instead). Suspects are called before outliers.
* **outlier**: :math:`a_i > t` in a group with at least 3 trusted replicates. In a group of
  2 the two replicates cannot be told apart: the group is reported as "replicates
  disagree" instead.

Limitation: when a batch level holds only two samples (e.g. a cell line with one treated
and one untreated sample), each sample's batch effect is estimated from its partner, so a
damaged sample passes its deviations to the partner and neither can be singled out as an
outlier; label swaps are still found.

At most half of a group's samples are flagged (the rest must still define the group), and
a group of one sample cannot serve as the nearest group (a single sample is no group to
resemble).

A group **clusters** when every trusted replicate has :math:`s_i > 0` and their mean
silhouette is at least ``cluster_min`` (0.25, the lower bound of "weak structure" in Kaufman &
Rousseeuw 1990); the sentence also says whether the group forms one branch of the sample tree
(average linkage of :math:`d`, labels as given). A group with one sample is not judged, and
the verdict says so. Samples with identical counts are reported as possible duplicates.
A sample without any count makes the VST undefined: it is refused with an InputError
naming it (:func:`heatseq.qc.qc_metrics` still reports it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError
from heatseq.qc import _words
from heatseq.qc.batch import batch_design, corrected, factor_column, remove_batch_effect
from heatseq.qc.pca import N_TOP, as_values, correlation_matrix, top_variable_genes

__all__ = ["GroupFinding", "SampleFinding", "Verdict", "replicate_verdict"]

SampleStatus = Literal["ok", "outlier", "label swap", "not judged"]
GroupStatus = Literal["clusters", "overlaps", "replicates disagree", "not judged"]

#: Scale of the median absolute deviation to the SD of a normal distribution.
MAD_SCALE = 1.4826
#: Fewest within-group replicate pairs needed to set the replicate limit.
MIN_PAIRS = 3


@dataclass(frozen=True)
class SampleFinding:
    """What the verdict found about one sample.

    Attributes
    ----------
    sample, group
        The sample and its level of the condition.
    status
        ``"ok"``, ``"outlier"``, ``"label swap"`` (suspected) or ``"not judged"`` (no other
        replicate in its group).
    own_correlation
        Median correlation with the trusted replicates of its own group (NaN if none).
    nearest_group
        The other group it correlates best with (by median; None with a single group).
    nearest_correlation
        Its median correlation with that group's trusted samples.
    silhouette
        :math:`(b - a) / \\max(a, b)` on distances :math:`1 - r` (NaN when not defined).
    evidence
        One plain sentence with the numbers (empty for ``"ok"``).
    """

    sample: str
    group: str
    status: SampleStatus
    own_correlation: float
    nearest_group: str | None
    nearest_correlation: float
    silhouette: float
    evidence: str = ""


@dataclass(frozen=True)
class GroupFinding:
    """What the verdict found about the replicates of one level of the condition.

    Attributes
    ----------
    group
        The level.
    samples
        Its samples, in table order.
    status
        ``"clusters"``, ``"overlaps"`` (with ``nearest_group``), ``"replicates disagree"``
        (2 replicates further apart than the replicate limit) or ``"not judged"``.
    within_correlation
        Mean correlation between its trusted replicates.
    between_correlation
        Mean correlation of its trusted replicates with the other groups' trusted samples.
    silhouette
        Mean silhouette of its trusted replicates.
    one_branch
        Whether its samples (as labelled) form one branch of the sample tree; None when
        not judged.
    nearest_group
        The group its replicates are closest to (None with a single group).
    evidence
        One plain sentence with the numbers.
    """

    group: str
    samples: tuple[str, ...]
    status: GroupStatus
    within_correlation: float
    between_correlation: float
    silhouette: float
    one_branch: bool | None
    nearest_group: str | None
    evidence: str


@dataclass(frozen=True)
class Verdict:
    """The replicate verdict: structured findings and the sentences for the report.

    Attributes
    ----------
    condition
        The sample-table column whose levels are the groups.
    batch
        The batch columns whose effect was removed (empty when none).
    sample_findings
        One per sample, in table order.
    group_findings
        One per level of the condition, in sorted order.
    duplicates
        Groups of samples with identical counts.
    correlations
        The samples x samples correlations that were judged.
    limit
        The replicate limit as a correlation (:math:`1 - t`) once flagged samples are set
        aside (the last one computed if too few pairs remain; NaN when there never were
        enough). A flagged sample's evidence quotes the limit in force when it was called.
    params
        The options used (``n_top``, thresholds, ``transform``).
    notes
        What could not be judged, in plain words.
    """

    condition: str
    batch: tuple[str, ...]
    sample_findings: tuple[SampleFinding, ...]
    group_findings: tuple[GroupFinding, ...]
    duplicates: tuple[tuple[str, ...], ...]
    correlations: pd.DataFrame
    limit: float
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def outliers(self) -> tuple[str, ...]:
        """Samples called outliers."""
        return tuple(f.sample for f in self.sample_findings if f.status == "outlier")

    @property
    def swaps(self) -> tuple[str, ...]:
        """Samples suspected of a label swap."""
        return tuple(f.sample for f in self.sample_findings if f.status == "label swap")

    @property
    def sentences(self) -> list[str]:
        """The findings as plain sentences, method first, for the report."""
        return _words.sentences(self)

    @property
    def summary(self) -> str:
        """One paragraph: the gist of the verdict."""
        return _words.summary(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per sample (``qc_verdict.tsv``): group, status, correlations, silhouette,
        evidence; index ``sample``."""
        rows = [{"sample": f.sample, "group": f.group, "status": f.status,
                 "own_correlation": f.own_correlation, "nearest_group": f.nearest_group,
                 "nearest_correlation": f.nearest_correlation, "silhouette": f.silhouette,
                 "evidence": f.evidence} for f in self.sample_findings]
        return pd.DataFrame(rows).set_index("sample")


def _check_number(name: str, value: object, *, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < low:
        raise InputError(f"{name}={value!r} is not valid; give a number >= {low}.")
    return float(value)


@dataclass
class _State:
    """Working numbers of one round of the judging loop."""

    a: np.ndarray
    b: np.ndarray
    nearest: np.ndarray
    sil: np.ndarray
    limit: float  # distance; NaN when too few pairs
    r: np.ndarray  # correlations, symmetrised (mean of the two samples' views)


class _Views:
    """Correlations between samples on the selected genes. With batch columns, the batch
    effects are fitted on all samples with the labels as currently believed (swap suspects
    moved to the group they resemble), and each sample's own row is refitted without it."""

    def __init__(self, y: np.ndarray, x_batch: np.ndarray | None):
        self.y, self.x_batch = y, x_batch

    def distances(self, codes: np.ndarray) -> np.ndarray:
        """Distances 1 - r whose row i is sample i's own view."""
        if self.x_batch is None:
            return 1.0 - correlation_matrix(self.y)
        x_keep = np.column_stack([np.ones(len(codes))] + [
            (codes == g).astype(float) for g in range(1, int(codes.max()) + 1)])
        base = corrected(self.y, x_keep, self.x_batch)
        assert base is not None  # full rank checked by remove_batch_effect
        r = correlation_matrix(base)
        rows = r.copy()
        for i in range(len(self.y)):  # a loop over samples: one small fit each
            fit = np.ones(len(codes), dtype=bool)
            fit[i] = False
            c = corrected(self.y, x_keep, self.x_batch, fit=fit)
            if c is not None:  # else its batch has no other sample: keep the full fit
                u = _unit_rows(c)
                rows[i] = np.clip(u @ u[i], -1.0, 1.0)
                rows[i, i] = 1.0
        return 1.0 - rows


def _unit_rows(x: np.ndarray) -> np.ndarray:
    c = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->i", c, c))
    return c / np.where(norm > 0, norm, 1.0)[:, None]


def _measure(views: _Views, codes: np.ndarray, trusted: np.ndarray, *, k: float,
             fold: float, believed: np.ndarray) -> _State:
    """a, b, nearest group, silhouette and the replicate limit, given the trusted samples."""
    d = views.distances(believed)
    r_pairs = 1.0 - (d + d.T) / 2.0
    n, n_groups = len(codes), int(codes.max()) + 1
    masked = np.where(trusted[None, :], d, np.nan)
    np.fill_diagonal(masked, np.nan)  # a sample is not its own replicate
    mid = np.full((n, n_groups), np.nan)  # median distance to each group's trusted samples
    for g in range(n_groups):  # a loop over groups
        cols = masked[:, codes == g]
        ok = np.isfinite(cols).any(axis=1)
        if ok.any():
            mid[ok, g] = np.nanmedian(cols[ok], axis=1)
    own = np.arange(n), codes
    a = mid[own]
    other = mid.copy()
    other[own] = np.nan
    other[:, np.bincount(codes, minlength=n_groups) < 2] = np.nan  # one sample is no group
    has_other = np.isfinite(other).any(axis=1)
    nearest = np.where(has_other, np.argmin(np.where(np.isfinite(other), other, np.inf),
                                            axis=1), -1)
    b = np.where(has_other, other[np.arange(n), np.maximum(nearest, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        top = np.maximum(a, b)
        sil = np.where(top > 0, (b - a) / np.where(top > 0, top, 1), 0.0)
    sil = np.where(np.isfinite(a) & np.isfinite(b), sil, np.nan)
    iu = np.triu_indices(n, 1)
    # the replicate scale: pairs within groups as now believed (a swap suspect counts with
    # the group it resembles), outliers left out
    pool = trusted | (believed != codes)
    same = (believed[iu[0]] == believed[iu[1]]) & pool[iu[0]] & pool[iu[1]]
    pairs = 1.0 - r_pairs[iu][same]
    limit = np.nan
    if pairs.size >= MIN_PAIRS:
        m = float(np.median(pairs))
        mad = MAD_SCALE * float(np.median(np.abs(pairs - m)))
        limit = max(m + k * mad, fold * m)
    return _State(a=a, b=b, nearest=nearest, sil=sil, limit=limit, r=r_pairs)


def _judge(views: _Views, codes: np.ndarray, *, k: float, fold: float, margin: float
           ) -> tuple[dict[int, tuple[str, float]], _State, float]:
    """Flag swap suspects, then outliers, one at a time (module docstring)."""
    n = len(codes)
    size = np.bincount(codes)[codes]
    trusted = np.ones(n, dtype=bool)
    believed = codes.copy()  # labels for the batch fit: swap suspects moved
    flags: dict[int, tuple[str, float]] = {}  # sample -> (call, replicate limit then)
    last = np.nan
    for _ in range(n):
        st = _measure(views, codes, trusted, k=k, fold=fold, believed=believed)
        open_ = trusted & (size >= 2) & np.isfinite(st.a)
        limit = st.limit if np.isfinite(st.limit) else np.inf
        last = st.limit if np.isfinite(st.limit) else last
        swap = open_ & (st.sil < -margin) & (st.b <= limit)
        own_trusted = np.bincount(codes, weights=trusted.astype(float))[codes]
        open_ &= (size - own_trusted + 1) <= size // 2  # at most half of a group is flagged
        swap &= open_
        out = open_ & (st.a > limit) & (own_trusted >= 3)
        if swap.any():
            i = int(np.flatnonzero(swap)[np.argmin(st.sil[swap])])
            flags[i] = ("label swap", st.limit)
            believed[i] = st.nearest[i]
        elif out.any():
            i = int(np.flatnonzero(out)[np.argmax(st.a[out])])
            flags[i] = ("outlier", st.limit)
        else:
            break
        trusted[i] = False
    st = _measure(views, codes, trusted, k=k, fold=fold, believed=believed)
    return flags, st, (st.limit if np.isfinite(st.limit) else last)


def _one_branch(d: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per group: do its samples form one branch (a clade) of the average-linkage tree?"""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    n, n_groups = len(codes), int(codes.max()) + 1
    out = np.zeros(n_groups, dtype=bool)
    sizes = np.bincount(codes, minlength=n_groups)
    out[sizes == 1] = True
    if n < 3:
        return out | (sizes == n)
    z = linkage(squareform(np.clip((d + d.T) / 2, 0, None), checks=False), method="average")
    # group counts of every cluster: leaves, then merges in order
    comp = np.zeros((2 * n - 1, n_groups), dtype=np.int64)
    comp[np.arange(n), codes] = 1
    for m, (left, right) in enumerate(z[:, :2].astype(int)):
        comp[n + m] = comp[left] + comp[right]
    pure_full = (comp == sizes) & (comp.sum(axis=1, keepdims=True) == sizes)
    return out | pure_full.any(axis=0)


def _duplicates(dataset: Dataset) -> tuple[tuple[str, ...], ...]:
    """Groups of samples with identical counts, in table order."""
    k = np.ascontiguousarray(dataset.counts.to_numpy())
    seen: dict[bytes, list[str]] = {}
    for name, row in zip(dataset.sample_names, k, strict=True):  # a loop over samples
        seen.setdefault(row.tobytes(), []).append(str(name))
    return tuple(tuple(g) for g in seen.values() if len(g) > 1)


def replicate_verdict(dataset: Dataset, *, values: pd.DataFrame | None = None, condition: str,
                      batch: str | Sequence[str] | None = None, n_top: int = N_TOP,
                      outlier_mads: float = 3.0, outlier_fold: float = 1.5,
                      swap_margin: float = 0.05, cluster_min: float = 0.25) -> Verdict:
    """Judge the replicates of each level of ``condition`` (rules in the module docstring).

    Parameters
    ----------
    dataset
        Raw counts and the sample table.
    values
        Genes x samples transformed values covering the dataset's samples (e.g. from
        :func:`heatseq.cluster.expression_values`, so that QC and heatmaps share one VST);
        computed from the counts (blind VST) when None.
    condition
        The sample-table column whose levels are the replicate groups.
    batch
        Column(s) whose effect is removed before judging (e.g. the other terms of the
        design), keeping the condition's.
    n_top
        Number of most variable genes compared.
    outlier_mads, outlier_fold
        :math:`k` and :math:`f` of the replicate limit.
    swap_margin
        How far below 0 a silhouette must be for a label-swap call.
    cluster_min
        Smallest mean silhouette of a group that "clusters".

    Returns
    -------
    Verdict

    Raises
    ------
    InputError
        If a column is missing or has empty values, ``values`` lacks samples, an option
        is out of range, fewer than 2 samples are given, or a sample has no counts.
    DesignError
        If a batch column is confounded with the condition.

    Examples
    --------
    >>> from heatseq.datasets import airway
    >>> v = replicate_verdict(airway(), condition="dex", batch="cell")
    >>> [(g.group, g.status) for g in v.group_findings], v.outliers, v.swaps
    ([('trt', 'clusters'), ('untrt', 'clusters')], (), ())
    """
    if not isinstance(dataset, Dataset):
        raise InputError(f"Expected a heatseq Dataset, got {type(dataset).__name__}.")
    k = _check_number("outlier_mads", outlier_mads, low=0.0)
    fold = _check_number("outlier_fold", outlier_fold, low=1.0)
    margin = _check_number("swap_margin", swap_margin, low=0.0)
    c_min = _check_number("cluster_min", cluster_min, low=-1.0)
    labels = factor_column(dataset.samples, condition, role="condition")
    batches = () if batch is None else ((batch,) if isinstance(batch, str) else tuple(batch))
    for b in batches:
        factor_column(dataset.samples, b, role="batch")
    if dataset.n_samples < 2:
        raise InputError(f"The replicate verdict needs at least 2 samples; the data has "
                         f"{dataset.n_samples}.")
    empty = dataset.sample_names[dataset.library_sizes.to_numpy() == 0]
    if len(empty):
        raise InputError(f"Sample(s) {', '.join(map(str, empty))} have no counts at all (every "
                         "gene is 0): a failed library or a wrong column. Remove them from the "
                         "count table or the sample sheet and run again.")
    notes: list[str] = []
    if values is None:
        values = as_values(dataset)
    else:
        values = as_values(values)
        lacking = dataset.sample_names.difference(values.columns, sort=False)
        if len(lacking):
            raise InputError(f"values lacks {len(lacking)} sample(s) of the dataset: "
                             f"{', '.join(map(str, lacking[:5]))}. Give values for every "
                             "sample (genes x samples), or values=None.")
        values = values[list(dataset.sample_names)]
    transform = values.attrs.get("transform", "given")
    names = dataset.sample_names
    x_batch = None
    if batches:
        genes = top_variable_genes(remove_batch_effect(values, dataset.samples, batch=batches,
                                                       condition=condition), n_top=n_top)
        _, x_batch = batch_design(dataset.samples, names, batch=batches, condition=condition)
    else:
        genes = top_variable_genes(values, n_top=n_top)
    views = _Views(values.loc[genes].to_numpy().T, x_batch)
    levels = sorted(labels.unique())
    codes = np.searchsorted(levels, labels.to_numpy())
    flags, st, limit = _judge(views, codes, k=k, fold=fold, margin=margin)
    r = st.r
    limit_r = 1.0 - limit if np.isfinite(limit) else np.nan
    if not np.isfinite(limit):
        notes.append(f"Fewer than {MIN_PAIRS} pairs of replicates: outliers cannot be judged.")
    if len(levels) < 2:
        notes.append(f"Column {condition!r} has one level ({levels[0]}): label swaps cannot "
                     "be judged.")
    samples = []
    for i, name in enumerate(names):
        size = int((codes == codes[i]).sum())
        call, at = flags.get(i, ("ok", limit))
        status: SampleStatus = call if size >= 2 else "not judged"  # type: ignore[assignment]
        near = levels[st.nearest[i]] if st.nearest[i] >= 0 else None
        f = SampleFinding(sample=str(name), group=levels[codes[i]], status=status,
                          own_correlation=float(1.0 - st.a[i]), nearest_group=near,
                          nearest_correlation=float(1.0 - st.b[i]),
                          silhouette=float(st.sil[i]))
        samples.append(_words.with_evidence(f, limit=1.0 - at))
    branch = _one_branch(1.0 - r, codes)
    trusted = np.array([f.status == "ok" for f in samples])
    groups = []
    for g, level in enumerate(levels):
        members = tuple(str(s) for s in names[codes == g])
        groups.append(_group_finding(level, members, g, codes, trusted, r, st,
                                     branch=bool(branch[g]), levels=levels, c_min=c_min))
    params = {"n_top": int(n_top), "outlier_mads": k, "outlier_fold": fold,
              "swap_margin": margin, "cluster_min": c_min, "transform": transform,
              "n_genes": len(genes), "metric": "pearson"}
    corr = pd.DataFrame(r, index=names, columns=names)
    return Verdict(condition=condition, batch=batches, sample_findings=tuple(samples),
                   group_findings=tuple(groups), duplicates=_duplicates(dataset),
                   correlations=corr, limit=float(limit_r), params=params, notes=tuple(notes))


def _group_finding(level: str, members: tuple[str, ...], g: int, codes: np.ndarray,
                   trusted: np.ndarray, r: np.ndarray, st: _State, *, branch: bool,
                   levels: list[str], c_min: float) -> GroupFinding:
    inside = (codes == g) & trusted
    n_in = int(inside.sum())
    if len(members) < 2 or n_in < 2:
        return _words.group_finding(level, members, "not judged", within=np.nan, between=np.nan,
                                    sil=np.nan, branch=None, nearest=None, flagged=len(members)
                                    - n_in)
    block = r[np.ix_(inside, inside)]
    within = float(block[np.triu_indices(n_in, 1)].mean())
    others = trusted & (codes != g)
    between = float(r[np.ix_(inside, others)].mean()) if others.any() else np.nan
    sil = st.sil[inside]
    near_codes = st.nearest[inside]
    nearest = levels[int(np.bincount(near_codes[near_codes >= 0]).argmax())] \
        if (near_codes >= 0).any() else None
    mean_sil = float(np.nanmean(sil)) if np.isfinite(sil).any() else np.nan
    if n_in == 2 and np.isfinite(st.limit) and (1.0 - within) > st.limit:
        status: GroupStatus = "replicates disagree"
    elif not np.isfinite(mean_sil):
        status = "not judged"
    elif (sil > 0).all() and mean_sil >= c_min:
        status = "clusters"
    else:
        status = "overlaps"
    return _words.group_finding(level, members, status, within=within, between=between,
                                sil=mean_sil, branch=branch, nearest=nearest,
                                flagged=len(members) - n_in)
