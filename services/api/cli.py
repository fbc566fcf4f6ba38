"""`fluxus api`: serve the public API under gunicorn."""

from __future__ import annotations

import click
from flask import Flask

from services.core.config import get_settings
from services.core.logging import configure_logging
from services.web.serve import serve

# Shorter than the chart's terminationGracePeriodSeconds (45 s) minus its preStop pause (10 s).
GRACEFUL_TIMEOUT_SECONDS = 20


def _make_app() -> Flask:
    from services.api.app import create_app

    return create_app(get_settings())


@click.command("api")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(1, 600),
              help="seconds before a silent worker is restarted")
def api(bind: str, workers: int, threads: int, timeout: int) -> None:
    """Serve the public REST API (gunicorn; each worker builds its own app after the fork)."""
    settings = get_settings()  # fail fast on a bad configuration, before any fork
    configure_logging(settings.log_level)
    serve(_make_app, settings, name="api", preload=("services.api.app",), options={
        "bind": bind, "workers": workers, "threads": threads, "timeout": timeout,
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
    })
