"""The web app's API against a real ``heatseq serve`` process on loopback.

One airway analysis (uploaded through the API, ``~ cell + dex``, dex trt vs untrt) is shared
by the result tests; its numbers are checked against the run's own files and against
independent pandas code (the heatmap's z-scores, its gene selection, the DE table's sort and
filters). Also: uploads are content-addressed and never changed; each bad upload gets its
message (issue 7, acceptance 4, at the API level; ``test_web_browser.py`` shows them in the
page); projects are private to their session; a job that fails (a user's mistake found by
the worker, a worker killed like an out-of-memory kill) reports its error and the server
carries on; the reproducing script runs and gives the run's DE table byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from web_support import AIRWAY, Client, LiveServer, children, small_counts

pytestmark = pytest.mark.slow

STEM = "de_dex_trt_vs_untrt"
LIMIT_MB = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("web_api")
    with LiveServer(root / "data", args=("--max-upload-mb", str(LIMIT_MB))) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: LiveServer):
    c = Client(server.url)
    yield c
    c.close()


@pytest.fixture(scope="module")
def airway(client: Client) -> dict:
    """The airway project with its run started (tests that need results wait for it)."""
    pid = client.project("airway")
    counts = (AIRWAY / "counts.tsv.gz").read_bytes()
    samples = (AIRWAY / "samples.csv").read_bytes()
    assert client.upload(pid, "counts", "counts.tsv.gz", counts).status_code == 201
    ins = client.upload(pid, "samples", "samples.csv", samples).json()
    run = client.start_run(pid, design="~ cell + dex", contrast=["dex", "trt", "untrt"])
    return {"project": pid, "run": run["id"], "inspection": ins, "counts": counts,
            "samples": samples}


@pytest.fixture(scope="module")
def done(client: Client, airway: dict) -> dict:
    run = client.wait_run(airway["run"])
    assert run["status"] == "done", run["error"]
    return {**airway, "detail": run}


def _tsv(client: Client, run: str, rel: str) -> pd.DataFrame:
    r = client.get(f"/api/runs/{run}/files/{rel}")
    assert r.status_code == 200, r.text
    return pd.read_csv(io.BytesIO(r.content), sep="\t", index_col=0)


# ---------------------------------------------------------------------- the server
def test_loopback_host_check_and_security_headers(server: LiveServer) -> None:
    import httpx

    r = httpx.get(server.url + "/api/config", headers={"Host": "evil.example:8765"})
    assert r.status_code == 421
    assert "answers only to" in r.json()["detail"]
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "heatseq" in page.text
    assert page.cookies.get("heatseq_session")  # the page starts a session
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    js = httpx.get(server.url + "/vendor/plotly.min.js")
    import plotly

    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert js.status_code == 200 and js.content == shipped.read_bytes()


def test_requests_need_a_session_and_are_checked(server: LiveServer, client: Client) -> None:
    import httpx

    r = httpx.get(server.url + "/api/projects")
    assert r.status_code == 401 and "X-Heatseq-Session" in r.json()["detail"]
    r = httpx.get(server.url + "/api/projects", headers={"X-Heatseq-Session": "forged"})
    assert r.status_code == 401
    bad = client.post("/api/projects", json={"name": ""})
    assert bad.status_code == 422
    bad = client.get("/api/projects/not-an-id")
    assert bad.status_code == 422


def test_serve_needs_the_web_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from heatseq.cli import cli

    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if not installed
    res = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert res.exit_code == 2
    assert "pip install 'heatseq[web]'" in res.output


def test_serve_binds_loopback_by_default_and_warns_for_another_host(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import heatseq.web.server as serve_mod
    from heatseq.cli import cli

    calls: list = []
    monkeypatch.setattr(serve_mod, "serve", lambda s, **kw: calls.append((s, kw)))
    res = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    settings, kw = calls[-1]
    assert kw["host"] == "127.0.0.1" and "Warning" not in res.output
    assert settings.allowed_hosts is not None and "localhost" in settings.allowed_hosts
    assert settings.max_upload_bytes == 500 * 2**20
    res = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path),
                                   "--max-upload-mb", "2"])
    assert res.exit_code == 0, res.output
    settings, kw = calls[-1]
    assert kw["host"] == "0.0.0.0" and settings.allowed_hosts is None
    assert "Warning: listening on 0.0.0.0" in res.output
    assert settings.max_upload_bytes == 2 * 2**20


# ---------------------------------------------------------------------- uploads
def test_uploads_are_content_addressed_and_never_changed(server: LiveServer, client: Client,
                                                          airway: dict) -> None:
    detail = client.get(f"/api/projects/{airway['project']}").json()
    counts = detail["counts"]
    sha = hashlib.sha256(airway["counts"]).hexdigest()
    assert counts["sha256"] == sha and counts["size"] == len(airway["counts"])
    blob = server.data_dir / "blobs" / sha[:2] / sha
    assert blob.read_bytes() == airway["counts"]
    assert not blob.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    got = client.get(f"/api/projects/{airway['project']}/uploads/{counts['id']}/file")
    assert got.status_code == 200 and got.content == airway["counts"]
    # the same bytes in another project: one blob, two uploads
    other = client.project("copy")
    again = client.upload(other, "counts", "same.tsv.gz", airway["counts"]).json()
    assert again["counts"]["sha256"] == sha and again["counts"]["id"] != counts["id"]
    assert len(list((server.data_dir / "blobs").rglob(sha))) == 1
    assert again["counts"]["name"] == "same.tsv.gz"


def test_what_was_detected(airway: dict) -> None:
    ins = airway["inspection"]
    assert ins["ready"] and ins["error"] is None
    assert (ins["format"], ins["n_genes"], ins["n_samples"]) == ("matrix", 64102, 8)
    assert ins["organism"] == "human" and ins["n_symbols"] > 50000
    assert any("albut" in p and "same value" in p for p in ins["problems"])
    prop = ins["proposal"]
    assert prop["confounded"] == ["condition and dex"]
    assert prop["design"] == "~ cell + condition"
    assert prop["contrasts"] == [["condition", "trt", "untrt"]]
    assert {"condition", "cell", "dex"} <= set(prop["factors"])
    assert prop["levels"]["dex"] == ["trt", "untrt"]


BAD_NAME = "../../../tmp/heatseq-evil-{}.tsv"


def test_bad_uploads_each_get_a_clear_message(server: LiveServer, client: Client) -> None:
    pid = client.project("bad uploads")
    good = small_counts(500)
    # a binary file
    r = client.upload(pid, "counts", "photo.tsv", os.urandom(4000) + b"\x00" * 10)
    assert r.status_code == 201
    ins = r.json()
    assert ins["error_file"] == "counts" and not ins["ready"]
    assert ins["error"].startswith("photo.tsv is a binary file")
    # the wrong delimiter
    piped = pd.read_csv(io.BytesIO(good), sep="\t", index_col=0).to_csv(sep="|").encode()
    ins = client.upload(pid, "counts", "piped.csv", piped).json()
    assert "piped.csv: found a single column" in ins["error"]
    # a sample sheet that does not match the counts
    assert client.upload(pid, "counts", "counts.tsv", good).json()["error"] is None
    sheet = pd.read_csv(AIRWAY / "samples.csv")
    sheet.iloc[:, 0] = [f"S{i}" for i in range(len(sheet))]
    ins = client.upload(pid, "samples", "sheet.csv", sheet.to_csv(index=False).encode()).json()
    assert ins["error_file"] == "samples"
    assert "sheet.csv matches none of the count table's samples" in ins["error"]
    assert "The first column of the sheet must hold the sample names" in ins["error"]
    # a 0-byte file
    r = client.upload(pid, "counts", "empty.tsv", b"")
    assert r.status_code == 400
    assert r.json()["detail"].startswith("empty.tsv is empty (0 bytes)")
    # a file over the limit (1 MB here)
    r = client.upload(pid, "counts", "huge.tsv", b"x" * int(1.5 * 2**20))
    assert r.status_code == 413
    assert ("huge.tsv (1.5 MB) is larger than the upload limit of 1.0 MB"
            in r.json()["detail"])
    assert "--max-upload-mb" in r.json()["detail"]
    # a path-traversal file name: refused, nothing written anywhere under that name
    name = BAD_NAME.format(uuid.uuid4().hex)
    r = client.upload(pid, "counts", name, good)
    assert r.status_code == 400
    assert "has folder parts" in r.json()["detail"]
    assert "never uses file names as paths" in r.json()["detail"]
    assert not Path(name.replace("../../..", "")).exists()
    assert not [p for p in server.data_dir.rglob("*") if "evil" in p.name]
    r = client.upload(pid, "samples", "..\\sheet.csv", b"a,b\n")
    assert r.status_code == 400 and "folder parts" in r.json()["detail"]
    # nothing half-received is left behind
    assert not list((server.data_dir / "tmp").iterdir())


def test_design_check_names_the_problem(client: Client, airway: dict) -> None:
    pid = airway["project"]
    ok = client.post(f"/api/projects/{pid}/plan",
                     json={"design": "~ cell + dex", "contrast": ["dex", "trt", "untrt"]}).json()
    assert ok["ok"] and ok["condition"] == "dex" and ok["batch"] == ["cell"]
    bad = client.post(f"/api/projects/{pid}/plan",
                      json={"design": "~ cell + dexx", "contrast": ["dex", "trt", "untrt"]})
    assert not bad.json()["ok"]
    assert "Column 'dexx'" in bad.json()["error"] and "Did you mean 'dex'?" in bad.json()["error"]
    level = client.post(f"/api/projects/{pid}/plan",
                        json={"design": "~ dex", "contrast": ["dex", "treated", "untrt"]}).json()
    assert "'treated' is not a value of column 'dex'" in level["error"]
    both = client.post(f"/api/projects/{pid}/plan",
                       json={"design": "~ condition + dex", "contrast": ["dex", "trt", "untrt"]})
    assert not both.json()["ok"]
    refused = client.post(f"/api/projects/{pid}/runs", json={"design": "~ cell + dexx"})
    assert refused.status_code == 400 and "dexx" in refused.json()["detail"]


# ---------------------------------------------------------------------- results
def test_run_progress_and_qc(client: Client, done: dict) -> None:
    run = done["detail"]
    assert [e["stage"] for e in run["events"]] == run["stages"]
    assert run["progress"] == 1.0 and run["params"]["formats"] == ["png", "svg", "pdf"]
    qc = client.get(f"/api/runs/{done['run']}/qc").json()
    assert qc["verdict_summary"].startswith("Replicates cluster together in 2 of 2 judged dex "
                                            "groups")
    assert [r["status"] for r in qc["verdict_table"]] == ["ok"] * 8
    assert qc["condition"] == "dex" and len(qc["distances"]) == 8
    d = np.array(qc["distances"])
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    pca = _tsv(client, done["run"], "qc/pca.tsv")
    assert np.allclose(qc["pca"]["PC1"], pca.loc[qc["samples"], "PC1"])


def test_de_table_sorts_filters_and_searches(client: Client, done: dict) -> None:
    run = done["run"]
    full = _tsv(client, run, f"de/{STEM}.tsv")
    base = f"/api/runs/{run}/de/{STEM}"
    page = client.get(base, params={"sort": "padj", "limit": 100}).json()
    assert page["n_genes"] == len(full) == page["total"]
    padj = [r[page["columns"].index("padj")] for r in page["rows"]]
    assert padj == sorted(padj)
    expected = full.sort_values(["padj"], kind="mergesort").index[:5].tolist()
    assert [r[0] for r in page["rows"][:5]] == expected
    down = client.get(base, params={"sort": "log2FoldChange", "desc": True, "limit": 20}).json()
    lfc = [r[down["columns"].index("log2FoldChange")] for r in down["rows"]]
    assert lfc == sorted(lfc, reverse=True) and lfc[0] == full["log2FoldChange"].max()
    filt = client.get(base, params={"padj_below": 0.01, "min_abs_lfc": 1, "direction": "up",
                                    "limit": 5}).json()
    want = full[(full["padj"] < 0.01) & (full["log2FoldChange"].abs() >= 1)
                & (full["log2FoldChange"] > 0)]
    assert filt["total"] == len(want) > 0
    hit = client.get(base, params={"q": "dusp1"}).json()
    assert "DUSP1" in [r[1] for r in hit["rows"]]
    last = client.get(base, params={"sort": "padj", "offset": len(full) - 1, "limit": 5}).json()
    assert last["rows"][0][last["columns"].index("padj")] is None  # NA sorts last
    pts = client.get(f"{base}/points").json()
    tested = full[full["pvalue"].notna() & (full["baseMean"] > 0)]
    assert len(pts["gene_id"]) == len(tested)
    gene = client.get(f"/api/runs/{run}/genes/dusp1").json()
    assert gene["symbol"] == "DUSP1"
    assert gene["contrasts"][STEM]["log2FoldChange"] == pytest.approx(
        full.loc[gene["gene_id"], "log2FoldChange"])
    assert client.get(f"/api/runs/{run}/de/de_nope").status_code == 404


def _matrix(client: Client, meta: dict) -> np.ndarray:
    raw = client.get(meta["matrix_url"]).content
    codes = np.frombuffer(raw, dtype="<u2").reshape(meta["n_genes"], meta["n_samples"])
    vals = meta["lo"] + codes * (meta["hi"] - meta["lo"]) / 65534
    return np.where(codes == 65535, np.nan, vals)


def test_interactive_heatmap_matches_the_run_and_pandas(client: Client, done: dict) -> None:
    run = done["run"]
    t0 = time.perf_counter()
    meta = client.post(f"/api/runs/{run}/heatmap", json={"genes": "top_variance", "n": 500})
    first = time.perf_counter() - t0
    assert meta.status_code == 200, meta.text
    meta = meta.json()
    # same genes, order and modules as the run's own top-variance heatmap
    order = pd.read_csv(io.BytesIO(client.get(
        f"/api/runs/{run}/files/heatmaps/top_variance.order.tsv").content), sep="\t")
    assert meta["rows"] == order.loc[order["axis"] == "row", "id"].tolist()
    assert meta["cols"] == order.loc[order["axis"] == "col", "id"].tolist()
    mods = _tsv(client, run, "heatmaps/top_variance.modules.tsv")
    assert meta["modules"] == mods.loc[meta["rows"], "module"].tolist()
    assert meta["k_chosen"] and meta["k"] == mods["module"].nunique()
    # the selection and the z-scores, recomputed with pandas from the run's VST
    vst = _tsv(client, run, "de/vst.tsv")
    de = _tsv(client, run, f"de/{STEM}.tsv")
    vst = vst[de["baseMean"].reindex(vst.index) > 0]
    top = vst.var(axis=1, ddof=1).sort_values(ascending=False, kind="mergesort").index[:500]
    assert set(meta["rows"]) == set(top)
    sub = vst.loc[meta["rows"], meta["cols"]]
    z = sub.sub(sub.mean(axis=1), axis=0).div(sub.std(axis=1, ddof=1), axis=0).to_numpy()
    got = _matrix(client, meta)
    assert np.nanmax(np.abs(got - z)) <= (meta["hi"] - meta["lo"]) / 65534
    assert meta["vmin"] == -meta["clip"] and meta["vmax"] == meta["clip"]
    # k changed: the cached tree is cut again, same order, k modules, in milliseconds
    t0 = time.perf_counter()
    k5 = client.post(f"/api/runs/{run}/heatmap", json={"n": 500, "k": 5}).json()
    recut = time.perf_counter() - t0
    assert k5["rows"] == meta["rows"] and k5["seconds"]["cluster"] == 0
    assert sorted(set(k5["modules"])) == [1, 2, 3, 4, 5] and len(k5["module_summaries"]) == 5
    assert k5["view"] != meta["view"]
    print(f"\nairway heatmap (500 genes x 8): first view {first:.3f} s, k change {recut:.3f} s")
    assert first < 5 and recut < 1
    # other options, computed on the server
    corr = client.post(f"/api/runs/{run}/heatmap", json={
        "genes": "de", "contrast": STEM, "n": 200, "metric": "correlation",
        "method": "average", "scale": "center", "cluster_samples": False}).json()
    assert corr["n_genes"] == 200 and corr["col_tree"] is None and corr["scale"] == "center"
    assert corr["cols"] == vst.columns.tolist()  # not clustered: sheet order
    listed = client.post(f"/api/runs/{run}/heatmap", json={
        "genes": "list", "gene_list": ["DUSP1", "KLF15", "PER1", "FKBP5", "NOPE1"]}).json()
    assert sorted(listed["labels"]) == ["DUSP1", "FKBP5", "KLF15", "PER1"]
    assert listed["unknown"] == ["NOPE1"]
    bad = client.post(f"/api/runs/{run}/heatmap", json={"genes": "list", "gene_list": ["zzz"]})
    assert bad.status_code == 400 and "None of the 1 names" in bad.json()["detail"]
    ward = client.post(f"/api/runs/{run}/heatmap", json={"metric": "correlation",
                                                          "method": "ward.D2"})
    assert ward.status_code == 400 and "ward.D2" in ward.json()["detail"]
    # a module: its genes and their enrichment (heatseq.enrich)
    mod = client.get(f"/api/runs/{run}/heatmap/{k5['view']}/modules/1").json()
    assert len(mod["genes"]) == k5["modules"].count(1)
    assert mod["text"].startswith("Module 1,")
    if mod["enrichment"] is not None:
        assert {"term_id", "term_name", "padj", "overlap"} <= set(mod["enrichment"]["columns"])
    else:
        assert mod["enrichment_note"]
    fig = client.get(f"/api/runs/{run}/heatmap/{k5['view']}/figure",
                     params={"format": "pdf", "palette": "viridis"})
    assert fig.status_code == 200 and fig.content[:4] == b"%PDF"


def test_downloads(client: Client, done: dict) -> None:
    run = done["run"]
    files = client.get(f"/api/runs/{run}/files").json()
    listed = {f["path"]: f for f in files}
    run_json = client.get(f"/api/runs/{run}/files/run.json").json()
    assert set(listed) == set(run_json["outputs"])
    report = client.get(f"/api/runs/{run}/report", params={"download": "1"})
    assert report.status_code == 200 and b"<html" in report.content[:500].lower()
    assert "attachment" in report.headers["content-disposition"]
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")):
        r = client.get(f"/api/runs/{run}/files/plots/{STEM}.volcano.png", params={"format": fmt})
        assert r.status_code == 200 and r.content.startswith(magic), fmt
    xlsx = client.get(f"/api/runs/{run}/files/de/size_factors.tsv", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = pd.read_excel(io.BytesIO(xlsx.content), index_col=0)
    tsv = _tsv(client, run, "de/size_factors.tsv")
    assert np.allclose(sheet.to_numpy(dtype=float), tsv.to_numpy(dtype=float))
    assert client.get(f"/api/runs/{run}/files/../run.json").status_code == 404
    assert client.get(f"/api/runs/{run}/files/de/vst.tsv",
                      params={"format": "xlsx"}).status_code == 200
    assert client.get(f"/api/runs/{run}/files/report.html",
                      params={"format": "xlsx"}).status_code == 400
    assert client.get(f"/api/runs/{run}/enrichment").json()["available"] == any(
        f.startswith("enrich/") for f in listed)


def test_reproducing_script_runs(client: Client, done: dict, tmp_path: Path) -> None:
    run = done["run"]
    script = client.get(f"/api/runs/{run}/script")
    assert script.status_code == 200
    path = tmp_path / f"reproduce_{run}.py"
    path.write_text(script.text)
    (tmp_path / "counts.tsv.gz").write_bytes(done["counts"])
    (tmp_path / "samples.csv").write_bytes(done["samples"])
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dex trt vs untrt: 33,469 genes with nonzero total read count" in proc.stdout
    assert "Module 1, 144 genes" in proc.stdout
    out = tmp_path / "reproduced"
    for rel in (f"de/{STEM}.tsv", "de/vst.tsv"):
        theirs = client.get(f"/api/runs/{run}/files/{rel}").content
        assert (out / rel.split("/")[-1]).read_bytes() == theirs, rel
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_projects_are_private_to_their_session(server: LiveServer, done: dict) -> None:
    other = Client(server.url)
    try:
        assert other.get("/api/projects").json() == []
        pid, run = done["project"], done["run"]
        for path in (f"/api/projects/{pid}", f"/api/projects/{pid}/inspection",
                     f"/api/runs/{run}", f"/api/runs/{run}/qc", f"/api/runs/{run}/report",
                     f"/api/runs/{run}/files/run.json", f"/api/runs/{run}/script"):
            r = other.get(path)
            assert r.status_code == 404, path
        r = other.upload(pid, "counts", "x.tsv", b"gene\ta\ng1\t1\n")
        assert r.status_code == 404
        assert other.post(f"/api/projects/{pid}/runs", json={}).status_code == 404
    finally:
        other.close()


# ---------------------------------------------------------------------- failures
def test_a_failed_job_reports_its_error_and_the_server_carries_on(server: LiveServer,
                                                                   client: Client) -> None:
    pid = client.project("failures")
    client.upload(pid, "counts", "tiny.tsv", small_counts(3))
    client.upload(pid, "samples", "samples.csv", (AIRWAY / "samples.csv").read_bytes())
    # a user's mistake found by the worker: 5 modules of 3 genes
    run = client.start_run(pid, design="~ cell + dex", contrast=["dex", "trt", "untrt"], k=5,
                           formats=["png"])
    failed = client.wait_run(run["id"])
    assert failed["status"] == "failed"
    assert "k=5 modules is out of range; choose 1 to 3" in failed["error"]
    assert client.get("/api/config").status_code == 200
    # the worker dies (as in an out-of-memory kill): the run fails, the server stays up
    run = client.start_run(pid, design="~ cell + dex", contrast=["dex", "trt", "untrt"],
                           formats=["png"])
    client.wait_run(run["id"], until=("running", "done", "failed"))
    workers: list[int] = []
    t0 = time.monotonic()
    while not workers and time.monotonic() - t0 < 30:
        workers = children(server.pid)
        time.sleep(0.05)
    assert workers, "no worker process found"
    for w in workers:
        os.kill(w, signal.SIGKILL)
    killed = client.wait_run(run["id"])
    assert killed["status"] == "failed"
    assert "stopped unexpectedly (killed by signal SIGKILL)" in killed["error"]
    assert not (server.data_dir / "runs" / run["id"] / "out").exists()
    again = client.post(f"/api/runs/{run['id']}/rerun")
    assert again.status_code == 202
    assert client.wait_run(again.json()["id"])["status"] == "done"
    assert client.get(f"/api/runs/{run['id']}/qc").status_code == 409


def test_store_migrations_are_versioned(tmp_path: Path) -> None:
    import sqlite3

    from heatseq.web.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError

    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / "heatseq.sqlite3")
    db.executescript(MIGRATIONS[0][1] + f"\nPRAGMA user_version = {MIGRATIONS[0][0]};")
    db.execute("INSERT INTO sessions VALUES ('k', 1.0)")
    db.execute("INSERT INTO projects (id, session_id, name, created) VALUES "
               "('0123456789abcdef', 'k', 'kept', 1.0)")
    db.commit()
    db.close()
    store = Store(old)
    assert store.version == SCHEMA_VERSION == MIGRATIONS[-1][0]
    row = store._one("SELECT name FROM projects WHERE id = '0123456789abcdef'")
    assert row["name"] == "kept"
    assert store.events("nothing") == []  # run_events exists (migration 2)
    store.close()
    new = tmp_path / "new"
    new.mkdir()
    db = sqlite3.connect(new / "heatseq.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match=r"made by a newer heatseq \(schema version 99"):
        Store(new)
