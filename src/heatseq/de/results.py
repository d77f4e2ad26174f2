"""``results``: tests, Cook's filtering, independent filtering and LFC shrinkage of a fit,
as R DESeq2's ``results()`` and ``lfcShrink()``, in a self-describing :class:`DEResult`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from heatseq.de.cooks import cooks_cutoff_default, cooks_outliers
from heatseq.de.deseq import DESeqFit
from heatseq.de.design import contrast_vector, design_matrix
from heatseq.de.filtering import independent_filtering as _independent_filtering
from heatseq.de.filtering import p_adjust_bh
from heatseq.de.glm import fit_nb_glm
from heatseq.de.lrt import lrt_from_fits
from heatseq.de.shrink import shrink_apeglm, shrink_normal
from heatseq.de.wald import AltHypothesis, contrast_all_zero, contrast_samples, wald_test
from heatseq.errors import InputError

__all__ = ["DEResult", "RESULT_COLUMNS", "results"]

Shrink = Literal["apeglm", "normal", "none"]
Contrast = tuple[str, str, str] | str | Sequence[float]
RESULT_COLUMNS = ("symbol", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj",
                  "log2FoldChange_shrunk", "lfcSE_shrunk")


@dataclass(frozen=True)
class DEResult:
    """Differential expression of one contrast, with DESeq2's column names.

    Attributes
    ----------
    table
        One row per gene (index ``gene_id``): symbol, baseMean, log2FoldChange, lfcSE, stat,
        pvalue, padj, log2FoldChange_shrunk, lfcSE_shrunk.
    name
        The contrast in words, e.g. ``"dex trt vs untrt"``.
    contrast
        As given: ``(factor, level, reference)``, a coefficient name or a numeric vector.
    contrast_vector
        The numeric contrast over the design's coefficients.
    test
        ``"wald"`` or ``"lrt"``.
    alpha, lfc_threshold, alt_hypothesis, shrink
        The options of the test.
    filter_threshold
        The baseMean below which independent filtering set padj to NA (None when off).
    cooks_cutoff
        The Cook's distance above which p-values were set to NA (None when off).
    params
        Everything that produced the result, the fit's options included.
    notes
        What was chosen or fell back, in plain words.
    """

    table: pd.DataFrame
    name: str
    contrast: Any
    contrast_vector: np.ndarray
    test: str
    alpha: float
    lfc_threshold: float
    alt_hypothesis: str
    shrink: str
    filter_threshold: float | None
    cooks_cutoff: float | None
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def file_stem(self) -> str:
        """``de_<factor>_<level>_vs_<ref>`` (or ``de_<coefficient>``), safe as a file name."""
        if isinstance(self.contrast, tuple) and len(self.contrast) == 3:
            parts = "_".join([self.contrast[0], self.contrast[1], "vs", self.contrast[2]])
        else:
            parts = self.name
        return "de_" + "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in parts)

    def significant(self, *, alpha: float | None = None, lfc: float = 0.0) -> pd.DataFrame:
        """Genes with padj < alpha (default: the result's alpha) and |log2FoldChange| >= lfc,
        sorted by padj."""
        a = self.alpha if alpha is None else alpha
        t = self.table
        keep = (t["padj"] < a) & (t["log2FoldChange"].abs() >= lfc)
        return t[keep].sort_values(["padj", "pvalue"], kind="mergesort")

    def summary(self) -> str:
        """Counts of up/down genes and of filtered and outlier genes, as DESeq2's summary()."""
        t = self.table
        tested = t["baseMean"] > 0
        sig = t["padj"] < self.alpha
        up = int((sig & (t["log2FoldChange"] > 0)).sum())
        down = int((sig & (t["log2FoldChange"] < 0)).sum())
        n = int(tested.sum())
        outliers = int((tested & t["pvalue"].isna()).sum())
        low = int((tested & t["pvalue"].notna() & t["padj"].isna()).sum())
        thr = f" (mean count < {self.filter_threshold:.3g})" if self.filter_threshold else ""
        return "\n".join([
            f"{self.name}: {n:,} genes with nonzero total read count",
            f"adjusted p-value < {self.alpha:g}",
            f"LFC > {self.lfc_threshold:g} (up)   : {up:,}, {100 * up / max(n, 1):.2g}%",
            f"LFC < {-self.lfc_threshold if self.lfc_threshold else 0:g} (down): {down:,}, {100 * down / max(n, 1):.2g}%",
            f"outliers [1]      : {outliers:,}, {100 * outliers / max(n, 1):.2g}%",
            f"low counts [2]    : {low:,}, {100 * low / max(n, 1):.2g}%{thr}",
        ])

    def to_frame(self) -> pd.DataFrame:
        """The table with ``gene_id`` as its first column."""
        return self.table.reset_index()


def results(fit: DESeqFit, *, contrast: Contrast | None = None, alpha: float = 0.1,
            lfc_threshold: float = 0.0, alt_hypothesis: AltHypothesis = "greaterAbs",
            cooks_cutoff: float | bool = True, independent_filtering: bool = True,
            shrink: Shrink = "apeglm") -> DEResult:
    """Test a contrast of a fitted model (R's ``results()`` + ``lfcShrink()``).

    Parameters
    ----------
    fit
        From :func:`heatseq.de.deseq`.
    contrast
        ``(factor, level, reference)``, a coefficient name (``"dex_trt_vs_untrt"``) or a
        numeric vector over the coefficients; default the last coefficient, as DESeq2.
    alpha
        FDR target of independent filtering and of :meth:`DEResult.summary`.
    lfc_threshold, alt_hypothesis
        Test |LFC| against a threshold: ``greaterAbs`` (default), ``lessAbs``, ``greater``,
        ``less``.
    cooks_cutoff
        True: DESeq2's default ``qf(0.99, p, m - p)``; a number; or False to keep outliers.
    independent_filtering
        Filter on baseMean before the BH adjustment, as DESeq2 (default True).
    shrink
        ``"apeglm"`` (default; adaptive Cauchy prior, Zhu, Ibrahim & Love 2018),
        ``"normal"`` (DESeq2's normal prior) or ``"none"``.

    Returns
    -------
    DEResult
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1; got {alpha}.")
    if shrink not in ("apeglm", "normal", "none"):
        raise InputError(f"shrink={shrink!r} is not valid; choose apeglm, normal or none.")
    design = fit.design
    if contrast is None:
        contrast = design.coef_names[-1]
    if isinstance(contrast, list) and len(contrast) == 3 and all(isinstance(c, str) for c in contrast):
        contrast = tuple(contrast)
    c = contrast_vector(design, contrast)
    name = _contrast_name(contrast, design)
    all_zero = fit.all_zero
    notes: list[str] = []

    if isinstance(contrast, tuple) and len(contrast) == 3:
        col = fit.dataset.samples[contrast[0]].astype(str)
        zero_samples = col.isin([contrast[1], contrast[2]]).to_numpy()
    else:
        zero_samples = contrast_samples(design.values, c)
    raw = fit.dataset.counts.to_numpy(dtype=float)  # counts(dds): original, not replaced
    zero = contrast_all_zero(raw, samples=zero_samples)

    if fit.test == "lrt":
        assert fit.reduced_glm is not None
        res = lrt_from_fits(fit.glm, fit.reduced_glm, contrast=c)
        lfc, se, stat, pvalue = (np.array(a, dtype=float, copy=True) for a in
                                 (res.log2FoldChange, res.lfcSE, res.stat, res.pvalue))
        if lfc_threshold:
            raise InputError("lfc_threshold applies to Wald tests; the LRT tests whole terms.")
    else:
        res = wald_test(fit.glm, contrast=c, lfc_threshold=lfc_threshold,
                        alt_hypothesis=alt_hypothesis, zero_genes=zero)
        lfc, se, stat, pvalue = (np.array(a, dtype=float, copy=True) for a in
                                 (res.log2FoldChange, res.lfcSE, res.stat, res.pvalue))

    m, p = design.values.shape
    cutoff: float | None
    if cooks_cutoff is True:
        cutoff = cooks_cutoff_default(m, p)
    elif cooks_cutoff is False:
        cutoff = None
    else:
        cutoff = float(cooks_cutoff)
    if cutoff is not None:
        two_group = len(design.terms) == 1 and len(design.factors) == 1 and \
            len(next(iter(design.factors.values()))) == 2
        out = cooks_outliers(fit.max_cooks, cutoff=cutoff, counts=raw,
                             cooks=fit.cooks, two_group_design=two_group)
        pvalue[out] = np.nan
    nz = fit.now_zero
    lfc[nz], se[nz], stat[nz], pvalue[nz] = 0.0, 0.0, 0.0, 1.0
    for arr in (lfc, se, stat, pvalue):
        arr[all_zero] = np.nan

    base_mean = np.where(all_zero, 0.0, fit.base_mean)
    if independent_filtering:
        padj, info = _independent_filtering(pvalue, base_mean, alpha=alpha)
        threshold: float | None = info.threshold
    else:
        padj, threshold = p_adjust_bh(pvalue), None

    table = pd.DataFrame({
        "symbol": fit.dataset.symbols.reindex(fit.gene_ids).to_numpy(),
        "baseMean": base_mean, "log2FoldChange": lfc, "lfcSE": se, "stat": stat,
        "pvalue": pvalue, "padj": padj,
    }, index=pd.Index(fit.gene_ids, name="gene_id"))
    shr_lfc = np.full(len(table), np.nan)
    shr_se = np.full(len(table), np.nan)
    if shrink != "none":
        shr_lfc, shr_se, shrink_notes = _shrink(fit, contrast, c, counts=raw, method=shrink)
        notes.extend(shrink_notes)
    table["log2FoldChange_shrunk"] = shr_lfc
    table["lfcSE_shrunk"] = shr_se
    params = {**fit.params, "contrast": contrast if isinstance(contrast, str | tuple)
              else [float(v) for v in contrast], "alpha": alpha, "lfc_threshold": lfc_threshold,
              "alt_hypothesis": alt_hypothesis, "cooks_cutoff": cutoff,
              "independent_filtering": independent_filtering, "shrink": shrink}
    return DEResult(table=table, name=name, contrast=contrast, contrast_vector=c, test=fit.test,
                    alpha=alpha, lfc_threshold=lfc_threshold, alt_hypothesis=alt_hypothesis,
                    shrink=shrink, filter_threshold=threshold, cooks_cutoff=cutoff,
                    params=params, notes=tuple(notes))


def _contrast_name(contrast: Any, design: Any) -> str:
    if isinstance(contrast, tuple) and len(contrast) == 3:
        return f"{contrast[0]} {contrast[1]} vs {contrast[2]}"
    if isinstance(contrast, str):
        return contrast
    c = np.asarray(contrast, dtype=float)
    return " ".join(f"{w:+g}*{n}" for w, n in zip(c, design.coef_names, strict=True) if w)


def _shrink(fit: DESeqFit, contrast: Any, c: np.ndarray, *, counts: np.ndarray, method: str
            ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Shrunk LFC of the contrast; needs it to be one coefficient, so a contrast of two
    levels that is not already a coefficient is made one by refitting with the contrast's
    reference as the factor's reference level (same model, other parameterisation)."""
    notes: list[str] = []
    design, glm = fit.design, fit.glm
    nonzero = np.flatnonzero(c)
    if len(nonzero) != 1 or c[nonzero[0]] != 1.0:
        if not (isinstance(contrast, tuple) and len(contrast) == 3):
            return (np.full(fit.glm.beta.shape[0], np.nan),) * 2 + (
                [f"LFC shrinkage needs a single coefficient or a (factor, level, reference) "
                 f"contrast; {method} shrinkage was not computed for this contrast."],)
        factor, _level, ref = contrast
        reference = {**fit.params.get("reference", {}), factor: ref}
        design = design_matrix(fit.dataset.samples, fit.params["design"], reference=reference)
        c = contrast_vector(design, contrast)
        nonzero = np.flatnonzero(c)
        glm = fit_nb_glm(fit.counts_fit, design=design.values,
                         size_factors=fit.size_factors.to_numpy(),
                         dispersions=fit.dispersions.dispersion)
        notes.append(f"For shrinkage the model was re-parameterised with {ref!r} as the "
                     f"reference level of {factor!r}.")
    coef = int(nonzero[0])
    sf = fit.size_factors.to_numpy()
    if method == "apeglm":
        res = shrink_apeglm(counts, design=design.values, coef=coef,
                            dispersions=fit.dispersions.dispersion, mle_beta=glm.beta,
                            mle_se=glm.beta_se, size_factors=sf, n_jobs=fit.n_jobs)
    else:
        res = shrink_normal(counts, design=design.values, coef=coef,
                            dispersions=fit.dispersions.dispersion,
                            dispersion_trend=fit.dispersions.disp_fit, mle_beta=glm.beta,
                            size_factors=sf, base_mean=fit.base_mean)
    notes.extend(res.notes)
    return res.log2_fold_change, res.lfc_se, notes

