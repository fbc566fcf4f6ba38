"""`fluxus payment`: serve the payment service with gunicorn."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from services.core.config import get_settings
from services.core.logging import configure_logging


class _Gunicorn(BaseApplication):
    """gunicorn driven from Python, so the image needs one entry point: `fluxus`."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from services.payment.app import create_app

        return create_app(get_settings())


@click.command("payment")
@click.option("--bind", default="0.0.0.0:8001", show_default=True, help="HOST:PORT to listen on")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="gunicorn worker processes")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True,
              help="threads per worker")
@click.option("--timeout", type=click.IntRange(min=5), default=30, show_default=True,
              help="seconds before a stuck worker is restarted")
def payment(bind: str, workers: int, threads: int, timeout: int) -> None:
    """The ECPay-facing payment service: checkout, notifications, return, invoices."""
    settings = get_settings()  # refuses an unsafe production configuration before binding
    configure_logging(settings.log_level)
    _Gunicorn({
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": timeout,
        "graceful_timeout": timeout,
        "accesslog": None,  # the app logs each request as JSON with its request id
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "forwarded_allow_ips": "*" if settings.trusted_proxies else "127.0.0.1",
        "proc_name": "fluxus-payment",
    }).run()
