"""Kopf handlers for Plan resources: thin shells that call the reconcile and map its errors."""

from __future__ import annotations

import logging
import time
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException
from sqlalchemy.exc import SQLAlchemyError

from fluxus_operator.manifests import GROUP, VERSION
from fluxus_operator.reconcile import Notify, ReconcileFailed, Runtime, finalize, reconcile
from fluxus_operator.status import status_changed
from services.core import metrics
from services.core.errors import ServiceUnavailable

PLURAL = "plans"
FINALIZER = f"{GROUP}/finalizer"
MAX_BACKOFF_SECONDS = 30.0


def backoff(retry: int) -> float:
    """Seconds before the next attempt after a temporary failure: 1, 2, 4 … at most 30."""
    return float(min(2 ** min(retry, 10), MAX_BACKOFF_SECONDS))


def _notifier(body: kopf.Body) -> Notify:
    def notify(kind: str, reason: str, message: str) -> None:
        if kind == "Warning":
            kopf.warn(body, reason=reason, message=message)
        else:
            kopf.info(body, reason=reason, message=message)

    return notify


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


def _measured_reconcile(body: kopf.Body, memo: kopf.Memo) -> dict[str, Any]:
    """reconcile(), counted and timed, with the plan's readiness gauge kept current."""
    name = body["metadata"]["name"]
    started = time.monotonic()
    try:
        status = reconcile(_runtime(memo), body, _notifier(body))
    except ReconcileFailed as failure:
        outcome = "permanent_error" if failure.permanent else "temporary_error"
        metrics.record_reconcile(outcome, time.monotonic() - started)
        metrics.set_plan_ready(name, False)
        raise
    metrics.record_reconcile("ok", time.monotonic() - started)
    metrics.set_plan_ready(name, True)
    return status


def on_change(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """Create, resume and update: reconcile and write the status, whatever the outcome."""
    try:
        status = _measured_reconcile(body, memo)
    except ReconcileFailed as failure:
        patch.status.update(failure.status)
        kopf.warn(body, reason=failure.reason, message=failure.message)
        if failure.permanent:
            # Retrying cannot fix a spec; the next edit of the Plan triggers a new attempt.
            raise kopf.PermanentError(failure.message) from failure
        raise kopf.TemporaryError(failure.message, delay=backoff(retry)) from failure
    patch.status.update(status)


def on_timer(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, retry: int = 0, **_: Any) -> None:
    """Drift check: put back a CronJob or plan row changed by hand; report only changes."""
    current = dict(body.get("status") or {})
    try:
        status = _measured_reconcile(body, memo)
    except ReconcileFailed as failure:
        if status_changed(failure.status, current):
            patch.status.update(failure.status)
        if failure.permanent:
            return  # reported already by the change handler; nothing to retry
        raise kopf.TemporaryError(failure.message, delay=backoff(retry)) from failure
    if status_changed(status, current):
        patch.status.update(status)


def on_delete(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """Deletion behind the finalizer: archive the row, delete the CronJob, then let go.
    Until that works the Plan stays, and each failed attempt says why in a Warning event
    (what `kubectl describe plan` shows for a deletion that hangs)."""
    try:
        finalize(_runtime(memo), body, _notifier(body))
        metrics.forget_plan(body["metadata"]["name"])
        return
    except ServiceUnavailable as exc:
        reason, message = "DatabaseUnavailable", exc.message
    except SQLAlchemyError as exc:
        reason, message = "DatabaseError", f"Database error: {exc}"
    except ApiException as exc:
        reason, message = "KubernetesError", f"Kubernetes refused: {exc.reason}"
    kopf.warn(body, reason=reason, message=f"Deletion waits: {message}")
    raise kopf.TemporaryError(message, delay=backoff(retry))


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """Use the same credentials as the `kubernetes` client (in-cluster or KUBECONFIG)."""
    return kopf.login_via_client(**kwargs)


def build_registry(resync_seconds: float) -> kopf.OperatorRegistry:
    """A registry with the Plan handlers; the drift timer runs every ``resync_seconds``."""
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(login)
    resource = (GROUP, VERSION, PLURAL)
    kopf.on.create(*resource, registry=registry)(on_change)
    kopf.on.resume(*resource, registry=registry)(on_change)
    kopf.on.update(*resource, registry=registry)(on_change)
    kopf.on.delete(*resource, registry=registry)(on_delete)
    kopf.timer(*resource, registry=registry, interval=resync_seconds, initial_delay=resync_seconds)(
        on_timer
    )
    return registry


def kopf_settings() -> kopf.OperatorSettings:
    """Our own finalizer and annotation names, so the resources say who manages them."""
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.SmartProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    # Only the Events we post (kopf.info/warn) — never Kopf's log lines: the drift timer
    # succeeds for every Plan every --resync-seconds, and as Events ("Timer succeeded") that
    # buries what matters in `kubectl describe plan`. Explicit: older Kopf posted them.
    settings.posting.loggers = False
    return settings
