"""Gene-level count tables: the public readers in one place, and folders of per-sample
count files.

This module owns :func:`read_count_dir` (one HTSeq, STAR or featureCounts file per sample,
in one folder or in per-sample sub-folders) and re-exports the single-file readers of
:mod:`heatseq.io.matrix` and :mod:`heatseq.io.tools`. :func:`heatseq.io.detect.read_counts`
picks among them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pandas as pd

from heatseq.dataset import Dataset
from heatseq.errors import InputError
from heatseq.io._common import handle_duplicate_genes
from heatseq.io._text import check_path
from heatseq.io.matrix import build_dataset, check_duplicates_policy, read_matrix
from heatseq.io.tools import (
    STRANDS,
    TOOL_FORMATS,
    Strand,
    choose_strand,
    parse_featurecounts,
    parse_htseq,
    parse_star,
    peek_lines,
    read_featurecounts,
    read_htseq,
    read_star,
    sniff_tool,
    special_note,
    strip_suffixes,
)

__all__ = ["read_count_dir", "read_featurecounts", "read_htseq", "read_matrix", "read_star"]

_TOOL_NAMES = {"featurecounts": "featureCounts", "htseq": "HTSeq-count", "star": "STAR"}


def _candidates(root: Path) -> list[Path]:
    """Visible files in ``root`` and in its immediate sub-folders, sorted."""
    out = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            out.append(entry)
        elif entry.is_dir():
            out.extend(f for f in sorted(entry.iterdir())
                       if f.is_file() and not f.name.startswith("."))
    return out


def _kind(path: Path) -> str | None:
    lines = peek_lines(path)
    return None if lines is None else sniff_tool(lines)


def _sample_names(files: list[Path], root: Path) -> list[str]:
    stems = [strip_suffixes(f.name) for f in files]
    names = []
    for f, stem in zip(files, stems, strict=True):
        generic = stem == "" or stems.count(stem) > 1
        names.append(f.parent.name if generic and f.parent != root else (stem or f.name))
    seen: dict[str, list[str]] = {}
    for f, n in zip(files, names, strict=True):
        seen.setdefault(n, []).append(str(f.relative_to(root)))
    dups = {n: fs for n, fs in seen.items() if len(fs) > 1}
    if dups:
        n, fs = next(iter(dups.items()))
        raise InputError(f"{root}: {len(dups)} sample name(s) come from more than one file, e.g. "
                         f"{n!r} from {', '.join(fs[:4])}. Give each sample's file a distinct "
                         "name (the sample name is the file name without suffixes such as "
                         ".ReadsPerGene.out.tab, .counts, .txt, .gz).")
    return names


def read_count_dir(path: str | os.PathLike[str], *,
                   format: Literal["auto", "featurecounts", "htseq", "star"] = "auto",
                   strand: Strand | None = None,
                   duplicates: Literal["error", "sum", "first"] = "error") -> Dataset:
    """Read a folder with one count file per sample (HTSeq-count, STAR or featureCounts).

    Files may sit in the folder itself or one per sub-folder. A sample is named after its
    file without known suffixes (``S1.ReadsPerGene.out.tab`` -> ``S1``, ``S1.counts.txt``
    -> ``S1``), or after its sub-folder when the file names are all alike
    (``S1/ReadsPerGene.out.tab``). Samples are ordered by name. Files of other kinds
    (logs, featureCounts summaries, READMEs) are skipped and noted; all count files must
    be of one kind and list the same genes.

    Parameters
    ----------
    path
        The folder.
    format
        ``"auto"`` recognises the files from their first lines; or ``"featurecounts"``,
        ``"htseq"``, ``"star"`` to read only files of that kind.
    strand
        For STAR: ``"unstranded"``, ``"forward"`` or ``"reverse"``; None chooses once for
        all files from their summed strand columns (see :func:`heatseq.io.tools.choose_strand`).
    duplicates
        Duplicated gene IDs within a file: ``"error"``, ``"sum"`` or ``"first"``.

    Returns
    -------
    Dataset
        With ``source.format`` the tool's name (``"htseq"``, ``"star"``,
        ``"featurecounts"``).
    """
    check_duplicates_policy(duplicates)
    if format != "auto" and format not in TOOL_FORMATS:
        raise InputError(f"format={format!r} is not valid for a folder of per-sample files; "
                         f"choose one of auto, {', '.join(TOOL_FORMATS)}.")
    if strand is not None and strand not in STRANDS:
        raise InputError(f"strand={strand!r} is not valid; choose one of {', '.join(STRANDS)}.")
    root = check_path(path, what="folder")
    if not root.is_dir():
        raise InputError(f"{root} is a file, not a folder of per-sample count files.")
    files, kinds = [], []
    skipped = []
    for f in _candidates(root):
        kind = _kind(f)
        if kind in TOOL_FORMATS and format in ("auto", kind):
            files.append(f)
            kinds.append(kind)
        else:
            skipped.append(str(f.relative_to(root)))
    if not files:
        shown = ", ".join(skipped[:8]) or "nothing"
        wanted = _TOOL_NAMES[format] if format != "auto" else "HTSeq-count, STAR or featureCounts"
        raise InputError(f"{root} holds no {wanted} count files (found: {shown}). Give a folder "
                         "with one count file per sample, or a count matrix file.")
    found = sorted(set(kinds))
    if len(found) > 1:
        examples = "; ".join(f"{_TOOL_NAMES[k]}: {files[kinds.index(k)].name}" for k in found)
        raise InputError(f"{root} mixes count files of different tools ({examples}). Put one "
                         "kind per folder, or choose one with --format.")
    kind = found[0]
    names = _sample_names(files, root)
    parse = {"featurecounts": parse_featurecounts, "htseq": parse_htseq, "star": parse_star}[kind]
    parsed = [parse(f) for f in files]
    notes = [f"{root}: {len(files)} {_TOOL_NAMES[kind]} files, one per sample."]
    if skipped:
        notes.append(f"{root}: {len(skipped)} other file(s) skipped: {', '.join(skipped[:5])}"
                     f"{' ...' if len(skipped) > 5 else ''}.")
    tables = []
    for p in parsed:
        table, note = handle_duplicate_genes(p.counts, policy=duplicates, where=p.where)
        tables.append(table)
        if note:
            notes.append(note)
    _check_same_genes(tables, files)
    ref = tables[0].index
    genes, extra = None, None
    if kind == "star":
        stacked = [t.reindex(ref) for t in tables]
        fwd = float(sum(t["forward"].sum() for t in stacked))
        rev = float(sum(t["reverse"].sum() for t in stacked))
        pick, note = choose_strand(fwd, rev, strand=strand, where=str(root))
        if note:
            notes.append(note)
        columns = {n: t[pick] for n, t in zip(names, stacked, strict=True)}
        counts = pd.DataFrame(columns, index=ref)
    else:
        parts = []
        for n, t, p in zip(names, tables, parsed, strict=True):
            t = t.reindex(ref)
            if t.shape[1] == 1:
                t.columns = [n]
            parts.append(t)
            if not (kind == "featurecounts" and t.shape[1] == 1):
                notes.extend(p.notes)  # a single column is named after its file instead
        counts = pd.concat(parts, axis=1)
        if kind == "featurecounts":
            genes, extra = parsed[0].genes, {"featurecounts_annotation": parsed[0].extra}
    totals: dict[str, float] = {}
    for p in parsed:
        for k, v in p.special:
            totals[k] = totals.get(k, 0.0) + v
    if totals:
        notes.append(special_note(str(root), "HTSeq" if kind == "htseq" else "STAR", totals,
                                  n_files=len(files)))
    counts = counts[sorted(counts.columns)]
    counts.columns.name = "sample"
    return build_dataset(counts, path=root, fmt=kind, where=str(root), duplicates=duplicates,
                         genes=genes, notes=notes, extra=extra)


def _check_same_genes(tables: list[pd.DataFrame], files: list[Path]) -> None:
    ref = tables[0].index
    for t, f in zip(tables[1:], files[1:], strict=True):
        if len(t.index) == len(ref) and t.index.equals(ref):
            continue
        missing = ref.difference(t.index, sort=False)
        extra = t.index.difference(ref, sort=False)
        if len(missing) or len(extra):
            parts = []
            if len(missing):
                parts.append(f"{len(missing)} of {files[0].name}'s genes missing (e.g. "
                             f"{', '.join(map(str, missing[:3]))})")
            if len(extra):
                parts.append(f"{len(extra)} genes not in {files[0].name} (e.g. "
                             f"{', '.join(map(str, extra[:3]))})")
            raise InputError(f"{f}: its genes differ from {files[0]}'s: {'; '.join(parts)}. All "
                             "per-sample files must come from the same annotation (GTF).")
