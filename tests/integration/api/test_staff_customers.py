"""Staff find a customer by e-mail, name, 統編 or order number, open their whole history, and
send an invoice e-mail again; customers can do none of it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import AuditLog, EmailDelivery, Invoice, Order
from tests.integration.api.api_helpers import Account, assert_envelope, create_account
from tests.integration.api.test_api_refunds import paid

pytestmark = pytest.mark.integration


def _search(client: FlaskClient, who: Account, q: str) -> Any:
    return client.get("/api/users/", query_string={"q": q}, headers=who.headers)


def _emails(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [u["email"] for u in response.get_json()["results"]]


def test_staff_find_a_customer_by_the_start_of_what_they_have(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    mei = create_account(session, email="mei.lin@example.tw", first_name="美",
                         last_name="林", company_name="林記茶行", tax_id="24549210")
    create_account(session, email="meilin2@example.tw")
    order_id = paid(session, settings, customer, plan)
    number = session.get_one(Order, order_id).order_number

    assert _emails(_search(client, staff, "MEI.L")) == ["mei.lin@example.tw"]
    assert _emails(_search(client, staff, "林記")) == ["mei.lin@example.tw"]
    assert _emails(_search(client, staff, "2454")) == ["mei.lin@example.tw"]
    assert _emails(_search(client, staff, "美 林")) == ["mei.lin@example.tw"]
    assert _emails(_search(client, staff, number[:12])) == [customer.user.email]
    assert _emails(_search(client, staff, str(mei.user.id))) == ["mei.lin@example.tw"]
    # A prefix, not a substring; the user's % is a character, not a wildcard.
    assert _emails(_search(client, staff, "lin@")) == []
    assert _emails(_search(client, staff, "%")) == []
    paged = client.get("/api/users/", query_string={"q": "mei", "page_size": 1},
                       headers=staff.headers).get_json()
    assert (paged["total"], paged["pages"], len(paged["results"])) == (2, 2, 1)
    assert_envelope(_search(client, customer, "mei"), 403)


def test_the_customer_history_holds_every_kind_of_row_and_is_staff_only(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    other_customer: Account, staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan)
    refund = client.post(f"/api/orders/{order_id}/refunds/", json={
        "amount": "300", "reason": "部分退款"}, headers={**staff.headers,
                                                       "Idempotency-Key": "hist-1"})
    assert refund.status_code == 201, refund.get_json()

    response = client.get(f"/api/users/{customer.id}/history/", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["user"]["email"] == customer.user.email
    assert body["credit_balance"] == "0"
    [order] = body["orders"]
    assert order["order"]["id"] == str(order_id) and order["order"]["amount"] == "990"
    assert [a["status"] for a in order["attempts"]] == ["paid"]
    assert [(r["amount"], r["status"]) for r in order["refunds"]] == [("300", "owed")]
    [invoice] = body["invoices"]
    assert invoice["total_amount"] == "990"
    assert [s["plan_id"] for s in body["subscriptions"]] == [str(plan.id)]
    assert [p["name"] for p in body["plans"]] == [plan.name]
    assert [e["template"] for e in body["emails"]] == ["payment_confirmation"]
    assert {"refund.requested", "payment.completed"} <= {a["action"] for a in body["audit"]}
    assert all(isinstance(body[k], list) for k in ("einvoices", "card_agreements",
                                                   "credit_entries", "refunds"))
    # Nobody else's rows leak in, and customers cannot open anyone's history.
    other = client.get(f"/api/users/{other_customer.id}/history/",
                       headers=staff.headers).get_json()
    assert other["orders"] == [] and other["invoices"] == []
    assert_envelope(client.get(f"/api/users/{customer.id}/history/",
                               headers=customer.headers), 403)
    nobody = "00000000-0000-0000-0000-000000000000"
    assert_envelope(client.get(f"/api/users/{nobody}/history/", headers=staff.headers), 404)


def test_staff_resend_an_invoice_once_per_key_and_it_is_audited(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan)
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order_id)).one()
    path = f"/api/invoices/{invoice.id}/resend/"
    headers = {**staff.headers, "Idempotency-Key": "resend-1"}

    first = client.post(path, json={"kind": "invoice"}, headers=headers)
    again = client.post(path, json={"kind": "invoice"}, headers=headers)
    assert first.status_code == 202, first.get_json()
    assert first.get_json()["recipient"] == customer.user.email
    assert again.get_json()["delivery_id"] == first.get_json()["delivery_id"]
    session.expire_all()
    sent = session.scalars(select(EmailDelivery.template).where(
        EmailDelivery.user_id == customer.user.id)).all()
    assert sorted(sent) == ["payment_confirmation", "payment_confirmation"]  # first + resend
    assert session.scalars(select(AuditLog.user_id).where(
        AuditLog.action == "invoice_resend")).all() == [staff.user.id]

    # No e-invoice issued yet (the worker has not run): nothing to send, said plainly.
    assert_envelope(client.post(path, json={"kind": "einvoice"}, headers=staff.headers), 409,
                    "einvoice_not_issued")
    assert_envelope(client.post(path, json={"kind": "pdf"}, headers=staff.headers), 422)
    assert_envelope(client.post(path, json={}, headers=customer.headers), 403)
