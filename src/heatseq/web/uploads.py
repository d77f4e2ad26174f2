"""Uploads: the checks on a file's name and size, receiving it into the content-addressed
store, and the fixed path a run reads it from.

A user's file name is shown on the page and nothing else: it is checked (no folder parts, no
control characters) and kept in the database; on disk a blob is named by its SHA-256, and the
path handed to the readers is ``inputs/<upload id>/counts<suffix>`` where the suffix is one
of :data:`SUFFIXES` (heatseq's readers detect some formats from it, e.g. ``.h5ad``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

from heatseq.web.store import Store, Upload

__all__ = ["SUFFIXES", "UploadRejected", "check_name", "input_path", "receive", "user_message"]

#: Known endings of count files and sample sheets, longest first: the suffix of the path a
#: reader gets (anything else reads as ``.txt``, detected from its content).
SUFFIXES: tuple[str, ...] = (
    "readspergene.out.tab.gz", "readspergene.out.tab", ".genes.results.gz", ".genes.results",
    ".tsv.gz", ".csv.gz", ".txt.gz", ".tab.gz", ".counts.gz", ".h5ad", ".xlsx", ".xls",
    ".tsv", ".csv", ".txt", ".tab", ".counts", ".gz",
)
MAX_NAME = 200


class UploadRejected(Exception):
    """An upload that is refused; ``status`` is the HTTP status, the message says why and how
    to fix it."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_name(name: str) -> str:
    """The display name of an upload, or :class:`UploadRejected` when it is not a plain
    file name.

    Examples
    --------
    >>> check_name("counts.tsv.gz")
    'counts.tsv.gz'
    >>> check_name("../../etc/passwd")
    Traceback (most recent call last):
    ...
    heatseq.web.uploads.UploadRejected: The file name '../../etc/passwd' has folder parts ('/', '\\' or '..'). heatseq never uses file names as paths; give a plain name such as 'passwd' (rename the file) and upload it again.
    """
    shown = name if len(name) <= 80 else name[:77] + "..."
    if not name.strip():
        raise UploadRejected("The file has no name; give the file a name such as counts.tsv and "
                             "upload it again.")
    if "/" in name or "\\" in name or name.strip() in (".", "..") or "\x00" in name:
        base = name.replace("\\", "/").rstrip("/").split("/")[-1].replace("\x00", "")
        hint = f"such as {base!r}" if base not in ("", ".", "..") else "such as 'counts.tsv'"
        raise UploadRejected(f"The file name {shown!r} has folder parts ('/', '\\' or '..'). "
                             "heatseq never uses file names as paths; give a plain name "
                             f"{hint} (rename the file) and upload it again.")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise UploadRejected(f"The file name {name.encode('unicode_escape').decode()!r} holds "
                             "control characters; rename the file to plain letters, digits, "
                             "dots and dashes and upload it again.")
    if len(name) > MAX_NAME:
        raise UploadRejected(f"The file name is {len(name)} characters long; at most "
                             f"{MAX_NAME} are accepted. Rename the file and upload it again.")
    return name.strip()


def suffix_of(name: str) -> str:
    """The known ending of ``name`` (:data:`SUFFIXES`), else ``.txt``."""
    low = name.lower()
    return next((s for s in SUFFIXES if low.endswith(s)), ".txt")


def size_words(n: float) -> str:
    """``1536`` -> ``'1.5 KB'``."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def too_large(name: str, size: int | None, limit: int) -> str:
    """The message for a file over the upload limit."""
    got = f" ({size_words(size)})" if size is not None else ""
    return (f"{name}{got} is larger than the upload limit of {size_words(limit)}. Give a "
            "smaller file (gzip a text table: it shrinks about 5 times), or start the server "
            "with a larger limit: heatseq serve --max-upload-mb N.")


async def receive(store: Store, chunks: AsyncIterator[bytes], *, name: str,
                  limit: int) -> tuple[str, int]:
    """Write a request body to ``tmp/`` while hashing it; move it into the blob store.

    Returns
    -------
    (sha256, size)

    Raises
    ------
    UploadRejected
        For a 0-byte file (400) or one over ``limit`` bytes (413); nothing is kept.
    """
    tmp = store.tmp_file()
    h = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as fh:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadRejected(too_large(name, None, limit), status=413)
                h.update(chunk)
                fh.write(chunk)
        if size == 0:
            raise UploadRejected(f"{name} is empty (0 bytes). Check that you chose the right "
                                 "file; a count table needs a header line and one row per gene.")
        sha = h.hexdigest()
        store.add_blob(tmp, sha, size)
        return sha, size
    finally:
        tmp.unlink(missing_ok=True)


def input_path(store: Store, upload: Upload) -> Path:
    """The path the readers get for an upload: a read-only link to its blob under a fixed
    name (``counts<suffix>`` or ``samples<suffix>``) in ``inputs/<upload id>/``."""
    folder = store.root / "inputs" / upload.id
    dest = folder / f"{upload.kind}{suffix_of(upload.name)}"
    if dest.exists():
        return dest
    folder.mkdir(parents=True, exist_ok=True)
    blob = store.blob_path(upload.sha256)
    tmp = folder / f".{dest.name}.{os.getpid()}.tmp"
    try:
        os.link(blob, tmp)
    except OSError:
        shutil.copyfile(blob, tmp)
        os.chmod(tmp, 0o444)
    os.replace(tmp, dest)
    return dest


def user_message(message: str, path: Path, name: str) -> str:
    """A reader's message with the internal path replaced by the user's file name."""
    return message.replace(str(path), name).replace(path.name, name)
