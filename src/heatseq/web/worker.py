"""The process that runs one analysis for the web app: ``python -m heatseq.web.worker``.

It reads a job (JSON: input paths, output folder, parameters) on stdin, calls
:func:`heatseq.workflow.run_analysis` and writes one JSON line per event on stdout::

    {"event": "stage", "stage": "qc"}
    {"event": "done", "summary": {...}}
    {"event": "error", "message": "...", "user": true}

A user's mistake (a :class:`heatseq.HeatseqError`) exits 2 with its message; anything else
exits 1 with the traceback on stderr. Running the analysis in its own process means a crash,
a memory blow-up or a hung step never takes the server down. The worker also watches its
parent: when the server dies (even by ``kill -9``) the worker exits within a second, so no
orphan writes into a run the restarted server has already marked failed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from typing import Any

__all__ = ["main", "run_job"]


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _watch_parent(parent: int) -> None:
    """Exit at once when the parent process is gone (re-parented to another process)."""
    def loop() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=loop, name="heatseq-parent-watch", daemon=True).start()


def summarise(result: Any) -> dict[str, Any]:
    """What the web app shows of a run besides its files (plain JSON)."""
    plan = result.plan
    qc = result.qc
    verdict = getattr(qc, "verdict", None) if qc is not None else None
    contrasts = []
    for res in result.results:
        t = res.table
        sig = t["padj"] < res.alpha
        contrasts.append({
            "name": res.name, "stem": res.file_stem,
            "contrast": list(res.contrast) if isinstance(res.contrast, tuple)
            else str(res.contrast),
            "summary": res.summary(), "alpha": res.alpha, "shrink": res.shrink,
            "n_up": int((sig & (t["log2FoldChange"] > 0)).sum()),
            "n_down": int((sig & (t["log2FoldChange"] < 0)).sum()),
        })
    return {
        "plan": {"design": plan.design, "proposed": plan.proposed,
                 "contrasts": [list(c) if isinstance(c, tuple) else c for c in plan.contrasts],
                 "reference": dict(plan.reference), "condition": plan.condition,
                 "batch": list(plan.batch), "annotate": list(plan.annotate),
                 "confounded": list(plan.confounded), "notes": list(plan.notes)},
        "contrasts": contrasts,
        "verdict": None if verdict is None else {
            "condition": verdict.condition, "summary": verdict.summary,
            "sentences": list(verdict.sentences), "outliers": list(verdict.outliers),
            "swaps": list(verdict.swaps), "notes": list(verdict.notes)},
        "heatmaps": [{"name": h.name, "title": h.title, "caption": h.caption,
                      "summaries": list(h.summaries), "png": h.png} for h in result.heatmaps],
        "timings": {k: round(float(v), 3) for k, v in result.timings.items()},
        "files": list(result.files),
    }


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one analysis as the job describes it; returns its summary."""
    from heatseq.workflow.run import run_analysis

    p = dict(job["params"])
    contrasts = tuple(tuple(c) if isinstance(c, list) else c for c in p.pop("contrasts", ()))
    result = run_analysis(job["counts"], samples=job["samples"], outdir=job["outdir"],
                          contrasts=contrasts, command=job.get("command", "heatseq serve"),
                          progress=lambda stage: _emit({"event": "stage", "stage": stage}),
                          **p)
    return summarise(result)


def main() -> int:
    """Read the job from stdin, run it, report on stdout; the exit code says how it went."""
    import logging
    import warnings

    from heatseq.errors import HeatseqError, HeatseqWarning

    _watch_parent(os.getppid())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    job = json.loads(sys.stdin.read())
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", HeatseqWarning)
            summary = run_job(job)
        summary["warnings"] = list(dict.fromkeys(
            str(w.message) for w in caught if issubclass(w.category, HeatseqWarning)))
    except HeatseqError as exc:
        _emit({"event": "error", "message": str(exc), "user": True})
        return 2
    except Exception as exc:  # a bug: the page says so, stderr keeps the traceback
        traceback.print_exc()
        _emit({"event": "error", "user": False,
               "message": f"heatseq failed with an internal error ({type(exc).__name__}: "
                          f"{exc}). This is a bug in heatseq; the server log has the details."})
        return 1
    _emit({"event": "done", "summary": summary})
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
