"""The web app under load and through a crash, against a real ``heatseq serve`` on loopback
(issue 7, acceptance 3).

``test_20_browsing_clients_and_4_analyses_at_once``: 4 clients each upload their own counts
and sample sheet and start an analysis at the same moment, while 20 other clients browse the
results of a finished run (page, QC, DE table pages, volcano points, a gene, an interactive
heatmap and its matrix, the file list, the report) for as long as the analyses run. Every
request must succeed, every upload must come back byte for byte (SHA-256), and all four
analyses must finish with their own numbers (each one's DE table is its own, not a
neighbour's).

``test_kill_9_during_a_run_then_restart``: the server is killed with SIGKILL while an
analysis runs; its worker notices and exits by itself; a new server on the same data dir
finds the project and its uploads intact, the run marked failed with a message that says
why, its partial outputs gone, and 'Run again' finishes it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest

from web_support import AIRWAY, Client, LiveServer, children, small_counts

pytestmark = pytest.mark.slow

CONTRAST = ["dex", "trt", "untrt"]
STEM = "de_dex_trt_vs_untrt"
QUICK = {"design": "~ cell + dex", "contrast": CONTRAST, "formats": ["png"],
         "heatmap_genes": 200, "de_heatmap_genes": 200}


def _counts_variant(i: int, n_genes: int = 3000) -> bytes:
    """Airway's first expressed genes, one sample's counts scaled per client, so each
    analysis has its own numbers (and its own upload bytes)."""
    import io

    t = pd.read_csv(io.BytesIO(small_counts(n_genes)), sep="\t", index_col=0)
    t.iloc[:, i % t.shape[1]] = t.iloc[:, i % t.shape[1]] * (i + 2)
    return t.to_csv(sep="\t").encode()


_LOCK = threading.Lock()


def _browse(url: str, token: str, run: str, gene: str, stop: threading.Event,
            log: list[str], counter: list[int], seed: int) -> None:
    """One browsing client: the pages a user opens on a finished run, round and round."""
    paths = [("GET", "/", None), ("GET", "/api/config", None), ("GET", "/api/projects", None),
             ("GET", f"/api/runs/{run}", None), ("GET", f"/api/runs/{run}/qc", None),
             ("GET", f"/api/runs/{run}/contrasts", None),
             ("GET", f"/api/runs/{run}/de/{STEM}?sort=padj&limit=50&offset={seed * 10}", None),
             ("GET", f"/api/runs/{run}/de/{STEM}?sort=log2FoldChange&desc=true&q=dusp", None),
             ("GET", f"/api/runs/{run}/de/{STEM}/points", None),
             ("GET", f"/api/runs/{run}/genes/{gene}", None),
             ("POST", f"/api/runs/{run}/heatmap", {"genes": "top_variance", "n": 100 + seed,
                                                   "k": 2 + seed % 4}),
             ("GET", f"/api/runs/{run}/files", None), ("GET", f"/api/runs/{run}/report", None)]
    with httpx.Client(base_url=url, timeout=120,
                      headers={"X-Heatseq-Session": token}) as http:
        while not stop.is_set():
            for method, path, body in paths:
                try:
                    r = http.request(method, path, json=body)
                    ok = r.status_code == 200
                    if ok and method == "POST":  # the heatmap's matrix, as the page reads it
                        meta = r.json()
                        m = http.get(meta["matrix_url"])
                        ok = (m.status_code == 200
                              and len(m.content) == 2 * meta["n_genes"] * meta["n_samples"])
                except httpx.HTTPError as exc:
                    log.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                    continue
                with _LOCK:
                    counter[0] += 1
                if not ok:
                    log.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
                if stop.is_set():
                    return


@pytest.fixture
def opened():
    """Clients to close when the test ends, whatever its outcome."""
    clients: list[Client] = []
    yield clients
    for c in clients:
        c.close()


def test_20_browsing_clients_and_4_analyses_at_once(tmp_path: Path, opened: list) -> None:
    with LiveServer(tmp_path / "data") as srv:
        # a finished run to browse
        base = Client(srv.url)
        opened.append(base)
        pid = base.project("browsed")
        base.upload(pid, "counts", "counts.tsv", small_counts(3000))
        base.upload(pid, "samples", "samples.csv", (AIRWAY / "samples.csv").read_bytes())
        browsed = base.wait_run(base.start_run(pid, **QUICK)["id"])
        assert browsed["status"] == "done", browsed["error"]
        top = base.get(f"/api/runs/{browsed['id']}/de/{STEM}", params={"sort": "padj",
                                                                      "limit": 1}).json()
        gene = str(top["rows"][0][1] or top["rows"][0][0])  # its symbol, as a user types it
        plain = _size_factors(srv, browsed["id"])

        # 4 analyses, each uploaded and started at the same moment by its own client
        samples = (AIRWAY / "samples.csv").read_bytes()
        analysts = [Client(srv.url) for _ in range(4)]
        opened += analysts
        counts = [_counts_variant(i) for i in range(4)]
        barrier = threading.Barrier(4)

        def analyse(i: int) -> dict:
            c = analysts[i]
            p = c.project(f"analysis {i}")
            barrier.wait()
            up = c.upload(p, "counts", f"counts_{i}.tsv", counts[i])
            assert up.status_code == 201, up.text
            assert c.upload(p, "samples", "samples.csv", samples).status_code == 201
            run = c.start_run(p, **QUICK)
            return {"client": c, "project": p, "run": run["id"]}

        stop = threading.Event()
        log: list[str] = []
        counter = [0]
        # 20 clients (each its own connection: the owner's tabs) on the finished run
        threads = [threading.Thread(target=_browse, daemon=True,
                                    args=(srv.url, base.token, browsed["id"], gene, stop, log,
                                          counter, i))
                   for i in range(20)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        try:
            with ThreadPoolExecutor(4) as pool:
                jobs = list(pool.map(analyse, range(4)))
            finished = [j["client"].wait_run(j["run"], timeout=600) for j in jobs]
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)
        elapsed = time.monotonic() - t0
        print(f"\n{counter[0]} browsing requests by 20 clients in {elapsed:.1f} s during 4 "
              f"analyses; failures: {len(log)}")
        assert not log, "\n".join(log[:20])
        assert counter[0] >= 20 * 13  # every client went round at least once

        for i, (job, run) in enumerate(zip(jobs, finished, strict=True)):
            assert run["status"] == "done", run["error"]
            c = job["client"]
            # no lost upload: the project's counts are this client's bytes
            detail = c.get(f"/api/projects/{job['project']}").json()
            assert detail["counts"]["sha256"] == hashlib.sha256(counts[i]).hexdigest()
            got = c.get(f"/api/projects/{job['project']}/uploads/{detail['counts']['id']}/file")
            assert got.content == counts[i]
            # each analysis has its own numbers: its scaled sample's size factor, relative to
            # the others', is (i + 2) times what it is in the unscaled run
            sf = _size_factors(srv, job["run"])
            scaled = sf.index[i % len(sf)]
            rel = (sf[scaled] / sf.drop(scaled).median()) / (plain[scaled]
                                                              / plain.drop(scaled).median())
            assert rel == pytest.approx(i + 2, rel=0.05), (i, sf.to_dict())


def _size_factors(srv: LiveServer, run: str) -> pd.Series:
    path = srv.data_dir / "runs" / run / "out" / "de" / "size_factors.tsv"
    return pd.read_csv(path, sep="\t", index_col=0).iloc[:, 0]

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_kill_9_during_a_run_then_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    counts = (AIRWAY / "counts.tsv.gz").read_bytes()
    samples = (AIRWAY / "samples.csv").read_bytes()
    srv = LiveServer(data).start()
    try:
        c = Client(srv.url)
        pid = c.project("crash")
        assert c.upload(pid, "counts", "counts.tsv.gz", counts).status_code == 201
        assert c.upload(pid, "samples", "samples.csv", samples).status_code == 201
        run = c.start_run(pid, design="~ cell + dex", contrast=CONTRAST)
        # wait until the worker is into the analysis (past reading the inputs)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            now = c.get(f"/api/runs/{run['id']}").json()
            if now["status"] == "running" and now["stage"] not in (None, "read", "plan"):
                break
            assert now["status"] in ("queued", "running"), now
            time.sleep(0.1)
        assert now["status"] == "running", now
        workers = children(srv.pid)
        assert workers, "no worker process"
        assert (data / "runs" / run["id"]).is_dir()
        srv.kill9()
        # the orphaned worker notices its parent is gone and exits by itself
        t0 = time.monotonic()
        while any(_alive(w) for w in workers) and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "the worker outlived the server"
        token = c.token
        c.close()
    finally:
        srv.stop()

    with LiveServer(data) as again:
        c = Client(again.url)
        # the browser's session token (its cookie) still opens the project after the restart
        c.http.headers["X-Heatseq-Session"] = c.token = token
        detail = c.get(f"/api/projects/{pid}").json()
        assert detail["counts"]["sha256"] == hashlib.sha256(counts).hexdigest()
        assert detail["samples"]["sha256"] == hashlib.sha256(samples).hexdigest()
        got = c.get(f"/api/projects/{pid}/uploads/{detail['counts']['id']}/file")
        assert got.content == counts
        failed = c.get(f"/api/runs/{run['id']}").json()
        assert failed["status"] == "failed"
        assert "The server stopped while this run was in progress" in failed["error"]
        assert not (data / "runs" / run["id"] / "out").exists()
        rerun = c.post(f"/api/runs/{run['id']}/rerun")
        assert rerun.status_code == 202, rerun.text
        done = c.wait_run(rerun.json()["id"], timeout=300)
        assert done["status"] == "done", done["error"]
        de = c.get(f"/api/runs/{done['id']}/de/{STEM}", params={"sort": "padj", "limit": 3})
        assert de.status_code == 200 and de.json()["total"] > 30000
        c.close()

