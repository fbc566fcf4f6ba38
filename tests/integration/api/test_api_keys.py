"""API keys for servers: created by staff and shown once, stored hashed, accepted beside JWTs
only where their scope allows, revoked for good, audited on every use."""

from __future__ import annotations

import hashlib

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.core.db.models import ApiKey, AuditLog
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.api.keys_support import bearer, make_key
from tests.support.factories import make_subscription

pytestmark = pytest.mark.integration


def test_staff_create_a_key_shown_once_and_stored_only_as_a_hash(
        client: FlaskClient, staff: Account, session: Session) -> None:
    made = make_key(client, staff, "billing:read", "billing:read", name="CRM sync")
    assert made["key"].startswith("fx_test_")  # FLUXUS_ENV is development in the tests
    assert len(made["key"]) > 40 and made["key"].startswith(made["prefix"])
    assert made["scopes"] == ["billing:read"] and made["last_used_at"] is None

    stored = session.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert made["key"] not in str(dict(stored))
    assert stored["key_hash"] == hashlib.sha256(made["key"].encode()).hexdigest()

    listed = client.get("/api/api-keys/", headers=staff.headers).get_json()
    assert listed["total"] == 1
    [row] = listed["results"]
    assert "key" not in row and row["prefix"] == made["prefix"] and row["name"] == "CRM sync"


def test_only_staff_manage_keys_and_unknown_scopes_are_refused(
        client: FlaskClient, staff: Account, customer: Account) -> None:
    assert_envelope(client.post("/api/api-keys/", json={"name": "x", "scopes": ["billing:read"]},
                                headers=customer.headers), 403)
    assert_envelope(client.get("/api/api-keys/", headers=customer.headers), 403)
    refused = assert_envelope(client.post("/api/api-keys/", json={
        "name": "x", "scopes": ["billing:read", "admin:everything"]}, headers=staff.headers),
        422)
    assert "scopes" in refused["errors"]
    # A key cannot mint keys either, whatever it holds.
    key = make_key(client, staff, "billing:read", "billing:write", "webhooks:admin")
    assert_envelope(client.post("/api/api-keys/", json={"name": "x", "scopes": [
        "billing:read"]}, headers=bearer(key)), 403, "insufficient_scope")


def test_a_read_key_sees_every_customer_and_records_each_use(
        client: FlaskClient, staff: Account, customer: Account, other_customer: Account,
        session: Session, plan: object) -> None:
    make_subscription(session, customer.user, plan)
    make_subscription(session, other_customer.user, plan)
    session.commit()
    key = make_key(client, staff, "billing:read")

    subs = client.get("/api/subscriptions/", headers=bearer(key))
    assert subs.status_code == 200 and subs.get_json()["total"] == 2
    user = client.get(f"/api/users/{customer.id}/", headers=bearer(key))
    assert user.status_code == 200 and user.get_json()["email"] == customer.user.email
    assert client.get("/api/orders/", headers=bearer(key)).status_code == 200
    assert client.get("/api/invoices/", headers=bearer(key)).status_code == 200
    mrr = client.get("/api/reports/mrr/?from=2026-01-01&to=2026-02-01", headers=bearer(key))
    assert mrr.status_code == 200 and len(mrr.get_json()["months"]) == 2

    uses = session.scalars(select(AuditLog).where(AuditLog.action == "api_key.used")
                           .order_by(AuditLog.created_at)).all()
    assert len(uses) == 5
    assert {u.resource_id for u in uses} == {key["id"]} and all(u.user_id is None for u in uses)
    assert uses[0].meta["endpoint"] == "subscriptions.Subscriptions"
    listed = client.get("/api/api-keys/", headers=staff.headers).get_json()["results"][0]
    assert listed["last_used_at"] is not None


@pytest.mark.parametrize(("scopes", "method", "path"), [
    (["billing:read"], "get", "/api/webhook-endpoints/"),
    (["webhooks:admin"], "get", "/api/subscriptions/"),
    (["webhooks:admin"], "get", "/api/customers/"),
    (["billing:read"], "patch", "/api/users/{customer}/"),
    (["billing:read", "billing:write", "webhooks:admin"], "get", "/api/users/me/"),
    (["billing:read", "billing:write", "webhooks:admin"], "get", "/api/users/"),
    (["billing:read", "billing:write", "webhooks:admin"], "post", "/api/subscriptions/"),
    (["billing:read", "billing:write", "webhooks:admin"], "get", "/api/audit-logs/"),
], ids=["read-on-webhooks", "webhooks-on-billing", "webhooks-on-customers",
        "read-on-write", "me", "user-admin-list", "subscribe", "audit-log"])
def test_a_key_without_the_routes_scope_is_403_and_that_is_audited(
        client: FlaskClient, staff: Account, customer: Account, session: Session,
        scopes: list[str], method: str, path: str) -> None:
    key = make_key(client, staff, *scopes)
    response = getattr(client, method)(path.format(customer=customer.id),
                                       json={"external_id": "x"} if method != "get" else None,
                                       headers=bearer(key))
    assert_envelope(response, 403, "insufficient_scope")
    refused = session.scalars(select(AuditLog).where(AuditLog.action == "api_key.refused")).all()
    assert [r.resource_id for r in refused] == [key["id"]]


def test_revoked_and_unknown_keys_get_the_same_401_as_a_bad_token(
        client: FlaskClient, staff: Account, session: Session) -> None:
    key = make_key(client, staff, "billing:read")
    assert client.get("/api/subscriptions/", headers=bearer(key)).status_code == 200
    revoked = client.delete(f"/api/api-keys/{key['id']}/", headers=staff.headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"] is not None
    assert client.delete(f"/api/api-keys/{key['id']}/", headers=staff.headers).status_code == 200

    bad_jwt = client.get("/api/subscriptions/", headers=bearer("eyJ.not.a-token"))
    with_revoked = client.get("/api/subscriptions/", headers=bearer(key))
    unknown = client.get("/api/subscriptions/", headers=bearer("fx_live_" + "A" * 43))
    expected = assert_envelope(bad_jwt, 401, "invalid_token")
    for response in (with_revoked, unknown):
        assert assert_envelope(response, 401) == expected
        assert response.headers["WWW-Authenticate"] == bad_jwt.headers["WWW-Authenticate"]
    assert session.scalars(select(AuditLog.action).where(
        AuditLog.resource_id == key["id"])).all().count("api_key.refused") == 1


def test_last_used_at_moves_at_most_once_a_minute_while_every_use_is_audited(
        client: FlaskClient, staff: Account, session: Session) -> None:
    key = make_key(client, staff, "billing:read")
    for _ in range(3):
        assert client.get("/api/subscriptions/", headers=bearer(key)).status_code == 200
    first = session.scalars(select(ApiKey.last_used_at)).one()
    session.execute(text("UPDATE api_keys SET last_used_at = last_used_at - interval '2 minutes'"))
    session.commit()
    assert client.get("/api/subscriptions/", headers=bearer(key)).status_code == 200
    session.expire_all()
    assert session.scalars(select(ApiKey.last_used_at)).one() > first
    assert len(session.scalars(select(AuditLog).where(
        AuditLog.action == "api_key.used")).all()) == 4


def test_keys_are_rate_limited_in_their_own_bucket(
        client: FlaskClient, staff: Account, customer: Account) -> None:
    key = make_key(client, staff, "billing:read")
    for n in range(60):
        assert client.get("/api/subscriptions/", headers=bearer(key)).status_code == 200, n
    assert_envelope(client.get("/api/subscriptions/", headers=bearer(key)), 429, "rate_limited")
    # The customer and the staff member (same address) keep their own budgets.
    assert client.get("/api/subscriptions/", headers=customer.headers).status_code == 200
    assert client.get("/api/api-keys/", headers=staff.headers).status_code == 200
    # A second key is a second bucket.
    other = make_key(client, staff, "billing:read")
    assert client.get("/api/subscriptions/", headers=bearer(other)).status_code == 200
