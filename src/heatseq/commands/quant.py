"""``heatseq quant``: FASTQ files to gene counts with salmon; a thin caller of
:func:`heatseq.quant.quantify` (and of :func:`heatseq.workflow.run_analysis` when
``--design`` and ``--contrast`` continue into the main analysis)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click

from heatseq.cli import _State, cli, user_errors
from heatseq.errors import InputError

__all__ = ["quant_command"]


@cli.command("quant")
@click.option("--reads", required=True, type=click.Path(path_type=Path),
              help="Sample sheet (sample, fastq_1, fastq_2 + design columns) or a folder of "
                   "FASTQ files (R1/R2 or _1/_2 names; single-end without them).")
@click.option("--transcriptome", required=True, type=click.Path(path_type=Path),
              help="Transcript sequences, FASTA (.fa/.fa.gz).")
@click.option("--gtf", type=click.Path(path_type=Path),
              help="Annotation GTF (.gtf/.gtf.gz): transcript_id -> gene_id.")
@click.option("--tx2gene", type=click.Path(path_type=Path),
              help="Transcript -> gene table (instead of --gtf).")
@click.option("--index", type=click.Path(path_type=Path),
              help="salmon index folder (default OUTDIR/index); built or reused.")
@click.option("--decoys", type=click.Path(path_type=Path),
              help="Genome FASTA for a decoy-aware index.")
@click.option("-k", "--kmer", "k", type=int, default=31, show_default=True,
              help="Index k-mer length (odd, <= 31).")
@click.option("--threads", type=int, default=None,
              help="salmon threads per sample (default: the cores divided among the samples "
                   "run at once; 1 with --scheduler).")
@click.option("--jobs", type=int, default=None,
              help="Samples quantified at once on this machine (default: one per 4 cores).")
@click.option("--scheduler", help="Dask scheduler address: one task per sample on its workers "
                                  "(they must see the same files).")
@click.option("--salmon", "salmon", type=str, default=None,
              help="The salmon executable (default: salmon on PATH).")
@click.option("--retries", type=int, default=1, show_default=True,
              help="Further attempts of a failed sample.")
@click.option("--design", default=None,
              help='Continue into `heatseq run` with this design, e.g. "~ condition".')
@click.option("--contrast", "contrasts", multiple=True,
              help="With --design: FACTOR,LEVEL,REFERENCE (repeatable).")
@click.option("-o", "--outdir", required=True, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Write into a non-empty OUTDIR that is not an "
                                            "earlier heatseq quant output.")
@user_errors
def quant_command(reads: Path, transcriptome: Path, gtf: Path | None, tx2gene: Path | None,
                  index: Path | None, decoys: Path | None, k: int, threads: int | None,
                  jobs: int | None, scheduler: str | None, salmon: str | None, retries: int,
                  design: str | None, contrasts: tuple[str, ...], outdir: Path,
                  force: bool) -> None:
    """Quantify FASTQ files with salmon and write gene counts (OUTDIR/counts.tsv).

    Re-running the same command continues: finished samples are reused, failed or changed
    ones are quantified again.
    """
    from heatseq.commands.de import _connect
    from heatseq.quant.run import quantify
    from heatseq.quant.task import SampleOutcome

    state = click.get_current_context().find_object(_State) or _State()
    if contrasts and not design:
        raise InputError("--contrast needs --design (e.g. --design '~ condition').")

    def report(outcome: SampleOutcome) -> None:
        if state.quiet:
            return
        if outcome.status == "failed":
            click.echo(f"  {outcome.sample}: failed", err=True)
        else:
            rate = outcome.qc.get("mapping_rate", float("nan"))
            click.echo(f"  {outcome.sample}: {outcome.qc.get('reads', 0):,} reads, "
                       f"{rate:.1f}% mapped ({outcome.seconds:.0f} s)", err=True)

    client = _connect(scheduler)
    try:
        result = quantify(reads, transcriptome=transcriptome, outdir=outdir, gtf=gtf,
                          tx2gene=tx2gene, index=index, decoys=decoys, k=k, threads=threads,
                          jobs=jobs, client=client, salmon=salmon, retries=retries,
                          force=force, progress=report)
    finally:
        if client is not None:
            client.close()
    if not state.quiet:
        ds = result.dataset
        click.echo(f"Quantified {len(result.quantified)} sample(s), reused "
                   f"{len(result.reused)}; {ds.n_genes:,} genes x {ds.n_samples} samples in "
                   f"{result.outdir / 'counts.tsv'} (QC: {result.outdir / 'quant_qc.tsv'})")
    if design:
        _continue(state, result, design=design, contrasts=contrasts)


def _continue(state: _State, result: Any, *, design: str, contrasts: tuple[str, ...]) -> None:
    """Run the main analysis on the counts just written, into OUTDIR/analysis."""
    from heatseq.commands.run import _execute
    from heatseq.workflow.plan import parse_contrast

    sheet = result.outdir / "samples.tsv"
    if not sheet.is_file():
        raise InputError("--design needs design columns, which come from a sample sheet: give "
                         "--reads a sheet with sample, fastq_1, fastq_2 and e.g. a condition "
                         "column.")
    _execute(state, counts=result.outdir / "counts.tsv", samples=sheet,
             outdir=result.outdir / "analysis", design=design,
             contrasts=tuple(parse_contrast(c) for c in contrasts), reference=None,
             organism="auto", alpha=0.1, lfc_threshold=0.0, shrink="apeglm",
             fit_type="parametric", heatmap_genes=500, de_heatmap_genes=500, k=None,
             tx2gene=None, force=True, formats=("png", "svg"), highlight=(),
             command=shlex.join(["heatseq", *sys.argv[1:]]))
