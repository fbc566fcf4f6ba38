"""An order a coupon takes to zero is paid at once through the credit path (no ECPay, no
e-invoice, a record of why), a renewal it takes to zero needs no payment link, and a coupon
and credit together leave exactly list − discount − credit to pay; the books stay clean."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.crypto import decrypt_json
from services.core.db.models import AuditLog, EInvoice, Invoice, Order, PaymentAttempt, Plan
from services.core.usecases import credits
from services.core.usecases.books import audit_books
from tests.integration.api.api_helpers import Account
from tests.integration.coupons.conftest import NOW, create_coupon, order, pay, renew, subscribe

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("coupon", [
    {"kind": "percent", "percent_off": 100},
    {"kind": "amount", "amount_off": 1000},  # more than the NT$990 plan: free, not negative
])
def test_a_free_order_is_paid_at_once_with_no_einvoice(
        client: FlaskClient, session: Session, settings: Settings, staff: Account,
        customer: Account, plan: Plan, coupon: dict) -> None:
    create_coupon(client, staff, code="FREEMONTH", duration="forever", **coupon)
    sub = subscribe(client, customer, plan, "FREEMONTH").get_json()
    placed = order(client, customer, sub["id"])
    assert (placed["status"], placed["amount"], placed["discount"]) == ("completed", "0", "990")

    order_id = uuid.UUID(placed["id"])
    assert session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order_id)).first() is None
    paid = session.get_one(Order, order_id)
    record = decrypt_json(paid.payment_data or "", settings)
    assert record["source"] == "coupon" and record["fields"]["discount"] == "990"
    einvoice = session.scalars(select(EInvoice).where(EInvoice.order_id == order_id)).one()
    assert (einvoice.status, einvoice.reason) == ("not_issued", "zero_total")
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order_id)).one()
    assert (invoice.total_amount, invoice.tax_amount) == (0, 0)

    # The renewal is free too: completed with no payment link e-mailed.
    renewal = renew(session, sub["id"])
    assert (renewal.status, renewal.amount, renewal.discount) == ("completed", 0, 990)
    assert session.scalars(select(AuditLog).where(
        AuditLog.action == "payment.completed",
        AuditLog.resource_id == str(renewal.id))).one().meta["source"] == "coupon"
    assert audit_books(session, FixedClock(renewal.period_end)).clean


def test_coupon_then_credit_then_what_is_left(
        client: FlaskClient, session: Session, settings: Settings, staff: Account,
        customer: Account, plan: Plan) -> None:
    credits.grant(session, user_id=customer.user.id, amount=Decimal(100), kind="goodwill")
    session.commit()
    create_coupon(client, staff, code="TENOFF", kind="percent", percent_off=10,
                  duration="once")
    sub = subscribe(client, customer, plan, "TENOFF").get_json()
    placed = order(client, customer, sub["id"])
    # 990 − 99 (coupon) − 100 (credit) = 791.
    assert (placed["status"], placed["amount"], placed["discount"]) == ("pending", "791", "99")
    pay(session, settings, placed["id"], NOW, 791)
    einvoice = session.scalars(select(EInvoice).where(
        EInvoice.order_id == uuid.UUID(placed["id"]))).one()
    assert (einvoice.sales_amount, einvoice.items["lines"][0]["amount"]) == (791, 791)
    assert audit_books(session, FixedClock(NOW)).clean
