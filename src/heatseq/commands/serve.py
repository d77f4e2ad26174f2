"""``heatseq serve``: the web app in the browser; a thin caller of :func:`heatseq.web.serve`.

Needs the ``web`` extra (``pip install 'heatseq[web]'``); without it the command says so and
exits 2.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from heatseq.cli import cli, user_errors
from heatseq.errors import InputError

__all__ = ["WEB_PACKAGES", "serve_command"]

#: Import names of the packages of the ``web`` extra.
WEB_PACKAGES = ("fastapi", "uvicorn", "plotly")


def missing_web_packages() -> list[str]:
    """The packages of the ``web`` extra that are not installed."""
    return [p for p in WEB_PACKAGES if importlib.util.find_spec(p) is None]


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on. Anything but 127.0.0.1/localhost lets other "
                   "machines reach the app (a warning is printed).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where projects, uploads and runs are kept (default: $HEATSEQ_DATA or "
                   "~/.local/share/heatseq).")
@click.option("--max-upload-mb", default=500.0, show_default=True,
              type=click.FloatRange(min=0.001), help="Largest accepted upload, in MB.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Analyses running at once (each in its own process).")
@click.option("--job-timeout", default=3600.0, show_default=True,
              type=click.FloatRange(min=1), help="Seconds before a running analysis is stopped.")
@user_errors
def serve_command(host: str, port: int, data_dir: Path | None, max_upload_mb: float,
                  workers: int, job_timeout: float) -> None:
    """Start the web app: upload counts and a sample sheet, run the analysis, explore QC,
    DE, volcano/MA plots and the interactive heatmap, download everything."""
    missing = missing_web_packages()
    if missing:
        raise InputError(f"heatseq serve needs the web extra ({', '.join(missing)} "
                         "missing): pip install 'heatseq[web]'")
    from heatseq.web.context import is_loopback
    from heatseq.web.server import serve, settings_for

    settings = settings_for(host=host, data_dir=data_dir, max_upload_mb=max_upload_mb,
                            workers=workers, job_timeout=job_timeout)
    if not is_loopback(host):
        click.echo(f"Warning: listening on {host}: other machines on the network can reach "
                   "this app and its data. heatseq has no passwords; use this only on a "
                   "network you trust (or keep the default 127.0.0.1 and use an SSH tunnel).",
                   err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"heatseq {'is serving'} http://{shown}:{port}/ (data in "
               f"{settings.data_dir}); press Ctrl+C to stop.", err=True)
    serve(settings, host=host, port=port)
