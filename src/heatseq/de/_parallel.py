"""Gene-chunked execution of the gene-wise steps, locally or on a Dask cluster.

Every gene-wise step of the engine (gene-wise dispersions, MAP dispersions, the GLM fit
and Cook's distances) treats genes independently, so the gene axis can be cut into chunks
that run as tasks on a ``dask.distributed`` client and are concatenated again; the steps
that pool genes (the dispersion trend and its prior variance, independent filtering) run
once on the gathered values. Without a client the same function runs on one chunk holding
all genes, so the two paths execute the same code.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["chunk_slices", "concat_records", "map_gene_chunks"]


def chunk_slices(n_genes: int, *, n_chunks: int) -> list[slice]:
    """Split ``range(n_genes)`` into ``n_chunks`` contiguous, nearly equal slices."""
    n_chunks = max(1, min(int(n_chunks), n_genes))
    edges = np.linspace(0, n_genes, n_chunks + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def map_gene_chunks(fn: Callable[..., Any], chunks: Sequence[dict[str, Any]], *,
                    client: Any = None) -> list[Any]:
    """Run ``fn(**kwargs)`` for each chunk's keyword arguments, on ``client`` if given."""
    if client is None or len(chunks) == 1:
        return [fn(**kw) for kw in chunks]
    futures = [client.submit(fn, pure=False, **kw) for kw in chunks]
    return client.gather(futures)


def concat_records(parts: Sequence[Any], *, gene_axis: dict[str, int],
                   shared: Sequence[str] = ()) -> Any:
    """Concatenate frozen dataclass records of gene chunks field by field.

    ``gene_axis`` maps a field name to the axis holding genes (0 or 1); fields listed in
    ``shared`` are taken from the first part; any other field defaults to axis 0.
    """
    first = parts[0]
    if len(parts) == 1:
        return first
    values: dict[str, Any] = {}
    for f in dataclasses.fields(first):
        if f.name in shared:
            values[f.name] = getattr(first, f.name)
            continue
        arrays = [getattr(p, f.name) for p in parts]
        if isinstance(arrays[0], np.ndarray):
            values[f.name] = np.concatenate(arrays, axis=gene_axis.get(f.name, 0))
        else:
            values[f.name] = arrays[0]
    return type(first)(**values)
