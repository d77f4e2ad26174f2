"""The main job: the whole analysis of a count table in one call (``heatseq run``).

- :func:`run_analysis`: QC, DESeq2, heatmaps, volcano/MA plots and ``report.html`` into one
  folder (:mod:`heatseq.workflow.run` documents the layout).
- :func:`plan_run`: the design and contrasts a run will use, checked before any heavy step.
"""

from heatseq.workflow.plan import RunPlan, parse_contrast, plan_run
from heatseq.workflow.run import RunResult, run_analysis

__all__ = ["RunPlan", "RunResult", "parse_contrast", "plan_run", "run_analysis"]
