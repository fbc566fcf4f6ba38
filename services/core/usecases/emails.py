"""Asking for an e-mail: one delivery row per event, so a message is never sent twice."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db import bulk
from services.core.db.models import EmailDelivery, User
from services.core.ports import Jobs

TEMPLATES = frozenset(
    {
        "welcome",
        "verify_email",
        "password_reset",
        "email_changed",
        "registration_existing",
        "registration_refused",
        "payment_confirmation",
        "payment_instructions",
        "renewal_reminder",
        "renewal_payment_link",
        "payment_failed",
        "subscription_expired",
        "subscription_cancelled",
        "auto_renew_changed",
        "trial_ended",
        "card_agreement_ended",
        "einvoice_issued",
        "refund_issued",
        "webhook_endpoint_disabled",
    }
)


@dataclass(frozen=True)
class EmailRequest:
    """One e-mail to record for one event (`event_key` is unique across all e-mails)."""

    template: str
    user_id: uuid.UUID | None  # None: an address with no account (a refused registration)
    recipient: str
    event_key: str
    context: dict[str, Any] = field(default_factory=dict)


def queue_emails(session: Session, jobs: Jobs, requests: Sequence[EmailRequest]) -> list[uuid.UUID]:
    """Record each request's e-mail once (one delivery row per event) and ask a worker to send
    the new ones after commit; returns the new deliveries' ids. A request whose event already
    has a delivery adds nothing and sends nothing."""
    for request in requests:
        if request.template not in TEMPLATES:
            raise ValueError(f"unknown e-mail template {request.template!r}")
    rows = [
        {
            "id": uuid.uuid4(), "event_key": r.event_key, "template": r.template,
            "user_id": r.user_id, "recipient": r.recipient, "context": r.context,
            "status": "pending", "attempts": 0,
        }
        for r in requests
    ]
    created = bulk.insert_rows(session, EmailDelivery, rows, conflict=("event_key",),
                               returning="id")
    if len(created) == 1:
        jobs.enqueue("send_email", str(created[0]), job_id=f"email-{created[0]}")
    elif created:
        # A batch (renewals: hundreds at once) is one job, not one RQ job per message; each
        # delivery row's lock and status still send every message once.
        ids = [str(delivery_id) for delivery_id in created]
        digest = hashlib.sha256(";".join(sorted(ids)).encode()).hexdigest()[:32]
        jobs.enqueue("send_emails", ids, job_id=f"emails-{digest}")
    return created


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
    request = EmailRequest(template, user.id, user.email, event_key, context or {})
    created = queue_emails(session, jobs, [request])
    if created:
        return created[0]
    return session.scalars(
        select(EmailDelivery.id).where(EmailDelivery.event_key == event_key)
    ).one()
