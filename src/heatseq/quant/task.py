"""One sample's salmon quantification: the task that runs on a local pool or a Dask worker.

This module owns :class:`SampleJob` (everything a task needs, plain and picklable),
:func:`quantify_sample` (check the FASTQ files, run ``salmon quant``, collect its QC, publish
the output) and :func:`is_finished` (whether an earlier run's output can be reused).

A sample's output is written into ``OUTDIR/salmon/.<sample>.<random>.running/`` and
renamed to ``OUTDIR/salmon/<sample>/`` only when salmon succeeded and the completion stamp
``heatseq_stamp.json`` is written inside it, so a folder named after a sample is always
finished. The stamp records every FASTQ's size, modification time, SHA-256 and read count,
the index key, salmon's version and arguments, and the QC numbers. A later run reuses the
folder when all of these match; a FASTQ whose modification time changed is hashed again and
still counts as unchanged when its SHA-256 is the same.

salmon is run as ``salmon quant -i INDEX -l A -1 R1... -2 R2... -p THREADS -o DIR`` (``-r``
for single-end); selective alignment with ``--validateMappings`` behaviour is salmon's
default since 1.0 (the flag is deprecated in 1.10), so it is not passed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from heatseq.errors import InputError
from heatseq.quant.fastq import check_fastq

__all__ = ["LOW_MAPPING_RATE", "STAMP", "SampleJob", "SampleOutcome", "is_finished",
           "quantify_sample"]

log = logging.getLogger(__name__)

#: A sample whose salmon mapping rate (percent) is below this is flagged in quant_qc.tsv.
#: Good libraries against a matching transcriptome map 70-95%; below 30% usually means the
#: wrong species or annotation, heavy rRNA or adapter content, or a damaged sample.
LOW_MAPPING_RATE = 30.0
#: The completion stamp inside each finished sample folder.
STAMP = "heatseq_stamp.json"
_LOG_WARNING = re.compile(r"\[warning\]\s*(.*)")


@dataclass(frozen=True)
class SampleJob:
    """One sample to quantify: plain values only, so it travels to Dask workers.

    Attributes
    ----------
    sample
        Sample name (the output folder's name).
    fastq_1, fastq_2
        FASTQ paths (``fastq_2`` empty for single-end).
    index
        The salmon index folder.
    index_key
        The index's stamp key (a change invalidates earlier outputs).
    outdir
        ``OUTDIR/salmon``: the sample's folder is created inside it.
    salmon
        Path of the salmon executable.
    salmon_version
        Its version.
    threads
        ``-p`` of salmon quant.
    """

    sample: str
    fastq_1: tuple[str, ...]
    fastq_2: tuple[str, ...]
    index: str
    index_key: str
    outdir: str
    salmon: str
    salmon_version: str
    threads: int

    @property
    def args(self) -> list[str]:
        """salmon quant's arguments apart from threads and the output folder."""
        reads = (["-1", *self.fastq_1, "-2", *self.fastq_2] if self.fastq_2
                 else ["-r", *self.fastq_1])
        return ["quant", "-i", self.index, "-l", "A", *reads]


@dataclass(frozen=True)
class SampleOutcome:
    """What happened to one sample.

    Attributes
    ----------
    sample
        Sample name.
    status
        ``"quantified"`` (this run), ``"reused"`` (an earlier run's output) or ``"failed"``.
    qc
        reads, mapped, mapping_rate (percent), library_type, compatible_fragment_ratio,
        threads and salmon's warnings, as written to ``quant_qc.tsv``.
    error
        Why it failed (None otherwise).
    retryable
        False when running it again cannot help (a damaged FASTQ).
    seconds
        Wall time of the task.
    """

    sample: str
    status: str
    qc: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retryable: bool = True
    seconds: float = 0.0


def _stamp_key(job: SampleJob) -> dict[str, Any]:
    """The parts of a stamp that must match for an output to be reused."""
    skip = {job.index, *job.fastq_1, *job.fastq_2}  # paths may move; contents are checked
    args = [a for a in job.args if a not in skip]
    return {"index_key": job.index_key, "salmon": job.salmon_version,
            "args": args,
            "paired": bool(job.fastq_2), "n_files": len(job.fastq_1) + len(job.fastq_2)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def is_finished(job: SampleJob) -> dict[str, Any] | None:
    """The stamp of ``job``'s finished output when it can be reused, else None."""
    folder = Path(job.outdir) / job.sample
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return None
    if any(stamp.get(k) != v for k, v in _stamp_key(job).items()):
        return None
    if not (folder / "quant.sf").is_file():
        return None
    files = [Path(f) for f in job.fastq_1 + job.fastq_2]
    recorded = stamp.get("inputs", [])
    if len(recorded) != len(files):
        return None
    for f, rec in zip(files, recorded, strict=True):
        st = f.stat()
        if st.st_size != rec.get("size"):
            return None
        if st.st_mtime_ns != rec.get("mtime_ns") and _sha256(f) != rec.get("sha256"):
            return None
    return stamp


def quantify_sample(job: SampleJob) -> SampleOutcome:
    """Check one sample's FASTQ files, run salmon quant and publish its output folder.

    Never raises for a sample's own problems: a failure comes back as a ``"failed"``
    outcome with the reason, so the other samples carry on.
    """
    start = time.perf_counter()
    out = Path(job.outdir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        inputs = _check_inputs(job)
    except InputError as exc:
        return SampleOutcome(job.sample, "failed", error=str(exc), retryable=False,
                             seconds=time.perf_counter() - start)
    except OSError as exc:
        return SampleOutcome(job.sample, "failed", error=f"cannot read its FASTQ: {exc}",
                             seconds=time.perf_counter() - start)
    tmp = Path(tempfile.mkdtemp(prefix=f".{job.sample}.", suffix=".running", dir=out))
    try:
        cmd = [job.salmon, *job.args, "-p", str(job.threads), "-o", str(tmp)]
        log.debug("sample %s: %s", job.sample, " ".join(cmd))
        with open(out / f".{tmp.name}.log", "w") as log_fh:
            code = subprocess.run(cmd, stdout=log_fh, stderr=subprocess.STDOUT,
                                  check=False).returncode
        log_text = (out / f".{tmp.name}.log").read_text(errors="replace")
        (out / f".{tmp.name}.log").unlink()
        if code != 0 or not (tmp / "quant.sf").is_file():
            (out / f"{job.sample}.failed.log").write_text(log_text)
            return SampleOutcome(job.sample, "failed", error=_failure(job, code, log_text, out),
                                 seconds=time.perf_counter() - start)
        qc = _collect_qc(tmp, job, inputs)
        stamp = {**_stamp_key(job), "sample": job.sample, "inputs": inputs, "qc": qc,
                 "threads": job.threads, "command": [*cmd[:-1], str(out / job.sample)]}
        (tmp / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
        _publish(tmp, out / job.sample)
        (out / f"{job.sample}.failed.log").unlink(missing_ok=True)
        return SampleOutcome(job.sample, "quantified", qc=qc,
                             seconds=time.perf_counter() - start)
    except OSError as exc:
        return SampleOutcome(job.sample, "failed", error=f"salmon could not be run: {exc}",
                             seconds=time.perf_counter() - start)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_inputs(job: SampleJob) -> list[dict[str, Any]]:
    checks = {f: check_fastq(f, sample=job.sample) for f in job.fastq_1 + job.fastq_2}
    for f1, f2 in zip(job.fastq_1, job.fastq_2, strict=False):
        n1, n2 = checks[f1].records, checks[f2].records
        if n1 != n2:
            raise InputError(f"{Path(f1).name} and {Path(f2).name} (sample {job.sample!r}) hold "
                             f"{n1:,} and {n2:,} reads; mates must pair up one to one. One "
                             "file is truncated or they are not mates.")
    return [{"path": f, **asdict(c)} for f, c in checks.items()]


def _publish(tmp: Path, final: Path) -> None:
    """Rename the finished folder into place (replacing an outdated one)."""
    if final.exists():
        old = final.parent / f".{final.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(tmp, final)


def _failure(job: SampleJob, code: int, log_text: str, out: Path) -> str:
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "exception" in ln.lower()
              or "[warning]" in ln]
    shown = (errors or lines or ["no output"])[-1]
    shown = re.sub(r"^\[[^\]]*\]\s*\[[^\]]*\]\s*", "", shown)[:300]
    return (f"salmon quant exited with code {code}: {shown} (full log: "
            f"{out / (job.sample + '.failed.log')})")


def _collect_qc(folder: Path, job: SampleJob, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    meta = json.loads((folder / "aux_info" / "meta_info.json").read_text())
    try:
        lib = json.loads((folder / "lib_format_counts.json").read_text())
    except (OSError, ValueError):
        lib = {}
    warnings: list[str] = []
    log_file = folder / "logs" / "salmon_quant.log"
    if log_file.is_file():
        for ln in log_file.read_text(errors="replace").splitlines():
            m = _LOG_WARNING.search(ln)
            if m:
                text = " ".join(m.group(1).split())
                warnings.append(text[:200])
    reads = sum(int(i["records"]) for i in inputs[:len(job.fastq_1)])
    processed = int(meta.get("num_processed", 0))
    if processed != reads:
        warnings.append(f"salmon processed {processed:,} of {reads:,} reads")
    return {"reads": reads, "mapped": int(meta.get("num_mapped", 0)),
            "mapping_rate": round(float(meta.get("percent_mapped", 0.0)), 2),
            "library_type": lib.get("expected_format")
            or ",".join(meta.get("library_types", [])),
            "compatible_fragment_ratio": float(lib.get("compatible_fragment_ratio", float("nan"))),
            "threads": job.threads, "salmon_warnings": list(dict.fromkeys(warnings))}
