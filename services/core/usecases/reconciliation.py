"""Reconciliation: ask ECPay about orders left open, so a lost callback never loses a payment."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import Order, Plan, Subscription
from services.core.domain.periods import BillingCycle, period_number
from services.core.domain.states import OrderStatus
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.payment_processing import complete_payment, fail_payment
from services.core.usecases.renewals import waits_for_period_charge
from services.ecpay.errors import EcpayResponseError
from services.ecpay.query import TRADE_STATUS_NOT_ESTABLISHED, PeriodInfo, TradeInfo

log = logging.getLogger(__name__)

OPEN = (OrderStatus.PENDING.value, OrderStatus.PROCESSING.value)
# A checkout normally ends (paid or abandoned) well within this; then we ask ECPay.
CHECKOUT_WAIT = timedelta(minutes=30)
# ECPay runs a periodic charge on the period's first day; its PeriodReturnURL may lag.
PERIOD_CHARGE_WAIT = timedelta(hours=6)
# An order without its own deadline (expire_at) stops waiting for payment after this.
DEFAULT_DEADLINE = timedelta(days=3)
# ECPay's "trade not found" code: the customer never reached checkout with this number.
NOT_FOUND_CODE = "10200047"


class TradeGateway(Protocol):
    """What reconciliation asks ECPay (services.ecpay.client.EcpayClient fits)."""

    def query_trade(self, merchant_trade_no: str) -> TradeInfo: ...

    def query_period(self, merchant_trade_no: str) -> PeriodInfo: ...


@dataclass(frozen=True)
class ReconcileResult:
    outcome: str  # completed | already_closed | waiting | failed | cancelled | mismatch
    detail: str = ""


def due_for_reconciliation(session: Session, clock: Clock, *, limit: int = 200) -> list[uuid.UUID]:
    """Open orders past their expected time (periodic renewals: past the charge day)."""
    now = clock.now()
    rows = session.execute(
        select(Order, Subscription)
        .join(Subscription, Subscription.id == Order.subscription_id)
        .where(
            Order.status.in_(OPEN),
            or_(Order.created_at <= now - CHECKOUT_WAIT, Order.is_renewal.is_(True)),
        )
        .order_by(Order.created_at)
        .limit(limit * 4)
    ).all()
    due: list[uuid.UUID] = []
    for order, sub in rows:
        if order.is_renewal and waits_for_period_charge(sub):
            ready = (
                order.period_start is not None and order.period_start + PERIOD_CHARGE_WAIT <= now
            )
        else:
            ready = order.created_at <= now - CHECKOUT_WAIT
        if ready:
            due.append(order.id)
    return due[:limit]


def enqueue_due(session: Session, clock: Clock, jobs: Jobs) -> int:
    ids = due_for_reconciliation(session, clock)
    for order_id in ids:
        jobs.enqueue("reconcile_order", str(order_id), job_id=f"reconcile-{order_id}")
    return len(ids)


def _deadline(order: Order) -> datetime:
    return order.expire_at or order.created_at + DEFAULT_DEADLINE


def _close_expired(session: Session, clock: Clock, order_id: uuid.UUID) -> ReconcileResult:
    order = session.scalars(select(Order).where(Order.id == order_id).with_for_update()).one()
    if order.status not in OPEN:
        return ReconcileResult("already_closed", order.status)
    order.status = OrderStatus.CANCELLED.value
    order.failure_reason = "payment window ended unpaid (reconciliation)"
    audit.record(
        session,
        audit.SYSTEM,
        "payment.expired",
        resource_type="order",
        resource_id=order.id,
        user_id=order.user_id,
        meta={"source": "reconciliation"},
    )
    return ReconcileResult("cancelled")


def _query_trade(gateway: TradeGateway, order: Order) -> TradeInfo | None:
    try:
        return gateway.query_trade(order.order_number)
    except EcpayResponseError as exc:
        if NOT_FOUND_CODE in exc.message:
            return None
        raise


def _from_trade(
    session: Session,
    clock: Clock,
    jobs: Jobs,
    settings: Settings,
    order: Order,
    info: TradeInfo | None,
) -> ReconcileResult:
    now = clock.now()
    if info is not None and info.paid:
        if Decimal(info.trade_amt) != order.amount:
            audit.record(
                session,
                audit.SYSTEM,
                "payment.reconcile_mismatch",
                resource_type="order",
                resource_id=order.id,
                user_id=order.user_id,
                description=f"ECPay paid {info.trade_amt}, order is {order.amount}",
            )
            return ReconcileResult("mismatch", f"ECPay amount {info.trade_amt}")
        result = complete_payment(
            session,
            clock,
            jobs,
            order_id=order.id,
            trade_no=info.trade_no,
            paid_at=info.payment_date or now,
            amount=info.trade_amt,
            payment_type=info.payment_type,
            raw=dict(info.raw),
            source="reconciliation",
            settings=settings,
        )
        return ReconcileResult(str(result.outcome))
    if info is not None and info.trade_status == TRADE_STATUS_NOT_ESTABLISHED:
        fail_payment(
            session,
            clock,
            jobs,
            order_id=order.id,
            source="reconciliation",
            reason=f"ECPay: transaction not established ({info.trade_status})",
        )
        return ReconcileResult("failed")
    if now >= _deadline(order):
        return _close_expired(session, clock, order.id)
    return ReconcileResult("waiting", "unpaid at ECPay")


def _from_period(
    session: Session,
    clock: Clock,
    jobs: Jobs,
    settings: Settings,
    order: Order,
    sub: Subscription,
    info: PeriodInfo,
) -> ReconcileResult:
    """Charge n+1 pays period n (charge 1 was the checkout), as the PeriodReturnURL handler
    reads it; a successful charge with that number means the callback was lost."""
    plan = session.get_one(Plan, sub.plan_id)
    if sub.anchor_date is None or order.period_start is None:
        return ReconcileResult("waiting", "no period to match")
    n = period_number(sub.anchor_date, BillingCycle.parse(plan.billing_cycle), order.period_start)
    paid = [charge for charge in info.exec_log if charge.rtn_code == 1]
    if n < 1 or len(paid) <= n:
        return ReconcileResult("waiting", f"{len(paid)} successful charges, period {n}")
    charge = paid[n]
    result = complete_payment(
        session,
        clock,
        jobs,
        order_id=order.id,
        trade_no=charge.trade_no or info.trade_no,
        paid_at=charge.process_date or clock.now(),
        amount=charge.amount,
        payment_type="Credit_CreditCard",
        raw={"gwsr": charge.gwsr, "auth_code": charge.auth_code, "amount": charge.amount},
        source="reconciliation:period",
        settings=settings,
    )
    return ReconcileResult(str(result.outcome))


def reconcile_order(
    session: Session,
    clock: Clock,
    jobs: Jobs,
    gateway: TradeGateway,
    settings: Settings,
    *,
    order_id: uuid.UUID,
) -> ReconcileResult:
    """Bring one open order in line with what ECPay knows.

    Paid at ECPay → complete_payment (its order lock makes a racing callback harmless);
    not established → failed; unpaid past the deadline → cancelled; else keep waiting.
    ECPay errors propagate so the job retries. The HTTP call happens before any row lock.
    """
    order = session.get(Order, order_id)
    if order is None or order.status not in OPEN:
        return ReconcileResult("already_closed", order.status if order else "missing")
    sub = session.get_one(Subscription, order.subscription_id)
    if order.is_renewal and waits_for_period_charge(sub):
        assert sub.period_agreement_no is not None  # noqa: S101 - checked by waits_for_…
        info = gateway.query_period(sub.period_agreement_no)
        return _from_period(session, clock, jobs, settings, order, sub, info)
    return _from_trade(session, clock, jobs, settings, order, _query_trade(gateway, order))
