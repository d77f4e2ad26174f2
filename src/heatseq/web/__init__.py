"""The local web app over heatseq's public API (``heatseq serve``; ``pip install
'heatseq[web]'``).

- :mod:`~heatseq.web.app`: the FastAPI app (:func:`create_app`), the page, plotly.js from
  the installed plotly package;
- :mod:`~heatseq.web.api_projects`, :mod:`~heatseq.web.api_results`: the JSON API;
  :mod:`~heatseq.web.models` its request and response models (the OpenAPI spec);
- :mod:`~heatseq.web.store`: SQLite store of sessions, projects, uploads (content-addressed
  files) and runs, with versioned migrations;
- :mod:`~heatseq.web.jobs`, :mod:`~heatseq.web.worker`: background analyses in a bounded
  pool of worker processes;
- :mod:`~heatseq.web.checks`, :mod:`~heatseq.web.uploads`: what was detected in the uploads
  and the checks on them;
- :mod:`~heatseq.web.heatmap`: the interactive heatmap's clustering and binary payload;
- :mod:`~heatseq.web.results`, :mod:`~heatseq.web.script`: a run's outputs, and the script
  that reproduces it;
- ``static/``: the page (vanilla JavaScript, no CDN).

The web layer computes no statistics: every number comes from :func:`heatseq.workflow.run_analysis`
and :mod:`heatseq.cluster`.
"""

from heatseq.web.app import create_app
from heatseq.web.context import Settings
from heatseq.web.server import serve

__all__ = ["Settings", "create_app", "serve"]
