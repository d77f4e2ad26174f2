"""Build the ORA / GO test data of tests/data/enrich/ (ora_* and go_* files) from
../shared/genesets and tests/data/airway. Run from the repository root:

    python tests/data/enrich/make_ora_data.py ../shared/genesets

Not run by the tests; kept so the files can be rebuilt and checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from heatseq.annotation import map_symbols
from heatseq.enrich.ora import de_gene_lists, tested_universe

HERE = Path(__file__).parent
AIRWAY = HERE.parent / "airway"
N_UNIVERSE = 2500
SEED = 20141202


def main(shared: Path) -> None:
    de = pd.read_csv(AIRWAY / "deseq2_R.tsv.gz", sep="\t", index_col=0)
    de["symbol"] = map_symbols(de.index, organism="human").to_numpy()
    both = de_gene_lists(de)["up"]
    rest = sorted(set(tested_universe(de)) - set(both))
    rng = np.random.default_rng(SEED)
    extra = rng.choice(rest, size=N_UNIVERSE - len(both), replace=False)
    universe = sorted({*both, *extra})
    pd.DataFrame({"symbol": universe, "in_list": [int(g in set(both)) for g in universe]}) \
        .to_csv(HERE / "ora_genes.tsv.gz", sep="\t", index=False)

    # direct BP annotations of the universe genes (as goatools reads them)
    ann = pd.read_csv(shared / "go_annotations_human_direct.tsv.gz", sep="\t", dtype=str)
    ann = ann[(ann["ontology"] == "BP") & ann["symbol"].isin(universe)]
    ann = ann[["symbol", "go_id"]].drop_duplicates().sort_values(["symbol", "go_id"])
    ann.to_csv(HERE / "ora_annotations_direct.tsv.gz", sep="\t", index=False)

    # the BP DAG (is_a + part_of) restricted to the ancestors of the annotated terms
    edges = pd.read_csv(shared / "go_edges.tsv.gz", sep="\t", dtype=str)
    edges = edges[(edges["ontology"] == "BP")
                  & edges["relationship_type"].isin(["is_a", "part_of"])]
    parents = edges.groupby("child")["parent"].apply(list).to_dict()
    keep: set[str] = set()
    todo = list(set(ann["go_id"]))
    while todo:
        t = todo.pop()
        if t in keep:
            continue
        keep.add(t)
        todo.extend(parents.get(t, []))
    edges = edges[edges["child"].isin(keep)].sort_values(["child", "parent"])
    edges[["child", "parent", "relationship_type"]].to_csv(
        HERE / "go_subset_edges.tsv.gz", sep="\t", index=False)
    terms = pd.read_csv(shared / "go_terms.tsv.gz", sep="\t", dtype=str)
    terms = terms[terms["go_id"].isin(keep)].sort_values("go_id")
    terms.to_csv(HERE / "go_subset_terms.tsv.gz", sep="\t", index=False)

    print(f"universe {len(universe)}, list (up) {len(both)}, annotations {len(ann)}, "
          f"terms {len(terms)}, edges {len(edges)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
