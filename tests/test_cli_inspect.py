"""``heatseq inspect``: the exact report for airway, the bundled example, problems found
with their fixes, and the CLI's exit codes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import heatseq.commands.inspect  # noqa: F401  (registers the subcommand)
from heatseq import Dataset, Source
from heatseq.cli import cli
from heatseq.io.inspect import InspectReport, inspect_counts, inspect_dataset

DATA = Path(__file__).parent / "data"
COUNTS = DATA / "airway" / "counts.tsv.gz"
SHEET = DATA / "airway" / "samples.csv"
FORMATS = DATA / "formats"


def airway_id_line() -> str:
    """The gene-ID line, with the symbol count computed here from the annotation API."""
    from heatseq.annotation import map_symbols

    ids = pd.read_csv(COUNTS, sep="\t", usecols=[0]).iloc[:, 0]
    n = int(map_symbols(ids, organism="human").notna().sum())
    assert 0.80 < n / len(ids) < 0.90  # most GRCh37 IDs map; some retired ones do not
    return f"Gene IDs: Ensembl gene IDs (human); symbols for {n:,} of 64,102 ({100 * n / 64102:.1f}%)"


AIRWAY_BODY = [
    "Format: matrix",
    "Genes: 64,102 (30,633 have zero counts in every sample; normal with a whole-genome "
    "annotation)",
    "Samples: 8",
    "Library sizes: min 15,163,415, median 20,901,052, max 30,818,215",
    "  SRR1039508  20,637,971",
    "  SRR1039509  18,809,481",
    "  SRR1039512  25,348,649",
    "  SRR1039513  15,163,415",
    "  SRR1039516  24,448,408",
    "  SRR1039517  30,818,215",
    "  SRR1039520  19,126,151",
    "  SRR1039521  21,164,133",
    None,  # the gene-ID line
    "Sample sheet: 10 column(s)",
    "  condition: trt (4), untrt (4)",
    "  cell: N052611 (2), N061011 (2), N080611 (2), N61311 (2)",
    "  dex: trt (4), untrt (4)",
    "  albut: untrt (8)",
    "  SampleName: identifier, 8 distinct values",
    "  Run: identifier, 8 distinct values",
    "  avgLength: numeric, 87 to 126",
    "  Experiment: identifier, 8 distinct values",
    "  Sample: identifier, 8 distinct values",
    "  BioSample: identifier, 8 distinct values",
    "Problems:",
    "  - Column 'albut' has the same value (untrt) for every sample; it cannot be used in a "
    "design. Leave it out of --design.",
]


def expected_airway(counts_path: Path) -> list[str]:
    body = [airway_id_line() if line is None else line for line in AIRWAY_BODY]
    return [f"File: {counts_path}", *body]


def test_inspect_airway_exact_lines():
    result = CliRunner().invoke(cli, ["inspect", str(COUNTS), "--samples", str(SHEET)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == expected_airway(COUNTS)


def test_inspect_example_airway_uses_the_bundled_files():
    from heatseq.datasets import airway_files

    counts, sheet = airway_files()
    result = CliRunner().invoke(cli, ["inspect", "--example", "airway"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"File: {counts}"
    # the bundled sheet puts dex and cell first; every column is still described
    assert lines[1:14] == expected_airway(counts)[1:14]
    assert sorted(lines[15:25]) == sorted(expected_airway(counts)[15:25])
    assert lines[25:] == expected_airway(counts)[25:]
    assert sheet.name == "samples.csv"


def test_inspect_without_sheet_reports_it_as_a_problem():
    report = inspect_counts(COUNTS)
    assert report.format == "matrix" and report.n_zero_genes == 30633
    assert report.problems == ("No sample sheet given; the design needs one. Give --samples "
                               "sheet.csv (first column: the sample names of the count table).",)
    assert "Sample sheet: none given" in report.to_text().splitlines()


def test_inspect_star_lists_the_strand_guess_as_a_note():
    result = CliRunner().invoke(cli, ["inspect", str(FORMATS / "SRR1039508_ReadsPerGene.out.tab")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "Format: star"
    notes = lines[lines.index("Notes:") + 1: lines.index("Problems:")]
    assert notes[0].startswith("  - ") and "STAR's summary rows dropped" in notes[0]
    assert "used STAR's reverse column" in notes[1] and "--strand" in notes[1]
    assert "Warning:" not in result.stderr  # collected into the report, not repeated


def test_inspect_strand_option_is_passed_on():
    result = CliRunner().invoke(cli, ["inspect", str(FORMATS / "SRR1039508_ReadsPerGene.out.tab"),
                                      "--strand", "unstranded"])
    assert result.exit_code == 0, result.output
    star = pd.read_csv(FORMATS / "SRR1039508_ReadsPerGene.out.tab", sep="\t", header=None)
    assert f"  SRR1039508  {star.iloc[4:, 1].sum():,}" in result.stdout.splitlines()


def test_problems_found_with_their_fixes():
    rng = np.random.default_rng(7)
    counts = pd.DataFrame(rng.poisson(50, size=(5, 200)), index=[f"s{i}" for i in range(5)],
                          columns=[f"ENSG{i:011d}" for i in range(200)])
    counts.iloc[4] //= 10  # a small library: ~10% of the median
    sheet = pd.DataFrame({"group": ["a", "a", "b", "b", "c"], "batch": ["x"] * 5,
                          "rin": [9.0, 8.0, np.nan, 7.5, 9.1]}, index=counts.index)
    ds = Dataset(counts, samples=sheet, source=Source("toy.tsv", "matrix", ("a note",)))
    report = inspect_dataset(ds, notes=("a note", "a warning"))
    assert report.notes == ("a note", "a warning")
    median = int(np.median(counts.sum(axis=1)))
    small = int(counts.iloc[4].sum())
    assert report.problems == (
        f"Sample s4 has a small library: {small:,} reads, {small / median:.1%} of the median "
        f"({median:,}). Check its sequencing and alignment; consider removing it.",
        "Column 'group': level(s) c have a single sample (no replicate); a comparison of those "
        "groups needs at least two samples each. Add replicates, or merge or drop those levels.",
        "Column 'batch' has the same value (x) for every sample; it cannot be used in a design. "
        "Leave it out of --design.",
        "Column 'rin' has no value for 1 sample(s) (s2). Fill them in, or leave the column out "
        "of the design.",
    )
    lines = report.to_text().splitlines()
    assert "  group: a (2), b (2), c (1)" in lines
    assert "  rin: numeric, 7.5 to 9.1; 1 missing" in lines


def test_report_is_frozen():
    report = inspect_counts(FORMATS / "featurecounts.txt")
    assert isinstance(report, InspectReport)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.n_genes = 3  # type: ignore[misc]


@pytest.mark.parametrize("args, message", [
    ([], "Error: Give a count file or folder (heatseq inspect COUNTS), or --example airway."),
    ([str(COUNTS), "--example", "airway"], "Error: Give either COUNTS or --example, not both."),
])
def test_cli_user_errors(args, message):
    result = CliRunner().invoke(cli, ["inspect", *args])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == message
    assert result.stdout == ""


def test_cli_invalid_choice_exits_2():
    result = CliRunner().invoke(cli, ["inspect", str(COUNTS), "--strand", "both"])
    assert result.exit_code == 2
    assert "Invalid value for '--strand'" in result.stderr


def test_cli_help_lists_the_options():
    result = CliRunner().invoke(cli, ["inspect", "--help"])
    assert result.exit_code == 0
    for option in ("--samples", "--tx2gene", "--strand", "--duplicates", "--sheet", "--example"):
        assert option in result.stdout


def test_console_entry_point_registers_inspect():
    code = "from heatseq.cli import main; main(['inspect', '--example', 'airway'])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1] == "Format: matrix"
