"""Serving metrics: multiprocess mode for forking servers, the /metrics port, WSGI timing."""

# Under gunicorn and RQ the requests and jobs run in forked children, so values live in
# mmap files (prometheus_client's multiprocess mode) that the /metrics server of the parent
# merges on scrape. The directory is per process group, under the temp dir (the only
# writable path of the chart's read-only root filesystem), emptied when the group starts.
# prometheus_client reads PROMETHEUS_MULTIPROC_DIR itself whenever it opens a value file,
# which is why `enable_multiprocess` sets it rather than passing the path around.

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from services.core.metrics import (
    HTTP_DURATION,
    HTTP_IN_FLIGHT,
    HTTP_METHODS,
    HTTP_REQUESTS,
    UNMATCHED_ENDPOINT,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_GROUP_DIR = re.compile(r"^fluxus-metrics-(?P<group>[a-z0-9-]+)-(?P<pid>\d+)$")
# Every interface: Kubernetes probes and the ServiceMonitor reach the pod IP. The ingress
# never routes this port and the chart's NetworkPolicy admits only the monitoring namespace.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

_state: dict[str, Path | None] = {"dir": None}
_names: dict[int, str] = {}


def _process_identifier() -> str:
    pid = os.getpid()
    return _names.get(pid, str(pid))


def name_this_process(name: str) -> None:
    """Write this process's values under `name` instead of its pid.

    RQ forks a new work horse per job; horses of one worker run one at a time, so they can
    share one set of files and the directory stays small however many jobs run.
    """
    _names[os.getpid()] = name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(base: Path, group: str) -> None:
    for candidate in base.glob(f"fluxus-metrics-{group}-*"):
        match = _GROUP_DIR.match(candidate.name)
        if match and match["group"] == group and not _pid_alive(int(match["pid"])):
            shutil.rmtree(candidate, ignore_errors=True)


def enable_multiprocess(group: str, base: Path | None = None) -> Path:
    """Switch this process (and its future children) to multiprocess mode; call it first
    thing in the parent, before any metric is touched and before forking.

    The directory is `<tmp>/fluxus-metrics-<group>-<pid>`: emptied now, and directories of
    the same group whose process is gone are removed, so restarts never add old counts.
    """
    base = base or Path(tempfile.gettempdir())
    _clean_stale(base, group)
    path = base / f"fluxus-metrics-{group}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)
    _state["dir"] = path
    return path


def multiprocess_dir() -> Path | None:
    return _state["dir"]


class _Extra:
    """Adapts the default registry (process, platform and GC metrics) as a collector."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Any]:
        return self.source.collect()


def build_registry(collectors: Iterable[Collector] = ()) -> CollectorRegistry:
    """What /metrics shows: the merged files in multiprocess mode, else this process's
    registry; plus any scrape-time collectors (the scheduler's business gauges)."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        MultiProcessCollector(registry, path=str(path))
    else:
        registry.register(_Extra(REGISTRY))
    for collector in collectors:
        registry.register(collector)
    return registry


def start_metrics_server(
    port: int, collectors: Iterable[Collector] = (), addr: str = ALL_INTERFACES
) -> tuple[WSGIServer, Thread] | None:
    """Serve /metrics on `port` (settings.metrics_port) from a daemon thread.

    A taken port is logged as an error, not raised: billing keeps running without its
    metrics (and the missing scrape target fires an alert) rather than crash-looping.
    """
    try:
        return start_http_server(port, addr=addr, registry=build_registry(collectors))
    except OSError as exc:
        logging.getLogger(__name__).error(
            "cannot serve /metrics on port %s: %s (set FLUXUS_METRICS_PORT)", port, exc
        )
        return None


def gunicorn_hooks(port: int) -> dict[str, Callable[..., None]]:
    """Options for a gunicorn app: /metrics served by the master, dead workers' live gauges
    dropped. Call `enable_multiprocess(group)` before gunicorn starts."""

    def when_ready(_server: Any) -> None:
        start_metrics_server(port)

    def child_exit(_server: Any, worker: Any) -> None:
        if multiprocess_dir() is not None:
            mark_process_dead(worker.pid, str(multiprocess_dir()))

    return {"when_ready": when_ready, "child_exit": child_exit}


RULE_KEY = "fluxus.url_rule"


def _endpoint(environ: dict[str, Any]) -> str:
    # Put there by instrument_flask's first before_request hook: the URL rule Flask matched
    # ("/api/v1/orders/<uuid:order_id>") is bounded, the raw path is not.
    return str(environ.get(RULE_KEY) or UNMATCHED_ENDPOINT)


class MetricsMiddleware:
    """WSGI middleware counting and timing every request of one service."""

    def __init__(self, app: Callable[..., Iterable[bytes]], service: str) -> None:
        self.app = app
        self.service = service

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code.split(" ", 1)[0])
            return start_response(code, headers, exc_info)

        in_flight = HTTP_IN_FLIGHT.labels(self.service)
        in_flight.inc()
        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            status.append("500")
            raise
        finally:
            in_flight.dec()
            method = environ.get("REQUEST_METHOD", "GET")
            method = method if method in HTTP_METHODS else "OTHER"
            endpoint = _endpoint(environ)
            HTTP_REQUESTS.labels(
                self.service, endpoint, method, status[-1] if status else "500"
            ).inc()
            HTTP_DURATION.labels(self.service, endpoint, method).observe(
                time.perf_counter() - started
            )
        return body


def instrument_flask(app: Any, service: str) -> Any:
    """Count, time and gauge every request of a Flask app (labels: URL rule, method,
    status). /metrics itself is served on the metrics port, never by the app."""
    # Imported here so services.core stays importable by processes without Flask.
    from flask import request

    def remember_rule() -> None:
        rule = request.url_rule
        request.environ[RULE_KEY] = rule.rule if rule is not None else UNMATCHED_ENDPOINT

    # First of the before_request hooks, so a hook that refuses the request (body cap,
    # auth) cannot leave it unlabelled.
    app.before_request_funcs.setdefault(None, []).insert(0, remember_rule)
    app.wsgi_app = MetricsMiddleware(app.wsgi_app, service)
    return app
