"""A delivery is a Standard Webhooks 1.0 message the reference verifier accepts, and a rotated
secret keeps the old one working for 24 hours."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook, WebhookVerificationError

from services.core.clock import FixedClock
from services.core.db.models import User, WebhookDelivery
from services.core.ports import RecordingJobs
from services.core.usecases.audit import Actor
from services.core.usecases.webhooks import delivery, endpoints, events
from tests.integration.webhooks.webhook_receiver import Receiver


def _send_one(session: Session, clock: FixedClock, event_type: str = "order.paid") -> str:
    event = events.record(session, clock.now(), event_type,
                          {"order_id": "5f1c0e4e-1111-4222-8333-944455556666"})
    session.commit()
    delivery_id = session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.event_id == event.id)).one()
    outcome = delivery.deliver(session, clock, RecordingJobs(), delivery_id, allow_private=True)
    session.commit()
    assert outcome is delivery.Outcome.SUCCEEDED
    return event.id


def test_the_reference_verifier_accepts_a_delivery_and_it_names_the_order(
        session: Session, clock: FixedClock, endpoint: endpoints.WithSecret,
        receiver: Receiver) -> None:
    event_id = _send_one(session, clock)
    [got] = receiver.requests
    assert got.path == "/hooks/fluxus"
    assert got.headers["webhook-id"] == event_id and event_id.startswith("evt_")
    assert got.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload["type"] == "order.paid"
    assert payload["data"]["order_id"] == "5f1c0e4e-1111-4222-8333-944455556666"
    assert endpoint.secret.startswith("whsec_")
    tampered = got.body.replace(b"5f1c", b"0000")
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(tampered, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(got.body, got.headers)


def test_after_rotation_both_secrets_verify_for_24_hours_then_only_the_new(
        session: Session, clock: FixedClock, staff: User, endpoint: endpoints.WithSecret,
        receiver: Receiver) -> None:
    old = endpoint.secret
    rotated = endpoints.rotate_secret(session, clock, Actor(user_id=staff.id), staff,
                                      endpoint.endpoint.id)
    session.commit()
    assert rotated.secret != old
    _send_one(session, clock)
    first = receiver.requests[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(first.body, first.headers)
    Webhook(rotated.secret).verify(first.body, first.headers)

    clock.set(clock.now() + timedelta(hours=24, seconds=1))
    _send_one(session, clock)
    later = receiver.requests[-1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    # Verify as the receiver would at that moment (the verifier reads the wall clock).
    ts = int(later.headers["webhook-timestamp"])
    signed = endpoints.signing.headers(later.headers["webhook-id"],
                                       clock.now(), later.body.decode(), [rotated.secret])
    assert later.headers["webhook-signature"] == signed["webhook-signature"]
    assert ts == int(clock.now().timestamp())
    assert Webhook(old).sign(later.headers["webhook-id"], clock.now(), later.body.decode()) \
        not in later.headers["webhook-signature"]
    assert json.loads(later.body)["type"] == "order.paid"
