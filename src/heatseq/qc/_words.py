"""The plain-word sentences of the replicate verdict (:mod:`heatseq.qc.verdict`).

This module owns the wording only: every number in a sentence comes from a finding.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from heatseq.qc.verdict import GroupFinding, SampleFinding, Verdict


def _r(x: float) -> str:
    return f"{x:.2f}"


def _list(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def with_evidence(f: SampleFinding, *, limit: float) -> SampleFinding:
    """The finding with its evidence sentence."""
    head = f"{f.sample} ({f.group})"
    if f.status == "label swap":
        text = (f"{head} correlates {_r(f.nearest_correlation)} with {f.nearest_group} "
                f"replicates and {_r(f.own_correlation)} with its own group (median "
                f"correlations): it resembles "
                f"{f.nearest_group} more than {f.group}. Check its label in the sample sheet.")
    elif f.status == "outlier":
        text = (f"{head} correlates {_r(f.own_correlation)} with its own group (median), "
                f"below the {_r(limit)} that replicates reach in this data set, and "
                f"{_r(f.nearest_correlation)} with the nearest other group "
                f"({f.nearest_group}): it resembles no group.")
        if f.nearest_group is None:
            text = (f"{head} correlates {_r(f.own_correlation)} with its own group (median), "
                    f"below the {_r(limit)} that replicates reach in this data set.")
    elif f.status == "not judged":
        text = f"{head} is the only sample of {f.group}: it has no replicate to be compared with."
    else:
        text = ""
    return replace(f, evidence=text)


def group_finding(level: str, members: tuple[str, ...], status: str, *, within: float,
                  between: float, sil: float, branch: bool | None, nearest: str | None,
                  flagged: int) -> GroupFinding:
    """A GroupFinding with its evidence sentence."""
    from heatseq.qc.verdict import GroupFinding

    n = len(members)
    set_aside = f" (leaving out {flagged} flagged sample{'s' if flagged > 1 else ''})" \
        if flagged else ""
    tree = ""
    if branch is not None:
        tree = ("; in the sample tree they form one branch" if branch else
                "; in the sample tree they do not form one branch")
    if status == "not judged":
        if n == 1:
            text = (f"Group {level} has a single sample ({members[0]}), so its replicates "
                    "cannot be judged.")
        elif n - flagged < 2:
            text = (f"Group {level}: too few of its {n} samples are left once flagged samples "
                    "are set aside to judge its replicates.")
        else:
            text = (f"The {n} {level} replicates correlate {_r(within)} with each other on "
                    "average; there is no other group to compare them with.")
    else:
        numbers = (f"they correlate {_r(within)} with each other on average and "
                   f"{_r(between)} with the other groups (mean silhouette {sil:.2f}){set_aside}")
        if status == "clusters":
            text = f"The {n} {level} replicates cluster together: {numbers}{tree}."
        elif status == "replicates disagree":
            text = (f"The 2 {level} replicates ({_list(members)}) differ more than replicates "
                    f"usually do in this data set (correlation {_r(within)}); with two "
                    "replicates, which one is off cannot be told.")
        else:
            text = (f"The {n} {level} replicates do not separate clearly from "
                    f"{nearest}: {numbers}{tree}.")
    return GroupFinding(group=level, samples=members, status=status,  # type: ignore[arg-type]
                        within_correlation=within, between_correlation=between, silhouette=sil,
                        one_branch=branch, nearest_group=nearest, evidence=text)


def _method(v: Verdict) -> list[str]:
    what = {"vst": "the VST (DESeq2's variance-stabilising transformation)",
            "log2": "log2 normalised counts"}.get(v.params.get("transform", ""),
                                                  "the transformed values")
    out = [f"Replicates of each {v.condition} group were judged on Pearson correlations "
           f"between samples over the {v.params['n_genes']:,} most variable genes of {what}."]
    if v.batch:
        cols = _list([f"'{b}'" for b in v.batch])
        out.append(f"Batch was taken into account: the effect of {cols} was removed from the "
                   f"values first (as limma's removeBatchEffect), keeping the {v.condition} "
                   "effect.")
    return out


def sentences(v: Verdict) -> list[str]:
    """All sentences of a verdict: method, groups, flagged samples, duplicates, notes."""
    out = _method(v)
    out += [g.evidence for g in v.group_findings]
    flagged = [f for f in v.sample_findings if f.status in ("label swap", "outlier")]
    for f in flagged:
        kind = "Possible label swap" if f.status == "label swap" else "Outlier"
        out.append(f"{kind}: {f.evidence}")
    if not flagged and any(g.status != "not judged" for g in v.group_findings):
        out.append("No outlier and no label-swap suspect was found.")
    for dup in v.duplicates:
        out.append(f"{_list(dup)} have identical counts: check that the same file was not "
                   "loaded twice.")
    out += list(v.notes)
    return out


def summary(v: Verdict) -> str:
    """One paragraph: groups that cluster, flagged samples, batch."""
    judged = [g for g in v.group_findings if g.status != "not judged"]
    together = [g.group for g in judged if g.status == "clusters"]
    apart = [g.group for g in judged if g.status != "clusters"]
    parts = []
    if judged:
        parts.append(f"Replicates cluster together in {len(together)} of {len(judged)} judged "
                     f"{v.condition} groups" + (f" ({_list(together)})" if together else ""))
        if apart:
            parts[-1] += f"; not in {_list(apart)}"
    else:
        parts.append(f"No {v.condition} group has replicates that can be judged")
    single = [g.group for g in v.group_findings if g.status == "not judged"]
    if single and judged:
        parts.append(f"{_list(single)} could not be judged")
    swaps, outliers = v.swaps, v.outliers
    parts.append(f"possible label swaps: {_list(swaps)}" if swaps else "no label-swap suspect")
    parts.append(f"outliers: {_list(outliers)}" if outliers else "no outlier")
    if v.duplicates:
        parts.append(f"identical counts in {_list(['/'.join(d) for d in v.duplicates])}")
    text = "; ".join(parts) + "."
    if v.batch:
        text += f" The effect of {_list([repr(b) for b in v.batch])} was removed before judging."
    if math.isfinite(v.limit):
        text += (f" Replicates are expected to correlate at least {v.limit:.2f} here "
                 f"(Pearson, {v.params['n_genes']:,} most variable genes).")
    return text
