"""Opening text inputs safely: gzip (and truncated gzip), BOMs, Windows line ends,
binary and non-UTF-8 files, with one clear message per problem."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

from heatseq.errors import InputError

__all__ = ["check_path", "is_gzip", "open_bytes", "read_text", "text_buffer"]

_GZIP_MAGIC = b"\x1f\x8b"
_XLSX_MAGIC = b"PK\x03\x04"


def check_path(path: str | os.PathLike[str], *, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise InputError when it does not exist."""
    p = Path(path)
    if not p.exists():
        parent = p.parent if str(p.parent) else Path(".")
        hint = ""
        if parent.is_dir():
            near = sorted(x.name for x in parent.iterdir() if x.name.lower().startswith(p.name[:3].lower()))[:5]
            if near:
                hint = f" Similar names there: {', '.join(near)}."
        raise InputError(f"{what.capitalize()} not found: {p}. Check the path.{hint}")
    return p


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def open_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole file as bytes, gunzipped when it is gzip; a truncated gzip is an InputError."""
    p = check_path(path)
    if p.is_dir():
        raise InputError(f"{p} is a folder; give a file.")
    raw = p.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(
                f"{p} is a gzip file that ends early or is damaged ({exc}). "
                "Copy or download it again; `gzip -t` checks a gzip file."
            ) from None
    return raw


def read_text(path: str | os.PathLike[str]) -> str:
    """Decode a text file (gzipped or not) to str with ``\\n`` line ends.

    A UTF-8 byte-order mark and Windows/old-Mac line ends are accepted silently. A binary
    file, an Excel file given where text is expected, or text that is not UTF-8 (latin-1
    is tried as a fallback only when the bytes look like text) raise InputError.
    """
    p = Path(path)
    data = open_bytes(p)
    if data[:4] == _XLSX_MAGIC:
        raise InputError(f"{p} is a zip/Excel file, not a text table. Save it as .xlsx and "
                         "read it as Excel, or export it as TSV/CSV.")
    if b"\x00" in data[:65536]:
        raise InputError(f"{p} is a binary file, not a text table (it contains NUL bytes). "
                         "Give a tab- or comma-separated text file (optionally gzipped).")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{p} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot be "
            "decoded. Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        ) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def text_buffer(path: str | os.PathLike[str]) -> io.StringIO:
    """read_text wrapped for pandas readers."""
    return io.StringIO(read_text(path))
