"""The request and response models of the web API (pydantic): what the OpenAPI spec
describes, and what every request is checked against before a handler runs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ConfigInfo", "ContrastInfo", "DEPage", "DEPoints", "EnrichmentInfo", "EnrichmentTable",
    "FileInfo", "GeneInfo", "HeatmapRequest", "HeatmapViewInfo", "Inspection", "LevelCount",
    "LibrarySize", "ModuleDetail", "ModuleInfo", "PlanRequest", "PlanResult", "ProjectCreate",
    "ProjectDetail", "ProjectInfo", "Proposal", "QCInfo", "RunDetail", "RunEvent",
    "RunRequest", "SessionInfo", "SheetColumnInfo", "UploadInfo",
]

ID = r"^[0-9a-f]{16}$"
Stem = r"^[A-Za-z0-9_.\-]{1,200}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionInfo(_Model):
    """A session: send its token in the X-Heatseq-Session header (the page uses a cookie)."""

    token: str


class ConfigInfo(_Model):
    """Server settings the page needs."""

    version: str
    max_upload_bytes: int
    workers: int
    palettes: dict[str, list[str]]
    enrichment: bool = Field(description="Whether heatseq.enrich is installed (module "
                                         "enrichment on the heatmap page).")


class ProjectCreate(_Model):
    """A new project."""

    name: str = Field("Untitled project", min_length=1, max_length=200)


class UploadInfo(_Model):
    """One uploaded file (kept unchanged, named by its SHA-256)."""

    id: str
    kind: Literal["counts", "samples"]
    name: str
    sha256: str
    size: int
    created: float


class ProjectInfo(_Model):
    """A project in the list."""

    id: str
    name: str
    created: float
    counts: UploadInfo | None = None
    samples: UploadInfo | None = None
    n_runs: int = 0


class LevelCount(_Model):
    level: str
    n: int


class SheetColumnInfo(_Model):
    """A sample-sheet column as heatseq sees it."""

    name: str
    kind: Literal["categorical", "identifier", "numeric"]
    levels: list[LevelCount] = []
    minimum: float | None = None
    maximum: float | None = None
    n_missing: int = 0
    text: str


class LibrarySize(_Model):
    sample: str
    total: int


class Proposal(_Model):
    """What heatseq proposes from the sample sheet: the form's pre-filled values."""

    design: str | None = None
    contrasts: list[list[str] | str] = []
    condition: str | None = None
    batch: list[str] = []
    factors: list[str] = Field([], description="Sheet columns usable as design factors.")
    levels: dict[str, list[str]] = {}
    confounded: list[str] = []
    notes: list[str] = []
    error: str | None = None


class Inspection(_Model):
    """What heatseq detected in the uploads, every problem with its fix."""

    ready: bool = Field(description="Counts and sample sheet read and matched: a run can be "
                                    "set up.")
    error: str | None = Field(None, description="Why the files cannot be used, and the fix.")
    error_file: Literal["counts", "samples"] | None = None
    counts: UploadInfo | None = None
    samples: UploadInfo | None = None
    format: str | None = None
    n_genes: int | None = None
    n_samples: int | None = None
    n_zero_genes: int | None = None
    library_sizes: list[LibrarySize] = []
    id_type: str | None = None
    organism: str | None = None
    n_symbols: int | None = None
    sheet_columns: list[SheetColumnInfo] = []
    notes: list[str] = []
    problems: list[str] = []
    text: str | None = None
    proposal: Proposal | None = None


class RunEvent(_Model):
    at: float
    stage: str


class RunDetail(_Model):
    """A run: parameters, status, live stage and, at the end, its summary or its error."""

    id: str
    project_id: str
    status: Literal["queued", "running", "done", "failed"]
    stage: str | None = None
    stages: list[str]
    progress: float = Field(description="Fraction of the stages started, 0 to 1.")
    params: dict[str, object]
    counts: UploadInfo | None = None
    samples: UploadInfo | None = None
    created: float
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    events: list[RunEvent] = []
    summary: dict[str, object] | None = None


class ProjectDetail(ProjectInfo):
    """A project with its uploads and runs."""

    uploads: list[UploadInfo] = []
    runs: list[RunDetail] = []


class PlanRequest(_Model):
    """A design and contrast to check against the sample sheet."""

    design: str | None = Field(None, max_length=500,
                               description='e.g. "~ cell + dex"; empty: propose one.')
    contrast: list[str] | None = Field(None, min_length=3, max_length=3,
                                       description="[factor, level, reference]")


class PlanResult(_Model):
    """The checked plan, or the reason it cannot be fitted."""

    ok: bool
    design: str | None = None
    contrasts: list[list[str] | str] = []
    condition: str | None = None
    batch: list[str] = []
    confounded: list[str] = []
    notes: list[str] = []
    error: str | None = None


class RunRequest(_Model):
    """Start an analysis of the project's current uploads."""

    design: str | None = Field(None, max_length=500)
    contrast: list[str] | None = Field(None, min_length=3, max_length=3)
    alpha: float = Field(0.1, gt=0, lt=1)
    lfc_threshold: float = Field(0.0, ge=0, le=20)
    shrink: Literal["apeglm", "normal", "none"] = "apeglm"
    fit_type: Literal["parametric", "local", "mean"] = "parametric"
    organism: Literal["auto", "human", "mouse", "fly"] = "auto"
    heatmap_genes: int = Field(500, ge=2, le=20000)
    de_heatmap_genes: int = Field(500, ge=2, le=20000)
    k: int | None = Field(None, ge=1, le=30)
    formats: list[Literal["png", "svg", "pdf"]] = Field(
        ["png", "svg", "pdf"], min_length=1, max_length=3,
        description="Figure formats to write (PNG is always written: the report embeds it).")


class ContrastInfo(_Model):
    name: str
    stem: str
    summary: str
    n_up: int
    n_down: int
    alpha: float


class QCInfo(_Model):
    """The QC page: the replicate verdict, PCA, sample distances and metrics."""

    verdict_summary: str | None = None
    verdict_sentences: list[str] = []
    verdict_table: list[dict[str, object]] = []
    condition: str | None = None
    samples: list[str]
    sheet: dict[str, list[str | None]]
    pca: dict[str, list[float]]
    pca_variance: dict[str, float]
    distances: list[list[float]]
    distance_order: list[str]
    metrics: list[dict[str, object]]
    figures: list[str]


class DEPage(_Model):
    """One page of a DE table, sorted and filtered on the server."""

    stem: str
    columns: list[str]
    rows: list[list[str | float | None]]
    total: int = Field(description="Rows after the filters.")
    n_genes: int = Field(description="Rows of the whole table.")
    offset: int
    limit: int


class DEPoints(_Model):
    """Every tested gene of a contrast, column-wise, for the volcano and MA plots."""

    stem: str
    name: str
    alpha: float
    gene_id: list[str]
    symbol: list[str | None]
    base_mean: list[float]
    lfc: list[float]
    lfc_shrunk: list[float | None]
    padj: list[float | None]
    pvalue: list[float]


class GeneInfo(_Model):
    """One gene across the run: DE statistics per contrast."""

    gene_id: str
    symbol: str | None = None
    contrasts: dict[str, dict[str, float | None]]


class HeatmapRequest(_Model):
    """The heatmap's options (palette and colour limit are applied in the page)."""

    genes: Literal["top_variance", "de", "list"] = "top_variance"
    n: int = Field(500, ge=2, le=25000, description="Genes for top_variance and de.")
    contrast: str | None = Field(None, pattern=Stem, description="A DE table's stem, for de.")
    gene_list: list[str] = Field([], max_length=25000)
    alpha: float = Field(0.1, gt=0, lt=1)
    scale: Literal["row", "center", "none"] = "row"
    metric: Literal["euclidean", "correlation", "spearman", "cosine", "manhattan"] = "euclidean"
    method: Literal["complete", "average", "ward.D2", "single"] = "complete"
    cluster_samples: bool = True
    k: int | None = Field(None, ge=1, le=30, description="Gene modules; none: chosen by "
                                                         "silhouette.")


class ModuleInfo(_Model):
    module: int
    n_genes: int
    text: str
    top_genes: list[str]
    mean_z: dict[str, float]


class AnnotationBar(_Model):
    column: str
    values: list[str | None]
    colors: dict[str, str]


class HeatmapViewInfo(_Model):
    """A computed heatmap; its matrix is at ``matrix_url`` (uint16, see the docs)."""

    view: str
    matrix_url: str
    n_genes: int
    n_samples: int
    n_total: int
    rows: list[str]
    labels: list[str]
    cols: list[str]
    lo: float
    hi: float
    vmin: float
    vmax: float
    clip: float | None = None
    modules: list[int] | None = None
    module_colors: dict[str, str] = {}
    module_summaries: list[ModuleInfo] = []
    k: int | None = None
    k_chosen: bool = False
    caption: str
    notes: list[str] = []
    unknown: list[str] = []
    col_tree: list[list[float]] | None = None
    annotations: list[AnnotationBar] = []
    scale: str
    genes: str
    contrast: str | None = None
    seconds: dict[str, float]


class EnrichmentTable(_Model):
    """An enrichment table (ORA/GSEA), the best rows first."""

    columns: list[str]
    rows: list[list[str | float | None]]
    total: int
    note: str | None = None


class ModuleDetail(_Model):
    """A module's genes and, when heatseq.enrich is installed, its enrichment."""

    module: int
    text: str
    genes: list[dict[str, str | float | None]]
    enrichment: EnrichmentTable | None = None
    enrichment_note: str | None = None


class FileInfo(_Model):
    """A downloadable output of a run."""

    path: str
    kind: Literal["report", "figure", "table", "text", "other"]
    size: int
    formats: list[str] = Field(description="Formats it can be downloaded as.")
    url: str


class EnrichmentInfo(_Model):
    """The run's enrichment outputs (under enrich/), when it produced them."""

    available: bool
    tables: list[FileInfo] = []
    figures: list[FileInfo] = []
    note: str | None = None
