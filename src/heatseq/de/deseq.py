"""``deseq``: the whole DESeq2 fit of a Dataset, as R's ``DESeq()`` (DESeq2 1.38.3).

Steps (Love, Huber & Anders 2014, Genome Biology 15:550, Methods): size factors by
median of ratios (or ``poscounts`` when every gene has a zero), gene-wise Cox-Reid
dispersions, the dispersion trend, MAP shrinkage of the dispersions, the negative binomial
GLM (``betaPrior=FALSE``), Cook's distances and, for samples in design cells with at least
``min_replicates_for_replace`` replicates, replacement of outlier counts and a refit of the
affected genes (``refitWithoutOutliers``). Tests and result tables are made by
:func:`heatseq.de.results.results`.

Gene-wise steps run on gene chunks (:mod:`heatseq.de._parallel`): pass a
``dask.distributed`` client to spread them across workers; results are identical.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.de._fitdisp import LineSearchResult
from heatseq.de._parallel import (
    chunk_slices,
    concat_records,
    gene_blocks,
    map_gene_chunks,
    resolve_jobs,
)
from heatseq.de.cooks import (
    cooks_distance,
    max_cooks,
    n_or_more_in_cell,
    refit_genes,
    replace_outliers,
)
from heatseq.de.design import Design, design_matrix
from heatseq.de.dispersion import (
    PRIOR_VAR_FLOOR,
    Dispersions,
    GeneWiseDispersions,
    GeneWiseStart,
    MAPDispersions,
    dispersions_from_gene_wise,
    gene_wise_dispersions,
    gene_wise_start,
    map_dispersions,
)
from heatseq.de.dispersion_trend import FitType
from heatseq.de.glm import GLMFit, fit_nb_glm
from heatseq.de.sizefactors import size_factors as _median_ratio_size_factors
from heatseq.errors import DesignError, InputError

__all__ = ["DESeqFit", "deseq"]

log = logging.getLogger(__name__)

Test = Literal["wald", "lrt"]
SizeFactorChoice = Literal["auto", "ratio", "poscounts"]
_GLM_GENE_AXIS = {"mu": 1, "hat_diagonals": 1}
_GLM_SHARED = ("design", "size_factors", "normalization_factors", "ridge", "min_mu")


@dataclass(frozen=True)
class DESeqFit:
    """A fitted DESeq2 model of a Dataset (the state of R's ``dds`` after ``DESeq()``).

    Attributes
    ----------
    dataset
        The input counts with their sample and gene tables.
    design
        The full design (model matrix with DESeq2's coefficient names).
    size_factors
        One per sample.
    dispersions
        Gene-wise, trend, MAP and final dispersions (replaced-outlier genes re-estimated).
    glm
        The GLM fit of the full design (natural-log coefficients).
    counts_fit
        The counts the final fit used (outlier counts replaced), samples x genes.
    base_mean
        Mean normalised count per gene, of ``counts_fit`` (R's ``baseMean``).
    cooks
        Cook's distances of the first fit, samples x genes.
    max_cooks
        Per-gene maximum Cook's distance over the samples that count.
    replaced
        Genes whose outlier counts were replaced and refitted.
    now_zero
        Genes that became all-zero after replacement.
    reduced
        The reduced design of a likelihood ratio test, else None.
    reduced_glm
        Its fit, else None.
    test
        ``"wald"`` or ``"lrt"``.
    notes
        What fell back, was chosen automatically or replaced, in plain words.
    params
        The options that produced the fit.
    timings
        Seconds per step.
    n_jobs
        Processes the gene-wise steps (and :func:`heatseq.results`' apeglm) may use; the
        numbers do not depend on it.
    """

    dataset: Dataset
    design: Design
    size_factors: pd.Series
    dispersions: Dispersions
    glm: GLMFit
    counts_fit: np.ndarray
    base_mean: np.ndarray
    cooks: np.ndarray
    max_cooks: np.ndarray
    replaced: np.ndarray
    now_zero: np.ndarray
    reduced: Design | None
    reduced_glm: GLMFit | None
    test: str
    notes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    n_jobs: int = 1

    @property
    def gene_ids(self) -> pd.Index:
        """Gene IDs in fit order."""
        return self.dataset.gene_ids

    @property
    def all_zero(self) -> np.ndarray:
        """Genes with zero counts in every sample (untested)."""
        return self.dispersions.all_zero

    def normalized_counts(self) -> pd.DataFrame:
        """Counts divided by size factors, samples x genes (R's ``counts(dds, normalized=TRUE)``)."""
        c = self.dataset.counts
        return c.div(self.size_factors.to_numpy(), axis=0)

    def dispersion_table(self) -> pd.DataFrame:
        """gene_id, baseMean, dispGeneEst, dispFit, dispersion, dispMAP, dispOutlier, replace."""
        d = self.dispersions
        return pd.DataFrame({
            "baseMean": self.base_mean, "dispGeneEst": d.disp_gene_est, "dispFit": d.disp_fit,
            "dispersion": d.dispersion, "dispMAP": d.disp_map,
            "dispOutlier": np.where(d.all_zero, np.nan, d.disp_outlier.astype(float)),
            "replace": self.replaced,
        }, index=self.gene_ids)

    def vst(self, *, blind: bool = False, nsub: int | None = None) -> pd.DataFrame:
        """Variance-stabilised counts, samples x genes (DESeq2's ``vst``).

        With ``nsub=None`` the trend of this fit is used (``blind=False``) or refitted on
        all genes (``blind=True``), as ``varianceStabilizingTransformation``; with
        ``nsub=1000`` the trend is refitted on that many genes, as ``vst()``.
        """
        from heatseq.de.vst import variance_stabilizing_transformation, vst

        counts = self.dataset.counts.to_numpy()
        sf = self.size_factors.to_numpy()
        if nsub is not None:
            res = vst(counts, size_factors=sf, design=self.design, blind=blind, nsub=nsub,
                      fit_type=self.params.get("fit_type", "parametric"))
        else:
            res = variance_stabilizing_transformation(
                counts, size_factors=sf, design=self.design, blind=blind,
                dispersions=None if blind else self.dispersions,
                fit_type=self.params.get("fit_type", "parametric"))
        return pd.DataFrame(res.values, index=self.dataset.sample_names, columns=self.gene_ids)


# ------------------------------------------------------------------------ chunk tasks
def _genewise_start_task(counts: np.ndarray, design: np.ndarray, sf: np.ndarray) -> GeneWiseStart:
    return gene_wise_start(counts, design=design, size_factors=sf)


def _line_search_task(start: GeneWiseStart) -> LineSearchResult:
    return start.line_search()


def _map_task(counts: np.ndarray, design: np.ndarray, mu: np.ndarray, gene_est: np.ndarray,
              fit: np.ndarray, prior_var: float, var_log: float) -> MAPDispersions:
    return map_dispersions(counts, design=design, mu=mu, disp_gene_est=gene_est, disp_fit=fit,
                           disp_prior_var=prior_var, var_log_disp_ests=var_log)


def _glm_task(counts: np.ndarray, design: np.ndarray, sf: np.ndarray,
              dispersions: np.ndarray, with_cooks: bool) -> tuple[GLMFit, np.ndarray | None]:
    fit = fit_nb_glm(counts, design=design, size_factors=sf, dispersions=dispersions)
    return fit, (cooks_distance(counts, fit) if with_cooks else None)


class _Chunks:
    """Runs the gene-wise steps on pieces of the gene axis, here, on forked processes or as
    Dask tasks; the result does not depend on the pieces, the processes or the client.

    Steps that fit the GLM (its BLAS products round differently with the number of genes)
    run on the fixed blocks of :mod:`heatseq.de._parallel`, ``len(slices)`` Dask tasks of
    whole blocks. The dispersion line searches treat every gene on its own, to the last bit,
    so they run on all genes at once, cut only into one piece per process or task: their
    vectorised loops then end in one short tail of slow genes, not one per block (on airway
    the gene-wise line search took 1.9 s in 16 blocks of 4,096 genes, 0.6 s in one).
    """

    def __init__(self, n_genes: int, *, client: Any, n_chunks: int | None,
                 n_jobs: int = 1) -> None:
        self.n_jobs = n_jobs
        if n_chunks is None:
            n_chunks = 1 if client is None else 2 * _n_workers(client)
        self.blocks = gene_blocks(n_genes)
        self.slices = chunk_slices(n_genes, n_chunks=n_chunks)
        self.client = client

    def _map(self, fn: Any, blocks: list[dict[str, Any]]) -> list[Any]:
        return map_gene_chunks(fn, blocks, n_chunks=len(self.slices), client=self.client,
                               n_jobs=self.n_jobs)

    def pieces(self, n: int) -> list[slice]:
        """``range(n)`` cut into one contiguous piece per process (here) or task (Dask)."""
        k = len(self.slices) if self.client is not None else self.n_jobs
        k = max(1, min(k, n))
        edges = np.linspace(0, n, k + 1).round().astype(int)
        return [slice(a, b) for a, b in itertools.pairwise(edges)]

    def genewise(self, counts: np.ndarray, x: np.ndarray, sf: np.ndarray) -> GeneWiseDispersions:
        parts = self._map(_genewise_start_task, [
            {"counts": _c(counts[:, s]), "design": x, "sf": sf} for s in self.blocks])
        start = GeneWiseStart.concat(parts)
        searches = self._map(_line_search_task, [
            {"start": start.piece(s)} for s in self.pieces(start.y.shape[1])])
        return start.finish(concat_records(searches, gene_axis={}))

    def map(self, counts: np.ndarray, x: np.ndarray, gw: GeneWiseDispersions, fit: np.ndarray,
            prior_var: float, var_log: float) -> MAPDispersions:
        parts = self._map(_map_task, [
            {"counts": _c(counts[:, s]), "design": x, "mu": _c(gw.mu[:, s]),
             "gene_est": _c(gw.disp_gene_est[s]), "fit": _c(fit[s]), "prior_var": prior_var,
             "var_log": var_log} for s in self.pieces(counts.shape[1])])
        return concat_records(parts, gene_axis={})

    def glm(self, counts: np.ndarray, x: np.ndarray, sf: np.ndarray, disp: np.ndarray, *,
            with_cooks: bool) -> tuple[GLMFit, np.ndarray | None]:
        parts = self._map(_glm_task, [
            {"counts": _c(counts[:, s]), "design": x, "sf": sf, "dispersions": _c(disp[s]),
             "with_cooks": with_cooks} for s in self.blocks])
        fit = concat_records([p[0] for p in parts], gene_axis=_GLM_GENE_AXIS, shared=_GLM_SHARED)
        cooks = np.concatenate([p[1] for p in parts], axis=1) if with_cooks else None
        return fit, cooks


def _c(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of a block's slice: the same memory layout here as on a worker."""
    return np.array(a, order="C", copy=True)


def _n_workers(client: Any) -> int:
    """Worker threads of a Dask client (at least 1), to size the default chunking."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:
        return 1


# ------------------------------------------------------------------------ the pipeline
def deseq(dataset: Dataset, *, design: str, reference: Mapping[str, str] | None = None,
          test: Test = "wald", reduced: str | None = None,
          size_factors: SizeFactorChoice | Sequence[float] | pd.Series = "auto",
          fit_type: FitType = "parametric", min_replicates_for_replace: int | None = 7,
          client: Any = None, n_chunks: int | None = None,
          n_jobs: int | None = None) -> DESeqFit:
    """Fit the DESeq2 model to a Dataset (R's ``DESeq()``).

    Parameters
    ----------
    dataset
        Raw counts with a samples table holding the design's columns.
    design
        Design formula, e.g. ``"~ cell + dex"`` or ``"~ genotype * treatment"``.
    reference
        Reference level per factor, e.g. ``{"dex": "untrt"}`` (default: the first level in
        R's sort order).
    test
        ``"wald"`` (default) or ``"lrt"`` (likelihood ratio test against ``reduced``).
    reduced
        Reduced design formula for the LRT, e.g. ``"~ cell"``.
    size_factors
        ``"auto"`` (median of ratios; ``poscounts`` when every gene has a zero, with a
        note), ``"ratio"``, ``"poscounts"``, or one value per sample.
    fit_type
        Dispersion trend: ``"parametric"`` (falls back to ``"local"`` as DESeq2 does),
        ``"local"`` or ``"mean"``.
    min_replicates_for_replace
        Samples in design cells with at least this many replicates have outlier counts
        replaced and their genes refitted; None turns replacement off.
    client
        Optional ``dask.distributed.Client``: gene-wise steps run as tasks on its workers.
    n_chunks
        Number of gene chunks (default: 1 locally, twice the workers on a client).
    n_jobs
        Without a client: processes for the gene-wise steps (None: the cores available to
        this process; 1: all in this process). The results do not depend on it.

    Returns
    -------
    DESeqFit

    Examples
    --------
    >>> import heatseq
    >>> ds = heatseq.datasets.airway()
    >>> fit = deseq(ds.subset(genes=ds.gene_ids[:2000]), design="~ cell + dex",
    ...             reference={"dex": "untrt"})
    >>> fit.design.coef_names[-1]
    'dex_trt_vs_untrt'
    """
    if test not in ("wald", "lrt"):
        raise InputError(f"test={test!r} is not valid; choose 'wald' or 'lrt'.")
    if test == "lrt" and reduced is None:
        raise DesignError("The likelihood ratio test needs a reduced design, e.g. reduced='~ cell'.")
    if test == "wald" and reduced is not None:
        raise DesignError("A reduced design is only used by the likelihood ratio test; "
                          "add test='lrt' (CLI: --lrt-reduced implies it).")
    jobs = resolve_jobs(n_jobs)
    timings: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    full = design_matrix(dataset.samples, design, reference=reference)
    red = None
    if reduced:
        red_ref = {k: v for k, v in (reference or {}).items()
                   if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.])", reduced)}
        red = design_matrix(dataset.samples, reduced, reference=red_ref)
    if red is not None and red.n_coefs >= full.n_coefs:
        raise DesignError(f"The reduced design {reduced!r} has {red.n_coefs} coefficients and the "
                          f"full design {design!r} {full.n_coefs}; the reduced design must drop "
                          "at least one term.")
    x = full.values
    counts = dataset.counts.to_numpy(dtype=np.float64)
    sf, sf_note = _size_factors(counts, size_factors, dataset.sample_names)
    if sf_note:
        notes.append(sf_note)
    timings["size_factors"] = time.perf_counter() - t0

    chunks = _Chunks(counts.shape[1], client=client, n_chunks=n_chunks,
                     n_jobs=jobs)
    t = time.perf_counter()
    disp, trend_notes = _dispersions(counts, x, sf, fit_type=fit_type, chunks=chunks)
    notes.extend(trend_notes)
    timings["dispersions"] = time.perf_counter() - t

    t = time.perf_counter()
    glm, cooks = chunks.glm(counts, x, sf, disp.dispersion, with_cooks=True)
    assert cooks is not None
    timings["glm"] = time.perf_counter() - t

    counts_fit, base_mean = counts, disp.base_mean
    replaced = np.zeros(counts.shape[1], dtype=bool)
    now_zero = np.zeros(counts.shape[1], dtype=bool)
    maxc = max_cooks(cooks, design=x)
    if min_replicates_for_replace is not None and n_or_more_in_cell(x, min_replicates_for_replace).any():
        t = time.perf_counter()
        rep = replace_outliers(counts, cooks, design=x, size_factors=sf,
                               min_replicates=min_replicates_for_replace)
        nonzero = rep.counts.sum(axis=0) > 0
        refit = rep.replace & nonzero & ~disp.all_zero
        now_zero = rep.replace & ~nonzero
        if refit.any():
            counts_fit = rep.counts
            base_mean = (counts_fit / sf[:, None]).mean(axis=0)
            disp = _refit_dispersions(counts_fit, x, sf, disp, refit)
            glm = refit_genes(glm, counts_fit, genes=refit, dispersions=disp.dispersion)
            maxc = max_cooks(cooks, design=x, replaceable=rep.replaceable)
            replaced = rep.replace.copy()
            notes.append(f"{int(refit.sum()):,} genes had outlier counts (Cook's distance above "
                         f"{rep.cutoff:.3g}) in samples of groups with >= "
                         f"{min_replicates_for_replace} replicates; those counts were replaced by "
                         "the trimmed mean and the genes refitted, as DESeq2 does.")
        timings["replace_outliers"] = time.perf_counter() - t

    reduced_glm = None
    if red is not None:
        t = time.perf_counter()
        reduced_glm, _ = chunks.glm(counts_fit, red.values, sf, disp.dispersion, with_cooks=False)
        timings["reduced_glm"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    params = {"design": design, "reference": dict(reference or {}), "test": test,
              "reduced": reduced, "size_factors": size_factors if isinstance(size_factors, str)
              else "user", "fit_type": fit_type, "fit_type_used": disp.fit_type,
              "min_replicates_for_replace": min_replicates_for_replace,
              "n_chunks": len(chunks.slices)}
    return DESeqFit(dataset=dataset, design=full,
                    size_factors=pd.Series(sf, index=dataset.sample_names, name="sizeFactor"),
                    dispersions=disp, glm=glm, counts_fit=counts_fit, base_mean=base_mean,
                    cooks=cooks, max_cooks=maxc, replaced=replaced, now_zero=now_zero,
                    reduced=red, reduced_glm=reduced_glm, test=test, notes=tuple(notes),
                    params=params, timings=timings, n_jobs=jobs)


def _size_factors(counts: np.ndarray, choice: object, samples: pd.Index) -> tuple[np.ndarray, str | None]:
    if isinstance(choice, str):
        if choice not in ("auto", "ratio", "poscounts"):
            raise InputError(f"size_factors={choice!r} is not valid; choose 'auto', 'ratio', "
                             "'poscounts' or give one number per sample.")
        if choice == "auto":
            if (counts == 0).any(axis=0).all():
                return (_median_ratio_size_factors(counts, method="poscounts"),
                        "Every gene has a zero in some sample, so size factors were estimated "
                        "with 'poscounts' (median of ratios over positive counts), as DESeq2 "
                        "suggests for such data.")
            choice = "ratio"
        return _median_ratio_size_factors(counts, method=choice), None  # type: ignore[arg-type]
    sf = pd.Series(choice) if not isinstance(choice, pd.Series) else choice
    if isinstance(choice, pd.Series):
        missing = samples.difference(sf.index.astype(str))
        if len(missing):
            raise InputError(f"Size factors are missing for samples: {', '.join(missing[:5])}.")
        values = sf.loc[samples].to_numpy(dtype=float)
    else:
        values = np.asarray(choice, dtype=float)
    if values.shape != (len(samples),) or not np.isfinite(values).all() or (values <= 0).any():
        raise InputError(f"Give one positive size factor per sample ({len(samples)}); got "
                         f"{values.shape[0] if values.ndim else 'a scalar'} value(s).")
    return values, None


def _dispersions(counts: np.ndarray, x: np.ndarray, sf: np.ndarray, *, fit_type: str,
                 chunks: _Chunks) -> tuple[Dispersions, list[str]]:
    """``estimateDispersions`` with its gene-wise steps on gene blocks."""
    gw = chunks.genewise(counts, x, sf)
    d = dispersions_from_gene_wise(
        counts, design=x, gene_wise=gw, fit_type=fit_type,  # type: ignore[arg-type]
        map_runner=lambda fit, prior_var, var_log: chunks.map(counts, x, gw, fit, prior_var,
                                                               var_log))
    return d, list(d.notes)


def _refit_dispersions(counts: np.ndarray, x: np.ndarray, sf: np.ndarray, disp: Dispersions,
                       genes: np.ndarray) -> Dispersions:
    """Re-estimate dispersions of the refitted genes on replaced counts, keeping the trend
    and prior variance of the first fit (DESeq2's ``refitWithoutOutliers``)."""
    sub = counts[:, genes]
    gw = gene_wise_dispersions(sub, design=x, size_factors=sf)
    fit = disp.trend(gw.base_mean)
    mp = map_dispersions(sub, design=x, mu=gw.mu, disp_gene_est=gw.disp_gene_est, disp_fit=fit,
                         disp_prior_var=max(disp.disp_prior_var, PRIOR_VAR_FLOOR)
                         if x.shape[0] > x.shape[1] else disp.disp_prior_var,
                         var_log_disp_ests=disp.var_log_disp_ests)
    arrays: dict[str, np.ndarray] = {}
    for name, new in (("base_mean", gw.base_mean), ("base_var", gw.base_var),
                      ("disp_gene_est", gw.disp_gene_est), ("disp_gene_iter", gw.disp_gene_iter),
                      ("disp_fit", fit), ("dispersion", mp.dispersion), ("disp_map", mp.disp_map),
                      ("disp_outlier", mp.disp_outlier), ("disp_map_iter", mp.disp_iter)):
        arr = np.array(getattr(disp, name), copy=True)
        arr[genes] = new
        arrays[name] = arr
    return dataclasses.replace(disp, **arrays)
