"""Reconciliation's answers that must not complete an order: declined or not-yet-run periodic
charges, a trade ECPay reports not established, and a paid amount that is not the order's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import (
    CardAgreement,
    Invoice,
    Order,
    PaymentAttempt,
    PaymentReview,
    PeriodCharge,
    Subscription,
)
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.ports import RecordingJobs
from services.core.usecases import reconciliation
from services.core.usecases.payments import attempts
from services.ecpay import query
from services.ecpay.query import PeriodInfo, TradeInfo
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration
ANCHOR = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)  # 10:00 on Jan 10 in Taipei
SECOND_PERIOD = add_cycles(ANCHOR, BillingCycle.MONTHLY, 1)  # Feb 10, charge 1 of the schedule


class _Gateway:
    """ECPay's query APIs answering with fixed facts about whatever number is asked."""

    def __init__(self, *, trade_status: str = "0", trade_amt: int = 990,
                 exec_log: tuple[query.PeriodCharge, ...] = ()) -> None:
        self.trade_status, self.trade_amt, self.exec_log = trade_status, trade_amt, exec_log

    def query_trade(self, merchant_trade_no: str) -> TradeInfo:
        paid = self.trade_status == query.TRADE_STATUS_PAID
        return TradeInfo(
            merchant_id="3002607", merchant_trade_no=merchant_trade_no, trade_no="2701151000000001",
            trade_amt=self.trade_amt, trade_status=self.trade_status,
            payment_type="Credit_CreditCard",
            payment_date=datetime(2027, 1, 15, 1, 0, tzinfo=UTC) if paid else None,
            trade_date=datetime(2027, 1, 15, 0, 50, tzinfo=UTC), handling_charge=None,
            payment_type_charge_fee=None,
        )

    def query_period(self, merchant_trade_no: str) -> PeriodInfo:
        return PeriodInfo(
            merchant_id="3002607", merchant_trade_no=merchant_trade_no, trade_no="2701100200000001",
            rtn_code=1, period_type="M", frequency=1, exec_times=12, period_amount=990,
            first_amount=990, total_success_times=1, total_success_amount=990, exec_status="1",
            exec_log=self.exec_log,
        )


def _charge(rtn_code: int, process_date: datetime | None, gwsr: str) -> query.PeriodCharge:
    return query.PeriodCharge(rtn_code=rtn_code, amount=990, process_date=process_date,
                              gwsr=gwsr, auth_code="777777" if rtn_code == 1 else "")


def _reconcile(session: Session, clock: FixedClock, settings: Settings, order: Order,
               gateway: _Gateway) -> reconciliation.ReconcileResult:
    result = reconciliation.reconcile_order(session, clock, RecordingJobs(), gateway, settings,
                                            order_id=order.id)
    session.commit()
    session.expire_all()
    return result


def _count(session: Session, model: Any, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _card_renewal(session: Session) -> tuple[Subscription, Order]:
    """A card subscription whose agreement paid the first period; the second's order waits."""
    plan = make_plan(session, name="Pro")
    sub = make_subscription(
        session, make_user(session), plan, status="active", anchor_date=ANCHOR,
        start_date=ANCHOR, end_date=SECOND_PERIOD, payment_method="credit_card",
    )
    first = make_order(session, sub, status="completed", paid_at=ANCHOR)
    sub.period_agreement_no = first.order_number
    session.add(CardAgreement(
        subscription_id=sub.id, merchant_trade_no=first.order_number, status="active",
        period_type="M", frequency=1, exec_times=12, period_amount=990,
        first_charged_at=ANCHOR, first_period_index=0, cancel_attempts=0,
    ))
    renewal = make_order(session, sub, is_renewal=True, period_start=SECOND_PERIOD,
                         period_end=add_cycles(ANCHOR, BillingCycle.MONTHLY, 2))
    session.commit()
    return sub, renewal


def test_a_paid_charge_on_the_period_date_completes_the_renewal_order(
    session: Session, clock: FixedClock, wsettings: Settings
) -> None:
    # The control for the test below: the same date, paid, is this period's charge.
    sub, renewal = _card_renewal(session)
    paid = _Gateway(exec_log=(_charge(1, SECOND_PERIOD + timedelta(hours=1), "30001"),))

    assert _reconcile(session, clock, wsettings, renewal, paid).outcome == "completed"
    assert session.get_one(Order, renewal.id).status == "completed"
    assert _count(session, PeriodCharge, PeriodCharge.order_id == renewal.id) == 1
    assert session.get_one(Subscription, sub.id).end_date == renewal.period_end


def test_declined_and_not_yet_run_periodic_charges_are_not_applied(
    session: Session, clock: FixedClock, wsettings: Settings
) -> None:
    sub, renewal = _card_renewal(session)
    log = (
        _charge(10100058, SECOND_PERIOD + timedelta(hours=1), "30001"),  # declined that day
        _charge(1, None, ""),  # scheduled, not run yet: no date
    )

    result = _reconcile(session, clock, wsettings, renewal, _Gateway(exec_log=log))

    assert result.outcome == "waiting"
    order = session.get_one(Order, renewal.id)
    assert (order.status, order.paid_at) == ("pending", None)
    assert session.get_one(Subscription, sub.id).end_date == SECOND_PERIOD  # not extended
    assert _count(session, PeriodCharge) == 0
    assert _count(session, Invoice, Invoice.order_id == renewal.id) == 0


def _checked_out_order(session: Session, clock: FixedClock) -> tuple[Order, PaymentAttempt]:
    plan = make_plan(session, name="Pro")
    sub = make_subscription(session, make_user(session), plan, status="pending")
    order = make_order(session, sub, expire_at=clock.now() + timedelta(days=1))
    attempt = attempts.start(session, clock, order)
    session.commit()
    return order, attempt


def test_a_trade_not_established_fails_the_attempt_and_leaves_the_order_payable(
    session: Session, clock: FixedClock, wsettings: Settings
) -> None:
    order, attempt = _checked_out_order(session, clock)
    gateway = _Gateway(trade_status=query.TRADE_STATUS_NOT_ESTABLISHED)

    assert _reconcile(session, clock, wsettings, order, gateway).outcome == "failed"

    assert session.get_one(PaymentAttempt, attempt.id).status == "failed"
    order = session.get_one(Order, order.id)
    assert order.status == "pending"  # a new checkout can still pay it
    assert "10200095" in (order.failure_reason or "")
    assert session.get_one(Subscription, order.subscription_id).status == "pending"


def test_a_paid_amount_that_is_not_the_orders_is_parked_for_review_not_applied(
    session: Session, clock: FixedClock, wsettings: Settings
) -> None:
    order, attempt = _checked_out_order(session, clock)
    gateway = _Gateway(trade_status=query.TRADE_STATUS_PAID, trade_amt=99)

    assert _reconcile(session, clock, wsettings, order, gateway).outcome == "needs_review"

    [review] = session.scalars(select(PaymentReview)).all()
    assert (review.reason, review.amount, review.order_id) == ("amount_mismatch", 99, order.id)
    assert review.merchant_trade_no == attempt.merchant_trade_no
    assert session.get_one(Order, order.id).status == "pending"
    assert session.get_one(PaymentAttempt, attempt.id).status == "review"
    assert session.get_one(Subscription, order.subscription_id).status == "pending"
    assert _count(session, Invoice) == 0
