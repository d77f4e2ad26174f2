"""Quality control of samples: library sizes, detected genes, log-count distributions, PCA,
sample correlations and the replicate verdict. Computes values; :mod:`heatseq.plot.qc` draws
them. A typical chain::

    values = expression_values(dataset)                  # VST, genes x samples
    metrics = qc_metrics(dataset)                        # one row per sample
    pcs = pca(values, n_top=500)                         # DESeq2's plotPCA
    verdict = replicate_verdict(dataset, values=values, condition="dex", batch="cell")
    verdict.sentences, verdict.summary, verdict.to_frame()

Submodules: :mod:`~heatseq.qc.metrics`, :mod:`~heatseq.qc.pca`, :mod:`~heatseq.qc.batch`
(limma's removeBatchEffect), :mod:`~heatseq.qc.verdict` (the rules and thresholds).
"""

from heatseq.qc.batch import remove_batch_effect
from heatseq.qc.metrics import log_counts, qc_metrics
from heatseq.qc.pca import PCAResult, pca, sample_correlations, top_variable_genes
from heatseq.qc.verdict import GroupFinding, SampleFinding, Verdict, replicate_verdict

__all__ = [
    "GroupFinding",
    "PCAResult",
    "SampleFinding",
    "Verdict",
    "log_counts",
    "pca",
    "qc_metrics",
    "remove_batch_effect",
    "replicate_verdict",
    "sample_correlations",
    "top_variable_genes",
]
