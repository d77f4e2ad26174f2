"""Provenance of a run: versions, parameters, input checksums and outputs, in ``run.json``.

Two runs with the same inputs and options write the same ``run.json`` apart from the
``timings`` and ``started``/``finished`` fields.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from heatseq._version import __version__
from heatseq.io.write import atomic_path

__all__ = ["file_sha256", "package_versions", "write_run_json"]

_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "fastcluster", "anndata", "click", "rich")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of every file below a folder (names and contents, sorted)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of heatseq, Python and the numerical packages it runs on."""
    out = {"heatseq": __version__, "python": sys.version.split()[0],
           "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_run_json(outdir: str | os.PathLike[str], *, command: str,
                   parameters: Mapping[str, Any], inputs: Sequence[str | os.PathLike[str]],
                   outputs: Sequence[str], timings: Mapping[str, float] | None = None,
                   extra: Mapping[str, Any] | None = None, started: datetime | None = None) -> Path:
    """Write ``OUTDIR/run.json`` atomically and return its path."""
    out = Path(outdir)
    doc = {
        "command": command,
        "versions": package_versions(),
        "parameters": _jsonable(parameters),
        "inputs": {str(p): {"sha256": file_sha256(p)} for p in inputs if p is not None},
        "outputs": sorted(outputs),
        **({} if extra is None else _jsonable(extra)),
        "timings": {k: round(float(v), 3) for k, v in (timings or {}).items()},
        "started": (started or datetime.now(UTC)).isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    target = out / "run.json"
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return target


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
