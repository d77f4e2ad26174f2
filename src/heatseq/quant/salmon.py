"""Driving the salmon executable: finding it, building (or reusing) its index.

This module owns :func:`find_salmon` (the executable, with install instructions when it is
missing), :func:`salmon_version`, :func:`check_fasta` and :func:`build_index`.

The index is built once and reused: ``<index>/heatseq_index.json`` records a SHA-256 over
the transcriptome (and decoy genome) bytes, ``k`` and salmon's version; a later run whose
inputs give the same key reuses the folder, any other key rebuilds it. Building happens in
a temporary folder beside the target that is renamed into place only when salmon
succeeded, so an interrupted build never looks finished. With a decoy genome the
"gentrome" (transcripts then genome) and the decoy name list are written as salmon's
documentation describes (``salmon index -t gentrome.fa.gz -d decoys.txt``).

A transcriptome whose first header looks like GENCODE's (``ENST...|ENSG...|...``) is
indexed with ``--gencode``, so transcript names are cut at the first ``|`` and match a
GTF's ``transcript_id``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from heatseq.errors import InputError

__all__ = ["INSTALL_HINT", "build_index", "check_fasta", "find_salmon", "salmon_version"]

log = logging.getLogger(__name__)

#: How to install salmon, quoted by every message about a missing salmon.
INSTALL_HINT = ("Install it with `apt-get install salmon` (Debian/Ubuntu), `conda install -c "
                "bioconda salmon`, or a binary from https://github.com/COMBINE-lab/salmon/"
                "releases, then make sure `salmon` is on PATH (or pass --salmon PATH).")
_STAMP = "heatseq_index.json"


def find_salmon(salmon: str | os.PathLike[str] | None = None) -> Path:
    """The salmon executable: ``salmon`` if given (a path or a name on PATH), else
    ``salmon`` on PATH.

    Raises
    ------
    InputError
        When it is not found or not executable; the message says how to install salmon.
    """
    name = str(salmon) if salmon is not None else "salmon"
    found = shutil.which(name)
    if found is None:
        where = f"at {name}" if salmon is not None else "on PATH"
        raise InputError(f"salmon was not found {where}. {INSTALL_HINT}")
    return Path(found)


def salmon_version(exe: str | os.PathLike[str]) -> str:
    """salmon's version string (e.g. ``"1.10.1"``)."""
    try:
        done = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                              timeout=60, check=False)
    except OSError as exc:
        raise InputError(f"{exe} could not be run ({exc.strerror}). {INSTALL_HINT}") from None
    text = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or not text.startswith("salmon"):
        raise InputError(f"{exe} --version did not answer like salmon ({text[:80]!r}). "
                         f"{INSTALL_HINT}")
    return text.split()[-1]


def check_fasta(path: str | os.PathLike[str], *, what: str = "transcriptome") -> str:
    """Check that ``path`` is a (gzipped) FASTA file; return its first sequence name.

    Raises
    ------
    InputError
        When the file is missing, empty, a damaged gzip, or does not start with ``>``.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"The {what} FASTA {p} was not found. Check the path.")
    try:
        with open(p, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(p, "rb") as fh:  # type: ignore[operator]
            head = fh.read(1 << 16)
    except (OSError, EOFError) as exc:
        raise InputError(f"The {what} {p} could not be read as FASTA ({exc}). Copy or "
                         "download it again.") from None
    text = head.lstrip()
    if not text.startswith(b">"):
        shown = text[:40].decode("utf-8", "replace")
        raise InputError(f"The {what} {p} is not a FASTA file: it should start with '>' "
                         f"(a sequence name) but starts with {shown!r}. Give the transcript "
                         "sequences (e.g. gencode.v44.transcripts.fa.gz), not a GTF or FASTQ.")
    return text[1:].split(b"\n", 1)[0].split()[0].decode("utf-8", "replace") if len(text) > 1 \
        else ""


def _sha256(paths: list[Path], extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for p in paths:
        h.update(b"\0" + p.name.encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()


def _read_stamp(folder: Path) -> dict[str, object] | None:
    try:
        return json.loads((folder / _STAMP).read_text())
    except (OSError, ValueError):
        return None


def _fasta_names(path: Path) -> list[str]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        return [ln[1:].split()[0].decode() for ln in fh if ln.startswith(b">") and ln[1:].strip()]


def build_index(transcriptome: str | os.PathLike[str], *, index: str | os.PathLike[str],
                decoys: str | os.PathLike[str] | None = None, k: int = 31, threads: int = 1,
                salmon: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """Build the salmon index of ``transcriptome`` in ``index``, or reuse it.

    Parameters
    ----------
    transcriptome
        Transcript sequences (FASTA, gzipped or not).
    index
        The index folder. Reused when its stamp matches the inputs; rebuilt otherwise.
    decoys
        Optional genome FASTA used as decoy sequences (selective alignment's decoy-aware
        index, Srivastava et al. 2020).
    k
        k-mer length (salmon's default 31; smaller for reads shorter than about 75 bases).
    threads
        Threads for ``salmon index``.
    salmon
        The salmon executable (default: ``salmon`` on PATH).

    Returns
    -------
    path, built
        The index folder and whether it was built (False: reused).
    """
    exe = find_salmon(salmon)
    version = salmon_version(exe)
    first = check_fasta(transcriptome)
    tx = Path(transcriptome)
    genome = Path(decoys) if decoys is not None else None
    if genome is not None:
        check_fasta(genome, what="decoy genome")
    if not 1 <= k <= 31 or k % 2 == 0:
        raise InputError(f"k={k} is not valid for salmon: give an odd k-mer length from 1 to "
                         "31 (default 31; about 23 for reads shorter than 75 bases).")
    key = _sha256([tx] + ([genome] if genome else []), f"k={k};salmon={version}")
    target = Path(index)
    stamp = _read_stamp(target) if target.is_dir() else None
    if stamp is not None and stamp.get("key") == key:
        log.info("reusing the salmon index in %s", target)
        return target, False
    if target.exists() and stamp is None and any(target.iterdir()):
        raise InputError(f"Index folder {target} exists but was not built by heatseq (no "
                         f"{_STAMP}); heatseq does not overwrite it. Remove it or give another "
                         "--index folder.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".building", dir=target.parent))
    try:
        cmd = [str(exe), "index", "-i", str(tmp / "index"), "-k", str(k), "-p", str(threads)]
        if "|" in first:
            cmd.append("--gencode")
        if genome is not None:
            names = _fasta_names(genome)
            (tmp / "decoys.txt").write_text("\n".join(names) + "\n")
            gentrome = tmp / "gentrome.fa.gz"
            with open(gentrome, "wb") as out:
                for src in (tx, genome):
                    data = src.read_bytes()
                    out.write(data if data[:2] == b"\x1f\x8b" else gzip.compress(data, 1))
            cmd += ["-t", str(gentrome), "-d", str(tmp / "decoys.txt")]
        else:
            cmd += ["-t", str(tx)]
        log.info("building the salmon index: %s", " ".join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise InputError(f"salmon index failed on {tx} (exit {done.returncode}):\n{tail}\n"
                             "Check that the transcriptome is a valid FASTA of transcripts.")
        built = tmp / "index"
        (built / _STAMP).write_text(json.dumps(
            {"key": key, "transcriptome": str(tx), "decoys": str(genome) if genome else None,
             "k": k, "salmon": version, "gencode": "|" in first}, indent=2) + "\n")
        if target.exists():
            old = target.parent / f".{target.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(built, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target, True
