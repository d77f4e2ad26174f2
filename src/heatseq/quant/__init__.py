"""FASTQ to gene counts with salmon: samples, index, per-sample quantification (local pool
or Dask), QC and tximport-style gene counts.

Modules: :mod:`~heatseq.quant.fastq` (finding and checking FASTQ files),
:mod:`~heatseq.quant.salmon` (the executable and its index), :mod:`~heatseq.quant.task`
(one sample's salmon run, the unit of parallel work), :mod:`~heatseq.quant.run`
(:func:`quantify`, the whole job) and :mod:`~heatseq.quant.simulate` (a seeded experiment
with known truth).
"""

from heatseq.quant.fastq import FastqCheck, SampleReads, check_fastq, find_samples
from heatseq.quant.run import QuantResult, available_cores, plan_threads, quantify
from heatseq.quant.salmon import INSTALL_HINT, build_index, check_fasta, find_salmon, salmon_version
from heatseq.quant.simulate import SimulatedExperiment, simulate_experiment
from heatseq.quant.task import LOW_MAPPING_RATE, SampleJob, SampleOutcome, quantify_sample

__all__ = [
    "FastqCheck",
    "INSTALL_HINT",
    "LOW_MAPPING_RATE",
    "QuantResult",
    "SampleJob",
    "SampleOutcome",
    "SampleReads",
    "SimulatedExperiment",
    "available_cores",
    "build_index",
    "check_fasta",
    "check_fastq",
    "find_salmon",
    "find_samples",
    "plan_threads",
    "quantify",
    "quantify_sample",
    "salmon_version",
    "simulate_experiment",
]
