"""``heatseq heatmap``: the clustered expression heatmap from the command line.

A thin caller of the public API: reads the input (:func:`heatseq.read_counts` for counts,
or a table of values such as a VST), chooses the values and genes
(:func:`heatseq.cluster.expression_values`, :func:`heatseq.cluster.select_genes`),
clusters (:func:`heatseq.cluster.cluster`), draws (:func:`heatseq.plot.heatmap`) and writes
the figure with, beside it, ``<name>.order.tsv`` (row and column order as labels),
``<name>.modules.tsv`` (gene_id, symbol, module, mean z per condition level) and
``<name>.modules.txt`` (one plain-language line per module).
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from heatseq.cli import cli, user_errors
from heatseq.errors import InputError, InputWarning

__all__ = ["heatmap_command", "parse_genes", "parse_label_genes", "parse_size"]

log = logging.getLogger(__name__)

_METRICS = ("euclidean", "correlation", "spearman", "cosine", "manhattan")
_LINKAGES = ("complete", "average", "ward.D2", "single")
_PALETTES = {"rdbu": "rdbu", "rbg": "rbg", "viridis": "viridis", "cb": "cb_diverging",
             "cb_diverging": "cb_diverging"}
_SYMBOL_COLUMNS = ("symbol", "gene_symbol", "gene_name", "genename", "name", "hgnc_symbol",
                   "external_gene_name")


def parse_genes(text: str) -> tuple[str, str | int | None]:
    """``--genes``: ``top-variance[:N]``, ``de:RESULTS.tsv``, ``list:FILE`` or ``all``.

    Examples
    --------
    >>> parse_genes("top-variance:200"), parse_genes("de:res.tsv"), parse_genes("all")
    (('top_variance', 200), ('de', 'res.tsv'), ('all', None))
    """
    kind, _, arg = text.partition(":")
    kind = kind.strip().lower()
    if kind in ("top-variance", "top_variance", "variance"):
        if not arg:
            return "top_variance", 500
        try:
            n = int(arg)
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(f"--genes {text!r}: give a positive number of genes, e.g. "
                             "top-variance:500.")
        return "top_variance", n
    if kind in ("de", "list"):
        if not arg:
            raise InputError(f"--genes {text!r}: give a file after the colon, e.g. {kind}:"
                             f"{'de_results.tsv' if kind == 'de' else 'genes.txt'}.")
        return kind, arg
    if kind == "all" and not arg:
        return "all", None
    raise InputError(f"--genes {text!r} is not valid; give top-variance:N, de:RESULTS.tsv, "
                     "list:FILE or all.")


def parse_label_genes(text: str) -> tuple[str, str | int | list[str]]:
    """``--label-genes``: ``auto``, ``none``, ``all``, ``top:N``, ``list:FILE`` or
    comma-separated gene IDs/symbols.

    Examples
    --------
    >>> parse_label_genes("top:20"), parse_label_genes("DUSP1,PER1")
    (('top', 20), ('names', ['DUSP1', 'PER1']))
    """
    low = text.strip().lower()
    if low in ("auto", "none", "all"):
        return low, low
    kind, _, arg = text.partition(":")
    if kind.lower() == "top":
        try:
            n = int(arg)
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(f"--label-genes {text!r}: give a positive number, e.g. top:20.")
        return "top", n
    if kind.lower() == "list":
        if not arg:
            raise InputError(f"--label-genes {text!r}: give a file after the colon.")
        return "file", arg
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise InputError("--label-genes is empty; give auto, none, all, top:N, list:FILE or "
                         "gene names separated by commas.")
    return "names", names


def parse_size(text: str) -> str | tuple[float, float]:
    """``--size``: ``auto``, ``single``, ``double`` or ``WIDTHxHEIGHT`` in inches.

    Examples
    --------
    >>> parse_size("single"), parse_size("7x9")
    ('single', (7.0, 9.0))
    """
    low = text.strip().lower()
    if low in ("auto", "single", "double"):
        return low
    w, _, h = low.partition("x")
    try:
        return float(w), float(h)
    except ValueError:
        raise InputError(f"--size {text!r} is not valid; give auto, single (89 mm), double "
                         "(183 mm) or WIDTHxHEIGHT in inches, e.g. 7x9.") from None


def _read_names(path: str, what: str) -> list[str]:
    from heatseq.io._text import check_path, read_text

    p = check_path(path, what=what)
    names = []
    for line in read_text(p).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names.append(line.replace(",", "\t").split("\t")[0].strip().strip('"'))
    if not names:
        raise InputError(f"{p}: the {what} is empty; give one gene ID or symbol per line.")
    return names


def _read_value_table(path: Path) -> pd.DataFrame | None:
    """A text matrix read with pandas, or None when it is not a plain matrix."""
    from heatseq.io._text import check_path, is_gzip
    from heatseq.io.detect import detect_format
    from heatseq.io.matrix import is_excel, sniff_sep
    from heatseq.io.tools import peek_lines

    check_path(path, what="count or value table")
    if path.is_dir() or is_excel(path) or detect_format(path) != "matrix":
        return None
    lines = peek_lines(path)
    if not lines:
        return None
    compression = "gzip" if is_gzip(path) else None
    sep = sniff_sep(lines[:20]) or r"\s+"
    try:
        table = pd.read_csv(path, sep=sep, index_col=0, compression=compression,
                            engine="c" if sep != r"\s+" else "python")
    except (ValueError, pd.errors.ParserError):
        return None
    return table


def _load(path: Path, *, samples: Path | None, transform: str, notes: list[str]
          ) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.Series | None]:
    """Values (genes x samples, transformed), the sample table and gene symbols."""
    from heatseq import read_counts, read_samples
    from heatseq.cluster import expression_values

    table = _read_value_table(path)
    if table is not None:
        numeric = table.select_dtypes(include="number")
        symbols = None
        text_cols = [c for c in table.columns if c not in numeric.columns]
        for c in text_cols:
            if str(c).strip().lower() in _SYMBOL_COLUMNS:
                symbols = table[c].astype(str)
                break
        v = numeric.to_numpy(dtype=float)
        finite = v[np.isfinite(v)]
        is_counts = finite.size > 0 and (finite >= 0).all() and \
            np.array_equal(finite, np.round(finite)) and not text_cols
        if not is_counts and numeric.shape[1] > 0:
            values = numeric
            values.index = values.index.astype(str)
            sheet = _align_sheet(read_samples(samples), values.columns, samples) \
                if samples is not None else None
            out = expression_values(values, transform=transform, notes=notes)  # type: ignore[arg-type]
            return out, sheet, symbols
    ds = read_counts(path, samples=samples)
    symbols = ds.genes["symbol"] if "symbol" in ds.genes.columns else None
    values = expression_values(ds, transform=transform, notes=notes)  # type: ignore[arg-type]
    sheet = ds.samples if samples is not None else None
    return values, sheet, symbols


def _align_sheet(sheet: pd.DataFrame, columns: pd.Index, where: Path) -> pd.DataFrame:
    index = pd.Index(sheet.index.astype(str))
    by_key = {s.strip().casefold(): s for s in index}
    missing = [c for c in columns if c not in index and c.strip().casefold() not in by_key]
    if missing:
        raise InputError(f"{where}: {len(missing)} sample(s) of the table are not in the sample "
                         f"sheet: {', '.join(missing[:10])}. Add a row for each sample.")
    rows = [c if c in index else by_key[c.strip().casefold()] for c in columns]
    out = sheet.set_axis(index).loc[rows]
    out.index = pd.Index(columns, name="sample")
    return out


def _symbols_for(ids: pd.Index, given: pd.Series | None) -> pd.Series | None:
    if given is not None:
        g = given.copy()
        g.index = g.index.astype(str)
        return g
    from heatseq.annotation import guess_organism, map_symbols

    sample = list(ids[:2000])
    if guess_organism(sample) is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return map_symbols(list(ids))


def _read_de(path: str) -> pd.DataFrame:
    from heatseq.io._text import check_path

    p = check_path(path, what="DE results table")
    try:
        table = pd.read_csv(p, sep="\t", index_col=0)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{p}: cannot read the DE results table: {exc}") from None
    need = {"padj", "log2FoldChange"}
    if not need <= set(table.columns):
        raise InputError(f"{p}: a DE results table needs the columns padj and log2FoldChange "
                         f"(as heatseq de writes them); it has: {', '.join(map(str, table.columns[:10]))}.")
    table.index = table.index.astype(str)
    return table


def _write_text(path: Path, text: str) -> None:
    from heatseq.io.write import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _order_table(c: Any) -> pd.DataFrame:
    rows = pd.DataFrame({"axis": "row", "position": np.arange(1, len(c.row_order) + 1),
                         "id": c.row_order.astype(str),
                         "label": c.row_labels.reindex(c.row_order).to_numpy()})
    cols = pd.DataFrame({"axis": "col", "position": np.arange(1, len(c.col_order) + 1),
                         "id": c.col_order.astype(str), "label": c.col_order.astype(str)})
    return pd.concat([rows, cols], ignore_index=True)


@cli.command("heatmap")
@click.argument("counts", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Figure to write: .png (300 dpi), .svg or .pdf.")
@click.option("--samples", type=click.Path(path_type=Path),
              help="Sample sheet (CSV/TSV/XLSX); first column = sample names.")
@click.option("--genes", "genes", default="top-variance:500", show_default=True,
              help="Genes to draw: top-variance:N, de:RESULTS.tsv, list:FILE or all.")
@click.option("--max-genes", type=int, default=500, show_default=True,
              help="With de:RESULTS.tsv, at most this many genes (smallest padj).")
@click.option("--alpha", type=float, default=0.1, show_default=True,
              help="With de:RESULTS.tsv, the padj cut-off.")
@click.option("--lfc-threshold", type=float, default=0.0, show_default=True,
              help="With de:RESULTS.tsv, the |log2FoldChange| cut-off.")
@click.option("--balanced", is_flag=True, help="With de:RESULTS.tsv, half up and half down.")
@click.option("--transform", type=click.Choice(["auto", "vst", "log2", "none"]), default="auto",
              show_default=True, help="Values: VST of counts (auto), log2, or as given.")
@click.option("--scale", type=click.Choice(["row", "none", "center"]), default="row",
              show_default=True, help="Row z-scores, centring, or none.")
@click.option("--metric", type=click.Choice(_METRICS), default="euclidean", show_default=True,
              help="Distance between genes and between samples.")
@click.option("--linkage", "method", type=click.Choice(_LINKAGES), default="complete",
              show_default=True, help="Linkage method (ward.D2 needs euclidean).")
@click.option("--cluster-rows/--no-cluster-rows", default=True, show_default=True)
@click.option("--cluster-cols/--no-cluster-cols", default=True, show_default=True)
@click.option("--optimal-order", is_flag=True, help="Optimal leaf ordering of both trees.")
@click.option("--k", type=int, default=None, help="Number of gene modules (default: chosen "
              "by the silhouette criterion).")
@click.option("--clip", default="auto", show_default=True,
              help="Colour limit: auto (99th percentile of |z|), a number, or none.")
@click.option("--palette", type=click.Choice(list(_PALETTES)), default="rdbu",
              show_default=True, help="rdbu (red = high), rbg, viridis, cb (colour-blind safe).")
@click.option("--annotate", default="condition", show_default=True,
              help="Sample-sheet columns drawn as bars, comma-separated.")
@click.option("--condition", default=None,
              help="Sample-sheet column for the module summaries (default: condition, else "
                   "the first --annotate column).")
@click.option("--label-genes", default="auto", show_default=True,
              help="auto, none, all, top:N, list:FILE, or names separated by commas.")
@click.option("--title", default=None, help="Title of the figure.")
@click.option("--size", default="auto", show_default=True,
              help="auto, single (89 mm), double (183 mm) or WIDTHxHEIGHT inches.")
@click.option("--dpi", type=int, default=300, show_default=True, help="PNG resolution.")
@click.option("--max-matrix-gb", type=float, default=4.0, show_default=True,
              help="Largest gene distance matrix to hold in memory.")
@click.option("--timings", "show_timings", is_flag=True,
              help="Print where the time went (read, transform, distances, linkage, draw, save).")
@click.option("--timings-file", type=click.Path(path_type=Path),
              help="Also write those seconds per step to this JSON file (wall clock; "
                   "under \"cpu\": CPU seconds of the process per stage).")
@user_errors
def heatmap_command(counts: Path, output: Path, samples: Path | None, genes: str,
                    max_genes: int, alpha: float, lfc_threshold: float, balanced: bool,
                    transform: str, scale: str, metric: str, method: str, cluster_rows: bool,
                    cluster_cols: bool, optimal_order: bool, k: int | None, clip: str,
                    palette: str, annotate: str, condition: str | None, label_genes: str,
                    title: str | None, size: str, dpi: int, max_matrix_gb: float,
                    show_timings: bool, timings_file: Path | None) -> None:
    """Draw a clustered heatmap of COUNTS (a count table, quantifier output, or a table of
    values such as a VST) and write OUTPUT with <name>.order.tsv, <name>.modules.tsv and
    <name>.modules.txt beside it."""
    from heatseq.plot import FIGURE_FORMATS

    t_start = time.perf_counter()
    cpu = {"start-up": time.process_time()}  # CPU seconds of the process so far: imports
    if output.suffix.lower() not in FIGURE_FORMATS:
        raise InputError(f"-o {output}: the figure must end in {', '.join(FIGURE_FORMATS)}.")
    how, arg = parse_genes(genes)
    labels_how, labels_arg = parse_label_genes(label_genes)
    fig_size = parse_size(size)
    clip_value = _parse_clip(clip)
    ann = [a.strip() for a in annotate.split(",") if a.strip()]
    if samples is None and ann != ["condition"]:
        raise InputError(f"--annotate {annotate} needs a sample sheet: add --samples SHEET.")

    notes: list[str] = []
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    values, sheet, symbols = _load(counts, samples=samples, transform=transform, notes=notes)
    if values.shape[1] < 2 and (cluster_cols or scale == "row"):
        raise InputError(f"{counts} has 1 sample ({values.columns[0]}); clustering samples and "
                         "row z-scores need at least 2. Add samples, or give --no-cluster-cols "
                         "--scale none.")
    if sheet is not None:
        cols = [str(c) for c in sheet.columns]
        missing = [a for a in ann if a not in cols and ann != ["condition"]]
        if missing:
            raise InputError(f"Column(s) {', '.join(map(repr, missing))} to annotate are not in "
                             f"the sample sheet {samples}; columns are: {', '.join(cols)}. Check "
                             "--annotate.")
    sym = _symbols_for(values.index, symbols)
    t["read+transform"] = time.perf_counter() - t0  # with the gene symbol look-up
    cpu["read+transform"] = time.process_time() - cpu["start-up"]

    t0 = time.perf_counter()
    sel, de_table = _select(values, how, arg, max_genes=max_genes, alpha=alpha,
                            lfc_threshold=lfc_threshold, balanced=balanced, symbols=sym)
    t["select"] = time.perf_counter() - t0
    cond = _condition(sheet, condition, ann)
    from heatseq.cluster import cluster, modules_table

    c = cluster(values.loc[sel.ids], samples=sheet, scale=scale,  # type: ignore[arg-type]
                row_metric=metric, col_metric=metric, method=method,  # type: ignore[arg-type]
                cluster_rows=cluster_rows, cluster_cols=cluster_cols,
                optimal_ordering=optimal_order, k=k, condition=cond, clip=clip_value,
                gene_labels=sym, caption_prefix=sel.caption, max_matrix_gb=max_matrix_gb,
                timings=t, notes=notes)
    for note in c.notes:
        log.info("%s", note)

    from heatseq.plot import heatmap, save_figure

    row_ann = None
    if de_table is not None:
        lfc = de_table["log2FoldChange"].reindex(c.values.index)
        row_ann = pd.Series(np.where(lfc > 0, "up", "down"), index=c.values.index, name="DE")
    c0 = time.process_time()
    cpu["select+cluster"] = c0 - cpu["start-up"] - cpu["read+transform"]
    t0 = time.perf_counter()
    fig = heatmap(c, samples=sheet, annotate=tuple(ann) if sheet is not None else (),
                  row_annotations=row_ann, palette=_PALETTES[palette],  # type: ignore[arg-type]
                  label_genes=_label_list(labels_how, labels_arg, c, sel, de_table),
                  title=title, size=fig_size)  # type: ignore[arg-type]
    t_draw = time.perf_counter() - t0
    c1 = time.process_time()
    t0 = time.perf_counter()
    save_figure(fig, output, dpi=dpi)
    t_save = time.perf_counter() - t0
    c2 = time.process_time()
    cpu["draw"], cpu["save"] = c1 - c0, c2 - c1

    from heatseq.io.write import write_table

    stem = output.with_suffix("")
    written = [output, write_table(_order_table(c), f"{stem}.order.tsv", index=False)]
    if c.modules is not None:
        mt = modules_table(c, samples=sheet, condition=cond)
        written.append(write_table(mt, f"{stem}.modules.tsv", index=False))
        text = "\n".join(s.text for s in c.module_summaries) + "\n"
        _write_text(Path(f"{stem}.modules.txt"), text)
        written.append(Path(f"{stem}.modules.txt"))
    else:
        log.info("Rows were not clustered: no modules files.")
    for s in c.module_summaries:
        log.info("%s", s.text)
    log.info("Wrote %s", ", ".join(str(p) for p in written))
    wall = {k: v for k, v in c.timings.items() if not k.startswith("cpu_")}
    steps = {**wall, "draw": t_draw, "save": t_save, "total": time.perf_counter() - t_start}
    cpu["distances"] = c.timings.get("cpu_distances", 0.0)
    cpu["linkage"] = c.timings.get("cpu_linkage", 0.0)
    cpu["tables"] = time.process_time() - c2
    cpu["total"] = time.process_time()
    if show_timings:
        click.echo("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()),
                   err=True)
    if timings_file is not None:
        record = {**{k: round(v, 4) for k, v in steps.items()},
                  "cpu": {k: round(v, 4) for k, v in cpu.items()}}
        _write_text(timings_file, json.dumps(record) + "\n")


def _parse_clip(text: str) -> float | str | None:
    low = text.strip().lower()
    if low == "auto":
        return "auto"
    if low == "none":
        return None
    try:
        value = float(low)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise InputError(f"--clip {text!r} is not valid; give auto, none or a positive number.")
    return value


def _condition(sheet: pd.DataFrame | None, given: str | None, ann: Sequence[str]) -> str | None:
    if sheet is None:
        if given is not None:
            raise InputError("--condition needs a sample sheet: add --samples SHEET.")
        return None
    cols = [str(c) for c in sheet.columns]
    if given is not None:
        if given not in cols:
            raise InputError(f"--condition {given!r} is not a column of the sample sheet; "
                             f"columns are: {', '.join(cols)}.")
        return given
    if "condition" in cols:
        return "condition"
    return next((a for a in ann if a in cols), None)


def _select(values: pd.DataFrame, how: str, arg: object, *, max_genes: int, alpha: float,
            lfc_threshold: float, balanced: bool, symbols: pd.Series | None
            ) -> tuple[Any, pd.DataFrame | None]:
    from heatseq.cluster import select_genes

    if how == "top_variance":
        return select_genes(values, by="top_variance", n=int(arg)), None  # type: ignore[call-overload]
    if how == "all":
        return select_genes(values, by="all"), None
    if how == "de":
        table = _read_de(str(arg))
        sel = select_genes(values, by="de", de_result=table, n=max_genes, alpha=alpha,
                           lfc_threshold=lfc_threshold, balanced=balanced)
        return sel, table
    names = _read_names(str(arg), "gene list")
    return select_genes(values, by="list", genes=names, symbols=symbols), None


def _label_list(how: str, arg: object, c: Any, sel: Any, de_table: pd.DataFrame | None
                ) -> str | list[str]:
    if how in ("auto", "none", "all"):
        return how
    if how == "names":
        return list(arg)  # type: ignore[call-overload]
    if how == "file":
        return _read_names(str(arg), "label list")
    n = int(arg)  # type: ignore[call-overload]
    if de_table is not None:
        drawn = de_table.reindex(c.values.index).dropna(subset=["padj"])
        return list(drawn.sort_values("padj", kind="mergesort").index[:n])
    return [str(g) for g in sel.ids[:n]]
