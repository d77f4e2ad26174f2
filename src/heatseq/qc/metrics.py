"""Per-sample QC numbers: library sizes, detected genes, top-gene share, size factors and the
distribution of log counts.

This module owns :func:`qc_metrics` (one row per sample, the table behind the QC bar charts
and ``qc_metrics.tsv``) and :func:`log_counts` (the values behind the log-count distribution
figure). Definitions:

* ``library_size``: the sum of a sample's counts.
* ``detected``: genes with a count > 0; ``detected_10``: genes with a count >= 10.
* ``top100_percent``: the percentage of a sample's counts that falls on its own 100 most
  highly counted genes (as scater's ``percent.top_100``); high values mean a library
  dominated by a few genes.
* ``size_factor``: DESeq2's median-of-ratios size factor; when every gene has a zero in some
  sample, the ``poscounts`` variant (as DESeq2's ``type = "poscounts"``) and a note in
  ``attrs["notes"]``. A sample with no counts at all gets NaN (and a note).
* ``log2_q25``, ``log2_median``, ``log2_q75``, ``log2_mean``: quartiles and mean of
  log2(normalised count + 1) over the genes counted in at least one sample (genes with no
  count anywhere say nothing about a sample and would fill the lower quantiles with zeros).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError

__all__ = ["log_counts", "qc_metrics"]

log = logging.getLogger(__name__)

#: Number of most highly counted genes whose share of a library ``top100_percent`` reports.
TOP_GENES = 100
#: Count from which a gene counts as well detected (``detected_10``).
WELL_DETECTED = 10


def _check_dataset(dataset: object) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise InputError(f"Expected a heatseq Dataset, got {type(dataset).__name__}; read counts "
                         "with heatseq.io.read_counts first.")
    return dataset


def _size_factors(counts: np.ndarray, names: pd.Index) -> tuple[np.ndarray, str | None]:
    """Size factors of the samples that have counts (NaN for empty samples) and a note."""
    from heatseq.de.sizefactors import size_factors

    out = np.full(counts.shape[0], np.nan)
    nonempty = counts.sum(axis=1) > 0
    note = None
    if nonempty.sum() == 0:
        return out, "No sample has any count; size factors are undefined."
    k = counts[nonempty]
    try:
        out[nonempty] = size_factors(k, method="ratio")
    except InputError:
        out[nonempty] = size_factors(k, method="poscounts")
        note = ("Every gene has a zero in some sample, so size factors are DESeq2's "
                "'poscounts' variant.")
    if not nonempty.all():
        empty = ", ".join(map(str, names[~nonempty]))
        extra = f"Sample(s) {empty} have no counts; their size factor is NaN."
        note = extra if note is None else f"{note} {extra}"
    return out, note


def log_counts(dataset: Dataset, *, normalized: bool = True) -> pd.DataFrame:
    """log2(count + 1) per gene and sample, for the log-count distribution figure.

    Parameters
    ----------
    dataset
        Raw counts.
    normalized
        Divide counts by their size factors first (median of ratios; see
        :func:`qc_metrics`), so that distributions are comparable between samples.

    Returns
    -------
    pandas.DataFrame
        Genes x samples, restricted to genes with a count in at least one sample.
        ``attrs["what"]`` names the values in words (an axis label). A sample without
        counts keeps its zeros.

    Raises
    ------
    InputError
        If ``dataset`` is not a Dataset.

    Examples
    --------
    >>> import pandas as pd
    >>> from heatseq.dataset import Dataset
    >>> ds = Dataset(pd.DataFrame({"g1": [1, 3], "g2": [0, 0], "g3": [7, 15]}, index=["a", "b"]))
    >>> log_counts(ds, normalized=False)["b"].tolist()
    [2.0, 4.0]
    """
    ds = _check_dataset(dataset)
    k = ds.counts.to_numpy(dtype=float)
    keep = k.sum(axis=0) > 0
    k = k[:, keep]
    what = "log2(count + 1)"
    if normalized and k.shape[1]:
        sf, _ = _size_factors(k, ds.sample_names)
        k = k / np.where(np.isfinite(sf), sf, 1.0)[:, None]
        what = "log2(normalised count + 1)"
    out = pd.DataFrame(np.log2(k + 1.0).T, index=ds.gene_ids[keep], columns=ds.sample_names)
    out.attrs["what"] = what
    return out


def qc_metrics(dataset: Dataset) -> pd.DataFrame:
    """Per-sample QC numbers (definitions in the module docstring).

    Parameters
    ----------
    dataset
        Raw counts.

    Returns
    -------
    pandas.DataFrame
        One row per sample (index ``sample``), columns ``library_size``, ``detected``,
        ``detected_10``, ``top100_percent``, ``size_factor``, ``log2_q25``,
        ``log2_median``, ``log2_q75``, ``log2_mean``. ``attrs["notes"]`` is a tuple of
        plain-word notes (size factor fallback, samples without counts).

    Raises
    ------
    InputError
        If ``dataset`` is not a Dataset.

    Examples
    --------
    >>> from heatseq.datasets import airway
    >>> m = qc_metrics(airway())
    >>> int(m.loc["SRR1039508", "library_size"]), int(m.loc["SRR1039508", "detected"])
    (20637971, 24633)
    """
    ds = _check_dataset(dataset)
    k = ds.counts.to_numpy(dtype=np.int64)
    lib = k.sum(axis=1)
    n_top = min(TOP_GENES, k.shape[1])
    # the n_top largest counts of each sample, without sorting whole rows
    top = np.partition(k, k.shape[1] - n_top, axis=1)[:, k.shape[1] - n_top:].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        top_pct = np.where(lib > 0, 100.0 * top / np.where(lib > 0, lib, 1), np.nan)
    sf, note = _size_factors(k.astype(float), ds.sample_names)
    notes = [] if note is None else [note]
    logs = log_counts(ds).to_numpy()
    if logs.shape[0]:
        q25, med, q75 = np.percentile(logs, [25, 50, 75], axis=0)
        mean = logs.mean(axis=0)
    else:
        q25 = med = q75 = mean = np.full(ds.n_samples, np.nan)
    out = pd.DataFrame({
        "library_size": lib,
        "detected": (k > 0).sum(axis=1),
        "detected_10": (k >= WELL_DETECTED).sum(axis=1),
        "top100_percent": top_pct,
        "size_factor": sf,
        "log2_q25": q25,
        "log2_median": med,
        "log2_q75": q75,
        "log2_mean": mean,
    }, index=ds.sample_names)
    out.index.name = "sample"
    out.attrs["notes"] = tuple(notes)
    for n in notes:
        log.info("%s", n)
    return out
