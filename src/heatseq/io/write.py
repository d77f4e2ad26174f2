"""Writing outputs atomically and reproducibly.

Every table or file heatseq writes goes to a temporary file in the target folder and is
renamed into place, so an interrupted run never leaves a partial file that looks finished.
Tables are written with a fixed float format so the same inputs give byte-identical files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from heatseq.errors import InputError

__all__ = ["atomic_path", "ensure_outdir", "write_table"]

FLOAT_FORMAT = "%.10g"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_table(table: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = True) -> Path:
    """Write a TSV (gzip when the name ends in .gz) atomically with a fixed float format."""
    target = Path(path)
    compression = "gzip" if target.suffix == ".gz" else None
    with atomic_path(target) as tmp:
        if compression:
            import gzip

            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write(table.to_csv(sep="\t", index=index, float_format=FLOAT_FORMAT,
                                      na_rep="NA", lineterminator="\n").encode())
        else:
            table.to_csv(tmp, sep="\t", index=index, float_format=FLOAT_FORMAT, na_rep="NA",
                         lineterminator="\n")
    return target


def ensure_outdir(path: str | os.PathLike[str], *, force: bool = False,
                  inputs: tuple[str | os.PathLike[str], ...] = ()) -> Path:
    """Check an output folder: create it, refuse a file, a read-only folder, a non-empty folder
    (unless ``force``), or a folder that holds one of the inputs."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"Output folder {out} is a file. Give a folder path with -o.")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise InputError(f"Output folder {out} is not empty. Choose a new folder or add --force.")
        resolved = out.resolve()
        for inp in inputs:
            p = Path(inp).resolve()
            if p == resolved or resolved in p.parents:
                raise InputError(f"Output folder {out} contains the input {inp}; inputs are never "
                                 "overwritten. Choose another output folder.")
    else:
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise InputError(f"Cannot create output folder {out}: {exc.strerror}. "
                             "Choose a writable location.") from None
    if not os.access(out, os.W_OK):
        raise InputError(f"Output folder {out} is not writable. Choose a writable location.")
    return out
