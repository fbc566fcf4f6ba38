"""Reading the events outbox (staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Event, User
from services.core.usecases.api_pages import paginate
from services.core.usecases.webhooks.endpoints import may_admin


def list_events(session: Session, caller: User, *, page: int, page_size: int,
                type: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> Any:
    may_admin(caller)
    query = select(Event).order_by(Event.occurred_at.desc(), Event.id)
    if type:
        query = query.where(Event.type == type)
    if since:
        query = query.where(Event.occurred_at >= since)
    if until:
        query = query.where(Event.occurred_at < until)
    return paginate(session, query, page=page, page_size=page_size)
