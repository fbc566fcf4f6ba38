"""The e-invoice details over the API: preferences on the account with per-field errors, a
choice at checkout, the uniform invoice on each invoice, and the staff queue with retry."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.config import Settings
from services.core.db.models import EInvoice, Invoice, Order, Plan
from services.core.db.session import dispose_engines
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in
from tests.integration.ecpay_sim.einvoice_support import simulator_process
from tests.support.factories import make_order, make_subscription

pytestmark = pytest.mark.integration


def _patch(client: FlaskClient, account: Account, **fields: object):  # type: ignore[no-untyped-def]
    return client.patch(f"/api/users/{account.id}/", headers=account.headers, json=fields)


def test_a_customer_keeps_a_mobile_barcode_normalized(client: FlaskClient,
                                                      customer: Account) -> None:
    response = _patch(client, customer, invoice_kind="mobile_barcode",
                      invoice_carrier_num=" /abc+123 ")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["invoice_kind"], body["invoice_carrier_num"]) == ("mobile_barcode", "/ABC+123")


@pytest.mark.parametrize(("fields", "bad_field"), [
    ({"invoice_kind": "mobile_barcode", "invoice_carrier_num": "ABC1234"},
     "invoice_carrier_num"),
    ({"invoice_kind": "donation", "invoice_love_code": "12"}, "invoice_love_code"),
    ({"invoice_kind": "certificate", "invoice_carrier_num": "AB123"}, "invoice_carrier_num"),
    ({"invoice_kind": "company", "tax_id": "22099132", "company_name": "台積電"}, "tax_id"),
    ({"invoice_kind": "company", "tax_id": "22099131"}, "company_name"),
    ({"invoice_kind": "company", "tax_id": "22099131", "company_name": "台積電",
      "invoice_print": True}, "invoice_address"),
    ({"invoice_kind": "paper"}, "invoice_kind"),
])
def test_each_bad_detail_is_named(client: FlaskClient, customer: Account,
                                  fields: dict[str, object], bad_field: str) -> None:
    body = assert_envelope(_patch(client, customer, **fields), 422)
    assert bad_field in body["errors"] or bad_field in body["errors"].get("json", {}), body


def test_a_company_invoice_needs_a_valid_tax_id_and_keeps_it(client: FlaskClient,
                                                             customer: Account) -> None:
    response = _patch(client, customer, invoice_kind="company", tax_id="22099131",
                      company_name="台灣積體電路製造股份有限公司")
    assert response.status_code == 200, response.get_json()
    # Another invoice type later leaves the company details on the profile.
    back = _patch(client, customer, invoice_kind="cloud")
    assert back.status_code == 200
    assert (back.get_json()["tax_id"], back.get_json()["invoice_kind"]) == ("22099131", "cloud")


def test_checkout_can_choose_a_donation_for_one_order(
    client: FlaskClient, session: Session, customer: Account, plan: Plan
) -> None:
    sub = make_subscription(session, customer.user, plan)
    session.commit()
    bad = client.post("/api/orders/", headers=customer.headers, json={
        "subscription_id": str(sub.id), "payment_method": "credit_card",
        "invoice": {"kind": "donation", "love_code": "1x"}})
    errors = assert_envelope(bad, 422)["errors"]
    assert "invoice.love_code" in errors, errors
    good = client.post("/api/orders/", headers=customer.headers, json={
        "subscription_id": str(sub.id), "payment_method": "credit_card",
        "invoice": {"kind": "donation", "love_code": "919"}})
    assert good.status_code == 201, good.get_json()
    assert good.get_json()["invoice_preference"]["love_code"] == "919"
    order = session.get_one(Order, good.get_json()["id"])
    assert order.invoice_preference and order.invoice_preference["kind"] == "donation"


def _sale(session: Session, account: Account, plan: Plan, status: str) -> EInvoice:
    order = make_order(session, make_subscription(session, account.user, plan),
                       status="completed")
    now = datetime.now(UTC)
    invoice = Invoice(invoice_number=f"2027-{order.order_number[-8:]}", order_id=order.id,
                      user_id=order.user_id, amount=Decimal(943), tax_amount=Decimal(47),
                      total_amount=Decimal(990), issued_at=now, paid_at=now)
    session.add(invoice)
    session.flush()
    row = EInvoice(order_id=order.id, invoice_id=invoice.id, user_id=order.user_id,
                   relate_number=order.order_number, status=status,
                   buyer={"kind": "mobile_barcode", "carrier_type": "3",
                          "carrier_num": "/ABC1234", "customer_email": "a@example.tw"},
                   items={"lines": []}, sales_amount=990, tax_amount=47,
                   last_error="1600001 CarrierNum is wrong" if status == "failed" else "")
    if status == "issued":
        row.invoice_no, row.invoice_date, row.random_number = "AB12345678", now, "4821"
    session.add(row)
    session.commit()
    return row


def test_the_invoice_shows_its_uniform_invoice(client: FlaskClient, session: Session,
                                               customer: Account, plan: Plan) -> None:
    row = _sale(session, customer, plan, "issued")
    page = client.get("/api/invoices/", headers=customer.headers).get_json()
    [invoice] = page["results"]
    einvoice = invoice["einvoice"]
    assert (einvoice["number"], einvoice["random_number"], einvoice["status"]) == (
        "AB-12345678", "4821", "issued")
    assert (einvoice["kind"], einvoice["carrier_num"]) == ("mobile_barcode", "/ABC1234")
    assert einvoice["id"] == str(row.id)


def test_staff_list_failed_einvoices_and_retry_them(
    client: FlaskClient, session: Session, customer: Account, staff: Account, plan: Plan
) -> None:
    failed = _sale(session, customer, plan, "failed")
    issued = _sale(session, customer, plan, "issued")
    assert_envelope(client.get("/api/einvoices/", headers=customer.headers), 403)
    page = client.get("/api/einvoices/?status=failed", headers=staff.headers).get_json()
    assert [row["id"] for row in page["results"]] == [str(failed.id)]
    assert page["results"][0]["last_error"] == "1600001 CarrierNum is wrong"
    assert_envelope(client.post(f"/api/einvoices/{issued.id}/retry/", headers=staff.headers),
                    409, "einvoice_not_failed")
    retried = client.post(f"/api/einvoices/{failed.id}/retry/", headers=staff.headers)
    assert retried.status_code == 202, retried.get_json()
    assert retried.get_json()["status"] == "pending"
    assert_envelope(client.post(f"/api/einvoices/{failed.id}/retry/",
                                headers=customer.headers), 403)


def test_an_idempotency_key_reused_with_another_invoice_choice_is_refused(
    client: FlaskClient, session: Session, customer: Account, plan: Plan
) -> None:
    sub = make_subscription(session, customer.user, plan)
    session.commit()
    headers = {**customer.headers, "Idempotency-Key": "checkout-1"}
    body = {"subscription_id": str(sub.id), "payment_method": "credit_card",
            "invoice": {"kind": "donation", "love_code": "919"}}
    first = client.post("/api/orders/", headers=headers, json=body)
    assert first.status_code == 201
    again = client.post("/api/orders/", headers=headers, json=body)
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post("/api/orders/", headers=headers, json={**body, "invoice": {
        "kind": "donation", "love_code": "168"}})
    assert_envelope(other, 409, "idempotency_key_reused")


@pytest.fixture(scope="module")
def einvoice_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("einvoice-check")) as url:
        yield url


def test_a_code_is_checked_with_ecpay_but_only_advises(
    settings: Settings, session: Session, einvoice_sim: str
) -> None:
    app = create_app(dataclasses.replace(settings, einvoice_url=einvoice_sim))
    client = app.test_client()
    customer = log_in(client, create_account(session))

    def check(**body: str) -> dict[str, str]:
        response = client.post("/api/einvoices/check/", headers=customer.headers, json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    assert check(kind="mobile_barcode", carrier_num="/abc1234")["registration"] == "registered"
    assert check(kind="mobile_barcode", carrier_num="/ZZZ9999")["registration"] == (
        "not_registered")
    assert check(kind="donation", love_code="919")["registration"] == "registered"
    bad = client.post("/api/einvoices/check/", headers=customer.headers,
                      json={"kind": "donation", "love_code": "9x"})
    assert "love_code" in assert_envelope(bad, 422)["errors"]
    # Not registered is advice: the account still keeps the code.
    saved = client.patch(f"/api/users/{customer.id}/", headers=customer.headers,
                         json={"invoice_kind": "mobile_barcode",
                               "invoice_carrier_num": "/ZZZ9999"})
    assert saved.status_code == 200
    dispose_engines()


def test_an_unreachable_ministry_is_unknown_not_an_error(client: FlaskClient,
                                                         customer: Account) -> None:
    response = client.post("/api/einvoices/check/", headers=customer.headers,
                           json={"kind": "donation", "love_code": "919"})
    assert response.status_code == 200
    assert response.get_json()["registration"] == "unknown"
