"""``heatseq inspect``: say what a count table (and sample sheet) holds and what is wrong
with it, before any analysis. A thin caller of :func:`heatseq.io.inspect.inspect_counts`."""

from __future__ import annotations

from pathlib import Path

import click

from heatseq.cli import cli, user_errors
from heatseq.errors import InputError
from heatseq.io.detect import FORMATS
from heatseq.io.inspect import inspect_counts

__all__ = ["inspect_command"]

EXAMPLES = ("airway",)


@cli.command("inspect")
@click.argument("counts", required=False, type=click.Path(path_type=Path))
@click.option("--samples", type=click.Path(path_type=Path),
              help="Sample sheet (CSV/TSV/XLSX); first column = sample names.")
@click.option("--tx2gene", type=click.Path(path_type=Path),
              help="salmon/kallisto: transcript-to-gene table.")
@click.option("--strand", type=click.Choice(["unstranded", "forward", "reverse"]),
              help="STAR ReadsPerGene: which count column to use (default: guessed).")
@click.option("--duplicates", type=click.Choice(["error", "sum", "first"]), default="error",
              show_default=True, help="What to do with duplicated gene IDs.")
@click.option("--sheet", help="Excel: the sheet to read (default: the first).")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="auto",
              show_default=True, help="Input format (default: detected).")
@click.option("--example", type=click.Choice(list(EXAMPLES)),
              help="Inspect a bundled example dataset instead of COUNTS.")
@user_errors
def inspect_command(counts: Path | None, samples: Path | None, tx2gene: Path | None,
                    strand: str | None, duplicates: str, sheet: str | None, fmt: str,
                    example: str | None) -> None:
    """Show what COUNTS (a file or folder) holds: format, genes, samples, library sizes,
    gene IDs, sample-sheet columns, and every problem found with its fix."""
    if example is not None:
        if counts is not None:
            raise InputError("Give either COUNTS or --example, not both.")
        from heatseq.datasets import airway_files

        counts, example_samples = airway_files()
        samples = samples if samples is not None else example_samples
    if counts is None:
        raise InputError("Give a count file or folder (heatseq inspect COUNTS), or "
                         "--example airway.")
    report = inspect_counts(counts, samples=samples, format=fmt, tx2gene=tx2gene,  # type: ignore[arg-type]
                            strand=strand, duplicates=duplicates, sheet=sheet)  # type: ignore[arg-type]
    click.echo(report.to_text())
