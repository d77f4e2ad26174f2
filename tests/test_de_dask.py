"""The DE engine scaled out on Dask: ``deseq`` + ``results`` with a ``dask.distributed``
client give the same tables, bit for bit, as without one and as with any number of gene
chunks; ``heatseq de --scheduler`` writes byte-identical tables; an unreachable scheduler
is a user's mistake (exit 2), reported at once.

Exactness rests on the fixed gene blocks of :mod:`heatseq.de._parallel`: every block is one
call on the same arrays whichever process runs it. Tolerance: none (``check_exact=True``,
``assert_array_equal``). Data: bottomly (all 36,536 genes, ``~ batch + strain``, 9 blocks)
and the first 12,000 genes of airway (``~ cell + dex``, 3 blocks); tests/data/*/SOURCE.md.
The API runs use ``shrink="normal"`` (shrinkage runs in this process either way); the CLI
run keeps the default apeglm.
The cluster: ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)``.
"""

from __future__ import annotations

import itertools
import re
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from dask.distributed import Client, LocalCluster, get_task_stream

from heatseq import Dataset
from heatseq.cli import cli
from heatseq.de._parallel import BLOCK_GENES, chunk_slices, gene_blocks
from heatseq.de.deseq import DESeqFit, deseq
from heatseq.de.results import DEResult, results

DATA = Path(__file__).parent / "data"

# dataset -> (design, factor, level, reference, number of leading genes used)
SPEC = {
    "bottomly": ("~ batch + strain", "strain", "DBA/2J", "C57BL/6J", None),
    "airway": ("~ cell + dex", "dex", "trt", "untrt", 12_000),
}
# how each run is made: no client (1 chunk), no client with 3 chunks, the Dask client
MODES = ("local", "chunks3", "dask")


def load(name: str) -> Dataset:
    folder = DATA / name
    samples = pd.read_csv(folder / "samples.csv", dtype=str).set_index("sample")
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)[samples.index]
    n_genes = SPEC[name][4]
    return Dataset(counts.iloc[:n_genes].T, samples=samples)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def runs(client) -> dict[str, dict[str, Any]]:
    """For each dataset: the (fit, result) of every mode, and the Dask task stream."""
    out: dict[str, dict[str, Any]] = {}
    for name, (design, factor, level, ref, _) in SPEC.items():
        ds = load(name)
        out[name] = {}
        for mode in MODES:
            kw: dict[str, Any] = {"n_chunks": 3} if mode == "chunks3" else {}
            with get_task_stream(client) as stream:
                fit = deseq(ds, design=design, reference={factor: ref},
                            client=client if mode == "dask" else None, **kw)
            res = results(fit, contrast=(factor, level, ref), shrink="normal")
            out[name][mode] = (fit, res)
            out[name][f"{mode}_tasks"] = stream.data
    return out


# ----------------------------------------------------------------------- the blocks
@pytest.mark.parametrize("n_genes", [1, 4095, BLOCK_GENES, 4097, 12_000, 36_536, 64_102])
@pytest.mark.parametrize("n_chunks", [1, 2, 3, 7, 1000])
def test_chunks_are_runs_of_whole_blocks(n_genes, n_chunks):
    blocks = gene_blocks(n_genes)
    assert blocks[0].start == 0 and blocks[-1].stop == n_genes
    assert all(b.stop - b.start == BLOCK_GENES for b in blocks[:-1])
    chunks = chunk_slices(n_genes, n_chunks=n_chunks)
    assert len(chunks) == min(n_chunks, len(blocks))
    assert chunks[0].start == 0 and chunks[-1].stop == n_genes
    assert all(a.stop == b.start for a, b in itertools.pairwise(chunks))
    starts = {b.start for b in blocks}
    assert all(c.start in starts and c.stop > c.start for c in chunks)


# ------------------------------------------------------------------ identical results
def _assert_identical(a: tuple[DESeqFit, DEResult], b: tuple[DESeqFit, DEResult]) -> None:
    (fa, ra), (fb, rb) = a, b
    pd.testing.assert_frame_equal(ra.table, rb.table, check_exact=True)
    pd.testing.assert_frame_equal(fa.dispersion_table(), fb.dispersion_table(), check_exact=True)
    pd.testing.assert_series_equal(fa.size_factors, fb.size_factors, check_exact=True)
    for name in ("beta", "beta_se", "mu", "hat_diagonals", "log_likelihood"):
        np.testing.assert_array_equal(getattr(fa.glm, name), getattr(fb.glm, name), err_msg=name)
    np.testing.assert_array_equal(fa.cooks, fb.cooks)
    np.testing.assert_array_equal(fa.max_cooks, fb.max_cooks)
    assert fa.dispersions.disp_prior_var == fb.dispersions.disp_prior_var


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SPEC))
@pytest.mark.parametrize("mode", ["chunks3", "dask"])
def test_chunked_and_dask_runs_equal_the_local_run(runs, name, mode):
    _assert_identical(runs[name]["local"], runs[name][mode])


@pytest.mark.parametrize("name", list(SPEC))
def test_dask_run_used_both_workers(runs, client, name):
    fit, _ = runs[name]["dask"]
    assert fit.params["n_chunks"] >= 2
    tasks = runs[name]["dask_tasks"]
    assert tasks, "no task ran on the cluster"
    assert {t["worker"] for t in tasks} == set(client.nthreads())
    assert all(t["key"].startswith("_run_blocks") for t in tasks)
    assert not runs[name]["local_tasks"] and not runs[name]["chunks3_tasks"]


def test_dask_run_still_matches_r(runs):
    """Guard against two equally wrong paths: bottomly on Dask against R DESeq2 1.38.3
    with the reference suite's tolerances (LFC Pearson >= 0.9999, padj<0.05 Jaccard >= 0.99)."""
    from test_de_reference import assert_matches_reference, read_ref

    _, res = runs["bottomly"]["dask"]
    ref = read_ref(DATA / "bottomly" / "deseq2_R.tsv.gz", res.table.index)
    figures = assert_matches_reference(res.table, ref)
    assert figures["lfc_pearson"] >= 0.9999


# -------------------------------------------------------------------------- the CLI
def _cli(args: list[str]):
    from heatseq import _commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def airway_subset(tmp_path_factory) -> list[str]:
    """``heatseq de`` arguments for the first 12,000 airway genes (written as counts.tsv.gz)."""
    folder = tmp_path_factory.mktemp("airway12k")
    counts = pd.read_csv(DATA / "airway" / "counts.tsv.gz", sep="\t", index_col=0)
    counts.iloc[:12_000].to_csv(folder / "counts.tsv.gz", sep="\t")
    return [str(folder / "counts.tsv.gz"), "--samples", str(DATA / "airway" / "samples.csv"),
            "--design", "~ cell + dex", "--contrast", "dex,trt,untrt"]


@pytest.mark.slow
def test_cli_scheduler_writes_identical_tables(tmp_path, cluster, client, airway_subset):
    here = _cli(["de", *airway_subset, "-o", str(tmp_path / "here")])
    assert here.exit_code == 0, here.output
    with get_task_stream(client) as stream:
        there = _cli(["de", *airway_subset, "--scheduler", cluster.scheduler_address,
                      "-o", str(tmp_path / "there")])
    assert there.exit_code == 0, there.output
    assert stream.data, "heatseq de --scheduler ran no task on the cluster"
    for f in ("de_results.tsv", "dispersions.tsv", "size_factors.tsv", "vst.tsv"):
        assert (tmp_path / "here" / f).read_bytes() == (tmp_path / "there" / f).read_bytes(), f


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("address", "reason"), [
    (None, r"\[Errno 111\] Connection refused"),
    ("no-port-here", r"missing port number in address 'no-port-here'"),
    ("tcp://no-such-host.invalid:8786", r"\[Errno -?\d+\] "),
])
def test_cli_unreachable_scheduler_is_a_user_error(tmp_path, address, reason):
    address = address or f"tcp://127.0.0.1:{_closed_port()}"
    folder = DATA / "marioni_kidney_liver"
    t0 = time.perf_counter()
    r = _cli(["de", str(folder / "counts.tsv.gz"), "--samples", str(folder / "samples.csv"),
              "--design", "~ condition", "--scheduler", address, "-o", str(tmp_path / "out")])
    elapsed = time.perf_counter() - t0
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1
    pattern = (rf"Error: Cannot reach the Dask scheduler at {re.escape(address)}: {reason}.*\. "
               r"Check the address \(e\.g\. tcp://host:8786\) and that the scheduler is running\.$")
    assert re.match(pattern, lines[0]), lines[0]
    assert elapsed < 8.0, f"took {elapsed:.1f} s: the client's 10 s retry loop was not avoided"
