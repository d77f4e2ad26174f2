"""Removing known batch effects from transformed values before samples are compared.

This module owns :func:`remove_batch_effect`, which does what limma's ``removeBatchEffect``
does (Ritchie et al. 2015, Nucleic Acids Research 43:e47): for every gene, fit the linear
model

.. math:: y = X_{\\mathrm{cond}}\\,\\beta + X_{\\mathrm{batch}}\\,\\gamma + \\varepsilon

by least squares, where :math:`X_{\\mathrm{cond}}` is the treatment-coded design of the
condition (intercept + one column per non-reference level) that is kept, and
:math:`X_{\\mathrm{batch}}` codes each batch column with sum-to-zero contrasts (R's
``contr.sum``), and return :math:`y - X_{\\mathrm{batch}}\\hat\\gamma`. With sum-to-zero
coding the values are moved to the average batch rather than to one reference batch, so
the result does not depend on the order of the batch levels. As in limma, this is for
looking at data (QC, PCA, heatmaps), never for differential testing, where the batch
belongs in the design. A batch that is confounded with the condition (its effect cannot be
told apart from the condition's) is refused rather than silently removing the condition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from heatseq.errors import DesignError, InputError

__all__ = ["remove_batch_effect"]


def factor_column(samples: pd.DataFrame, column: str, *, role: str) -> pd.Series:
    """A sample-table column as text levels; an InputError names a missing column or value."""
    if column not in samples.columns:
        cols = ", ".join(map(str, samples.columns)) or "(none)"
        raise InputError(f"{role.capitalize()} column {column!r} is not in the sample table; "
                         f"columns are: {cols}. Check the {role} name.")
    values = samples[column]
    missing = values.isna()
    if missing.any():
        shown = ", ".join(map(str, values.index[missing][:5]))
        raise InputError(f"{role.capitalize()} column {column!r} has no value for sample(s) "
                         f"{shown}; fill them in the sample sheet or leave those samples out.")
    return values.astype(str)


def _treatment(levels: pd.Series) -> np.ndarray:
    names = sorted(levels.unique())
    cols = [np.ones(len(levels))] + [(levels == lv).to_numpy(float) for lv in names[1:]]
    return np.column_stack(cols)


def _sum_to_zero(levels: pd.Series) -> np.ndarray:
    names = sorted(levels.unique())
    if len(names) < 2:
        return np.zeros((len(levels), 0))
    last = (levels == names[-1]).to_numpy(float)
    return np.column_stack([(levels == lv).to_numpy(float) - last for lv in names[:-1]])


def remove_batch_effect(values: pd.DataFrame, samples: pd.DataFrame, *,
                        batch: str | Sequence[str], condition: str | None = None) -> pd.DataFrame:
    """Values with the effect of one or more batch columns removed, keeping the condition's.

    Parameters
    ----------
    values
        Genes x samples on a log-like scale (e.g. VST values); finite.
    samples
        The sample table, indexed by sample name (it must cover the columns of ``values``).
    batch
        One column name or several: their effects are removed together.
    condition
        The column whose effect is kept (the model includes it); None keeps only the mean.

    Returns
    -------
    pandas.DataFrame
        Same shape and labels as ``values``.

    Raises
    ------
    InputError
        If a column is missing or has empty values, a batch column is the condition, or
        ``values`` has samples the table lacks.
    DesignError
        If a batch column is confounded with the condition (or with another batch column),
        so its effect cannot be separated.

    Examples
    --------
    >>> v = pd.DataFrame({"a": [1.0], "b": [3.0], "c": [2.0], "d": [4.0]}, index=["g"])
    >>> s = pd.DataFrame({"cond": ["x", "x", "y", "y"], "run": ["1", "2", "1", "2"]},
    ...                  index=list("abcd"))
    >>> remove_batch_effect(v, s, batch="run", condition="cond").round(6).to_numpy().tolist()
    [[2.0, 2.0, 3.0, 3.0]]
    """
    batches = [batch] if isinstance(batch, str) else list(batch)
    if not batches:
        raise InputError("batch= names no column; give at least one batch column.")
    if condition is not None and condition in batches:
        raise InputError(f"Column {condition!r} is both the condition and a batch; a batch "
                         "column must be another column of the sample table.")
    names = pd.Index(values.columns.astype(str))
    x_keep, x_batch = batch_design(samples, names, batch=batches, condition=condition)
    if x_batch.shape[1] == 0:
        return values.copy()
    full = np.hstack([x_keep, x_batch])
    if np.linalg.matrix_rank(full) < full.shape[1]:
        kept = f"the condition {condition!r}" if condition else "the intercept"
        raise DesignError(f"The batch column(s) {', '.join(map(repr, batches))} are confounded "
                          f"with {kept} (or with each other): their effect cannot be told apart "
                          "and removing it would remove the condition too. Leave the batch out "
                          "or check the sample sheet.")
    y = values.to_numpy(dtype=float).T  # samples x genes
    if not np.isfinite(y).all():
        raise InputError("Batch correction needs finite values; drop genes with NaN/inf first.")
    out = corrected(y, x_keep, x_batch)
    assert out is not None  # full rank was checked above
    return pd.DataFrame(out.T, index=values.index, columns=values.columns)


def batch_design(samples: pd.DataFrame, names: pd.Index, *, batch: Sequence[str],
                 condition: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The kept design (intercept + condition, treatment coding) and the batch design
    (sum-to-zero coding) of the samples ``names``, in that order."""
    table = samples.copy()
    table.index = table.index.astype(str)
    missing = names.difference(table.index, sort=False)
    if len(missing):
        raise InputError(f"The sample table lacks {len(missing)} sample(s) of the values: "
                         f"{', '.join(map(str, missing[:5]))}.")
    table = table.loc[names]
    if condition is None:
        x_keep = np.ones((len(names), 1))
    else:
        x_keep = _treatment(factor_column(table, condition, role="condition"))
    x_batch = np.column_stack([np.zeros((len(names), 0))] + [
        _sum_to_zero(factor_column(table, b, role="batch")) for b in batch])
    return x_keep, x_batch


def corrected(y: np.ndarray, x_keep: np.ndarray, x_batch: np.ndarray, *,
              fit: np.ndarray | None = None) -> np.ndarray | None:
    """``y`` (samples x genes) minus the batch effects fitted on the samples ``fit`` (a
    boolean mask; all by default); None when the batch effects are not estimable from
    those samples."""
    full = np.hstack([x_keep, x_batch])
    rows = np.ones(len(y), dtype=bool) if fit is None else fit
    sub = full[rows]
    # drop design columns that are empty in the subset (a condition level left out)
    used = np.abs(sub).sum(axis=0) > 0
    used[x_keep.shape[1]:] = True  # every batch effect must be estimable
    if np.linalg.matrix_rank(sub[:, used]) < int(used.sum()):
        return None
    coef, *_ = np.linalg.lstsq(sub[:, used], y[rows], rcond=None)
    gamma = coef[int(used[:x_keep.shape[1]].sum()):]
    return y - x_batch @ gamma
