"""Books checks on e-invoices: every paid order has exactly one (or a recorded reason why
not), with the invoice's total, issued within the legal two days, never left refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select

from services.core.db.models import EInvoice, Invoice, Order
from services.core.domain.states import OrderStatus
from services.core.usecases.books_findings import Check, Finding, Query, money

_PAID = (OrderStatus.COMPLETED.value, OrderStatus.REFUNDED.value)
# The law gives two days after the sale; a pending one older than this is a finding.
LEGAL_DELAY = timedelta(days=2)
_PENDING, _FAILED, _ISSUED = "pending", "failed", "issued"


def paid_without_einvoice(since: datetime | None) -> Query:
    # One per order is a unique index; none at all is what this finds. An order without
    # even its receipt is already paid_order_without_invoice (the e-invoice hangs off it).
    query = select(Order.id, Order.order_number, Order.amount).where(
        Order.status.in_(_PAID), exists().where(Invoice.order_id == Order.id),
        ~exists().where(EInvoice.order_id == Order.id))
    if since is not None:
        query = query.where(Order.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(Check.PAID_ORDER_WITHOUT_EINVOICE,
                       {"order": str(row.id), "order_number": row.order_number},
                       f"paid order of {money(row.amount)} TWD has no e-invoice and no "
                       "recorded reason why not")

    return query, finding


def total_mismatch(since: datetime | None) -> Query:
    query = (
        select(EInvoice.id, EInvoice.order_id, EInvoice.sales_amount, Invoice.total_amount)
        .join(Invoice, Invoice.id == EInvoice.invoice_id)
        .where(EInvoice.sales_amount != Invoice.total_amount,
               EInvoice.reason != "predates_einvoicing")
    )
    if since is not None:
        query = query.where(EInvoice.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(Check.EINVOICE_TOTAL_MISMATCH,
                       {"einvoice": str(row.id), "order": str(row.order_id)},
                       f"e-invoice total {row.sales_amount} differs from the receipt's "
                       f"{money(row.total_amount)} TWD")

    return query, finding


def overdue_or_refused(as_of: datetime) -> Query:
    """Pending beyond the legal delay, or refused by ECPay: whatever `since` says."""
    query = select(EInvoice.id, EInvoice.order_id, EInvoice.relate_number, EInvoice.status,
                   EInvoice.created_at, EInvoice.last_error).where(
        (EInvoice.status == _FAILED)
        | ((EInvoice.status == _PENDING) & (EInvoice.created_at < as_of - LEGAL_DELAY)))

    def finding(row: Any) -> Finding:
        ids = {"einvoice": str(row.id), "order": str(row.order_id),
               "relate_number": row.relate_number}
        if row.status == _FAILED:
            return Finding(Check.EINVOICE_REFUSED, ids,
                           f"ECPay refused the e-invoice: {row.last_error}")
        return Finding(Check.EINVOICE_OVERDUE, ids,
                       f"not issued since {row.created_at.isoformat()} (the law allows two "
                       f"days): {row.last_error or 'no answer yet'}")

    return query.order_by(EInvoice.created_at, EInvoice.id), finding


def issued_for_unpaid_order(since: datetime | None) -> Query:
    query = (
        select(EInvoice.id, EInvoice.order_id, EInvoice.invoice_no, Order.status)
        .join(Order, Order.id == EInvoice.order_id)
        .where(EInvoice.status.in_((_PENDING, _ISSUED)), Order.status.notin_(_PAID))
    )
    if since is not None:
        query = query.where(EInvoice.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(Check.EINVOICE_FOR_UNPAID_ORDER,
                       {"einvoice": str(row.id), "order": str(row.order_id)},
                       f"e-invoice {row.invoice_no or '(pending)'} stands for an order that "
                       f"is {row.status}")

    return query, finding


def einvoice_checks(since: datetime | None, as_of: datetime) -> list[Query]:
    return [
        paid_without_einvoice(since),
        total_mismatch(since),
        issued_for_unpaid_order(since),
        overdue_or_refused(as_of),
    ]
