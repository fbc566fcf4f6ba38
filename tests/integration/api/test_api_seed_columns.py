"""The seed's remaining columns over HTTP (issue #19): an order's gateway trade number and the
customer's IP, staff notes on orders and invoices and invoice metadata, a customer's avatar and
when they joined."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.config import Settings
from services.core.db.models import AuditLog, Invoice, Order, Plan
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.api.test_api_refunds import paid
from tests.support.factories import make_order, make_subscription

pytestmark = pytest.mark.integration


def test_a_paid_order_names_its_gateway_trade_and_the_customers_ip(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Plan,
) -> None:
    order_id = paid(session, settings, customer, plan)
    for who in (customer, staff):
        body = client.get(f"/api/orders/{order_id}/", headers=who.headers).get_json()
        assert body["payment_id"] == "2703011000001234"  # ECPay's TradeNo, for refunds
    # An order placed behind the ingress records the customer's address, not the proxy's.
    behind_ingress = create_app(Settings(**{**settings.__dict__, "trusted_proxies": 1}))
    sub = make_subscription(session, customer.user, plan)
    session.commit()
    placed = behind_ingress.test_client().post(
        "/api/orders/", json={"subscription_id": str(sub.id), "payment_method": "atm"},
        headers={**customer.headers, "X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["ip_address"] == "203.0.113.9"
    assert placed.get_json()["payment_id"] is None  # not paid yet


def test_staff_note_an_order_and_the_customer_reads_it(
    client: FlaskClient, session: Session, customer: Account, other_customer: Account,
    staff: Account, plan: Plan,
) -> None:
    order = make_order(session, make_subscription(session, customer.user, plan))
    session.commit()
    url = f"/api/orders/{order.id}/"
    noted = client.patch(url, json={"notes": "  補償三天服務中斷  "}, headers=staff.headers)
    assert noted.status_code == 200, noted.get_json()
    assert noted.get_json()["notes"] == "補償三天服務中斷"
    assert client.get(url, headers=customer.headers).get_json()["notes"] == "補償三天服務中斷"
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "order_annotated")).one()
    assert audit.user_id == staff.user.id and audit.meta["notes"] == "補償三天服務中斷"
    # Customers do not write notes, not even on their own orders; others see nothing.
    assert_envelope(client.patch(url, json={"notes": "x"}, headers=customer.headers), 403)
    assert_envelope(client.get(url, headers=other_customer.headers), 404)
    assert_envelope(client.patch(url, json={"notes": "x" * 1001}, headers=staff.headers), 422)
    cleared = client.patch(url, json={"notes": None}, headers=staff.headers).get_json()
    assert cleared["notes"] is None


def _invoice(session: Session, order: Order) -> Invoice:
    invoice = Invoice(invoice_number="2026-00000042", order_id=order.id, user_id=order.user_id,
                      amount=Decimal(943), tax_amount=Decimal(47), total_amount=Decimal(990),
                      issued_at=datetime.now(UTC), paid_at=datetime.now(UTC))
    session.add(invoice)
    session.commit()
    return invoice


def test_staff_set_an_invoices_notes_and_metadata(
    client: FlaskClient, session: Session, customer: Account, staff: Account, plan: Plan,
) -> None:
    invoice = _invoice(session, make_order(session, make_subscription(session, customer.user,
                                                                        plan)))
    url = f"/api/invoices/{invoice.id}/"
    meta = {"po_number": "PO-2026-118", "cost_center": "研發部"}
    both = client.patch(url, json={"notes": "依採購單開立", "metadata": meta},
                        headers=staff.headers)
    assert both.status_code == 200, both.get_json()
    # A PATCH: metadata alone leaves the note as it was.
    client.patch(url, json={"metadata": {**meta, "ticket": "T-9"}}, headers=staff.headers)
    body = client.get(url, headers=customer.headers).get_json()
    assert body["notes"] == "依採購單開立"
    assert body["metadata"] == {**meta, "ticket": "T-9"}
    assert session.scalars(
        select(AuditLog).where(AuditLog.action == "invoice_annotated")).all()

    assert_envelope(client.patch(url, json={"notes": "x"}, headers=customer.headers), 403)
    for bad in ({"a": {"nested": "no"}}, {f"k{i}": "v" for i in range(21)}, {"k" * 41: "v"}):
        refused = client.patch(url, json={"metadata": bad}, headers=staff.headers)
        assert "metadata" in assert_envelope(refused, 422)["errors"], bad
    assert client.get(url, headers=staff.headers).get_json()["metadata"]["ticket"] == "T-9"


@pytest.mark.parametrize("bad", ["http://cdn.example.com/me.png", "javascript:alert(1)",
                                 "https://localhost/me.png", "https://10.0.0.7/me.png",
                                 "https://u:p@cdn.example.com/x.png",
                                 "https://" + "a" * 500 + ".tw/x"])
def test_an_avatar_is_an_https_url(client: FlaskClient, customer: Account, bad: str) -> None:
    url = f"/api/users/{customer.id}/"
    refused = client.patch(url, json={"avatar": bad}, headers=customer.headers)
    assert "avatar" in assert_envelope(refused, 422)["errors"]


def test_customers_set_their_avatar_and_see_when_they_joined(
    client: FlaskClient, customer: Account, other_customer: Account,
) -> None:
    url = f"/api/users/{customer.id}/"
    picture = "https://cdn.example.com/avatars/ming.png"
    changed = client.patch(url, json={"avatar": picture}, headers=customer.headers)
    assert changed.status_code == 200, changed.get_json()
    me: dict[str, Any] = client.get("/api/users/me/", headers=customer.headers).get_json()
    assert me["avatar"] == picture
    assert me["date_joined"] == me["created_at"]
    # Nobody else changes it.
    other = client.patch(url, json={"avatar": "https://evil.example.com/x.png"},
                         headers=other_customer.headers)
    assert other.status_code in (403, 404)
    assert client.get("/api/users/me/", headers=customer.headers).get_json()["avatar"] == picture
    removed = client.patch(url, json={"avatar": None}, headers=customer.headers).get_json()
    assert removed["avatar"] is None
