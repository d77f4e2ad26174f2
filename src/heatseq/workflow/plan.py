"""What a run will do, decided before any heavy step: the design, the contrasts, the
condition and batch columns for QC.

Everything a user can get wrong (a design column not in the sheet, a contrast level that
does not exist, a confounded design) is checked here, on the model matrix alone, so the
mistake is reported in a second and not after the fit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from heatseq.de.design import (
    Design,
    confounded_columns,
    contrast_vector,
    design_matrix,
    proposed_design,
)
from heatseq.errors import InputError

__all__ = ["RunPlan", "parse_contrast", "plan_run"]

log = logging.getLogger(__name__)

Contrast = tuple[str, str, str] | str


@dataclass(frozen=True)
class RunPlan:
    """The decisions of a run, in the order they were made.

    Attributes
    ----------
    design
        The design formula (given or proposed).
    proposed
        True when the design was proposed from the sample sheet.
    contrasts
        ``(factor, level, reference)`` triples or coefficient names.
    reference
        Reference level per factor.
    condition
        The sample-sheet column whose groups QC judges and heatmaps label (the first
        contrast's factor).
    batch
        The other factor columns of the design (taken into account by the replicate verdict).
    annotate
        Sample-sheet columns drawn as bars on the heatmaps.
    confounded
        Pairs of sample-sheet columns that cannot both be in a design, in words.
    notes
        The decisions in plain words, for the report.
    """

    design: str
    proposed: bool
    contrasts: tuple[Contrast, ...]
    reference: Mapping[str, str]
    condition: str | None
    batch: tuple[str, ...]
    annotate: tuple[str, ...]
    confounded: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def parse_contrast(text: str) -> Contrast:
    """``"dex,trt,untrt"`` -> ``("dex", "trt", "untrt")``; a coefficient name stays a string.

    Examples
    --------
    >>> parse_contrast("dex,trt,untrt"), parse_contrast("dex_trt_vs_untrt")
    (('dex', 'trt', 'untrt'), 'dex_trt_vs_untrt')
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1 and parts[0]:
        return parts[0]
    if len(parts) != 3 or not all(parts):
        raise InputError(f"--contrast {text!r} is not valid: give FACTOR,LEVEL,REFERENCE "
                         "(e.g. dex,trt,untrt) or a coefficient name.")
    return parts[0], parts[1], parts[2]


def _check_levels(samples: pd.DataFrame, contrast: tuple[str, str, str], where: str) -> None:
    factor, level, ref = contrast
    if factor not in samples.columns:
        raise InputError(f"--contrast {','.join(contrast)}: {factor!r} is not a column of the "
                         f"sample sheet{where}; columns are: "
                         f"{', '.join(map(str, samples.columns))}.")
    levels = sorted({str(v) for v in samples[factor].dropna()})
    for name in (level, ref):
        if name not in levels:
            raise InputError(f"--contrast {','.join(contrast)}: {name!r} is not a value of "
                             f"column {factor!r} in the sample sheet{where}; its values are: "
                             f"{', '.join(levels)}. Check the spelling (values are case-"
                             "sensitive).")
    if level == ref:
        raise InputError(f"--contrast {','.join(contrast)}: the level and the reference are "
                         "the same; give two different values.")


#: Level names that read as the control group, in order of preference (case-insensitive).
CONTROL_NAMES = ("control", "ctrl", "ctl", "untreated", "untrt", "untr", "vehicle", "veh",
                 "mock", "wt", "wildtype", "wild_type", "wild-type", "normal", "healthy",
                 "dmso", "pbs", "naive", "baseline", "sham", "none", "placebo", "nt")


def _with_control_reference(samples: pd.DataFrame, d: Design, formula: str,
                            ref: dict[str, str]) -> tuple[Design, str | None]:
    """Without a contrast, make a control-like level the reference of the tested factor.

    R (and DESeq2) take the first level in sort order as the reference, which makes
    airway's ``untrt`` the numerator of ``trt``; a biologist expects the control in the
    denominator. When the design's last factor has exactly one level named like a control
    (:data:`CONTROL_NAMES`) and no reference was given for it, that level becomes the
    reference, and the report says so.
    """
    factor = next((t for t in reversed(d.terms) if t in d.factors), None)
    if factor is None or factor in ref:
        return d, None
    levels = d.factors[factor]
    hits = [lv for lv in levels if lv.strip().lower() in CONTROL_NAMES]
    if len(hits) != 1 or hits[0] == levels[0]:
        return d, None
    ref[factor] = hits[0]
    return (design_matrix(samples, formula, reference=ref),
            f"{hits[0]!r} reads as the control group, so it is the reference level of "
            f"{factor!r} (R would take {levels[0]!r}, the first in sort order); give "
            "--contrast or --reference to choose.")


def _default_contrasts(design: Design) -> list[Contrast]:
    """Each level of the design's last factor term against its reference."""
    for term in reversed(design.terms):
        if term in design.factors:
            levels = design.factors[term]
            return [(term, lv, levels[0]) for lv in levels[1:]]
    return [design.coef_names[-1]]


def plan_run(samples: pd.DataFrame, *, design: str | None,
             contrasts: Sequence[Contrast] = (), reference: Mapping[str, str] | None = None,
             where: str = "") -> RunPlan:
    """Decide the design and contrasts of a run, checking them against the sample sheet.

    Parameters
    ----------
    samples
        The sample sheet (index = sample names), aligned to the counts.
    design
        A formula, or None to propose one (:func:`heatseq.de.design.proposed_design`).
    contrasts
        As for :func:`heatseq.de.results.results`; none: every level of the design's last
        factor against its reference.
    reference
        Reference level per factor; a contrast's reference is used when not given.
    where
        The sample sheet's file name, for messages (e.g. ``" samples.csv"``).

    Raises
    ------
    InputError, DesignError
        With the column, level or confounded columns named.
    """
    notes: list[str] = []
    pairs = confounded_columns(samples)
    confounded = tuple(f"{a} and {b}" for a, b in pairs)
    proposed = design is None
    if design is None:
        design = proposed_design(samples)
        notes.append(f"No design was given; heatseq proposed {design} from the sample sheet "
                     "(the condition last, other grouping columns added while the design "
                     "stays of full rank).")
        if confounded:
            notes.append("Columns that cannot both be in a design (confounded): "
                         + "; ".join(confounded) + ".")
    ref: dict[str, str] = dict(reference or {})
    for c in contrasts:
        if isinstance(c, tuple):
            _check_levels(samples, c, where)
            ref.setdefault(c[0], c[2])
    d = design_matrix(samples, design, reference=ref)
    if not contrasts:
        d, control = _with_control_reference(samples, d, design, ref)
        if control:
            notes.append(control)
    chosen = list(contrasts) or _default_contrasts(d)
    if not contrasts:
        notes.append("No contrast was given; heatseq tests "
                     + ", ".join(_words(c) for c in chosen) + ".")
    for c in chosen:
        contrast_vector(d, c)  # raises a DesignError naming the problem
    cond = next((c[0] for c in chosen if isinstance(c, tuple)), None)
    if cond is None:
        cond = next((t for t in reversed(d.terms) if t in d.factors), None)
    batch = tuple(f for f in d.factors if f != cond and ":" not in f)
    annotate = tuple(dict.fromkeys([*(f for f in d.factors if ":" not in f),
                                    *([] if cond is None else [cond])]))
    return RunPlan(design=design, proposed=proposed, contrasts=tuple(chosen),
                   reference=ref, condition=cond, batch=batch, annotate=annotate,
                   confounded=confounded, notes=tuple(notes))


def _words(c: Any) -> str:
    return f"{c[0]} {c[1]} vs {c[2]}" if isinstance(c, tuple) else str(c)
