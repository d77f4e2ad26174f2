"""The methods paragraph of a run, written so that a paper can use it, with its citations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CITATIONS", "methods_text"]

#: key -> reference, cited in the methods paragraph as [key].
CITATIONS: dict[str, str] = {
    "deseq2": "Love MI, Huber W, Anders S (2014). Moderated estimation of fold change and "
              "dispersion for RNA-seq data with DESeq2. Genome Biology 15:550.",
    "sizefactors": "Anders S, Huber W (2010). Differential expression analysis for sequence "
                   "count data. Genome Biology 11:R106.",
    "apeglm": "Zhu A, Ibrahim JG, Love MI (2019). Heavy-tailed prior distributions for "
              "sequence count data: removing the noise and preserving large differences. "
              "Bioinformatics 35:2084-2092.",
    "bh": "Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical "
          "and powerful approach to multiple testing. J R Stat Soc B 57:289-300.",
    "indepfilter": "Bourgon R, Gentleman R, Huber W (2010). Independent filtering increases "
                   "detection power for high-throughput experiments. PNAS 107:9546-9551.",
    "fastcluster": "Müllner D (2013). fastcluster: Fast hierarchical, agglomerative clustering "
                   "routines for R and Python. J Stat Softw 53(9):1-18.",
    "silhouette": "Rousseeuw PJ (1987). Silhouettes: a graphical aid to the interpretation and "
                  "validation of cluster analysis. J Comput Appl Math 20:53-65.",
}


def methods_text(*, versions: Mapping[str, str], design: str, contrasts: Sequence[str],
                 fit_type: str, test: str, alpha: float, lfc_threshold: float, shrink: str,
                 n_genes: int, n_samples: int, heatmap_genes: int, organism: str | None,
                 extra: Sequence[str] = ()) -> str:
    """A methods paragraph with numbered citations ([1], [2], ...) and the reference list.

    Examples
    --------
    >>> text = methods_text(versions={"heatseq": "0.1.0", "python": "3.11.7"},
    ...                     design="~ cell + dex", contrasts=["dex trt vs untrt"],
    ...                     fit_type="parametric", test="wald", alpha=0.1, lfc_threshold=0,
    ...                     shrink="apeglm", n_genes=100, n_samples=8, heatmap_genes=500,
    ...                     organism="human")
    >>> "median-of-ratios" in text and "[1]" in text
    True
    """
    order: list[str] = []

    def cite(*keys: str) -> str:
        for k in keys:
            if k not in order:
                order.append(k)
        return "[" + ", ".join(str(order.index(k) + 1) for k in keys) + "]"

    v = versions
    test_words = ("Wald tests" if test == "wald" else "likelihood ratio tests")
    thr = ("" if not lfc_threshold else
           f" against a log2 fold change threshold of {lfc_threshold:g}")
    shrink_words = {"apeglm": f"shrunk with the adaptive Cauchy prior of apeglm {cite('apeglm')}",
                    "normal": f"shrunk with DESeq2's normal prior {cite('deseq2')}",
                    "none": "not shrunk"}[shrink]
    parts = [
        f"Read counts of {n_genes:,} genes in {n_samples} samples were analysed with heatseq "
        f"{v.get('heatseq', '?')} (Python {v.get('python', '?')}, NumPy {v.get('numpy', '?')}, "
        f"SciPy {v.get('scipy', '?')}), which implements the DESeq2 method {cite('deseq2')} and "
        "is tested against R DESeq2 1.38.3.",
        f"Size factors were estimated by the median-of-ratios method {cite('sizefactors')}. "
        "Gene-wise dispersions were estimated by Cox-Reid adjusted profile likelihood, a "
        f"{fit_type} trend was fitted to them and they were shrunk towards it "
        f"{cite('deseq2')}.",
        f"Differential expression was tested with {test_words} of the design {design}{thr}"
        f" ({'; '.join(contrasts)}); counts with a Cook's distance above the 99% quantile of "
        "the F distribution were flagged, p-values were adjusted by the Benjamini-Hochberg "
        f"method {cite('bh')} after independent filtering on the mean of normalised counts "
        f"{cite('indepfilter')}, and genes with an adjusted p-value below {alpha:g} were "
        f"called differentially expressed. Log2 fold changes for ranking and plots were "
        f"{shrink_words}.",
        "For heatmaps and quality control, counts were transformed by DESeq2's variance "
        "stabilising transformation; heatmaps show row z-scores of the "
        f"{heatmap_genes} most variable genes and of each contrast's differentially expressed "
        "genes, clustered by Euclidean distance and complete linkage "
        f"{cite('fastcluster')}; gene modules were cut from the gene tree, the number of "
        f"modules chosen by the mean silhouette width {cite('silhouette')}.",
    ]
    if organism:
        parts.append(f"Gene symbols were taken from heatseq's bundled {organism} annotation.")
    parts.extend(extra)
    refs = "\n".join(f"[{i + 1}] {CITATIONS[k]}" for i, k in enumerate(order))
    return " ".join(parts) + "\n\nReferences\n" + refs


def contrast_words(contrast: Any) -> str:
    """``("dex", "trt", "untrt")`` -> ``"dex trt vs untrt"``."""
    return f"{contrast[0]} {contrast[1]} vs {contrast[2]}" if isinstance(contrast, tuple) \
        else str(contrast)
