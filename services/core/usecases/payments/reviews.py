"""Parking money that arrived but cannot be applied, so a person can act on it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import PaymentReview
from services.core.db.upsert import insert_for
from services.core.usecases import audit


class ReviewReason(StrEnum):
    DUPLICATE_PAYMENT = "duplicate_payment"  # the order was already paid by another attempt
    ORDER_CLOSED = "order_closed"  # paid after the order was closed (cancelled)
    SUBSCRIPTION_CLOSED = "subscription_closed"  # cancelled, or expired beyond reactivation
    CHARGE_AFTER_CANCEL = "charge_after_cancel"  # a periodic charge on a cancelled agreement
    PERIOD_ALREADY_PAID = "period_already_paid"  # a periodic charge for a period paid by link
    UNMATCHED_CHARGE = "unmatched_charge"  # a periodic charge no period can take
    UNKNOWN_ORDER = "unknown_order"  # signed by our key, names no order of ours
    AMOUNT_MISMATCH = "amount_mismatch"  # e.g. a periodic amount edited in ECPay's dashboard
    MALFORMED = "malformed"  # signed by our key but missing fields we need


class ReviewStatus(StrEnum):
    OPEN = "open"
    APPLIED = "applied"
    REFUND_NEEDED = "refund_needed"
    DISMISSED = "dismissed"


def park(
    session: Session,
    *,
    source_key: str,
    reason: ReviewReason,
    arrived_at: datetime,
    detail: str,
    amount: Decimal | int | None = None,
    merchant_trade_no: str = "",
    gateway_trade_no: str = "",
    order_id: uuid.UUID | None = None,
    subscription_id: uuid.UUID | None = None,
    notification_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """One open review item per source (a re-run finds the first); audited when new."""
    new_id = session.execute(
        insert_for(session)(PaymentReview)
        .values(
            id=uuid.uuid4(), source_key=source_key[:100], reason=str(reason),
            status=str(ReviewStatus.OPEN), amount=None if amount is None else Decimal(amount),
            merchant_trade_no=merchant_trade_no[:64], gateway_trade_no=gateway_trade_no[:30],
            order_id=order_id, subscription_id=subscription_id, notification_id=notification_id,
            detail=detail[:500], arrived_at=arrived_at,
        )
        .on_conflict_do_nothing(index_elements=[PaymentReview.source_key])
        .returning(PaymentReview.id)
    ).scalar_one_or_none()
    if new_id is None:
        return session.scalars(
            select(PaymentReview.id).where(PaymentReview.source_key == source_key[:100])
        ).one()
    audit.record(
        session, audit.SYSTEM, "payment.review_opened", resource_type="payment_review",
        resource_id=new_id, user_id=user_id, description=detail[:500],
        meta={"reason": str(reason), "amount": None if amount is None else str(amount),
              "merchant_trade_no": merchant_trade_no, "order_id": str(order_id or "")},
    )
    return new_id
