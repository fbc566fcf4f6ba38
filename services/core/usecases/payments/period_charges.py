"""Periodic charges (PeriodReturnURL): each matched to its billing period by its own
identity — Gwsr and ProcessDate on the agreement's schedule — never by a running count."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import CardAgreement, Order, PeriodCharge, Plan, Subscription, User
from services.core.db.upsert import insert_for
from services.core.domain.money import to_twd
from services.core.domain.order_numbers import new_order_number
from services.core.domain.periods import BillingCycle, Period, period_at
from services.core.domain.states import (
    OrderStatus,
    PeriodChargeOutcome,
    SubscriptionStatus,
    can_transition_subscription,
)
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import queue_email
from services.core.usecases.payments import agreements
from services.core.usecases.payments.agreements import AgreementStatus
from services.core.usecases.payments.completion import (
    Outcome,
    PaymentResult,
    complete_payment,
    lock_subscription,
)
from services.core.usecases.payments.reviews import ReviewReason, park
from services.core.usecases.webhooks import events
from services.ecpay.notifications import PeriodNotification

log = logging.getLogger(__name__)
# ECPay cancels an agreement after six failed deductions (REFERENCE §5.1).
MAX_DECLINES = 6
_CLOSED = (SubscriptionStatus.CANCELLED.value, SubscriptionStatus.EXPIRED.value)
_OPEN_ORDER = (OrderStatus.PENDING.value, OrderStatus.PROCESSING.value)


def _renewal_order(session: Session, clock: Clock, sub: Subscription, period: Period,
                   amount: int) -> Order:
    """The one order of (subscription, period): created here unless renewals made it first."""
    session.execute(
        insert_for(session)(Order)
        .values(
            id=uuid.uuid4(), order_number=new_order_number(clock.now()), user_id=sub.user_id,
            subscription_id=sub.id, plan_id=sub.plan_id, amount=to_twd(amount), currency="TWD",
            status=str(OrderStatus.PENDING), payment_method="credit_card", is_renewal=True,
            period_start=period.start, period_end=period.end,
        )
        .on_conflict_do_nothing(index_elements=[Order.subscription_id, Order.period_start])
    )
    order = session.scalars(
        select(Order).where(Order.subscription_id == sub.id, Order.period_start == period.start)
        .with_for_update()
    ).one()
    if order.status in _OPEN_ORDER and order.amount != to_twd(amount):
        # The plan's price changed after the agreement was made: the card was charged the
        # agreement's amount (checked against it at intake), and the invoice must say so.
        order.amount = to_twd(amount)
    return order


def _record(session: Session, agreement: CardAgreement, charge: PeriodNotification,
            notification_id: uuid.UUID, index: int | None) -> PeriodCharge:
    row = PeriodCharge(
        agreement_id=agreement.id, notification_id=notification_id, gwsr=charge.gwsr[:30],
        process_date=charge.process_date.astimezone(UTC), amount=to_twd(charge.amount),
        rtn_code=str(charge.rtn_code)[:10], success=charge.paid,
        total_success_times=charge.total_success_times, period_index=index,
        outcome=PeriodChargeOutcome.PENDING.value,
    )
    session.add(row)
    return row


def _already_applied(session: Session, agreement: CardAgreement, gwsr: str) -> bool:
    return bool(gwsr) and session.scalars(
        select(PeriodCharge.id).where(
            PeriodCharge.agreement_id == agreement.id, PeriodCharge.gwsr == gwsr,
            PeriodCharge.success.is_(True),
        )
    ).first() is not None


def record_period_charge(
    session: Session, clock: Clock, jobs: Jobs, *, merchant_trade_no: str,
    charge: PeriodNotification, notification_id: uuid.UUID, settings: Settings | None = None,
) -> PaymentResult:
    """Apply one PeriodReturnURL post: a paid charge completes its period's order, unless
    the agreement or subscription is closed or the period was paid another way — then the
    money is recorded and parked for review and never extends the subscription."""
    agreement = agreements.by_trade_no(session, merchant_trade_no)
    if agreement is None:
        return _unmatched(session, charge, notification_id, "no card agreement of ours")
    sub = lock_subscription(session, agreement.subscription_id)
    index = agreement.first_period_index + agreements.charge_index(agreement, charge.process_date)
    if charge.paid and _already_applied(session, agreement, charge.gwsr):
        return PaymentResult(None, Outcome.ALREADY_COMPLETED)
    row = _record(session, agreement, charge, notification_id, index)
    _cross_check(session, agreement, charge, index)
    if not charge.paid:
        row.outcome = PeriodChargeOutcome.DECLINED.value
        return _declined(session, clock, jobs, agreement, sub, charge, notification_id)
    return _apply_paid(session, clock, jobs, agreement, sub, charge, row, settings)


def _apply_paid(session: Session, clock: Clock, jobs: Jobs, agreement: CardAgreement,
                sub: Subscription, charge: PeriodNotification, row: PeriodCharge,
                settings: Settings | None) -> PaymentResult:
    key = f"period:{agreement.merchant_trade_no}:{charge.gwsr or row.notification_id}"
    reason = None
    if agreement.status != AgreementStatus.ACTIVE:
        reason = ReviewReason.CHARGE_AFTER_CANCEL, f"agreement is {agreement.status}"
    elif sub.status in _CLOSED:
        reason = ReviewReason.SUBSCRIPTION_CLOSED, f"subscription is {sub.status}"
    elif row.period_index is None or row.period_index < 1:
        reason = ReviewReason.UNMATCHED_CHARGE, "charge falls in the period paid at checkout"
    if reason is not None:
        row.outcome = PeriodChargeOutcome.REVIEW.value
        return _park_charge(session, sub, agreement, charge, row, key, *reason)
    plan = session.get_one(Plan, sub.plan_id)
    assert sub.anchor_date is not None and row.period_index is not None  # noqa: S101
    period = period_at(sub.anchor_date, BillingCycle.parse(plan.billing_cycle), row.period_index)
    order = _renewal_order(session, clock, sub, period, charge.amount)
    row.order_id = order.id
    result = complete_payment(
        session, clock, jobs, order_id=order.id, trade_no=charge.gwsr, paid_at=charge.process_date,
        amount=charge.amount, payment_type="Credit_CreditCard", raw=charge.raw, source="period",
        settings=settings, source_key=key, by_agreement=True,
    )
    if result.outcome is Outcome.COMPLETED:
        row.outcome = PeriodChargeOutcome.APPLIED.value
    elif result.outcome is Outcome.ALREADY_COMPLETED:
        # The period was paid another way (by link, ATM): this charge is a second payment.
        row.outcome = PeriodChargeOutcome.REVIEW.value
        return _park_charge(session, sub, agreement, charge, row, key,
                            ReviewReason.PERIOD_ALREADY_PAID,
                            f"period {period.start.date()} was already paid")
    else:
        row.outcome = PeriodChargeOutcome.REVIEW.value
    _end_if_used_up(session, clock, jobs, agreement, sub, charge)
    return result


def _park_charge(session: Session, sub: Subscription, agreement: CardAgreement,
                 charge: PeriodNotification, row: PeriodCharge, key: str, reason: ReviewReason,
                 detail: str) -> PaymentResult:
    review_id = park(
        session, source_key=key, reason=reason, arrived_at=charge.process_date.astimezone(UTC),
        detail=f"periodic charge {charge.gwsr}: {detail}", amount=to_twd(charge.amount),
        merchant_trade_no=agreement.merchant_trade_no, gateway_trade_no=charge.gwsr,
        order_id=row.order_id, subscription_id=sub.id, notification_id=row.notification_id,
        user_id=sub.user_id,
    )
    return PaymentResult(row.order_id, Outcome.NEEDS_REVIEW, review_id=review_id)


def _unmatched(session: Session, charge: PeriodNotification, notification_id: uuid.UUID,
               detail: str) -> PaymentResult:
    if not charge.paid:
        return PaymentResult(None, Outcome.IGNORED)
    review_id = park(
        session, source_key=f"notification:{notification_id}",
        reason=ReviewReason.UNMATCHED_CHARGE, arrived_at=charge.process_date.astimezone(UTC),
        detail=f"periodic charge {charge.gwsr} for {charge.merchant_trade_no}: {detail}",
        amount=to_twd(charge.amount), merchant_trade_no=charge.merchant_trade_no,
        gateway_trade_no=charge.gwsr, notification_id=notification_id,
    )
    return PaymentResult(None, Outcome.NEEDS_REVIEW, review_id=review_id)


def _cross_check(session: Session, agreement: CardAgreement, charge: PeriodNotification,
                 index: int) -> None:
    # TotalSuccessTimes counts successes only; a decline makes it lag the schedule. That is
    # expected and harmless here, but worth a line for whoever reads the books.
    expected = index - agreement.first_period_index + 1
    if charge.paid and charge.total_success_times > expected:
        log.warning("agreement %s: charge %s says %d successes, schedule says at most %d",
                    agreement.merchant_trade_no, charge.gwsr, charge.total_success_times,
                    expected)


def _declined(session: Session, clock: Clock, jobs: Jobs, agreement: CardAgreement,
              sub: Subscription, charge: PeriodNotification,
              notification_id: uuid.UUID) -> PaymentResult:
    """The period becomes payable by link (dunning); six declines end the agreement."""
    previous = sub.status
    if sub.status not in _CLOSED and can_transition_subscription(
            previous, SubscriptionStatus.PAST_DUE):
        sub.status = SubscriptionStatus.PAST_DUE.value
    reason = f"{charge.rtn_code} {charge.rtn_msg}".strip()
    audit.record(
        session, audit.SYSTEM, "renewal.charge_failed", resource_type="subscription",
        resource_id=sub.id, user_id=sub.user_id, description=reason,
        meta={"from": previous, "to": sub.status, "agreement": charge.merchant_trade_no},
    )
    events.subscription_changed(session, clock.now(), sub, previous, jobs=jobs)
    if sub.status not in _CLOSED:
        queue_email(
            session, jobs, template="payment_failed", user=session.get_one(User, sub.user_id),
            event_key=f"payment_failed:period:{notification_id}",
            context={"subscription_id": str(sub.id), "reason": reason},
        )
    declines = session.scalar(
        select(func.count()).select_from(PeriodCharge).where(
            PeriodCharge.agreement_id == agreement.id, PeriodCharge.success.is_(False))
    ) or 0
    if declines >= MAX_DECLINES:
        agreements.mark_ended(session, clock, jobs, agreement, sub,
                              f"ECPay stops an agreement after {MAX_DECLINES} declined charges")
    return PaymentResult(None, Outcome.RENEWAL_FAILED)


def _end_if_used_up(session: Session, clock: Clock, jobs: Jobs, agreement: CardAgreement,
                    sub: Subscription, charge: PeriodNotification) -> None:
    if charge.total_success_times >= agreement.exec_times:
        agreements.mark_ended(session, clock, jobs, agreement, sub,
                              f"all {agreement.exec_times} charges of the agreement are used")
