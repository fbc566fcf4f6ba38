"""The edges of the money lifecycle across real processes — `fluxus ecpay-sim` (as strict as
ECPay), `fluxus payment` and `rq worker` — on real PostgreSQL and Redis. Each test is one of
the failures found on the first version: every payment is accounted for, none is doubled."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import (
    CardAgreement,
    EmailDelivery,
    Invoice,
    Order,
    PaymentReview,
    Subscription,
    User,
)
from services.core.db.session import get_engine, session_scope
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.usecases import books, lifecycle, renewals, subscriptions
from services.core.usecases.audit import SYSTEM
from services.core.usecases.orders import place_order
from services.core.usecases.payments import agreements, review_queue
from services.ecpay.client import EcpayClient
from services.ecpay.credentials import EcpayCredentials
from services.payment.app import create_app
from services.worker.queues import RQJobs, redis_connection
from tests.integration.payment.conftest import Served, World, closed_port, notifications
from tests.integration.payment.conftest import seed as seed_with_attempt
from tests.integration.payment.processes import RQ, Stack
from tests.support.factories import make_order, make_user
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def seed(engine: Engine, **fields: Any) -> World:
    """A placed order, before any checkout: the checkout below makes its first attempt."""
    return seed_with_attempt(engine, attempt=False, **fields)


def checkout(stack: Stack, world: World) -> dict[str, str]:
    return stack.checkout(world.user_id, world.order_id)


def sim(stack: Stack, path: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{stack.simulator}/_sim/{path}", json=body or None)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def settle(stack: Stack, session: Session, notes: int) -> None:
    """Wait until ECPay's `notes` notifications are stored, then drain the payments queue."""
    wait_for(lambda: len(notifications(session)) >= notes, f"{notes} notifications", 20)
    stack.work()
    session.expire_all()


def maintenance(stack: Stack, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RQ, "worker", "--burst", "--url", stack.settings.redis_url, "maintenance"],
        env={**stack.env, **env}, capture_output=True, text=True, timeout=120, check=False,
    )


def reviews(session: Session) -> list[PaymentReview]:
    return list(session.scalars(select(PaymentReview).order_by(PaymentReview.created_at)))


def books_clean_once_reviewed(session: Session, staff: User) -> None:
    """Open review items make the books fail; resolved, the books balance."""
    if any(item.status == "open" for item in reviews(session)):
        assert not books.audit_books(session, FixedClock(_now())).clean
    for item in reviews(session):
        if item.status == "open":
            review_queue.resolve(session, FixedClock(_now()), SYSTEM, staff, item.id,
                                 decision="refund_needed", note="customer paid twice")
    session.commit()
    report = books.audit_books(session, FixedClock(_now()))
    assert report.clean, [f.line() for f in report.findings]


def _paid_offline(stack: Stack, engine: Engine, session: Session) -> World:
    world = seed(engine, method="atm")
    number = checkout(stack, world)["MerchantTradeNo"]
    sim(stack, f"orders/{number}/issue-code", method="ATM")
    sim(stack, f"orders/{number}/pay")
    settle(stack, session, 2)
    return world


def _renewal(stack: Stack, session: Session, world: World) -> World:
    """The renewal order `fluxus renew` makes three days before the period ends."""
    sub = session.get_one(Subscription, world.subscription_id)
    assert sub.end_date is not None
    with session_scope(get_engine(stack.settings)) as s:
        renewals.renew_due(s, FixedClock(sub.end_date - timedelta(days=3)), _jobs(stack),
                           [renewals.DueRenewal(sub.id, sub.end_date)],
                           dashboard_url="http://dashboard")
    session.expire_all()
    order = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                Order.is_renewal.is_(True))).one()
    return World(world.user_id, world.plan_id, world.subscription_id, order.id,
                 order.order_number, order.amount)


def _paid_first(stack: Stack, engine: Engine, session: Session) -> World:
    world = seed(engine)
    checkout(stack, world)
    sim(stack, f"orders/{world.order_number}/pay")
    settle(stack, session, 1)
    return world


def test_cancel_cancels_the_card_agreement_at_ecpay_retrying_while_ecpay_is_down(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = _paid_first(stack, engine, session)
    [agreement] = session.scalars(select(CardAgreement)).all()
    assert agreement.status == "active"
    user = session.get_one(User, world.user_id)
    subscriptions.change_status(session, FixedClock(_now()), _jobs(stack), SYSTEM, user,
                                world.subscription_id, status="cancelled", at_period_end=True)
    session.commit()

    down = maintenance(stack, FLUXUS_ECPAY_GATEWAY_URL=f"http://127.0.0.1:{closed_port()}")
    session.expire_all()
    agreement = session.get_one(CardAgreement, agreement.id)
    assert (agreement.status, agreement.cancel_attempts) == ("cancelling", 1), down.stderr[-2000:]
    assert agreement.last_error

    _requeue_cancel(stack, agreement.id)
    up = maintenance(stack)
    session.expire_all()
    assert session.get_one(CardAgreement, agreement.id).status == "cancelled", up.stderr[-2000:]
    info = httpx.get(f"{stack.simulator}/_sim/orders/{world.order_number}").json()["order"]
    assert info["exec_status"] == "0"
    refused = httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/period")
    assert refused.status_code == 409  # ECPay charges no more
    sub = session.get_one(Subscription, world.subscription_id)
    assert sub.status == "active" and sub.cancel_at_period_end  # the paid period stays
    books_clean_once_reviewed(session, _staff(session))


def test_a_card_checkout_paid_after_cancelling_goes_to_review_and_its_agreement_is_stopped(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine)
    form = checkout(stack, world)
    assert form["PeriodType"] == "M"  # ECPay signs an agreement with this payment
    user = session.get_one(User, world.user_id)
    subscriptions.change_status(session, FixedClock(_now()), _jobs(stack), SYSTEM, user,
                                world.subscription_id, status="cancelled")
    session.commit()
    sim(stack, f"orders/{world.order_number}/pay")  # the customer finished paying anyway
    settle(stack, session, 1)
    [item] = reviews(session)
    assert item.reason == "order_closed"
    [agreement] = session.scalars(select(CardAgreement)).all()
    assert agreement.status == "cancelling"  # it pays nothing here and must stop at ECPay
    assert session.get_one(Subscription, world.subscription_id).period_agreement_no is None

    up = maintenance(stack)
    session.expire_all()
    assert session.get_one(CardAgreement, agreement.id).status == "cancelled", up.stderr[-2000:]
    info = httpx.get(f"{stack.simulator}/_sim/orders/{world.order_number}").json()["order"]
    assert info["exec_status"] == "0"
    refused = httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/period")
    assert refused.status_code == 409  # ECPay charges the card no more
    books_clean_once_reviewed(session, _staff(session))


def test_a_charge_after_cancel_is_acknowledged_parked_and_never_extends(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = _paid_first(stack, engine, session)
    user = session.get_one(User, world.user_id)
    end_before = session.get_one(Subscription, world.subscription_id).end_date
    subscriptions.change_status(session, FixedClock(_now()), _jobs(stack), SYSTEM, user,
                                world.subscription_id, status="cancelled")
    session.commit()
    # ECPay charges before the cancellation reaches it.
    sim(stack, f"orders/{world.order_number}/period")
    wait_for(lambda: _acknowledged(stack, world.order_number) == 2, "1|OK for the charge", 20)
    settle(stack, session, 2)

    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.end_date) == ("cancelled", end_before)
    [item] = reviews(session)
    assert (item.reason, item.amount, item.status) == ("charge_after_cancel", Decimal(990), "open")
    assert session.scalars(select(Order).where(Order.status == "completed")).all() == [
        session.get_one(Order, world.order_id)]
    books_clean_once_reviewed(session, _staff(session))


def test_a_declined_charge_then_a_link_payment_then_the_next_charge_are_all_accounted_for(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = _paid_first(stack, engine, session)
    sim(stack, f"orders/{world.order_number}/period", success=False)
    settle(stack, session, 2)
    sub = session.get_one(Subscription, world.subscription_id)
    assert sub.status == "past_due"

    link = _place_order(stack, world)  # dunning: the declined period is payable by link
    number = checkout(stack, link)["MerchantTradeNo"]
    sim(stack, f"orders/{number}/pay")
    settle(stack, session, 3)
    sim(stack, f"orders/{world.order_number}/period")  # the next period, on schedule
    settle(stack, session, 4)

    paid = session.scalars(select(Order).where(Order.status == "completed")
                           .order_by(Order.period_start)).all()
    assert len(paid) == 3
    assert [o.period_end for o in paid[:-1]] == [o.period_start for o in paid[1:]]
    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.end_date) == ("active", paid[-1].period_end)
    assert len(session.scalars(select(Invoice)).all()) == 3
    assert reviews(session) == []
    books_clean_once_reviewed(session, _staff(session))


def test_a_declined_card_leaves_the_order_payable_and_a_retry_pays_it(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine)
    first = checkout(stack, world)
    sim(stack, f"orders/{world.order_number}/fail")
    settle(stack, session, 1)
    order = session.get_one(Order, world.order_id)
    assert order.status == "pending"

    second = checkout(stack, world)  # ECPay refuses a reused number: a new attempt
    assert second["MerchantTradeNo"] != first["MerchantTradeNo"]
    sim(stack, f"orders/{second['MerchantTradeNo']}/pay")
    settle(stack, session, 2)
    assert session.get_one(Order, world.order_id).status == "completed"
    assert session.get_one(Subscription, world.subscription_id).status == "active"
    books_clean_once_reviewed(session, _staff(session))


def test_paying_twice_through_two_attempts_keeps_both_payments_one_applied(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine, method="atm")
    first = checkout(stack, world)["MerchantTradeNo"]
    second = checkout(stack, world)["MerchantTradeNo"]  # "pay now" again
    for number in (first, second):
        sim(stack, f"orders/{number}/issue-code")
        sim(stack, f"orders/{number}/pay")
    settle(stack, session, 4)

    assert len(session.scalars(select(Invoice)).all()) == 1
    [item] = reviews(session)
    assert (item.reason, item.merchant_trade_no) == ("duplicate_payment", second)
    books_clean_once_reviewed(session, _staff(session))


def test_simulate_paid_is_acknowledged_and_never_fulfilled(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine)
    checkout(stack, world)
    sim(stack, f"orders/{world.order_number}/simulate")
    wait_for(lambda: _acknowledged(stack, world.order_number) == 1, "1|OK", 20)
    settle(stack, session, 1)
    [stored] = notifications(session)
    assert stored.verdict == "simulated"
    assert session.get_one(Order, world.order_id).status == "pending"
    assert session.scalars(select(Invoice)).all() == []
    books_clean_once_reviewed(session, _staff(session))


def test_a_periodic_amount_edited_at_ecpay_is_acknowledged_and_parked(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = _paid_first(stack, engine, session)
    sim(stack, f"orders/{world.order_number}/period-amount", amount=1200)
    sim(stack, f"orders/{world.order_number}/period")
    wait_for(lambda: _acknowledged(stack, world.order_number) == 2, "1|OK", 20)
    settle(stack, session, 2)
    [item] = reviews(session)
    assert (item.reason, item.amount) == ("amount_mismatch", Decimal(1200))
    books_clean_once_reviewed(session, _staff(session))


def test_cancelling_closes_the_open_renewal_order_and_its_late_money_is_parked(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = _paid_offline(stack, engine, session)
    renewal = _renewal(stack, session, world)
    code = checkout(stack, renewal)["MerchantTradeNo"]
    sim(stack, f"orders/{code}/issue-code", method="ATM")
    settle(stack, session, 3)
    user = session.get_one(User, world.user_id)
    subscriptions.change_status(session, FixedClock(_now()), _jobs(stack), SYSTEM, user,
                                world.subscription_id, status="cancelled")
    session.commit()
    assert session.get_one(Order, renewal.order_id).status == "cancelled"
    token = Served("", create_app(stack.settings)).token(world.user_id)
    refused = httpx.post(f"{stack.payment}/payment/ecpay/create/",
                         json={"order_id": str(renewal.order_id)},
                         headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 409  # no longer payable here …

    sim(stack, f"orders/{code}/pay")  # … but the code was still good at the bank
    settle(stack, session, 4)
    [item] = reviews(session)
    assert (item.reason, item.order_id) == ("order_closed", renewal.order_id)
    assert session.get_one(Subscription, world.subscription_id).status == "cancelled"
    books_clean_once_reviewed(session, _staff(session))


def test_a_late_atm_payment_after_dunning_expired_the_subscription_reactivates_it(
    stack: Stack, engine: Engine, session: Session
) -> None:
    start = _now() - timedelta(days=45)
    end = add_cycles(start, BillingCycle.MONTHLY, 1)  # ended about two weeks ago
    world = seed(engine, method="atm", sub_fields={
        "status": "past_due", "anchor_date": start, "start_date": start, "end_date": end,
        "payment_method": "atm"}, order_fields={
        "is_renewal": True, "period_start": end,
        "period_end": add_cycles(start, BillingCycle.MONTHLY, 2)})
    code = checkout(stack, world)["MerchantTradeNo"]
    sim(stack, f"orders/{code}/issue-code", method="ATM")
    settle(stack, session, 1)
    with session_scope(get_engine(stack.settings)) as s:
        lifecycle.run_dunning(s, FixedClock(_now()), _jobs(stack), "http://dashboard")
    session.expire_all()
    assert session.get_one(Subscription, world.subscription_id).status == "expired"
    assert session.get_one(Order, world.order_id).status == "processing"  # the code lives

    sim(stack, f"orders/{code}/pay")
    settle(stack, session, 2)
    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.end_date) == ("active", add_cycles(start, BillingCycle.MONTHLY, 2))
    assert session.get_one(Order, world.order_id).status == "completed"
    assert reviews(session) == []
    books_clean_once_reviewed(session, _staff(session))


def test_paying_an_older_first_order_after_a_renewal_exists_is_parked_not_an_error(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine, method="atm")
    with session_scope(get_engine(stack.settings)) as s:
        older = make_order(s, s.get_one(Subscription, world.subscription_id),
                           payment_method="atm")
        second = World(world.user_id, world.plan_id, world.subscription_id, older.id,
                       older.order_number, older.amount)
    old_code = checkout(stack, second)["MerchantTradeNo"]
    sim(stack, f"orders/{old_code}/issue-code", method="ATM")
    first_code = checkout(stack, world)["MerchantTradeNo"]
    sim(stack, f"orders/{first_code}/issue-code", method="ATM")
    sim(stack, f"orders/{first_code}/pay")
    settle(stack, session, 3)
    _renewal(stack, session, world)

    sim(stack, f"orders/{old_code}/pay")  # the customer also paid the older order's code
    settle(stack, session, 4)
    [item] = reviews(session)
    assert (item.reason, item.order_id) == ("order_closed", second.order_id)
    assert session.scalars(select(Invoice)).all()  # the first payment stands, once
    assert len(session.scalars(select(Invoice)).all()) == 1
    books_clean_once_reviewed(session, _staff(session))


def test_a_card_payment_in_the_trial_keeps_it_and_signs_no_agreement_that_would_charge_early(
    stack: Stack, engine: Engine, session: Session
) -> None:
    trial_end = _now() + timedelta(days=14)
    world = seed(engine, sub_fields={"status": "trial", "trial_end_date": trial_end})
    form = checkout(stack, world)
    # An agreement signed now would be charged now and then a month from today, two weeks
    # before each period it pays for: the trial's card payment is a one-off.
    assert "PeriodType" not in form
    sim(stack, f"orders/{world.order_number}/pay")
    settle(stack, session, 1)
    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.start_date, sub.end_date, sub.period_agreement_no) == (
        "trial", trial_end, add_cycles(trial_end, BillingCycle.MONTHLY, 1), None)
    assert session.scalars(select(CardAgreement)).all() == []
    books_clean_once_reviewed(session, _staff(session))


def test_a_trial_that_ends_unpaid_asks_for_payment_and_the_card_agreement_starts_then(
    stack: Stack, engine: Engine, session: Session
) -> None:
    trial_end = _now() - timedelta(minutes=5)
    world = seed(engine, sub_fields={"status": "trial", "trial_end_date": trial_end})
    with session_scope(get_engine(stack.settings)) as s:
        assert lifecycle.end_trials(s, FixedClock(_now()), _jobs(stack)).changed == {
            "payment_due": 1}
    session.expire_all()
    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.end_date) == ("past_due", trial_end)  # within the plan's grace
    [asked] = session.scalars(select(EmailDelivery).where(
        EmailDelivery.template == "trial_ended")).all()
    assert asked.context["order_id"] == str(world.order_id)

    form = checkout(stack, world)
    assert (form["PeriodType"], form["PeriodAmount"]) == ("M", "990")  # charged at trial end
    sim(stack, f"orders/{world.order_number}/pay")
    settle(stack, session, 1)
    sub = session.get_one(Subscription, world.subscription_id)
    [agreement] = session.scalars(select(CardAgreement)).all()
    assert sub.status == "active" and agreement.status == "active"
    # The first period starts with the first charge, so ECPay's schedule and ours agree.
    assert sub.start_date == agreement.first_charged_at
    assert sub.end_date == add_cycles(sub.start_date, BillingCycle.MONTHLY, 1)

    sim(stack, f"orders/{world.order_number}/period")  # ECPay's next scheduled charge
    settle(stack, session, 2)
    renewal = session.scalars(select(Order).where(Order.is_renewal.is_(True))).one()
    assert (renewal.status, renewal.period_start) == ("completed", add_cycles(
        sub.start_date, BillingCycle.MONTHLY, 1))
    books_clean_once_reviewed(session, _staff(session))


def test_six_declined_charges_end_the_agreement_and_renewals_fall_back_to_links(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = _paid_first(stack, engine, session)
    for n in range(6):
        sim(stack, f"orders/{world.order_number}/period", success=False)
        settle(stack, session, 2 + n)
    [agreement] = session.scalars(select(CardAgreement)).all()
    assert agreement.status == "ended"
    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.period_agreement_no) == ("past_due", None)
    told = session.scalars(select(EmailDelivery).where(
        EmailDelivery.template == "card_agreement_ended")).all()
    assert len(told) == 1
    books_clean_once_reviewed(session, _staff(session))


def test_a_reauthorised_charge_for_a_period_already_paid_by_link_is_parked(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = _paid_first(stack, engine, session)
    sim(stack, f"orders/{world.order_number}/period", success=False)
    settle(stack, session, 2)
    link = _place_order(stack, world)
    number = checkout(stack, link)["MerchantTradeNo"]
    sim(stack, f"orders/{number}/pay")
    settle(stack, session, 3)

    with EcpayClient(EcpayCredentials.stage(stack.simulator)) as client:
        client.period_action(world.order_number, "ReAuth")  # ECPay charges that period again
    settle(stack, session, 4)
    [item] = reviews(session)
    assert (item.reason, item.amount) == ("period_already_paid", Decimal(990))
    assert len(session.scalars(select(Invoice)).all()) == 2
    books_clean_once_reviewed(session, _staff(session))


# -- helpers ------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


def _acknowledged(processes: Stack, number: str) -> int:
    return sum(1 for d in processes.deliveries(number) if d["state"] == "acknowledged")


class _EnqueueAtOnce:
    """The Jobs port for a test that commits by itself: each job is sent at once."""

    def __init__(self, processes: Stack) -> None:
        self._jobs = RQJobs(redis_connection(processes.settings))

    def enqueue(self, *args: Any, **kwargs: Any) -> None:
        self._jobs.enqueue(*args, **kwargs)
        self._jobs.flush()


def _jobs(processes: Stack) -> _EnqueueAtOnce:
    return _EnqueueAtOnce(processes)


def _requeue_cancel(processes: Stack, agreement_id: uuid.UUID) -> None:
    """What the periodic sweep does for an agreement whose job used up a retry."""
    agreements.enqueue_cancel(_jobs(processes), agreement_id, "sweep1")


def _staff(session: Session) -> User:
    staff = make_user(session, is_staff=True)
    session.commit()
    return staff


def _place_order(processes: Stack, world: World) -> World:
    """The past-due customer's order for the declined period (what the dashboard places)."""
    with session_scope(get_engine(processes.settings)) as session:
        user = session.get_one(User, world.user_id)
        order = place_order(session, FixedClock(_now()), SYSTEM, user,
                            subscription_id=world.subscription_id,
                            payment_method="credit_card", client_ip=None).order
        return World(world.user_id, world.plan_id, world.subscription_id, order.id,
                     order.order_number, order.amount)
