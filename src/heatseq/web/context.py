"""What every request handler shares: the settings, the store, the job runner, the caches,
and the checks that a project or run belongs to the caller's session."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.security import APIKeyCookie, APIKeyHeader

from heatseq.web.heatmap import ViewCache
from heatseq.web.jobs import JobRunner
from heatseq.web.results import RunData, RunDataCache
from heatseq.web.store import Project, Run, Store, Upload

__all__ = ["COOKIE", "HEADER", "Settings", "WebContext", "is_loopback"]

COOKIE = "heatseq_session"
HEADER = "X-Heatseq-Session"
DEFAULT_MAX_UPLOAD = 500 * 1024 * 1024

header_scheme = APIKeyHeader(name=HEADER, auto_error=False,
                             description="The token of POST /api/session.")
cookie_scheme = APIKeyCookie(name=COOKIE, auto_error=False,
                             description="Set by the app's page and by POST /api/session.")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """The server's settings (``heatseq serve``'s options).

    Attributes
    ----------
    data_dir
        Where the store lives.
    max_upload_bytes
        Largest accepted upload.
    workers
        Analyses running at once.
    job_timeout
        Seconds before a running analysis is stopped.
    allowed_hosts
        Host names the app answers to (the ``Host`` header, without port); None: any. A
        server on 127.0.0.1 answers only to loopback names, which keeps web pages on other
        sites from reaching it through DNS rebinding.
    """

    data_dir: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    workers: int = 2
    job_timeout: float = 3600.0
    allowed_hosts: frozenset[str] | None = None
    secure_cookie: bool = False


@dataclass
class WebContext:
    """The server's state, one per app."""

    settings: Settings
    store: Store
    runner: JobRunner
    views: ViewCache = field(default_factory=ViewCache)
    run_data: RunDataCache = field(default_factory=RunDataCache)
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ sessions
    @staticmethod
    def token_of(request: Request) -> str | None:
        return request.headers.get(HEADER) or request.cookies.get(COOKIE)

    def session(self, request: Request) -> str:
        """The caller's session token, or 401."""
        token = self.token_of(request)
        if not token or len(token) > 200 or not self.store.session_exists(token):
            raise HTTPException(401, "No valid session. Open the app's page (it starts one), or "
                                     f"POST /api/session and send its token in the {HEADER} "
                                     "header.")
        return token

    # ------------------------------------------------------------------ ownership
    def project(self, token: str, project_id: str) -> Project:
        """The caller's project, or 404 (also for another session's project)."""
        p = self.store.project(token, project_id)
        if p is None:
            raise HTTPException(404, f"There is no project {project_id} in this session. "
                                     "Projects are private to the browser session that "
                                     "created them; choose one from the list.")
        return p

    def run(self, token: str, run_id: str) -> tuple[Run, Project]:
        """The caller's run and its project, or 404."""
        r = self.store.run(run_id)
        p = None if r is None else self.store.project(token, r.project_id)
        if r is None or p is None:
            raise HTTPException(404, f"There is no run {run_id} in this session; choose a run "
                                     "from the project's list.")
        return r, p

    def upload(self, project: Project, upload_id: str | None) -> Upload | None:
        if upload_id is None:
            return None
        u = self.store.upload(upload_id)
        return u if u is not None and u.project_id == project.id else None

    def finished(self, token: str, run_id: str) -> tuple[Run, RunData]:
        """A finished run's data, or 404 / 409 (still running, or failed)."""
        run, _ = self.run(token, run_id)
        if run.status != "done" or run.summary is None:
            words = {"queued": "is waiting for a free worker", "running": "is still running",
                     "failed": "failed"}.get(run.status, run.status)
            raise HTTPException(409, f"Run {run_id} {words}; its results appear when it is "
                                     "done." + (f" Its error: {run.error}" if run.error else ""))
        samples = self.store.upload(run.samples_upload)
        assert samples is not None
        from heatseq.web.uploads import input_path

        sheet = input_path(self.store, samples)
        data = self.run_data.get(run.id, lambda: RunData(
            self.store.run_dir(run.id) / "out", run.summary or {}, sheet))
        return run, data
