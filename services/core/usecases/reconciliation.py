"""Reconciliation: ask ECPay about orders left open, so a lost callback never loses a payment."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import Order, PaymentAttempt, PeriodCharge, Plan, Subscription
from services.core.domain.money import to_twd
from services.core.domain.periods import BillingCycle, period_number
from services.core.domain.states import OrderStatus, PeriodChargeOutcome
from services.core.ports import Jobs
from services.core.usecases import audit, credits
from services.core.usecases.payment_processing import complete_payment, fail_payment
from services.core.usecases.payments import agreements, attempts
from services.core.usecases.payments.attempts import AttemptStatus
from services.core.usecases.payments.completion import Outcome
from services.core.usecases.renewals import waits_for_period_charge
from services.core.usecases.test_clocks import scope
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


# Closed attempts are still asked about for this long, every RECHECK_CLOSED: paid at ECPay
# but failed, expired or cancelled here is money that must not be lost.
LOOK_BACK = timedelta(days=7)
RECHECK_CLOSED = timedelta(hours=6)
_RECHECKABLE = (AttemptStatus.OPEN.value, AttemptStatus.FAILED.value,
                AttemptStatus.EXPIRED.value)


def _ready(order: Order, sub: Subscription, now: datetime) -> bool:
    if order.status not in OPEN:
        return True  # a closed order's attempts are checked once their window allows
    if order.is_renewal and waits_for_period_charge(sub):
        return order.period_start is not None and order.period_start + PERIOD_CHARGE_WAIT <= now
    return order.created_at <= now - CHECKOUT_WAIT


def due_for_reconciliation(session: Session, clock: Clock, *, limit: int = 200) -> list[uuid.UUID]:
    """Orders with an attempt worth asking ECPay about: open ones past their expected time,
    and recent failed or expired ones (ECPay may have been paid after all). Attempts never
    asked come first, then the least recently asked, so no backlog starves new orders."""
    now = clock.now()
    rows = session.execute(
        select(Order, Subscription)
        .join(PaymentAttempt, PaymentAttempt.order_id == Order.id)
        .join(Subscription, Subscription.id == Order.subscription_id)
        .where(
            PaymentAttempt.created_at >= now - LOOK_BACK,
            PaymentAttempt.created_at <= now - CHECKOUT_WAIT,
            scope.customers(Order.user_id, None),  # a test clock's orders are not asked about
            or_(
                and_(PaymentAttempt.status == AttemptStatus.OPEN.value,
                     or_(PaymentAttempt.checked_at.is_(None),
                         PaymentAttempt.checked_at <= now - CHECKOUT_WAIT)),
                and_(PaymentAttempt.status.in_(_RECHECKABLE),
                     or_(PaymentAttempt.checked_at.is_(None),
                         PaymentAttempt.checked_at <= now - RECHECK_CLOSED)),
            ),
        )
        .order_by(PaymentAttempt.checked_at.asc().nulls_first(), PaymentAttempt.created_at.desc())
        .limit(limit * 4)
    ).all()
    due: list[uuid.UUID] = []
    for order, sub in rows:
        if order.id not in due and _ready(order, sub, now):
            due.append(order.id)
    due.extend(_open_without_attempts(session, now, limit))
    return list(dict.fromkeys(due))[:limit]


def _open_without_attempts(session: Session, now: datetime, limit: int) -> list[uuid.UUID]:
    """Open orders no checkout ever started: renewal orders a card agreement pays (past the
    charge day), and orders whose payment window may have to be closed."""
    rows = session.execute(
        select(Order, Subscription)
        .join(Subscription, Subscription.id == Order.subscription_id)
        .where(Order.status.in_(OPEN), scope.customers(Order.user_id, None),
               or_(Order.created_at <= now - CHECKOUT_WAIT, Order.is_renewal.is_(True)),
               ~exists().where(PaymentAttempt.order_id == Order.id))
        .order_by(Order.created_at.desc())
        .limit(limit)
    ).all()
    return [order.id for order, sub in rows if _ready(order, sub, now)]


def enqueue_due(session: Session, clock: Clock, jobs: Jobs) -> int:
    ids = due_for_reconciliation(session, clock)
    for order_id in ids:
        jobs.enqueue("reconcile_order", str(order_id), job_id=f"reconcile-{order_id}")
    return len(ids)


def _deadline(order: Order, attempt_deadline: datetime | None) -> datetime:
    own = order.expire_at or order.created_at + DEFAULT_DEADLINE
    return max(own, attempt_deadline) if attempt_deadline else own


def _close_expired(session: Session, clock: Clock, order_id: uuid.UUID) -> ReconcileResult:
    order = session.scalars(select(Order).where(Order.id == order_id).with_for_update()).one()
    if order.status not in OPEN:
        return ReconcileResult("already_closed", order.status)
    order.status = OrderStatus.CANCELLED.value
    order.failure_reason = "payment window ended unpaid (reconciliation)"
    attempts.expire_open(session, order.id, "payment window ended unpaid")
    credits.release_from_order(session, order)
    audit.record(
        session, audit.SYSTEM, "payment.expired", resource_type="order", resource_id=order.id,
        user_id=order.user_id, meta={"source": "reconciliation"},
    )
    return ReconcileResult("cancelled")


def _query_trade(gateway: TradeGateway, attempt: PaymentAttempt) -> TradeInfo | None:
    """ECPay's answer about one attempt; None when ECPay has never seen it."""
    try:
        info = gateway.query_trade(attempt.merchant_trade_no)
    except EcpayResponseError as exc:
        if NOT_FOUND_CODE in exc.message:
            return None
        raise
    if info.trade_status == NOT_FOUND_CODE:
        return None
    if info.merchant_trade_no != attempt.merchant_trade_no:
        raise EcpayResponseError(
            f"asked about {attempt.merchant_trade_no}, ECPay answered {info.merchant_trade_no}"
        )
    return info


def _from_trade(
    session: Session, clock: Clock, jobs: Jobs, settings: Settings, order: Order,
    attempt: PaymentAttempt, info: TradeInfo | None,
) -> ReconcileResult:
    attempt.checked_at = clock.now()
    if info is not None and info.paid:
        result = complete_payment(
            session, clock, jobs, order_id=order.id, trade_no=info.trade_no,
            paid_at=info.payment_date or clock.now(), amount=info.trade_amt,
            payment_type=info.payment_type, raw=dict(info.raw), source="reconciliation",
            settings=settings, attempt_id=attempt.id,
            source_key=f"reconciliation:{attempt.merchant_trade_no}:{info.trade_no}",
        )
        return ReconcileResult(str(result.outcome))
    if info is not None and info.trade_status == TRADE_STATUS_NOT_ESTABLISHED:
        fail_payment(
            session, clock, jobs, order_id=order.id, source="reconciliation",
            reason=f"ECPay: transaction not established ({info.trade_status})",
            attempt_id=attempt.id,
        )
        return ReconcileResult("failed")
    return ReconcileResult("waiting", "unpaid at ECPay")


def _reconcile_attempts(
    session: Session, clock: Clock, jobs: Jobs, gateway: TradeGateway, settings: Settings,
    order: Order,
) -> ReconcileResult:
    now = clock.now()
    candidates = list(session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order.id,
                                     PaymentAttempt.status.in_(_RECHECKABLE))
        .order_by(PaymentAttempt.created_at)
    ))
    if not candidates and order.status in OPEN:
        # Never checked out here: the order's own number is what ECPay would know.
        candidates = [attempts.for_order(session, clock, order)]
    result = ReconcileResult("waiting", "no attempt to ask about")
    for attempt in candidates:
        info = _query_trade(gateway, attempt)
        result = _from_trade(session, clock, jobs, settings, order, attempt, info)
        if result.outcome not in ("waiting", "failed"):
            return result
    session.refresh(order)
    deadline = _deadline(order, attempts.live_offline_deadline(session, order.id, now))
    if order.status in OPEN and now >= deadline:
        return _close_expired(session, clock, order.id)
    return result


def _from_period(
    session: Session, clock: Clock, jobs: Jobs, settings: Settings, order: Order,
    sub: Subscription, info: PeriodInfo,
) -> ReconcileResult:
    """Find the charge of this order's period in ECPay's log by its date on the agreement's
    schedule (never by counting successes); a paid one means its PeriodReturnURL was lost.
    An agreement ECPay reports stopped falls back to payment links."""
    agreement = agreements.by_trade_no(session, info.merchant_trade_no)
    plan = session.get_one(Plan, sub.plan_id)
    if agreement is None or sub.anchor_date is None or order.period_start is None:
        return ReconcileResult("waiting", "no period to match")
    if info.exec_status in ("0", "2"):
        why = f"ECPay reports the agreement stopped (ExecStatus {info.exec_status})"
        agreements.mark_ended(session, clock, jobs, agreement, sub, why)
    n = period_number(sub.anchor_date, BillingCycle.parse(plan.billing_cycle), order.period_start)
    for charge in info.exec_log:
        if charge.rtn_code != 1 or charge.process_date is None:
            continue
        if agreement.first_period_index + agreements.charge_index(agreement,
                                                                  charge.process_date) != n:
            continue
        result = complete_payment(
            session, clock, jobs, order_id=order.id, trade_no=charge.gwsr or info.trade_no,
            paid_at=charge.process_date, amount=charge.amount, payment_type="Credit_CreditCard",
            raw={"gwsr": charge.gwsr, "auth_code": charge.auth_code, "amount": charge.amount},
            source="reconciliation:period", settings=settings, by_agreement=True,
            source_key=f"period:{agreement.merchant_trade_no}:{charge.gwsr}",
        )
        if result.outcome is Outcome.COMPLETED:
            session.add(PeriodCharge(
                agreement_id=agreement.id, gwsr=charge.gwsr[:30], process_date=charge.process_date,
                amount=to_twd(charge.amount), rtn_code="1", success=True, period_index=n,
                order_id=order.id, outcome=PeriodChargeOutcome.APPLIED.value,
            ))
        return ReconcileResult(str(result.outcome))
    return ReconcileResult("waiting", f"no paid charge for period {n} yet")


def reconcile_order(
    session: Session, clock: Clock, jobs: Jobs, gateway: TradeGateway, settings: Settings, *,
    order_id: uuid.UUID,
) -> ReconcileResult:
    """Bring one order in line with what ECPay knows, attempt by attempt.

    Paid at ECPay → complete_payment (its order lock makes a racing callback harmless; a
    second or late payment is parked for review); not established → that attempt failed;
    unpaid past the deadline (the latest live code's included) → cancelled. ECPay errors
    propagate so the job retries. HTTP calls happen before any row lock.
    """
    order = session.get(Order, order_id)
    if order is None:
        return ReconcileResult("already_closed", "missing")
    sub = session.get_one(Subscription, order.subscription_id)
    if order.status in OPEN and order.is_renewal and waits_for_period_charge(sub):
        assert sub.period_agreement_no is not None  # noqa: S101 - checked by waits_for_…
        info = gateway.query_period(sub.period_agreement_no)
        return _from_period(session, clock, jobs, settings, order, sub, info)
    return _reconcile_attempts(session, clock, jobs, gateway, settings, order)
