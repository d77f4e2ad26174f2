"""Figures: results in, :class:`matplotlib.figure.Figure` out; no statistics here.

- :func:`heatmap`: the clustered expression heatmap of a :class:`heatseq.cluster.Clustering`.
- :func:`sample_heatmap`: sample-to-sample distances or correlations, same engine.
- :func:`save_figure`: PNG (300 dpi), SVG or PDF, written atomically.
- :func:`level_colors`: the fixed colours of sample-sheet levels, shared by every figure.
"""

from heatseq.plot.heatmap import FIGURE_FORMATS, heatmap, sample_heatmap, save_figure
from heatseq.plot.palettes import PALETTES, level_colors

__all__ = ["FIGURE_FORMATS", "PALETTES", "heatmap", "level_colors", "sample_heatmap",
           "save_figure"]
