"""``heatseq run`` and ``heatseq demo``: the whole analysis in one command; thin callers of
:func:`heatseq.workflow.run_analysis`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click

from heatseq.cli import _State, cli, user_errors
from heatseq.errors import InputError

__all__ = ["demo_command", "run_command"]


def _references(given: tuple[str, ...]) -> dict[str, str]:
    ref: dict[str, str] = {}
    for item in given:
        factor, sep, level = item.partition("=")
        if not sep or not factor.strip() or not level.strip():
            raise InputError(f"--reference {item!r} is not valid: give FACTOR=LEVEL, e.g. "
                             "dex=untrt.")
        ref[factor.strip()] = level.strip()
    return ref


def _names(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _formats(text: str) -> tuple[str, ...]:
    return tuple(f.strip().lower().lstrip(".") for f in text.split(",") if f.strip())


def _execute(state: _State, **kwargs: Any) -> None:
    from heatseq._progress import Stages
    from heatseq.workflow.run import STAGES, run_analysis

    with Stages(list(STAGES), quiet=state.quiet) as stages:
        result = run_analysis(progress=stages.start, **kwargs)
    if not state.quiet:
        for res in result.results:
            click.echo(res.summary())
        if result.qc is not None and getattr(result.qc, "verdict", None) is not None:
            click.echo(result.qc.verdict.summary)
        click.echo(f"Wrote {len(result.files)} files to {result.outdir}; open "
                   f"{result.outdir / 'report.html'}")


_COMMON = [
    click.option("--organism", type=click.Choice(["auto", "human", "mouse", "fly"]),
                 default="auto", show_default=True, help="For gene symbols (auto: from the IDs)."),
    click.option("--alpha", type=float, default=0.1, show_default=True, help="FDR target."),
    click.option("--lfc-threshold", type=float, default=0.0, show_default=True,
                 help="Test |log2 fold change| against this threshold."),
    click.option("--shrink", type=click.Choice(["apeglm", "normal", "none"]), default="apeglm",
                 show_default=True, help="LFC shrinkage for MA plots and rankings."),
    click.option("--heatmap-genes", type=int, default=500, show_default=True,
                 help="Genes in the top-variance heatmap."),
    click.option("--de-heatmap-genes", type=int, default=500, show_default=True,
                 help="At most this many DE genes (smallest padj) per DE heatmap."),
    click.option("--k", type=int, default=None,
                 help="Gene modules per heatmap (default: chosen by the silhouette criterion)."),
    click.option("--highlight", default="",
                 help="Genes (IDs or symbols, comma-separated) to ring and label on the volcano "
                      "and MA plots, e.g. DUSP1,KLF15."),
    click.option("--formats", default="png,svg", show_default=True,
                 help="Figure formats, comma-separated: png, svg, pdf."),
    click.option("--force", is_flag=True, help="Write into a non-empty OUTDIR."),
]


def _common(fn: Any) -> Any:
    for opt in reversed(_COMMON):
        fn = opt(fn)
    return fn


@cli.command("run")
@click.argument("counts", type=click.Path(path_type=Path))
@click.option("--samples", required=True, type=click.Path(path_type=Path),
              help="Sample sheet (CSV/TSV/XLSX); first column = sample names.")
@click.option("--design", default=None,
              help='Design formula, e.g. "~ cell + dex" (default: proposed from the sheet).')
@click.option("--contrast", "contrasts", multiple=True,
              help="FACTOR,LEVEL,REFERENCE (e.g. dex,trt,untrt) or a coefficient name; "
                   "repeatable. Default: each level of the design's last factor vs its reference.")
@click.option("--reference", "references", multiple=True,
              help="Reference level, FACTOR=LEVEL (default: each contrast's reference).")
@click.option("--fit-type", type=click.Choice(["parametric", "local", "mean"]),
              default="parametric", show_default=True, help="Dispersion trend.")
@click.option("--tx2gene", type=click.Path(path_type=Path), help="salmon/kallisto: tx2gene table.")
@click.option("-o", "--outdir", required=True, type=click.Path(path_type=Path))
@_common
@user_errors
def run_command(counts: Path, samples: Path, design: str | None, contrasts: tuple[str, ...],
                references: tuple[str, ...], fit_type: str, tx2gene: Path | None,
                outdir: Path, organism: str, alpha: float, lfc_threshold: float, shrink: str,
                heatmap_genes: int, de_heatmap_genes: int, k: int | None, highlight: str,
                formats: str, force: bool) -> None:
    """The whole analysis of COUNTS: QC, DE, heatmaps, volcano/MA plots and report.html."""
    from heatseq.workflow.plan import parse_contrast

    state = click.get_current_context().find_object(_State) or _State()
    _execute(state, counts=counts, samples=samples, outdir=outdir, design=design,
             contrasts=tuple(parse_contrast(c) for c in contrasts),
             reference=_references(references), organism=organism, alpha=alpha,
             lfc_threshold=lfc_threshold, shrink=shrink, fit_type=fit_type,
             heatmap_genes=heatmap_genes, de_heatmap_genes=de_heatmap_genes, k=k,
             tx2gene=tx2gene, force=force, formats=_formats(formats),
             highlight=_names(highlight), command=shlex.join(["heatseq", *sys.argv[1:]]))


@cli.command("demo")
@click.option("-o", "--outdir", default="heatseq-demo", show_default=True,
              type=click.Path(path_type=Path))
@_common
@user_errors
def demo_command(outdir: Path, organism: str, alpha: float, lfc_threshold: float, shrink: str,
                 heatmap_genes: int, de_heatmap_genes: int, k: int | None, highlight: str,
                 formats: str, force: bool) -> None:
    """The full run on the bundled airway data (Himes et al. 2014: four airway smooth muscle
    cell lines, untreated and dexamethasone-treated): ``~ cell + dex``, dex trt vs untrt."""
    from heatseq.datasets import airway_files

    counts, samples = airway_files()
    state = click.get_current_context().find_object(_State) or _State()
    _execute(state, counts=counts, samples=samples, outdir=outdir, design="~ cell + dex",
             contrasts=(("dex", "trt", "untrt"),), reference=None, organism=organism,
             alpha=alpha, lfc_threshold=lfc_threshold, shrink=shrink, fit_type="parametric",
             heatmap_genes=heatmap_genes, de_heatmap_genes=de_heatmap_genes, k=k,
             tx2gene=None, force=force, formats=_formats(formats),
             highlight=_names(highlight), command="heatseq demo")
