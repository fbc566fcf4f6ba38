"""Asking for an e-mail: one delivery row per event, so a message is never sent twice."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import EmailDelivery, User
from services.core.db.upsert import insert_for
from services.core.ports import Jobs

TEMPLATES = frozenset(
    {
        "welcome",
        "verify_email",
        "password_reset",
        "payment_confirmation",
        "payment_instructions",
        "renewal_reminder",
        "renewal_payment_link",
        "payment_failed",
        "subscription_expired",
    }
)


def queue_email(
    session: Session,
    jobs: Jobs,
    *,
    template: str,
    user: User,
    event_key: str,
    context: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Record the e-mail for `event_key` (once) and ask a worker to send it after commit.

    Asking twice for the same event returns the first delivery and sends nothing new.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown e-mail template {template!r}")
    insert = insert_for(session)
    new_id = uuid.uuid4()
    session.execute(
        insert(EmailDelivery)
        .values(
            id=new_id, event_key=event_key, template=template, user_id=user.id,
            recipient=user.email, context=context or {}, status="pending", attempts=0,
        )
        .on_conflict_do_nothing(index_elements=[EmailDelivery.event_key])
    )
    delivery_id = session.scalars(
        select(EmailDelivery.id).where(EmailDelivery.event_key == event_key)
    ).one()
    if delivery_id == new_id:
        jobs.enqueue("send_email", str(delivery_id), job_id=f"email-{delivery_id}")
    return delivery_id
