"""Processing a stored ECPay notification: dispatch to completion, failure, code details or
a periodic charge — exactly once per notification."""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import PaymentAttempt, PaymentNotification, User
from services.core.domain.states import OrderStatus, check_order_transition
from services.core.errors import NotFound
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import queue_email
from services.core.usecases.payment_notifications import Kind, Verdict
from services.core.usecases.payments import attempts
from services.core.usecases.payments.completion import (
    INVOICE_PDF_JOB,
    OPEN_ORDER,
    Outcome,
    PaymentResult,
    complete_payment,
    lock_order,
)
from services.core.usecases.payments.period_charges import record_period_charge
from services.core.usecases.webhooks import events
from services.ecpay.notifications import PaymentInfoNotification, PeriodNotification
from services.ecpay.notifications import PaymentNotification as ReturnNotification

__all__ = [
    "INVOICE_PDF_JOB", "Outcome", "PaymentResult", "apply_claimed", "claim_next_new",
    "complete_payment", "fail_payment", "process_notification", "record_payment_info",
    "record_processing_error",
]


def _attempt_of(session: Session, note_attempt: uuid.UUID | None) -> PaymentAttempt | None:
    return attempts.lock(session, note_attempt) if note_attempt else None


def fail_payment(
    session: Session, clock: Clock, jobs: Jobs, *, order_id: uuid.UUID, reason: str, source: str,
    attempt_id: uuid.UUID | None = None,
) -> PaymentResult:
    """A declined attempt: the attempt fails, the order stays payable (a new checkout is a
    new attempt), and the customer is e-mailed a way to try again."""
    order = lock_order(session, order_id)
    attempt = _attempt_of(session, attempt_id) or attempts.for_order(session, clock, order)
    if not attempts.mark_failed(attempt, reason):
        return PaymentResult(order.id, Outcome.ALREADY_CLOSED)
    if order.status not in OPEN_ORDER:
        return PaymentResult(order.id, Outcome.ALREADY_CLOSED)
    if order.status == OrderStatus.PROCESSING:
        order.status = OrderStatus.PENDING.value  # its code is gone; payable again
    order.failure_reason = reason[:200]
    audit.record(
        session, audit.SYSTEM, "payment.failed", resource_type="order", resource_id=order.id,
        user_id=order.user_id, description=reason[:500],
        meta={"source": source, "attempt": attempt.merchant_trade_no},
    )
    queue_email(
        session, jobs, template="payment_failed", user=session.get_one(User, order.user_id),
        event_key=f"payment_failed:{attempt.id}",
        context={"order_id": str(order.id)},
    )
    events.record(session, clock.now(), "payment.failed", {
        "order_id": str(order.id), "subscription_id": str(order.subscription_id),
        "customer_id": str(order.user_id), "attempt": attempt.merchant_trade_no}, jobs)
    return PaymentResult(order.id, Outcome.FAILED)


def record_payment_info(
    session: Session, clock: Clock, jobs: Jobs, *, order_id: uuid.UUID,
    info: PaymentInfoNotification, attempt_id: uuid.UUID | None = None,
) -> PaymentResult:
    """Store the ATM account / CVS code / barcodes on the order and e-mail them (once)."""
    order = lock_order(session, order_id)
    if order.status not in OPEN_ORDER:
        return PaymentResult(order.id, Outcome.ALREADY_CLOSED)
    attempt = _attempt_of(session, attempt_id) or attempts.for_order(session, clock, order)
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
        "merchant_trade_no": attempt.merchant_trade_no,
    }
    order.payment_info = details
    order.expire_at = expires
    order.ecpay_trade_no = info.trade_no[:20] or order.ecpay_trade_no
    attempt.payable_until = attempts.payable_until(info.payment_type, expires)
    attempt.trade_no = info.trade_no[:20] or attempt.trade_no
    if order.status == OrderStatus.PENDING:
        check_order_transition(order.status, OrderStatus.PROCESSING)
        order.status = OrderStatus.PROCESSING.value
    audit.record(
        session, audit.SYSTEM, "payment.instructions_issued", resource_type="order",
        resource_id=order.id, user_id=order.user_id, meta={"method": info.method},
    )
    queue_email(
        session, jobs, template="payment_instructions",
        user=session.get_one(User, order.user_id),
        event_key=f"payment_instructions:{attempt.id}",
        context={"order_id": str(order.id)},
    )
    return PaymentResult(order.id, Outcome.INSTRUCTIONS)


def _dispatch(
    session: Session, clock: Clock, jobs: Jobs, note: PaymentNotification,
    settings: Settings | None,
) -> PaymentResult:
    assert note.order_id is not None  # noqa: S101 - accepted notifications always name an order
    kind = Kind(note.kind)
    if kind is Kind.PAYMENT_INFO:
        info = PaymentInfoNotification.from_form(note.raw)
        return record_payment_info(session, clock, jobs, order_id=note.order_id, info=info,
                                   attempt_id=note.attempt_id)
    if kind is Kind.PERIOD:
        return record_period_charge(
            session, clock, jobs, merchant_trade_no=note.merchant_trade_no,
            charge=PeriodNotification.from_form(note.raw), notification_id=note.id,
            settings=settings,
        )
    result = ReturnNotification.from_form(note.raw)
    if not result.paid:
        reason = f"{result.rtn_code} {result.rtn_msg}".strip()
        return fail_payment(session, clock, jobs, order_id=note.order_id, reason=reason,
                            source="callback", attempt_id=note.attempt_id)
    return complete_payment(
        session, clock, jobs, order_id=note.order_id, trade_no=result.trade_no,
        paid_at=result.payment_date or clock.now(), amount=result.trade_amt,
        payment_type=result.payment_type, raw=note.raw, source="callback", settings=settings,
        attempt_id=note.attempt_id, source_key=f"notification:{note.id}",
        notification_id=note.id,
    )


def process_notification(
    session: Session, clock: Clock, jobs: Jobs, notification_id: uuid.UUID | str,
    settings: Settings | None = None,
) -> PaymentResult:
    """Apply one stored, accepted notification in the caller's transaction, exactly once.

    The notification row is locked first, so duplicate jobs for it queue behind each other
    and the second finds `processed_at` set. Money a rule forbids applying is parked in the
    review queue by the use case itself; anything else that fails propagates and retries.
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
    return apply_claimed(session, clock, jobs, note, settings)


def claim_next_new(session: Session) -> PaymentNotification | None:
    """Lock the oldest accepted notification nobody has tried yet, for `apply_claimed` in the
    same transaction; None when there is none.

    Rows other transactions hold are skipped (SKIP LOCKED), so several drains share the
    backlog without waiting on each other. Only untried rows (`attempts = 0`) are taken: one
    that failed is retried by its own job with back-off, never in a drain's tight loop.
    """
    return session.scalars(
        select(PaymentNotification)
        .where(
            PaymentNotification.verdict == str(Verdict.ACCEPTED),
            PaymentNotification.processed_at.is_(None),
            PaymentNotification.attempts == 0,
            PaymentNotification.order_id.is_not(None),
        )
        .order_by(PaymentNotification.received_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).one_or_none()


def apply_claimed(
    session: Session, clock: Clock, jobs: Jobs, note: PaymentNotification,
    settings: Settings | None = None,
) -> PaymentResult:
    """Apply `note`, locked in this transaction, accepted and unprocessed (as
    `claim_next_new` returns it)."""
    result = _dispatch(session, clock, jobs, note, settings)
    if result.outcome is Outcome.NEEDS_REVIEW:
        note.last_error = "parked for review"
    # Counted with the outcome, one UPDATE: a failure rolls this transaction back anyway
    # and record_processing_error counts the attempt in a transaction of its own.
    note.attempts += 1
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
