"""Books checks on refunds: never more back than was paid, the order's status agreeing with
its refunds, every refund's e-invoice void or allowance in place, none failed or stuck."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, or_, select

from services.core.db.models import EInvoice, EInvoiceAllowance, Order, Refund
from services.core.domain.states import OrderStatus
from services.core.usecases.books_findings import Check, Finding, Query, money
from services.core.usecases.refunds.states import (
    COUNTED,
    IN_FLIGHT,
    RETURNED,
    EInvoiceStep,
    RefundStatus,
)

# The e-invoice step normally follows the money within a minute; an hour is a finding.
EINVOICE_GRACE = timedelta(hours=1)
# A card refund still unanswered after a day, a transfer unconfirmed after two weeks.
IN_FLIGHT_LIMIT = timedelta(days=1)
OWED_LIMIT = timedelta(days=14)


def _own(query: Any) -> Any:
    # A review item's extra money is refunded apart from the order's own payment.
    return query.where(Refund.review_id.is_(None))


def refunded_more_than_paid(since: datetime | None) -> Query:
    total = func.sum(Refund.amount)
    query = _own(
        select(Order.id, Order.order_number, Order.amount, total.label("refunded"))
        .join(Refund, Refund.order_id == Order.id)
        .where(Refund.status.in_(COUNTED))
    ).group_by(Order.id, Order.order_number, Order.amount).having(total > Order.amount)
    if since is not None:
        query = query.where(Refund.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(Check.REFUNDED_MORE_THAN_PAID,
                       {"order": str(row.id), "order_number": row.order_number},
                       f"refunds of {money(row.refunded)} TWD exceed the {money(row.amount)} "
                       "TWD paid")

    return query, finding


def refund_status_mismatch(since: datetime | None) -> Query:
    back = _own(select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.order_id == Order.id, Refund.status.in_(RETURNED))).scalar_subquery()
    # Orders marked refunded before Fluxus recorded refunds have no rows: not judged here.
    recorded = _own(exists().where(Refund.order_id == Order.id))
    query = select(Order.id, Order.order_number, Order.status, Order.amount,
                   back.label("back")).where(recorded, or_(
                       and_(Order.status == OrderStatus.REFUNDED.value, back != Order.amount),
                       and_(Order.status == OrderStatus.COMPLETED.value, back >= Order.amount,
                            Order.amount > 0)))
    if since is not None:
        query = query.where(Order.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(Check.REFUND_ORDER_STATUS_MISMATCH,
                       {"order": str(row.id), "order_number": row.order_number},
                       f"{row.status} order of {money(row.amount)} TWD has {money(row.back)} "
                       "TWD refunded")

    return query, finding


def refund_without_einvoice_correction(as_of: datetime) -> Query:
    """Money back without its void or allowance: failed, late, or recorded but not there."""
    key = func.concat("refund:", cast(Refund.id, String))
    allowance = exists().where(EInvoiceAllowance.request_key == key,
                               EInvoiceAllowance.status.in_(("issued", "pending_consent")))
    voided = exists().where(EInvoice.order_id == Refund.order_id, EInvoice.status == "voided")
    query = _own(select(Refund.id, Refund.order_id, Refund.amount, Refund.einvoice_status,
                        Refund.einvoice_error).where(
        Refund.status.in_(RETURNED),
        or_(Refund.einvoice_status == EInvoiceStep.FAILED.value,
            and_(Refund.einvoice_status == EInvoiceStep.PENDING.value,
                 Refund.completed_at < as_of - EINVOICE_GRACE),
            and_(Refund.einvoice_status == EInvoiceStep.DONE.value, ~allowance, ~voided))))

    def finding(row: Any) -> Finding:
        why = {"failed": f"the correction failed: {row.einvoice_error}",
               "pending": "the e-invoice is still not corrected after an hour",
               "done": "recorded as corrected, but no void or allowance is there"}
        return Finding(Check.REFUND_WITHOUT_EINVOICE_CORRECTION,
                       {"refund": str(row.id), "order": str(row.order_id)},
                       f"refund of {money(row.amount)} TWD: "
                       f"{why.get(row.einvoice_status, row.einvoice_status)}"[:500])

    return query, finding


def refund_failed_or_stuck(as_of: datetime) -> Query:
    query = select(Refund.id, Refund.order_id, Refund.amount, Refund.status, Refund.method,
                   Refund.last_error).where(or_(
                       Refund.status == RefundStatus.FAILED.value,
                       and_(Refund.status.in_(IN_FLIGHT),
                            Refund.created_at < as_of - IN_FLIGHT_LIMIT),
                       and_(Refund.status == RefundStatus.OWED.value,
                            Refund.created_at < as_of - OWED_LIMIT)))

    def finding(row: Any) -> Finding:
        error = f": {row.last_error}" if row.last_error else ""
        return Finding(Check.REFUND_FAILED_OR_STUCK,
                       {"refund": str(row.id), "order": str(row.order_id)},
                       f"{row.method} refund of {money(row.amount)} TWD is {row.status}"
                       f"{error}"[:500])

    return query, finding


def refund_checks(since: datetime | None, as_of: datetime) -> list[Query]:
    return [
        refunded_more_than_paid(since),
        refund_status_mismatch(since),
        refund_without_einvoice_correction(as_of),
        refund_failed_or_stuck(as_of),
    ]
