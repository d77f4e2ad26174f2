"""The GSEA running-score plot of one gene set: results in, Figure out.

This module owns :func:`gsea_plot`: the running enrichment score (top), the positions of
the set's genes in the ranking (middle) and the ranked metric (bottom), with NES and padj
in the title. The running sum comes from :func:`heatseq.enrich.gsea.running_score`; no
statistics are computed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from heatseq.enrich.genesets import GeneSets
from heatseq.enrich.gsea import running_score
from heatseq.errors import InputError

__all__ = ["gsea_plot"]

_CURVE = "#1b7837"
_UP, _DOWN = "#b2182b", "#2166ac"


def gsea_plot(ranking: pd.Series, sets: GeneSets, *, term_id: str,
              result_row: Mapping[str, Any] | pd.Series | None = None,
              title: str | None = None, weight: float = 1.0,
              figsize: tuple[float, float] = (6.0, 4.5)) -> Figure:
    """Running-score plot of the set ``term_id`` of ``sets`` along ``ranking``.

    Parameters
    ----------
    ranking
        Gene -> metric, as given to :func:`heatseq.enrich.gsea.gsea`.
    sets
        The collection holding the set.
    term_id
        The set to draw.
    result_row
        Its row of the :func:`~heatseq.enrich.gsea.gsea` table (``nes``, ``padj``,
        ``leading_edge_size``) for the title and the leading-edge shading; without it the
        title names the set only.
    title
        The title's first line (default: the set's name).
    weight
        The exponent of the running sum (as given to ``gsea``).
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Three stacked axes: running score, hits, ranked metric.

    Examples
    --------
    >>> r = pd.Series(np.linspace(2, -2, 40), index=[f"g{i}" for i in range(40)])
    >>> fig = gsea_plot(r, GeneSets.from_dict({"s": ["g1", "g3", "g5"]}), term_id="s")
    >>> len(fig.axes)
    3
    """
    ids = [str(t) for t in sets.term_ids]
    if term_id not in ids:
        close = [t for t in ids if term_id.lower() in t.lower()][:5]
        raise InputError(f"Gene set {term_id!r} is not in collection {sets.name!r}"
                         + (f"; similar: {', '.join(close)}." if close else
                            f" ({len(ids):,} sets). Check the term ID."))
    i = ids.index(term_id)
    curve = running_score(ranking, sets.members(i), weight=weight)
    x = np.arange(len(curve))
    score = curve["score"].to_numpy()
    peak = int(np.argmax(np.abs(score)))
    fig = Figure(figsize=figsize, layout="constrained")
    grid = fig.add_gridspec(3, 1, height_ratios=[3.0, 0.5, 1.5])
    ax_es = fig.add_subplot(grid[0])
    ax_hit = fig.add_subplot(grid[1], sharex=ax_es)
    ax_rank = fig.add_subplot(grid[2], sharex=ax_es)

    ax_es.plot(x, score, color=_CURVE, linewidth=1.5, label="running score")
    ax_es.axhline(0, color="0.4", linewidth=0.6)
    ax_es.axvline(peak, color="0.3", linewidth=0.8, linestyle="--")
    if score[peak] >= 0:
        ax_es.axvspan(0, peak, color=_CURVE, alpha=0.08, linewidth=0, label="leading edge")
    else:
        ax_es.axvspan(peak, len(x) - 1, color=_CURVE, alpha=0.08, linewidth=0,
                      label="leading edge")
    ax_es.set_ylabel("Enrichment score")
    ax_es.tick_params(labelbottom=False)
    for side in ("top", "right"):
        ax_es.spines[side].set_visible(False)

    hits = x[curve["hit"].to_numpy()]
    ax_hit.vlines(hits, 0, 1, color="black", linewidth=0.5)
    ax_hit.set_ylim(0, 1)
    ax_hit.set_yticks([])
    ax_hit.tick_params(labelbottom=False, bottom=False)

    metric = curve["metric"].to_numpy()
    ax_rank.fill_between(x, metric, 0, where=metric >= 0, color=_UP, linewidth=0,
                         interpolate=True)
    ax_rank.fill_between(x, metric, 0, where=metric < 0, color=_DOWN, linewidth=0,
                         interpolate=True)
    ax_rank.set_ylabel(str(ranking.name or "metric"))
    ax_rank.set_xlabel(f"Rank in the ordered gene list ({len(x):,} genes)")
    ax_rank.set_xlim(0, len(x) - 1)
    for side in ("top", "right"):
        ax_rank.spines[side].set_visible(False)

    head = title if title is not None else str(sets.term_names[i])
    stats = [f"{len(hits)} genes"]
    if result_row is not None:
        row = dict(result_row)
        if "nes" in row:
            stats.append(f"NES {float(row['nes']):.2f}")
        if "padj" in row:
            stats.append(f"padj {float(row['padj']):.2g}")
    fig.suptitle(f"{head}\n{term_id}: " + ", ".join(stats), fontsize=10)
    return fig
