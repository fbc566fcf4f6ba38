"""An immediate change of billing cycle (monthly ↔ yearly now): the unused days of the paid
period are credited by day, the new plan's period starts at the change, its order is paid at
checkout (or by the credit), a card agreement for the old amount is cancelled and the next
full-price checkout signs a new one; the books stay clean."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import (
    CardAgreement,
    CreditEntry,
    Invoice,
    Order,
    PaymentAttempt,
    Subscription,
)
from services.core.domain.states import OrderStatus
from services.core.ports import RecordingJobs
from services.core.usecases import checkout, credits, renewals
from services.core.usecases.books import audit_books
from services.core.usecases.books_findings import Check
from services.ecpay.credentials import EcpayCredentials
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.plan_changes.conftest import (
    MID_MARCH,
    PAID_AT,
    Plans,
    paid_subscription,
    pay,
)
from tests.support.factories import make_order, make_plan

pytestmark = pytest.mark.integration
URLS = checkout.CheckoutUrls.under("https://pay.fluxus.example")
NEXT_YEAR = MID_MARCH.replace(year=2028)


def post(client: FlaskClient, who: Account, sub_id: Any, body: dict[str, Any],
         preview: bool = False) -> Any:
    path = f"/api/subscriptions/{sub_id}/change-plan/" + ("preview/" if preview else "")
    return client.post(path, json=body, headers=who.headers)


def books_clean(session: Session) -> None:
    report = audit_books(session, FixedClock(MID_MARCH + timedelta(hours=2)))
    # No worker issues e-invoices here; nothing else may show.
    assert [f.line() for f in report.findings if f.check is not Check.EINVOICE_OVERDUE] == []


def test_monthly_to_yearly_now_credits_unused_days_and_starts_the_year_when_paid(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic, agreement=True)
    body = {"plan_id": str(plans.yearly.id), "policy": "immediate",
            "proration_date": MID_MARCH.isoformat()}
    shown = post(client, customer, sub.id, body, preview=True)
    assert shown.status_code == 200, shown.get_json()
    lines = shown.get_json()
    # 16 of March's 31 days of NT$300 back; a whole year of NT$3,000 from today.
    assert (lines["credit"], lines["charge"], lines["net"], lines["amount_due"]) == (
        "155", "3000", "2845", "2845")
    assert lines["tax"] == {"amount": "2710", "tax": "135", "total": "2845"}
    assert (lines["policy"], lines["requires_payment"]) == ("immediate", True)
    assert lines["new_period_start"].startswith("2027-03-15T16:00")  # Mar 16 00:00 Taipei
    assert lines["new_period_end"].startswith("2028-03-15T16:00")

    done = post(client, customer, sub.id, body).get_json()
    assert {k: done[k] for k in lines} == lines and done["status"] == "awaiting_payment"
    order = session.get_one(Order, done["order_id"])
    assert (order.amount, order.plan_id) == (2845, plans.yearly.id)
    # The net is a one-off: ECPay charges an agreement its first amount every period.
    checkout.create_checkout(session, FixedClock(MID_MARCH), user_id=order.user_id,
                             order_id=order.id, credentials=EcpayCredentials.stage(), urls=URLS)
    session.commit()
    attempt = session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order.id)).one()
    assert attempt.periodic is None
    session.expire_all()
    assert session.get_one(Subscription, sub.id).plan_id == plans.basic.id  # until paid

    pay(session, settings, order.id, MID_MARCH, order.amount, trade_no="2703161000000101")
    session.expire_all()
    after = session.get_one(Subscription, sub.id)
    assert after.plan_id == plans.yearly.id
    assert (after.anchor_date, after.end_date) == (MID_MARCH, NEXT_YEAR)
    agreement = session.scalars(select(CardAgreement).where(
        CardAgreement.subscription_id == sub.id)).one()
    assert agreement.status == "cancelling" and after.period_agreement_no is None
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert invoice.total_amount == 2845 and "2027-03-16 – 2028-03-16" in invoice.description
    books_clean(session)

    # A year on, the renewal is the full yearly price, and its card checkout signs the new
    # agreement for that amount.
    clock = FixedClock(NEXT_YEAR)
    dues = renewals.due_batch(session, clock, plan_id=plans.yearly.id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="https://app.x")
    session.commit()
    renewal = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                  Order.period_start == NEXT_YEAR)).one()
    assert renewal.amount == 3000
    checkout.create_checkout(session, clock, user_id=renewal.user_id, order_id=renewal.id,
                             credentials=EcpayCredentials.stage(), urls=URLS)
    session.commit()
    signed = session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.order_id == renewal.id)).one()
    assert signed.periodic is not None and signed.periodic["period_amount"] == 3000


def test_yearly_to_monthly_now_pays_the_month_from_the_unused_year_and_keeps_the_rest(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.yearly)
    body = {"plan_id": str(plans.basic.id), "policy": "immediate",
            "proration_date": MID_MARCH.isoformat()}
    done = post(client, customer, sub.id, body).get_json()
    # 351 of the 366 days to Mar 1 2028 of NT$3,000 back (2877), a month of NT$300 charged.
    assert (done["credit"], done["charge"], done["net"], done["amount_due"]) == (
        "2877", "300", "-2577", "0")
    assert done["status"] == "applied" and done["requires_payment"] is False
    session.expire_all()
    after = session.get_one(Subscription, sub.id)
    assert after.plan_id == plans.basic.id
    assert (after.anchor_date, after.end_date) == (MID_MARCH, MID_MARCH.replace(month=4))
    # The month was paid from the credit; what is left stays on the balance.
    assert credits.balance(session, customer.user.id) == 2577
    month = session.get_one(Order, done["order_id"])
    assert (month.status, month.amount) == (OrderStatus.COMPLETED.value, 0)
    uses = session.scalars(select(CreditEntry.amount).where(
        CreditEntry.order_id == month.id)).all()
    assert uses == [-300]
    books_clean(session)

    # The next month's order uses the balance first: nothing to pay.
    month_end = after.end_date
    clock = FixedClock(month_end)
    dues = renewals.due_batch(session, clock, plan_id=plans.basic.id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="https://app.x")
    session.commit()
    april = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                Order.period_start == month_end)).one()
    assert (april.status, april.amount) == (OrderStatus.COMPLETED.value, 0)
    assert credits.balance(session, customer.user.id) == 2277


def test_an_open_order_for_the_old_cycles_next_period_is_closed_and_a_paid_one_refuses(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    april = make_order(session, sub, amount=plans.basic.price, period_start=sub.end_date,
                       period_end=sub.end_date.replace(month=5), is_renewal=True)
    session.commit()
    body = {"plan_id": str(plans.yearly.id), "policy": "immediate"}
    done = post(client, customer, sub.id, body).get_json()
    pay(session, settings, done["order_id"], MID_MARCH, Decimal(done["amount_due"]),
        trade_no="2703161000000102")
    session.expire_all()
    assert session.get_one(Order, april.id).status == OrderStatus.CANCELLED.value
    books_clean(session)

    # Another customer who already paid April ahead: a new cycle today would swallow it.
    other = paid_subscription(session, settings, customer, make_plan(
        session, name="Basic 2", price=Decimal(300)))
    ahead = make_order(session, other, amount=Decimal(300), period_start=other.end_date,
                       period_end=other.end_date.replace(month=5), is_renewal=True)
    session.commit()
    pay(session, settings, ahead.id, MID_MARCH, Decimal(300), trade_no="2703161000000103")
    assert_envelope(post(client, customer, other.id, body), 409, "next_period_paid")
    assert PAID_AT < MID_MARCH
