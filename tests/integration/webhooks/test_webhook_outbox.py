"""The events outbox: an event exists only if its change committed, and each (event,
endpoint) reaches the receiver as one webhook-id even when a worker dies after sending and
before committing; real RQ workers on a real Redis send what the sweep finds due."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Event, User, WebhookDelivery
from services.core.db.session import dispose_engines, get_engine, session_scope
from services.core.ports import RecordingJobs
from services.core.usecases import subscriptions
from services.core.usecases.audit import Actor
from services.core.usecases.webhooks import delivery, endpoints
from services.worker import context
from services.worker.jobs import webhooks as webhook_jobs
from services.worker.queues import queue, redis_connection
from services.worker.registry import MAINTENANCE
from tests.integration.webhooks.webhook_receiver import Receiver
from tests.support.factories import make_plan, make_subscription, make_user


@pytest.fixture
def wsettings(settings: Settings, clock: FixedClock) -> Iterator[Settings]:
    pinned = dataclasses.replace(settings, webhooks_allow_private=True)
    context.use(pinned, clock)
    try:
        yield pinned
    finally:
        context.use(None, None)
        dispose_engines()


def _burst(settings: Settings) -> int:
    """Run every job waiting on the real queue, as a worker would, and take it off."""
    waiting = queue(MAINTENANCE, redis_connection(settings))
    ran = 0
    for job in waiting.jobs:
        waiting.remove(job)
        job.perform()
        ran += 1
    return ran


def _cancel(session: Session, clock: FixedClock, customer: User, sub_id: object) -> None:
    subscriptions.change_status(session, clock, RecordingJobs(), Actor(user_id=customer.id),
                                customer, sub_id, status="cancelled")


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_event_exists_only_if_its_change_committed_and_reaches_the_receiver_once(
        session: Session, clock: FixedClock, wsettings: Settings,
        endpoint: endpoints.WithSecret, receiver: Receiver) -> None:
    customer = make_user(session)
    plan = make_plan(session, price=990)
    sub = make_subscription(session, customer, plan, status="active",
                            start_date=clock.now() - timedelta(days=3),
                            end_date=clock.now() + timedelta(days=27))
    session.commit()

    _cancel(session, clock, customer, sub.id)
    session.rollback()  # the request failed after the change: no event, nothing to send
    assert _count(session, Event) == 0 and _count(session, WebhookDelivery) == 0

    _cancel(session, clock, customer, sub.id)
    session.commit()
    [event] = session.scalars(select(Event)).all()
    assert event.type == "subscription.cancelled"
    assert event.data["subscription_id"] == str(sub.id)
    assert event.data["customer_id"] == str(customer.id)
    [delivery_id] = session.scalars(select(WebhookDelivery.id)).all()

    # A worker sends, then dies before its commit: the receiver has the message, the row
    # still says pending.
    with session_scope(get_engine(wsettings)) as dying:
        assert delivery.deliver(dying, clock, RecordingJobs(), delivery_id,
                                allow_private=True) is delivery.Outcome.SUCCEEDED
        dying.rollback()
    assert len(receiver.requests) == 1

    # The sweep finds it due; a real RQ worker sends it again, with the same webhook-id.
    assert webhook_jobs.sweep_webhooks() == 1
    assert _burst(wsettings) == 1
    session.expire_all()
    row = session.get_one(WebhookDelivery, delivery_id)
    assert row.status == "succeeded" and row.attempts == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id, event.id]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1

    # Nothing more is due: further sweeps and workers send nothing.
    assert webhook_jobs.sweep_webhooks() == 0
    assert _burst(wsettings) == 0
    assert len(receiver.requests) == 2


def test_events_older_than_30_days_are_pruned_with_their_deliveries(
        session: Session, clock: FixedClock, wsettings: Settings,
        endpoint: endpoints.WithSecret) -> None:
    from services.core.usecases.webhooks import events

    events.record(session, clock.now() - timedelta(days=31), "order.paid", {"order_id": "a"})
    kept = events.record(session, clock.now() - timedelta(days=29), "order.paid",
                         {"order_id": "b"})
    session.commit()
    assert webhook_jobs.prune_webhook_events() == 1
    session.expire_all()
    assert session.scalars(select(Event.id)).all() == [kept.id]
    assert session.scalars(select(WebhookDelivery.event_id)).all() == [kept.id]
