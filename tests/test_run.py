"""``heatseq run`` / ``heatseq demo`` end to end: the folder, the report in a real browser,
reproducibility, the verdict as the report states it, and the bad inputs of issue 5.

The demo runs twice (in-process, through the CLI): once for the outputs, once to check that
tables are byte-identical and run.json equal apart from timings and timestamps.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from heatseq.cli import cli
from heatseq.datasets import airway_files

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECTIONS = ["overview", "inputs", "qc", "contrast-1", "top-variance", "enrichment", "methods",
            "provenance"]


def _invoke(*args: str):
    from heatseq import _commands  # noqa: F401  (registers the subcommands)

    return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("demo")
    outs = (base / "a", base / "b")
    for out in outs:
        r = _invoke("demo", "-o", str(out))
        assert r.exit_code == 0, r.output
    return outs


def test_demo_folder_layout(demo_runs):
    out = demo_runs[0]
    run = json.loads((out / "run.json").read_text())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(run["outputs"])
    for rel in ["report.html", "heatseq.log", "run.json", "qc/qc_metrics.tsv", "qc/pca.tsv",
                "qc/qc_verdict.tsv", "qc/pca.png", "qc/sample_distances.svg",
                "de/de_dex_trt_vs_untrt.tsv", "de/vst.tsv", "heatmaps/top_variance.png",
                "heatmaps/de_dex_trt_vs_untrt.heatmap.modules.txt",
                "plots/de_dex_trt_vs_untrt.volcano.png", "plots/de_dex_trt_vs_untrt.ma.svg"]:
        assert rel in files, rel
    assert not any(".heatseq-staging" in f or f.endswith(".part") for f in files)
    assert run["command"] == "heatseq demo"
    assert run["parameters"]["design"] == "~ cell + dex"
    counts, samples = airway_files()
    assert {Path(k).name for k in run["inputs"]} == {counts.name, samples.name}
    assert all(len(v["sha256"]) == 64 for v in run["inputs"].values())
    assert set(run["annotation"]["organisms"]) >= {"human", "mouse", "fly"}
    assert set(run["timings"]) == {"read", "plan", "qc", "de", "heatmaps", "enrich", "plots",
                                   "report"}


def test_demo_enrichment_known_biology_in_files_and_report(demo_runs):
    """Acceptance 3 in the run: the 'both' list of dex trt vs untrt (padj < 0.05, |LFC| > 1,
    GO BP 10-500) has vasculature development and extracellular matrix organization in its
    top 20 and GO:0051384 at p < 0.01 (measured: ranks 3 and 15, p 2.6e-3); the report shows
    the enrichment section with the releases, a dot plot, and GO:0051384 in its table; run.json
    records the collection releases; modules.txt carries the best terms."""
    out = demo_runs[0]
    t = pd.read_csv(out / "enrich" / "de_dex_trt_vs_untrt.ora.tsv", sep="\t")
    both = t[t["list"] == "both"].reset_index(drop=True)
    top20 = both["term_id"].head(20).tolist()
    assert "GO:0001944" in top20 and "GO:0030198" in top20
    assert both.set_index("term_id").loc["GO:0051384", "pvalue"] < 0.01
    g = pd.read_csv(out / "enrich" / "de_dex_trt_vs_untrt.gsea.tsv", sep="\t")
    assert len(g) == 50 and g["padj"].min() < 0.05
    run = json.loads((out / "run.json").read_text())
    assert run["gene_sets"]["go_bp"]["release"].startswith("GO 2022-07-01")
    assert set(run["gene_sets"]) == {"go_bp", "reactome", "hallmark"}
    page = (out / "report.html").read_text()
    assert "Enrichment was not run" not in page and "GO:0051384" in page
    assert "vasculature development" in page and "Gene-set releases: go_bp: GO 2022-07-01" in page
    assert "Gene-set enrichment used heatseq" in page
    lines = (out / "heatmaps" / "top_variance.modules.txt").read_text().splitlines()
    assert any("padj" in line for line in lines), lines


def test_demo_de_table_is_the_de_commands(demo_runs, tmp_path):
    """The run's DE table equals `heatseq de` on the same input (one engine, two callers)."""
    counts, samples = airway_files()
    r = _invoke("de", str(counts), "--samples", str(samples), "--design", "~ cell + dex",
                "--contrast", "dex,trt,untrt", "-o", str(tmp_path / "de"))
    assert r.exit_code == 0, r.output
    a = (demo_runs[0] / "de" / "de_dex_trt_vs_untrt.tsv").read_bytes()
    b = (tmp_path / "de" / "de_results.tsv").read_bytes()  # one contrast: one table
    assert a == b


def test_two_runs_give_identical_tables_and_run_json(demo_runs):
    a, b = demo_runs
    tables = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix in (".tsv", ".txt"))
    assert len(tables) >= 15
    for rel in tables:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    ja, jb = (json.loads((d / "run.json").read_text()) for d in (a, b))
    for j in (ja, jb):
        for key in ("timings", "started", "finished"):
            j.pop(key)
    assert ja == jb


def test_report_names_the_groups_that_cluster(demo_runs):
    """What the airway PCA and distance heatmap show (looked at: treated and untreated
    samples separate along PC1 (41%), the cell lines along PC2; in the distance tree the
    treated samples form one branch and the untreated another once the cell line is
    accounted for), as the verdict must state it."""
    out = demo_runs[0]
    verdict = pd.read_csv(out / "qc" / "qc_verdict.tsv", sep="\t")
    assert set(verdict["status"]) == {"ok"}
    html = (out / "report.html").read_text()
    assert "The 4 trt replicates cluster together" in html
    assert "The 4 untrt replicates cluster together" in html
    assert "the effect of &#x27;cell&#x27; was removed" in html or \
        "the effect of 'cell' was removed" in html
    pca = pd.read_csv(out / "qc" / "pca.tsv", sep="\t", index_col=0)
    sheet = pd.read_csv(samples_csv(), index_col=0)
    pc1 = pca["PC1"].groupby(sheet.loc[pca.index, "dex"]).mean()
    assert abs(pc1["trt"] - pc1["untrt"]) > 15


def samples_csv() -> Path:
    return airway_files()[1]


def test_report_in_chromium(demo_runs):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install -y chromium"
    report = demo_runs[0] / "report.html"
    art = Path(os.environ.get("HEATSEQ_ARTIFACTS", ROOT / "test-artifacts")) / "run"
    art.mkdir(parents=True, exist_ok=True)
    events: list[tuple[str, str]] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: events.append((m.type, m.text)))
        page.on("pageerror", lambda e: events.append(("pageerror", str(e))))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        for sid in SECTIONS:
            section = page.locator(f"section#{sid}")
            assert section.count() == 1, sid
            section.scroll_into_view_if_needed()
            assert section.is_visible(), sid
        broken = page.locator("img").evaluate_all(
            "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).length")
        assert broken == 0
        page.screenshot(path=str(art / "report-top.png"))
        page.screenshot(path=str(art / "report-full.png"), full_page=True)
        for sid in ("qc", "contrast-1"):
            page.locator(f"section#{sid}").screenshot(path=str(art / f"report-{sid}.png"))
        browser.close()
    assert [e for e in events if e[0] in ("error", "warning", "pageerror")] == []
    assert {u.split(":", 1)[0] for u in requests} <= {"file", "data", "blob", "about"}
    shutil.copy(report, art / "report.html")


# ------------------------------------------------------------------ bad input (exit 2)
def _bad(args: list[str], match: str, tmp_path: Path) -> None:
    r = _invoke(*args)
    assert r.exit_code == 2, r.output
    assert "Error:" in r.output and match in r.output, r.output
    assert "Traceback" not in r.output


def test_contrast_level_not_in_sheet(tmp_path):
    counts, samples = airway_files()
    out = tmp_path / "o"
    _bad(["run", str(counts), "--samples", str(samples), "--design", "~ cell + dex",
          "--contrast", "dex,treated,untrt", "-o", str(out)],
         "'treated' is not a value of column 'dex'", tmp_path)
    assert not out.exists()


def test_design_column_not_in_sheet(tmp_path):
    counts, samples = airway_files()
    out = tmp_path / "o"
    _bad(["run", str(counts), "--samples", str(samples), "--design", "~ batch + dex",
          "-o", str(out)], "Column 'batch' in the design", tmp_path)
    assert not out.exists()


def test_outdir_is_a_file(tmp_path):
    counts, samples = airway_files()
    f = tmp_path / "out.txt"
    f.write_text("keep me")
    _bad(["run", str(counts), "--samples", str(samples), "-o", str(f)], "is a file", tmp_path)
    assert f.read_text() == "keep me"


def test_outdir_read_only(tmp_path):
    counts, samples = airway_files()
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        _bad(["run", str(counts), "--samples", str(samples), "-o", str(d)], "is read-only",
             tmp_path)
        assert list(d.iterdir()) == []
    finally:
        d.chmod(stat.S_IRWXU)


def test_non_empty_outdir_needs_force(tmp_path):
    counts, samples = airway_files()
    d = tmp_path / "full"
    d.mkdir()
    (d / "old.txt").write_text("x")
    _bad(["run", str(counts), "--samples", str(samples), "-o", str(d)], "--force", tmp_path)


def test_bottomly_run_takes_the_batch_into_account(tmp_path):
    data = Path(__file__).parent / "data" / "bottomly"
    out = tmp_path / "b"
    r = _invoke("run", str(data / "counts.tsv.gz"), "--samples", str(data / "samples.csv"),
                "--design", "~ batch + strain", "--contrast", "strain,DBA/2J,C57BL/6J",
                "--heatmap-genes", "200", "--formats", "png", "-o", str(out))
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    assert "Batch was taken into account" in html
    assert "the effect of &#x27;batch&#x27; was removed" in html
    assert (out / "de" / "de_strain_DBA_2J_vs_C57BL_6J.tsv").is_file()
    assert not list(out.rglob("*.svg"))


def test_two_contrasts_and_highlighted_genes(tmp_path):
    counts, samples = airway_files()
    out = tmp_path / "two"
    r = _invoke("run", str(counts), "--samples", str(samples), "--design", "~ cell + dex",
                "--contrast", "dex,trt,untrt", "--contrast", "cell,N061011,N052611",
                "--highlight", "dusp1,KLF15", "--heatmap-genes", "100", "--formats", "png",
                "-o", str(out))
    assert r.exit_code == 0, r.output
    for stem in ("de_dex_trt_vs_untrt", "de_cell_N061011_vs_N052611"):
        assert (out / "de" / f"{stem}.tsv").is_file()
        assert (out / "plots" / f"{stem}.volcano.png").is_file()
    html = (out / "report.html").read_text()
    assert "Differential expression: dex trt vs untrt" in html
    assert "Differential expression: cell N061011 vs N052611" in html
    run = json.loads((out / "run.json").read_text())
    assert run["parameters"]["contrasts"] == ["dex trt vs untrt", "cell N061011 vs N052611"]
    assert run["parameters"]["highlight"] == ["dusp1", "KLF15"]
