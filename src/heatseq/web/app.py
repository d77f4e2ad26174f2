"""The FastAPI application: the JSON API (:mod:`~heatseq.web.api_projects`,
:mod:`~heatseq.web.api_results`), the page and its static files, plotly.js from the installed
plotly package, and the security layer (Host check, security headers, session cookie).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heatseq._version import __version__
from heatseq.web.context import Settings, WebContext
from heatseq.web.jobs import JobRunner
from heatseq.web.store import Store

__all__ = ["create_app", "plotly_js"]

log = logging.getLogger(__name__)

STATIC = Path(str(resources.files("heatseq.web") / "static"))
PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-eval'; connect-src 'self'; frame-src 'self'; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


def plotly_js() -> Path:
    """The ``plotly.min.js`` inside the installed plotly package (never a copy, never a CDN).

    Raises
    ------
    FileNotFoundError
        When plotly is not installed.
    """
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js is not in the plotly package at {path.parent}; "
                                "reinstall plotly: pip install --force-reinstall plotly")
    return path


class _Guard:
    """Refuses requests for another host name (DNS rebinding) and adds security headers."""

    def __init__(self, app: ASGIApp, *, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.allowed is not None:
            host = ""
            for k, v in scope.get("headers", []):
                if k == b"host":
                    host = v.decode("latin-1")
                    break
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
            if name.lower() not in self.allowed:
                resp = JSONResponse({"detail": f"This heatseq server answers only to "
                                               f"{', '.join(sorted(self.allowed))}; the request "
                                               f"was for host {host!r}."}, status_code=421)
                await resp(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"x-frame-options", b"SAMEORIGIN"),
                         (b"referrer-policy", b"no-referrer"),
                         (b"cross-origin-opener-policy", b"same-origin")]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", PAGE_CSP.encode()))
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, *, start_jobs: bool = True) -> FastAPI:
    """The web app over a data dir.

    Parameters
    ----------
    settings
        Data dir, limits, workers.
    start_jobs
        Start the job runner with the app (off in tests that only look at the spec).
    """
    store = Store(settings.data_dir)
    runner = JobRunner(store, workers=settings.workers, timeout=settings.job_timeout)
    ctx = WebContext(settings=settings, store=store, runner=runner)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_jobs:
            runner.start()
        try:
            yield
        finally:
            if start_jobs:
                runner.stop()
            store.close()

    app = FastAPI(
        title="heatseq", version=__version__, lifespan=lifespan,
        description="The heatseq web app's API: upload counts and a sample sheet, check the "
                    "design, run the analysis in the background, and read its QC, DE tables, "
                    "heatmaps, enrichment and downloads. Every request needs a session "
                    "(POST /api/session; send the token in the X-Heatseq-Session header).",
        docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.ctx = ctx

    from heatseq.web import api_projects, api_results

    app.include_router(api_projects.router)
    app.include_router(api_results.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        resp = HTMLResponse(page.replace("{{version}}", __version__),
                            headers={"Cache-Control": "no-store"})
        tok = WebContext.token_of(request)
        if not tok or len(tok) > 200 or not store.session_exists(tok):
            api_projects.set_cookie(resp, store.new_session(), secure=settings.secure_cookie)
        return resp

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> Response:
        return FileResponse(plotly_js(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"heatseq hit an internal error ({type(exc).__name__}). "
                                       "This is a bug; the server log has the details."},
                            status_code=500)

    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    guarded: Any = app
    app.add_middleware(_Guard, allowed=settings.allowed_hosts)
    return guarded
