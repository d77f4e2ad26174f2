"""Starting the server: settings from ``heatseq serve``'s options, uvicorn on one port."""

from __future__ import annotations

import os
from pathlib import Path

from heatseq.web.context import DEFAULT_MAX_UPLOAD, Settings, is_loopback

__all__ = ["LOOPBACK_HOSTS", "default_data_dir", "serve", "settings_for"]

#: Host names a server bound to the loopback interface answers to.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def default_data_dir() -> Path:
    """``$HEATSEQ_DATA`` or ``$XDG_DATA_HOME/heatseq`` (``~/.local/share/heatseq``)."""
    env = os.environ.get("HEATSEQ_DATA")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "heatseq"


def settings_for(*, host: str, data_dir: str | os.PathLike[str] | None = None,
                 max_upload_mb: float = DEFAULT_MAX_UPLOAD / 2**20, workers: int = 2,
                 job_timeout: float = 3600.0) -> Settings:
    """The settings of a server bound to ``host``: a loopback server answers only to
    loopback host names."""
    return Settings(data_dir=Path(data_dir) if data_dir is not None else default_data_dir(),
                    max_upload_bytes=int(max_upload_mb * 2**20), workers=workers,
                    job_timeout=job_timeout,
                    allowed_hosts=LOOPBACK_HOSTS if is_loopback(host) else None)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8765,
          log_level: str = "warning") -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    from heatseq.web.app import create_app

    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                timeout_graceful_shutdown=5)
