"""Changing plan over HTTP: the preview's lines are what applying charges, an upgrade takes
effect once its net is paid (invoiced for the net only), a downgrade waits for the period end."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EInvoice, Invoice, Order, PaymentReview, Subscription
from services.core.domain.states import OrderStatus
from services.core.ports import RecordingJobs
from services.core.usecases import renewals
from services.core.usecases.payments.reviews import ReviewReason
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in
from tests.integration.plan_changes.conftest import MID_MARCH, Plans, paid_subscription, pay
from tests.support.factories import make_subscription

pytestmark = pytest.mark.integration


def change(client: FlaskClient, who: Account, sub_id: Any, body: dict[str, Any],
           preview: bool = False) -> Any:
    path = f"/api/subscriptions/{sub_id}/change-plan/" + ("preview/" if preview else "")
    return client.post(path, json=body, headers=who.headers)


def test_preview_then_apply_give_the_research_example_and_the_upgrade_waits_for_payment(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    body = {"plan_id": str(plans.pro.id), "proration_date": MID_MARCH.isoformat()}
    shown = change(client, customer, sub.id, body, preview=True)
    assert shown.status_code == 200, shown.get_json()
    lines = shown.get_json()
    assert (lines["credit"], lines["charge"], lines["net"]) == ("155", "465", "310")
    assert lines["tax"] == {"amount": "295", "tax": "15", "total": "310"}
    assert (lines["policy"], lines["upgrade"], lines["requires_payment"]) == (
        "immediate", True, True)

    applied = change(client, customer, sub.id, body)
    assert applied.status_code == 200, applied.get_json()
    done = applied.get_json()
    assert {k: done[k] for k in lines} == lines
    assert done["status"] == "awaiting_payment"
    order = session.get_one(Order, done["order_id"])
    assert order.amount == 310 and order.plan_id == plans.pro.id

    # Until the net is paid the customer stays on Basic.
    session.expire_all()
    assert session.get_one(Subscription, sub.id).plan_id == plans.basic.id
    end_before = session.get_one(Subscription, sub.id).end_date

    pay(session, settings, order.id, MID_MARCH, order.amount, trade_no="2703161000000001")
    session.expire_all()
    after = session.get_one(Subscription, sub.id)
    assert after.plan_id == plans.pro.id
    assert after.end_date == end_before  # the period is not extended by the upgrade
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert (invoice.total_amount, invoice.tax_amount, invoice.amount) == (310, 15, 295)
    einvoice = session.scalars(select(EInvoice).where(EInvoice.order_id == order.id)).one()
    assert einvoice.sales_amount == 310  # tax included: the net only, never 900


def test_an_unpaid_upgrade_replaced_by_another_change_leaves_the_plan_and_parks_late_money(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    first = change(client, customer, sub.id, {"plan_id": str(plans.pro.id)}).get_json()
    # Cancelling the open change closes its order.
    assert client.delete(f"/api/subscriptions/{sub.id}/change-plan/",
                         headers=customer.headers).status_code == 200
    session.expire_all()
    order = session.get_one(Order, first["order_id"])
    assert order.status == OrderStatus.CANCELLED
    pay(session, settings, order.id, MID_MARCH, order.amount, trade_no="2703161000000002")
    session.expire_all()
    assert session.get_one(Subscription, sub.id).plan_id == plans.basic.id
    review = session.scalars(select(PaymentReview).where(
        PaymentReview.order_id == order.id)).one()
    assert review.reason == ReviewReason.ORDER_CLOSED


def test_a_downgrade_is_scheduled_shown_cancellable_and_switched_by_the_renewal_job(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.pro)
    answer = change(client, customer, sub.id, {"plan_id": str(plans.basic.id)})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["policy"], body["status"], body["net"], body["order_id"]) == (
        "end_of_term", "scheduled", "0", None)
    assert body["effective_at"] == sub.end_date.isoformat()
    shown = client.get(f"/api/subscriptions/{sub.id}/change-plan/", headers=customer.headers)
    assert shown.get_json()["to_plan_id"] == str(plans.basic.id)
    on_sub = client.get(f"/api/subscriptions/{sub.id}/", headers=customer.headers).get_json()
    assert on_sub["scheduled_change"]["to_plan_id"] == str(plans.basic.id)
    assert on_sub["scheduled_change"]["effective_at"] == body["effective_at"]

    # The renewal job, three days before the end, prices the next period on Basic.
    clock = FixedClock(sub.end_date)
    dues = renewals.due_batch(session, clock, plan_id=plans.pro.id, after=None, limit=10)
    assert [d.subscription_id for d in dues] == [sub.id]
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="http://x")
    session.commit()
    session.expire_all()
    assert session.get_one(Subscription, sub.id).plan_id == plans.basic.id
    renewal = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                  Order.is_renewal.is_(True))).one()
    assert (renewal.amount, renewal.plan_id) == (Decimal(300), plans.basic.id)
    assert client.get(f"/api/subscriptions/{sub.id}/change-plan/",
                      headers=customer.headers).status_code == 404


def test_a_cancelled_downgrade_is_not_applied_by_the_renewal_job(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.pro)
    assert change(client, customer, sub.id, {"plan_id": str(plans.basic.id)}).status_code == 200
    cancelled = client.delete(f"/api/subscriptions/{sub.id}/change-plan/",
                              headers=customer.headers)
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.get(f"/api/subscriptions/{sub.id}/",
                      headers=customer.headers).get_json()["scheduled_change"] is None
    clock = FixedClock(sub.end_date)
    dues = renewals.due_batch(session, clock, plan_id=plans.pro.id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="http://x")
    session.commit()
    session.expire_all()
    assert session.get_one(Subscription, sub.id).plan_id == plans.pro.id
    renewal = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                  Order.is_renewal.is_(True))).one()
    assert renewal.amount == 900


def test_impossible_changes_are_refused_clearly(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        staff: Account, plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    assert_envelope(change(client, customer, sub.id, {"plan_id": str(plans.basic.id)}),
                    409, "same_plan")
    assert_envelope(change(client, customer, sub.id, {"plan_id": str(sub.id)}), 422)
    late = {"plan_id": str(plans.pro.id), "proration_date": "2027-04-02T00:00:00+08:00"}
    assert_envelope(change(client, customer, sub.id, late, preview=True), 422)
    assert_envelope(change(client, customer, sub.id, late), 422)
    # Someone else's subscription does not exist for you; staff may change it.
    stranger = log_in(client, create_account(session))
    assert_envelope(change(client, stranger, sub.id, {"plan_id": str(plans.pro.id)}), 404)
    assert change(client, staff, sub.id, {"plan_id": str(plans.pro.id)},
                  preview=True).status_code == 200
    # An unpaid subscription has no period to prorate.
    pending = make_subscription(session, customer.user, plans.yearly)
    session.commit()
    assert_envelope(change(client, customer, pending.id, {"plan_id": str(plans.pro.id)}),
                    409, "not_changeable")


def test_monthly_to_yearly_compares_daily_prices_and_waits_for_the_period_end(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    lines = change(client, customer, sub.id, {"plan_id": str(plans.yearly.id)},
                   preview=True).get_json()
    # NT$3,000 a year is cheaper a day than NT$300 a month: a downgrade, at the end of term.
    assert (lines["upgrade"], lines["policy"], lines["net"]) == (False, "end_of_term", "0")
    # Asked for, it can start today instead (test_immediate_cycle_change.py).
    now = change(client, customer, sub.id, {"plan_id": str(plans.yearly.id),
                                            "policy": "immediate"}, preview=True).get_json()
    assert (now["policy"], now["charge"]) == ("immediate", "3000")
    assert change(client, customer, sub.id,
                  {"plan_id": str(plans.yearly.id)}).get_json()["status"] == "scheduled"
    # The renewal job starts a yearly period on the old end date.
    end = sub.end_date
    clock = FixedClock(end)
    dues = renewals.due_batch(session, clock, plan_id=plans.basic.id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="http://x")
    session.commit()
    order = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                Order.period_start == end)).one()
    assert (order.amount, order.plan_id) == (3000, plans.yearly.id)
    assert order.period_end == end.replace(year=end.year + 1)


def test_a_retried_change_with_the_same_key_answers_the_first_and_makes_one_order(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic)
    headers = customer.headers | {"Idempotency-Key": "upgrade-1"}
    body = {"plan_id": str(plans.pro.id)}
    path = f"/api/subscriptions/{sub.id}/change-plan/"
    first = client.post(path, json=body, headers=headers).get_json()
    again = client.post(path, json=body, headers=headers).get_json()
    assert again == first
    orders = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                 Order.amount == 310)).all()
    assert [o.id for o in orders] == [uuid.UUID(first["order_id"])]
    assert orders[0].status == OrderStatus.PENDING
    assert_envelope(client.post(path, json={"plan_id": str(plans.yearly.id)}, headers=headers),
                    409, "idempotency_key_reused")


def test_cancelling_the_subscription_withdraws_its_scheduled_downgrade(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.pro)
    change(client, customer, sub.id, {"plan_id": str(plans.basic.id)})
    answer = client.patch(f"/api/subscriptions/{sub.id}/update_status/",
                          json={"status": "cancelled", "at_period_end": True},
                          headers=customer.headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["scheduled_change"] is None
    assert client.get(f"/api/subscriptions/{sub.id}/change-plan/",
                      headers=customer.headers).status_code == 404


def test_a_downgrade_after_the_next_period_was_billed_is_refused_not_lost(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.pro)
    clock = FixedClock(sub.end_date)
    dues = renewals.due_batch(session, clock, plan_id=plans.pro.id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="http://x")
    session.commit()
    for preview in (True, False):
        assert_envelope(change(client, customer, sub.id, {"plan_id": str(plans.basic.id)},
                               preview=preview), 409, "next_period_billed")


def test_with_the_next_period_paid_ahead_the_running_period_is_prorated(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    """Found by the money-lifecycle model: a renewal paid early made the change date fall
    before "the last paid period" and the change was refused."""
    sub = paid_subscription(session, settings, customer, plans.basic)
    clock = FixedClock(sub.end_date)
    dues = renewals.due_batch(session, clock, plan_id=plans.basic.id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="http://x")
    session.commit()
    april = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                Order.is_renewal.is_(True))).one()
    pay(session, settings, april.id, MID_MARCH, april.amount, trade_no="2703161000000004")
    lines = change(client, customer, sub.id, {"plan_id": str(plans.pro.id),
                                              "proration_date": MID_MARCH.isoformat()},
                   preview=True)
    assert lines.status_code == 200, lines.get_json()
    assert (lines.get_json()["credit"], lines.get_json()["net"]) == ("155", "310")
    session.expire_all()
    paid_until = session.get_one(Subscription, sub.id).end_date
    later = change(client, customer, sub.id, {"plan_id": str(plans.yearly.id)},
                   preview=True).get_json()
    assert datetime.fromisoformat(later["effective_at"]) == paid_until
