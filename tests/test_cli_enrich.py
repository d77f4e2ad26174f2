"""``heatseq enrich`` end to end: the files and columns of enrichment.tsv, the known airway
biology through the CLI, a seeded GSEA repeating byte for byte, and a user's mistakes
(acceptance 5) giving one message naming the file/row and the fix, exit code 2, no
traceback and no output written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from heatseq.cli import cli
from heatseq.enrich.output import TABLE_COLUMNS

AIRWAY = Path(__file__).parent / "data" / "airway"
DE = str(AIRWAY / "deseq2_R.tsv.gz")


def run(args: list[str]):
    from heatseq import _commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)


def test_de_ora_writes_table_plots_and_known_biology(tmp_path):
    """Acceptance 3 through the CLI on R DESeq2's airway table (dex trt vs untrt): in the
    'both' list (padj < 0.05, |LFC| > 1) over GO BP of 10-500 genes, vasculature development
    and extracellular matrix organization are in the top 20 and GO:0051384 has p < 0.01
    (measured: ranks 3 and 15, p 2.6e-3)."""
    out = tmp_path / "e"
    r = run(["enrich", "--de", DE, "--organism", "human", "--collections", "go_bp",
             "--formats", "png", "-o", str(out)])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["enrichment.both.bar.png", "enrichment.both.dot.png",
                     "enrichment.down.bar.png", "enrichment.down.dot.png",
                     "enrichment.tsv", "enrichment.up.bar.png", "enrichment.up.dot.png",
                     "run.json", "unmapped_ids.tsv"]
    t = pd.read_csv(out / "enrichment.tsv", sep="\t")
    assert tuple(t.columns[:len(TABLE_COLUMNS)]) == TABLE_COLUMNS
    assert set(t["list"]) == {"up", "down", "both"}
    both = t[t["list"] == "both"].reset_index(drop=True)
    assert both["pvalue"].is_monotonic_increasing
    top20 = both["term_id"].head(20).tolist()
    assert "GO:0001944" in top20 and "GO:0030198" in top20
    assert both.set_index("term_id").loc["GO:0051384", "pvalue"] < 0.01
    assert t["release"].str.startswith("GO 2022-07-01").all()
    assert '"go_bp"' in (out / "run.json").read_text()


def test_gene_list_gsea_and_seed(tmp_path):
    de = pd.read_csv(DE, sep="\t", index_col=0)
    de = de[de["stat"].notna()]
    ranking = tmp_path / "ranking.tsv"
    de["stat"].to_csv(ranking, sep="\t", header=False)
    for name in ("a", "b"):
        r = run(["enrich", "--genes", str(ranking), "--organism", "human", "--collections",
                 "hallmark", "--method", "gsea", "--formats", "png", "-o",
                 str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    a = (tmp_path / "a" / "enrichment.tsv").read_bytes()
    assert a == (tmp_path / "b" / "enrichment.tsv").read_bytes()
    t = pd.read_csv(tmp_path / "a" / "enrichment.tsv", sep="\t")
    assert {"nes", "es", "leading_edge_size"} <= set(t.columns)
    assert len(t) == 50


def _symbols(n: int = 300) -> list[str]:
    de = pd.read_csv(DE, sep="\t", index_col=0)
    de = de[de["padj"].notna()].sort_values("padj")
    return list(de.index[:n])


@pytest.mark.parametrize("case", ["empty_line", "duplicate", "no_gene_in_universe",
                                  "organism", "unmappable"])
def test_bad_input_exits_2_with_one_message_and_no_output(tmp_path, case):
    """Acceptance 5, through the CLI."""
    ids = _symbols()
    genes = tmp_path / "genes.txt"
    genes.write_text("\n".join(ids[:60]) + "\n")
    gmt = tmp_path / "sets.gmt"
    good = "SET_A\tna\t" + "\t".join(ids[:40]) + "\nSET_B\tna\t" + "\t".join(ids[20:80]) + "\n"
    org = "human"
    if case == "empty_line":
        gmt.write_text(good.replace("\nSET_B", "\n\nSET_B"))
        expect = [str(gmt), "line 2", "empty"]
    elif case == "duplicate":
        gmt.write_text(good + "SET_A\tna\t" + "\t".join(ids[5:30]) + "\n")
        expect = [str(gmt), "SET_A", "line 3"]
    elif case == "no_gene_in_universe":
        gmt.write_text(good + "SET_C\tna\t" + "\t".join(f"FAKE{i}" for i in range(15)) + "\n")
        expect = [str(gmt), "SET_C", "line 3", "--skip-empty-sets"]
    elif case == "organism":
        gmt.write_text(good)
        org = "zebrafish"
        expect = ["zebrafish", "human, mouse, fly"]
    else:
        gmt.write_text(good)
        genes.write_text("\n".join(f"NOTAGENE{i}" for i in range(50)) + "\n")
        expect = [str(genes), "check the organism"]
    out = tmp_path / "out"
    r = run(["enrich", "--genes", str(genes), "--organism", org, "--gmt", str(gmt),
             "--formats", "png", "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: "), r.output
    assert "Traceback" not in r.output
    for word in expect:
        assert word.lower() in r.output.lower(), (word, r.output)
    assert not out.exists() or not any(out.iterdir())


def test_one_input_required(tmp_path):
    r = run(["enrich", "--organism", "human", "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "exactly one input" in r.output
