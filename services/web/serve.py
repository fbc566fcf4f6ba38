"""Serving a Flask app under gunicorn from Python, so the image's one entry point is `fluxus`."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from services.core.config import Settings
from services.core.db.session import configure_orm
from services.core.metrics_runtime import enable_multiprocess, gunicorn_hooks


class _Gunicorn(BaseApplication):
    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._factory()  # in each worker, after the fork: engines are per process


def serve(factory: Callable[[], Flask], settings: Settings, *, name: str,
          options: dict[str, Any], preload: Sequence[str] = ()) -> None:
    """Run `factory`'s app under gunicorn; workers write metric files, the master serves
    `/metrics` on `settings.metrics_port` (multiprocess mode).

    `preload` names the modules of the app's code: the master imports them (it creates no
    app, engine or connection) so the workers fork with them and share their pages instead
    of each importing its own copy; `gc.freeze()` then keeps the collector from writing to
    (and so copying) those pages in every worker."""
    enable_multiprocess(name)
    for module in preload:
        importlib.import_module(module)
    configure_orm()
    gc.freeze()
    _Gunicorn(factory, {
        **gunicorn_hooks(settings.metrics_port),
        "accesslog": None,  # services.web logs each request as JSON (path only, never the query)
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "forwarded_allow_ips": "*" if settings.trusted_proxies else "127.0.0.1",
        "proc_name": f"fluxus-{name}",
        "preload_app": False,
        **options,
    }).run()
