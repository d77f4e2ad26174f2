"""Helpers of the web app's tests: a real ``heatseq serve`` process on a free loopback port,
and an HTTP client with its own session.

Not a test module: imported by ``tests/test_web_*.py``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
AIRWAY = ROOT / "src" / "heatseq" / "data" / "airway"


def artifact_dir(name: str) -> Path:
    """``$HEATSEQ_ARTIFACTS/<name>`` or ``test-artifacts/<name>`` (git-ignored)."""
    env = os.environ.get("HEATSEQ_ARTIFACTS")
    out = (Path(env) if env else ROOT / "test-artifacts") / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``heatseq serve`` in its own process (its own process group, so the test can kill the
    server alone with ``kill -9`` and still clean up its workers afterwards)."""

    def __init__(self, data_dir: Path, *, args: tuple[str, ...] = (), port: int | None = None,
                 log: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.args = args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or self.data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> LiveServer:
        cmd = [sys.executable, "-c", "from heatseq.cli import main; main()", "serve",
               "--port", str(self.port), "--data-dir", str(self.data_dir), *self.args]
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"heatseq serve exited with {self.proc.returncode}: "
                                   f"{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/config", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"heatseq serve did not answer in {timeout} s: "
                           f"{self.log.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        """``kill -9`` of the server process only (its workers must notice by themselves)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left of its process group

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Client:
    """An API client with its own session (the X-Heatseq-Session header)."""

    def __init__(self, url: str, *, timeout: float = 120.0) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout)
        r = self.http.post("/api/session")
        r.raise_for_status()
        self.token = r.json()["token"]
        self.http.headers["X-Heatseq-Session"] = self.token
        self.http.cookies.clear()

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.put(path, **kw)

    def project(self, name: str = "test") -> str:
        r = self.post("/api/projects", json={"name": name})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def upload(self, project: str, kind: str, name: str, data: bytes) -> httpx.Response:
        return self.put(f"/api/projects/{project}/uploads/{kind}", params={"name": name},
                        content=data, headers={"Content-Type": "application/octet-stream"})

    def start_run(self, project: str, **body: Any) -> dict[str, Any]:
        r = self.post(f"/api/projects/{project}/runs", json=body)
        assert r.status_code == 202, r.text
        return dict(r.json())

    def wait_run(self, run_id: str, *, timeout: float = 240.0,
                 until: tuple[str, ...] = ("done", "failed")) -> dict[str, Any]:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            r = self.get(f"/api/runs/{run_id}")
            r.raise_for_status()
            run = dict(r.json())
            if run["status"] in until:
                return run
            time.sleep(0.3)
        raise TimeoutError(f"run {run_id} not {until} after {timeout} s: {run}")


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (a server's analysis workers), from /proc."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(x) for x in (task / "children").read_text().split()]
    return kids


@functools.cache
def small_counts(n_genes: int = 3000) -> bytes:
    """The first ``n_genes`` expressed genes of airway, as TSV bytes (a quick analysis)."""
    import pandas as pd

    t = pd.read_csv(AIRWAY / "counts.tsv.gz", sep="\t", index_col=0)
    t = t[t.sum(axis=1) > 0].head(n_genes)
    return t.to_csv(sep="\t").encode()
