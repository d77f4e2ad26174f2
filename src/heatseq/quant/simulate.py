"""A seeded RNA-seq experiment with known truth, for testing quantification end to end.

This module owns :func:`simulate_experiment`: a random transcriptome (transcripts grouped
into genes), a GTF, and paired-end FASTQ files of two conditions whose gene abundances
follow a gamma-Poisson (negative binomial) model with a known set of changed genes. It
exists so that ``heatseq quant`` can be checked against the truth with the real salmon
(the acceptance test) and tried without data.

The model, per gene :math:`g` and sample :math:`j` of condition :math:`c(j)`:

- base expression :math:`\\mu_g` log-normal; changed genes get a fold change of
  ``fold_change`` (half up, half down) in the second condition;
- biological variation: :math:`\\lambda_{gj} \\sim \\mathrm{Gamma}(1/\\phi,
  \\mu_g f_{g,c(j)} \\phi)` with dispersion :math:`\\phi` = ``dispersion``;
- a gene's transcripts share their first 300 bases (one exon), so reads there are
  ambiguous between isoforms; isoform fractions are Dirichlet(1) draws shared by all
  samples;
- fragments are drawn multinomially with probabilities proportional to transcript
  abundance (so the true count of a gene is the number of fragments drawn from it); the
  fragment length is :math:`\\mathcal{N}(250, 25)` truncated to the transcript, the start
  is uniform, the strand random (an unstranded library, salmon's ``IU``), and each base
  is substituted with probability ``error_rate``; read pairs of random sequence
  (``unmapped_fraction``) stand for reads that map nowhere.

Everything is vectorised over fragments; the same seed gives the same bytes.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SimulatedExperiment", "simulate_experiment"]

_SHARED = 300
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_COMPLEMENT = np.zeros(256, dtype=np.uint8)
_COMPLEMENT[np.frombuffer(b"ACGTN", dtype=np.uint8)] = np.frombuffer(b"TGCAN", dtype=np.uint8)


@dataclass(frozen=True)
class SimulatedExperiment:
    """Files and truth of a simulated experiment.

    Attributes
    ----------
    transcriptome
        Transcript FASTA (gzipped).
    gtf
        GTF with one transcript and one exon line per transcript.
    sheet
        Sample sheet (TSV): sample, fastq_1, fastq_2, condition.
    true_counts
        Fragments drawn per gene (genes x samples, the truth salmon estimates).
    true_tx_counts
        Fragments drawn per transcript (transcripts x samples).
    changed
        Gene ID -> true log2 fold change of the second condition vs the first, for the
        changed genes only.
    """

    transcriptome: Path
    gtf: Path
    sheet: Path
    true_counts: pd.DataFrame
    true_tx_counts: pd.DataFrame
    changed: pd.Series


def simulate_experiment(outdir: str | os.PathLike[str], *, n_genes: int = 150,
                        transcripts_per_gene: int = 2, replicates: int = 3,
                        fragments: int = 30_000, read_length: int = 75,
                        n_changed: int = 20, fold_change: float = 4.0,
                        dispersion: float = 0.05, error_rate: float = 0.002,
                        unmapped_fraction: float = 0.05, seed: int = 1) -> SimulatedExperiment:
    """Write a seeded two-condition paired-end experiment into ``outdir``.

    Parameters
    ----------
    outdir
        Folder for ``transcripts.fa.gz``, ``genes.gtf``, ``samples.tsv`` and
        ``fastq/<sample>_R{1,2}.fastq.gz`` (created).
    n_genes, transcripts_per_gene
        Size of the transcriptome; transcripts are 600-3,000 bases of random sequence,
        the first 300 shared by the transcripts of a gene.
    replicates
        Samples per condition (conditions ``control`` and ``treated``).
    fragments
        Read pairs per sample on average (each sample's depth varies by +-20%).
    read_length
        Length of each mate.
    n_changed, fold_change
        Genes changed in ``treated`` (half up, half down by ``fold_change``).
    dispersion
        Negative-binomial dispersion of the biological variation.
    error_rate
        Per-base substitution rate of the reads.
    unmapped_fraction
        Extra read pairs of random sequence (not in the transcriptome), as a fraction of
        the sample's fragments: salmon's mapping rate is about ``1 / (1 + this)``.
    seed
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    SimulatedExperiment
    """
    rng = np.random.default_rng(seed)
    out = Path(outdir)
    (out / "fastq").mkdir(parents=True, exist_ok=True)
    n_tx = n_genes * transcripts_per_gene
    genes = np.array([f"G{i + 1:04d}" for i in range(n_genes)])
    tx_gene = np.repeat(np.arange(n_genes), transcripts_per_gene)
    tx_ids = np.array([f"T{i + 1:05d}" for i in range(n_tx)])
    seq, offsets, lengths = _transcript_sequences(rng, tx_gene, n_genes)
    transcriptome = out / "transcripts.fa.gz"
    _write_fasta(transcriptome, tx_ids, seq, offsets, lengths)
    gtf = out / "genes.gtf"
    _write_gtf(gtf, tx_ids, genes[tx_gene], lengths)

    base = np.exp(rng.normal(np.log(150.0), 1.0, size=n_genes))
    changed_idx = rng.choice(n_genes, size=n_changed, replace=False)
    lfc = np.zeros(n_genes)
    lfc[changed_idx] = np.where(np.arange(n_changed) % 2 == 0, 1.0, -1.0) * np.log2(fold_change)
    iso = rng.dirichlet(np.ones(transcripts_per_gene), size=n_genes).ravel()
    conditions = ["control"] * replicates + ["treated"] * replicates
    samples = [f"{c}{r + 1}" for c in ("ctrl", "trt") for r in range(replicates)]
    truth = np.zeros((n_genes, len(samples)), dtype=np.int64)
    truth_tx = np.zeros((n_tx, len(samples)), dtype=np.int64)
    rows = []
    for j, (sample, cond) in enumerate(zip(samples, conditions, strict=True)):
        mu = base * (2.0 ** lfc if cond == "treated" else 1.0)
        lam = rng.gamma(1.0 / dispersion, mu * dispersion)
        p = lam[tx_gene] * iso
        depth = int(fragments * rng.uniform(0.8, 1.2))
        per_tx = rng.multinomial(depth, p / p.sum())
        truth[:, j] = np.bincount(tx_gene, weights=per_tx, minlength=n_genes).astype(np.int64)
        truth_tx[:, j] = per_tx
        r1, r2 = _fragments(rng, per_tx, seq, offsets, lengths, read_length, error_rate)
        n_junk = round(depth * unmapped_fraction)
        if n_junk:
            r1 = np.vstack([r1, _BASES[rng.integers(0, 4, size=(n_junk, read_length))]])
            r2 = np.vstack([r2, _BASES[rng.integers(0, 4, size=(n_junk, read_length))]])
        f1, f2 = out / "fastq" / f"{sample}_R1.fastq.gz", out / "fastq" / f"{sample}_R2.fastq.gz"
        _write_fastq(f1, r1, sample, 1)
        _write_fastq(f2, r2, sample, 2)
        rows.append((sample, f"fastq/{f1.name}", f"fastq/{f2.name}", cond))
    sheet = out / "samples.tsv"
    pd.DataFrame(rows, columns=["sample", "fastq_1", "fastq_2", "condition"]).to_csv(
        sheet, sep="\t", index=False)
    true_counts = pd.DataFrame(truth, index=pd.Index(genes, name="gene_id"), columns=samples)
    changed = pd.Series(lfc[changed_idx], index=genes[changed_idx], name="log2FoldChange")
    true_tx = pd.DataFrame(truth_tx, index=pd.Index(tx_ids, name="transcript_id"),
                           columns=samples)
    return SimulatedExperiment(transcriptome, gtf, sheet, true_counts, true_tx,
                               changed.sort_index())


def _transcript_sequences(rng: np.random.Generator, tx_gene: np.ndarray,
                          n_genes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transcripts of one gene share a first exon of :data:`_SHARED` bases; the rest
    (300-2,700 bases) is each transcript's own. Returns the concatenated sequence (uint8),
    each transcript's offset into it and its length."""
    shared = _BASES[rng.integers(0, 4, size=(n_genes, _SHARED))]
    own = rng.integers(300, 2701, size=tx_gene.size)
    own_seq = _BASES[rng.integers(0, 4, size=int(own.sum()))]
    own_off = np.concatenate([[0], np.cumsum(own)[:-1]])
    lengths = own + _SHARED
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    tx = np.repeat(np.arange(tx_gene.size), lengths)
    pos = np.arange(tx.size) - offsets[tx]
    first = pos < _SHARED
    seq = np.empty(tx.size, dtype=np.uint8)
    seq[first] = shared[tx_gene[tx[first]], pos[first]]
    seq[~first] = own_seq[own_off[tx[~first]] + pos[~first] - _SHARED]
    return seq, offsets, lengths


def _fragments(rng: np.random.Generator, per_tx: np.ndarray, seq: np.ndarray,
               offsets: np.ndarray, lengths: np.ndarray, read_length: int,
               error_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Mate 1 and mate 2 sequences (n x read_length uint8) of the drawn fragments."""
    tx = np.repeat(np.arange(per_tx.size), per_tx)
    rng.shuffle(tx)
    tlen = lengths[tx]
    flen = np.clip(np.rint(rng.normal(250.0, 25.0, size=tx.size)).astype(np.int64),
                   read_length, tlen)
    start = offsets[tx] + (rng.random(tx.size) * (tlen - flen + 1)).astype(np.int64)
    pos = np.arange(read_length)
    fwd = seq[start[:, None] + pos]
    rev = _COMPLEMENT[seq[(start + flen - 1)[:, None] - pos]]
    swap = rng.random(tx.size) < 0.5
    r1 = np.where(swap[:, None], rev, fwd)
    r2 = np.where(swap[:, None], fwd, rev)
    for reads in (r1, r2):
        err = rng.random(reads.shape) < error_rate
        reads[err] = _BASES[rng.integers(0, 4, size=int(err.sum()))]
    return r1, r2


def _write_fasta(path: Path, ids: np.ndarray, seq: np.ndarray, offsets: np.ndarray,
                 lengths: np.ndarray) -> None:
    parts = [f">{t}\n{seq[o:o + n].tobytes().decode()}\n"
             for t, o, n in zip(ids, offsets, lengths, strict=True)]
    with gzip.open(path, "wt", compresslevel=1) as fh:
        fh.write("".join(parts))


def _write_gtf(path: Path, tx_ids: np.ndarray, gene_ids: np.ndarray, lengths: np.ndarray) -> None:
    lines = []
    for t, g, n in zip(tx_ids, gene_ids, lengths, strict=True):
        attrs = f'gene_id "{g}"; transcript_id "{t}";'
        lines.append(f"{t}\tsim\ttranscript\t1\t{n}\t.\t+\t.\t{attrs}\n")
        lines.append(f"{t}\tsim\texon\t1\t{n}\t.\t+\t.\t{attrs} exon_number \"1\";\n")
    path.write_text("".join(lines))


def _write_fastq(path: Path, reads: np.ndarray, sample: str, mate: int) -> None:
    """FASTQ records built as one byte matrix (zero-padded, fixed-width names), gzipped."""
    n, length = reads.shape
    names = np.array([f"@{sample}.{i:08d}/{mate}\n" for i in range(1, n + 1)], dtype=bytes)
    head = np.frombuffer(names.tobytes(), dtype=np.uint8).reshape(n, -1)
    plus = np.frombuffer(b"\n+\n", dtype=np.uint8)
    qual = np.full((n, length), ord("I"), dtype=np.uint8)
    nl = np.frombuffer(b"\n", dtype=np.uint8)
    block = np.hstack([head, reads, np.broadcast_to(plus, (n, plus.size)), qual,
                       np.broadcast_to(nl, (n, 1))])
    with open(path, "wb") as raw_fh, gzip.GzipFile(fileobj=raw_fh, mode="wb", mtime=0,
                                                    compresslevel=1) as gz:
        gz.write(block.tobytes())
