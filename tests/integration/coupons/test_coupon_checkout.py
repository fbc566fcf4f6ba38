"""A customer's coupon code at checkout: the order is discounted, the invoice, its PDF and the
e-invoice line show the discounted price (tax from it) and name the coupon; codes that cannot
be redeemed are 422 with the reason as the code; coupons are staff-only to manage."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EInvoice, Invoice, Plan
from services.core.usecases.invoice_pdf import render_invoice_pdf
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in
from tests.integration.coupons.conftest import NOW, create_coupon, order, pay, subscribe
from tests.support.factories import make_plan

pytestmark = pytest.mark.integration


def test_a_code_at_checkout_discounts_the_order_the_invoice_and_the_einvoice_line(
        client: FlaskClient, session: Session, settings: Settings, tmp_path: Path,
        staff: Account, customer: Account, plan: Plan) -> None:
    create_coupon(client, staff, code="spring", kind="percent", percent_off=10,
                  duration="forever")
    answer = subscribe(client, customer, plan, "Spring")  # codes are not case-sensitive
    assert answer.status_code == 201, answer.get_json()
    placed = order(client, customer, answer.get_json()["id"])
    assert (placed["amount"], placed["discount"]) == ("891", "99")

    pay(session, settings, placed["id"], NOW, 891)
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == placed["id"])).one()
    # NT$990 − 10% = 891, tax from the discounted tax-inclusive total: round(891 × 5/105) = 42.
    assert (invoice.total_amount, invoice.tax_amount, invoice.amount) == (891, 42, 849)
    assert invoice.description.endswith("(SPRING −10%)")
    einvoice = session.scalars(select(EInvoice).where(EInvoice.order_id == placed["id"])).one()
    (line,) = einvoice.items["lines"]
    assert (einvoice.sales_amount, einvoice.tax_amount, line["price"], line["amount"]) == (
        891, 42, 891, 891)
    assert "SPRING −10%" in line["name"]
    assert sum(item["amount"] for item in einvoice.items["lines"]) == einvoice.sales_amount

    path = render_invoice_pdf(session, invoice_id=invoice.id, invoice_dir=tmp_path,
                              seller_name="Fluxus", seller_tax_id="12345678", font=None)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)
    assert "List price, tax incl. TWD 990" in text and "Coupon discount TWD 99" in text
    assert "SPRING -10%" in text.replace("−", "-") or "SPRING 10%" in text
    assert "Total TWD 891" in text

    coupon = client.get("/api/coupons/SPRING/", headers=staff.headers).get_json()
    assert coupon["times_redeemed"] == 1


def test_a_code_given_with_the_order_is_redeemed_on_its_subscription(
        client: FlaskClient, staff: Account, customer: Account, plan: Plan) -> None:
    create_coupon(client, staff, code="WELCOME", kind="amount", amount_off=100, duration="once")
    sub = subscribe(client, customer, plan).get_json()
    answer = client.post("/api/orders/", json={"subscription_id": sub["id"],
                                               "payment_method": "atm",
                                               "coupon_code": "WELCOME"},
                         headers=customer.headers)
    assert answer.status_code == 201, answer.get_json()
    assert (answer.get_json()["amount"], answer.get_json()["discount"]) == ("890", "100")


def test_codes_that_cannot_be_redeemed_say_why(
        client: FlaskClient, session: Session, clock: FixedClock, staff: Account,
        customer: Account, plan: Plan) -> None:
    other_plan = make_plan(session, name="Basic", price=Decimal(300))
    session.commit()
    create_coupon(client, staff, code="ONLYBASIC", kind="percent", percent_off=50,
                  duration="once", plan_ids=[str(other_plan.id)])
    create_coupon(client, staff, code="ONE-ONLY", kind="percent", percent_off=50,
                  duration="once", max_redemptions=1)
    create_coupon(client, staff, code="SOON-GONE", kind="percent", percent_off=50,
                  duration="once", redeem_by=(NOW + timedelta(hours=1)).isoformat())
    create_coupon(client, staff, code="RETIRED", kind="percent", percent_off=50,
                  duration="once")
    client.post("/api/coupons/retired/deactivate/", headers=staff.headers)

    first = log_in(client, create_account(session))
    assert subscribe(client, first, plan, "ONE-ONLY").status_code == 201
    clock.advance(timedelta(hours=2))
    for code, reason in [("NOPE", "coupon_unknown"), ("NO\x00PE", "coupon_unknown"),
                         ("ONLYBASIC", "coupon_not_for_plan"),
                         ("ONE-ONLY", "coupon_exhausted"), ("SOON-GONE", "coupon_expired"),
                         ("RETIRED", "coupon_expired")]:
        body = assert_envelope(subscribe(client, customer, plan, code), 422, reason)
        assert "coupon_code" in body["errors"]
    # Nothing was left behind by the refused attempts: subscribing without a code works.
    assert subscribe(client, customer, plan).status_code == 201


def test_coupons_are_managed_by_staff_only(client: FlaskClient, staff: Account,
                                           customer: Account) -> None:
    body = {"code": "STAFFONLY", "kind": "percent", "percent_off": 5, "duration": "forever"}
    assert_envelope(client.post("/api/coupons/", json=body, headers=customer.headers), 403)
    assert_envelope(client.get("/api/coupons/", headers=customer.headers), 403)
    create_coupon(client, staff, **body)
    assert_envelope(client.post("/api/coupons/", json=body, headers=staff.headers), 409,
                    "coupon_code_taken")
    assert_envelope(client.post("/api/coupons/", json={**body, "code": "X2", "percent_off": 0},
                                headers=staff.headers), 422)
    assert_envelope(client.post("/api/coupons/", json={**body, "code": "REP",
                                                       "duration": "repeating"},
                                headers=staff.headers), 422)
    listed = client.get("/api/coupons/?active=true", headers=staff.headers).get_json()
    assert [c["code"] for c in listed["results"]] == ["STAFFONLY"]
    gone = client.post("/api/coupons/STAFFONLY/deactivate/", headers=staff.headers)
    assert gone.status_code == 200 and gone.get_json()["active"] is False
    assert_envelope(client.get("/api/coupons/NOSUCH/", headers=staff.headers), 404,
                    "coupon_unknown")
    assert_envelope(client.get("/api/coupons/NO%00SUCH/", headers=staff.headers), 404,
                    "coupon_unknown")
