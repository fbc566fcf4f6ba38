"""The payment service under gunicorn, wired for metrics as `fluxus payment` will be.

Run by the end-to-end test (`python -m tests.observability.payment_harness --bind H:P`):
multiprocess mode before gunicorn forks, the app instrumented in each worker, /metrics served
by the master on FLUXUS_METRICS_PORT, and dead workers' live gauges dropped.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from services.core.config import get_settings
from services.core.logging import configure_logging
from services.core.metrics_runtime import enable_multiprocess, gunicorn_hooks, instrument_flask


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from services.payment.app import create_app

        return instrument_flask(create_app(get_settings()), service="payment")  # type: ignore[no-any-return]


@click.command()
@click.option("--bind", required=True)
def main(bind: str) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    enable_multiprocess("payment")
    _Gunicorn(
        {
            "bind": bind,
            "workers": 2,
            "threads": 2,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            **gunicorn_hooks(settings.metrics_port),
        }
    ).run()


if __name__ == "__main__":
    main()
