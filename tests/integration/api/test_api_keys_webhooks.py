"""A key with webhooks:admin manages webhook endpoints, and endpoint signing secrets are
encrypted at rest: sealed when written, plain pre-0007 rows still sign and are sealed on first
use, and `keys rotate` re-encrypts them with the new data key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from services.api.app import create_app
from services.core.clock import SystemClock
from services.core.config import Settings, get_settings
from services.core.crypto import SEALED_TEXT_PREFIX
from services.core.db.models import AuditLog, WebhookDelivery, WebhookEndpoint
from services.core.db.session import dispose_engines
from services.core.ports import RecordingJobs
from services.core.usecases.data_keys import rotate_data_keys
from services.core.usecases.webhooks import delivery, events
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in
from tests.integration.api.keys_support import bearer, make_key
from tests.integration.webhooks.webhook_receiver import Receiver

pytestmark = pytest.mark.integration
PLAIN = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a secret as 0005 stored it


@pytest.fixture
def client(settings: Settings) -> Iterator[FlaskClient]:
    app = create_app(Settings(**{**settings.__dict__, "webhooks_allow_private": True}))
    app.testing = True
    yield app.test_client()
    dispose_engines()


@pytest.fixture
def staff(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session, is_staff=True))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _stored(session: Session) -> tuple[str, str | None]:
    row = session.execute(text("SELECT secret, previous_secret FROM webhook_endpoints")).one()
    return row.secret, row.previous_secret


def _deliver_all(session: Session) -> None:
    for delivery_id in session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.status == "pending")).all():
        delivery.deliver(session, SystemClock(), RecordingJobs(), delivery_id,
                         allow_private=True)
    session.commit()


def test_a_webhooks_admin_key_registers_an_endpoint_whose_secret_is_stored_encrypted(
        client: FlaskClient, staff: Account, session: Session, receiver: Receiver) -> None:
    key = make_key(client, staff, "webhooks:admin")
    made = client.post("/api/webhook-endpoints/", json={
        "url": receiver.url, "event_types": ["order.paid"]}, headers=bearer(key))
    assert made.status_code == 201, made.get_json()
    secret = made.get_json()["secret"]
    assert secret.startswith("whsec_")
    stored, _ = _stored(session)
    assert stored.startswith(SEALED_TEXT_PREFIX) and secret not in stored

    created = session.scalars(select(AuditLog).where(
        AuditLog.action == "webhook_endpoint.created")).one()
    assert created.user_id is None and created.meta["api_key_id"] == key["id"]
    assert session.scalars(select(WebhookEndpoint.created_by)).one() is None

    events.record(session, datetime.now(UTC), "order.paid", {"order_id": "o-1"})
    session.commit()
    _deliver_all(session)
    [got] = receiver.requests
    Webhook(secret).verify(got.body, got.headers)  # signed with the decrypted secret

    # The key reads and removes endpoints; a billing key may not.
    reader = make_key(client, staff, "billing:read", "billing:write")
    assert_envelope(client.get("/api/webhook-endpoints/", headers=bearer(reader)), 403)
    gone = client.delete(f"/api/webhook-endpoints/{made.get_json()['id']}/",
                         headers=bearer(key))
    assert gone.status_code == 204


def test_a_secret_stored_plain_before_0007_still_signs_and_is_sealed_on_first_use(
        client: FlaskClient, staff: Account, session: Session, receiver: Receiver) -> None:
    made = client.post("/api/webhook-endpoints/", json={
        "url": receiver.url, "event_types": ["*"]}, headers=staff.headers).get_json()
    session.execute(text("UPDATE webhook_endpoints SET secret = :plain"), {"plain": PLAIN})
    session.commit()
    assert _stored(session)[0] == PLAIN

    events.record(session, datetime.now(UTC), "order.paid", {"order_id": "o-1"})
    session.commit()
    _deliver_all(session)
    [got] = receiver.requests
    Webhook(PLAIN).verify(got.body, got.headers)
    stored, _ = _stored(session)
    assert stored.startswith(SEALED_TEXT_PREFIX) and PLAIN not in stored
    session.expire_all()
    assert session.get_one(WebhookEndpoint, made["id"]).secret == PLAIN


def test_keys_rotate_seals_plain_secrets_and_re_encrypts_with_the_new_key(
        client: FlaskClient, staff: Account, session: Session, receiver: Receiver,
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    made = client.post("/api/webhook-endpoints/", json={
        "url": receiver.url, "event_types": ["*"]}, headers=staff.headers).get_json()
    rotated = client.post(f"/api/webhook-endpoints/{made['id']}/rotate-secret/",
                          headers=staff.headers).get_json()
    session.execute(text("UPDATE webhook_endpoints SET previous_secret = :plain"),
                    {"plain": PLAIN})
    session.commit()
    old_key = get_settings().fernet_key.decode()
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("FLUXUS_DATA_ENCRYPTION_KEY", f"{new_key},{old_key}")
    get_settings.cache_clear()
    try:
        done = rotate_data_keys(session, get_settings())
        assert done.webhook_endpoints == 1
        secret, previous = _stored(session)
        assert previous is not None and previous.startswith(SEALED_TEXT_PREFIX)
        for sealed, plain in ((secret, rotated["secret"]), (previous, PLAIN)):
            token = sealed.removeprefix(SEALED_TEXT_PREFIX).encode()
            assert Fernet(new_key).decrypt(token).decode() == plain  # the new key alone
    finally:
        get_settings.cache_clear()
