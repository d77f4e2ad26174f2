"""``heatseq de`` end to end: files written, their columns, reproducibility, and a user's
mistakes giving one message and exit code 2 with no output written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from heatseq.cli import cli
from heatseq.de.results import RESULT_COLUMNS

DATA = Path(__file__).parent / "data" / "marioni_kidney_liver"
ARGS = [str(DATA / "counts.tsv.gz"), "--samples", str(DATA / "samples.csv"),
        "--design", "~ condition"]


def run(args: list[str]):
    from heatseq import _commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)


def test_de_writes_tables_and_run_json(tmp_path):
    out = tmp_path / "de"
    r = run(["de", *ARGS, "--contrast", "condition,Liver,Kidney", "-o", str(out)])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["de_results.tsv", "dispersions.tsv", "normalized_counts.tsv", "run.json",
                     "size_factors.tsv", "vst.tsv"]
    table = pd.read_csv(out / "de_results.tsv", sep="\t")
    assert list(table.columns) == ["gene_id", *RESULT_COLUMNS]
    assert list(pd.read_csv(out / "dispersions.tsv", sep="\t").columns) == [
        "gene_id", "dispGeneEst", "dispFit", "dispersion"]
    vst = pd.read_csv(out / "vst.tsv", sep="\t", index_col=0)
    assert vst.shape == (5088, 10)
    assert '"sha256"' in (out / "run.json").read_text()


def test_de_is_reproducible_byte_for_byte(tmp_path):
    for name in ("a", "b"):
        r = run(["de", *ARGS, "--contrast", "condition,Liver,Kidney", "--shrink", "none",
                 "-o", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    for f in ("de_results.tsv", "dispersions.tsv", "normalized_counts.tsv", "vst.tsv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_two_contrasts_write_one_file_each(tmp_path):
    out = tmp_path / "de"
    r = run(["de", *ARGS, "--contrast", "condition,Liver,Kidney", "--contrast",
             "condition,Kidney,Liver", "--shrink", "none", "-o", str(out)])
    assert r.exit_code == 0, r.output
    a = pd.read_csv(out / "de_condition_Liver_vs_Kidney.tsv", sep="\t", index_col=0)
    b = pd.read_csv(out / "de_condition_Kidney_vs_Liver.tsv", sep="\t", index_col=0)
    pd.testing.assert_series_equal(a["log2FoldChange"], -b["log2FoldChange"], check_names=False)


@pytest.mark.parametrize(("extra", "message"), [
    (["--design", "~ conditon", "--contrast", "condition,Liver,Kidney"], "conditon"),
    (["--contrast", "condition,Lung,Kidney"], "Lung"),
    (["--contrast", "condition,Liver"], "FACTOR,LEVEL,REFERENCE"),
])
def test_bad_design_or_contrast_exits_2_without_output(tmp_path, monkeypatch, extra, message):
    import importlib

    def no_fit(*args, **kwargs):
        raise AssertionError("the bad contrast should be refused before the model is fitted")

    monkeypatch.setattr(importlib.import_module("heatseq.de.deseq"), "deseq", no_fit)
    out = tmp_path / "de"
    args = ["de", str(DATA / "counts.tsv.gz"), "--samples", str(DATA / "samples.csv"),
            "--design", "~ condition", *extra, "-o", str(out)]
    r = run(args)
    assert r.exit_code == 2
    assert r.output.startswith("Error: ") and message in r.output
    assert "Traceback" not in r.output
    assert not out.exists() or not any(out.iterdir())


def test_outdir_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    r = run(["de", *ARGS, "-o", str(f)])
    assert r.exit_code == 2 and "is a file" in r.output


def test_de_starts_without_the_plotting_and_anndata_stacks(tmp_path):
    """``heatseq -q de`` loads only its own command: not matplotlib, anndata or the heatmap
    code, nor the scipy modules that only a 'local' dispersion trend needs (marioni's
    parametric trend falls back to local, so the fit type here is 'mean')."""
    import heatseq

    src = str(Path(heatseq.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    heavy = ("matplotlib", "anndata", "heatseq.commands.heatmap", "heatseq.cluster",
             "scipy.optimize", "scipy.interpolate", "scipy.stats")
    code = ("import sys\nfrom heatseq.cli import cli\n"
            "cli.main(args=sys.argv[1:], prog_name='heatseq', standalone_mode=False)\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code, "-q", "de", *ARGS, "--contrast",
                          "condition,Liver,Kidney", "--shrink", "none", "--fit-type", "mean",
                          "-o", str(tmp_path / "o")],
                         capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_help_lists_every_subcommand():
    r = CliRunner().invoke(cli, ["--help"])
    assert r.exit_code == 0
    listed = {line.split()[0] for line in r.output.split("Commands:")[1].splitlines()
              if line.strip()}
    assert {"de", "heatmap", "inspect"} <= listed
