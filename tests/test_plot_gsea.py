"""The GSEA running-score plot (heatseq.plot.gsea): computed state, written files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection

from heatseq.enrich import GeneSets
from heatseq.enrich.gsea import gsea
from heatseq.errors import InputError
from heatseq.plot.gsea import gsea_plot


@pytest.fixture
def example():
    rng = np.random.default_rng(2)
    names = [f"g{i:03d}" for i in range(400)]
    ranking = pd.Series(np.sort(rng.normal(size=400))[::-1], index=names, name="stat")
    sets = GeneSets.from_dict({"UP_SET": names[:60:3] + names[200:210],
                               "OTHER": names[100:130]}, name="demo",
                              names={"UP_SET": "genes near the top"})
    return ranking, sets


def test_plot_elements_and_files(example, tmp_path):
    ranking, sets = example
    res = gsea(ranking, sets, method="permutation", n_perm=200).set_index("term_id")
    fig = gsea_plot(ranking, sets, term_id="UP_SET", result_row=res.loc["UP_SET"])
    ax_es, ax_hit, ax_rank = fig.axes
    curve = ax_es.lines[0]
    ydata = np.asarray(curve.get_ydata())
    assert len(ydata) == 400
    assert ydata.max() == pytest.approx(res.loc["UP_SET", "es"], rel=1e-12)
    ticks = next(c for c in ax_hit.collections if isinstance(c, LineCollection))
    assert len(ticks.get_segments()) == 30
    assert len(ax_rank.collections) == 2  # positive and negative metric
    title = fig.get_suptitle()
    assert title.startswith("genes near the top\nUP_SET: 30 genes, NES ")
    assert f"padj {res.loc['UP_SET', 'padj']:.2g}" in title
    assert ax_rank.get_ylabel() == "stat"
    for ext in ("png", "svg", "pdf"):
        path = tmp_path / f"gsea.{ext}"
        fig.savefig(path)
        assert path.stat().st_size > 1000


def test_negative_set_and_custom_title(example):
    ranking, sets = example
    rev = ranking.iloc[::-1] * -1  # same genes, opposite direction
    fig = gsea_plot(rev, sets, term_id="UP_SET", title="custom")
    ydata = np.asarray(fig.axes[0].lines[0].get_ydata())
    assert ydata.min() < -0.5 and abs(ydata.min()) > ydata.max()
    assert fig.get_suptitle() == "custom\nUP_SET: 30 genes"


def test_unknown_term(example):
    ranking, sets = example
    with pytest.raises(InputError, match=r"Gene set 'UP' is not in collection 'demo'; "
                                         r"similar: UP_SET"):
        gsea_plot(ranking, sets, term_id="UP")
    with pytest.raises(InputError, match=r"Gene set 'XYZ' is not in collection 'demo' "
                                         r"\(2 sets\)"):
        gsea_plot(ranking, sets, term_id="XYZ")
