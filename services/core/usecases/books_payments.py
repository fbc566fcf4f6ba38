"""Books checks on how money was applied: attempts, periodic charges and parked payments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, union_all
from sqlalchemy.orm import aliased

from services.core.db.models import (
    CardAgreement,
    CreditEntry,
    Order,
    PaymentAttempt,
    PaymentReview,
    PeriodCharge,
)
from services.core.domain.states import OrderStatus, PeriodChargeOutcome
from services.core.usecases.books_findings import Check, Finding, Query, money

# Orders whose money was taken (a refunded order was paid first).
_PAID = (OrderStatus.COMPLETED.value, OrderStatus.REFUNDED.value)
# payment_attempts.status and period_charges.outcome values these checks read.
_ATTEMPT_PAID = "paid"
_APPLIED, _REVIEW = PeriodChargeOutcome.APPLIED.value, PeriodChargeOutcome.REVIEW.value
_OPEN = "open"


def open_reviews() -> Query:
    """Every open item, whatever `since` says: parked money is unfinished business."""
    query = select(
        PaymentReview.id,
        PaymentReview.reason,
        PaymentReview.amount,
        PaymentReview.merchant_trade_no,
        PaymentReview.order_id,
        PaymentReview.arrived_at,
        PaymentReview.detail,
    ).where(PaymentReview.status == _OPEN)

    def finding(row: Any) -> Finding:
        ids = {"review": str(row.id), "merchant_trade_no": row.merchant_trade_no}
        if row.order_id is not None:
            ids["order"] = str(row.order_id)
        amount = "an unknown amount" if row.amount is None else f"{money(row.amount)} TWD"
        return Finding(
            Check.PAYMENT_REVIEW_OPEN,
            ids,
            f"{amount} parked ({row.reason}) since {row.arrived_at.isoformat()}, "
            f"not yet decided: {row.detail}",
        )

    return query.order_by(PaymentReview.arrived_at, PaymentReview.id), finding


def completed_without_payment(since: datetime | None) -> Query:
    # Orders a 定期定額 charge paid have no attempt: the applied charge is their payment.
    query = select(Order.id, Order.order_number, Order.amount).where(
        Order.status == OrderStatus.COMPLETED.value,
        ~exists().where(
            PaymentAttempt.order_id == Order.id, PaymentAttempt.status == _ATTEMPT_PAID
        ),
        ~exists().where(PeriodCharge.order_id == Order.id, PeriodCharge.outcome == _APPLIED),
        # An order the credit balance covered in full was paid by that credit (or a coupon).
        ~and_(Order.amount == 0,
              or_(Order.discount > 0, exists().where(CreditEntry.order_id == Order.id,
                                                     CreditEntry.kind == "order_use"))),
    )
    if since is not None:
        query = query.where(Order.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.COMPLETED_ORDER_WITHOUT_PAYMENT,
            {"order": str(row.id), "order_number": row.order_number},
            f"completed order of {money(row.amount)} TWD has neither a paid attempt nor an "
            "applied periodic charge",
        )

    return query, finding


def paid_more_than_once() -> Query:
    # One paid attempt per order is a unique index; an applied charge beside it is not.
    payments = union_all(
        select(PaymentAttempt.order_id.label("order_id")).where(
            PaymentAttempt.status == _ATTEMPT_PAID
        ),
        select(PeriodCharge.order_id.label("order_id")).where(
            PeriodCharge.outcome == _APPLIED, PeriodCharge.order_id.is_not(None)
        ),
    ).subquery()
    query = (
        select(payments.c.order_id, func.count().label("n"))
        .group_by(payments.c.order_id)
        .having(func.count() > 1)
    )

    def finding(row: Any) -> Finding:
        return Finding(
            Check.ORDER_PAID_MORE_THAN_ONCE,
            {"order": str(row.order_id)},
            f"{row.n} payments (paid attempts and applied periodic charges) for one order",
        )

    return query, finding


def _charge_accounted() -> ColumnElement[bool]:
    """A successful charge is accounted for when its order took it or a review item holds it
    (a re-report of a charge is deduplicated as a notification and never becomes a row)."""
    taker = aliased(Order)  # the outer query joins Order too; this one must not correlate
    applied = and_(
        PeriodCharge.outcome == _APPLIED,
        exists().where(taker.id == PeriodCharge.order_id, taker.status.in_(_PAID)),
    )
    parked = and_(
        PeriodCharge.outcome == _REVIEW,
        exists().where(
            or_(
                PaymentReview.notification_id == PeriodCharge.notification_id,
                and_(PeriodCharge.gwsr != "", PaymentReview.gateway_trade_no == PeriodCharge.gwsr),
            )
        ),
    )
    return or_(applied, parked)


def charge_unaccounted(since: datetime | None) -> Query:
    query = (
        select(
            PeriodCharge.id,
            PeriodCharge.gwsr,
            PeriodCharge.amount,
            PeriodCharge.process_date,
            PeriodCharge.outcome,
            PeriodCharge.order_id,
            CardAgreement.merchant_trade_no,
            Order.status.label("order_status"),
        )
        .join(CardAgreement, CardAgreement.id == PeriodCharge.agreement_id)
        .outerjoin(Order, Order.id == PeriodCharge.order_id)
        .where(PeriodCharge.success.is_(True), ~_charge_accounted())
    )
    if since is not None:
        query = query.where(PeriodCharge.created_at >= since)

    def finding(row: Any) -> Finding:
        ids = {"charge": str(row.id), "agreement": row.merchant_trade_no, "gwsr": row.gwsr}
        if row.order_id is not None:
            ids["order"] = str(row.order_id)
        if row.outcome == _APPLIED:
            why = f"applied, but its order is {row.order_status or 'missing'}"
        elif row.outcome == _REVIEW:
            why = "marked for review, but no review item holds it"
        else:
            why = f"left as {row.outcome}"
        return Finding(
            Check.PERIOD_CHARGE_UNACCOUNTED,
            ids,
            f"successful periodic charge of {money(row.amount)} TWD on "
            f"{row.process_date.isoformat()} {why}",
        )

    return query, finding


def paid_attempt_for_unpaid_order(since: datetime | None) -> Query:
    query = (
        select(
            PaymentAttempt.id,
            PaymentAttempt.merchant_trade_no,
            Order.id.label("order_id"),
            Order.status,
        )
        .join(Order, Order.id == PaymentAttempt.order_id)
        .where(PaymentAttempt.status == _ATTEMPT_PAID, Order.status.not_in(_PAID))
    )
    if since is not None:
        query = query.where(PaymentAttempt.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.PAID_ATTEMPT_FOR_UNPAID_ORDER,
            {
                "attempt": str(row.id),
                "merchant_trade_no": row.merchant_trade_no,
                "order": str(row.order_id),
            },
            f"the attempt is paid but its order is {row.status}",
        )

    return query, finding


def payment_checks(since: datetime | None) -> list[Query]:
    return [
        completed_without_payment(since),
        paid_more_than_once(),
        paid_attempt_for_unpaid_order(since),
        charge_unaccounted(since),
        open_reviews(),
    ]
