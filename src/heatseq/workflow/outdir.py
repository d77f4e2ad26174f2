"""The output folder of a whole run, filled all at once or not at all.

A run writes every file into a hidden staging folder inside OUTDIR
(``OUTDIR/.heatseq-staging-XXXX``). Only when every step has succeeded are its entries moved
up into OUTDIR (one ``os.replace`` each, on the same file system); when a step fails the
staging folder is deleted, and an OUTDIR that the run created is removed again. So a failed
run leaves OUTDIR as it found it, and a finished run never mixes with a half-written one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from heatseq.errors import InputError
from heatseq.io.write import ensure_outdir

__all__ = ["staged_outdir"]


@contextmanager
def staged_outdir(outdir: str | os.PathLike[str], *, force: bool = False,
                  inputs: tuple[str | os.PathLike[str], ...] = ()) -> Iterator[Path]:
    """Yield a staging folder whose contents become OUTDIR's when the block succeeds.

    OUTDIR is checked first (:func:`heatseq.io.write.ensure_outdir`): a file, a read-only
    folder (no write permission, or no write bit at all: refused even for root), a non-empty folder without ``force`` or a folder holding an input is refused
    with an :class:`~heatseq.errors.InputError`. With ``force``, files of an earlier run with
    the same names are replaced; other files are left alone.
    """
    out = Path(outdir)
    existed = out.exists()
    if out.is_dir() and not out.stat().st_mode & 0o222:
        # checked on the mode bits too: root may write anywhere, but a folder that nobody
        # may write to was made read-only on purpose
        raise InputError(f"Output folder {out} is read-only. Choose a writable location, or "
                         f"make it writable (chmod u+w {out}).")
    out = ensure_outdir(out, force=force, inputs=inputs)
    stage = Path(tempfile.mkdtemp(prefix=".heatseq-staging-", dir=out))
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            target = out / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not existed and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
