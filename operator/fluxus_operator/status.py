"""A Plan's status: what the operator reports back on the resource (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

READY = "Ready"
# Reasons of the Ready condition.
SYNCED = "Synced"
INVALID_SPEC = "InvalidSpec"
DATABASE_UNAVAILABLE = "DatabaseUnavailable"
DATABASE_ERROR = "DatabaseError"
KUBERNETES_ERROR = "KubernetesError"

# The fields the operator owns under status (Kopf keeps its own bookkeeping beside them).
OWN_FIELDS = ("planId", "cronJob", "observedGeneration", "lastSyncTime", "conditions")


def _timestamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def ready_condition(
    ready: bool, reason: str, message: str, now: datetime, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The Ready condition; its lastTransitionTime moves only when its status changes."""
    status = "True" if ready else "False"
    since = _timestamp(now)
    if previous and previous.get("status") == status and previous.get("lastTransitionTime"):
        since = previous["lastTransitionTime"]
    return {
        "type": READY,
        "status": status,
        "reason": reason,
        "message": message[:1000],
        "lastTransitionTime": since,
    }


def previous_ready(status: dict[str, Any] | None) -> dict[str, Any] | None:
    for condition in (status or {}).get("conditions") or []:
        if condition.get("type") == READY:
            return dict(condition)
    return None


def build_status(
    *,
    now: datetime,
    generation: int | None,
    previous: dict[str, Any] | None,
    ready: bool,
    reason: str,
    message: str,
    plan_id: object | None = None,
    cronjob: str | None = None,
) -> dict[str, Any]:
    """The operator's part of a Plan's status after one reconcile attempt.

    Fields an attempt did not learn (planId when the database was down) keep their last value.
    """
    previous = previous or {}
    status: dict[str, Any] = {
        "planId": str(plan_id) if plan_id is not None else previous.get("planId"),
        "cronJob": cronjob or previous.get("cronJob"),
        "observedGeneration": generation,
        "lastSyncTime": _timestamp(now),
        "conditions": [ready_condition(ready, reason, message, now, previous_ready(previous))],
    }
    return {key: value for key, value in status.items() if value is not None}


def status_changed(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    """Whether writing ``new`` would tell a reader anything (lastSyncTime alone does not)."""
    old = old or {}
    return any(new.get(key) != old.get(key) for key in OWN_FIELDS if key != "lastSyncTime")
