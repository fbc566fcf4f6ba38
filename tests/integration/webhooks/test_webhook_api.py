"""The webhook endpoints API: staff register (secret shown once), read, change, rotate, read
the delivery log, resend and replay; customers get 403 everywhere; refused targets are 422."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from services.api.app import create_app
from services.core.clock import SystemClock
from services.core.config import Settings
from services.core.db.models import WebhookDelivery
from services.core.db.session import dispose_engines
from services.core.ports import RecordingJobs
from services.core.usecases import auth_passwords
from services.core.usecases.webhooks import delivery, events
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in
from tests.integration.webhooks.webhook_receiver import Receiver

BASE = "/api/webhook-endpoints/"


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_passwords, "BCRYPT_ROUNDS", 4)


def _client(settings: Settings) -> Iterator[FlaskClient]:
    app: Flask = create_app(settings)
    app.testing = True
    yield app.test_client()
    dispose_engines()


@pytest.fixture
def client(settings: Settings) -> Iterator[FlaskClient]:
    # The receiver listens on loopback: this deployment allows private targets.
    yield from _client(Settings(**{**settings.__dict__, "webhooks_allow_private": True}))


@pytest.fixture
def strict_client(settings: Settings) -> Iterator[FlaskClient]:
    yield from _client(settings)


@pytest.fixture
def admin(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session, is_staff=True))


@pytest.fixture
def customer(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session))


def _create(client: FlaskClient, admin: Account, url: str, **extra: Any) -> dict[str, Any]:
    response = client.post(BASE, json={"url": url, "event_types": ["order.paid"], **extra},
                           headers=admin.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _deliver_all(session: Session) -> None:
    for delivery_id in session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.status == "pending")).all():
        delivery.deliver(session, SystemClock(), RecordingJobs(), delivery_id,
                         allow_private=True)
    session.commit()


def test_staff_manage_an_endpoint_and_its_secret_is_shown_once(
        client: FlaskClient, admin: Account, receiver: Receiver, session: Session) -> None:
    made = _create(client, admin, receiver.url, description="CRM")
    assert made["secret"].startswith("whsec_") and made["enabled"] is True
    shown = client.get(f"{BASE}{made['id']}/", headers=admin.headers).get_json()
    assert "secret" not in shown and shown["url"] == receiver.url
    listed = client.get(BASE, headers=admin.headers).get_json()["results"]
    assert [e["id"] for e in listed] == [made["id"]]

    events.record(session, datetime.now(UTC), "order.paid", {"order_id": "o-1"})
    events.record(session, datetime.now(UTC), "payment.failed", {"order_id": "o-2"})
    session.commit()
    _deliver_all(session)
    [got] = receiver.requests  # only the subscribed type
    Webhook(made["secret"]).verify(got.body, got.headers)
    log = client.get(f"{BASE}{made['id']}/deliveries/", headers=admin.headers).get_json()
    assert log["total"] == 1
    assert log["results"][0]["event_type"] == "order.paid"
    assert log["results"][0]["status"] == "succeeded"
    assert log["results"][0]["http_status"] == 200

    rotated = client.post(f"{BASE}{made['id']}/rotate-secret/", headers=admin.headers)
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] not in (made["secret"], None)
    assert rotated.get_json()["previous_secret_expires_at"] is not None

    changed = client.patch(f"{BASE}{made['id']}/", json={"event_types": ["*"]},
                           headers=admin.headers)
    assert changed.status_code == 200 and changed.get_json()["event_types"] == ["*"]
    assert client.delete(f"{BASE}{made['id']}/", headers=admin.headers).status_code == 204
    assert client.get(f"{BASE}{made['id']}/", headers=admin.headers).status_code == 404


def test_resend_and_replay_send_the_same_webhook_id_again(
        client: FlaskClient, admin: Account, receiver: Receiver, session: Session) -> None:
    made = _create(client, admin, receiver.url)
    before = datetime.now(UTC) - timedelta(minutes=1)
    first = events.record(session, datetime.now(UTC), "order.paid", {"order_id": "o-1"})
    events.record(session, datetime.now(UTC), "order.paid", {"order_id": "o-2"})
    session.commit()
    _deliver_all(session)
    assert len(receiver.requests) == 2

    resent = client.post(f"{BASE}{made['id']}/resend/", json={"event_id": first.id},
                         headers=admin.headers)
    assert resent.status_code == 202, resent.get_json()
    _deliver_all(session)
    assert receiver.requests[-1].headers["webhook-id"] == first.id

    replay = client.post(f"{BASE}{made['id']}/replay/", headers=admin.headers, json={
        "from": before.isoformat(), "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()})
    assert replay.status_code == 202 and replay.get_json() == {"deliveries": 2}
    _deliver_all(session)
    assert [r.headers["webhook-id"] for r in receiver.requests[-2:]] == \
        [r.headers["webhook-id"] for r in receiver.requests[:2]]
    listed = client.get("/api/webhook-events/?type=order.paid", headers=admin.headers)
    assert listed.get_json()["total"] == 2
    missing = client.post(f"{BASE}{made['id']}/resend/", json={"event_id": "evt_nope"},
                          headers=admin.headers)
    assert_envelope(missing, 404)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest",
    "http://[::1]/hook", "http://localhost/hook",
])
def test_private_targets_are_refused_without_the_setting(
        strict_client: FlaskClient, session: Session, url: str) -> None:
    admin = log_in(strict_client, create_account(session, is_staff=True))
    response = strict_client.post(BASE, json={"url": url, "event_types": ["*"]},
                                  headers=admin.headers)
    assert_envelope(response, 422, "webhook_target_refused")
    assert strict_client.get(BASE, headers=admin.headers).get_json()["results"] == []


def test_customers_get_403_on_every_webhook_and_report_route(
        client: FlaskClient, admin: Account, customer: Account, receiver: Receiver) -> None:
    made = _create(client, admin, receiver.url)
    one = f"{BASE}{made['id']}/"
    calls = [
        ("get", BASE, None), ("post", BASE, {"url": receiver.url, "event_types": ["*"]}),
        ("get", one, None), ("patch", one, {"description": "x"}), ("delete", one, None),
        ("post", f"{one}rotate-secret/", None), ("get", f"{one}deliveries/", None),
        ("post", f"{one}resend/", {"event_id": "evt_x"}),
        ("post", f"{one}replay/", {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}),
        ("get", "/api/webhook-events/", None),
        ("get", "/api/reports/mrr/?from=2026-01-01&to=2026-03-01", None),
        ("get", "/api/reports/mrr/export/?from=2026-01-01&to=2026-03-01", None),
    ]
    for method, path, body in calls:
        response = getattr(client, method)(path, json=body, headers=customer.headers)
        assert_envelope(response, 403)
        assert getattr(client, method)(path, json=body).status_code == 401
    assert client.get(one, headers=admin.headers).status_code == 200  # nothing was changed
