"""The audit log as staff read it: filtered by user, action, resource and time range, each row
with the e-mail and name of whoever it names (staff read people, not UUIDs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.db.models import AuditLog, User
from services.core.usecases.api_pages import Page, paginate


def list_audit_logs(
    session: Session, *, page: int, page_size: int, user_id: uuid.UUID | None = None,
    action: str | None = None, resource_type: str | None = None,
    resource_id: str | None = None, since: datetime | None = None,
    until: datetime | None = None, user_email: str | None = None,
) -> Page[NamedAuditLog]:
    """Newest first; `since` is inclusive and `until` exclusive; `user_email` matches the
    acting user's e-mail exactly (case-insensitive)."""
    query = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id)
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    if user_email:
        query = query.where(AuditLog.user_id.in_(
            select(User.id).where(func.lower(User.email) == user_email.strip().lower())))
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
    found = paginate(session, query, page=page, page_size=page_size)
    return Page(with_names(session, found.items), found.total, found.page, found.page_size)


@dataclass(frozen=True)
class NamedAuditLog:
    """An audit row read with the e-mail and name of the user it names (None for the system
    or a user since deleted); every other attribute is the row's own."""

    log: AuditLog
    user_email: str | None
    user_name: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log, name)


def with_names(session: Session, logs: list[AuditLog]) -> list[NamedAuditLog]:
    """The rows with their users' e-mails and names, in one query for the whole page."""
    ids = {log.user_id for log in logs if log.user_id is not None}
    users = {row.id: row for row in session.execute(
        select(User.id, User.email, User.first_name, User.last_name, User.username)
        .where(User.id.in_(ids)))} if ids else {}
    named = []
    for log in logs:
        user = users.get(log.user_id) if log.user_id is not None else None
        name = (f"{user.first_name} {user.last_name}".strip() or user.username) if user else None
        named.append(NamedAuditLog(log, user.email if user else None, name))
    return named
