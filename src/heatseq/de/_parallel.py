"""Gene-blocked execution of the gene-wise steps, locally or on a Dask cluster.

Every gene-wise step of the engine (gene-wise dispersions, MAP dispersions, the GLM fit
and Cook's distances) treats genes independently, so the gene axis can be cut into pieces
that run as tasks on a ``dask.distributed`` client and are concatenated again; the steps
that pool genes (the dispersion trend and its prior variance, independent filtering) run
once on the gathered values.

Mathematically a gene's estimate does not depend on the genes it is computed with, but in
floating point it does: BLAS picks kernels by matrix size and thread count, and NumPy sums
a one-gene array in a different order than a many-gene one, and the vectorised iterations
keep different genes together depending on the piece. So that the result never depends on
the number of chunks or on the cluster, the gene axis is always cut into the same
**blocks** of :data:`BLOCK_GENES` genes; each block runs as its own call on contiguous
copies of its inputs with BLAS limited to one thread (when ``threadpoolctl`` is
installed), and a chunk (one task) is a run of whole blocks. Without a client the blocks
run in this process or, with ``n_jobs > 1`` on Linux, in forked worker processes of a local
pool (one block per task); every path executes the same calls on the same arrays and gives
identical results, bit for bit.

The local pool forks (copy-on-write: the blocks' inputs are not pickled, only the index of a
block is sent and its result returned), because the vectorised loops spend much of their
time between short NumPy calls that hold the GIL: on threads two blocks at once were slower
than one after another (airway fit 2.75 s -> 3.4 s wall on 2 cores), in processes they run
side by side (2.7 s -> 1.85 s).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from heatseq._fork import available_cores, can_fork, resolve_jobs, run_forked

__all__ = ["BLOCK_GENES", "available_cores", "can_fork", "chunk_slices", "concat_records",
           "gene_blocks", "map_gene_chunks", "one_blas_thread", "resolve_jobs", "run_forked"]

#: Genes per block: large enough that the per-iteration overhead of the vectorised loops
#: stays small (on airway, 64,102 genes in 16 blocks fit as fast as in one), small enough
#: to give a cluster several tasks per worker. Changing it changes results in the last
#: digits, so it is fixed, not an option.
BLOCK_GENES = 4096


def gene_blocks(n_genes: int, *, block_genes: int = BLOCK_GENES) -> list[slice]:
    """Split ``range(n_genes)`` into consecutive blocks of ``block_genes`` (the last shorter)."""
    if block_genes < 1:
        raise ValueError(f"block_genes must be at least 1; got {block_genes}.")
    starts = range(0, max(n_genes, 1), block_genes)
    return [slice(a, min(a + block_genes, n_genes)) for a in starts]


def chunk_slices(n_genes: int, *, n_chunks: int, block_genes: int = BLOCK_GENES) -> list[slice]:
    """Split ``range(n_genes)`` into at most ``n_chunks`` contiguous chunks of whole blocks.

    Chunks hold nearly equal numbers of blocks; there are never more chunks than blocks.
    """
    blocks = gene_blocks(n_genes, block_genes=block_genes)
    n_chunks = max(1, min(int(n_chunks), len(blocks)))
    edges = np.linspace(0, len(blocks), n_chunks + 1).round().astype(int)
    return [slice(blocks[a].start, blocks[b - 1].stop) for a, b in itertools.pairwise(edges)]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread, so that kernels do not depend on the machine's cores (and
    idle BLAS threads do not spin on a busy machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - then BLAS threads follow the environment
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _run_blocks(fn: Callable[..., Any], blocks: Sequence[dict[str, Any]]) -> list[Any]:
    """Run ``fn(**kwargs)`` for each block, in order, with one BLAS thread."""
    with one_blas_thread():
        return [fn(**kw) for kw in blocks]


def _run_one_block(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return _run_blocks(fn, [kwargs])[0]


def map_gene_chunks(fn: Callable[..., Any], blocks: Sequence[dict[str, Any]], *,
                    n_chunks: int = 1, client: Any = None, n_jobs: int = 1) -> list[Any]:
    """Run ``fn(**kwargs)`` for each block's keyword arguments; one result per block.

    The blocks are grouped into ``n_chunks`` contiguous tasks on ``client`` when one is
    given; without a client they run here, on ``n_jobs`` forked processes when that is more
    than one (Linux only; elsewhere one after another). Every way, each block is one call of
    ``fn`` on the same arrays, so the results are the same.
    """
    n_chunks = max(1, min(int(n_chunks), len(blocks)))
    if client is None:
        if n_jobs > 1 and len(blocks) > 1 and can_fork():
            return run_forked([functools.partial(_run_one_block, fn, kw) for kw in blocks],
                              n_jobs=n_jobs)
        return _run_blocks(fn, blocks)
    if n_chunks == 1:
        return _run_blocks(fn, blocks)
    edges = np.linspace(0, len(blocks), n_chunks + 1).round().astype(int)
    futures = [client.submit(_run_blocks, fn, list(blocks[a:b]), pure=False)
               for a, b in itertools.pairwise(edges)]
    return [part for parts in client.gather(futures) for part in parts]


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
