"""The DE engine on several local processes (``deseq(n_jobs=...)``): the same numbers, bit
for bit, on 1, 2 or 3 forked worker processes, because every step runs either on the fixed
gene blocks of :mod:`heatseq.de._parallel` or on per-gene arithmetic that does not depend
on how genes are grouped. apeglm's two L-BFGS starts on two processes give the same shrunk
LFCs as one after the other; the tables written on several processes are the same bytes.

Tolerance: none (``check_exact=True``). Data: the first 9,000 genes of airway
(``~ cell + dex``, 3 gene blocks) and bottomly (``~ batch + strain``); tests/data/*/SOURCE.md.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heatseq import Dataset
from heatseq._fork import Background, available_cores, resolve_jobs, run_forked, worker_pool
from heatseq.de.deseq import deseq
from heatseq.de.results import results
from heatseq.errors import InputError
from heatseq.io.write import write_table, write_tables

DATA = Path(__file__).parent / "data"


def _load(name: str, n_genes: int | None) -> Dataset:
    folder = DATA / name
    samples = pd.read_csv(folder / "samples.csv", dtype=str).set_index("sample")
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)[samples.index]
    return Dataset(counts.iloc[:n_genes].T, samples=samples)


CASES = {
    "airway": ("~ cell + dex", ("dex", "trt", "untrt"), 9_000),
    "bottomly": ("~ batch + strain", ("strain", "DBA/2J", "C57BL/6J"), None),
}


@pytest.fixture(scope="module", params=list(CASES))
def runs(request):
    design, contrast, n_genes = CASES[request.param]
    ds = _load(request.param, n_genes)
    out = {}
    for n_jobs in (1, 2, 3):
        fit = deseq(ds, design=design, reference={contrast[0]: contrast[2]}, n_jobs=n_jobs)
        out[n_jobs] = (fit, results(fit, contrast=contrast))  # apeglm on fit.n_jobs
    with worker_pool(2):  # as `heatseq de` runs: one pool of workers for every step
        fit = deseq(ds, design=design, reference={contrast[0]: contrast[2]}, n_jobs=2)
        out["pool"] = (fit, results(fit, contrast=contrast))
    return out


@pytest.mark.parametrize("n_jobs", [2, 3, "pool"])
def test_processes_give_the_one_process_numbers(runs, n_jobs):
    (fa, ra), (fb, rb) = runs[1], runs[n_jobs]
    assert fa.n_jobs == 1 and fb.n_jobs == (2 if n_jobs == "pool" else n_jobs)
    pd.testing.assert_frame_equal(ra.table, rb.table, check_exact=True)
    pd.testing.assert_frame_equal(fa.dispersion_table(), fb.dispersion_table(), check_exact=True)
    for name in ("beta", "beta_se", "mu", "hat_diagonals", "log_likelihood"):
        np.testing.assert_array_equal(getattr(fa.glm, name), getattr(fb.glm, name), err_msg=name)
    np.testing.assert_array_equal(fa.cooks, fb.cooks)
    assert fa.dispersions.disp_prior_var == fb.dispersions.disp_prior_var
    assert ra.table["log2FoldChange_shrunk"].notna().any()


def test_default_uses_the_available_cores():
    ds = _load("airway", 300)
    fit = deseq(ds, design="~ cell + dex")
    assert fit.n_jobs == available_cores()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_n_jobs_is_a_clear_error(bad):
    with pytest.raises(InputError, match=r"n_jobs must be a whole number >= 1"):
        resolve_jobs(bad)


def test_run_forked_keeps_order_and_raises_task_errors():
    assert run_forked([lambda i=i: i * i for i in range(7)], n_jobs=2) == [i * i for i in
                                                                            range(7)]

    def boom():
        raise ValueError("task failed")

    with pytest.raises(ValueError, match="task failed"):
        run_forked([lambda: 1, boom], n_jobs=2)


def _worker_pid() -> int:
    return os.getpid()


def test_worker_pool_runs_every_call_on_the_same_workers():
    with worker_pool(2):
        first = set(run_forked([_worker_pid] * 6, n_jobs=2))
        second = set(run_forked([_worker_pid] * 6, n_jobs=2))
        # a task that cannot be pickled (a lambda) runs on freshly forked processes instead
        assert run_forked([lambda i=i: i + 1 for i in range(4)], n_jobs=2) == [1, 2, 3, 4]
        with worker_pool(2):  # a nested block keeps the open pool
            third = set(run_forked([_worker_pid] * 6, n_jobs=2))
    workers = first | second | third
    assert os.getpid() not in workers and len(workers) <= 2  # never more than the two workers
    assert os.getpid() not in set(run_forked([_worker_pid] * 4, n_jobs=2))  # after: forks again


def _warn_and_return(value):
    warnings.warn(f"about {value}", UserWarning, stacklevel=1)
    return (os.getpid(), value)


def _fail():
    raise InputError("bad thing in the child")


@pytest.mark.parametrize("fork", [True, False])
def test_background_returns_the_value_its_warnings_and_its_errors(fork):
    job = Background(lambda: _warn_and_return(41), fork=fork)
    with pytest.warns(UserWarning, match="about 41"):
        pid, value = job.result()
    assert value == 41 and (pid != os.getpid()) == fork
    assert job.result() == (pid, 41)  # collected once
    with pytest.raises(InputError, match="bad thing in the child"):
        Background(_fail, fork=fork).result()
    Background(lambda: 1, fork=fork)  # never collected: reaped when dropped, no zombie


def test_write_tables_writes_the_bytes_of_write_table(tmp_path, runs):
    fit, res = runs[1]
    tables = [res.table, fit.dispersion_table(), fit.normalized_counts().T]
    for i, t in enumerate(tables):
        write_table(t, tmp_path / f"one_{i}.tsv")
    write_tables([(t, tmp_path / f"many_{i}.tsv.gz") for i, t in enumerate(tables)], n_jobs=2)
    import gzip

    for i in range(len(tables)):
        assert (gzip.decompress((tmp_path / f"many_{i}.tsv.gz").read_bytes())
                == (tmp_path / f"one_{i}.tsv").read_bytes())
