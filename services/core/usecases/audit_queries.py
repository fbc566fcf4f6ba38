"""The audit log as staff read it: filtered by user, action, resource and time range."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import AuditLog
from services.core.usecases.api_pages import Page, paginate


def list_audit_logs(
    session: Session, *, page: int, page_size: int, user_id: uuid.UUID | None = None,
    action: str | None = None, resource_type: str | None = None,
    resource_id: str | None = None, since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditLog]:
    """Newest first; `since` is inclusive and `until` exclusive."""
    query = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id)
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    if action:
        query = query.where(AuditLog.action == action)
    if resource_type:
        query = query.where(AuditLog.resource_type == resource_type)
    if resource_id:
        query = query.where(AuditLog.resource_id == resource_id)
    if since is not None:
        query = query.where(AuditLog.created_at >= since)
    if until is not None:
        query = query.where(AuditLog.created_at < until)
    return paginate(session, query, page=page, page_size=page_size)
