"""Delivery against a real receiver that fails, throttles, times out and answers 410: the
spec's schedule with jitter, Retry-After honoured, the same webhook-id on every attempt,
the endpoint disabled (and staff e-mailed) on 410 or after the last attempt."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import EmailDelivery, User, WebhookDelivery, WebhookEndpoint
from services.core.ports import RecordingJobs
from services.core.usecases.webhooks import delivery, endpoints, events
from tests.integration.webhooks.webhook_receiver import Answer, Receiver

D = delivery.Outcome


def _event(session: Session, clock: FixedClock) -> uuid.UUID:
    event = events.record(session, clock.now(), "subscription.activated",
                          {"subscription_id": str(uuid.uuid4())})
    session.commit()
    return session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.event_id == event.id)).one()


def _try(session: Session, clock: FixedClock, delivery_id: uuid.UUID,
         timeout: float = 5.0) -> tuple[D, WebhookDelivery]:
    outcome = delivery.deliver(session, clock, RecordingJobs(), delivery_id,
                               allow_private=True, timeout=timeout)
    session.commit()
    return outcome, session.get_one(WebhookDelivery, delivery_id)


def _wait(row: WebhookDelivery, clock: FixedClock) -> float:
    assert row.next_attempt_at is not None
    return (row.next_attempt_at - clock.now()).total_seconds()


def test_failures_follow_the_schedule_with_jitter_and_keep_the_webhook_id(
        session: Session, clock: FixedClock, endpoint: endpoints.WithSecret,
        receiver: Receiver) -> None:
    receiver.default = Answer(500)
    delivery_id = _event(session, clock)
    waits = []
    for expected in delivery.SCHEDULE[:4]:
        outcome, row = _try(session, clock, delivery_id)
        assert outcome is D.RETRYING and row.http_status == 500
        wait = _wait(row, clock)
        assert expected * 0.9 <= wait <= expected * 1.1
        waits.append(wait)
        # Not due before its time: a second job (or the sweep) sends nothing.
        assert _try(session, clock, delivery_id)[0] is D.NOT_DUE
        clock.set(row.next_attempt_at)
    assert len(receiver.requests) == 4
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    receiver.default = Answer(204)
    outcome, row = _try(session, clock, delivery_id)
    assert outcome is D.SUCCEEDED and row.status == "succeeded" and row.attempts == 5
    assert _try(session, clock, delivery_id)[0] is D.NOT_DUE
    assert len(receiver.requests) == 5


def test_429_with_retry_after_waits_at_least_that_long(
        session: Session, clock: FixedClock, endpoint: endpoints.WithSecret,
        receiver: Receiver) -> None:
    receiver.script = [Answer(429, {"Retry-After": "120"})]
    delivery_id = _event(session, clock)
    outcome, row = _try(session, clock, delivery_id)
    assert outcome is D.RETRYING and row.http_status == 429
    assert _wait(row, clock) >= 120  # the schedule alone would retry after ~5 s
    clock.set(clock.now() + timedelta(seconds=60))
    assert _try(session, clock, delivery_id)[0] is D.NOT_DUE
    assert len(receiver.requests) == 1


def test_a_receiver_that_does_not_answer_in_time_is_retried(
        session: Session, clock: FixedClock, endpoint: endpoints.WithSecret,
        receiver: Receiver) -> None:
    release = threading.Event()
    receiver.script = [Answer(200, hold=release)]
    delivery_id = _event(session, clock)
    try:
        outcome, row = _try(session, clock, delivery_id, timeout=0.5)
    finally:
        release.set()
    assert outcome is D.RETRYING
    assert row.http_status is None and "timed out" in row.last_error
    clock.set(row.next_attempt_at)
    outcome, row = _try(session, clock, delivery_id)
    assert outcome is D.SUCCEEDED
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]


def test_410_disables_the_endpoint_and_emails_staff(
        session: Session, clock: FixedClock, staff: User, endpoint: endpoints.WithSecret,
        receiver: Receiver) -> None:
    receiver.script = [Answer(410)]
    delivery_id = _event(session, clock)
    outcome, row = _try(session, clock, delivery_id)
    assert outcome is D.DISABLED and row.status == "failed"
    ep = session.get_one(WebhookEndpoint, endpoint.endpoint.id)
    assert ep.disabled_at is not None and "410" in ep.disabled_reason
    mails = session.scalars(select(EmailDelivery).where(
        EmailDelivery.template == "webhook_endpoint_disabled")).all()
    assert [m.recipient for m in mails] == [staff.email]
    assert mails[0].context["endpoint_url"] == receiver.url
    # A disabled endpoint gets no new events.
    event = events.record(session, clock.now(), "order.paid", {"order_id": "x"})
    session.commit()
    assert session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.event_id == event.id)).all() == []
    assert len(receiver.requests) == 1


def test_after_the_last_scheduled_attempt_the_delivery_fails_and_the_endpoint_is_disabled(
        session: Session, clock: FixedClock, staff: User, endpoint: endpoints.WithSecret,
        receiver: Receiver) -> None:
    receiver.default = Answer(503)
    delivery_id = _event(session, clock)
    outcomes = []
    for _ in range(len(delivery.SCHEDULE) + 1):
        outcome, row = _try(session, clock, delivery_id)
        outcomes.append(outcome)
        if row.next_attempt_at is not None:
            clock.set(row.next_attempt_at)
    assert outcomes[:-1] == [D.RETRYING] * len(delivery.SCHEDULE)
    assert outcomes[-1] is D.FAILED and row.status == "failed" and row.attempts == 10
    assert session.get_one(WebhookEndpoint, endpoint.endpoint.id).disabled_at is not None
    assert len(receiver.requests) == 10
