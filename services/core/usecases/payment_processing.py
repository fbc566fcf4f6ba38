"""Processing a payment: order completed, invoice issued, subscription period — exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.crypto import encrypt_json
from services.core.db.invoice_numbers import allocate_invoice_number
from services.core.db.models import Invoice, Order, PaymentNotification, Plan, Subscription, User
from services.core.db.upsert import insert_for
from services.core.domain.money import split_tax_included, to_twd
from services.core.domain.order_numbers import new_order_number
from services.core.domain.periods import TAIPEI, BillingCycle, Period, add_cycles, period_at
from services.core.domain.states import (
    OrderStatus,
    SubscriptionStatus,
    can_transition_subscription,
    check_order_transition,
)
from services.core.errors import DomainError, NotFound
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import queue_email
from services.core.usecases.payment_notifications import Kind, Verdict
from services.ecpay.notifications import PaymentInfoNotification, PeriodNotification
from services.ecpay.notifications import PaymentNotification as ReturnNotification

INVOICE_PDF_JOB = "render_invoice_pdf"
_OPEN = (OrderStatus.PENDING, OrderStatus.PROCESSING)


class Outcome(StrEnum):
    COMPLETED = "completed"
    ALREADY_COMPLETED = "already_completed"
    FAILED = "failed"
    ALREADY_CLOSED = "already_closed"  # a result for an order that is no longer open
    INSTRUCTIONS = "instructions"  # ATM/CVS/barcode details stored, customer e-mailed
    CODE_NOT_ISSUED = "code_not_issued"
    RENEWAL_FAILED = "renewal_failed"  # a periodic charge was declined
    ALREADY_PROCESSED = "already_processed"
    IGNORED = "ignored"  # not an accepted notification
    NEEDS_REVIEW = "needs_review"  # money moved but a rule forbids applying it


@dataclass(frozen=True)
class PaymentResult:
    order_id: uuid.UUID | None
    outcome: Outcome
    invoice_id: uuid.UUID | None = None


def _lock_order(session: Session, order_id: uuid.UUID) -> Order:
    order = session.scalars(
        select(Order).where(Order.id == order_id).with_for_update()
    ).one_or_none()
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def _lock_subscription(session: Session, subscription_id: uuid.UUID) -> Subscription:
    return session.scalars(
        select(Subscription).where(Subscription.id == subscription_id).with_for_update()
    ).one()


def following_period(anchor: datetime, cycle: BillingCycle, current_end: datetime) -> Period:
    """From `current_end` to the next boundary counted from the anchor (anchor day kept)."""
    count = 1
    while (end := add_cycles(anchor, cycle, count)) <= current_end:
        count += 1
    return Period(current_end, end)


def _period_paid(order: Order, sub: Subscription, cycle: BillingCycle, paid_at: datetime) -> Period:
    if order.period_start is not None and order.period_end is not None:
        return Period(order.period_start, order.period_end)
    if sub.anchor_date is None or sub.end_date is None:
        return Period(paid_at, add_cycles(paid_at, cycle, 1))
    # A renewal extends from the previous end, never from the payment date.
    return following_period(sub.anchor_date, cycle, sub.end_date)


def _activate(
    session: Session, order: Order, sub: Subscription, plan: Plan, paid_at: datetime
) -> Period:
    period = _period_paid(order, sub, BillingCycle.parse(plan.billing_cycle), paid_at)
    order.period_start, order.period_end = period.start, period.end
    if sub.anchor_date is None:
        sub.anchor_date = period.start
        sub.start_date = period.start
    if sub.end_date is None or period.end > sub.end_date:
        sub.end_date = period.end
    sub.payment_method = order.payment_method
    if (order.payment_info or {}).get("periodic"):
        sub.period_agreement_no = order.order_number
    previous = sub.status
    if previous != SubscriptionStatus.ACTIVE:
        if can_transition_subscription(previous, SubscriptionStatus.ACTIVE):
            sub.status = SubscriptionStatus.ACTIVE
        else:
            # Paid for a subscription that cannot come back (cancelled/expired): the money
            # is recorded and invoiced; a person decides between reactivation and refund.
            audit.record(
                session, audit.SYSTEM, "subscription.payment_needs_review",
                resource_type="subscription", resource_id=sub.id, user_id=sub.user_id,
                description=f"order {order.order_number} paid while the subscription is "
                f"{previous}",
            )
            return period
    action = "subscription.renewed" if order.is_renewal else "subscription.activated"
    audit.record(
        session, audit.SYSTEM, action,
        resource_type="subscription", resource_id=sub.id, user_id=sub.user_id,
        meta={"from": previous, "start": period.start.isoformat(), "end": period.end.isoformat()},
    )
    return period


def _buyer_name(user: User) -> str:
    full = f"{user.last_name}{user.first_name}".strip()
    return (user.company_name or full or user.username)[:200]


def _issue_invoice(
    session: Session, clock: Clock, order: Order, user: User, plan: Plan, period: Period
) -> Invoice:
    issued_at = clock.now()
    split = split_tax_included(order.amount)
    first, last = (d.astimezone(TAIPEI).date().isoformat() for d in (period.start, period.end))
    invoice = Invoice(
        invoice_number=allocate_invoice_number(session, issued_at.astimezone(TAIPEI).year),
        order_id=order.id, user_id=order.user_id, amount=split.amount, tax_amount=split.tax,
        total_amount=split.total, currency=order.currency, buyer_name=_buyer_name(user),
        buyer_email=user.email, buyer_tax_id=user.tax_id or "",
        description=f"{plan.name} {first} – {last}"[:200], issued_at=issued_at,
        paid_at=order.paid_at,
    )
    session.add(invoice)
    session.flush()  # the unique order_id is the last guard against a second invoice
    return invoice


def complete_payment(
    session: Session,
    clock: Clock,
    jobs: Jobs,
    *,
    order_id: uuid.UUID,
    trade_no: str,
    paid_at: datetime,
    amount: Any,
    payment_type: str,
    raw: Mapping[str, Any],
    source: str,
    settings: Settings | None = None,
) -> PaymentResult:
    """Complete a paid order in the caller's transaction; a second call changes nothing.

    The order row lock serialises every path (callbacks, periodic charges, reconciliation):
    whoever comes second sees `completed` and returns `already_completed`.
    Raises DomainError (before changing anything) when the order cannot be completed.
    """
    order = _lock_order(session, order_id)
    if order.status == OrderStatus.COMPLETED:
        existing = session.scalars(select(Invoice.id).where(Invoice.order_id == order.id)).first()
        return PaymentResult(order.id, Outcome.ALREADY_COMPLETED, existing)
    check_order_transition(order.status, OrderStatus.COMPLETED)
    if to_twd(amount) != order.amount:
        raise DomainError(f"paid {amount} but order {order.order_number} is {order.amount}")
    sub = _lock_subscription(session, order.subscription_id)
    plan, user = session.get_one(Plan, order.plan_id), session.get_one(User, order.user_id)
    order.status = OrderStatus.COMPLETED
    order.paid_at = paid_at.astimezone(UTC)
    order.ecpay_trade_no = trade_no[:20] or order.ecpay_trade_no
    order.payment_data = encrypt_json(
        {"source": source, "payment_type": payment_type, "fields": dict(raw)}, settings
    )
    period = _activate(session, order, sub, plan, order.paid_at)
    invoice = _issue_invoice(session, clock, order, user, plan, period)
    audit.record(
        session, audit.SYSTEM, "payment.completed", resource_type="order", resource_id=order.id,
        user_id=order.user_id, description=f"{order.order_number} paid by {payment_type}",
        meta={"source": source, "trade_no": trade_no, "amount": str(order.amount),
              "invoice_number": invoice.invoice_number},
    )
    queue_email(
        session, jobs, template="payment_confirmation", user=user,
        event_key=f"payment_confirmation:{order.id}",
        # The e-mail reads the order, its period and invoice by id (formatted its own way).
        context={"order_id": str(order.id), "invoice_id": str(invoice.id)},
    )
    jobs.enqueue(INVOICE_PDF_JOB, str(invoice.id), job_id=f"invoice-pdf-{invoice.id}")
    return PaymentResult(order.id, Outcome.COMPLETED, invoice.id)


def fail_payment(
    session: Session, clock: Clock, jobs: Jobs, *, order_id: uuid.UUID, reason: str, source: str
) -> PaymentResult:
    """Mark an open order failed with ECPay's reason, once; closed orders stay as they are."""
    order = _lock_order(session, order_id)
    if order.status not in _OPEN:
        return PaymentResult(order.id, Outcome.ALREADY_CLOSED)
    order.status = OrderStatus.FAILED
    order.failure_reason = reason[:200]
    audit.record(
        session, audit.SYSTEM, "payment.failed", resource_type="order", resource_id=order.id,
        user_id=order.user_id, description=reason[:500], meta={"source": source},
    )
    queue_email(
        session, jobs, template="payment_failed", user=session.get_one(User, order.user_id),
        event_key=f"payment_failed:{order.id}", context={"order_id": str(order.id)},
    )
    return PaymentResult(order.id, Outcome.FAILED)


def record_payment_info(
    session: Session, clock: Clock, jobs: Jobs, *, order_id: uuid.UUID,
    info: PaymentInfoNotification,
) -> PaymentResult:
    """Store the ATM account / CVS code / barcodes on the order and e-mail them (once)."""
    order = _lock_order(session, order_id)
    if order.status not in _OPEN:
        return PaymentResult(order.id, Outcome.ALREADY_CLOSED)
    if not info.issued:
        audit.record(
            session, audit.SYSTEM, "payment.code_not_issued", resource_type="order",
            resource_id=order.id, user_id=order.user_id,
            description=f"{info.rtn_code} {info.rtn_msg}",
        )
        return PaymentResult(order.id, Outcome.CODE_NOT_ISSUED)
    expires = info.expires_at.astimezone(UTC) if info.expires_at else None
    details = {
        "method": info.method, "payment_type": info.payment_type, "trade_no": info.trade_no,
        "bank_code": info.bank_code, "v_account": info.v_account, "payment_no": info.payment_no,
        "barcode1": info.barcodes[0], "barcode2": info.barcodes[1], "barcode3": info.barcodes[2],
        "expire_date": info.raw.get("ExpireDate", ""),  # as ECPay wrote it (Taipei time)
        "expire_at": expires.isoformat() if expires else None,
    }
    order.payment_info = details
    order.expire_at = expires
    order.ecpay_trade_no = info.trade_no[:20] or order.ecpay_trade_no
    if order.status == OrderStatus.PENDING:
        check_order_transition(order.status, OrderStatus.PROCESSING)
        order.status = OrderStatus.PROCESSING
    audit.record(
        session, audit.SYSTEM, "payment.instructions_issued", resource_type="order",
        resource_id=order.id, user_id=order.user_id, meta={"method": info.method},
    )
    queue_email(
        session, jobs, template="payment_instructions",
        user=session.get_one(User, order.user_id), event_key=f"payment_instructions:{order.id}",
        context={"order_id": str(order.id)},
    )
    return PaymentResult(order.id, Outcome.INSTRUCTIONS)


def _renewal_order(
    session: Session, clock: Clock, agreement: Order, sub: Subscription, period: Period,
    amount: int,
) -> Order:
    """The one order of (subscription, period): created here unless renewals made it first."""
    insert = insert_for(session)
    session.execute(
        insert(Order)
        .values(
            id=uuid.uuid4(), order_number=new_order_number(clock.now()), user_id=sub.user_id,
            subscription_id=sub.id, plan_id=sub.plan_id, amount=to_twd(amount),
            currency=agreement.currency, status=str(OrderStatus.PENDING),
            payment_method="credit_card", is_renewal=True, period_start=period.start,
            period_end=period.end,
        )
        .on_conflict_do_nothing(index_elements=[Order.subscription_id, Order.period_start])
    )
    renewal = session.scalars(
        select(Order)
        .where(Order.subscription_id == sub.id, Order.period_start == period.start)
        .with_for_update()
    ).one()
    if renewal.status in _OPEN and renewal.amount != to_twd(amount):
        # The card was charged the agreement's amount; the invoice must say what was paid.
        renewal.amount = to_twd(amount)
    return renewal


def record_period_charge(
    session: Session, clock: Clock, jobs: Jobs, *, agreement_order_id: uuid.UUID,
    charge: PeriodNotification, notification_id: uuid.UUID, settings: Settings | None = None,
) -> PaymentResult:
    """Charge n of a periodic agreement pays period n-1 (charge 1 was the checkout itself).

    The period comes from TotalSuccessTimes, not from today's date, so a re-sent or late
    notification names the same period and the unique (subscription, period_start) holds.
    """
    agreement = session.get_one(Order, agreement_order_id)
    sub = _lock_subscription(session, agreement.subscription_id)
    if not charge.paid:
        return _period_declined(session, jobs, sub, charge, notification_id)
    plan = session.get_one(Plan, sub.plan_id)
    anchor = sub.anchor_date or agreement.paid_at
    if anchor is None or charge.total_success_times < 2:
        raise DomainError(f"periodic charge for {agreement.order_number} before its first payment")
    cycle = BillingCycle.parse(plan.billing_cycle)
    period = period_at(anchor, cycle, charge.total_success_times - 1)
    renewal = _renewal_order(session, clock, agreement, sub, period, charge.amount)
    return complete_payment(
        session, clock, jobs, order_id=renewal.id,
        trade_no=agreement.ecpay_trade_no or charge.gwsr, paid_at=charge.process_date,
        amount=charge.amount, payment_type="Credit_CreditCard", raw=charge.raw, source="period",
        settings=settings,
    )


def _period_declined(
    session: Session, jobs: Jobs, sub: Subscription, charge: PeriodNotification,
    notification_id: uuid.UUID,
) -> PaymentResult:
    previous = sub.status
    if can_transition_subscription(previous, SubscriptionStatus.PAST_DUE):
        sub.status = SubscriptionStatus.PAST_DUE
    reason = f"{charge.rtn_code} {charge.rtn_msg}".strip()
    audit.record(
        session, audit.SYSTEM, "renewal.charge_failed", resource_type="subscription",
        resource_id=sub.id, user_id=sub.user_id, description=reason,
        meta={"from": previous, "to": sub.status, "agreement": charge.merchant_trade_no},
    )
    queue_email(
        session, jobs, template="payment_failed", user=session.get_one(User, sub.user_id),
        event_key=f"payment_failed:period:{notification_id}",
        context={"subscription_id": str(sub.id), "reason": reason},
    )
    return PaymentResult(None, Outcome.RENEWAL_FAILED)


def _dispatch(
    session: Session, clock: Clock, jobs: Jobs, note: PaymentNotification,
    settings: Settings | None,
) -> PaymentResult:
    assert note.order_id is not None  # noqa: S101 - accepted notifications always name an order
    kind = Kind(note.kind)
    if kind is Kind.PAYMENT_INFO:
        info = PaymentInfoNotification.from_form(note.raw)
        return record_payment_info(session, clock, jobs, order_id=note.order_id, info=info)
    if kind is Kind.PERIOD:
        return record_period_charge(
            session, clock, jobs, agreement_order_id=note.order_id,
            charge=PeriodNotification.from_form(note.raw), notification_id=note.id,
            settings=settings,
        )
    result = ReturnNotification.from_form(note.raw)
    if not result.paid:
        reason = f"{result.rtn_code} {result.rtn_msg}".strip()
        return fail_payment(session, clock, jobs, order_id=note.order_id, reason=reason,
                            source="callback")
    return complete_payment(
        session, clock, jobs, order_id=note.order_id, trade_no=result.trade_no,
        paid_at=result.payment_date or clock.now(), amount=result.trade_amt,
        payment_type=result.payment_type, raw=note.raw,
        # Development fulfils SimulatePaid=1 (production never accepts it); say so.
        source="simulated" if result.simulate_paid else "callback", settings=settings,
    )


def process_notification(
    session: Session, clock: Clock, jobs: Jobs, notification_id: uuid.UUID | str,
    settings: Settings | None = None,
) -> PaymentResult:
    """Apply one stored, accepted notification in the caller's transaction, exactly once.

    The notification row is locked first, so duplicate jobs for it queue behind each other
    and the second finds `processed_at` set. A rule that forbids applying the money (paid
    for a cancelled order) rolls back to a savepoint and leaves the row marked for review.
    """
    note = session.scalars(
        select(PaymentNotification)
        .where(PaymentNotification.id == uuid.UUID(str(notification_id)))
        .with_for_update()
    ).one_or_none()
    if note is None:
        raise NotFound(f"payment notification {notification_id} not found")
    if note.processed_at is not None:
        return PaymentResult(note.order_id, Outcome.ALREADY_PROCESSED)
    if note.verdict != Verdict.ACCEPTED or note.order_id is None:
        return PaymentResult(note.order_id, Outcome.IGNORED)
    note.attempts += 1
    try:
        with session.begin_nested():
            result = _dispatch(session, clock, jobs, note, settings)
    except DomainError as exc:
        note.last_error = f"needs review: {exc.message}"[:500]
        audit.record(
            session, audit.SYSTEM, "payment.needs_review", resource_type="payment_notification",
            resource_id=note.id, description=exc.message, meta={"order_id": str(note.order_id)},
        )
        result = PaymentResult(note.order_id, Outcome.NEEDS_REVIEW)
    note.processed_at = clock.now()
    return result


def record_processing_error(
    session: Session, notification_id: uuid.UUID | str, error: str
) -> None:
    """Remember why processing failed (the job's own transaction was rolled back)."""
    note = session.get(PaymentNotification, uuid.UUID(str(notification_id)))
    if note is not None:
        note.attempts += 1
        note.last_error = error[:500]
