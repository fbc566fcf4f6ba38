"""What staff do with deliveries: read an endpoint's log, resend one event, replay a range."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Event, User, WebhookDelivery, WebhookEndpoint
from services.core.errors import NotFound, ValidationError
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.api_pages import paginate
from services.core.usecases.audit import Actor
from services.core.usecases.webhooks import endpoints
from services.core.usecases.webhooks.events import DELIVER_JOB, deliver_job_id, wants

REPLAY_LIMIT = 1000


@dataclass(frozen=True)
class Replayed:
    deliveries: int


def delivery_log(session: Session, caller: User, endpoint_id: uuid.UUID, *, page: int,
                 page_size: int, status: str | None = None) -> Any:
    """The endpoint's deliveries, newest first (each loads its event, for the type)."""
    endpoints.get(session, caller, endpoint_id)
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
             .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id))
    if status:
        query = query.where(WebhookDelivery.status == status)
    return paginate(session, query, page=page, page_size=page_size)


def _again(session: Session, clock: Clock, jobs: Jobs, event: Event,
           endpoint: WebhookEndpoint) -> WebhookDelivery:
    delivery = session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.event_id == event.id, WebhookDelivery.endpoint_id == endpoint.id,
    ).with_for_update()).first()
    if delivery is None:
        delivery = WebhookDelivery(id=uuid.uuid4(), event_id=event.id, endpoint_id=endpoint.id)
        session.add(delivery)
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, clock.now()
    delivery.first_failed_at, delivery.last_error = None, ""
    session.flush()
    jobs.enqueue(DELIVER_JOB, str(delivery.id),
                 job_id=f"{deliver_job_id(delivery.id, 0)}-resend{int(clock.now().timestamp())}")
    return delivery


def _usable(endpoint: WebhookEndpoint) -> None:
    if endpoint.disabled_at is not None:
        raise ValidationError("The endpoint is disabled; enable it first.",
                              errors={"endpoint": ["disabled"]}, code="webhook_endpoint_disabled")


def resend(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
           endpoint_id: uuid.UUID, event_id: str) -> WebhookDelivery:
    """Send one event to the endpoint again (same `webhook-id`), whatever happened before."""
    endpoint = endpoints.get(session, caller, endpoint_id)
    _usable(endpoint)
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No such event (events are kept 30 days).")
    delivery = _again(session, clock, jobs, event, endpoint)
    audit.record(session, actor, "webhook_event.resent", resource_type="webhook_endpoint",
                 resource_id=endpoint.id, meta={"event_id": event_id})
    return delivery


def replay(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
           endpoint_id: uuid.UUID, *, since: datetime, until: datetime,
           only_failed: bool = False) -> Replayed:
    """Send again every event in [since, until) the endpoint subscribes to (or only those
    whose delivery failed), oldest first; at most 1000 per call."""
    endpoint = endpoints.get(session, caller, endpoint_id)
    _usable(endpoint)
    if until <= since:
        raise ValidationError("`to` must be after `from`", errors={"to": ["before from"]})
    found = [e for e in session.scalars(
        select(Event).where(Event.occurred_at >= since, Event.occurred_at < until)
        .order_by(Event.occurred_at, Event.id)
    ) if wants(endpoint, e.type)]
    if only_failed:
        ok = set(session.scalars(select(WebhookDelivery.event_id).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "succeeded")))
        found = [e for e in found if e.id not in ok]
    if len(found) > REPLAY_LIMIT:
        raise ValidationError(f"more than {REPLAY_LIMIT} events in that range; narrow it",
                              errors={"from": ["range too wide"]})
    for event in found:
        _again(session, clock, jobs, event, endpoint)
    audit.record(session, actor, "webhook_events.replayed", resource_type="webhook_endpoint",
                 resource_id=endpoint.id, meta={"from": since.isoformat(),
                                                "to": until.isoformat(), "events": len(found)})
    return Replayed(len(found))
