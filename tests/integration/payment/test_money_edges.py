"""The edges of the money lifecycle across real processes — `fluxus ecpay-sim` (as strict as
ECPay), `fluxus payment` and `rq worker` — on real PostgreSQL and Redis. Each test is one of
the failures found on the first version: every payment is accounted for, none is doubled."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import (
    CardAgreement,
    Invoice,
    Order,
    PaymentReview,
    Subscription,
    User,
)
from services.core.db.session import get_engine, session_scope
from services.core.usecases import books, subscriptions
from services.core.usecases.audit import SYSTEM
from services.core.usecases.orders import place_order
from services.core.usecases.payments import agreements, review_queue
from services.payment.app import create_app
from services.worker.queues import RQJobs, redis_connection
from tests.integration.payment.conftest import Served, World, closed_port, notifications, seed
from tests.integration.payment.processes import RQ, Stack
from tests.support.factories import make_user
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def checkout(stack: Stack, world: World) -> dict[str, str]:
    """What the customer's browser does: ask for the form, post every field to ECPay."""
    token = Served("", create_app(stack.settings)).token(world.user_id)
    response = httpx.post(f"{stack.payment}/payment/ecpay/create/",
                          json={"order_id": str(world.order_id)},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    form = response.json()
    page = httpx.post(form["action"], data=form["fields"])
    assert page.status_code == 200 and "MerchantTradeNo is duplicate" not in page.text, page.text
    fields: dict[str, str] = form["fields"]
    return fields


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
