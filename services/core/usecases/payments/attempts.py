"""Payment attempts: each checkout is its own MerchantTradeNo; a failed one leaves the order
payable, and at most one attempt completes an order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, PaymentAttempt
from services.core.domain.order_numbers import new_order_number

# ECPay posts a BARCODE payment's result about two days after the customer paid
# (REFERENCE §3), so such a code's money can arrive that long after its ExpireDate.
BARCODE_RESULT_DELAY = timedelta(days=2)


class AttemptStatus(StrEnum):
    OPEN = "open"  # sent to ECPay (or about to be); money may still come
    PAID = "paid"  # completed its order (at most one per order)
    FAILED = "failed"  # ECPay said the payment failed
    EXPIRED = "expired"  # its code ran out unpaid, or reconciliation gave up on it
    REVIEW = "review"  # money arrived but was parked in the review queue


def find(session: Session, merchant_trade_no: str) -> PaymentAttempt | None:
    return session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.merchant_trade_no == merchant_trade_no)
    ).one_or_none()


def lock(session: Session, attempt_id: uuid.UUID) -> PaymentAttempt:
    return session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update()
    ).one()


def start(
    session: Session, clock: Clock, order: Order, *, periodic: dict[str, Any] | None = None
) -> PaymentAttempt:
    """A new attempt for a checkout of `order` (locked by the caller).

    The first attempt takes the order's own number, so an order paid once looks as it always
    did; every later checkout gets a fresh number, because ECPay refuses one it has seen.
    """
    used = session.scalars(
        select(PaymentAttempt.id).where(PaymentAttempt.merchant_trade_no == order.order_number)
    ).first()
    number = order.order_number if used is None else new_order_number(clock.now())
    attempt = PaymentAttempt(
        order_id=order.id, merchant_trade_no=number, method=order.payment_method,
        status=AttemptStatus.OPEN.value, periodic=periodic,
    )
    session.add(attempt)
    session.flush()
    return attempt


def for_order(session: Session, clock: Clock, order: Order) -> PaymentAttempt:
    """The attempt that carries the order's own number, made now if the order never had a
    checkout (money that reached it another way still gets the attempt that paid it)."""
    attempt = session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.merchant_trade_no == order.order_number)
        .with_for_update()
    ).one_or_none()
    return attempt if attempt is not None else start(session, clock, order)


def mark_failed(attempt: PaymentAttempt, reason: str) -> bool:
    """Open → failed; False when the attempt was already settled."""
    if attempt.status != AttemptStatus.OPEN:
        return False
    attempt.status = AttemptStatus.FAILED.value
    attempt.failure_reason = reason[:200]
    return True


def payable_until(method: str, expires_at: datetime | None) -> datetime | None:
    """Until when ECPay may still post money for an offline code."""
    if expires_at is None:
        return None
    expires = expires_at.astimezone(UTC)
    return expires + BARCODE_RESULT_DELAY if method.upper().startswith("BARCODE") else expires


def live_offline_deadline(session: Session, order_id: uuid.UUID, now: datetime) -> datetime | None:
    """The latest moment an open ATM/CVS/BARCODE code of this order can still be paid."""
    latest: datetime | None = session.scalar(
        select(func.max(PaymentAttempt.payable_until)).where(
            PaymentAttempt.order_id == order_id,
            PaymentAttempt.status == AttemptStatus.OPEN.value,
            PaymentAttempt.payable_until > now,
        )
    )
    return latest


def expire_open(session: Session, order_id: uuid.UUID, reason: str) -> None:
    """Every still-open attempt of a closed order: no longer expected to be paid."""
    session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.order_id == order_id,
               PaymentAttempt.status == AttemptStatus.OPEN.value)
        .values(status=AttemptStatus.EXPIRED.value, failure_reason=reason[:200])
    )
