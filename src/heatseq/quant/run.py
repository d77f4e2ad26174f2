"""``quantify``: FASTQ files to gene counts with salmon, on a local pool or a Dask cluster.

This module owns :func:`quantify` and :class:`QuantResult`: it finds the samples, builds or
reuses the index, runs :func:`heatseq.quant.task.quantify_sample` for every sample that is
not already finished, writes the QC table and sums transcripts to genes the tximport way.

Output folder (relative to OUTDIR)::

    index/               salmon index (unless --index), reused while its stamp matches
    salmon/<sample>/     salmon's own output + heatseq_stamp.json (finished samples only)
    salmon/<sample>.failed.log   salmon's log of a sample that failed
    quant_qc.tsv         per sample: status, reads, mapped, mapping_rate (%), library_type,
                         compatible_fragment_ratio, threads, flags, warnings
    counts.tsv           gene_id + one integer column per sample
    tpm.tsv              gene_id + summed TPM per sample
    samples.tsv          the sheet's design columns (when it has any)
    run.json             versions, parameters, input checksums, which samples ran

Parallelism. Every sample is one call of the same function, submitted to a
``concurrent.futures`` thread pool (the work happens in the salmon processes) or, with a
Dask ``client``, as one task per sample (workers must see the same file system). A failed
sample is submitted once more (``retries``) unless its FASTQ is damaged, which fails the
same way every time; the others always finish, then the failures are reported together.

Threads. salmon's estimates depend slightly on its thread count (the order in which reads
reach its online phase), so the threads per sample are decided here, not on the workers:
``threads`` per sample, by default the cores available divided among the samples run at
once (``jobs``, by default one sample per 4 cores). The same ``threads`` gives identical
counts locally and on Dask.

Gene counts. Transcripts are summed to genes with :func:`heatseq.io.tximport.tximport`
(R tximport's ``summarizeToGene``, ``countsFromAbundance = "no"``). The estimated counts
are then rounded half-to-even, as R's ``round()`` in DESeq2's
``DESeqDataSetFromTximport``: ``counts.tsv`` is what DESeq2 would be given. The
abundance-weighted transcript lengths (tximport's length offset) are kept in
:attr:`QuantResult.dataset` (``Dataset.lengths``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset, Source
from heatseq.errors import InputError, InputWarning
from heatseq.quant.fastq import SampleReads, find_samples
from heatseq.quant.salmon import build_index, find_salmon, salmon_version
from heatseq.quant.task import (
    LOW_MAPPING_RATE,
    SampleJob,
    SampleOutcome,
    is_finished,
    quantify_sample,
)

__all__ = ["QuantResult", "available_cores", "plan_threads", "quantify"]

log = logging.getLogger(__name__)

_QC_COLUMNS = ["status", "reads", "mapped", "mapping_rate", "library_type",
               "compatible_fragment_ratio", "threads", "flags", "warnings"]


@dataclass(frozen=True)
class QuantResult:
    """What :func:`quantify` produced.

    Attributes
    ----------
    outdir
        The output folder.
    dataset
        Rounded gene counts (samples x genes) with the design columns as ``samples``,
        tximport's length offset as ``lengths`` and ``extra["abundance"]`` (TPM) and
        ``extra["counts_estimated"]`` (unrounded).
    qc
        The QC table (``quant_qc.tsv``), indexed by sample.
    quantified
        Samples salmon ran on in this call.
    reused
        Samples whose earlier output was reused.
    index
        The salmon index folder, and whether it was built in this call.
    files
        Files written, relative to ``outdir``.
    timings
        Seconds per stage.
    """

    outdir: Path
    dataset: Dataset
    qc: pd.DataFrame
    quantified: tuple[str, ...]
    reused: tuple[str, ...]
    index: Path
    index_built: bool
    files: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)


def available_cores() -> int:
    """Cores this process may use (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def plan_threads(n_samples: int, *, threads: int | None = None, jobs: int | None = None,
                 cores: int | None = None) -> tuple[int, int]:
    """Samples run at once and salmon threads per sample.

    Parameters
    ----------
    n_samples
        Samples to quantify.
    threads
        salmon threads per sample; default ``cores // jobs``.
    jobs
        Samples at once (local pool); default one per 4 cores, at most ``n_samples``.
    cores
        Cores available (default :func:`available_cores`).

    Returns
    -------
    jobs, threads

    Examples
    --------
    >>> plan_threads(6, cores=16)
    (4, 4)
    >>> plan_threads(6, cores=2)
    (1, 2)
    """
    cores = cores or available_cores()
    for name, value in (("threads", threads), ("jobs", jobs)):
        if value is not None and value < 1:
            raise InputError(f"--{name} {value} is not valid; give a whole number >= 1.")
    if jobs is None:
        jobs = max(1, min(max(n_samples, 1), cores // 4))
    if threads is None:
        threads = max(1, cores // jobs)
    return jobs, threads


def quantify(reads: str | os.PathLike[str], *, transcriptome: str | os.PathLike[str],
             outdir: str | os.PathLike[str], gtf: str | os.PathLike[str] | None = None,
             tx2gene: str | os.PathLike[str] | None = None,
             index: str | os.PathLike[str] | None = None,
             decoys: str | os.PathLike[str] | None = None, k: int = 31,
             threads: int | None = None, jobs: int | None = None, client: Any = None,
             salmon: str | os.PathLike[str] | None = None, retries: int = 1,
             force: bool = False,
             progress: Callable[[SampleOutcome], Any] | None = None) -> QuantResult:
    """Quantify FASTQ files with salmon and sum them to gene counts.

    Parameters
    ----------
    reads
        A sample sheet (``sample``, ``fastq_1``, ``fastq_2`` + design columns) or a
        folder of FASTQ files (see :func:`heatseq.quant.find_samples`).
    transcriptome
        Transcript FASTA (gzipped or not).
    outdir
        Output folder; an earlier ``quantify`` output there is continued (finished
        samples reused). Another non-empty folder needs ``force``.
    gtf, tx2gene
        Exactly one: a GTF (``transcript_id``/``gene_id`` of its transcript or exon
        lines; gzipped or not) or a transcript -> gene table.
    index
        Index folder (default ``OUTDIR/index``); reused while it matches the
        transcriptome, decoys, ``k`` and salmon's version.
    decoys
        Genome FASTA for a decoy-aware index.
    k
        Index k-mer length.
    threads, jobs
        salmon threads per sample and samples at once; see :func:`plan_threads`. With a
        Dask ``client``, ``jobs`` is up to the cluster and ``threads`` defaults to 1.
    client
        A ``dask.distributed.Client``: one task per sample on its workers.
    salmon
        The salmon executable (default: ``salmon`` on PATH).
    retries
        Further attempts of a failed sample (a damaged FASTQ is not retried).
    force
        Write into a non-empty folder that is not an earlier quantify output.
    progress
        Called with each sample's outcome as it arrives.

    Returns
    -------
    QuantResult

    Raises
    ------
    InputError
        For bad inputs (before any sample runs), and after all samples ran when some
        failed: the message names each failed sample and why; the finished ones are kept
        and reused by the next run.
    """
    started = datetime.now(UTC)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if (gtf is None) == (tx2gene is None):
        raise InputError("Give exactly one of --gtf (the annotation GTF) or --tx2gene "
                         "(a transcript,gene table) to sum transcripts to genes.")
    if retries < 0:
        raise InputError(f"retries={retries} is not valid; give 0 or more.")
    exe = find_salmon(salmon)
    version = salmon_version(exe)
    samples, design = find_samples(reads)
    from heatseq.io.quant_files import read_tx2gene

    t2g_path = Path(gtf if gtf is not None else tx2gene)  # type: ignore[arg-type]
    t2g = read_tx2gene(t2g_path)
    out = _prepare_outdir(Path(outdir), force=force,
                          inputs=[Path(reads), Path(transcriptome), t2g_path])
    n_jobs, n_threads = plan_threads(len(samples), threads=threads, jobs=jobs)
    if client is not None and threads is None:
        n_threads = 1
    timings["prepare"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    index_dir, built = build_index(transcriptome, index=Path(index) if index else out / "index",
                                   decoys=decoys, k=k, threads=available_cores(), salmon=exe)
    timings["index"] = time.perf_counter() - t0
    index_key = json.loads((index_dir / "heatseq_index.json").read_text())["key"]
    jobs_all = [_job(s, index_dir, index_key, out / "salmon", exe, version, n_threads)
                for s in samples]
    t0 = time.perf_counter()
    outcomes: dict[str, SampleOutcome] = {}
    todo: list[SampleJob] = []
    for job in jobs_all:
        stamp = is_finished(job)
        if stamp is None:
            todo.append(job)
        else:
            outcomes[job.sample] = SampleOutcome(job.sample, "reused", qc=stamp["qc"])
    if outcomes:
        log.info("reusing %d finished sample(s): %s", len(outcomes), ", ".join(outcomes))
    if todo:
        log.info("quantifying %d sample(s) with salmon %s (%s, %d thread(s) each)", len(todo),
                 version, "Dask" if client is not None else f"{n_jobs} at once", n_threads)
        run = _run_dask if client is not None else _run_local
        outcomes.update(run(todo, jobs=n_jobs, retries=retries, client=client,
                            progress=progress))
    timings["quant"] = time.perf_counter() - t0
    qc = _qc_table([outcomes[s.sample] for s in samples])
    written = ["quant_qc.tsv"]
    from heatseq.io.write import write_table

    write_table(qc, out / "quant_qc.tsv")
    failed = [o for o in outcomes.values() if o.status == "failed"]
    if failed:
        raise InputError(_failure_summary(failed, len(samples), out))
    for note in qc["flags"][qc["flags"] != ""].items():
        warnings.warn(f"Sample {note[0]}: {note[1]} (see {out / 'quant_qc.tsv'}).",
                      InputWarning, stacklevel=2)
    t0 = time.perf_counter()
    ds = _gene_counts(samples, design, out, t2g, where=str(t2g_path))
    write_table(ds.counts.T, out / "counts.tsv")
    write_table(ds.extra["abundance"].T, out / "tpm.tsv")  # type: ignore[union-attr]
    written += ["counts.tsv", "tpm.tsv"]
    if design.shape[1]:
        write_table(design, out / "samples.tsv")
        written.append("samples.tsv")
    timings["genes"] = time.perf_counter() - t0
    quantified = tuple(s.sample for s in samples if outcomes[s.sample].status == "quantified")
    reused = tuple(s.sample for s in samples if outcomes[s.sample].status == "reused")
    _write_provenance(out, started=started, reads=reads, transcriptome=transcriptome,
                      t2g_path=t2g_path, decoys=decoys, index_dir=index_dir, built=built,
                      version=version, k=k, n_threads=n_threads, n_jobs=n_jobs,
                      client=client, quantified=quantified, reused=reused,
                      jobs_all=jobs_all, written=written, timings=timings)
    written.append("run.json")
    return QuantResult(out, ds, qc, quantified, reused, index_dir, built,
                       tuple(sorted(written)), timings)


def _job(s: SampleReads, index_dir: Path, key: str, out: Path, exe: Path, version: str,
         threads: int) -> SampleJob:
    return SampleJob(s.sample, tuple(str(f.resolve()) for f in s.fastq_1),
                     tuple(str(f.resolve()) for f in s.fastq_2), str(index_dir.resolve()),
                     key, str(out.resolve()), str(exe), version, threads)


def _prepare_outdir(out: Path, *, force: bool, inputs: Sequence[Path]) -> Path:
    """Create OUTDIR, or accept an earlier quantify output; clear stale temporary folders."""
    if out.exists() and not out.is_dir():
        raise InputError(f"Output folder {out} is a file. Give a folder path with -o.")
    ours = (out / "salmon").is_dir() or (out / "index" / "heatseq_index.json").is_file()
    if out.is_dir() and any(out.iterdir()) and not ours and not force:
        raise InputError(f"Output folder {out} is not empty and holds no earlier heatseq "
                         "quant output. Choose a new folder or add --force.")
    resolved = out.resolve()
    for inp in inputs:
        p = inp.resolve()
        if p == resolved or resolved in p.parents:
            raise InputError(f"Output folder {out} contains the input {inp}; choose another "
                             "output folder.")
    try:
        (out / "salmon").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create output folder {out}: {exc.strerror}. Choose a "
                         "writable location.") from None
    for stale in (out / "salmon").glob(".*.running*"):  # an interrupted run's leftovers
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    return out


def _run_local(todo: list[SampleJob], *, jobs: int, retries: int, client: Any,
               progress: Callable[[SampleOutcome], Any] | None) -> dict[str, SampleOutcome]:
    results: dict[str, SampleOutcome] = {}
    attempts = dict.fromkeys((j.sample for j in todo), 0)
    by_name = {j.sample: j for j in todo}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="salmon") as pool:
        pending: dict[Future[SampleOutcome], str] = {pool.submit(quantify_sample, j): j.sample
                                                     for j in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                name = pending.pop(fut)
                outcome = fut.result()
                attempts[name] += 1
                if _again(outcome, attempts[name], retries):
                    pending[pool.submit(quantify_sample, by_name[name])] = name
                    continue
                results[name] = outcome
                if progress is not None:
                    progress(outcome)
    return results


def _run_dask(todo: list[SampleJob], *, jobs: int, retries: int, client: Any,
              progress: Callable[[SampleOutcome], Any] | None) -> dict[str, SampleOutcome]:
    from dask.distributed import as_completed

    results: dict[str, SampleOutcome] = {}
    attempts = dict.fromkeys((j.sample for j in todo), 0)
    by_name = {j.sample: j for j in todo}
    futures = [client.submit(quantify_sample, j, pure=False, key=f"salmon-{j.sample}-"
                             f"{os.urandom(4).hex()}") for j in todo]
    queue = as_completed(futures)
    for fut in queue:
        outcome: SampleOutcome = fut.result()
        name = outcome.sample
        attempts[name] += 1
        if _again(outcome, attempts[name], retries):
            queue.add(client.submit(quantify_sample, by_name[name], pure=False,
                                    key=f"salmon-{name}-{os.urandom(4).hex()}"))
            continue
        results[name] = outcome
        if progress is not None:
            progress(outcome)
    return results


def _again(outcome: SampleOutcome, attempts: int, retries: int) -> bool:
    if outcome.status != "failed" or not outcome.retryable or attempts > retries:
        return False
    log.warning("sample %s failed (%s); trying once more", outcome.sample, outcome.error)
    return True


def _qc_table(outcomes: list[SampleOutcome]) -> pd.DataFrame:
    rows = []
    for o in outcomes:
        qc = o.qc
        flags = []
        if o.status == "failed":
            flags.append("failed")
        elif qc.get("mapping_rate", 100.0) < LOW_MAPPING_RATE:
            flags.append(f"low mapping rate ({qc['mapping_rate']:.1f}% < "
                         f"{LOW_MAPPING_RATE:.0f}%)")
        warnings = list(qc.get("salmon_warnings", []))
        if o.error:
            warnings.insert(0, o.error)
        rows.append({"sample": o.sample, "status": o.status, "reads": qc.get("reads", -1),
                     "mapped": qc.get("mapped", -1),
                     "mapping_rate": float(qc.get("mapping_rate", np.nan)),
                     "library_type": qc.get("library_type", ""),
                     "compatible_fragment_ratio": float(qc.get("compatible_fragment_ratio",
                                                               np.nan)),
                     "threads": qc.get("threads", -1), "flags": "; ".join(flags),
                     "warnings": " | ".join(w.replace("\t", " ").replace("\n", " ")
                                            for w in warnings)})
    table = pd.DataFrame(rows).set_index("sample")[_QC_COLUMNS]
    done = table["status"] != "failed"
    types = table.loc[done, "library_type"]
    if types.nunique() > 1:
        common = types.mode().iat[0]
        odd = types != common
        table.loc[odd[odd].index, "flags"] = [
            "; ".join(filter(None, [f, f"library type {t} differs from most samples ({common})"]))
            for f, t in zip(table.loc[odd[odd].index, "flags"], types[odd], strict=True)]
    return table


def _failure_summary(failed: list[SampleOutcome], n: int, out: Path) -> str:
    lines = "\n".join(f"  {o.sample}: {o.error}" for o in failed)
    names = ", ".join(o.sample for o in failed)
    return (f"{len(failed)} of {n} samples failed ({names}); the other {n - len(failed)} "
            f"finished and will be reused. No counts.tsv was written.\n{lines}\n"
            f"Fix the input of {names} and run the same command again; only the failed "
            f"sample(s) will be quantified. QC: {out / 'quant_qc.tsv'}")


def _gene_counts(samples: list[SampleReads], design: pd.DataFrame, out: Path,
                 t2g: pd.DataFrame, *, where: str) -> Dataset:
    from heatseq.io.tximport import tximport

    files = {s.sample: out / "salmon" / s.sample / "quant.sf" for s in samples}
    res = tximport(files, type="salmon", tx2gene=t2g)
    est = res.counts
    rounded = pd.DataFrame(np.round(est.to_numpy()).astype(np.int64), index=est.index,
                           columns=est.columns)
    rounded.columns.name = None
    sheet = design.reindex(rounded.columns) if design.shape[1] else pd.DataFrame()
    genes = pd.DataFrame({"symbol": res.symbols}) if res.symbols is not None else pd.DataFrame()
    note = (f"salmon estimated counts summed to {len(rounded):,} genes (tx2gene: {where}) and "
            "rounded half-to-even, as DESeqDataSetFromTximport does.")
    return Dataset(rounded.T, samples=sheet, genes=genes, lengths=res.length.T,
                   extra={"abundance": res.abundance.T.copy(),
                          "counts_estimated": est.T.copy()},
                   source=Source(str(out / "salmon"), "salmon", (*res.notes, note)))


def _write_provenance(out: Path, *, started: datetime, reads: Any, transcriptome: Any,
                      t2g_path: Path, decoys: Any, index_dir: Path, built: bool, version: str,
                      k: int, n_threads: int, n_jobs: int, client: Any,
                      quantified: tuple[str, ...], reused: tuple[str, ...],
                      jobs_all: list[SampleJob], written: list[str],
                      timings: dict[str, float]) -> None:
    from heatseq.provenance import write_run_json

    fastq: dict[str, Any] = {}
    for job in jobs_all:
        stamp = json.loads((Path(job.outdir) / job.sample / "heatseq_stamp.json").read_text())
        fastq[job.sample] = [{"path": i["path"], "sha256": i["sha256"], "reads": i["records"]}
                             for i in stamp["inputs"]]
    params = {"salmon": version, "library_type": "A (automatic)", "k": k, "index": index_dir,
              "index_built": built, "threads_per_sample": n_threads,
              "scheduler": None if client is None else str(getattr(client, "scheduler", "")),
              "samples_at_once": None if client is not None else n_jobs,
              "counts": "tximport summarizeToGene, countsFromAbundance='no', rounded"}
    sheet = [Path(reads)] if Path(reads).is_file() else []  # a folder's FASTQs: in "fastq"
    inputs = [*sheet, Path(transcriptome), t2g_path] + ([Path(decoys)] if decoys else [])
    write_run_json(out, command="heatseq quant", started=started, parameters=params,
                   inputs=inputs, outputs=[*written, "run.json"], timings=timings,
                   extra={"quantified": list(quantified), "reused": list(reused),
                          "fastq": fastq})
