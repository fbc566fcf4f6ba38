"""Audit rows: who did what to which resource, from where."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from services.core.db import bulk
from services.core.db.models import AuditLog


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where; the edge builds it from the request or job."""

    user_id: uuid.UUID | None = None
    ip_address: str | None = None
    user_agent: str = ""
    is_staff: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


SYSTEM = Actor(user_agent="fluxus-system")


def values(
    actor: Actor,
    action: str,
    *,
    resource_type: str = "",
    resource_id: object = "",
    description: str = "",
    user_id: uuid.UUID | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit row's columns (bulk callers insert many at once with `record_many`)."""
    return {
        "user_id": user_id if user_id is not None else actor.user_id,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id) if resource_id else "",
        "description": description[:500],
        "ip_address": actor.ip_address,
        "user_agent": (actor.user_agent or "")[:500],
        # The actor's own context (e.g. which API key acted) rides along on every row.
        "meta": {**actor.extra, **(meta or {})},
    }


def record(session: Session, actor: Actor, action: str, **fields: Any) -> AuditLog:
    """Add an audit row to the caller's transaction (it lands or rolls back with the change).
    `fields` are values()'s keywords."""
    row = AuditLog(**values(actor, action, **fields))
    session.add(row)
    return row


def record_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert audit rows built by `values` in the caller's transaction, in one statement."""
    bulk.insert_rows(session, AuditLog, rows)
