"""One idempotent reconcile of a Plan resource: plans row, renewal CronJob, status."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import BatchV1Api
from kubernetes.client.exceptions import ApiException
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from fluxus_operator import kube
from fluxus_operator.cronjob import build_cronjob, cronjob_name
from fluxus_operator.status import (
    DATABASE_ERROR,
    DATABASE_UNAVAILABLE,
    INVALID_SPEC,
    KUBERNETES_ERROR,
    SYNCED,
    build_status,
)
from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.session import session_scope
from services.core.errors import ServiceUnavailable, ValidationError
from services.core.usecases.plans import archive_plan, reconcile_plan

# (type "Normal" | "Warning", reason, message) → a Kubernetes Event on the Plan.
Notify = Callable[[str, str, str], None]


@dataclass(frozen=True)
class Runtime:
    """What every handler needs, built once at startup and handed over in Kopf's memo."""

    settings: Settings
    engine: Engine
    clock: Clock
    batch: BatchV1Api = field(repr=False)
    # The chart's renewal pod (a PodTemplateSpec); None builds the operator's own.
    pod_template: Mapping[str, Any] | None = field(default=None, repr=False)


class ReconcileFailed(Exception):
    """A reconcile attempt that could not finish; carries the status to write anyway."""

    def __init__(self, reason: str, message: str, status: dict[str, Any]) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status

    @property
    def permanent(self) -> bool:
        """Retrying cannot help until someone edits the spec."""
        return self.reason == INVALID_SPEC


def _describe(error: ValidationError) -> str:
    details = "; ".join(
        f"{name}: {', '.join(messages)}" for name, messages in sorted(error.errors.items())
    )
    return f"{error.message}: {details}" if details else error.message


def _first_line(exc: SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines() or [""]
    return f"{type(cause).__name__}: {lines[0]}"


def reconcile(runtime: Runtime, body: Mapping[str, Any], notify: Notify) -> dict[str, Any]:
    """Make the database and the cluster match a Plan; return its new status.

    Raises ReconcileFailed (with a Ready=False status) for an invalid spec, an unreachable
    database or a refused Kubernetes call.
    """
    meta = body["metadata"]
    slug, namespace, generation = meta["name"], meta["namespace"], meta.get("generation")
    previous = dict(body.get("status") or {})

    def failed(reason: str, message: str) -> ReconcileFailed:
        status = build_status(
            now=runtime.clock.now(),
            generation=generation,
            previous=previous,
            ready=False,
            reason=reason,
            message=message,
        )
        return ReconcileFailed(reason, message, status)

    spec = dict(body.get("spec") or {})
    try:
        with session_scope(runtime.engine) as session:
            synced = reconcile_plan(session, runtime.clock, slug, spec, generation)
    except ValidationError as exc:
        raise failed(INVALID_SPEC, _describe(exc)) from exc
    except ServiceUnavailable as exc:
        raise failed(DATABASE_UNAVAILABLE, exc.message) from exc
    except SQLAlchemyError as exc:
        # E.g. the schema is not migrated yet (the migration Job runs beside the operator).
        raise failed(DATABASE_ERROR, _first_line(exc)) from exc
    if synced.changed:
        notify("Normal", "PlanSynced", f"Plan row {slug} {synced.outcome} (id {synced.plan_id})")

    desired = build_cronjob(synced.spec, runtime.settings, body, namespace, runtime.pod_template)
    try:
        done = kube.ensure_cronjob(runtime.batch, desired)
    except ApiException as exc:
        raise failed(KUBERNETES_ERROR, f"CronJob {cronjob_name(slug)}: {exc.reason}") from exc
    if done != "unchanged":
        notify(
            "Normal",
            f"CronJob{done.capitalize()}",
            f"CronJob {cronjob_name(slug)} {done} (schedule {synced.spec.schedule!r})",
        )

    return build_status(
        now=runtime.clock.now(),
        generation=generation,
        previous=previous,
        ready=True,
        reason=SYNCED,
        message="Plan row and renewal CronJob are in sync",
        plan_id=synced.plan_id,
        cronjob=cronjob_name(slug),
    )


def finalize(runtime: Runtime, body: Mapping[str, Any], notify: Notify) -> None:
    """A Plan is being deleted: archive its row (never delete it) and remove its CronJob.

    Raises ServiceUnavailable or ApiException so the caller retries; the finalizer stays.
    """
    meta = body["metadata"]
    slug, namespace = meta["name"], meta["namespace"]
    with session_scope(runtime.engine) as session:
        archived = archive_plan(session, slug)
    if archived:
        notify("Normal", "PlanArchived", f"Plan row {slug} marked inactive")
    if kube.delete_cronjob(runtime.batch, namespace, cronjob_name(slug)):
        notify("Normal", "CronJobDeleted", f"CronJob {cronjob_name(slug)} deleted")
