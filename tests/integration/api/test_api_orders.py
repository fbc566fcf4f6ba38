"""Orders, invoices and the audit log over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from services.api.app import create_app
from services.core.config import Settings
from services.core.db.models import AuditLog, Invoice, Order, Plan, Subscription
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.support.factories import make_order, make_plan, make_subscription

pytestmark = pytest.mark.integration


@pytest.fixture
def subscription(session: Session, customer: Account, plan: Plan) -> Subscription:
    sub = make_subscription(session, customer.user, plan)
    session.commit()
    return sub


def _order(client: FlaskClient, account: Account, sub: Subscription, method: str = "atm",
           key: str | None = None) -> TestResponse:
    headers = dict(account.headers)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/orders/", headers=headers,
                       json={"subscription_id": str(sub.id), "payment_method": method})


def test_an_order_is_priced_from_the_plan_and_records_the_client(
    client: FlaskClient, session: Session, customer: Account, subscription: Subscription
) -> None:
    response = _order(client, customer, subscription, "credit_card")
    assert response.status_code == 201
    body = response.get_json()
    assert body["amount"] == "990" and body["currency"] == "TWD"
    assert body["status"] == "pending" and body["payment_method"] == "credit_card"
    assert body["order_number"].startswith("FX") and len(body["order_number"]) <= 20
    order = session.get(Order, body["id"])
    assert order is not None and order.client_ip == "127.0.0.1"
    assert order.plan_id == subscription.plan_id
    assert session.scalars(select(AuditLog).where(AuditLog.action == "order_create")).one()


def test_the_client_cannot_set_the_amount(client: FlaskClient, customer: Account,
                                          subscription: Subscription) -> None:
    response = client.post("/api/orders/", headers=customer.headers, json={
        "subscription_id": str(subscription.id), "payment_method": "atm", "amount": "1"})
    assert "amount" in assert_envelope(response, 422)["errors"]


def test_an_idempotency_key_returns_the_first_order(
    client: FlaskClient, session: Session, customer: Account, subscription: Subscription
) -> None:
    first = _order(client, customer, subscription, key="retry-42")
    again = _order(client, customer, subscription, key="retry-42")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert session.scalar(select(func.count()).select_from(Order)) == 1
    changed = _order(client, customer, subscription, method="cvs", key="retry-42")
    assert_envelope(changed, 409, "idempotency_key_reused")
    assert_envelope(_order(client, customer, subscription, key="has space"), 422)


def test_orders_only_for_own_unpaid_subscriptions(
    client: FlaskClient, session: Session, customer: Account, other_customer: Account,
    subscription: Subscription, plan: Plan
) -> None:
    assert_envelope(_order(client, other_customer, subscription), 404)
    assert_envelope(client.post("/api/orders/", headers=customer.headers, json={
        "subscription_id": str(subscription.id), "payment_method": "bitcoin"}), 422)
    make_order(session, subscription, status="completed")
    session.commit()
    assert_envelope(_order(client, customer, subscription), 409,
                    "already_paid")
    active = make_subscription(session, customer.user, make_plan(session), status="active")
    session.commit()
    assert_envelope(_order(client, customer, active), 409, "not_orderable")


def test_a_past_due_order_pays_the_overdue_period(
    client: FlaskClient, session: Session, customer: Account, plan: Plan
) -> None:
    anchor = datetime(2026, 1, 31, 4, tzinfo=UTC)
    sub = make_subscription(session, customer.user, plan, status="past_due", anchor_date=anchor,
                            start_date=anchor, end_date=datetime(2026, 2, 28, 4, tzinfo=UTC))
    session.commit()
    body = _order(client, customer, sub).get_json()
    assert body["is_renewal"] is True
    assert datetime.fromisoformat(body["period_start"]) == datetime(2026, 2, 28, 4, tzinfo=UTC)
    assert datetime.fromisoformat(body["period_end"]) == datetime(2026, 3, 31, 4, tzinfo=UTC)
    # One order per period: a second attempt for the same period is refused.
    assert_envelope(_order(client, customer, sub), 409, "order_exists")


def test_order_lists_and_reads_are_per_customer(
    client: FlaskClient, session: Session, customer: Account, other_customer: Account,
    staff: Account, subscription: Subscription, plan: Plan
) -> None:
    mine = _order(client, customer, subscription).get_json()
    theirs_sub = make_subscription(session, other_customer.user, plan)
    session.commit()
    theirs = _order(client, other_customer, theirs_sub).get_json()

    listed = client.get("/api/orders/", headers=customer.headers).get_json()
    assert [o["id"] for o in listed["results"]] == [mine["id"]]
    assert client.get(f"/api/orders/{mine['id']}/", headers=customer.headers).status_code == 200
    assert_envelope(client.get(f"/api/orders/{theirs['id']}/", headers=customer.headers), 404)
    assert client.get("/api/orders/", headers=staff.headers).get_json()["total"] == 2
    by_status = client.get("/api/orders/?status=completed", headers=staff.headers).get_json()
    assert by_status["total"] == 0


def test_client_ip_honours_the_trusted_proxy_hops(
    settings: Settings, session: Session, customer: Account, subscription: Subscription
) -> None:
    behind_ingress = create_app(Settings(**{**settings.__dict__, "trusted_proxies": 1}))
    client = behind_ingress.test_client()
    response = client.post(
        "/api/orders/", headers={**customer.headers,
                                 "X-Forwarded-For": "198.51.100.7, 203.0.113.9"},
        json={"subscription_id": str(subscription.id), "payment_method": "atm"})
    assert response.status_code == 201
    order = session.get(Order, response.get_json()["id"])
    assert order is not None and order.client_ip == "203.0.113.9"


def _invoice(session: Session, order: Order, number: str) -> Invoice:
    invoice = Invoice(invoice_number=number, order_id=order.id, user_id=order.user_id,
                      amount=Decimal(943), tax_amount=Decimal(47), total_amount=Decimal(990),
                      issued_at=datetime.now(UTC), paid_at=datetime.now(UTC))
    session.add(invoice)
    session.commit()
    return invoice


def test_invoices_are_per_customer(client: FlaskClient, session: Session, customer: Account,
                                   other_customer: Account, staff: Account, plan: Plan) -> None:
    mine = _invoice(session, make_order(session, make_subscription(
        session, customer.user, plan), status="completed"), "2026-00000001")
    theirs = _invoice(session, make_order(session, make_subscription(
        session, other_customer.user, plan), status="completed"), "2026-00000002")

    listed = client.get("/api/invoices/", headers=customer.headers).get_json()
    assert [i["invoice_number"] for i in listed["results"]] == ["2026-00000001"]
    body = client.get(f"/api/invoices/{mine.id}/", headers=customer.headers).get_json()
    assert (body["amount"], body["tax_amount"], body["total_amount"]) == ("943", "47", "990")
    assert_envelope(client.get(f"/api/invoices/{theirs.id}/", headers=customer.headers), 404)
    assert client.get("/api/invoices/", headers=staff.headers).get_json()["total"] == 2
    only = client.get(f"/api/invoices/?user_id={other_customer.id}",
                      headers=staff.headers).get_json()
    assert [i["id"] for i in only["results"]] == [str(theirs.id)]
    assert_envelope(client.get("/api/invoices/"), 401)


def test_audit_log_is_staff_only_and_filters(client: FlaskClient, session: Session,
                                             customer: Account, staff: Account,
                                             subscription: Subscription) -> None:
    _order(client, customer, subscription)
    assert_envelope(client.get("/api/audit-logs/", headers=customer.headers), 403)

    logins = client.get("/api/audit-logs/?action=login", headers=staff.headers).get_json()
    assert logins["total"] == 2 and {r["action"] for r in logins["results"]} == {"login"}
    mine = client.get(f"/api/audit-logs/?user_id={customer.id}&resource_type=order",
                      headers=staff.headers).get_json()
    assert [r["action"] for r in mine["results"]] == ["order_create"]
    row = mine["results"][0]
    assert row["ip_address"] == "127.0.0.1" and row["metadata"]["amount"] == "990"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get(f"/api/audit-logs/?since={future.replace('+', '%2B')}",
                      headers=staff.headers).get_json()["total"] == 0
    assert client.get(f"/api/audit-logs/?until={future.replace('+', '%2B')}",
                      headers=staff.headers).get_json()["total"] == 3
    assert_envelope(client.get("/api/audit-logs/?since=yesterday", headers=staff.headers), 422)
