"""``heatseq doctor``: which optional tools heatseq can use here, their versions, and how to
install the missing ones. It only looks; it never installs anything and always exits 0.

Checked: salmon (``heatseq quant``), Dask distributed (``--scheduler``), chromium and
playwright (the browser tests of the web app), R with DESeq2 (the reference benchmarks).
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import click

from heatseq.cli import cli

__all__ = ["Tool", "check_tools", "doctor_command"]


@dataclass(frozen=True)
class Tool:
    """One optional tool.

    Attributes
    ----------
    name
        What it is called.
    used_for
        Which part of heatseq needs it.
    found
        Whether it is usable here.
    version
        Its version when found (``""`` if it could not be told).
    where
        The executable or the installed package.
    install
        How to install it.
    """

    name: str
    used_for: str
    found: bool
    version: str
    where: str
    install: str


def _run_version(cmd: Sequence[str], pattern: str) -> str:
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    m = re.search(pattern, done.stdout + done.stderr)
    return m.group(1) if m else ""


def _executable(name: str, candidates: Sequence[str], version_args: Sequence[str],
                pattern: str, used_for: str, install: str) -> Tool:
    for exe in candidates:
        path = shutil.which(exe)
        if path:
            return Tool(name, used_for, True, _run_version([path, *version_args], pattern),
                        path, install)
    return Tool(name, used_for, False, "", "", install)


def _package(name: str, dist: str, used_for: str, install: str) -> Tool:
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return Tool(name, used_for, False, "", "", install)
    return Tool(name, used_for, True, version, f"python package {dist}", install)


def check_tools(*, salmon: str | None = None) -> list[Tool]:
    """Look for heatseq's optional tools.

    Parameters
    ----------
    salmon
        A salmon executable to check instead of ``salmon`` on PATH.

    Returns
    -------
    list of Tool
        salmon, dask distributed, chromium, playwright, R and DESeq2, in that order.
    """
    tools = [
        _executable("salmon", [salmon or "salmon"], ["--version"], r"salmon\s+(\S+)",
                    "heatseq quant (FASTQ -> counts)",
                    "apt-get install salmon | conda install -c bioconda salmon | "
                    "https://github.com/COMBINE-lab/salmon/releases"),
        _package("dask distributed", "distributed", "--scheduler (Dask clusters)",
                 "pip install 'heatseq[dask]'"),
        _executable("chromium", ["chromium", "chromium-browser", "google-chrome"],
                    ["--version"], r"(\d+(?:\.\d+)+)", "browser tests of the web app",
                    "apt-get install chromium"),
        _package("playwright", "playwright", "browser tests of the web app",
                 "pip install playwright (uses the system chromium)"),
        _executable("R", ["Rscript"], ["--version"], r"version\s+(\d+\.\d+\.\d+)",
                    "reference benchmarks against R",
                    "apt-get install r-base | https://cran.r-project.org"),
    ]
    r = tools[-1]
    if r.found:
        ver = _run_version([r.where, "-e", 'cat(as.character(packageVersion("DESeq2")))'],
                           r"^(\d+\.\d+\.\d+)")
        tools.append(Tool("DESeq2 (R)", "reference benchmarks against R", bool(ver), ver,
                          "R library" if ver else "",
                          "apt-get install r-bioc-deseq2 | BiocManager::install('DESeq2')"))
    else:
        tools.append(Tool("DESeq2 (R)", "reference benchmarks against R", False, "", "",
                          "install R first, then BiocManager::install('DESeq2')"))
    return tools


@cli.command("doctor")
@click.option("--salmon", default=None, help="Check this salmon executable instead of PATH's.")
def doctor_command(salmon: str | None) -> None:
    """Check the optional tools heatseq uses and say how to install missing ones."""
    tools = check_tools(salmon=salmon)
    width = max(len(t.name) for t in tools)
    for t in tools:
        if t.found:
            status = f"found    {t.version or '(version unknown)'}  {t.where}"
        else:
            status = f"missing  install: {t.install}"
        click.echo(f"{t.name:<{width}}  {status}  [{t.used_for}]")
    missing = [t.name for t in tools if not t.found]
    click.echo("All optional tools found." if not missing else
               f"{len(missing)} optional tool(s) missing: {', '.join(missing)}. heatseq's core "
               "(counts -> DE, heatmaps, enrichment, report) needs none of them.")
