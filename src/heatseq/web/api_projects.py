"""API routes of sessions, projects, uploads, the design check and starting runs."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from heatseq.web import models as m
from heatseq.web.checks import check_plan, inspect_uploads
from heatseq.web.context import COOKIE, WebContext, cookie_scheme, header_scheme
from heatseq.web.script import safe_file_name
from heatseq.web.store import Project, Run, Upload
from heatseq.web.uploads import UploadRejected, check_name, receive, too_large

__all__ = ["router", "run_detail"]

router = APIRouter(prefix="/api")
ProjectId = Path(pattern=m.ID, description="A project ID (16 hex digits).")
RunId = Path(pattern=m.ID, description="A run ID (16 hex digits).")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid session."},
    404: {"description": "Not found in this session."},
}


def ctx_of(request: Request) -> WebContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def token(request: Request, _h: str | None = Depends(header_scheme),
          _c: str | None = Depends(cookie_scheme)) -> str:
    """The caller's session (header or cookie), or 401."""
    return ctx_of(request).session(request)


def upload_info(u: Upload | None) -> m.UploadInfo | None:
    if u is None:
        return None
    return m.UploadInfo(id=u.id, kind=u.kind, name=u.name, sha256=u.sha256,  # type: ignore[arg-type]
                        size=u.size, created=u.created)


def _stages() -> list[str]:
    from heatseq.workflow.run import STAGES

    return list(STAGES)


def run_detail(ctx: WebContext, run: Run, project: Project) -> m.RunDetail:
    stages = _stages()
    if run.status == "done":
        progress = 1.0
    elif run.stage in stages:
        progress = stages.index(run.stage) / len(stages)
    else:
        progress = 0.0
    return m.RunDetail(
        id=run.id, project_id=run.project_id, status=run.status,  # type: ignore[arg-type]
        stage=run.stage, stages=stages, progress=progress, params=dict(run.params),
        counts=upload_info(ctx.upload(project, run.counts_upload)),
        samples=upload_info(ctx.upload(project, run.samples_upload)),
        created=run.created, started=run.started, finished=run.finished, error=run.error,
        events=[m.RunEvent(at=a, stage=s) for a, s in ctx.store.events(run.id)],
        summary=dict(run.summary) if run.summary is not None else None)


def project_info(ctx: WebContext, p: Project, *, detail: bool = False) -> Any:
    runs = ctx.store.runs(p.id)
    base = {"id": p.id, "name": p.name, "created": p.created,
            "counts": upload_info(ctx.upload(p, p.counts_upload)),
            "samples": upload_info(ctx.upload(p, p.samples_upload)), "n_runs": len(runs)}
    if not detail:
        return m.ProjectInfo(**base)
    return m.ProjectDetail(**base, uploads=[upload_info(u) for u in ctx.store.uploads(p.id)],
                           runs=[run_detail(ctx, r, p) for r in runs])


def set_cookie(response: Response, token_value: str, *, secure: bool) -> None:
    response.set_cookie(COOKIE, token_value, httponly=True, samesite="strict", secure=secure,
                        max_age=365 * 24 * 3600, path="/")


# ---------------------------------------------------------------------- sessions, config
@router.post("/session", response_model=m.SessionInfo, status_code=201, tags=["session"])
def new_session(request: Request, response: Response) -> m.SessionInfo:
    """Start a session: its projects are visible to it only. The token is also set as a
    cookie (the page's way); API clients send it in the X-Heatseq-Session header."""
    ctx = ctx_of(request)
    value = ctx.store.new_session()
    set_cookie(response, value, secure=ctx.settings.secure_cookie)
    return m.SessionInfo(token=value)


@router.get("/config", response_model=m.ConfigInfo, tags=["session"])
def config(request: Request) -> m.ConfigInfo:
    """The limits and options the page needs."""
    import importlib.util

    from heatseq._version import __version__
    from heatseq.web.heatmap import palette_tables

    ctx = ctx_of(request)
    if "palettes" not in ctx.extra:
        ctx.extra["palettes"] = palette_tables()
    return m.ConfigInfo(version=__version__, max_upload_bytes=ctx.settings.max_upload_bytes,
                        workers=ctx.runner.workers, palettes=ctx.extra["palettes"],
                        enrichment=importlib.util.find_spec("heatseq.enrich.analysis")
                        is not None)


# ---------------------------------------------------------------------- projects
@router.get("/projects", response_model=list[m.ProjectInfo], responses=ERRORS, tags=["projects"])
def list_projects(request: Request, tok: str = Depends(token)) -> list[m.ProjectInfo]:
    """The session's projects, newest first."""
    ctx = ctx_of(request)
    return [project_info(ctx, p) for p in ctx.store.projects(tok)]


@router.post("/projects", response_model=m.ProjectInfo, status_code=201, responses=ERRORS,
             tags=["projects"])
def create_project(body: m.ProjectCreate, request: Request,
                   tok: str = Depends(token)) -> m.ProjectInfo:
    """A new, empty project."""
    ctx = ctx_of(request)
    return project_info(ctx, ctx.store.create_project(tok, body.name.strip() or "Untitled"))


@router.get("/projects/{project_id}", response_model=m.ProjectDetail, responses=ERRORS,
            tags=["projects"])
def get_project(request: Request, project_id: str = ProjectId,
                tok: str = Depends(token)) -> m.ProjectDetail:
    """A project with its uploads and runs."""
    ctx = ctx_of(request)
    return project_info(ctx, ctx.project(tok, project_id), detail=True)


# ---------------------------------------------------------------------- uploads
def _inspection(ctx: WebContext, p: Project) -> m.Inspection:
    data = inspect_uploads(ctx.store, ctx.upload(p, p.counts_upload),
                           ctx.upload(p, p.samples_upload))
    return m.Inspection(**data)


def _reload(ctx: WebContext, tok: str, p: Project) -> Project:
    return ctx.project(tok, p.id)


UPLOAD_BODY = {"requestBody": {"required": True, "description": "The file's bytes.",
                               "content": {"application/octet-stream": {
                                   "schema": {"type": "string", "format": "binary"}}}}}


@router.put("/projects/{project_id}/uploads/{kind}", response_model=m.Inspection,
            status_code=201, tags=["uploads"], openapi_extra=UPLOAD_BODY,
            responses={**ERRORS, 400: {"description": "A refused file: the message says why."},
                       413: {"description": "Over the upload limit."}})
async def upload(request: Request, kind: Literal["counts", "samples"],
                 project_id: str = ProjectId,
                 name: str = Query(..., min_length=1, max_length=1000,
                                   description="The file's name, for display only."),
                 tok: str = Depends(token)) -> Any:
    """Upload the count table or the sample sheet (the raw bytes as the body). The file is
    stored unchanged under its SHA-256; the answer is what heatseq detected in the project's
    files, with every problem and its fix."""
    ctx = ctx_of(request)
    p = await run_in_threadpool(ctx.project, tok, project_id)
    limit = ctx.settings.max_upload_bytes
    try:
        shown = check_name(name)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise UploadRejected(too_large(shown, int(declared), limit), status=413)
        sha, size = await receive(ctx.store, request.stream(), name=shown, limit=limit)
    except UploadRejected as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status,
                            headers={"Connection": "close"} if exc.status == 413 else None)
    await run_in_threadpool(ctx.store.add_upload, p.id, kind=kind, name=shown, sha256=sha,
                            size=size)
    p = await run_in_threadpool(_reload, ctx, tok, p)
    return await run_in_threadpool(_inspection, ctx, p)


@router.post("/projects/{project_id}/demo", response_model=m.Inspection, status_code=201,
             responses=ERRORS, tags=["uploads"])
def use_demo(request: Request, project_id: str = ProjectId,
             tok: str = Depends(token)) -> m.Inspection:
    """Use the bundled airway data (Himes et al. 2014: 4 cell lines, untreated and
    dexamethasone-treated) as the project's files."""
    from heatseq.datasets import airway_files

    ctx = ctx_of(request)
    p = ctx.project(tok, project_id)
    for kind, path, shown in zip(("counts", "samples"), airway_files(),
                                 ("airway_counts.tsv.gz", "airway_samples.csv"), strict=True):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        tmp = ctx.store.tmp_file()
        tmp.write_bytes(data)
        ctx.store.add_blob(tmp, sha, len(data))
        ctx.store.add_upload(p.id, kind=kind, name=shown, sha256=sha, size=len(data))
    return _inspection(ctx, _reload(ctx, tok, p))


@router.get("/projects/{project_id}/inspection", response_model=m.Inspection,
            responses=ERRORS, tags=["uploads"])
def get_inspection(request: Request, project_id: str = ProjectId,
                   tok: str = Depends(token)) -> m.Inspection:
    """What heatseq detected in the project's current files."""
    ctx = ctx_of(request)
    return _inspection(ctx, ctx.project(tok, project_id))


@router.get("/projects/{project_id}/uploads/{upload_id}/file", responses=ERRORS,
            tags=["uploads"], response_class=FileResponse)
def get_upload_file(request: Request, project_id: str = ProjectId,
                    upload_id: str = Path(pattern=m.ID), tok: str = Depends(token)) -> Any:
    """An uploaded file, byte for byte as it was received."""
    ctx = ctx_of(request)
    p = ctx.project(tok, project_id)
    u = ctx.upload(p, upload_id)
    if u is None:
        raise HTTPException(404, f"There is no upload {upload_id} in project {p.id}.")
    return FileResponse(ctx.store.blob_path(u.sha256), media_type="application/octet-stream",
                        filename=safe_file_name(u.name, f"{u.kind}.txt"))


# ---------------------------------------------------------------------- design and runs
def _current(ctx: WebContext, p: Project) -> tuple[Upload, Upload]:
    counts = ctx.upload(p, p.counts_upload)
    samples = ctx.upload(p, p.samples_upload)
    if counts is None or samples is None:
        missing = " and ".join(w for w, u in (("a count table", counts),
                                              ("a sample sheet", samples)) if u is None)
        raise HTTPException(409, f"The project needs {missing} before a design can be "
                                 "checked or run. Upload it on the Data page (or use the demo "
                                 "data).")
    return counts, samples


@router.post("/projects/{project_id}/plan", response_model=m.PlanResult, responses=ERRORS,
             tags=["runs"])
def plan(body: m.PlanRequest, request: Request, project_id: str = ProjectId,
         tok: str = Depends(token)) -> m.PlanResult:
    """Check a design and contrast against the sample sheet (nothing is fitted): the
    decisions in words, or the reason it cannot be fitted and the fix."""
    ctx = ctx_of(request)
    counts, samples = _current(ctx, ctx.project(tok, project_id))
    return m.PlanResult(**check_plan(ctx.store, counts, samples, design=body.design,
                                     contrast=body.contrast))


@router.post("/projects/{project_id}/runs", response_model=m.RunDetail, status_code=202,
             responses={**ERRORS, 400: {"description": "The design cannot be fitted."},
                        409: {"description": "The files are not ready."}}, tags=["runs"])
def start_run(body: m.RunRequest, request: Request, project_id: str = ProjectId,
              tok: str = Depends(token)) -> m.RunDetail:
    """Queue an analysis of the project's current files with these options; it runs in the
    background (GET /api/runs/{id} for its progress)."""
    ctx = ctx_of(request)
    p = ctx.project(tok, project_id)
    counts, samples = _current(ctx, p)
    info = inspect_uploads(ctx.store, counts, samples)
    if info.get("error"):
        raise HTTPException(409, info["error"])
    checked = check_plan(ctx.store, counts, samples, design=body.design, contrast=body.contrast)
    if not checked["ok"]:
        raise HTTPException(400, checked["error"])
    params = body.model_dump()
    params["design"] = checked["design"]
    params["contrasts"] = [body.contrast] if body.contrast else []
    params.pop("contrast")
    params["formats"] = list(dict.fromkeys(["png", *body.formats]))
    if params["organism"] == "auto" and info.get("organism"):
        params["organism"] = info["organism"]
    run = ctx.store.create_run(p.id, params=params, counts_upload=counts.id,
                               samples_upload=samples.id)
    ctx.runner.submit()
    return run_detail(ctx, run, p)


@router.get("/runs/{run_id}", response_model=m.RunDetail, responses=ERRORS, tags=["runs"])
def get_run(request: Request, run_id: str = RunId, tok: str = Depends(token)) -> m.RunDetail:
    """A run's status, stage and progress; its summary when done, its error when failed."""
    ctx = ctx_of(request)
    run, p = ctx.run(tok, run_id)
    return run_detail(ctx, run, p)


@router.post("/runs/{run_id}/rerun", response_model=m.RunDetail, status_code=202,
             responses=ERRORS, tags=["runs"])
def rerun(request: Request, run_id: str = RunId, tok: str = Depends(token)) -> m.RunDetail:
    """Queue the same analysis again (same files, same options): after a failure or an
    interrupted run."""
    ctx = ctx_of(request)
    run, p = ctx.run(tok, run_id)
    new = ctx.store.create_run(p.id, params=run.params, counts_upload=run.counts_upload,
                               samples_upload=run.samples_upload)
    ctx.runner.submit()
    return run_detail(ctx, new, p)
