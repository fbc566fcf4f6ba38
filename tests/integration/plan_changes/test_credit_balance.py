"""The credit balance: a downgrade's unused days and staff goodwill are used first on the next
order, which is charged and e-invoiced only for the remainder; an order credit covers completes
without ECPay and issues no e-invoice; credit held by an order that is not paid comes back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import CreditEntry, EInvoice, Invoice, Order, Subscription
from services.core.domain.states import OrderStatus
from services.core.ports import RecordingJobs
from services.core.usecases import credits, renewals
from services.core.usecases.books import audit_books
from services.core.usecases.books_findings import Check
from services.core.usecases.payments import closing
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.plan_changes.conftest import MID_MARCH, Plans, paid_subscription, pay
from tests.support.factories import make_order

pytestmark = pytest.mark.integration


def balance(client: FlaskClient, who: Account) -> str:
    answer = client.get("/api/credits/", headers=who.headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["balance"]


def renew(session: Session, sub: Subscription, plan_id: object) -> Order:
    start = sub.end_date
    clock = FixedClock(start)
    dues = renewals.due_batch(session, clock, plan_id=plan_id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="http://x")
    session.commit()
    session.expire_all()
    return session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                               Order.period_start == start)).one()


def test_an_immediate_downgrade_credits_the_difference_and_the_renewal_uses_it(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.pro)
    answer = client.post(f"/api/subscriptions/{sub.id}/change-plan/",
                         json={"plan_id": str(plans.basic.id), "policy": "immediate"},
                         headers=customer.headers).get_json()
    assert (answer["credit"], answer["charge"], answer["net"], answer["status"]) == (
        "465", "155", "-310", "applied")
    session.expire_all()
    assert session.get_one(Subscription, sub.id).plan_id == plans.basic.id
    assert balance(client, customer) == "310"

    # April on Basic costs 300: all of it from the credit, no ECPay, no e-invoice.
    april = renew(session, session.get_one(Subscription, sub.id), plans.basic.id)
    assert (april.status, april.amount) == (OrderStatus.COMPLETED, 0)
    assert session.get_one(Subscription, sub.id).end_date == april.period_end
    einvoice = session.scalars(select(EInvoice).where(EInvoice.order_id == april.id)).one()
    assert einvoice.status == "not_issued"
    assert balance(client, customer) == "10"

    # May costs 300 − the 10 left: the customer is asked for 290.
    may = renew(session, session.get_one(Subscription, sub.id), plans.basic.id)
    assert (may.status, may.amount) == (OrderStatus.PENDING, 290)
    assert balance(client, customer) == "0"
    pay(session, settings, may.id, may.period_start, may.amount, trade_no="2705011000000001")
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == may.id)).one()
    assert invoice.total_amount == 290


def test_goodwill_lowers_an_upgrade_and_comes_back_when_its_order_is_withdrawn(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        staff: Account, plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    goodwill = {"user_id": customer.id, "amount": 100, "note": "outage on Mar 10"}
    assert_envelope(client.post("/api/credits/", json=goodwill, headers=customer.headers), 403)
    assert client.post("/api/credits/", json=goodwill,
                       headers=staff.headers).status_code == 201
    nobody = goodwill | {"user_id": str(plans.pro.id)}
    assert_envelope(client.post("/api/credits/", json=nobody, headers=staff.headers), 422)
    body = {"plan_id": str(plans.pro.id), "proration_date": MID_MARCH.isoformat()}
    shown = client.post(f"/api/subscriptions/{sub.id}/change-plan/preview/", json=body,
                        headers=customer.headers).get_json()
    assert (shown["net"], shown["credit_balance_used"], shown["amount_due"]) == (
        "310", "100", "210")
    assert shown["tax"] == {"amount": "200", "tax": "10", "total": "210"}
    applied = client.post(f"/api/subscriptions/{sub.id}/change-plan/", json=body,
                          headers=customer.headers).get_json()
    order = session.get_one(Order, applied["order_id"])
    assert order.amount == 210
    assert balance(client, customer) == "0"

    client.delete(f"/api/subscriptions/{sub.id}/change-plan/", headers=customer.headers)
    assert balance(client, customer) == "100"

    again = client.post(f"/api/subscriptions/{sub.id}/change-plan/", json=body,
                        headers=customer.headers).get_json()
    order = session.get_one(Order, again["order_id"])
    pay(session, settings, order.id, MID_MARCH, order.amount, trade_no="2703161000000009")
    einvoice = session.scalars(select(EInvoice).where(EInvoice.order_id == order.id)).one()
    assert einvoice.sales_amount == 210
    session.expire_all()
    assert session.get_one(Subscription, sub.id).plan_id == plans.pro.id
    assert credits.balance(session, customer.user.id) == Decimal(0)


def test_credit_is_never_used_beyond_the_balance(session: Session, settings: Settings,
                                                 customer: Account, plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    credits.grant(session, user_id=customer.user.id, amount=Decimal(350), kind="goodwill")
    one, two = (make_order(session, sub, amount=Decimal(300)) for _ in range(2))
    assert credits.use_on_order(session, one) == 300
    assert credits.use_on_order(session, two) == 50
    assert (one.amount, two.amount) == (0, 250)
    assert credits.balance(session, customer.user.id) == 0
    # The same order never takes credit twice.
    credits.grant(session, user_id=customer.user.id, amount=Decimal(10), kind="goodwill")
    with pytest.raises(IntegrityError):
        credits.use_on_order(session, two)


def test_the_books_are_clean_after_credit_is_used_and_given_back_and_flag_a_negative_balance(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        staff: Account, plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.pro)
    client.post(f"/api/subscriptions/{sub.id}/change-plan/",
                json={"plan_id": str(plans.basic.id), "policy": "immediate"},
                headers=customer.headers)
    renew(session, session.get_one(Subscription, sub.id), plans.basic.id)  # covered by credit
    held = make_order(session, sub, amount=Decimal(300))
    credits.grant(session, user_id=customer.user.id, amount=Decimal(40), kind="goodwill")
    credits.use_on_order(session, held)
    closing.close_open_orders(session, FixedClock(MID_MARCH), sub, "test: withdrawn")
    session.commit()
    report = audit_books(session, FixedClock(MID_MARCH.replace(month=6)))
    # No worker issues e-invoices here, so the paid ones are overdue; nothing else may show.
    found = [f.line() for f in report.findings if f.check is not Check.EINVOICE_OVERDUE]
    assert found == []

    # A use written past the balance is what the books exist to catch.
    session.add(CreditEntry(user_id=customer.user.id, amount=Decimal(-999), kind="order_use",
                            order_id=make_order(session, sub, amount=Decimal(0)).id))
    session.commit()
    report = audit_books(session, FixedClock(MID_MARCH.replace(month=6)))
    assert {f.check for f in report.findings} >= {Check.CREDIT_BALANCE_NEGATIVE}
