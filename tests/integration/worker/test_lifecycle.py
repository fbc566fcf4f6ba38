"""Dunning and expiry on a controlled clock: active → past_due → expired, with the e-mails."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Order, Subscription
from services.core.ports import RecordingJobs
from services.core.usecases.payment_processing import complete_payment
from services.worker.cli import renew_plan
from services.worker.jobs import periodic
from tests.integration.worker.conftest import Inbox, body, run_burst
from tests.integration.worker.test_renewals import active_sub, taipei
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration


def pay(session: Session, order: Order, paid_at: datetime) -> None:
    """The order paid through the real use case (period, end date and invoice as in life)."""
    complete_payment(session, FixedClock(paid_at), RecordingJobs(), order_id=order.id,
                     trade_no=f"27{order.order_number[-12:]}", paid_at=paid_at,
                     amount=int(order.amount), payment_type="ATM_TAISHIN", raw={},
                     source="callback")


def subjects(inbox: Inbox) -> list[str]:
    return [str(m["Subject"]) for m in inbox.messages]


def test_unpaid_renewal_goes_past_due_then_expires_after_grace(
    session: Session, wsettings: Settings, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    plan = make_plan(session, name="Team", grace_days=5, price=Decimal(1500))
    sub = active_sub(session, plan, taipei(2027, 1, 31))  # ends 2027-02-28
    session.commit()
    clock.set(taipei(2027, 2, 26))
    renew_plan(wsettings, clock, plan.slug, batch_size=10, lead=timedelta(days=3))
    run_burst(wsettings)
    assert subjects(inbox) == ["Team 方案續費通知"]

    clock.set(taipei(2027, 2, 28) + timedelta(hours=1))
    assert periodic.run_dunning() == {"past_due": 1}
    assert periodic.run_dunning() == {}  # a second tick changes nothing, mails nothing
    run_burst(wsettings)
    session.expire_all()
    assert session.get_one(Subscription, sub.id).status == "past_due"
    assert subjects(inbox)[1:] == ["提醒：Team 方案尚未續費"]
    reminder = body(inbox.messages[1], "plain")
    assert "2027-03-05" in reminder and "NT$1,500" in reminder  # pay-by date = end + grace

    clock.set(taipei(2027, 3, 5) + timedelta(hours=1))
    assert periodic.run_dunning() == {"expired": 1}
    run_burst(wsettings)
    session.expire_all()
    assert session.get_one(Subscription, sub.id).status == "expired"
    [order] = session.scalars(select(Order).where(Order.subscription_id == sub.id))
    assert order.status == "cancelled"
    assert subjects(inbox)[2:] == ["您的 Team 方案已到期"]


def test_paid_renewal_is_left_alone_by_dunning(
    session: Session, wsettings: Settings, clock: FixedClock
) -> None:
    plan = make_plan(session)
    sub = active_sub(session, plan, taipei(2027, 1, 31))  # ends 2027-02-28
    renewal = make_order(session, sub, is_renewal=True, period_start=sub.end_date,
                         period_end=taipei(2027, 3, 31), amount=plan.price)
    pay(session, renewal, taipei(2027, 2, 27))
    session.commit()
    assert sub.end_date == taipei(2027, 3, 31)
    clock.set(taipei(2027, 3, 1))
    assert periodic.run_dunning() == {}


def test_expiry_and_trial_ends(
    session: Session, wsettings: Settings, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    plan = make_plan(session, name="Lite")
    leaving = active_sub(session, plan, taipei(2027, 1, 1), cancel_at_period_end=True)
    staying = active_sub(session, plan, taipei(2027, 1, 1))
    trial_paid = make_subscription(
        session,
        make_user(session, language="en"),
        plan,
        status="trial",
        trial_end_date=taipei(2027, 2, 1),
    )
    pay(session, make_order(session, trial_paid, amount=plan.price), taipei(2027, 1, 20))
    trial_unpaid = make_subscription(
        session,
        make_user(session, language="en"),
        plan,
        status="trial",
        trial_end_date=taipei(2027, 2, 1),
    )
    first_order = make_order(session, trial_unpaid, amount=plan.price)
    trial_declined = make_subscription(
        session,
        make_user(session, language="en"),
        plan,
        status="trial",
        trial_end_date=taipei(2027, 2, 1),
        auto_renew=False,
    )
    session.commit()
    clock.set(taipei(2027, 2, 2))

    assert periodic.expire_subscriptions() == {"expired": 1}
    assert periodic.end_trials() == {"activated": 1, "payment_due": 1, "expired": 1}
    run_burst(wsettings)

    session.expire_all()
    status = {s.id: s for s in session.scalars(select(Subscription))}
    assert status[leaving.id].status == "expired"
    assert status[staying.id].status == "active"
    assert status[trial_paid.id].status == "active"
    assert status[trial_paid.id].end_date == taipei(2027, 3, 1)
    # Unpaid with renewal on: the plan's grace days to pay, the first order still payable.
    assert status[trial_unpaid.id].status == "past_due"
    assert session.get_one(Order, first_order.id).status == "pending"
    assert status[trial_declined.id].status == "expired"
    inbox, _port = smtp
    assert sorted(subjects(inbox)) == [
        "Your Lite free trial has ended", "Your Lite plan has expired", "您的 Lite 方案已到期"]
    [asked] = [m for m in inbox.messages if m["Subject"] == "Your Lite free trial has ended"]
    assert f"/orders/{first_order.id}" in body(asked)
    assert "by 2027-02-08" in body(asked)  # the trial's end + the plan's 7 grace days

    # Still unpaid when the grace days are over: expired, and the order closes.
    clock.set(taipei(2027, 2, 9))
    periodic.run_dunning()  # the unrenewed `staying` lapses in the same run
    session.expire_all()
    assert session.get_one(Subscription, trial_unpaid.id).status == "expired"
    assert session.get_one(Order, first_order.id).status == "cancelled"
