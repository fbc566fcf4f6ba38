"""`fluxus api`: serve the public API under gunicorn."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from services.core.config import get_settings
from services.core.logging import configure_logging
from services.core.metrics_runtime import enable_multiprocess, gunicorn_hooks


class _Gunicorn(BaseApplication):
    """Run a WSGI app with options given in code, not gunicorn's own command line."""

    def __init__(self, factory: Any, options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app: Flask = self._factory()
        return app


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
    enable_multiprocess("api")  # workers write metric files; the master serves /metrics
    _Gunicorn(_make_app, {
        **gunicorn_hooks(settings.metrics_port),
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": 20,
        "accesslog": None,  # services.web logs each request (path only, never the query)
        "forwarded_allow_ips": "*" if settings.trusted_proxies else "127.0.0.1",
        "proc_name": "fluxus-api",
        "preload_app": False,
    }).run()
