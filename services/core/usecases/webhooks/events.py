"""The events outbox: one row per thing that happened, written in the change's own transaction,
plus one pending delivery per endpoint that wants it.

Use cases call `record` (or `subscription_changed`) next to the change; nothing is sent before
the transaction commits, and a rolled-back change leaves no event. For the code still to come:

    events.record(session, clock.now(), "refund.succeeded",
                  {"refund_id": ..., "order_id": ..., "customer_id": ..., "amount": "990"}, jobs)
    events.subscription_changed(session, clock.now(), sub, previous_status,
                                event_type="subscription.plan_changed", jobs=jobs)
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.core.db.models import Event, Subscription, WebhookDelivery, WebhookEndpoint
from services.core.ports import Jobs
from services.core.usecases import mrr

EVENT_TYPES = (
    "subscription.activated",
    "subscription.past_due",
    "subscription.cancelled",
    "subscription.expired",
    "subscription.plan_changed",
    "order.paid",
    "payment.failed",
    "invoice.issued",
    "einvoice.issued",
    "refund.succeeded",
)
ALL = "*"
RETENTION = timedelta(days=30)
DELIVER_JOB = "deliver_webhook"
_STATUS_EVENTS = {
    "active": "subscription.activated",
    "past_due": "subscription.past_due",
    "cancelled": "subscription.cancelled",
    "expired": "subscription.expired",
}


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def deliver_job_id(delivery_id: object, attempt: int) -> str:
    return f"webhook-{delivery_id}-{attempt}"


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return ALL in endpoint.event_types or event_type in endpoint.event_types


def fan_out(session: Session, event: Event, endpoints: list[WebhookEndpoint],
            jobs: Jobs | None = None) -> list[WebhookDelivery]:
    """A pending delivery of `event` to each endpoint (none twice: the unique pair guards)."""
    made = []
    for endpoint in endpoints:
        delivery = WebhookDelivery(
            id=uuid.uuid4(), event_id=event.id, endpoint_id=endpoint.id, status="pending",
            attempts=0, next_attempt_at=event.occurred_at,
        )
        session.add(delivery)
        made.append(delivery)
    session.flush()
    if jobs is not None:
        for delivery in made:
            jobs.enqueue(DELIVER_JOB, str(delivery.id), job_id=deliver_job_id(delivery.id, 0))
    return made


def record(session: Session, at: datetime, event_type: str, data: dict[str, Any],
           jobs: Jobs | None = None) -> Event:
    """Write the event and its deliveries in the caller's transaction. With `jobs` the
    deliveries are enqueued after commit; without, the sweep sends them within a minute."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event = Event(id=new_event_id(), type=event_type, occurred_at=at, data=data)
    session.add(event)
    endpoints = [e for e in _live_endpoints(session)
                 if e.disabled_at is None and wants(e, event_type)]
    fan_out(session, event, endpoints, jobs)
    return event


_ENDPOINTS = "fluxus.webhook_endpoints"  # session.info: (transaction, endpoints it read)


def _live_endpoints(session: Session) -> list[WebhookEndpoint]:
    """The endpoints not disabled, read once per transaction: a payment records three events,
    and an endpoint added while it runs is as good as one added just after it commits. The
    same instances are reused, so one disabled in this transaction is seen as disabled."""
    transaction = session.get_transaction()
    cached = session.info.get(_ENDPOINTS)
    if cached is not None and cached[0] is transaction:
        return list(cached[1])
    endpoints = list(session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))))
    session.info[_ENDPOINTS] = (transaction, endpoints)
    return endpoints


def subscription_data(sub: Subscription, previous_status: str | None) -> dict[str, Any]:
    return {
        "subscription_id": str(sub.id), "customer_id": str(sub.user_id),
        "plan_id": str(sub.plan_id), "status": sub.status, "previous_status": previous_status,
        "current_period_end": sub.end_date.isoformat() if sub.end_date else None,
    }


def subscription_changed(session: Session, at: datetime, sub: Subscription,
                         previous_status: str | None, *, event_type: str | None = None,
                         jobs: Jobs | None = None) -> Event | None:
    """After a subscription's status (or plan) changed: its event, and its MRR movement."""
    session.flush()
    if event_type is None and sub.status != previous_status:
        event_type = _STATUS_EVENTS.get(sub.status)
    event = None
    if event_type is not None:
        event = record(session, at, event_type, subscription_data(sub, previous_status), jobs)
    mrr.track(session, at, sub, previous_status)
    return event


def prune(session: Session, now: datetime) -> int:
    """Events (and their deliveries) older than the 30 days they are kept."""
    cutoff = now - RETENTION
    old = select(Event.id).where(Event.occurred_at < cutoff)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(old)))
    result = session.execute(delete(Event).where(Event.occurred_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
