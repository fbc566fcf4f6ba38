"""Reconciliation against the real ECPay simulator process: a lost callback never loses money."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock, SystemClock
from services.core.config import Settings
from services.core.db.models import CardAgreement, Invoice, Order, PaymentAttempt, Subscription
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.ports import RecordingJobs
from services.core.usecases import reconciliation
from services.core.usecases.payments import attempts
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, PeriodicPlan, build_checkout
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.errors import EcpayResponseError
from services.ecpay.query import PeriodInfo, TradeInfo
from services.worker import context
from services.worker.jobs import periodic
from tests.integration.worker.conftest import Inbox, fluxus_popen, free_port, run_burst
from tests.support.factories import make_order, make_plan, make_subscription, make_user
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
LOST = f"http://127.0.0.1:{free_port()}/payment/ecpay"  # nobody listens: callbacks are lost


@pytest.fixture
def simulator(wsettings: Settings, clock: FixedClock) -> Iterator[str]:
    port = free_port()
    proc = fluxus_popen(
        wsettings, "ecpay-sim", "--bind", f"127.0.0.1:{port}", "--retry-interval", "60"
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/_sim/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, "the ECPay simulator", 20)
        context.use(dataclasses.replace(wsettings, ecpay_gateway_url=url), clock)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def checkout(sim: str, order: Order, periodic_plan: PeriodicPlan | None = None) -> None:
    form = build_checkout(
        EcpayCredentials.stage(sim),
        CheckoutOrder(
            merchant_trade_no=order.order_number,
            total_amount=int(order.amount),
            trade_desc="Fluxus",
            item_name="Pro plan",
            return_url=f"{LOST}/return",
            choose_payment=ChoosePayment.CREDIT,
            periodic=periodic_plan,
        ),
        now=SystemClock(),
    )
    response = httpx.post(form.action_url, data=dict(form.fields), timeout=5)
    assert response.status_code == 200, response.text


def sim_post(sim: str, path: str, body: dict[str, object] | None = None) -> None:
    response = httpx.post(f"{sim}/_sim/orders/{path}", json=body or {}, timeout=5)
    assert response.status_code == 200, response.text


def test_paid_order_whose_callback_was_lost_is_completed(
    session: Session, simulator: str, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    plan = make_plan(session, name="Pro")
    sub = make_subscription(session, make_user(session), plan, status="pending")
    paid = make_order(session, sub)
    abandoned = make_order(session, sub, expire_at=datetime.now(UTC) + timedelta(minutes=20))
    # Another customer's (paying one first order supersedes the others of its subscription).
    never_seen = make_order(
        session, make_subscription(session, make_user(session), plan, status="pending")
    )
    session.commit()
    for order in (paid, abandoned):
        checkout(simulator, order)
    sim_post(simulator, f"{paid.order_number}/pay", {"method": "Credit"})

    clock.set(datetime.now(UTC) + timedelta(minutes=31))
    assert periodic.reconcile_orders() == 3
    run_burst(context.settings())

    session.expire_all()
    state = {o.id: o.status for o in session.scalars(select(Order))}
    assert state == {paid.id: "completed", abandoned.id: "cancelled", never_seen.id: "pending"}
    assert session.get_one(Subscription, sub.id).status == "active"
    [invoice] = session.scalars(select(Invoice))
    assert invoice.order_id == paid.id
    inbox, _port = smtp
    assert [str(m["Subject"]) for m in inbox.messages] == [f"付款成功：訂單 {paid.order_number}"]
    assert periodic.reconcile_orders() == 0  # each was asked just now
    clock.set(datetime.now(UTC) + timedelta(minutes=62))
    assert periodic.reconcile_orders() == 1  # only the one ECPay has never seen stays open


def test_lost_periodic_charge_completes_the_renewal_order(
    session: Session, simulator: str, clock: FixedClock
) -> None:
    plan = make_plan(session, name="Pro")
    anchor = datetime.now(UTC) - timedelta(days=31)
    sub = make_subscription(
        session, make_user(session), plan, status="active", anchor_date=anchor, start_date=anchor
    )
    agreement = make_order(session, sub, status="pending")
    session.commit()
    checkout(simulator, agreement, PeriodicPlan(990, "M", 1, 12, f"{LOST}/period"))
    sim_post(simulator, f"{agreement.order_number}/pay")
    sim_post(simulator, f"{agreement.order_number}/period")  # ECPay charged; callback lost
    # The agreement paid the first period; the renewal order of the second one waits.
    sub.payment_method, sub.period_agreement_no = "credit_card", agreement.order_number
    session.add(CardAgreement(  # what completing the checkout records
        subscription_id=sub.id, merchant_trade_no=agreement.order_number, status="active",
        period_type="M", frequency=1, exec_times=12, period_amount=990,
        first_charged_at=datetime.now(UTC), first_period_index=0, cancel_attempts=0,
    ))
    sub.end_date = add_cycles(anchor, BillingCycle.MONTHLY, 1)
    agreement.status = "completed"
    renewal = make_order(
        session,
        sub,
        is_renewal=True,
        period_start=sub.end_date,
        period_end=add_cycles(anchor, BillingCycle.MONTHLY, 2),
    )
    session.commit()

    clock.set(sub.end_date + timedelta(hours=7))
    assert periodic.reconcile_orders() == 1
    run_burst(context.settings())

    session.expire_all()
    assert session.get_one(Order, renewal.id).status == "completed"
    assert session.get_one(Subscription, sub.id).end_date == add_cycles(
        anchor, BillingCycle.MONTHLY, 2
    )


def test_an_attempt_failed_here_but_paid_at_ecpay_is_completed(
    session: Session, simulator: str, clock: FixedClock
) -> None:
    plan = make_plan(session, name="Pro")
    sub = make_subscription(session, make_user(session), plan, status="pending")
    order = make_order(session, sub)
    attempt = attempts.start(session, clock, order)
    session.commit()
    checkout(simulator, order)  # the first attempt carries the order's own number
    sim_post(simulator, f"{attempt.merchant_trade_no}/pay", {"method": "Credit"})
    # A stale decline reached us; the success that followed it was lost.
    attempts.mark_failed(attempt, "10100058 declined")
    session.commit()

    clock.set(datetime.now(UTC) + timedelta(minutes=31))
    assert periodic.reconcile_orders() == 1
    run_burst(context.settings())

    session.expire_all()
    assert session.get_one(Order, order.id).status == "completed"
    assert session.get_one(PaymentAttempt, attempt.id).status == "paid"
    assert session.get_one(Subscription, sub.id).status == "active"


def test_a_backlog_of_old_attempts_never_starves_new_ones(
    session: Session, clock: FixedClock
) -> None:
    plan = make_plan(session, name="Pro")
    now = datetime.now(UTC)
    clock.set(now)
    old, new = [], []
    for n in range(5):
        sub = make_subscription(session, make_user(session), plan, status="pending")
        order = make_order(session, sub)
        attempt = attempts.start(session, clock, order)
        attempt.created_at = order.created_at = now - timedelta(hours=2)
        if n < 3:  # asked an hour ago and still unpaid at ECPay
            attempt.checked_at = now - timedelta(minutes=40)
            old.append(order.id)
        else:
            new.append(order.id)
    session.commit()

    due = reconciliation.due_for_reconciliation(session, clock, limit=2)
    assert sorted(due) == sorted(new)  # never asked comes first
    assert set(reconciliation.due_for_reconciliation(session, clock, limit=10)) == {*old, *new}


class _Answering:
    """ECPay answering about another order than the one asked (a proxy mix-up, a bug)."""

    def __init__(self, info: TradeInfo) -> None:
        self.info = info

    def query_trade(self, merchant_trade_no: str) -> TradeInfo:
        return self.info

    def query_period(self, merchant_trade_no: str) -> PeriodInfo:
        raise AssertionError("not a periodic order")


def test_an_answer_about_another_order_is_refused_and_applies_nothing(
    session: Session, clock: FixedClock, wsettings: Settings
) -> None:
    plan = make_plan(session, name="Pro")
    sub = make_subscription(session, make_user(session), plan, status="pending")
    order = make_order(session, sub)
    session.commit()
    paid_elsewhere = TradeInfo(
        merchant_id="3002607", merchant_trade_no="FX0SOMEONEELSE000001", trade_no="1",
        trade_amt=990, trade_status="1", payment_type="Credit_CreditCard", payment_date=None,
        trade_date=None, handling_charge=None, payment_type_charge_fee=None,
    )
    with pytest.raises(EcpayResponseError):
        reconciliation.reconcile_order(session, clock, RecordingJobs(), _Answering(paid_elsewhere),
                                       wsettings, order_id=order.id)
    session.rollback()
    assert session.get_one(Order, order.id).status == "pending"
