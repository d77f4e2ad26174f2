"""``heatseq heatmap``: exit codes, exact error lines, the files written beside the figure,
and end-to-end agreement with R's pheatmap order on the airway reference (R's VST in,
R's row and column order out, position for position)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from heatseq import _commands  # noqa: F401  (registers the subcommands)
from heatseq.cli import cli
from heatseq.commands.heatmap import parse_genes, parse_label_genes, parse_size
from heatseq.errors import InputError


@pytest.fixture
def airway(data_dir: Path) -> Path:
    return data_dir / "airway"


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--quiet", "heatmap", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_airway_top500_writes_figure_order_and_modules(airway, tmp_path):
    code, out = run(airway / "counts.tsv.gz", "--samples", airway / "samples.csv",
                    "--annotate", "dex,cell", "-o", tmp_path / "hm.png", "--timings")
    assert code == 0, out
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["hm.modules.tsv", "hm.modules.txt", "hm.order.tsv", "hm.png"]
    order = pd.read_csv(tmp_path / "hm.order.tsv", sep="\t")
    assert list(order.columns) == ["axis", "position", "id", "label"]
    assert (order["axis"] == "row").sum() == 500 and (order["axis"] == "col").sum() == 8
    assert order.loc[order["id"] == "ENSG00000120129", "label"].tolist() in ([], ["DUSP1"])
    modules = pd.read_csv(tmp_path / "hm.modules.tsv", sep="\t")
    assert list(modules.columns[:3]) == ["gene_id", "symbol", "module"]
    assert {"mean_z_trt", "mean_z_untrt"} <= set(modules.columns)
    assert list(modules["gene_id"]) == list(order.loc[order["axis"] == "row", "id"])
    text = (tmp_path / "hm.modules.txt").read_text().splitlines()
    assert len(text) == modules["module"].nunique()
    assert all(line.startswith(f"Module {i + 1}, ") for i, line in enumerate(text))
    timing = next(line for line in out.splitlines() if line.startswith("timings (s): "))
    for step in ("distances", "linkage", "draw", "save", "total"):
        assert f" {step} " in timing


def test_r_vst_in_gives_r_pheatmap_order_out(airway, tmp_path):
    """R's vst(blind=FALSE) of airway drawn with the defaults (top 500 by variance, row
    z-scores, euclidean, complete): the order file equals R pheatmap's, exactly."""
    code, out = run(airway / "vst_R.tsv.gz", "--transform", "none", "-o", tmp_path / "r.png",
                    "--timings-file", tmp_path / "t.json")
    assert code == 0, out
    ours = pd.read_csv(tmp_path / "r.order.tsv", sep="\t")
    ref = pd.read_csv(airway / "pheatmap_R_order.tsv", sep="\t")
    for axis in ("row", "col"):
        want = ref[ref["axis"] == axis].sort_values("position")["id"].tolist()
        assert ours.loc[ours["axis"] == axis, "id"].tolist() == want
    steps = json.loads((tmp_path / "t.json").read_text())
    assert {"distances", "linkage", "draw", "save", "total"} <= set(steps)


def test_de_heatmap_separates_treatment_and_modules_go_up_and_down(airway, tmp_path):
    code, out = run(airway / "vst_R.tsv.gz", "--transform", "none", "--samples",
                    airway / "samples.csv", "--annotate", "dex,cell", "--genes",
                    f"de:{airway / 'deseq2_R.tsv.gz'}", "--max-genes", "100", "--alpha", "0.05",
                    "--lfc-threshold", "1", "--k", "2", "--label-genes", "top:10",
                    "-o", tmp_path / "de.svg")
    assert code == 0, out
    order = pd.read_csv(tmp_path / "de.order.tsv", sep="\t")
    sheet = pd.read_csv(airway / "samples.csv", index_col=0)
    cols = order.loc[order["axis"] == "col", "id"]
    dex = sheet.loc[cols, "dex"].tolist()
    assert dex[:4] == [dex[0]] * 4 and dex[4:] == [dex[4]] * 4 and dex[0] != dex[4]
    modules = pd.read_csv(tmp_path / "de.modules.tsv", sep="\t")
    means = modules.groupby("module")["mean_z_trt"].mean()
    assert len(means) == 2 and means.min() < -0.5 and means.max() > 0.5
    svg = (tmp_path / "de.svg").read_text()
    assert ">DE<" in svg or "DE</text>" in svg  # the direction bar is named
    assert "DUSP1" in svg  # among the 10 smallest padj, labelled


def test_bad_input_errors(tmp_path, airway):
    three = _write(tmp_path / "three.tsv", "gene_id\tA\tB\tC\ng1\t1.5\t2\t3\ng2\t2.5\t1\t0\n"
                                           "g3\t0.5\t3\t1\n")
    one = _write(tmp_path / "one.tsv", "gene_id\tA\ng1\t1.5\ng2\t2.5\ng3\t0.5\n")
    empty = _write(tmp_path / "empty.txt", "# nothing here\n\n")
    unknown = _write(tmp_path / "unknown.txt", "FOO\nBAR\n")
    out = tmp_path / "x.png"
    cases = [
        (["--genes", f"list:{empty}"], f"Error: {empty}: the gene list is empty; give one gene "
                                       "ID or symbol per line."),
        (["--genes", f"list:{unknown}"], "Error: None of the 2 names in the gene list matched a "
                                         "gene ID or symbol: FOO, BAR. Gene IDs look like 'g1'; "
                                         "check the spelling and the organism."),
        (["--metric", "correlation", "--linkage", "ward.D2"],
         "Error: The row metric 'correlation' cannot be used with method 'ward.D2' (Ward's "
         "method needs euclidean distances). Valid metric: methods are euclidean: complete, "
         "average, ward.D2, single; correlation: complete, average, single; spearman: complete, "
         "average, single; cosine: complete, average, single; manhattan: complete, average, "
         "single."),
        (["--genes", "top:5"], "Error: --genes 'top:5' is not valid; give top-variance:N, "
                               "de:RESULTS.tsv, list:FILE or all."),
        (["--clip", "-1"], "Error: --clip '-1' is not valid; give auto, none or a positive "
                           "number."),
        (["--samples", airway / "samples.csv"],
         f"Error: {airway / 'samples.csv'}: 3 sample(s) of the table are not in the sample "
         "sheet: A, B, C. Add a row for each sample."),
    ]
    for extra, line in cases:
        code, text = run(three, *extra, "-o", out)
        assert code == 2, (extra, text)
        assert line in text.splitlines(), (extra, text)
    code, text = run(one, "-o", out)
    assert code == 2
    assert f"Error: {one} has 1 sample (A); clustering samples and row z-scores need at least " \
           "2. Add samples, or give --no-cluster-cols --scale none." in text.splitlines()
    code, text = run(three, "-o", tmp_path / "x.jpg")
    assert code == 2
    assert f"Error: -o {tmp_path / 'x.jpg'}: the figure must end in .png, .svg, .pdf." in \
        text.splitlines()
    code, text = run(three, "--annotate", "batch", "-o", out)
    assert "Error: --annotate batch needs a sample sheet: add --samples SHEET." in \
        text.splitlines()
    assert not out.exists()
    code, text = run(three, "--no-cluster-cols", "--scale", "none", "-o", out)
    assert code == 0, text


def test_one_sample_without_clustering_columns_is_drawn(tmp_path):
    one = _write(tmp_path / "one.tsv", "gene_id\tA\ng1\t1.5\ng2\t2.5\ng3\t0.5\n")
    code, text = run(one, "--no-cluster-cols", "--scale", "none", "-o", tmp_path / "one.pdf")
    assert code == 0, text
    assert (tmp_path / "one.pdf").read_bytes().startswith(b"%PDF")


def test_annotate_column_missing_from_sheet(airway, tmp_path):
    code, text = run(airway / "counts.tsv.gz", "--samples", airway / "samples.csv",
                     "--annotate", "dex,batch", "-o", tmp_path / "x.png")
    assert code == 2
    assert f"Error: Column(s) 'batch' to annotate are not in the sample sheet " \
           f"{airway / 'samples.csv'}; columns are: condition, cell, dex, albut, SampleName, " \
           "Run, avgLength, Experiment, Sample, BioSample. Check --annotate." in \
        text.splitlines(), text


def test_parsers():
    assert parse_genes("top-variance") == ("top_variance", 500)
    assert parse_genes("list:genes.txt") == ("list", "genes.txt")
    assert parse_label_genes("list:x.txt") == ("file", "x.txt")
    assert parse_label_genes("none") == ("none", "none")
    assert parse_size("double") == "double"
    with pytest.raises(InputError, match="positive number of genes"):
        parse_genes("top-variance:0")
    with pytest.raises(InputError, match="give a file after the colon"):
        parse_genes("de:")
    with pytest.raises(InputError, match="--size 'big' is not valid"):
        parse_size("big")
    with pytest.raises(InputError, match=r"positive number, e\.g\. top:20"):
        parse_label_genes("top:x")
