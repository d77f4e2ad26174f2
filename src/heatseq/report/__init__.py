"""The HTML report: one self-contained ``report.html`` from a description of a run.

The caller (``heatseq run``, a notebook) builds a :class:`Report` of :class:`Section`,
:class:`Figure` and :class:`Table` values (:mod:`~heatseq.report.model`) from results and
saved figures, and :func:`render_report` (:mod:`~heatseq.report.render`) writes the page.
Nothing here computes statistics or draws figures.

>>> from heatseq.report import Report, Section
>>> rep = Report(title="Airway", sections=(Section(id="qc", title="QC"),),
...              methods="", provenance={}, created="2024-01-01")
>>> rep.sections[0].status
'ok'
"""

from heatseq.report.model import Figure, Report, Section, Status, Table
from heatseq.report.render import SVG_EMBED_LIMIT, render_report

__all__ = ["Figure", "Report", "SVG_EMBED_LIMIT", "Section", "Status", "Table", "render_report"]
