"""What heatseq detected in a project's uploads: :func:`heatseq.io.inspect.inspect_dataset`
on the counts (and sample sheet), and the design :func:`heatseq.workflow.plan_run` proposes,
shaped for the page.

Every failure becomes a message that names the user's file (never the store's internal
path) and says how to fix it; a reader's bug is reported as such instead of a 500.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

from heatseq.web.store import Store, Upload
from heatseq.web.uploads import input_path, user_message

__all__ = ["check_plan", "inspect_uploads"]

_cache: OrderedDict[tuple[str | None, str | None], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 32


def _upload_info(u: Upload | None) -> dict[str, Any] | None:
    if u is None:
        return None
    return {"id": u.id, "kind": u.kind, "name": u.name, "sha256": u.sha256, "size": u.size,
            "created": u.created}


def _message(exc: Exception, paths: dict[str, tuple[Path, str]]) -> str:
    from heatseq.errors import HeatseqError

    text = str(exc)
    for path, name in paths.values():
        text = user_message(text, path, name)
    if isinstance(exc, HeatseqError):
        return text
    return (f"heatseq could not read the file ({type(exc).__name__}: {text}). Check that it is "
            "a count table (genes in rows, samples in columns) saved as text (TSV/CSV, "
            "optionally gzipped), XLSX or h5ad.")


def _which(text: str, counts: Upload | None, samples: Upload | None) -> str:
    """Which upload a reader's message is about: the sample sheet when the message names it
    (or speaks of the sheet) and not the count file."""
    if samples is None:
        return "counts"
    names_counts = counts is not None and counts.name in text and counts.name != samples.name
    if not names_counts and (samples.name in text or "sheet" in text.lower()):
        return "samples"
    return "counts"


def _proposal(samples: Any, columns: list[dict[str, Any]]) -> dict[str, Any]:
    from heatseq.de.design import confounded_columns
    from heatseq.workflow.plan import plan_run

    factors = [c["name"] for c in columns if c["kind"] == "categorical" and len(c["levels"]) >= 2
               and len(c["levels"]) < len(samples)]
    levels = {c["name"]: [lv["level"] for lv in c["levels"]] for c in columns
              if c["name"] in factors}
    confounded = [f"{a} and {b}" for a, b in confounded_columns(samples)]
    out: dict[str, Any] = {"factors": factors, "levels": levels, "confounded": confounded}
    try:
        plan = plan_run(samples, design=None)
    except Exception as exc:  # a sheet heatseq cannot propose for: the form stays open
        out["error"] = _message(exc, {})
        return out
    out.update(design=plan.design,
               contrasts=[list(c) if isinstance(c, tuple) else c for c in plan.contrasts],
               condition=plan.condition, batch=list(plan.batch), notes=list(plan.notes))
    return out


def inspect_uploads(store: Store, counts: Upload | None, samples: Upload | None) -> dict[str, Any]:
    """The :class:`heatseq.web.models.Inspection` of a project's current uploads (cached by
    upload: uploads never change)."""
    key = (counts.id if counts else None, samples.id if samples else None)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    result = _inspect(store, counts, samples)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _inspect(store: Store, counts: Upload | None, samples: Upload | None) -> dict[str, Any]:
    from heatseq.errors import HeatseqWarning
    from heatseq.io.detect import read_counts
    from heatseq.io.inspect import inspect_dataset
    from heatseq.io.samples import read_samples

    out: dict[str, Any] = {"ready": False, "counts": _upload_info(counts),
                           "samples": _upload_info(samples)}
    paths: dict[str, tuple[Path, str]] = {}
    if counts is not None:
        paths["counts"] = (input_path(store, counts), counts.name)
    if samples is not None:
        paths["samples"] = (input_path(store, samples), samples.name)
    if counts is None:
        if samples is not None:
            try:
                read_samples(paths["samples"][0])
            except Exception as exc:
                out.update(error=_message(exc, paths), error_file="samples")
                return out
        out["notes"] = ["Upload a count table (genes in rows, one column per sample) to "
                        "continue."]
        return out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HeatseqWarning)
        try:
            ds = read_counts(paths["counts"][0],
                             samples=paths["samples"][0] if samples is not None else None)
        except Exception as exc:
            text = _message(exc, paths)
            out.update(error=text, error_file=_which(text, counts, samples))
            return out
    notes = tuple(user_message(user_message(str(w.message), *paths["counts"]),
                               *paths.get("samples", paths["counts"]))
                  for w in caught if issubclass(w.category, HeatseqWarning))
    rep = inspect_dataset(ds, notes=notes)
    columns = [{"name": c.name, "kind": c.kind,
                "levels": [{"level": lv, "n": n} for lv, n in c.levels],
                "minimum": c.minimum, "maximum": c.maximum, "n_missing": c.n_missing,
                "text": c.describe()} for c in rep.sheet_columns]
    text = rep.to_text()
    for path, name in paths.values():
        text = user_message(text, path, name)
    out.update(format=rep.format, n_genes=rep.n_genes, n_samples=rep.n_samples,
               n_zero_genes=rep.n_zero_genes,
               library_sizes=[{"sample": s, "total": n} for s, n in rep.library_sizes],
               id_type=rep.id_type, organism=rep.organism, n_symbols=rep.n_symbols,
               sheet_columns=columns,
               notes=[_clean(n, paths) for n in rep.notes],
               problems=[_clean(p, paths).replace("Give --samples sheet.csv",
                                                  "Upload a sample sheet")
                         for p in rep.problems],
               text=text)
    if samples is None:
        return out
    out["proposal"] = _proposal(ds.samples, columns)
    out["ready"] = True
    return out


def _clean(text: str, paths: dict[str, tuple[Path, str]]) -> str:
    for path, name in paths.values():
        text = user_message(text, path, name)
    return text


def check_plan(store: Store, counts: Upload, samples: Upload, *, design: str | None,
               contrast: list[str] | None) -> dict[str, Any]:
    """The :class:`heatseq.web.models.PlanResult` of a design and contrast."""
    from heatseq.io.samples import read_samples
    from heatseq.workflow.plan import plan_run

    sheet_path = input_path(store, samples)
    paths = {"samples": (sheet_path, samples.name)}
    try:
        sheet = read_samples(sheet_path)
        info = inspect_uploads(store, counts, samples)
        if info.get("error"):
            return {"ok": False, "error": info["error"]}
        names = [s["sample"] for s in info.get("library_sizes", [])]
        sheet.index = sheet.index.astype(str)
        sheet = sheet.reindex([n for n in names if n in sheet.index])
        plan = plan_run(sheet, design=design or None,
                        contrasts=[tuple(contrast)] if contrast else (),
                        where=f" {samples.name}")
    except Exception as exc:
        return {"ok": False, "error": _message(exc, paths)}
    return {"ok": True, "design": plan.design,
            "contrasts": [list(c) if isinstance(c, tuple) else c for c in plan.contrasts],
            "condition": plan.condition, "batch": list(plan.batch),
            "confounded": list(plan.confounded), "notes": list(plan.notes)}
