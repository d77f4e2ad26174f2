"""Steps shared by every count reader: rounding estimated counts, duplicated IDs."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from heatseq.errors import InputError, InputWarning

__all__ = ["DuplicatePolicy", "handle_duplicate_genes", "round_counts"]

DuplicatePolicy = Literal["error", "sum", "first"]
DUPLICATE_POLICIES: tuple[str, ...] = ("error", "sum", "first")


def round_counts(counts: pd.DataFrame, *, where: str) -> tuple[pd.DataFrame, str | None]:
    """Round non-integer counts (e.g. salmon's estimated NumReads) to integers.

    Returns the rounded table and a note (None when nothing changed); the note is also
    issued as an :class:`InputWarning` saying how many values changed and by how much at
    most. Rounding is half-to-even, as R's ``round()`` (used by DESeq2's
    ``DESeqDataSetFromTximport``).
    """
    values = counts.to_numpy(dtype=float)
    rounded = np.round(values)
    diff = np.abs(values - rounded)
    changed = int(np.count_nonzero(diff > 0))
    if changed == 0:
        return counts.astype(np.int64), None
    note = (f"{where}: {changed:,} of {values.size:,} count values were not whole numbers and were "
            f"rounded (largest change {diff.max():.3g}).")
    warnings.warn(note, InputWarning, stacklevel=3)
    return pd.DataFrame(rounded.astype(np.int64), index=counts.index, columns=counts.columns), note


def handle_duplicate_genes(table: pd.DataFrame, *, policy: str, where: str,
                           gene_axis: Literal["index", "columns"] = "index") -> tuple[pd.DataFrame, str | None]:
    """Apply ``--duplicates`` to a numeric table whose gene IDs are on ``gene_axis``.

    ``error`` (default) raises an InputError naming the first few duplicated IDs; ``sum``
    adds their rows; ``first`` keeps the first occurrence. Returns the table and a note.
    """
    if policy not in DUPLICATE_POLICIES:
        raise InputError(f"duplicates={policy!r} is not valid; choose one of "
                         f"{', '.join(DUPLICATE_POLICIES)}.")
    t = table if gene_axis == "index" else table.T
    dup_mask = t.index.duplicated(keep=False)
    if not dup_mask.any():
        return table, None
    dups = pd.unique(t.index[dup_mask])
    shown = ", ".join(map(str, dups[:5])) + (f" and {len(dups) - 5} more" if len(dups) > 5 else "")
    if policy == "error":
        raise InputError(
            f"{where}: {len(dups)} gene ID(s) occur more than once: {shown}. "
            "Use --duplicates sum to add their counts or --duplicates first to keep the first row."
        )
    if policy == "sum":
        t = t.groupby(level=0, sort=False).sum()
        note = f"{where}: {len(dups)} duplicated gene ID(s) summed ({shown})."
    else:
        t = t[~t.index.duplicated(keep="first")]
        note = f"{where}: {len(dups)} duplicated gene ID(s); the first row of each kept ({shown})."
    warnings.warn(note, InputWarning, stacklevel=3)
    return (t if gene_axis == "index" else t.T), note
