"""Over-representation analysis (heatseq.enrich.ora) and GO redundancy (heatseq.enrich.reduce).

Reference data (tests/data/enrich/, see ora_README.md): a 2,500-gene universe drawn from
the airway DE genes (the 514 "up" genes are the list), their direct GO BP annotations and
the GO BP DAG above them (is_a + part_of); heatseq uses its bundled GO BP sets (propagated
at build time), goatools propagates the direct annotations itself.

Tolerances:

- p-values vs an independent per-set ``scipy.stats.hypergeom.sf`` loop (Boost): 1e-10
  relative (measured: <= 5e-13); vs exact rational arithmetic: 1e-10 relative.
- goatools 1.6 (``GOEnrichmentStudy``, Fisher one-sided ``alternative="greater"``,
  propagation over is_a + part_of from the direct annotations, population = the same
  universe): the same terms after the same size filter, identical counts, p-values to 1e-10
  relative (measured: 4e-14); with the size filter off, also BH to 1e-10 (goatools adjusts
  over all its terms, heatseq over the tested ones, so with 10-500 the padj differ by design).
"""

from __future__ import annotations

import contextlib
import io
from fractions import Fraction
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom

from heatseq.enrich import GeneSets
from heatseq.enrich.collections import load_collection
from heatseq.enrich.ora import ORA_COLUMNS, de_gene_lists, hypergeom_sf, ora
from heatseq.enrich.ora import tested_universe as universe_of  # not collected as a test
from heatseq.enrich.reduce import mark_redundant
from heatseq.errors import InputError

ENRICH = Path(__file__).parent / "data" / "enrich"
AIRWAY = Path(__file__).parent / "data" / "airway"
RTOL = 1e-10


@pytest.fixture(scope="module")
def subset() -> tuple[GeneSets, list[str], list[str]]:
    """The bundled GO BP collection, the 2,500-gene universe and the 514-gene list."""
    gs = load_collection("go_bp", organism="human")
    genes = pd.read_csv(ENRICH / "ora_genes.tsv.gz", sep="\t")
    universe = genes["symbol"].tolist()
    study = genes.loc[genes["in_list"] == 1, "symbol"].tolist()
    return gs, study, universe


# ------------------------------------------------------------------ the test itself
def test_pvalues_equal_an_independent_scipy_loop(subset):
    gs, study, universe = subset
    res = ora(study, gs, universe=universe, background="universe")
    sets = gs.as_dict()
    uni, lst = set(universe), set(study)
    big_n, n = len(uni), len(lst & uni)
    assert (res.attrs["universe_size"], res.attrs["list_size"]) == (big_n, n)
    # counts recomputed with Python sets, p-values with scipy one set at a time
    set_size = np.array([len(set(sets[t]) & uni) for t in res["term_id"]])
    overlap = np.array([len(set(sets[t]) & lst) for t in res["term_id"]])
    np.testing.assert_array_equal(res["set_size"], set_size)
    np.testing.assert_array_equal(res["overlap"], overlap)
    ref = np.array([hypergeom.sf(k - 1, big_n, kk, n) for k, kk in zip(overlap, set_size,
                                                                        strict=True)])
    np.testing.assert_allclose(res["pvalue"], ref, rtol=RTOL, atol=0)
    assert res["pvalue"].min() < 1e-8   # into the tail (far tails: the next test)
    genes = [";".join(sorted(set(sets[t]) & lst)) for t in res["term_id"]]
    assert res["genes"].tolist() == genes
    np.testing.assert_allclose(res["expected"], n * set_size / big_n, rtol=1e-14)
    np.testing.assert_allclose(res["fold_enrichment"], overlap / (n * set_size / big_n),
                               rtol=1e-14)
    np.testing.assert_allclose(res["gene_ratio"], overlap / n, rtol=1e-14)


def test_hypergeom_sf_far_tails_and_exact_values(rng):
    for big_n, n in [(12481, 812), (20000, 50), (300, 250), (17188, 10000), (50, 5)]:
        kk = rng.integers(1, min(big_n, 600), 400)
        k = rng.integers(0, np.minimum(kk, n) + 2)
        got = hypergeom_sf(k, kk, list_size=n, universe_size=big_n)
        ref = np.array([hypergeom.sf(a - 1, big_n, b, n) for a, b in zip(k, kk, strict=True)])
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=0)
    # exact rational values, including p ~ 1e-300 and p = 1 - tiny
    cases = [(0, 10, 5, 100), (3, 10, 5, 100), (339, 481, 812, 12481), (1, 400, 812, 12481),
             (30, 400, 812, 12481), (27, 400, 812, 12481), (5, 5, 5, 10)]
    for k, kk, n, big_n in cases:
        exact = Fraction(sum(comb(kk, i) * comb(big_n - kk, n - i)
                             for i in range(k, min(kk, n) + 1)), comb(big_n, n))
        got = hypergeom_sf(np.array([k]), np.array([kk]), list_size=n, universe_size=big_n)[0]
        assert abs(Fraction(got) / exact - 1) < RTOL, (k, kk, n, big_n)


def test_bh_and_order_and_attrs(subset):
    gs, study, universe = subset
    res = ora(study, gs, universe=universe, label="up")
    assert tuple(res.columns) == ORA_COLUMNS
    # sorted by p-value then term ID
    key = list(zip(res["pvalue"], res["term_id"], strict=True))
    assert key == sorted(key)
    # BH against an independent computation (R's p.adjust formula)
    p = res["pvalue"].to_numpy()
    m = p.size
    order = np.argsort(p)[::-1]
    ref = np.empty(m)
    ref[order] = np.minimum(1, np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1)))
    np.testing.assert_allclose(res["padj"], ref, rtol=1e-14)
    a = res.attrs
    assert a["label"] == "up" and a["collection"] == "go_bp" and a["background"] == "annotated"
    annotated = set(universe) & set(gs.genes)
    assert a["universe_size"] == len(annotated) and a["universe_given"] == len(universe)
    assert a["list_size"] == len(set(study) & annotated)
    assert a["sets_tested"] == len(res) and a["min_size"] == 10 and a["max_size"] == 500
    assert res["set_size"].between(10, 500).all()
    # the same run twice gives the same table
    pd.testing.assert_frame_equal(res, ora(study, gs, universe=universe, label="up"))


def test_size_filter_applies_after_restricting_to_the_universe():
    gs = GeneSets.from_dict({"big": [f"g{i}" for i in range(30)],        # 30 genes, 5 in uni
                             "small": [f"g{i}" for i in range(25, 40)]},  # 15, 15 in uni
                            name="toy")
    universe = [f"g{i}" for i in range(25, 60)]
    res = ora(["g26", "g27"], gs, universe=universe, min_size=10, background="universe")
    assert res["term_id"].tolist() == ["small"]
    assert res["set_size"].tolist() == [15]


def test_list_genes_outside_the_universe_are_dropped_and_counted():
    gs = GeneSets.from_dict({"A": [f"g{i}" for i in range(10)]}, name="toy")
    res = ora(["g1", "g2", "zz", None, "g2", float("nan")], gs,
              universe=[f"g{i}" for i in range(20)], background="universe")
    a = res.attrs
    assert (a["list_given"], a["list_unmapped"], a["list_not_in_universe"]) == (3, 2, 1)
    assert a["list_dropped"] == ("zz",) and a["list_size"] == 2
    assert res.loc[0, "genes"] == "g1;g2"


def test_goatools_agrees(subset, tmp_path):
    from goatools.go_enrichment import GOEnrichmentStudy
    from goatools.obo_parser import GODag

    gs, study, universe = subset
    obo = _write_obo(tmp_path / "go_subset.obo")
    with contextlib.redirect_stdout(io.StringIO()):
        dag = GODag(str(obo), optional_attrs={"relationship"}, prt=None)
    ann = pd.read_csv(ENRICH / "ora_annotations_direct.tsv.gz", sep="\t")
    assoc = ann.groupby("symbol")["go_id"].apply(set).to_dict()
    goea = GOEnrichmentStudy(universe, assoc, dag, propagate_counts=True,
                             relationships={"part_of"}, alpha=0.05, methods=["fdr_bh"],
                             alternative="greater", log=None)
    records = goea.run_study(study, prt=None)
    g = pd.DataFrame({"term_id": [r.GO for r in records],
                      "study_count": [r.study_count for r in records],
                      "pop_count": [r.pop_count for r in records],
                      "p": [r.p_uncorrected for r in records],
                      "bh": [r.p_fdr_bh for r in records]}).set_index("term_id")
    assert {r.study_n for r in records} == {len(study)}
    assert {r.pop_n for r in records} == {len(universe)}
    # default size filter: goatools tests every term; the same filter on its counts
    h = ora(study, gs, universe=universe, background="universe").set_index("term_id")
    g10 = g[g["pop_count"].between(10, 500)]
    assert set(h.index) == set(g10.index)
    j = h.join(g10, how="inner")
    np.testing.assert_array_equal(j["set_size"], j["pop_count"])
    np.testing.assert_array_equal(j["overlap"], j["study_count"])
    np.testing.assert_allclose(j["pvalue"], j["p"], rtol=RTOL, atol=0)
    # without a size filter the tested terms and BH agree too
    full = ora(study, gs, universe=universe, background="universe", min_size=1,
               max_size=10**6).set_index("term_id")
    assert set(full.index) == set(g.index)
    jf = full.join(g, how="inner")
    np.testing.assert_allclose(jf["pvalue"], jf["p"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(jf["padj"], jf["bh"], rtol=RTOL, atol=0)


def _write_obo(path: Path) -> Path:
    """A minimal OBO of the GO BP subset (is_a and part_of edges)."""
    terms = pd.read_csv(ENRICH / "go_subset_terms.tsv.gz", sep="\t")
    edges = pd.read_csv(ENRICH / "go_subset_edges.tsv.gz", sep="\t")
    parents = {c: list(zip(g["parent"], g["relationship_type"], strict=True))
               for c, g in edges.groupby("child")}
    lines = ["format-version: 1.2", "data-version: heatseq-test", ""]
    for t in terms.itertuples():
        lines += ["[Term]", f"id: {t.go_id}", f"name: {t.name}", f"namespace: {t.namespace}"]
        for parent, rel in parents.get(t.go_id, []):
            lines.append(f"is_a: {parent}" if rel == "is_a" else f"relationship: {rel} {parent}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------ DE tables
@pytest.fixture(scope="module")
def airway_de() -> pd.DataFrame:
    from heatseq.annotation import map_symbols

    de = pd.read_csv(AIRWAY / "deseq2_R.tsv.gz", sep="\t", index_col=0)
    de["symbol"] = map_symbols(de.index, organism="human").to_numpy()
    return de


def test_de_gene_lists_and_universe(airway_de):
    de = airway_de
    lists = de_gene_lists(de)
    sig = de[(de["padj"] < 0.05) & (de["log2FoldChange"].abs() > 1) & de["symbol"].notna()]
    assert set(lists["up"]) == set(sig.loc[sig["log2FoldChange"] > 0, "symbol"])
    assert set(lists["down"]) == set(sig.loc[sig["log2FoldChange"] < 0, "symbol"])
    assert lists["both"] == list(dict.fromkeys(
        sig.sort_values(["padj", "symbol"], kind="stable")["symbol"]))
    uni = universe_of(de)
    assert set(uni) == set(de.loc[de["padj"].notna(), "symbol"].dropna())
    assert len(uni) == len(set(uni))
    strict = de_gene_lists(de, alpha=0.01, lfc_threshold=2)
    assert set(strict["both"]) < set(lists["both"])


def test_known_biology_airway_dex(airway_de):
    """Acceptance 3: airway dex trt vs untrt, padj < 0.05 and |LFC| > 1 (both directions),
    universe = genes with a padj, bundled GO BP (is_a + part_of), sets of 10-500 genes,
    background = annotated universe genes (the default). "Top" = the 20 smallest p-values.

    Measured: vasculature development rank 3 (p 3.2e-12), extracellular matrix organization
    rank 15 (p 2.0e-8), response to glucocorticoid p 2.6e-3 (rank 433, padj 0.033)."""
    go_bp = load_collection("go_bp", organism="human")
    lists = de_gene_lists(airway_de)
    res = ora(lists["both"], go_bp, universe=universe_of(airway_de))
    top20 = res["term_id"].head(20).tolist()
    assert "GO:0001944" in top20   # vasculature development
    assert "GO:0030198" in top20   # extracellular matrix organization
    gluco = res.set_index("term_id").loc["GO:0051384"]   # response to glucocorticoid
    assert gluco["pvalue"] < 0.01
    assert {"KLF9", "FOXO3", "ERRFI1"} <= set(gluco["genes"].split(";"))


# ------------------------------------------------------------------ bad input
def test_bad_input_messages(subset):
    gs, study, universe = subset
    with pytest.raises(InputError, match="gene list is empty"):
        ora([], gs, universe=universe)
    with pytest.raises(InputError, match=r"gene list is empty \(all 2 IDs are missing\)"):
        ora([None, float("nan")], gs, universe=universe)
    with pytest.raises(InputError, match="universe is empty"):
        ora(study, gs, universe=[])
    with pytest.raises(InputError, match="None of the 2 genes of the list is in the universe"):
        ora(["NOPE1", "NOPE2"], gs, universe=universe)
    ensembl = [f"ENSG{i:011d}" for i in range(50)]
    with pytest.raises(InputError, match="IDs probably do not match the collection"):
        ora(ensembl[:5], gs, universe=ensembl)
    with pytest.raises(InputError, match="No set of 'go_bp' has 200-500 genes"):
        ora(study, gs, universe=universe[:100], min_size=200)
    with pytest.raises(InputError, match="None of the 1 genes of the list that are in the "
                                         "universe belongs to a set of 'go_bp'"):
        ora(["UNANNOTATED"], gs, universe=[*universe, "UNANNOTATED"])
    with pytest.raises(InputError, match="single string"):
        ora("TP53", gs, universe=universe)
    with pytest.raises(InputError, match="background='all' is not valid; choose one of: "
                                         "annotated, universe"):
        ora(study, gs, universe=universe, background="all")
    with pytest.raises(InputError, match="min_size=20 is larger than max_size=10"):
        ora(study, gs, universe=universe, min_size=20, max_size=10)
    with pytest.raises(InputError, match="min_size=0 is not valid"):
        ora(study, gs, universe=universe, min_size=0)


def test_bad_de_tables(airway_de):
    with pytest.raises(InputError, match="no column 'symbol'"):
        de_gene_lists(airway_de.drop(columns="symbol"))
    with pytest.raises(InputError, match="no column 'gene_name'"):
        universe_of(airway_de, symbol_column="gene_name")
    with pytest.raises(InputError, match="alpha=2 is not valid"):
        de_gene_lists(airway_de, alpha=2)
    with pytest.raises(InputError, match="lfc_threshold=-1 is not valid"):
        de_gene_lists(airway_de, lfc_threshold=-1)
    with pytest.raises(InputError, match="Expected a DE table"):
        universe_of(["a", "b"])


# ------------------------------------------------------------------ redundancy
def _table(rows: list[tuple[str, float, str]], **extra: list[object]) -> pd.DataFrame:
    t = pd.DataFrame(rows, columns=["term_id", "padj", "genes"])
    t["pvalue"] = t["padj"] / 10
    for k, v in extra.items():
        t[k] = v
    return t


def test_redundancy_rule_on_a_hand_built_dag():
    # GO:1 <- GO:2 <- GO:3 (is_a chain); GO:4 unrelated; GO:5 child of GO:1
    dag = {"GO:2": ["GO:1"], "GO:3": ["GO:2"], "GO:5": ["GO:1"], "GO:4": []}
    genes8 = ";".join("ABCDEFGH")
    t = _table([
        ("GO:3", 1e-9, genes8),                 # kept (first)
        ("GO:1", 1e-8, genes8 + ";I;J"),        # ancestor of GO:3 (via GO:2), J = 0.8 -> red.
        ("GO:4", 1e-7, genes8 + ";X"),          # unrelated, J = 8/9 = 0.889 < 0.9 -> kept
        ("GO:2", 1e-6, "A;B;C;D;E;F"),          # related to GO:3, J = 0.75 -> redundant
        ("GO:5", 1e-5, "A;B;C;D;E;F;G;H;I;J"),  # related to GO:1 (redundant, not a rep.) and
                                                # GO:3 only via GO:1: not related; J(GO:4)
                                                # = 8/11; J(GO:3) = 0.8 but unrelated -> kept
        ("GO:6", 1e-4, genes8 + ";X;Y"),        # not in DAG; J(GO:4) = 9/10 = 0.9 -> red.
        ("GO:7", 0.2, genes8),                  # not significant: never marked
    ])
    out = mark_redundant(t, dag=dag)
    assert out["redundant_of"].tolist() == ["", "GO:3", "", "GO:3", "", "GO:4", ""]
    assert out.drop(columns="redundant_of").equals(t)
    # thresholds are options
    strict = mark_redundant(t, dag=dag, related_jaccard=0.8, jaccard=0.95)
    assert strict["redundant_of"].tolist() == ["", "GO:3", "", "", "", "", ""]


def test_redundancy_is_per_list_and_collection():
    genes = "A;B;C;D"
    t = _table([("GO:1", 1e-5, genes), ("GO:2", 1e-4, genes), ("GO:1", 1e-5, genes)],
               list=["up", "up", "down"])
    out = mark_redundant(t, dag={"GO:2": ["GO:1"]})
    assert out["redundant_of"].tolist() == ["", "GO:1", ""]


def test_redundancy_on_real_go(subset):
    """On the subset's ORA with the DAG of tests/data: every marked term names a kept,
    more significant term that is related or shares >= 90% of its overlap genes."""
    gs, study, universe = subset
    edges = pd.read_csv(ENRICH / "go_subset_edges.tsv.gz", sep="\t")
    dag = edges.groupby("child")["parent"].apply(list).to_dict()
    out = mark_redundant(ora(study, gs, universe=universe), dag=dag)
    sig = out[out["padj"] < 0.05]
    red = sig[sig["redundant_of"] != ""]
    assert 0 < len(red) < len(sig)
    kept = set(sig.loc[sig["redundant_of"] == "", "term_id"])
    assert set(red["redundant_of"]) <= kept
    rank = {t: i for i, t in enumerate(out["term_id"])}
    genes = dict(zip(out["term_id"], out["genes"].str.split(";").map(set), strict=True))
    for term, rep in zip(red["term_id"], red["redundant_of"], strict=True):
        assert rank[rep] < rank[term]
        jac = len(genes[term] & genes[rep]) / len(genes[term] | genes[rep])
        assert jac >= 0.7


def test_bundled_dag_gives_the_same_marks(subset):
    gs, study, universe = subset
    edges = pd.read_csv(ENRICH / "go_subset_edges.tsv.gz", sep="\t")
    dag = edges.groupby("child")["parent"].apply(list).to_dict()
    res = ora(study, gs, universe=universe)
    pd.testing.assert_frame_equal(mark_redundant(res), mark_redundant(res, dag=dag))


def test_redundancy_bad_input():
    with pytest.raises(InputError, match="no column 'genes'"):
        mark_redundant(pd.DataFrame({"term_id": ["GO:1"], "padj": [0.01]}), dag={})
    with pytest.raises(InputError, match=r"jaccard=1\.5 is not valid"):
        mark_redundant(_table([("GO:1", 0.01, "A")]), dag={}, jaccard=1.5)
    with pytest.raises(InputError, match="dag must be None, a mapping"):
        mark_redundant(_table([("GO:1", 0.01, "A"), ("GO:2", 0.01, "A")]), dag=42)
