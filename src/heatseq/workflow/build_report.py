"""The run's ``report.html``: what a run produced, arranged as the story of the experiment.

Sections: Overview (the numbers a reader wants first), Inputs, Quality control (with the
replicate verdict), one section per contrast (DE counts, volcano, MA, DE heatmap with the
module summaries, a sortable and searchable top-genes table), the top-variable-genes
heatmap, Enrichment, then Methods and Provenance (added by the renderer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from heatseq.report import Figure, Report, Section, Table
from heatseq.workflow.heatmaps import HeatmapOutput

__all__ = ["TOP_GENES", "contrast_section", "enrichment_section", "heatmap_figure",
           "inputs_section", "overview_section", "run_report"]

#: Rows of each contrast's top-genes table in the report (the full table is linked).
TOP_GENES = 500
_TABLE_COLUMNS = ("symbol", "baseMean", "log2FoldChange", "log2FoldChange_shrunk", "lfcSE",
                  "stat", "pvalue", "padj")


def _safe_id(text: str) -> str:
    out = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)
    return out if out[:1].isalpha() else f"x{out}"


def _de_counts(res: Any) -> tuple[int, int, int]:
    t = res.table
    sig = t["padj"] < res.alpha
    up = int((sig & (t["log2FoldChange"] > 0)).sum())
    down = int((sig & (t["log2FoldChange"] < 0)).sum())
    return up, down, int(t["padj"].notna().sum())


def heatmap_figure(stage: Path, h: HeatmapOutput, *, fig_id: str) -> Figure:
    """A report Figure of a drawn heatmap, its caption followed by the module summaries."""
    modules = " ".join(f"{s}." if not s.endswith(".") else s for s in h.summaries)
    return Figure(id=fig_id, title=h.title, caption=h.caption + (f" {modules}" if modules else ""),
                  png=stage / h.png, svg=None if h.svg is None else stage / h.svg)


def overview_section(*, ds: Any, plan: Any, results: Sequence[Any], verdict_summary: str | None
                     ) -> Section:
    """The numbers a reader wants first: data, design, DE genes per contrast, the verdict."""
    paras = [f"**{ds.counts.shape[1]:,} genes** in **{ds.counts.shape[0]} samples**; design "
             f"`{plan.design}`" + (" (proposed from the sample sheet)." if plan.proposed else ".")]
    for res in results:
        up, down, tested = _de_counts(res)
        paras.append(f"**{res.name}**: {up:,} genes up and {down:,} down at padj < "
                     f"{res.alpha:g} (of {tested:,} genes with an adjusted p-value).")
    if verdict_summary:
        paras.append(verdict_summary)
    paras.extend(plan.notes)
    return Section(id="overview", title="Overview", paragraphs=tuple(paras))


def inputs_section(*, ds: Any, inputs: Sequence[Path], organism_note: str | None) -> Section:
    """The files read, what was detected, and the sample sheet."""
    src = ds.source
    paras = [f"Read `{p.name}`" + (f" ({src.format})" if src is not None and i == 0 else "")
             for i, p in enumerate(inputs)]
    if src is not None:
        paras.extend(src.notes)
    if organism_note:
        paras.append(organism_note)
    sheet = ds.samples.copy()
    sheet.index.name = "sample"
    return Section(id="inputs", title="Inputs", paragraphs=tuple(paras),
                   tables=(Table(id="sample-sheet", title="Sample sheet", frame=sheet,
                                 caption="As read, in the order of the count table."),))


def contrast_section(res: Any, *, stage: Path, index: int, plots: Mapping[str, Any],
                     heatmap: HeatmapOutput | None) -> Section:
    """One contrast: counts, volcano, MA, DE heatmap with modules, top-genes table."""
    up, down, _tested = _de_counts(res)
    sid = _safe_id(f"contrast-{index + 1}")
    paras = [f"{up:,} genes up and {down:,} down in {res.name} at padj < {res.alpha:g} "
             f"({res.test.upper() if res.test == 'lrt' else 'Wald'} test"
             + (f", |LFC| > {res.lfc_threshold:g}" if res.lfc_threshold else "") + ")."]
    lines = res.summary().splitlines()
    paras.append(lines[0] + ": " + "; ".join(" ".join(x.split()) for x in lines[1:]) + ".")
    paras.extend(res.notes)
    figs: list[Figure] = []
    p = plots.get(res.file_stem, {})
    if p:
        figs.append(Figure(id=f"{sid}-volcano", title=f"Volcano: {res.name}",
                           caption="Hover a point for its gene; drag to zoom; search a gene by "
                                   "name. The image version is the PNG/SVG beside it.",
                           png=stage / p["volcano"]["png"],
                           svg=stage / p["volcano"]["svg"] if "svg" in p["volcano"] else None,
                           html=p.get("volcano_html")))
        figs.append(Figure(id=f"{sid}-ma", title=f"MA plot: {res.name}",
                           caption="Mean of normalised counts against the (shrunk) log2 fold "
                                   "change; significant genes coloured.",
                           png=stage / p["ma"]["png"],
                           svg=stage / p["ma"]["svg"] if "svg" in p["ma"] else None,
                           html=p.get("ma_html")))
    if heatmap is not None:
        figs.append(heatmap_figure(stage, heatmap, fig_id=f"{sid}-heatmap"))
        paras.extend(heatmap.summaries)
    else:
        paras.append(f"Fewer than 2 genes at padj < {res.alpha:g}: no DE heatmap.")
    t = res.table
    cols = [c for c in _TABLE_COLUMNS if c in t.columns]
    top = t[t["padj"].notna()].sort_values(["padj", "pvalue"], kind="mergesort")[cols]
    top = top.head(TOP_GENES)
    table = Table(id=f"{sid}-genes", title=f"Top genes: {res.name}", frame=top,
                  caption=f"The {len(top):,} genes with the smallest padj; the full table "
                          f"(all {len(t):,} genes) is de/{res.file_stem}.tsv.",
                  download=stage / "de" / f"{res.file_stem}.tsv", max_rows=TOP_GENES)
    return Section(id=sid, title=f"Differential expression: {res.name}",
                   paragraphs=tuple(paras), figures=tuple(figs), tables=(table,))


def enrichment_section() -> Section:
    """Enrichment is not part of this version of the run: said so, plainly."""
    return Section(id="enrichment", title="Enrichment", status="not_run",
                   paragraphs=("Enrichment (GO and pathway over-representation and GSEA per "
                               "contrast and per heatmap module) was not run: this version of "
                               "heatseq does not include it yet.",))


def run_report(*, title: str, sections: Sequence[Section], methods: str,
               provenance: Mapping[str, Any], created: str) -> Report:
    """The Report value the renderer draws."""
    return Report(title=title, sections=tuple(sections), methods=methods,
                  provenance=dict(provenance), created=created)
