"""heatseq: bulk RNA-seq from counts to clustered heatmaps, DESeq2-exact differential
expression and enrichment, offline.

The public API is re-exported here; ``__all__`` is sorted and checked by a test.

>>> import heatseq
>>> ds = heatseq.datasets.airway()
>>> ds.n_samples, ds.n_genes
(8, 64102)
"""

from heatseq import datasets
from heatseq._version import __version__
from heatseq.annotation import annotate
from heatseq.dataset import Dataset, Source
from heatseq.de import DEResult, DESeqFit, deseq, results
from heatseq.errors import DesignError, HeatseqError, HeatseqWarning, InputError, InputWarning
from heatseq.io.anndata import from_anndata, read_h5ad, to_anndata, write_h5ad
from heatseq.io.detect import read_counts
from heatseq.io.samples import attach_samples, read_samples

__all__ = [
    "DEResult",
    "DESeqFit",
    "Dataset",
    "DesignError",
    "HeatseqError",
    "HeatseqWarning",
    "InputError",
    "InputWarning",
    "Source",
    "__version__",
    "annotate",
    "attach_samples",
    "datasets",
    "deseq",
    "from_anndata",
    "read_counts",
    "read_h5ad",
    "read_samples",
    "results",
    "to_anndata",
    "write_h5ad",
]
