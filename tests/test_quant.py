"""``heatseq quant`` with the real salmon (Debian 1.10.1) on a seeded simulated experiment.

The experiment (:func:`heatseq.quant.simulate_experiment`, made at test time): 150 genes of
2 transcripts (random sequence, 600-3,000 bases, the first 300 shared by a gene's two
transcripts), 2 conditions x 3 replicates, ~30,000 read pairs per sample (2 x 75 bases,
fragments N(250, 25), 0.2% substitutions, plus 5% read pairs of random sequence that map
nowhere), NB biological variation (dispersion 0.05), 20 genes changed 4-fold (10 up, 10
down).

What is checked, with the numbers measured when the tests were written:

- gene counts vs the true fragments per gene: Spearman >= 0.99 over all genes x samples
  and per sample, and at most 2 reads off per gene (measured: Spearman 1.000, every count
  exact, because the random genes share no sequence); transcript-level NumReads vs truth:
  Spearman >= 0.9 (measured 0.9996 and 0.9998; the shared exon makes isoforms ambiguous,
  so this is where salmon's EM is exercised);
- DE (``heatseq.deseq`` ``~ condition`` + ``results`` without shrinkage): power (changed
  genes with padj < 0.1) >= 0.8 and FDR (unchanged genes among those with padj < 0.1)
  <= 0.2 (measured: power 1.0 = 20/20, FDR 0.09 = 2/22), every called changed gene with
  the true sign;
- the run on a 2-worker ``LocalCluster(processes=True)`` gives byte-identical counts;
- a corrupt FASTQ is reported by name while the other samples finish, and the rerun after
  fixing it quantifies only that sample; a transient salmon failure is retried once;
- bad inputs: missing FASTQ, R1 without R2, a non-FASTA transcriptome, salmon missing.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import spearmanr

import heatseq
from heatseq.cli import cli
from heatseq.errors import InputError, InputWarning
from heatseq.quant import (
    LOW_MAPPING_RATE,
    build_index,
    check_fastq,
    find_samples,
    plan_threads,
    quantify,
    simulate_experiment,
)

SALMON = shutil.which("salmon")


def run_cli(args: list[str]):
    from heatseq import _commands  # noqa: F401  (registers subcommands)

    return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return simulate_experiment(tmp_path_factory.mktemp("sim"), seed=1)


@pytest.fixture(scope="module")
def local_run(experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "quant"
    return quantify(experiment.sheet, transcriptome=experiment.transcriptome,
                    gtf=experiment.gtf, outdir=out, threads=2, jobs=1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """2 samples of 20 genes, 3 random read pairs per real one: mapping rate ~25%."""
    return simulate_experiment(tmp_path_factory.mktemp("tiny"), n_genes=20, replicates=1,
                               fragments=3000, n_changed=2, unmapped_fraction=3.0, seed=2)


# ---------------------------------------------------------------------------- acceptance 1
def test_gene_counts_match_truth(local_run, experiment):
    counts = local_run.dataset.counts.T  # genes x samples
    truth = experiment.true_counts.loc[counts.index, counts.columns]
    assert list(counts.columns) == ["ctrl1", "ctrl2", "ctrl3", "trt1", "trt2", "trt3"]
    assert counts.shape == (150, 6)
    rho = spearmanr(counts.to_numpy().ravel(), truth.to_numpy().ravel()).statistic
    assert rho >= 0.99
    for sample in counts.columns:
        assert spearmanr(counts[sample], truth[sample]).statistic >= 0.99
    assert int((counts - truth).abs().to_numpy().max()) <= 2
    # transcript level: salmon's EM resolves the shared exon between isoforms
    for sample in ("ctrl1", "trt3"):
        sf = pd.read_csv(local_run.outdir / "salmon" / sample / "quant.sf", sep="\t",
                         index_col=0)
        tx_truth = experiment.true_tx_counts[sample].loc[sf.index]
        assert spearmanr(sf["NumReads"], tx_truth).statistic >= 0.9


def test_files_qc_and_provenance(local_run, experiment):
    out = local_run.outdir
    on_disk = pd.read_csv(out / "counts.tsv", sep="\t", index_col=0)
    assert on_disk.index.name == "gene_id"
    assert all(dtype == np.int64 for dtype in on_disk.dtypes)
    pd.testing.assert_frame_equal(on_disk, local_run.dataset.counts.T, check_names=False)
    qc = pd.read_csv(out / "quant_qc.tsv", sep="\t", index_col=0, keep_default_na=False)
    assert list(qc.columns) == ["status", "reads", "mapped", "mapping_rate", "library_type",
                                "compatible_fragment_ratio", "threads", "flags", "warnings"]
    assert (qc["status"] == "quantified").all() and (qc["flags"] == "").all()
    assert (qc["library_type"] == "IU").all() and (qc["threads"] == 2).all()
    expected_reads = (experiment.true_counts.sum() * 1.05).round()
    assert np.allclose(qc["reads"], expected_reads.loc[qc.index], atol=1)
    # 1 / 1.05 of the pairs come from transcripts
    assert ((qc["mapping_rate"] > 93) & (qc["mapping_rate"] < 96)).all()
    design = pd.read_csv(out / "samples.tsv", sep="\t", index_col=0)
    assert list(design["condition"]) == ["control"] * 3 + ["treated"] * 3
    run = json.loads((out / "run.json").read_text())
    assert run["quantified"] == list(qc.index) and run["reused"] == []
    assert run["parameters"]["salmon"] == "1.10.1"
    assert set(run["fastq"]["ctrl1"][0]) == {"path", "sha256", "reads"}
    assert sorted(local_run.files) == sorted(run["outputs"])
    for sample in qc.index:  # finished folders only, each with its stamp
        stamp = json.loads((out / "salmon" / sample / "heatseq_stamp.json").read_text())
        assert stamp["qc"]["reads"] == qc.loc[sample, "reads"]
    assert not list((out / "salmon").glob(".*"))
    assert local_run.dataset.lengths is not None
    assert local_run.dataset.samples["condition"].tolist() == design["condition"].tolist()


def test_de_recovers_changed_genes(local_run, experiment):
    fit = heatseq.deseq(local_run.dataset, design="~ condition")
    res = heatseq.results(fit, contrast=("condition", "treated", "control"), shrink="none")
    table = res.table
    called = set(table.index[table["padj"] < 0.1])
    changed = set(experiment.changed.index)
    power = len(called & changed) / len(changed)
    fdr = len(called - changed) / max(len(called), 1)
    assert power >= 0.8, (power, fdr)
    assert fdr <= 0.2, (power, fdr)
    hits = sorted(called & changed)
    assert (np.sign(table.loc[hits, "log2FoldChange"])
            == np.sign(experiment.changed.loc[hits])).all()


# ---------------------------------------------------------------------------- acceptance 2
def test_dask_cluster_gives_identical_counts(local_run, experiment, tmp_path):
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        res = quantify(experiment.sheet, transcriptome=experiment.transcriptome,
                       gtf=experiment.gtf, outdir=tmp_path / "dask", threads=2,
                       client=client)
    assert res.quantified == local_run.quantified and res.reused == ()
    assert (tmp_path / "dask" / "counts.tsv").read_bytes() == \
        (local_run.outdir / "counts.tsv").read_bytes()
    pd.testing.assert_frame_equal(res.dataset.counts, local_run.dataset.counts)
    run = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert run["parameters"]["scheduler"] and run["parameters"]["samples_at_once"] is None


# ---------------------------------------------------------------------------- acceptance 3
def _corrupt(src: Path, dst: Path) -> None:
    """A copy of a gzipped FASTQ with two stray lines after its 1000th record."""
    lines = gzip.decompress(src.read_bytes()).split(b"\n")
    dst.write_bytes(gzip.compress(b"\n".join([*lines[:4000], b"oops", b"ACGT", *lines[4000:]])))


def test_corrupt_fastq_reported_then_only_it_is_rerun(local_run, experiment, tmp_path):
    sim = experiment.sheet.parent
    sheet = tmp_path / "sheet.csv"
    bad = tmp_path / "trt1_R1.fastq.gz"
    _corrupt(sim / "fastq" / "trt1_R1.fastq.gz", bad)
    rows = [("ctrl1", sim / "fastq/ctrl1_R1.fastq.gz", sim / "fastq/ctrl1_R2.fastq.gz"),
            ("trt1", bad, sim / "fastq/trt1_R2.fastq.gz"),
            ("ctrl2", sim / "fastq/ctrl2_R1.fastq.gz", sim / "fastq/ctrl2_R2.fastq.gz")]
    sheet.write_text("sample,fastq_1,fastq_2,condition\n" + "".join(
        f"{s},{a},{b},{'treated' if s.startswith('trt') else 'control'}\n" for s, a, b in rows))
    out = tmp_path / "out"
    args = ["quant", "--reads", str(sheet), "--transcriptome", str(experiment.transcriptome),
            "--gtf", str(experiment.gtf), "--index", str(local_run.index), "--threads", "2",
            "-o", str(out)]
    r = run_cli(args)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: 1 of 3 samples failed (trt1); the other 2 finished")
    n_lines = gzip.decompress(bad.read_bytes()).count(b"\n")
    assert f"trt1: FASTQ file {bad} (sample 'trt1') is damaged: it has {n_lines:,} lines, " \
           "not a multiple of 4" in r.output
    qc = pd.read_csv(out / "quant_qc.tsv", sep="\t", index_col=0, keep_default_na=False)
    assert qc["status"].to_dict() == {"ctrl1": "quantified", "trt1": "failed",
                                      "ctrl2": "quantified"}
    assert qc.loc["trt1", "flags"] == "failed" and "damaged" in qc.loc["trt1", "warnings"]
    assert not (out / "counts.tsv").exists() and not (out / "salmon" / "trt1").exists()
    done_at = {s: (out / "salmon" / s / "heatseq_stamp.json").stat().st_mtime_ns
               for s in ("ctrl1", "ctrl2")}
    # fixed: only trt1 runs again; the others' stamps are untouched
    shutil.copyfile(sim / "fastq" / "trt1_R1.fastq.gz", bad)
    r = run_cli(args)
    assert r.exit_code == 0, r.output
    run = json.loads((out / "run.json").read_text())
    assert run["quantified"] == ["trt1"] and run["reused"] == ["ctrl1", "ctrl2"]
    for s, t in done_at.items():
        assert (out / "salmon" / s / "heatseq_stamp.json").stat().st_mtime_ns == t
    counts = pd.read_csv(out / "counts.tsv", sep="\t", index_col=0)
    assert list(counts.columns) == ["ctrl1", "trt1", "ctrl2"]
    assert (counts == local_run.dataset.counts.T[counts.columns]).all().all()


def test_rerun_reuses_everything_and_continues_into_run(local_run, experiment, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(local_run.outdir, out)  # moved outputs are still recognised
    r = run_cli(["quant", "--reads", str(experiment.sheet), "--transcriptome",
                 str(experiment.transcriptome), "--gtf", str(experiment.gtf), "-o", str(out),
                 "--threads", "2", "--design", "~ condition",
                 "--contrast", "condition,treated,control"])
    assert r.exit_code == 0, r.output
    run = json.loads((out / "run.json").read_text())
    assert run["quantified"] == [] and len(run["reused"]) == 6
    assert run["parameters"]["index_built"] is False
    de = pd.read_csv(out / "analysis" / "de" / "de_condition_treated_vs_control.tsv", sep="\t",
                     index_col=0)
    assert len(de) == 150 and (de["padj"] < 0.1).sum() >= 16


def test_failed_salmon_is_retried_once(tiny, tmp_path):
    marks = tmp_path / "calls"
    wrapper = tmp_path / "flaky-salmon"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = quant ]; then echo x >> {marks}; n=$(wc -l < {marks});\n'
        '  if [ "$n" -le "$(cat ' + str(tmp_path / "fail_first") + ')" ]; then\n'
        '    echo "[error] simulated crash of attempt $n" >&2; exit 3; fi; fi\n'
        f'exec {SALMON} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    sheet = tmp_path / "one.tsv"
    sheet.write_text(tiny.sheet.read_text().split("\n", 2)[0] + "\n" +
                     tiny.sheet.read_text().split("\n")[1].replace(
                         "fastq/", f"{tiny.sheet.parent}/fastq/") + "\n")
    t2g = tmp_path / "tx2gene.tsv"
    t2g.write_text("transcript_id\tgene_id\n" + "".join(
        f"T{2 * g + i + 1:05d}\tG{g + 1:04d}\n" for g in range(20) for i in range(2)))
    (tmp_path / "fail_first").write_text("1")
    with pytest.warns(InputWarning, match=r"Sample ctrl1: low mapping rate \(2\d\.\d% < 30%\)"):
        res = quantify(sheet, transcriptome=tiny.transcriptome, tx2gene=t2g,
                       outdir=tmp_path / "a", salmon=wrapper, threads=1)
    assert res.quantified == ("ctrl1",)
    assert res.qc.loc["ctrl1", "mapping_rate"] < LOW_MAPPING_RATE
    assert len(marks.read_text().split()) == 2  # failed once, succeeded on the retry
    assert res.dataset.counts.shape == (1, 20)
    marks.unlink()
    (tmp_path / "fail_first").write_text("9")
    with pytest.raises(InputError, match=r"1 of 1 samples failed \(ctrl1\)(.|\n)*"
                                         r"exited with code 3: \[error\] simulated crash of "
                                         r"attempt 2"):
        quantify(sheet, transcriptome=tiny.transcriptome, tx2gene=t2g,
                 outdir=tmp_path / "b", salmon=wrapper, threads=1)
    assert len(marks.read_text().split()) == 2  # tried, retried once, reported
    assert (tmp_path / "b" / "salmon" / "ctrl1.failed.log").is_file()


# ---------------------------------------------------------------------------- acceptance 4
def test_missing_fastq(experiment, tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text(f"sample,fastq_1,fastq_2\nA,{tmp_path}/A_1.fq.gz,{tmp_path}/A_2.fq.gz\n")
    with pytest.raises(InputError, match=r"FASTQ file of sample 'A' not found: .*A_1\.fq\.gz"):
        quantify(sheet, transcriptome=experiment.transcriptome, gtf=experiment.gtf,
                 outdir=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_r1_without_r2(experiment, tmp_path):
    reads = tmp_path / "reads"
    reads.mkdir()
    src = experiment.sheet.parent / "fastq"
    shutil.copy(src / "ctrl1_R1.fastq.gz", reads / "A_R1.fastq.gz")
    shutil.copy(src / "ctrl1_R2.fastq.gz", reads / "A_R2.fastq.gz")
    shutil.copy(src / "ctrl2_R1.fastq.gz", reads / "B_R1.fastq.gz")
    with pytest.raises(InputError, match=r"B_R1\.fastq\.gz \(sample 'B'\) has no mate-2 file"):
        quantify(reads, transcriptome=experiment.transcriptome, gtf=experiment.gtf,
                 outdir=tmp_path / "o")


def test_transcriptome_not_fasta(experiment, tmp_path):
    with pytest.raises(InputError, match=r"genes\.gtf is not a FASTA file: it should start "
                                         r"with '>' .* starts with 'T00001\\tsim"):
        quantify(experiment.sheet, transcriptome=experiment.gtf, gtf=experiment.gtf,
                 outdir=tmp_path / "o")


def test_salmon_not_installed(experiment, tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"salmon was not found at /nonexistent/salmon\. "
                                         r"Install it with `apt-get install salmon`.*conda"
                                         r".*github\.com/COMBINE-lab/salmon/releases"):
        quantify(experiment.sheet, transcriptome=experiment.transcriptome,
                 gtf=experiment.gtf, outdir=tmp_path / "o", salmon="/nonexistent/salmon")
    monkeypatch.setenv("PATH", str(tmp_path))
    r = run_cli(["quant", "--reads", str(experiment.sheet), "--transcriptome",
                 str(experiment.transcriptome), "--gtf", str(experiment.gtf), "-o",
                 str(tmp_path / "o")])
    assert r.exit_code == 2
    assert r.output.startswith("Error: salmon was not found on PATH. Install it with "
                               "`apt-get install salmon` (Debian/Ubuntu)")


def test_other_input_mistakes(experiment, tmp_path):
    common = {"transcriptome": experiment.transcriptome, "outdir": tmp_path / "o"}
    with pytest.raises(InputError, match="Give exactly one of --gtf"):
        quantify(experiment.sheet, **common)
    with pytest.raises(InputError, match="Give exactly one of --gtf"):
        quantify(experiment.sheet, gtf=experiment.gtf, tx2gene=experiment.gtf, **common)
    bad_sheet = tmp_path / "s.csv"
    bad_sheet.write_text("sample,R1,R2\nA,a.fq,b.fq\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) fastq_1; its columns are: "
                                         r"sample, R1, R2"):
        quantify(bad_sheet, gtf=experiment.gtf, **common)
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.txt").write_text("x")
    with pytest.raises(InputError, match="is not empty and holds no earlier heatseq quant"):
        quantify(experiment.sheet, transcriptome=experiment.transcriptome,
                 gtf=experiment.gtf, outdir=full)
    with pytest.raises(InputError, match="--threads 0 is not valid"):
        plan_threads(3, threads=0)
    r = run_cli(["quant", "--reads", str(experiment.sheet), "--transcriptome",
                 str(experiment.transcriptome), "--gtf", str(experiment.gtf), "--contrast",
                 "condition,treated,control", "-o", str(tmp_path / "p")])
    assert r.exit_code == 2 and r.output.startswith("Error: --contrast needs --design")


# ---------------------------------------------------------------------------- units
def test_find_samples_in_folders(tmp_path):
    rec = gzip.compress(b"@r1\nACGT\n+\nIIII\n")
    names = ["S1_S1_L001_R1_001.fastq.gz", "S1_S1_L001_R2_001.fastq.gz",
             "S1_S1_L002_R1_001.fastq.gz", "S1_S1_L002_R2_001.fastq.gz",
             "ctl_1.fq.gz", "ctl_2.fq.gz", "single.fastq.gz", "notes.txt"]
    for n in names:
        (tmp_path / n).write_bytes(rec)
    found, design = find_samples(tmp_path)
    by = {s.sample: s for s in found}
    assert sorted(by) == ["S1", "ctl", "single"] and design.shape == (0, 0)
    assert [f.name for f in by["S1"].fastq_1] == ["S1_S1_L001_R1_001.fastq.gz",
                                                 "S1_S1_L002_R1_001.fastq.gz"]
    assert by["ctl"].paired and not by["single"].paired
    with pytest.raises(InputError, match="No FASTQ files"):
        find_samples(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_sheet_lanes_and_relative_paths(tmp_path):
    rec = gzip.compress(b"@r1\nACGT\n+\nIIII\n")
    (tmp_path / "fq").mkdir()
    for n in ("a_L1_1.fq.gz", "a_L1_2.fq.gz", "a_L2_1.fq.gz", "a_L2_2.fq.gz", "b.fq.gz"):
        (tmp_path / "fq" / n).write_bytes(rec)
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tfastq_1\tfastq_2\tcondition\n"
                     "a\tfq/a_L1_1.fq.gz\tfq/a_L1_2.fq.gz\tx\n"
                     "a\tfq/a_L2_1.fq.gz\tfq/a_L2_2.fq.gz\tx\n"
                     "b\tfq/b.fq.gz\t\ty\n")
    found, design = find_samples(sheet)
    assert [s.sample for s in found] == ["a", "b"]
    assert len(found[0].fastq_1) == 2 and found[1].fastq_2 == ()
    assert design["condition"].to_dict() == {"a": "x", "b": "y"}
    sheet.write_text("sample\tfastq_1\tfastq_2\tcondition\n"
                     "a\tfq/a_L1_1.fq.gz\tfq/a_L1_2.fq.gz\tx\n"
                     "a\tfq/a_L2_1.fq.gz\tfq/a_L2_2.fq.gz\tz\n")
    with pytest.raises(InputError, match="column 'condition' has different values"):
        find_samples(sheet)


def test_check_fastq_finds_damage(tmp_path):
    good = b"@r1\nACGT\n+\nIIII\n@r2\nACGA\n+\nIIII\n"
    f = tmp_path / "a.fq.gz"
    f.write_bytes(gzip.compress(good) + gzip.compress(good))  # two gzip members
    check = check_fastq(f)
    assert check.records == 4 and len(check.sha256) == 64
    f.write_bytes(gzip.compress(good * 2000)[:-30])
    with pytest.raises(InputError, match=r"a\.fq\.gz \(sample 'x'\) is truncated"):
        check_fastq(f, sample="x")
    f.write_bytes(b">not fastq\nACGT\n")
    with pytest.raises(InputError, match="does not start with '@'"):
        check_fastq(f)
    f.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        check_fastq(f)
    plain = tmp_path / "b.fastq"
    plain.write_bytes(good[:-1])  # no final newline is fine
    assert check_fastq(plain).records == 2


def test_index_is_reused_and_rebuilt(tiny, tmp_path):
    idx = tmp_path / "idx"
    assert build_index(tiny.transcriptome, index=idx) == (idx, True)
    made = (idx / "heatseq_index.json").stat().st_mtime_ns
    assert build_index(tiny.transcriptome, index=idx) == (idx, False)
    assert (idx / "heatseq_index.json").stat().st_mtime_ns == made
    assert build_index(tiny.transcriptome, index=idx, k=25) == (idx, True)
    assert json.loads((idx / "heatseq_index.json").read_text())["k"] == 25
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    genome = tmp_path / "genome.fa"
    rng = np.random.default_rng(3)
    genome.write_text(">chr1 decoy\n" + "".join(rng.choice(list("ACGT"), 5000)) + "\n")
    assert build_index(tiny.transcriptome, index=tmp_path / "dec", decoys=genome)[1]
    info = json.loads((tmp_path / "dec" / "heatseq_index.json").read_text())
    assert info["decoys"] == str(genome)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x").write_text("x")
    with pytest.raises(InputError, match="was not built by heatseq"):
        build_index(tiny.transcriptome, index=foreign)
    with pytest.raises(InputError, match="k=32 is not valid"):
        build_index(tiny.transcriptome, index=tmp_path / "k", k=32)


def test_plan_threads():
    assert plan_threads(6, cores=2) == (1, 2)
    assert plan_threads(6, cores=16) == (4, 4)
    assert plan_threads(2, cores=16) == (2, 8)
    assert plan_threads(6, cores=16, jobs=2) == (2, 8)
    assert plan_threads(6, cores=16, threads=3) == (4, 3)
    assert os.cpu_count() is not None
