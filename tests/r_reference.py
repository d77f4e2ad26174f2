"""Shared loader of the R reference datasets for the engine's piece-wise tests (the GLM and
the tests are checked with R's own size factors and dispersions as inputs)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"

# dataset: (design terms, contrast factor, numerator, denominator (R's reference level))
SPEC = {
    "airway": (["cell", "dex"], "dex", "trt", "untrt"),
    "bottomly": (["batch", "strain"], "strain", "DBA/2J", "C57BL/6J"),
    "marioni_kidney_liver": (["condition"], "condition", "Liver", "Kidney"),
    "tcga_brca_paired": (["condition"], "condition", "tumor", "normal"),
}


def design_matrix(samples: pd.DataFrame, terms: list[str], reference: dict) -> pd.DataFrame:
    """R's model.matrix with treatment coding: levels sorted, the reference level first
    (written independently of heatseq.de.design, so the engine tests do not rest on it)."""
    cols = {"Intercept": np.ones(len(samples))}
    for term in terms:
        values = samples[term].astype(str)
        levels = sorted(values.unique())
        if term in reference:
            levels.remove(reference[term])
            levels.insert(0, reference[term])
        for level in levels[1:]:
            cols[f"{term}{level}"] = (values == level).to_numpy(float)
    return pd.DataFrame(cols, index=samples.index)


@functools.cache
def load(name: str):
    """counts (samples x genes), samples, R size factors, R dispersions, R results, design."""
    terms, factor, _num, den = SPEC[name]
    folder = DATA / name
    samples = pd.read_csv(folder / "samples.csv", dtype=str).set_index("sample")
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)[samples.index]
    sf = pd.read_csv(folder / "sizefactors_R.tsv", sep="\t", index_col=0)["sizeFactor"]
    disp = pd.read_csv(folder / "dispersions_R.tsv.gz", sep="\t", index_col=0).loc[counts.index]
    ref = pd.read_csv(folder / "deseq2_R.tsv.gz", sep="\t", index_col=0).loc[counts.index]
    x = design_matrix(samples, terms, {factor: den})
    return counts.T.to_numpy(float), samples, sf.loc[samples.index].to_numpy(), disp, ref, x
