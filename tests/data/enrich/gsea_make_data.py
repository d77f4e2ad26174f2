"""Make the gseapy reference of tests/test_enrich_gsea.py (run from the repository root).

    python tests/data/enrich/gsea_make_data.py

Ranking: the airway Wald statistic (tests/data/airway/deseq2_R.tsv.gz, R DESeq2 1.38.3)
with symbols from heatseq's bundled annotation, one value per symbol
(:func:`heatseq.enrich.gsea.ranking_from_de`). Sets: MSigDB Hallmark v7.4 (all 50) and
200 GO BP sets drawn at random (numpy seed 1) from the bundled human GO BP sets of 15-500
ranked genes. gseapy 1.3.1 ``prerank`` with 1000 permutations, seed 0, one thread.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from heatseq.annotation import map_symbols
from heatseq.enrich.collections import load_collection
from heatseq.enrich.gsea import ranking_from_de

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def main() -> None:
    import gseapy

    de = pd.read_csv(ROOT / "tests/data/airway/deseq2_R.tsv.gz", sep="\t", index_col=0)
    de["symbol"] = map_symbols(de.index, organism="human").to_numpy()
    ranking = ranking_from_de(de)
    go = load_collection("go_bp", organism="human").restrict(ranking.index, min_size=15,
                                                             max_size=500)
    picked = np.sort(np.random.default_rng(1).choice(len(go), size=200, replace=False))
    terms = pd.Series(go.term_ids[picked].astype(str), name="term_id")
    terms.to_csv(HERE / "gsea_go_bp_terms.txt", index=False, header=False)
    hallmark = load_collection("hallmark", organism="human")
    sets = {str(t): list(map(str, hallmark.members(i)))
            for i, t in enumerate(hallmark.term_ids)}
    sets.update({str(go.term_ids[i]): list(map(str, go.members(i))) for i in picked})
    res = gseapy.prerank(rnk=ranking, gene_sets=sets, permutation_num=1000, seed=0,
                         threads=1, min_size=15, max_size=500, outdir=None, no_plot=True,
                         verbose=False)
    table = res.res2d[["Term", "ES", "NES", "NOM p-val", "FDR q-val", "Lead_genes"]]
    table.to_csv(HERE / "gsea_gseapy_prerank.tsv.gz", sep="\t", index=False)


if __name__ == "__main__":
    main()
