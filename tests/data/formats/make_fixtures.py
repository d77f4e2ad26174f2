"""Write the small format fixtures in this folder from the airway counts (first 40 genes,
samples SRR1039508 and SRR1039509), in the layouts the tools write. Run from this folder:
``python make_fixtures.py``. Deterministic (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
counts = pd.read_csv(HERE.parent / "airway" / "counts.tsv.gz", sep="\t", index_col=0)
sub = counts.iloc[:40, :2]
rng = np.random.default_rng(20141202)

# featureCounts 2.0.x: command line comment, 6 annotation columns (exons joined by ';').
exons = rng.integers(1, 4, size=len(sub))
starts = rng.integers(10_000, 1_000_000, size=len(sub))
rows = []
for g, n, s, row in zip(sub.index, exons, starts, sub.to_numpy(), strict=True):
    st = [int(s + 1000 * i) for i in range(n)]
    en = [x + 300 for x in st]
    rows.append("\t".join([g, ";".join(["1"] * n), ";".join(map(str, st)),
                           ";".join(map(str, en)), ";".join(["+"] * n), str(301 * n),
                           *map(str, row)]))
bams = ["/data/run1/bam/SRR1039508.sorted.bam", "/data/run1/bam/SRR1039509.sorted.bam"]
(HERE / "featurecounts.txt").write_text(
    '# Program:featureCounts v2.0.6; Command:"featureCounts" "-T" "4" "-p" "--countReadPairs" '
    '"-a" "Homo_sapiens.GRCh37.75.gtf" "-o" "featurecounts.txt" ' + " ".join(f'"{b}"' for b in bams)
    + "\nGeneid\tChr\tStart\tEnd\tStrand\tLength\t" + "\t".join(bams) + "\n"
    + "\n".join(rows) + "\n")
(HERE / "featurecounts.txt.summary").write_text(
    "Status\t" + "\t".join(bams) + "\nAssigned\t" + "\t".join(map(str, sub.sum())) + "\n"
    + "".join(f"{s}\t0\t0\n" for s in ("Unassigned_Unmapped", "Unassigned_NoFeatures",
                                        "Unassigned_Ambiguity")))

# HTSeq-count 2.0: gene<TAB>count, no header, five summary rows at the end.
special = {"__no_feature": 1021, "__ambiguous": 57, "__too_low_aQual": 3, "__not_aligned": 12,
           "__alignment_not_unique": 230}
(HERE / "SRR1039508.htseq.counts").write_text(
    "".join(f"{g}\t{v}\n" for g, v in sub.iloc[:, 0].items())
    + "".join(f"{k}\t{v}\n" for k, v in special.items()))

# STAR 2.7 ReadsPerGene.out.tab of a reverse-stranded library: column 4 = the counts,
# column 3 a few antisense reads, column 2 the sum (no strand information).
v = sub.iloc[:, 0].to_numpy()
anti = rng.binomial(v, 0.02)
star = ["N_unmapped\t2674603\t2674603\t2674603", "N_multimapping\t2360465\t2360465\t2360465",
        "N_noFeature\t2149742\t34305538\t2296917", "N_ambiguous\t2026802\t5522\t568755"]
star += [f"{g}\t{a + b}\t{a}\t{b}" for g, a, b in zip(sub.index, anti, v, strict=True)]
(HERE / "SRR1039508_ReadsPerGene.out.tab").write_text("\n".join(star) + "\n")
