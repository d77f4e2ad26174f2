"""Figures: results in, :class:`matplotlib.figure.Figure` out; no statistics here.

- :func:`heatmap`: the clustered expression heatmap of a :class:`heatseq.cluster.Clustering`.
- :func:`sample_heatmap`: sample-to-sample distances or correlations, same engine.
- :func:`save_figure`: PNG (300 dpi), SVG or PDF, written atomically.
- :func:`level_colors`: the fixed colours of sample-sheet levels, shared by every figure.
- :func:`library_size_plot`, :func:`detected_genes_plot`, :func:`count_distribution_plot`,
  :func:`pca_plot`: the QC figures of :mod:`heatseq.qc`.
- :func:`volcano`, :func:`ma_plot`: a DE result's volcano and MA plots;
  :func:`volcano_html`, :func:`ma_html`: their interactive, self-contained HTML versions.
"""

from heatseq.plot.heatmap import FIGURE_FORMATS, heatmap, sample_heatmap, save_figure
from heatseq.plot.palettes import PALETTES, level_colors
from heatseq.plot.qc import (
    count_distribution_plot,
    detected_genes_plot,
    library_size_plot,
    pca_plot,
)
from heatseq.plot.volcano import GROUP_COLORS, ma_html, ma_plot, volcano, volcano_html

__all__ = ["FIGURE_FORMATS", "GROUP_COLORS", "PALETTES", "count_distribution_plot",
           "detected_genes_plot", "heatmap", "level_colors", "library_size_plot", "ma_html",
           "ma_plot", "pca_plot", "sample_heatmap", "save_figure", "volcano", "volcano_html"]
