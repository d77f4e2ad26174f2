"""The run's enrichment step: per contrast, ORA of the up, down and both lists over the
organism's default collections and preranked GSEA on the Wald statistic (Hallmark, where
bundled: it keeps ``heatseq run`` fast; ``heatseq enrich --method gsea`` tests any
collection); per heatmap, each module against all clustered genes, the best term joined to
the module's plain-language summary. Files go to ``enrich/``; no statistics here, only calls
of :mod:`heatseq.enrich`."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from heatseq.errors import InputError
from heatseq.workflow.heatmaps import HeatmapOutput

__all__ = ["ContrastEnrichment", "RunEnrichment", "enrich_modules_of", "run_enrichment"]

log = logging.getLogger(__name__)

#: GSEA collections of the run (the rest stay for ``heatseq enrich``): fast and curated.
RUN_GSEA = ("hallmark",)


@dataclass(frozen=True)
class ContrastEnrichment:
    """One contrast's ORA and GSEA results and their files (relative to the run folder)."""

    name: str
    stem: str
    ora: Any
    gsea: Any | None
    files: tuple[str, ...]
    dot_png: str | None


@dataclass(frozen=True)
class RunEnrichment:
    """Everything the enrichment step produced."""

    organism: str | None
    collections: tuple[Any, ...] = ()
    contrasts: tuple[ContrastEnrichment, ...] = ()
    heatmaps: tuple[HeatmapOutput, ...] = ()
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    releases: dict[str, str] = field(default_factory=dict)


def _best_terms(enr: Any, module: int, *, n: int = 1, alpha: float = 0.05) -> list[str]:
    t = enr.table
    t = t[(t["list"].astype(str) == str(module)) & (t["padj"] < alpha)]
    if "redundant_of" in t.columns:
        t = t[t["redundant_of"].fillna("") == ""]
    return [f"{r.term_name}, padj {r.padj:.1g}" for r in t.head(n).itertuples()]


def enrich_modules_of(h: HeatmapOutput, *, stage: Path, organism: str,
                      collections: Sequence[Any], symbols: pd.Series | None
                      ) -> tuple[HeatmapOutput, Any | None, list[str]]:
    """Module enrichment of one drawn heatmap: modules.txt rewritten with the best term of
    each module, ``enrich/<heatmap>.modules.tsv`` written; the updated HeatmapOutput."""
    from heatseq.enrich.analysis import enrich_modules
    from heatseq.enrich.output import enrichment_table
    from heatseq.io.write import atomic_path, write_table

    c = h.clustering
    if c.modules is None:
        return h, None, []
    sym = None if symbols is None else symbols.reindex(c.modules.index).dropna()
    try:
        enr = enrich_modules(c.modules, symbols=sym, organism=organism, collections=collections)
    except InputError as exc:
        log.info("%s: no module enrichment (%s)", h.name, exc)
        return h, None, []
    texts = []
    for s in c.module_summaries:
        best = _best_terms(enr, s.module)
        texts.append(s.text.rstrip(".") + ("; " + "; ".join(best) if best else "")
                     + ("" if best else "; no enriched term at padj < 0.05"))
    files = []
    rel = f"enrich/{h.name}.modules.tsv"
    write_table(enrichment_table(enr), stage / rel, index=False)
    files.append(rel)
    if h.modules_tsv is not None:
        text_rel = h.modules_tsv.replace(".modules.tsv", ".modules.txt")
        with atomic_path(stage / text_rel) as tmp:
            tmp.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return dataclasses.replace(h, summaries=tuple(texts)), enr, files


def run_enrichment(*, results: Sequence[Any], heatmaps: Sequence[HeatmapOutput], stage: Path,
                   organism: str | None, symbols: pd.Series | None, formats: Sequence[str],
                   dpi: int, progress: Callable[[str], Any] | None = None) -> RunEnrichment:
    """Run the step (see the module docstring); an organism without bundled sets: skipped,
    with a note."""
    from heatseq.enrich.analysis import DEFAULT_COLLECTIONS, enrich_de, load_collections
    from heatseq.enrich.output import write_enrichment

    if organism is None or not DEFAULT_COLLECTIONS.get(organism):
        note = ("Enrichment was not run: the organism could not be told from the gene IDs."
                if organism is None else
                f"Enrichment was not run: heatseq bundles no gene sets for {organism}; use "
                "heatseq enrich --gmt FILE.")
        return RunEnrichment(organism=organism, heatmaps=tuple(heatmaps), notes=(note,))
    colls = load_collections(organism=organism)
    gsea_colls = [c for c in colls if c.name in RUN_GSEA]
    files: list[str] = []
    out: list[ContrastEnrichment] = []
    releases: dict[str, str] = {}
    for res in results:
        ora = enrich_de(res, organism=organism, collections=colls, method="ora",
                        map_ids=False)
        releases.update(ora.releases)
        w = write_enrichment(ora, stage / "enrich", stem=f"{res.file_stem}.ora",
                             formats=formats, dpi=dpi, kinds=("dot",), title=res.name)
        fl = [f"enrich/{w['table']}", *(f"enrich/{p}" for f in w["figures"].values()
                                         for p in f.values())]
        dot = w["figures"].get("both.dot", {}).get("png")
        gsea = None
        if gsea_colls:
            gsea = enrich_de(res, organism=organism, collections=gsea_colls, method="gsea",
                             map_ids=False, seed=0)
            releases.update(gsea.releases)
            wg = write_enrichment(gsea, stage / "enrich", stem=f"{res.file_stem}.gsea",
                                  formats=formats, dpi=dpi, collections=gsea_colls,
                                  running=0, title=res.name)
            fl += [f"enrich/{wg['table']}", *(f"enrich/{p}" for f in wg["figures"].values()
                                              for p in f.values())]
        for note in ora.notes:
            log.info("enrichment %s: %s", res.name, note)
        files += fl
        out.append(ContrastEnrichment(name=res.name, stem=res.file_stem, ora=ora, gsea=gsea,
                                      files=tuple(fl),
                                      dot_png=None if dot is None else f"enrich/{dot}"))
    new_heatmaps = []
    for h in heatmaps:
        h2, enr, fl = enrich_modules_of(h, stage=stage, organism=organism,
                                        collections=[c for c in colls if c.name == "go_bp"]
                                        or colls, symbols=symbols)
        if enr is not None:
            releases.update(enr.releases)
        new_heatmaps.append(h2)
        files += fl
    return RunEnrichment(organism=organism, collections=tuple(colls), contrasts=tuple(out),
                         heatmaps=tuple(new_heatmaps), files=tuple(files), releases=releases)
