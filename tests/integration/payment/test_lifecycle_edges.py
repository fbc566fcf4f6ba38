"""Lifecycle edges of the money path on real PostgreSQL: late offline payments, a second
first order, trials, closed orders, and signed posts that cannot be applied."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import Order, PaymentAttempt, PaymentReview, Subscription, User
from services.core.db.session import session_factory
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.ports import RecordingJobs
from services.core.usecases import lifecycle, subscriptions
from services.core.usecases.audit import SYSTEM
from services.core.usecases.payment_notifications import Kind, Receipt, receive_notification
from services.core.usecases.payments import attempts
from tests.integration.payment.conftest import NOW, STAGE, return_fields, seed
from tests.integration.payment.test_processing import process
from tests.support.factories import make_order, make_plan, make_user

pytestmark = pytest.mark.integration


def receive(engine: Engine, form: dict[str, str], kind: Kind = Kind.RETURN) -> Receipt:
    with session_factory(engine)() as session, session.begin():
        return receive_notification(session, FixedClock(NOW), RecordingJobs(), kind=kind,
                                    form=form, credentials=STAGE)


def reviews(session: Session) -> list[PaymentReview]:
    session.expire_all()
    return list(session.scalars(select(PaymentReview)))


def test_a_signed_notification_for_an_unknown_order_is_acknowledged_and_parked(
    engine: Engine, session: Session
) -> None:
    world = seed(engine)
    ghost = replace(world, order_number="FX0UNKNOWN000000001")
    receipt = receive(engine, return_fields(ghost))
    assert (receipt.answer, receipt.verdict) == ("1|OK", "unknown_order")
    [item] = reviews(session)
    assert (item.reason, item.amount, item.merchant_trade_no) == (
        "unknown_order", Decimal(990), "FX0UNKNOWN000000001")
    # ECPay's re-send is the same event: one row, one review item.
    assert receive(engine, return_fields(ghost, rtn_msg="paid")).duplicate
    assert len(reviews(session)) == 1


def test_forged_posts_are_refused_and_only_a_capped_sample_is_kept(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.core.usecases import payment_notifications

    monkeypatch.setattr(payment_notifications, "REFUSED_SAMPLE_CAP", 3)
    world = seed(engine)
    answers = []
    for n in range(5):
        forged = return_fields(world, trade_no=f"X{n}") | {"CheckMacValue": "0" * 64}
        answers.append(receive(engine, forged))
    assert {r.answer for r in answers} == {"0|CheckMacValue Error"}
    assert [r.notification_id is None for r in answers] == [False] * 3 + [True] * 2
    assert reviews(session) == []


def test_a_late_atm_payment_after_dunning_reactivates_the_subscription(
    engine: Engine, session: Session
) -> None:
    start = NOW - timedelta(days=40)
    end = add_cycles(start, BillingCycle.MONTHLY, 1)
    world = seed(engine, method="atm", sub_fields={
        "status": "past_due", "anchor_date": start, "start_date": start, "end_date": end,
        "payment_method": "atm"},
        order_fields={"is_renewal": True, "period_start": end,
                      "period_end": add_cycles(start, BillingCycle.MONTHLY, 2)})
    with session_factory(engine)() as s, s.begin():
        attempt = attempts.start(s, FixedClock(NOW), s.get_one(Order, world.order_id))
        attempt.payable_until = NOW + timedelta(days=2)  # the code is still payable
    with session_factory(engine)() as s, s.begin():
        lifecycle.run_dunning(s, FixedClock(NOW), RecordingJobs(), "http://dash")
    session.expire_all()
    assert session.get_one(Subscription, world.subscription_id).status == "expired"
    assert session.get_one(Order, world.order_id).status == "pending"  # its code still counts

    receipt = receive(engine, return_fields(world))
    outcome, _ = process(engine, receipt.notification_id)

    assert outcome == "completed"
    sub = session.get_one(Subscription, world.subscription_id)
    session.refresh(sub)
    assert (sub.status, sub.end_date) == ("active", add_cycles(start, BillingCycle.MONTHLY, 2))
    assert reviews(session) == []


def test_paying_an_older_first_order_after_the_first_period_was_paid_goes_to_review(
    engine: Engine, session: Session
) -> None:
    world = seed(engine)
    with session_factory(engine)() as s, s.begin():
        older = make_order(s, s.get_one(Subscription, world.subscription_id))
        older_world = replace(world, order_id=older.id, order_number=older.order_number)
    first, _ = process(engine, receive(engine, return_fields(world)).notification_id)
    assert first == "completed"
    late = receive(engine, return_fields(older_world, trade_no="2611261200009999"))
    outcome, _ = process(engine, late.notification_id)  # never an IntegrityError

    assert outcome == "needs_review"
    [item] = reviews(session)
    assert item.reason in ("order_closed", "duplicate_payment")
    assert session.get_one(Order, older.id).status == "cancelled"  # superseded, not payable


def test_paying_during_a_trial_keeps_the_trial_and_a_second_trial_is_refused(
    engine: Engine, session: Session
) -> None:
    trial_end = NOW + timedelta(days=10)
    world = seed(engine, sub_fields={"status": "trial", "trial_end_date": trial_end})
    outcome, _ = process(engine, receive(engine, return_fields(world)).notification_id)
    assert outcome == "completed"
    sub = session.get_one(Subscription, world.subscription_id)
    session.refresh(sub)
    assert (sub.status, sub.start_date) == ("trial", trial_end)
    assert sub.end_date == add_cycles(trial_end, BillingCycle.MONTHLY, 1)

    with session_factory(engine)() as s, s.begin():
        user = make_user(s)
        plan = make_plan(s, trial_days=14)
        first = subscriptions.subscribe(s, FixedClock(NOW), SYSTEM, user, plan_id=plan.id)
        assert first.status == "trial"
        subscriptions.change_status(s, FixedClock(NOW), RecordingJobs(), SYSTEM, user,
                                    first.id, status="cancelled")
        again = subscriptions.subscribe(s, FixedClock(NOW), SYSTEM, user, plan_id=plan.id)
        assert again.status == "pending"  # one trial per customer and plan


def test_cancelling_closes_open_orders_and_a_payment_that_still_arrives_is_parked(
    engine: Engine, session: Session
) -> None:
    world = seed(engine)
    with session_factory(engine)() as s, s.begin():
        subscriptions.change_status(s, FixedClock(NOW), RecordingJobs(), SYSTEM,
                                    s.get_one(User, world.user_id), world.subscription_id,
                                    status="cancelled")
    session.expire_all()
    assert session.get_one(Order, world.order_id).status == "cancelled"

    outcome, _ = process(engine, receive(engine, return_fields(world)).notification_id)
    assert outcome == "needs_review"
    [item] = reviews(session)
    assert (item.reason, item.amount) == ("order_closed", Decimal(990))
    assert session.scalars(select(PaymentAttempt.status)).all() in (["review"], [])
    assert session.get_one(Subscription, world.subscription_id).status == "cancelled"

