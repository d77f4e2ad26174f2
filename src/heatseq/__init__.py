"""heatseq: bulk RNA-seq from counts to clustered heatmaps, DESeq2-exact differential
expression and enrichment, offline.

The public API is re-exported here; ``__all__`` is sorted and checked by a test. The names
are loaded on first use (module ``__getattr__``), so that ``import heatseq`` and the
command line start fast and load only what they run.

>>> import heatseq
>>> ds = heatseq.datasets.airway()
>>> ds.n_samples, ds.n_genes
(8, 64102)
"""

import importlib as _importlib
import typing as _typing

from heatseq._version import __version__

if _typing.TYPE_CHECKING:
    from heatseq import datasets
    from heatseq.annotation import annotate
    from heatseq.dataset import Dataset, Source
    from heatseq.de import DEResult, DESeqFit, deseq, results
    from heatseq.errors import (
        DesignError,
        HeatseqError,
        HeatseqWarning,
        InputError,
        InputWarning,
    )
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

# public name -> the module that defines it ("" for a submodule of the same name)
_EXPORTS = {
    "DEResult": "heatseq.de",
    "DESeqFit": "heatseq.de",
    "Dataset": "heatseq.dataset",
    "DesignError": "heatseq.errors",
    "HeatseqError": "heatseq.errors",
    "HeatseqWarning": "heatseq.errors",
    "InputError": "heatseq.errors",
    "InputWarning": "heatseq.errors",
    "Source": "heatseq.dataset",
    "annotate": "heatseq.annotation",
    "attach_samples": "heatseq.io.samples",
    "datasets": "",
    "deseq": "heatseq.de",
    "from_anndata": "heatseq.io.anndata",
    "read_counts": "heatseq.io.detect",
    "read_h5ad": "heatseq.io.anndata",
    "read_samples": "heatseq.io.samples",
    "results": "heatseq.de",
    "to_anndata": "heatseq.io.anndata",
    "write_h5ad": "heatseq.io.anndata",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'heatseq' has no attribute {name!r}")
    value = (_importlib.import_module(f"heatseq.{name}") if module == ""
             else getattr(_importlib.import_module(module), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
