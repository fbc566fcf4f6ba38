"""`fluxus payment`: serve the payment service with gunicorn."""

from __future__ import annotations

import click
from flask import Flask

from services.core.config import get_settings
from services.core.logging import configure_logging
from services.web.serve import serve

GRACEFUL_TIMEOUT_SECONDS = 20


def _make_app() -> Flask:
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
    serve(_make_app, settings, name="payment", preload=("services.payment.app",), options={
        "bind": bind, "workers": workers, "threads": threads, "worker_class": "gthread",
        # Shorter than the chart's terminationGracePeriodSeconds (45 s) minus its preStop
        # pause (10 s), so requests in flight finish before the kubelet's SIGKILL.
        "timeout": timeout, "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
    })
