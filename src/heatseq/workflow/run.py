"""``heatseq run``: a biologist's whole analysis in one call.

Counts and a sample sheet in; out, in one folder: QC (metrics, PCA, sample distances and the
replicate verdict), DESeq2 differential expression for each contrast, the heatmaps (top
variable genes; each contrast's DE genes with modules), volcano and MA plots, the HTML report
(``report.html``), ``run.json`` (versions, parameters, SHA-256 of inputs, timings, every
output) and ``heatseq.log``.

Folder layout (paths relative to OUTDIR)::

    report.html  run.json  heatseq.log
    qc/        qc_metrics.tsv, qc_verdict.tsv, pca.tsv, figures (library sizes, detected
               genes, count distributions, PCA, sample distances and correlations)
    de/        <contrast>.tsv per contrast, size_factors.tsv, dispersions.tsv,
               normalized_counts.tsv, vst.tsv
    heatmaps/  top_variance.{png,svg,order.tsv,modules.tsv,modules.txt},
               <contrast>.heatmap.*
    plots/     <contrast>.volcano.{png,svg}, <contrast>.ma.{png,svg}

Everything is written into a staging folder and moved into OUTDIR only when every step has
succeeded (:mod:`heatseq.workflow.outdir`). Tables are byte-identical between runs with the
same inputs and options.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from heatseq._fork import available_cores, worker_pool
from heatseq.errors import InputError
from heatseq.workflow.heatmaps import HeatmapOutput, de_heatmap, top_variance_heatmap
from heatseq.workflow.methods import contrast_words
from heatseq.workflow.outdir import staged_outdir
from heatseq.workflow.plan import Contrast, RunPlan, plan_run

__all__ = ["RunResult", "run_analysis"]

log = logging.getLogger(__name__)

Organism = Literal["auto", "human", "mouse", "fly"]
#: The stages of a run, in order (progress bars and ``run.json`` timings use these names).
STAGES = ("read", "plan", "qc", "de", "heatmaps", "enrich", "plots", "report")


@dataclass(frozen=True)
class RunResult:
    """What a run produced.

    Attributes
    ----------
    outdir
        The output folder.
    plan
        The design, contrasts and columns the run used.
    fit
        The DESeq2 fit (:class:`heatseq.DESeqFit`).
    results
        One :class:`heatseq.DEResult` per contrast.
    qc
        The QC outcome (metrics, PCA, verdict).
    heatmaps
        The heatmaps drawn.
    files
        Every file written, relative to ``outdir``, sorted.
    timings
        Seconds per stage.
    """

    outdir: Path
    plan: RunPlan
    fit: Any
    results: tuple[Any, ...]
    qc: Any
    heatmaps: tuple[HeatmapOutput, ...]
    files: tuple[str, ...]
    timings: Mapping[str, float] = field(default_factory=dict)


class _Log(logging.Handler):
    """Collects the run's log records for ``heatseq.log`` (plain lines, no timestamps in
    the message so the file diffs cleanly)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


def run_analysis(counts: str | os.PathLike[str], *, samples: str | os.PathLike[str],
                 outdir: str | os.PathLike[str], design: str | None = None,
                 contrasts: Sequence[Contrast] = (), reference: Mapping[str, str] | None = None,
                 organism: Organism = "auto", alpha: float = 0.1,
                 lfc_threshold: float = 0.0, shrink: Literal["apeglm", "normal", "none"] = "apeglm",
                 fit_type: Literal["parametric", "local", "mean"] = "parametric",
                 heatmap_genes: int = 500, de_heatmap_genes: int = 500, k: int | None = None,
                 tx2gene: str | os.PathLike[str] | None = None, force: bool = False,
                 formats: Sequence[str] = ("png", "svg"), dpi: int = 200,
                 highlight: Sequence[str] = (), command: str = "heatseq run",
                 progress: Callable[[str], Any] | None = None) -> RunResult:
    """Run QC, differential expression, heatmaps, plots and the report into ``outdir``.

    Parameters
    ----------
    counts, samples
        Count input (any format :func:`heatseq.read_counts` reads) and the sample sheet.
    outdir
        Output folder: created; an existing non-empty folder is refused unless ``force``.
    design
        Design formula; None proposes one from the sample sheet (the report says which).
    contrasts
        ``(factor, level, reference)`` triples or coefficient names; none: each level of the
        design's last factor against its reference.
    reference
        Reference level per factor.
    organism
        For gene symbols (and, later, enrichment): ``auto`` detects it from the gene IDs.
    alpha, lfc_threshold, shrink, fit_type
        As :func:`heatseq.deseq` and :func:`heatseq.results`.
    heatmap_genes, de_heatmap_genes, k
        Genes of the top-variance heatmap, at most this many DE genes per DE heatmap, and
        the number of gene modules (None: chosen by the silhouette criterion).
    tx2gene
        For salmon/kallisto/RSEM inputs.
    highlight
        Genes (IDs or symbols, any case) ringed and labelled on the volcano and MA plots.
    formats, dpi
        Figure formats (``png`` always included: the report embeds it) and PNG resolution.
    command
        The command line recorded in ``run.json``.
    progress
        Called with each stage's name as it starts (the CLI's progress bar).
    """
    from heatseq.annotation import annotate
    from heatseq.io.detect import read_counts

    started = datetime.now(UTC)
    formats = tuple(dict.fromkeys(["png", *formats]))
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise InputError(f"Figure format(s) {', '.join(bad)} are not valid; choose from png, "
                         "svg, pdf.")
    inputs = tuple(Path(p) for p in (counts, samples, tx2gene) if p is not None)
    handler = _Log()
    root = logging.getLogger("heatseq")
    root.addHandler(handler)
    old_level, old_propagate = root.level, root.propagate
    root.setLevel(logging.INFO)
    root.propagate = False  # the run's messages go to heatseq.log; the console shows progress
    timings: dict[str, float] = {}

    def stage(name: str) -> _Timer:
        if progress is not None:
            progress(name)
        return _Timer(name, timings)

    try:
        with staged_outdir(outdir, force=force, inputs=inputs) as stage_dir:
            with stage("read"):
                ds = read_counts(counts, samples=samples, tx2gene=tx2gene)
                ds = annotate(ds, organism=organism)
            with stage("plan"):
                plan = plan_run(ds.samples, design=design, contrasts=contrasts,
                                reference=reference, where=f" {samples}")
            for note in plan.notes:
                log.info("%s", note)
            run = _Run(ds=ds, plan=plan, stage_dir=stage_dir, formats=formats, dpi=dpi,
                       alpha=alpha)
            with stage("qc"):
                run.qc_step()
            with stage("de"), worker_pool(available_cores()):
                run.de_step(fit_type=fit_type, lfc_threshold=lfc_threshold, shrink=shrink)
            with stage("heatmaps"):
                run.heatmap_step(n_top=heatmap_genes, n_de=de_heatmap_genes, k=k)
            with stage("enrich"):
                run.enrich_step(organism=organism)
            with stage("plots"):
                run.plot_step(highlight=tuple(highlight))
            with stage("report"):
                params = {"design": plan.design, "design_proposed": plan.proposed,
                          "contrasts": [contrast_words(c) for c in plan.contrasts],
                          "reference": dict(plan.reference), "organism": organism,
                          "alpha": alpha, "lfc_threshold": lfc_threshold, "shrink": shrink,
                          "fit_type": fit_type, "heatmap_genes": heatmap_genes,
                          "de_heatmap_genes": de_heatmap_genes, "k": k,
                          "highlight": list(highlight), "formats": list(formats), "dpi": dpi}
                run.report_step(params=params, inputs=inputs, command=command,
                                started=started)
            run.write_provenance(params=params, inputs=inputs, command=command,
                                 started=started, timings=timings)
            (stage_dir / "heatseq.log").write_text("\n".join(handler.lines) + "\n",
                                                   encoding="utf-8")
            files = tuple(sorted([*run.files, "heatseq.log"]))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        root.propagate = old_propagate
    return RunResult(outdir=Path(outdir), plan=plan, fit=run.fit, results=tuple(run.results),
                     qc=run.qc, heatmaps=tuple(run.heatmaps), files=files, timings=timings)


class _Timer:
    def __init__(self, name: str, timings: dict[str, float]) -> None:
        self.name, self.timings = name, timings

    def __enter__(self) -> _Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = time.perf_counter() - self.t0


class _Run:
    """The state of a run between its steps (internal)."""

    def __init__(self, *, ds: Any, plan: RunPlan, stage_dir: Path, formats: tuple[str, ...],
                 dpi: int, alpha: float) -> None:
        self.ds, self.plan, self.stage, self.formats, self.dpi = ds, plan, stage_dir, formats, dpi
        self.alpha = alpha
        self.files: list[str] = []
        self.fit: Any = None
        self.results: list[Any] = []
        self.qc: Any = None
        self.heatmaps: list[HeatmapOutput] = []
        self.plots: dict[str, dict[str, Any]] = {}
        self.vst: pd.DataFrame | None = None
        self.enrichment: Any = None
        sym = ds.genes["symbol"] if "symbol" in ds.genes.columns else None
        self.symbols = None if sym is None else sym.astype(object).where(sym.notna(), None)

    def table(self, frame: pd.DataFrame, rel: str, *, index: bool = True) -> str:
        from heatseq.io.write import write_table

        write_table(frame, self.stage / rel, index=index)
        self.files.append(rel)
        return rel

    def figure(self, fig: Any, rel_stem: str) -> dict[str, str]:
        from heatseq.plot import save_figure

        out = {}
        for fmt in self.formats:
            rel = f"{rel_stem}.{fmt}"
            save_figure(fig, self.stage / rel, dpi=self.dpi)
            self.files.append(rel)
            out[fmt] = rel
        return out

    # ------------------------------------------------------------------ steps
    def qc_step(self) -> None:
        from heatseq.workflow.qc_step import run_qc

        self.qc = run_qc(self.ds, condition=self.plan.condition, batch=self.plan.batch,
                         save=self.figure, table=self.table)
        if self.qc.verdict is not None:
            for sentence in self.qc.verdict.sentences:
                log.info("QC: %s", sentence)

    def de_step(self, *, fit_type: str, lfc_threshold: float, shrink: str) -> None:
        from heatseq.de.deseq import deseq
        from heatseq.de.results import results

        p = self.plan
        self.fit = deseq(self.ds, design=p.design, reference=p.reference,
                         fit_type=fit_type)  # type: ignore[arg-type]
        for note in self.fit.notes:
            log.info("%s", note)
        for c in p.contrasts:
            res = results(self.fit, contrast=c, alpha=self.alpha, lfc_threshold=lfc_threshold,
                          shrink=shrink)  # type: ignore[arg-type]
            for note in res.notes:
                log.info("%s", note)
            log.info("%s", res.summary().replace("\n", "; "))
            self.results.append(res)
            self.table(res.table, f"de/{res.file_stem}.tsv")
        fit = self.fit
        self.table(fit.size_factors.rename_axis("sample").to_frame(), "de/size_factors.tsv")
        self.table(fit.dispersion_table()[["dispGeneEst", "dispFit", "dispersion"]],
                   "de/dispersions.tsv")
        self.table(fit.normalized_counts().T.rename_axis("gene_id"), "de/normalized_counts.tsv")
        self.vst = fit.vst(blind=False).T.rename_axis("gene_id")
        self.table(self.vst, "de/vst.tsv")

    def heatmap_step(self, *, n_top: int, n_de: int, k: int | None) -> None:
        assert self.vst is not None
        p = self.plan
        common = {"stage": self.stage, "samples": self.ds.samples, "annotate": p.annotate,
                  "condition": p.condition, "symbols": self.symbols,
                  "formats": self.formats, "dpi": self.dpi}
        values = self.vst[self.fit.base_mean > 0] if len(self.vst) else self.vst
        top = top_variance_heatmap(values, n=n_top, k=k, **common)  # type: ignore[arg-type]
        self.heatmaps.append(top)
        self.files.extend(top.files)
        for res in self.results:
            h = de_heatmap(values, res, n=n_de, k=k, alpha=self.alpha, **common)  # type: ignore[arg-type]
            if h is None:
                log.info("%s: fewer than 2 genes at padj < %g, no DE heatmap.", res.name,
                         self.alpha)
                continue
            self.heatmaps.append(h)
            self.files.extend(h.files)

    def enrich_step(self, *, organism: str) -> None:
        """ORA and GSEA per contrast, module enrichment per heatmap (modules.txt rewritten
        with each module's best term); see :mod:`heatseq.workflow.enrich_step`."""
        from heatseq.annotation import guess_organism
        from heatseq.workflow.enrich_step import run_enrichment

        org = guess_organism(self.ds.gene_ids) if organism == "auto" else organism
        self.enrichment = run_enrichment(results=self.results, heatmaps=self.heatmaps,
                                         stage=self.stage, organism=org,
                                         symbols=self.symbols, formats=self.formats,
                                         dpi=self.dpi)
        self.heatmaps = list(self.enrichment.heatmaps)
        self.files.extend(self.enrichment.files)
        for note in self.enrichment.notes:
            log.info("%s", note)

    def enrichment_methods(self) -> tuple[str, ...]:
        """The methods sentence on enrichment, with the collection releases."""
        e = self.enrichment
        if e is None or not e.contrasts:
            return ()
        from heatseq.workflow.enrich_step import RUN_GSEA

        rel = "; ".join(f"{k}: {v}" for k, v in e.releases.items())
        return (f"Gene-set enrichment used heatseq's bundled {e.organism} collections "
                f"({rel}): over-representation of the genes up, down and either way "
                "(padj < 0.05, |log2 fold change| > 1) by a one-sided hypergeometric test "
                "against the genes with an adjusted p-value, sets of 10-500 genes, "
                "Benjamini-Hochberg adjusted, redundant GO terms collapsed; preranked GSEA "
                f"on the Wald statistic ({', '.join(RUN_GSEA)}; adaptive multilevel "
                "p-values, seed 0); each heatmap module was tested against all clustered "
                "genes.",)

    def gene_sets(self) -> Any:
        """run.json's and the report's ``gene_sets``: release and licence of each
        collection tested."""
        e = self.enrichment
        if e is None or not e.collections:
            return "none (enrichment not run)" if e is None or not e.notes else e.notes[0]
        from heatseq.enrich.collections import collection_versions

        bundled = collection_versions()["collections"]
        out = {}
        for c in e.collections:
            info = bundled.get(f"{c.name}_{c.organism}", {})
            out[c.name] = {"organism": c.organism, "release": c.release,
                           "licence": c.licence, "sets": len(c),
                           **({"source": info["source"]} if "source" in info else {})}
        return out

    def plot_step(self, *, highlight: tuple[str, ...] = ()) -> None:
        """Volcano and MA plots of each contrast (static files, interactive fragments for the
        report), with the contrast's top DE genes labelled."""
        from heatseq.plot import ma_html, ma_plot, volcano, volcano_html

        for res in self.results:
            stem = res.file_stem
            shrunk = "shrunk" if res.shrink != "none" else "log2FoldChange"
            v = self.figure(volcano(res, highlight=highlight), f"plots/{stem}.volcano")
            m = self.figure(ma_plot(res, lfc_column=shrunk, highlight=highlight),
                            f"plots/{stem}.ma")
            self.plots[stem] = {
                "volcano": v, "ma": m,
                "volcano_html": volcano_html(res, highlight=highlight,
                                             element_id=f"{stem}-volcano"),
                "ma_html": ma_html(res, lfc_column=shrunk, highlight=highlight,
                                   element_id=f"{stem}-ma"),
            }

    def qc_section(self) -> Any:
        from heatseq.workflow.qc_step import qc_report_section

        return qc_report_section(self.qc, stage=self.stage)

    def write_provenance(self, *, params: Mapping[str, Any], inputs: Sequence[Path],
                         command: str, started: datetime, timings: Mapping[str, float]) -> None:
        """``run.json``: versions, parameters, input SHA-256, annotation versions, every output
        and the seconds of every stage."""
        from heatseq.annotation import annotation_versions
        from heatseq.provenance import write_run_json

        p = self.plan
        write_run_json(self.stage, command=command, parameters=params, inputs=list(inputs),
                       outputs=[*self.files, "heatseq.log", "run.json"],
                       timings=dict(timings),
                       extra={"annotation": annotation_versions(),
                              "gene_sets": self.gene_sets(), "plan_notes": list(p.notes),
                              "de_summary": {r.name: r.summary().splitlines()
                                             for r in self.results}},
                       started=started)
        self.files.append("run.json")

    def report_step(self, *, params: Mapping[str, Any], inputs: Sequence[Path], command: str,
                    started: datetime) -> None:
        """``report.html``."""
        from heatseq.annotation import annotation_versions
        from heatseq.provenance import file_sha256, package_versions
        from heatseq.report import Section, render_report
        from heatseq.workflow import build_report as br
        from heatseq.workflow.methods import methods_text

        versions = package_versions()
        fit, ds, p = self.fit, self.ds, self.plan
        top = next((h for h in self.heatmaps if h.name == "top_variance"), None)
        by_stem = {h.name: h for h in self.heatmaps}
        sections = [
            br.overview_section(ds=ds, plan=p, results=self.results,
                                verdict_summary=self.qc.verdict.summary
                                if self.qc is not None and self.qc.verdict is not None
                                else None),
            br.inputs_section(ds=ds, inputs=inputs, organism_note=None),
            *([self.qc_section()] if self.qc is not None else []),
            *(br.contrast_section(r, stage=self.stage, index=i, plots=self.plots,
                                  heatmap=by_stem.get(f"{r.file_stem}.heatmap"))
              for i, r in enumerate(self.results)),
        ]
        if top is not None:
            sections.append(Section(id="top-variance", title="Top variable genes",
                                     paragraphs=top.summaries,
                                     figures=(br.heatmap_figure(self.stage, top,
                                                                fig_id="top-variance-heatmap"),)))
        sections.append(br.enrichment_section(self.enrichment, stage=self.stage))
        methods = methods_text(versions=versions, design=p.design,
                               contrasts=[r.name for r in self.results],
                               fit_type=str(fit.params.get("fit_type", "parametric")),
                               test=fit.test, alpha=self.alpha,
                               lfc_threshold=float(params.get("lfc_threshold", 0.0)),
                               shrink=str(params.get("shrink", "apeglm")),
                               n_genes=ds.counts.shape[1], n_samples=ds.counts.shape[0],
                               heatmap_genes=int(params.get("heatmap_genes", 500)),
                               organism=params.get("organism") if params.get("organism")
                               != "auto" else None,
                               extra=self.enrichment_methods())
        provenance = {"command": command, "versions": versions, "parameters": dict(params),
                      "inputs": {str(x): {"sha256": file_sha256(x)} for x in inputs},
                      "annotation": annotation_versions(),
                      "gene_sets": self.gene_sets()}
        report = br.run_report(title=f"heatseq report: {p.design}", sections=sections,
                               methods=methods, provenance=provenance,
                               created=started.strftime("%Y-%m-%d %H:%M UTC"))
        render_report(report, self.stage / "report.html")
        self.files.append("report.html")
