"""API routes of a finished run: QC, DE tables and points, the interactive heatmap, its
modules and their enrichment, the enrichment outputs, and the downloads (report, figures,
tables as TSV/XLSX, the reproducing script)."""

from __future__ import annotations

import hashlib
import io
import threading
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from heatseq.web import models as m
from heatseq.web.api_projects import ERRORS, RunId, ctx_of, token
from heatseq.web.heatmap import HeatmapOptions, View, compute_view
from heatseq.web.results import RunData, _cell, file_kind
from heatseq.web.script import reproduce_script, safe_file_name

__all__ = ["router"]

router = APIRouter(prefix="/api/runs/{run_id}", tags=["results"])
NOT_DONE: dict[int | str, dict[str, Any]] = {
    **ERRORS, 409: {"description": "The run is not done (queued, running or failed)."}}
StemPath = Path(pattern=m.Stem, description="A contrast's file stem, e.g. de_dex_trt_vs_untrt.")
ViewPath = Path(pattern=r"^[0-9a-f]{16}$", description="A heatmap view ID.")
_xlsx_lock = threading.Lock()


def _finished(request: Request, run_id: str, tok: str) -> tuple[Any, RunData]:
    return ctx_of(request).finished(tok, run_id)


def _floats(s: pd.Series) -> list[float | None]:
    a = s.to_numpy(dtype=float)
    return [None if not np.isfinite(x) else float(x) for x in a]


# ---------------------------------------------------------------------- QC
@router.get("/qc", response_model=m.QCInfo, responses=NOT_DONE)
def qc(request: Request, run_id: str = RunId, tok: str = Depends(token)) -> m.QCInfo:
    """The replicate verdict, the PCA, sample-to-sample distances (euclidean, on the VST)
    and the per-sample metrics."""
    from heatseq.cluster import leaf_order, linkage, sample_distances

    _, data = _finished(request, run_id, tok)
    verdict = data.summary.get("verdict") or {}
    pca = data.table("qc/pca.tsv")
    var = data.table("qc/pca_variance.tsv")
    metrics = data.table("qc/qc_metrics.tsv")
    vt = data.table("qc/qc_verdict.tsv")
    samples = data.samples
    vst = data.vst
    d = sample_distances(vst)
    if len(d) > 2:
        finite = vst.to_numpy().T
        finite = finite[:, np.isfinite(finite).all(axis=0)]
        order = list(d.index[leaf_order(linkage(finite))])
    else:
        order = list(d.index)
    d = d.loc[order, order]
    sheet = {str(c): [None if pd.isna(v) else str(v) for v in samples[c]]
             for c in samples.columns}
    pcs = {}
    if pca is not None:
        pca = pca.set_index(pca.columns[0]).reindex(samples.index)
        pcs = {str(c): [float(x) for x in pca[c].fillna(0.0)] for c in pca.columns[:4]}
    return m.QCInfo(
        verdict_summary=verdict.get("summary"), verdict_sentences=verdict.get("sentences", []),
        verdict_table=[{k: _cell(v) for k, v in r.items()} for r in vt.to_dict("records")]
        if vt is not None else [],
        condition=data.plan.get("condition"), samples=[str(s) for s in samples.index],
        sheet=sheet, pca=pcs,
        pca_variance={str(r[0]): float(r[1]) for r in var.itertuples(index=False)}
        if var is not None else {},
        distances=[[float(x) for x in row] for row in d.to_numpy()],
        distance_order=[str(s) for s in order],
        metrics=[{k: _cell(v) for k, v in r.items()} for r in metrics.to_dict("records")]
        if metrics is not None else [],
        figures=[f for f in data.files if f.startswith("qc/") and f.endswith(".png")])


# ---------------------------------------------------------------------- DE
@router.get("/contrasts", response_model=list[m.ContrastInfo], responses=NOT_DONE)
def contrasts(request: Request, run_id: str = RunId,
              tok: str = Depends(token)) -> list[m.ContrastInfo]:
    """The run's contrasts and their DESeq2 summaries."""
    _, data = _finished(request, run_id, tok)
    return [m.ContrastInfo(name=c["name"], stem=c["stem"], summary=c["summary"],
                           n_up=c["n_up"], n_down=c["n_down"], alpha=c["alpha"])
            for c in data.contrasts]


def _de(data: RunData, stem: str) -> pd.DataFrame:
    t = data.de(stem)
    if t is None:
        raise HTTPException(404, f"There is no contrast {stem!r} in this run; its contrasts "
                                 f"are: {', '.join(data.stems())}.")
    return t


SortKey = Literal["gene_id", "symbol", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue",
                  "padj", "log2FoldChange_shrunk", "lfcSE_shrunk"]


@router.get("/de/{stem}", response_model=m.DEPage, responses=NOT_DONE)
def de_page(request: Request, run_id: str = RunId, stem: str = StemPath,
            sort: SortKey = "padj", desc: bool = False,
            q: str = Query("", max_length=200, description="Gene ID or symbol contains this."),
            padj_below: float | None = Query(None, gt=0, le=1),
            min_abs_lfc: float | None = Query(None, ge=0, le=100),
            direction: Literal["any", "up", "down"] = "any",
            offset: int = Query(0, ge=0, le=10_000_000),
            limit: int = Query(50, ge=1, le=1000),
            tok: str = Depends(token)) -> m.DEPage:
    """A page of a contrast's DE table: searched, filtered and sorted on the server."""
    _, data = _finished(request, run_id, tok)
    _de(data, stem)
    out = data.de_page(stem, sort=sort, descending=desc, query=q, padj_below=padj_below,
                       min_abs_lfc=min_abs_lfc, direction=direction, offset=offset,
                       limit=limit)
    assert out is not None
    cols, rows, total, n_all = out
    return m.DEPage(stem=stem, columns=cols, rows=rows, total=total, n_genes=n_all,
                    offset=offset, limit=limit)


@router.get("/de/{stem}/points", response_model=m.DEPoints, responses=NOT_DONE)
def de_points(request: Request, run_id: str = RunId, stem: str = StemPath,
              tok: str = Depends(token)) -> m.DEPoints:
    """Every gene with a p-value, column-wise, for the volcano and MA plots."""
    _, data = _finished(request, run_id, tok)
    t = _de(data, stem)
    t = t[t["pvalue"].notna() & t["log2FoldChange"].notna() & (t["baseMean"] > 0)]
    info = next(c for c in data.contrasts if c["stem"] == stem)
    shr = t["log2FoldChange_shrunk"] if "log2FoldChange_shrunk" in t.columns else None
    sym = t["symbol"] if "symbol" in t.columns else pd.Series(None, index=t.index)
    return m.DEPoints(stem=stem, name=info["name"], alpha=info["alpha"],
                      gene_id=[str(g) for g in t.index],
                      symbol=[None if pd.isna(s) else str(s) for s in sym],
                      base_mean=[float(x) for x in t["baseMean"]],
                      lfc=[float(x) for x in t["log2FoldChange"]],
                      lfc_shrunk=_floats(shr) if shr is not None else [None] * len(t),
                      padj=_floats(t["padj"]), pvalue=[float(x) for x in t["pvalue"]])


@router.get("/genes/{gene}", response_model=m.GeneInfo, responses=NOT_DONE)
def gene(request: Request, run_id: str = RunId,
         gene: str = Path(min_length=1, max_length=200), tok: str = Depends(token)) -> m.GeneInfo:
    """One gene (ID or symbol, any case) in every contrast of the run."""
    _, data = _finished(request, run_id, tok)
    tables = data.de_tables()
    if not tables:
        raise HTTPException(404, "This run has no DE table.")
    first = next(iter(tables.values()))
    key = gene.strip()
    gid = key if key in first.index else None
    if gid is None and "symbol" in first.columns:
        hit = first.index[first["symbol"].fillna("").str.upper() == key.upper()]
        gid = str(hit[0]) if len(hit) else None
    if gid is None:
        hit = first.index[first.index.str.upper() == key.upper()]
        gid = str(hit[0]) if len(hit) else None
    if gid is None:
        raise HTTPException(404, f"No gene {gene!r} (ID or symbol) in this run.")
    out = {}
    for stem, t in tables.items():
        row = t.loc[gid]
        out[stem] = {c: _cell(row[c]) for c in ("baseMean", "log2FoldChange", "lfcSE",
                                               "pvalue", "padj", "log2FoldChange_shrunk")
                     if c in t.columns}
    sym = first.loc[gid, "symbol"] if "symbol" in first.columns else None
    return m.GeneInfo(gene_id=gid, symbol=None if pd.isna(sym) else str(sym), contrasts=out)


# ---------------------------------------------------------------------- heatmap
def _options(body: m.HeatmapRequest) -> HeatmapOptions:
    return HeatmapOptions(genes=body.genes, n=body.n, contrast=body.contrast,
                          gene_list=tuple(g.strip() for g in body.gene_list if g.strip()),
                          alpha=body.alpha, scale=body.scale, metric=body.metric,
                          method=body.method, cluster_samples=body.cluster_samples, k=body.k)


def _view(request: Request, run_id: str, view_id: str, tok: str) -> tuple[RunData, View]:
    _, data = _finished(request, run_id, tok)
    v = ctx_of(request).views.view(run_id, view_id)
    if v is None:
        raise HTTPException(404, f"Heatmap view {view_id} is not (or no longer) computed; "
                                 "ask for it again with POST /api/runs/{run_id}/heatmap.")
    return data, v


@router.post("/heatmap", response_model=m.HeatmapViewInfo,
             responses={**NOT_DONE, 400: {"description": "Options that cannot be used."}})
def heatmap_view(body: m.HeatmapRequest, request: Request, run_id: str = RunId,
                 tok: str = Depends(token)) -> m.HeatmapViewInfo:
    """Cluster the run's VST with these options (cached: a change of k alone re-cuts the
    cached gene tree). The matrix comes from ``matrix_url``: uint16 little-endian, genes x
    samples in the drawn order, value = lo + code * (hi - lo) / 65534, 65535 = missing."""
    from heatseq.errors import HeatseqError

    _, data = _finished(request, run_id, tok)
    opt = _options(body)
    plan = data.plan
    if opt.genes == "de" and opt.contrast is None and data.stems():
        opt = HeatmapOptions(**{**opt.__dict__, "contrast": data.stems()[0]})

    def compute(tree: Any) -> Any:
        return compute_view(data.vst, opt, samples=data.samples, condition=plan.get("condition"),
                            annotate=plan.get("annotate", []), de_tables=data.de_tables(),
                            symbols=data.symbols, tree=tree)

    try:
        v = ctx_of(request).views.get(run_id, opt, compute)
    except HeatseqError as exc:
        raise HTTPException(400, str(exc)) from None
    meta = dict(v.meta)
    meta["matrix_url"] = f"/api/runs/{run_id}/heatmap/{v.id}/matrix"
    return m.HeatmapViewInfo(**meta)


@router.get("/heatmap/{view_id}/matrix", responses={**NOT_DONE, 200: {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    "description": "uint16 codes, genes x samples, row-major."}}, response_class=Response)
def heatmap_matrix(request: Request, run_id: str = RunId, view_id: str = ViewPath,
                   tok: str = Depends(token)) -> Response:
    """The view's matrix as binary codes (see POST /heatmap)."""
    _, v = _view(request, run_id, view_id, tok)
    return Response(v.matrix, media_type="application/octet-stream",
                    headers={"Cache-Control": "private, max-age=3600"})


def _enrichment_of(data: RunData, genes: list[str], universe: list[str],
                   organism: str | None) -> tuple[m.EnrichmentTable | None, str | None]:
    try:
        from heatseq.enrich.analysis import enrich_list
    except ImportError:
        return None, "Enrichment is not available in this installation of heatseq."
    if organism not in ("human", "mouse"):
        return None, ("Module enrichment needs human or mouse genes (heatseq bundles GO, "
                      "Reactome and Hallmark for them); this run's organism is "
                      f"{organism or 'not known'}.")
    sym = data.symbols
    if sym is None:
        return None, "The genes have no symbols, so they cannot be matched to gene sets."
    g = [s for s in pd.unique(sym.reindex(genes).dropna().astype(str))]
    u = [s for s in pd.unique(sym.reindex(universe).dropna().astype(str))]
    from heatseq.errors import HeatseqError

    try:
        res = enrich_list(g, universe=u, organism=organism, list_name="module")
    except HeatseqError as exc:
        return None, str(exc)
    t = res.top(n=25, padj=1.0)
    cols = [c for c in ("collection", "term_id", "term_name", "set_size", "overlap",
                        "expected", "fold_enrichment", "pvalue", "padj", "genes")
            if c in t.columns]
    rows = [[_cell(v) for v in r] for r in t[cols].itertuples(index=False, name=None)]
    note = (f"ORA of the module's {len(g):,} genes against the {len(u):,} clustered genes "
            f"(with a symbol); {', '.join(f'{k}: {v}' for k, v in res.releases.items())}.")
    return m.EnrichmentTable(columns=cols, rows=rows, total=len(res.table), note=note), None


@router.get("/heatmap/{view_id}/modules/{module}", response_model=m.ModuleDetail,
            responses=NOT_DONE)
def heatmap_module(request: Request, run_id: str = RunId, view_id: str = ViewPath,
                   module: int = Path(ge=1, le=30), tok: str = Depends(token)) -> m.ModuleDetail:
    """A module's genes (with their DE statistics) and its over-representation in GO,
    Reactome and Hallmark sets (human, mouse) when heatseq.enrich is installed."""
    run, data = _finished(request, run_id, tok)
    _, v = _view(request, run_id, view_id, tok)
    c = v.clustering
    if c.modules is None or module not in set(c.modules.tolist()):
        raise HTTPException(404, f"View {view_id} has no module {module}.")
    genes = [str(g) for g in c.row_order if c.modules[g] == module]
    summary = next(s for s in c.module_summaries if s.module == module)
    first = data.de(data.stems()[0]) if data.stems() else None
    rows = []
    for g in genes:
        row: dict[str, Any] = {"gene_id": g, "label": str(c.row_labels.get(g, g))}
        if first is not None and g in first.index:
            row["log2FoldChange"] = _cell(first.at[g, "log2FoldChange"])
            row["padj"] = _cell(first.at[g, "padj"])
        rows.append(row)
    ctx = ctx_of(request)
    key = ("enrich", run_id, view_id, module)
    if key not in ctx.extra:
        ctx.extra[key] = _enrichment_of(data, genes, [str(g) for g in c.row_order],
                                        run.params.get("organism"))
    table, note = ctx.extra[key]
    return m.ModuleDetail(module=module, text=summary.text, genes=rows, enrichment=table,
                          enrichment_note=note)


@router.get("/heatmap/{view_id}/figure", responses={**NOT_DONE, 200: {"content": {
    "image/png": {}, "image/svg+xml": {}, "application/pdf": {}},
    "description": "The figure."}}, response_class=Response)
def heatmap_figure(request: Request, run_id: str = RunId, view_id: str = ViewPath,
                   format: Literal["png", "svg", "pdf"] = "png",
                   palette: Literal["rdbu", "rbg", "viridis", "cb_diverging"] = "rdbu",
                   tok: str = Depends(token)) -> Response:
    """The heatmap as set on the page, drawn by :func:`heatseq.plot.heatmap` (PNG, SVG or
    PDF)."""
    from heatseq.plot import heatmap, save_figure

    _, data = _finished(request, run_id, tok)
    _, v = _view(request, run_id, view_id, tok)
    ctx = ctx_of(request)
    folder = ctx.store.run_dir(run_id) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"heatmap-{view_id}-{palette}.{format}"
    if not target.exists():
        annotate = tuple(a for a in data.plan.get("annotate", []) if a in data.samples.columns)
        fig = heatmap(v.clustering, samples=data.samples, annotate=annotate,
                      palette=palette, title="heatseq heatmap")  # type: ignore[arg-type]
        save_figure(fig, target, dpi=200)
    media = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}[format]
    return FileResponse(target, media_type=media, filename=f"heatmap.{format}")


# ---------------------------------------------------------------------- files
def _file_info(run_id: str, data: RunData, rel: str) -> m.FileInfo:
    kind = file_kind(rel)
    formats = {"table": ["tsv", "xlsx"], "report": ["html"]}.get(kind, [rel.rsplit(".", 1)[-1]])
    return m.FileInfo(path=rel, kind=kind, size=(data.out / rel).stat().st_size,  # type: ignore[arg-type]
                      formats=formats, url=f"/api/runs/{run_id}/files/{rel}")


@router.get("/files", response_model=list[m.FileInfo], responses=NOT_DONE)
def files(request: Request, run_id: str = RunId, tok: str = Depends(token)) -> list[m.FileInfo]:
    """Every output of the run (as run.json lists them), with the formats it can be
    downloaded as."""
    _, data = _finished(request, run_id, tok)
    return [_file_info(run_id, data, f) for f in data.files]


def _xlsx(request: Request, run_id: str, data: RunData, rel: str) -> FileResponse:
    ctx = ctx_of(request)
    folder = ctx.store.run_dir(run_id) / "xlsx"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (hashlib.sha256(rel.encode()).hexdigest()[:20] + ".xlsx")
    with _xlsx_lock:
        if not target.exists():
            frame = data.table(rel)
            assert frame is not None
            buf = io.BytesIO()
            sheet = safe_file_name(rel.rsplit("/", 1)[-1].split(".")[0], "table")[:31]
            frame.to_excel(buf, index=False, sheet_name=sheet, engine="openpyxl")
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(buf.getvalue())
            tmp.replace(target)
    stem = rel.rsplit("/", 1)[-1].rsplit(".tsv", 1)[0]
    return FileResponse(target, filename=f"{safe_file_name(stem, 'table')}.xlsx", media_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


_MEDIA = {".png": "image/png", ".svg": "image/svg+xml", ".pdf": "application/pdf",
          ".tsv": "text/tab-separated-values; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".json": "application/json", ".txt": "text/plain; charset=utf-8",
          ".log": "text/plain; charset=utf-8"}


@router.get("/files/{path:path}", responses={**NOT_DONE, 200: {
    "content": {"application/octet-stream": {}}, "description": "The file."}},
    response_class=Response)
def file(request: Request, run_id: str = RunId,
         path: str = Path(min_length=1, max_length=500), format: str | None = Query(
             None, pattern=r"^(tsv|xlsx|png|svg|pdf|html|json|txt|log)$"),
         tok: str = Depends(token)) -> Response:
    """One output of the run; tables also as XLSX (``format=xlsx``), figures in the other
    formats the run wrote (``format=pdf``)."""
    _, data = _finished(request, run_id, tok)
    if path not in data.files:
        raise HTTPException(404, f"{path!r} is not an output of this run; GET "
                                 f"/api/runs/{run_id}/files lists them.")
    kind = file_kind(path)
    if format == "xlsx":
        if kind != "table":
            raise HTTPException(400, f"{path} is not a table; only tables (.tsv) are offered "
                                     "as XLSX.")
        return _xlsx(request, run_id, data, path)
    rel = path
    if format is not None and kind == "figure" and not path.endswith("." + format):
        rel = path.rsplit(".", 1)[0] + "." + format
        if rel not in data.files:
            raise HTTPException(404, f"The run wrote no {format.upper()} of this figure.")
    target = data.path(rel)
    assert target is not None
    suffix = "." + rel.rsplit(".", 1)[-1]
    inline = kind in ("figure", "report", "text") and request.query_params.get("download") != "1"
    return FileResponse(target, media_type=_MEDIA.get(suffix, "application/octet-stream"),
                        filename=rel.rsplit("/", 1)[-1],
                        content_disposition_type="inline" if inline else "attachment")


@router.get("/report", response_class=HTMLResponse, responses=NOT_DONE)
def report(request: Request, run_id: str = RunId, tok: str = Depends(token)) -> Response:
    """The run's self-contained report.html."""
    _, data = _finished(request, run_id, tok)
    target = data.path("report.html")
    if target is None:
        raise HTTPException(404, "This run has no report.")
    download = request.query_params.get("download") == "1"
    return FileResponse(target, media_type="text/html; charset=utf-8",
                        filename=f"heatseq_report_{run_id}.html",
                        content_disposition_type="attachment" if download else "inline",
                        headers={"Content-Security-Policy": REPORT_CSP})


REPORT_CSP = ("default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; "
              "script-src 'unsafe-inline'; font-src data:; sandbox allow-scripts "
              "allow-downloads allow-popups")


@router.get("/script", response_class=PlainTextResponse, responses=NOT_DONE)
def script(request: Request, run_id: str = RunId,
           view: str | None = Query(None, pattern=r"^[0-9a-f]{16}$",
                                    description="A heatmap view whose options to use."),
           tok: str = Depends(token)) -> Response:
    """A Python script that reproduces the run with heatseq's public API (and, given a
    view, the heatmap as set up on the page)."""
    ctx = ctx_of(request)
    run, data = _finished(request, run_id, tok)
    _, project = ctx.run(tok, run_id)
    counts = ctx.store.upload(run.counts_upload)
    samples = ctx.store.upload(run.samples_upload)
    assert counts is not None and samples is not None
    options = None
    if view is not None:
        v = ctx.views.view(run_id, view)
        if v is None:
            raise HTTPException(404, f"Heatmap view {view} is not (or no longer) computed.")
        options = dict(v.options.__dict__)
        options["gene_list"] = list(v.options.gene_list)
    text = reproduce_script(run_id=run.id, project=project.name, counts_name=counts.name,
                            samples_name=samples.name, params=run.params,
                            summary=data.summary, heatmap=options)
    return Response(text, media_type="text/x-python; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="reproduce_{run.id}.py"'})


# ---------------------------------------------------------------------- enrichment
@router.get("/enrichment", response_model=m.EnrichmentInfo, responses=NOT_DONE)
def enrichment(request: Request, run_id: str = RunId,
               tok: str = Depends(token)) -> m.EnrichmentInfo:
    """The run's enrichment tables and figures (under enrich/), when it produced them."""
    _, data = _finished(request, run_id, tok)
    tables = [_file_info(run_id, data, f) for f in data.files
              if f.startswith("enrich/") and file_kind(f) == "table"]
    figures = [_file_info(run_id, data, f) for f in data.files
               if f.startswith("enrich/") and f.endswith(".png")]
    if not tables and not figures:
        return m.EnrichmentInfo(available=False, note=(
            "This run has no enrichment outputs (heatseq run writes them under enrich/ when "
            "it runs GO/pathway enrichment). Click a module on the Heatmap page for its "
            "enrichment."))
    return m.EnrichmentInfo(available=True, tables=tables, figures=figures)


@router.get("/table/{path:path}", response_model=m.EnrichmentTable, responses=NOT_DONE)
def table(request: Request, run_id: str = RunId, path: str = Path(min_length=1, max_length=500),
          sort: str | None = Query(None, max_length=100), desc: bool = False,
          q: str = Query("", max_length=200), offset: int = Query(0, ge=0, le=10_000_000),
          limit: int = Query(100, ge=1, le=1000),
          tok: str = Depends(token)) -> m.EnrichmentTable:
    """Rows of any table the run wrote (e.g. an enrichment table), sorted and searched."""
    _, data = _finished(request, run_id, tok)
    if path not in data.files or file_kind(path) != "table":
        raise HTTPException(404, f"{path!r} is not a table of this run.")
    frame = data.table(path)
    assert frame is not None
    if q.strip():
        text = frame.astype(str).apply(lambda col: col.str.contains(q.strip(), case=False,
                                                                    regex=False))
        frame = frame[text.any(axis=1).to_numpy()]
    if sort is not None and sort in frame.columns:
        frame = frame.sort_values(sort, ascending=not desc, na_position="last", kind="mergesort")
    page = frame.iloc[offset:offset + limit]
    return m.EnrichmentTable(columns=[str(c) for c in page.columns],
                             rows=[[_cell(v) for v in r]
                                   for r in page.itertuples(index=False, name=None)],
                             total=len(frame))
