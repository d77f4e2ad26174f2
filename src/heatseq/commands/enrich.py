"""``heatseq enrich``: GO and pathway enrichment of a DE table or a gene list, offline; a thin
caller of :mod:`heatseq.enrich.analysis` and :mod:`heatseq.enrich.output`."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from heatseq.cli import _State, cli, user_errors
from heatseq.errors import InputError

__all__ = ["enrich_command", "parse_collections"]

ORGANISMS = ("human", "mouse", "fly")


def parse_collections(text: str | None, *, organism: str, gmt: tuple[Path, ...]
                      ) -> list[str] | None:
    """``"go_bp,reactome"`` -> names; ``"all"`` -> every bundled one of the organism; None
    -> the defaults (none when GMT files are given: then only those are tested)."""
    if text is None:
        return [] if gmt else None
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        from heatseq.enrich.collections import available_collections

        return available_collections(organism)["collection"].tolist()  # type: ignore[arg-type]
    if "none" in names:
        return []
    return list(dict.fromkeys(names))


def _organism(text: str) -> str:
    org = text.strip().lower()
    if org not in ORGANISMS:
        raise InputError(f"--organism {text!r} is not known; choose one of: "
                         f"{', '.join(ORGANISMS)} (bundled gene sets: human GO, Reactome, "
                         "WikiPathways, Hallmark; mouse GO; fly none, give --gmt).")
    return org


def _formats(text: str) -> tuple[str, ...]:
    fmts = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in text.split(",")
                               if f.strip()))
    bad = [f for f in fmts if f not in ("png", "svg", "pdf")]
    if bad or not fmts:
        raise InputError(f"--formats {text!r} is not valid; choose from png, svg, pdf "
                         "(comma-separated).")
    return fmts


def _gene_set_info(collections: list[Any]) -> dict[str, Any]:
    """run.json's ``gene_sets``: release, licence, source and citation of each collection."""
    from heatseq.enrich.collections import collection_versions

    bundled = collection_versions()["collections"]
    out: dict[str, Any] = {}
    for c in collections:
        info = bundled.get(f"{c.name}_{c.organism}")
        if c.meta.get("user") or info is None:
            out[c.name] = {"release": c.release, "licence": c.licence, "sets": len(c),
                           "file": c.meta.get("file")}
        else:
            out[c.name] = {k: info[k] for k in ("organism", "release", "licence", "source",
                                                "citation") if k in info}
            out[c.name]["sets"] = len(c)
    return out


def _summary(table: Any, method: str, *, alpha: float = 0.05, n: int = 3) -> list[str]:
    lines = []
    for name in dict.fromkeys(table["list"].astype(str)):
        t = table[(table["list"].astype(str) == name)]
        sig = t[t["padj"] < alpha]
        keep = sig[sig["redundant_of"].fillna("") == ""] if "redundant_of" in sig else sig
        top = ", ".join(f"{r.term_name} (padj {r.padj:.2g})" for r in keep.head(n).itertuples())
        label = {"ranking": "GSEA"}.get(name, name)
        lines.append(f"{label}: {len(sig):,} of {len(t):,} sets at padj < {alpha:g}"
                     + (f"; top: {top}" if top else ""))
    return lines


@cli.command("enrich")
@click.option("--de", "de_table", type=click.Path(path_type=Path),
              help="DE results table (heatseq de, R DESeq2, edgeR or limma; gene IDs first).")
@click.option("--genes", "genes_file", type=click.Path(path_type=Path),
              help="Gene list: one ID per line (Ensembl, Entrez or symbols); with a numeric "
                   "second column it is a ranking for --method gsea.")
@click.option("--universe", "universe_file", type=click.Path(path_type=Path),
              help="Background genes for --genes (default: every gene annotated in the "
                   "collection); with --de the universe is the genes with a padj.")
@click.option("--organism", required=True, help="human, mouse or fly.")
@click.option("--collections", default=None,
              help="Bundled collections, comma-separated: go_bp, go_mf, go_cc, reactome, "
                   "wikipathways, hallmark, or 'all'. Default: human go_bp,reactome,hallmark; "
                   "mouse go_bp; none when --gmt is given.")
@click.option("--gmt", "gmt_files", multiple=True, type=click.Path(path_type=Path),
              help="A gene-set file in GMT format (any gene IDs); repeatable.")
@click.option("--method", type=click.Choice(["ora", "gsea"]), default="ora", show_default=True,
              help="Over-representation (up, down and both lists of --de) or preranked GSEA.")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="--de, ORA: padj cut-off of the DE lists.")
@click.option("--lfc-threshold", type=float, default=1.0, show_default=True,
              help="--de, ORA: |log2FoldChange| cut-off of the DE lists.")
@click.option("--ranking", type=click.Choice(["stat", "shrunk"]), default="stat",
              show_default=True, help="--de, GSEA: rank by the Wald statistic or the shrunk LFC.")
@click.option("--min-size", type=int, default=None,
              help="Smallest set tested, counted in the universe (default: 10 ORA, 15 GSEA).")
@click.option("--max-size", type=int, default=500, show_default=True,
              help="Largest set tested, counted in the universe.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="GSEA: the same seed gives the same table.")
@click.option("--skip-empty-sets", is_flag=True,
              help="Leave out --gmt sets with no gene in the universe (default: an error).")
@click.option("--top", "top_n", type=int, default=20, show_default=True,
              help="Terms per figure.")
@click.option("--formats", default="png,svg", show_default=True,
              help="Figure formats, comma-separated: png, svg, pdf.")
@click.option("-o", "--outdir", required=True, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Write into a non-empty OUTDIR.")
@user_errors
def enrich_command(de_table: Path | None, genes_file: Path | None, universe_file: Path | None,
                   organism: str, collections: str | None, gmt_files: tuple[Path, ...],
                   method: str, alpha: float, lfc_threshold: float, ranking: str,
                   min_size: int | None, max_size: int, seed: int, skip_empty_sets: bool,
                   top_n: int, formats: str, outdir: Path, force: bool) -> None:
    """GO and pathway enrichment (ORA or GSEA) of a DE table or a gene list, offline.

    Writes OUTDIR/enrichment.tsv (one row per list, collection and term), dot and bar
    plots (GSEA: a bar plot and running-score plots), unmapped_ids.tsv when some IDs did
    not map, and run.json with the gene-set releases.
    """
    from heatseq.enrich.analysis import (
        enrich_de,
        enrich_list,
        enrich_ranking,
        load_collections,
        read_de_table,
        read_gene_file,
    )
    from heatseq.enrich.output import enrichment_table, write_enrichment
    from heatseq.provenance import write_run_json
    from heatseq.workflow.outdir import staged_outdir

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    state = click.get_current_context().find_object(_State) or _State()
    if (de_table is None) == (genes_file is None):
        raise InputError("Give exactly one input: --de RESULTS.tsv (a DE table) or --genes "
                         "FILE (a gene list).")
    if universe_file is not None and genes_file is None:
        raise InputError("--universe goes with --genes; with --de the universe is the genes "
                         "the DE test tested (those with a padj).")
    org = _organism(organism)
    fmts = _formats(formats)
    if top_n < 1:
        raise InputError(f"--top {top_n} is not valid; give a whole number >= 1.")
    names = parse_collections(collections, organism=org, gmt=gmt_files)
    empty = "drop" if skip_empty_sets else "error"
    inputs = [p for p in (de_table, genes_file, universe_file, *gmt_files) if p is not None]
    timings: dict[str, float] = {}
    with staged_outdir(outdir, force=force, inputs=tuple(inputs)) as stage:
        colls = load_collections(organism=org, names=names, gmt=gmt_files)
        timings["load"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        size = {} if min_size is None else {"min_size": min_size}
        if de_table is not None:
            frame = read_de_table(de_table)
            enr = enrich_de(frame, organism=org, collections=colls, method=method,  # type: ignore[arg-type]
                            alpha=alpha, lfc_threshold=lfc_threshold, max_size=max_size,
                            ranking=ranking, seed=seed, empty_sets=empty,  # type: ignore[arg-type]
                            min_size=min_size)
        else:
            assert genes_file is not None
            ids, scores = read_gene_file(genes_file)
            if method == "gsea":
                if scores is None:
                    raise InputError(f"{genes_file}: GSEA needs a ranking, but the file has no "
                                     "numeric second column. Give --de RESULTS.tsv (ranked by "
                                     "the Wald statistic) or a two-column file: gene, score.")
                enr = enrich_ranking(scores, organism=org, collections=colls, seed=seed,
                                     max_size=max_size, empty_sets=empty, **size)  # type: ignore[arg-type]
            else:
                universe = None
                if universe_file is not None:
                    universe, _ = read_gene_file(universe_file, what="universe")
                enr = enrich_list(ids, universe=universe, organism=org, collections=colls,
                                  list_name=_list_name(genes_file), max_size=max_size,
                                  empty_sets=empty, list_source=f"gene list {genes_file}",
                                  universe_source=f"universe {universe_file}",
                                  **size)  # type: ignore[arg-type]
        timings["test"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        written = write_enrichment(enr, stage, stem="enrichment", formats=fmts, top_n=top_n,
                                   collections=colls)
        files = [written["table"], *(p for f in written["figures"].values()
                                     for p in f.values())]
        if enr.unmapped:
            import pandas as pd

            from heatseq.io.write import write_table

            rows = [(what, i) for what, ids_ in enr.unmapped.items() for i in ids_]
            write_table(pd.DataFrame(rows, columns=["input", "id"]), stage / "unmapped_ids.tsv",
                        index=False)
            files.append("unmapped_ids.tsv")
        timings["write"] = time.perf_counter() - t2
        table = enrichment_table(enr)
        write_run_json(stage, command="heatseq enrich", started=started,
                       parameters={"organism": org, "method": method,
                                   "collections": [c.name for c in colls],
                                   "alpha": alpha, "lfc_threshold": lfc_threshold,
                                   "ranking": ranking, "min_size": min_size or
                                   (10 if method == "ora" else 15), "max_size": max_size,
                                   "seed": seed, "skip_empty_sets": skip_empty_sets,
                                   "formats": list(fmts), "top": top_n,
                                   "argv": ["heatseq", *sys.argv[1:]]},
                       inputs=inputs, outputs=[*files, "run.json"], timings=timings,
                       extra={"gene_sets": _gene_set_info(colls),
                              "notes": list(enr.notes),
                              "unmapped": {k: len(v) for k, v in enr.unmapped.items()},
                              "summary": _summary(table, method)})
    if not state.quiet:
        for note in enr.notes:
            click.echo(f"Note: {note}", err=True)
        for line in _summary(table, method):
            click.echo(line)
        for name, release in enr.releases.items():
            click.echo(f"{name}: {release}")
        click.echo(f"Wrote {len(files) + 1} files to {outdir}")


def _list_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".txt", ".tsv", ".csv", ".lst"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "list"
