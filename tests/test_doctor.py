"""``heatseq doctor``: one line per optional tool, found or missing with an install hint,
always exit 0."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from heatseq.cli import cli
from heatseq.commands.doctor import check_tools

NAMES = ["salmon", "dask distributed", "chromium", "playwright", "R", "DESeq2 (R)"]


def run(args: list[str]):
    from heatseq import _commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_doctor_lists_every_tool():
    r = run(["doctor"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert [ln.split("  ")[0].strip() for ln in lines[:-1]] == NAMES
    assert [t.name for t in check_tools()] == NAMES
    salmon = lines[0]
    if shutil.which("salmon"):  # the test machine has Debian's salmon 1.10.1
        assert salmon.split()[1:3] == ["found", "1.10.1"]
    assert lines[1].split()[2] == "found"  # dask is a test dependency


def test_doctor_says_how_to_install_a_missing_salmon(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = run(["doctor"])
    assert r.exit_code == 0
    first = r.output.splitlines()[0]
    assert first.startswith("salmon            missing  install: apt-get install salmon | "
                            "conda install -c bioconda salmon | "
                            "https://github.com/COMBINE-lab/salmon/releases")
    assert "optional tool(s) missing: salmon, chromium, R, DESeq2 (R)" in r.output
    tool = check_tools(salmon="/nonexistent/salmon")[0]
    assert not tool.found and tool.version == "" and tool.where == ""
