"""``heatseq de``: DESeq2 differential expression from the command line; a thin caller of
:func:`heatseq.de.deseq` and :func:`heatseq.de.results`."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from heatseq.cli import _State, cli, user_errors
from heatseq.errors import InputError

__all__ = ["de_command", "parse_contrast"]


def parse_contrast(text: str) -> tuple[str, str, str] | str:
    """``"dex,trt,untrt"`` -> ``("dex", "trt", "untrt")``; a coefficient name stays a string."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1 and parts[0]:
        return parts[0]
    if len(parts) != 3 or not all(parts):
        raise InputError(f"--contrast {text!r} is not valid: give FACTOR,LEVEL,REFERENCE "
                         "(e.g. dex,trt,untrt) or a coefficient name.")
    return parts[0], parts[1], parts[2]


def _references(contrasts: list[Any], given: tuple[str, ...]) -> dict[str, str]:
    ref: dict[str, str] = {}
    for item in given:
        factor, sep, level = item.partition("=")
        if not sep or not factor or not level:
            raise InputError(f"--reference {item!r} is not valid: give FACTOR=LEVEL, e.g. dex=untrt.")
        ref[factor.strip()] = level.strip()
    for c in contrasts:
        if isinstance(c, tuple):
            ref.setdefault(c[0], c[2])
    return ref


def _connect(address: str | None) -> Any:
    """A Dask client on the scheduler at ``address`` (None: run here).

    A TCP address is probed first, so that a refused connection or an unknown host is
    reported at once instead of after the client's 10 s of retries.
    """
    if address is None:
        return None
    import socket

    try:
        from dask.distributed import Client
        from distributed.comm import parse_address, parse_host_port
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'heatseq[dask]'.") from None
    try:
        scheme, location = parse_address(address)
        if scheme == "tcp":
            host, port = parse_host_port(location)
            socket.create_connection((host, port), timeout=5).close()
        return Client(address, timeout="10s")
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot reach the Dask scheduler at {address}: {exc}. Check the "
                         "address (e.g. tcp://host:8786) and that the scheduler is running.") from None


@cli.command("de")
@click.argument("counts", type=click.Path(path_type=Path))
@click.option("--samples", required=True, type=click.Path(path_type=Path),
              help="Sample sheet (CSV/TSV/XLSX); first column = sample names.")
@click.option("--design", required=True, help='Design formula, e.g. "~ cell + dex".')
@click.option("--contrast", "contrasts", multiple=True,
              help="FACTOR,LEVEL,REFERENCE (e.g. dex,trt,untrt) or a coefficient name; repeatable. "
                   "Default: the design's last coefficient.")
@click.option("--reference", "references", multiple=True,
              help="Reference level, FACTOR=LEVEL (default: each contrast's reference).")
@click.option("--alpha", type=float, default=0.1, show_default=True, help="FDR target.")
@click.option("--lfc-threshold", type=float, default=0.0, show_default=True,
              help="Test |log2 fold change| against this threshold.")
@click.option("--alt-hypothesis", type=click.Choice(["greaterAbs", "lessAbs", "greater", "less"]),
              default="greaterAbs", show_default=True)
@click.option("--shrink", type=click.Choice(["apeglm", "normal", "none"]), default="apeglm",
              show_default=True, help="LFC shrinkage for log2FoldChange_shrunk.")
@click.option("--lrt-reduced", help='Reduced design for a likelihood ratio test, e.g. "~ cell".')
@click.option("--fit-type", type=click.Choice(["parametric", "local", "mean"]),
              default="parametric", show_default=True, help="Dispersion trend.")
@click.option("--vst-nsub", type=int, default=None,
              help="Fit the VST trend on this many genes, as R's vst() (default: the DE fit's trend, "
                   "as varianceStabilizingTransformation(blind=FALSE)).")
@click.option("--tx2gene", type=click.Path(path_type=Path), help="salmon/kallisto: tx2gene table.")
@click.option("--scheduler", help="Dask scheduler address: run the gene-wise steps on its workers.")
@click.option("-o", "--outdir", required=True, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Write into a non-empty OUTDIR.")
@user_errors
def de_command(counts: Path, samples: Path, design: str, contrasts: tuple[str, ...],
               references: tuple[str, ...], alpha: float, lfc_threshold: float,
               alt_hypothesis: str, shrink: str, lrt_reduced: str | None, fit_type: str,
               vst_nsub: int | None, tx2gene: Path | None, scheduler: str | None, outdir: Path,
               force: bool) -> None:
    """Differential expression of COUNTS with the DESeq2 method (Wald or LRT)."""
    from heatseq._fork import Background, available_cores, worker_pool
    from heatseq._progress import Stages
    from heatseq.annotation import gene_symbols, with_symbols
    from heatseq.de.deseq import deseq
    from heatseq.de.results import results
    from heatseq.io.detect import read_counts
    from heatseq.io.write import ensure_outdir, write_tables
    from heatseq.provenance import write_run_json

    started = datetime.now(UTC)
    state = click.get_current_context().find_object(_State) or _State()
    parsed = [parse_contrast(c) for c in contrasts] or [None]
    reference = _references([c for c in parsed if c is not None], references)
    out = ensure_outdir(outdir, force=force, inputs=(counts, samples))
    written: list[str] = []
    with (worker_pool(available_cores() if scheduler is None else 1),
          Stages(["read", "fit", "results", "write"], quiet=state.quiet) as stages):
        with stages.step("reading counts"):
            ds = read_counts(counts, samples=samples, tx2gene=tx2gene)
            _check_contrasts(ds, design, reference, parsed)
        client = _connect(scheduler)
        # gene symbols (needed only in the results table) are looked up in a second process
        # during the fit, whose serial parts leave a core idle
        symbols = Background(functools.partial(gene_symbols, ds), fork=client is None)
        try:
            with stages.step("fitting (size factors, dispersions, GLM)"):
                fit = deseq(ds, design=design, reference=reference,
                            test="lrt" if lrt_reduced else "wald", reduced=lrt_reduced,
                            fit_type=fit_type, client=client)  # type: ignore[arg-type]
        finally:
            if client is not None:
                client.close()
        symbol, note = symbols.result()
        fit = dataclasses.replace(fit, dataset=with_symbols(fit.dataset, symbol, note=note))
        with stages.step("testing and shrinking"):
            res_list = [results(fit, contrast=c, alpha=alpha, lfc_threshold=lfc_threshold,
                                alt_hypothesis=alt_hypothesis, shrink=shrink)  # type: ignore[arg-type]
                        for c in parsed]
        with stages.step("writing tables"):
            tables = []
            for res in res_list:
                name = "de_results.tsv" if len(res_list) == 1 else f"{res.file_stem}.tsv"
                tables.append((res.table, name))
            tables += _fit_tables(fit, vst_nsub)
            write_tables([(t, out / name) for t, name in tables], n_jobs=fit.n_jobs)
            written += [name for _, name in tables]
        ds = fit.dataset
    for note in (*(ds.source.notes if ds.source else ()), *fit.notes,
                 *(n for r in res_list for n in r.notes)):
        if not state.quiet:
            click.echo(f"Note: {note}", err=True)
    write_run_json(out, command="heatseq de", started=started,
                   parameters={**fit.params, "contrasts": [r.params["contrast"] for r in res_list],
                               "alpha": alpha, "lfc_threshold": lfc_threshold,
                               "alt_hypothesis": alt_hypothesis, "shrink": shrink,
                               "vst_nsub": vst_nsub},
                   inputs=[counts, samples] + ([tx2gene] if tx2gene else []),
                   outputs=written, timings={**stages.timings, **fit.timings})
    if not state.quiet:
        for res in res_list:
            click.echo(res.summary())
        click.echo(f"Wrote {len(written) + 1} files to {out}")


def _fit_tables(fit: Any, vst_nsub: int | None) -> list[tuple[Any, str]]:
    """size_factors, dispersions, normalized_counts and vst, with their file names."""
    return [
        (fit.size_factors.rename_axis("sample").to_frame(), "size_factors.tsv"),
        (fit.dispersion_table()[["dispGeneEst", "dispFit", "dispersion"]], "dispersions.tsv"),
        (fit.normalized_counts().T.rename_axis("gene_id"), "normalized_counts.tsv"),
        (fit.vst(blind=False, nsub=vst_nsub).T.rename_axis("gene_id"), "vst.tsv")]


def _check_contrasts(ds: Any, design: str, reference: dict[str, str], parsed: list[Any]) -> None:
    """Fail before the fit, not after it, on a design or contrast that cannot work (the same
    checks and messages as :func:`heatseq.de.deseq` and :func:`heatseq.de.results`)."""
    from heatseq.de.design import contrast_vector, design_matrix

    full = design_matrix(ds.samples, design, reference=reference)
    for c in parsed:
        if c is not None:
            contrast_vector(full, c)
