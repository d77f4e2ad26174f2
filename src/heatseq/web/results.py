"""A finished run's outputs as the web pages read them: ``run.json``'s file list, the DE
tables, the VST, the QC tables and the sample sheet, each read once and kept for the next
request (a few runs at a time).

Nothing is computed here beyond sorting and filtering tables: the numbers are the files
``heatseq run`` wrote.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DE_COLUMNS", "RunData", "RunDataCache", "file_kind"]

#: The DE table's columns, in file order.
DE_COLUMNS = ("gene_id", "symbol", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue",
              "padj", "log2FoldChange_shrunk", "lfcSE_shrunk")
_FIGURES = (".png", ".svg", ".pdf")


def file_kind(path: str) -> str:
    """``report``, ``figure``, ``table``, ``text`` or ``other``, from a file's name."""
    low = path.lower()
    if low == "report.html":
        return "report"
    if low.endswith(_FIGURES):
        return "figure"
    if low.endswith((".tsv", ".tsv.gz", ".csv")):
        return "table"
    if low.endswith((".txt", ".log", ".json")):
        return "text"
    return "other"


def _read_tsv(path: Path, **kw: Any) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=True, na_values=["NA"], **kw)


class RunData:
    """The outputs of one finished run.

    Parameters
    ----------
    out
        The run's output folder.
    summary
        The summary the worker recorded.
    samples_path
        The run's sample-sheet input.
    """

    def __init__(self, out: Path, summary: Mapping[str, Any], samples_path: Path) -> None:
        self.out = out
        self.summary = dict(summary)
        self.samples_path = samples_path
        self._lock = threading.RLock()

    def _once(self, name: str, make: Any) -> Any:
        """``make()`` computed once per run, whichever thread asks first."""
        with self._lock:
            if name not in self.__dict__:
                self.__dict__[name] = make()
            return self.__dict__[name]

    @property
    def run_json(self) -> dict[str, Any]:
        return self._once("_run_json", lambda: json.loads(
            (self.out / "run.json").read_text(encoding="utf-8")))

    @cached_property
    def files(self) -> tuple[str, ...]:
        """Every output, relative to the run folder, as ``run.json`` lists them."""
        listed = self.run_json.get("outputs") or self.summary.get("files") or []
        return tuple(sorted(str(f) for f in listed if (self.out / str(f)).is_file()))

    def path(self, rel: str) -> Path | None:
        """The file of an output listed in ``run.json``; None for anything else (the
        request's text is compared with the list, never joined into a path unchecked)."""
        if rel not in self.files:
            return None
        return self.out / rel

    @property
    def contrasts(self) -> list[dict[str, Any]]:
        return list(self.summary.get("contrasts", []))

    def stems(self) -> list[str]:
        return [c["stem"] for c in self.contrasts]

    def de(self, stem: str) -> pd.DataFrame | None:
        """A contrast's DE table, indexed by gene ID (None for an unknown stem)."""
        if stem not in self.stems():
            return None
        with self._lock:
            cache = self.__dict__.setdefault("_de", {})
            if stem not in cache:
                t = _read_tsv(self.out / "de" / f"{stem}.tsv", dtype={"gene_id": str,
                                                                      "symbol": str})
                cache[stem] = t.set_index("gene_id")
            return cache[stem]

    def de_tables(self) -> dict[str, pd.DataFrame]:
        return {s: t for s in self.stems() if (t := self.de(s)) is not None}

    @property
    def vst(self) -> pd.DataFrame:
        return self._once("_vst", self._read_vst)

    def _read_vst(self) -> pd.DataFrame:
        """The VST (genes x samples) of the genes with a nonzero count (as the run's
        heatmaps use it)."""
        v = _read_tsv(self.out / "de" / "vst.tsv", index_col=0, dtype={0: str})
        v.index = v.index.astype(str)
        stems = self.stems()
        if stems:
            base = self.de(stems[0])
            if base is not None:
                v = v[base["baseMean"].reindex(v.index).fillna(0).to_numpy() > 0]
        v.attrs["transform"] = "vst"
        return v

    @cached_property
    def symbols(self) -> pd.Series | None:
        stems = self.stems()
        if not stems:
            return None
        t = self.de(stems[0])
        if t is None or "symbol" not in t.columns:
            return None
        s = t["symbol"]
        return s[s.notna() & (s.astype(str) != "")].astype(str)

    @property
    def samples(self) -> pd.DataFrame:
        return self._once("_samples", self._read_samples)

    def _read_samples(self) -> pd.DataFrame:
        """The sample sheet, in the order of the VST's samples."""
        from heatseq.io.samples import read_samples

        s = read_samples(self.samples_path)
        s.index = s.index.astype(str)
        cols = list(self.vst.columns) if (self.out / "de" / "vst.tsv").exists() else list(s.index)
        return s.reindex([c for c in cols if c in s.index])

    def table(self, rel: str) -> pd.DataFrame | None:
        p = self.path(rel)
        if p is None:
            return None
        return _read_tsv(p)

    @property
    def plan(self) -> dict[str, Any]:
        return dict(self.summary.get("plan", {}))

    def de_page(self, stem: str, *, sort: str, descending: bool, query: str,
                padj_below: float | None, min_abs_lfc: float | None, direction: str,
                offset: int, limit: int) -> tuple[list[str], list[list[Any]], int, int] | None:
        """Rows of a DE table after search, filters and sort; None for an unknown stem."""
        t = self.de(stem)
        if t is None:
            return None
        frame = t.reset_index()
        n_all = len(frame)
        if query.strip():
            q = query.strip().lower()
            hit = (frame["gene_id"].str.lower().str.contains(q, regex=False)
                   | frame["symbol"].fillna("").str.lower().str.contains(q, regex=False))
            frame = frame[hit.to_numpy()]
        if padj_below is not None:
            frame = frame[(frame["padj"] < padj_below).to_numpy()]
        if min_abs_lfc is not None:
            frame = frame[(frame["log2FoldChange"].abs() >= min_abs_lfc).to_numpy()]
        if direction == "up":
            frame = frame[(frame["log2FoldChange"] > 0).to_numpy()]
        elif direction == "down":
            frame = frame[(frame["log2FoldChange"] < 0).to_numpy()]
        key = sort if sort in frame.columns else "padj"
        col = frame[key]
        if key in ("gene_id", "symbol"):
            col = col.fillna("").str.lower()
        frame = frame.assign(_key=col.to_numpy()).sort_values(
            ["_key", "gene_id"], ascending=[not descending, True], na_position="last",
            kind="mergesort")
        total = len(frame)
        page = frame.iloc[offset:offset + limit].drop(columns="_key")
        rows = [[_cell(v) for v in r] for r in page.itertuples(index=False, name=None)]
        return list(page.columns), rows, total, n_all


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, int | np.integer):
        return float(v)
    if pd.isna(v):
        return None
    return str(v)


class RunDataCache:
    """The last few runs' :class:`RunData`, least recently used dropped first."""

    def __init__(self, size: int = 6) -> None:
        self._items: OrderedDict[str, RunData] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, run_id: str, make: Any) -> RunData:
        with self._lock:
            item = self._items.get(run_id)
            if item is None:
                item = make()
                self._items[run_id] = item
            self._items.move_to_end(run_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return item
