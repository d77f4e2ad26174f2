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

import pandas as pd

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


def enrichment_section(enrichment: Any = None, *, stage: Path | None = None,
                       n: int = 15) -> Section:
    """Per contrast: the top non-redundant GO/pathway terms of the up, down and both lists
    (a table and the dot plot of 'both') and the top GSEA sets; the releases of the
    collections. Without results (no organism or no bundled sets), the reason, plainly."""
    if enrichment is None or not enrichment.contrasts:
        why = (enrichment.notes[0] if enrichment is not None and enrichment.notes else
               "Enrichment was not run.")
        return Section(id="enrichment", title="Enrichment", status="not_run",
                       paragraphs=(why,))
    assert stage is not None
    rel = "; ".join(f"{k}: {v}" for k, v in enrichment.releases.items())
    paras = ["Over-representation (one-sided hypergeometric test, Benjamini-Hochberg per "
             "list and collection) of the genes up, down and either way at padj < 0.05 and "
             "|log2FoldChange| > 1, against the genes with an adjusted p-value; GO BP sets of "
             "10-500 genes in that universe; redundant GO terms (a child or parent of a "
             "better term sharing most of its genes) left out of the tables shown. Preranked "
             "GSEA on the Wald statistic (seed 0). Full tables: enrich/.",
             f"Gene-set releases: {rel}."]
    subs = []
    for i, ce in enumerate(enrichment.contrasts):
        sid = _safe_id(f"enrich-{i + 1}")
        lists = [str(x) for x in dict.fromkeys(ce.ora.table["list"].astype(str))]
        t = pd.concat([ce.ora.top(list_name=x, n=n, padj=1.0) for x in lists]) if lists \
            else ce.ora.table
        cols = [c for c in ("list", "collection", "term_id", "term_name", "set_size",
                            "overlap", "fold_enrichment", "pvalue", "padj") if c in t.columns]
        tables = [Table(id=f"{sid}-ora", title=f"Top terms: {ce.name}",
                        frame=t[cols].reset_index(drop=True),
                        caption=f"The {n} non-redundant terms of smallest p-value per list.",
                        download=stage / "enrich" / f"{ce.stem}.ora.tsv", max_rows=3 * n)]
        full = ce.ora.table
        sig = full[full["padj"] < 0.05].sort_values(["list", "pvalue"], kind="mergesort")
        if len(sig):
            scols = [c for c in (*cols, "redundant_of") if c in sig.columns]
            tables.append(Table(id=f"{sid}-ora-all", title=f"All terms at padj < 0.05: "
                                f"{ce.name}", frame=sig[scols].reset_index(drop=True),
                                caption="Every term at padj < 0.05 in each list, redundant "
                                        "GO terms included (redundant_of names the better "
                                        "term); search by name or GO ID.",
                                download=stage / "enrich" / f"{ce.stem}.ora.tsv",
                                max_rows=2000))
        if ce.gsea is not None and len(ce.gsea.table):
            g = ce.gsea.table.head(n)
            gcols = [c for c in ("collection", "term_id", "term_name", "set_size", "nes",
                                 "pvalue", "padj") if c in g.columns]
            tables.append(Table(id=f"{sid}-gsea", title=f"GSEA: {ce.name}",
                                frame=g[gcols].reset_index(drop=True),
                                caption="Preranked GSEA on the Wald statistic, smallest "
                                        "p-values first.",
                                download=stage / "enrich" / f"{ce.stem}.gsea.tsv",
                                max_rows=n))
        figs = []
        if ce.dot_png is not None:
            svg = ce.dot_png[:-len(".png")] + ".svg"
            figs.append(Figure(id=f"{sid}-dot", title=f"Dot plot: {ce.name}, all DE genes",
                               caption="Gene ratio of each term; point size = overlap, "
                                       "colour = padj.",
                               png=stage / ce.dot_png,
                               svg=stage / svg if (stage / svg).exists() else None))
        subs.append(Section(id=sid, title=f"Enrichment: {ce.name}", figures=tuple(figs),
                            tables=tuple(tables)))
    return Section(id="enrichment", title="Enrichment", paragraphs=tuple(paras),
                   subsections=tuple(subs))


def run_report(*, title: str, sections: Sequence[Section], methods: str,
               provenance: Mapping[str, Any], created: str) -> Report:
    """The Report value the renderer draws."""
    return Report(title=title, sections=tuple(sections), methods=methods,
                  provenance=dict(provenance), created=created)
