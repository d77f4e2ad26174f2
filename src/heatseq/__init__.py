"""heatseq: bulk RNA-seq from counts to clustered heatmaps, DESeq2-exact differential
expression and enrichment, offline.

The public API is re-exported here; ``__all__`` is sorted and checked by a test.
"""

from heatseq._version import __version__
from heatseq.dataset import Dataset, Source
from heatseq.errors import DesignError, HeatseqError, HeatseqWarning, InputError, InputWarning

__all__ = [
    "Dataset",
    "DesignError",
    "HeatseqError",
    "HeatseqWarning",
    "InputError",
    "InputWarning",
    "Source",
    "__version__",
]
