"""GET /api/customers/{id}/entitlements/: what a customer may use right now, for an API key
with billing:read, staff or the customer themself, in every subscription state; and the
customer's external id (set with billing:write, unique) to find them by."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Plan, User
from services.core.db.session import dispose_engines, get_engine
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in
from tests.integration.api.keys_support import bearer, make_key
from tests.support.factories import NOW, make_plan, make_subscription

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


@pytest.fixture
def client(settings: Settings) -> Iterator[FlaskClient]:
    app = create_app(settings, clock=FixedClock(NOW))
    app.testing = True
    yield app.test_client()
    dispose_engines()


@pytest.fixture
def staff(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session, is_staff=True))


@pytest.fixture
def customer(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session))


@pytest.fixture
def reader(client: FlaskClient, staff: Account) -> dict[str, str]:
    return bearer(make_key(client, staff, "billing:read"))


@pytest.fixture
def pro(session: Session) -> Plan:
    plan = make_plan(session, slug="pro", name="Pro", features=["api", "reports"],
                     max_users=10, max_storage_gb=100, grace_days=7)
    session.commit()
    return plan


def _get(client: FlaskClient, user: User, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/api/customers/{user.id}/entitlements/", headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _at(when: Any) -> str | None:
    return None if when is None else when.isoformat()


STATES: list[tuple[str, dict[str, Any], str | None, Any]] = [
    ("pending", {"status": "pending"}, None, None),
    ("trial", {"status": "trial", "trial_end_date": NOW + 5 * DAY}, "trial", NOW + 5 * DAY),
    ("active", {"status": "active", "start_date": NOW - 5 * DAY, "end_date": NOW + 25 * DAY},
     "paid", NOW + 25 * DAY),
    ("past_due in grace", {"status": "past_due", "end_date": NOW - 3 * DAY}, "grace",
     NOW + 4 * DAY),
    ("past_due after grace", {"status": "past_due", "end_date": NOW - 8 * DAY}, None, None),
    ("cancelled now", {"status": "cancelled", "end_date": NOW + 25 * DAY,
                       "cancelled_at": NOW - DAY, "auto_renew": False}, None, None),
    ("cancel at period end", {"status": "active", "end_date": NOW + 25 * DAY,
                              "cancel_at_period_end": True, "auto_renew": False},
     "cancelling", NOW + 25 * DAY),
    ("expired", {"status": "expired", "end_date": NOW - 40 * DAY}, None, None),
]


@pytest.mark.parametrize(("fields", "reason", "until"), [s[1:] for s in STATES],
                         ids=[s[0] for s in STATES])
def test_every_subscription_state(client: FlaskClient, session: Session, customer: Account,
                                  reader: dict[str, str], pro: Plan, fields: dict[str, Any],
                                  reason: str | None, until: Any) -> None:
    make_subscription(session, customer.user, pro, **fields)
    session.commit()
    body = _get(client, customer.user, reader)
    assert body["customer_id"] == customer.id and body["as_of"] == NOW.isoformat()
    if reason is None:
        assert body["active"] is False and body["plans"] == [] and body["features"] == []
        assert (body["max_users"], body["max_storage_gb"], body["until"]) == (0, 0, None)
        return
    [plan] = body["plans"]
    assert (plan["slug"], plan["name"], plan["reason"]) == ("pro", "Pro", reason)
    assert plan["until"] == body["until"] == _at(until)
    assert body["active"] is True and body["features"] == ["api", "reports"]
    assert (body["max_users"], body["max_storage_gb"]) == (10, 100)


def test_several_subscriptions_combine(client: FlaskClient, session: Session,
                                       customer: Account, reader: dict[str, str],
                                       pro: Plan) -> None:
    storage = make_plan(session, slug="storage", name="Storage", features=["archive", "api"],
                        max_users=2, max_storage_gb=1000, grace_days=7)
    team = make_plan(session, slug="team", name="Team", features=["sso"], max_users=None)
    make_subscription(session, customer.user, pro, status="active", end_date=NOW + 25 * DAY)
    make_subscription(session, customer.user, storage, status="past_due",
                      end_date=NOW - DAY)
    make_subscription(session, customer.user, team, status="expired", end_date=NOW - 9 * DAY)
    session.commit()
    body = _get(client, customer.user, reader)
    assert [(p["slug"], p["reason"]) for p in body["plans"]] == [
        ("pro", "paid"), ("storage", "grace")]
    assert [p["features"] for p in body["plans"]] == [["api", "reports"], ["archive", "api"]]
    assert body["features"] == ["api", "archive", "reports"]
    assert (body["max_users"], body["max_storage_gb"]) == (10, 1000)
    assert body["until"] == _at(NOW + 25 * DAY)


def test_the_customer_sees_their_own_and_another_customer_gets_404(
        client: FlaskClient, session: Session, customer: Account, staff: Account,
        pro: Plan) -> None:
    other = log_in(client, create_account(session))
    make_subscription(session, customer.user, pro, status="active", end_date=NOW + DAY)
    session.commit()
    assert _get(client, customer.user, customer.headers)["active"] is True
    assert _get(client, customer.user, staff.headers)["active"] is True
    hidden = client.get(f"/api/customers/{customer.id}/entitlements/", headers=other.headers)
    missing = client.get(f"/api/customers/{pro.id}/entitlements/", headers=other.headers)
    assert assert_envelope(hidden, 404) == assert_envelope(missing, 404)
    assert_envelope(client.get(f"/api/customers/{customer.id}/entitlements/"), 401)
    webhooks_key = make_key(client, staff, "webhooks:admin")
    assert_envelope(client.get(f"/api/customers/{customer.id}/entitlements/",
                               headers=bearer(webhooks_key)), 403, "insufficient_scope")


def test_a_backend_links_its_id_then_looks_the_customer_up_by_it(
        client: FlaskClient, session: Session, customer: Account, staff: Account,
        reader: dict[str, str], pro: Plan) -> None:
    other = create_account(session)
    writer = bearer(make_key(client, staff, "billing:write"))
    make_subscription(session, customer.user, pro, status="trial",
                      trial_end_date=NOW + 3 * DAY)
    session.commit()

    linked = client.patch(f"/api/users/{customer.id}/", json={"external_id": "ws_42"},
                          headers=writer)
    assert linked.status_code == 200 and linked.get_json()["external_id"] == "ws_42"
    clash = client.patch(f"/api/users/{other.id}/", json={"external_id": "ws_42"},
                         headers=writer)
    assert_envelope(clash, 409, "external_id_taken")
    assert_envelope(client.patch(f"/api/users/{customer.id}/", json={
        "external_id": "ws_43", "is_staff": True}, headers=writer), 403)
    assert_envelope(client.patch(f"/api/users/{customer.id}/", json={"external_id": "mine"},
                                 headers=customer.headers), 403)
    # Staff may link too, beside other profile fields.
    by_staff = client.patch(f"/api/users/{other.id}/", json={
        "external_id": "ws_7", "first_name": "Mei"}, headers=staff.headers)
    assert by_staff.status_code == 200
    assert (by_staff.get_json()["external_id"], by_staff.get_json()["first_name"]) == (
        "ws_7", "Mei")

    found = client.get("/api/customers/by-external-id/ws_42/", headers=reader)
    assert found.status_code == 200 and found.get_json()["id"] == customer.id
    listed = client.get("/api/customers/?external_id=ws_42", headers=reader).get_json()
    assert [c["id"] for c in listed["results"]] == [customer.id]
    assert_envelope(client.get("/api/customers/by-external-id/nobody/", headers=reader), 404)
    ext = client.get("/api/customers/by-external-id/ws_42/entitlements/", headers=reader)
    assert ext.status_code == 200 and ext.get_json()["plans"][0]["reason"] == "trial"
    assert ext.get_json()["external_id"] == "ws_42"


def test_the_lookup_is_one_indexed_query(client: FlaskClient, session: Session,
                                         customer: Account, reader: dict[str, str],
                                         pro: Plan, settings: Settings) -> None:
    customer.user.external_id = "ws_1"
    make_subscription(session, customer.user, pro, status="active", end_date=NOW + DAY)
    session.commit()
    client.get("/api/customers/by-external-id/ws_1/entitlements/", headers=reader)  # warm up
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine: Engine = get_engine(settings)
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get("/api/customers/by-external-id/ws_1/entitlements/",
                              headers=reader)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    lookups = [s for s in seen if "FROM users" in s and "subscriptions" in s]
    assert len(lookups) == 1
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(
            "EXPLAIN " + lookups[0].replace("%(external_id_1)s", "'ws_1'")
            .replace("%(status_1_1)s", "'trial'").replace("%(status_1_2)s", "'active'")
            .replace("%(status_1_3)s", "'past_due'")))
    assert "uq_users_external_id" in plan and "ix_subscriptions_user_status" in plan, plan
