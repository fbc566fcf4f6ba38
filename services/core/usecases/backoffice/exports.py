"""Customers, orders and refunds of a date range as CSV rows for staff (beside the invoices
export): the same days in Asia/Taipei, batches, amounts as stored and formula-safe text as
backoffice.invoice_export, whose writer turns these rows into the file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Order, Plan, Refund, User
from services.core.usecases.backoffice.invoice_export import BATCH, bounds, cell, local, text

_TIME = "%Y-%m-%d %H:%M:%S"


def customers(session: Session, since: date, until: date) -> Iterator[dict[str, Any]]:
    """Customers who joined in the range (staff accounts left out), oldest first."""
    start, end = bounds(since, until)
    query = (select(User).where(User.created_at >= start, User.created_at < end,
                                User.is_staff.is_(False))
             .order_by(User.created_at, User.id).execution_options(yield_per=BATCH))
    for user in session.scalars(query):
        yield {
            "customer_id": str(user.id), "email": cell(user.email),
            "username": cell(user.username), "first_name": cell(user.first_name),
            "last_name": cell(user.last_name), "company_name": cell(user.company_name),
            "tax_id": user.tax_id, "language": user.language,
            "external_id": cell(user.external_id or ""),
            "is_active": "yes" if user.is_active else "no",
            "is_verified": "yes" if user.is_verified else "no",
            "joined_at": local(user.created_at, _TIME),
        }


def orders(session: Session, since: date, until: date) -> Iterator[dict[str, Any]]:
    """Orders created in the range, whatever became of them, oldest first."""
    start, end = bounds(since, until)
    query = (select(Order, User.email, Plan.slug)
             .join(User, User.id == Order.user_id).join(Plan, Plan.id == Order.plan_id)
             .where(Order.created_at >= start, Order.created_at < end)
             .order_by(Order.created_at, Order.id).execution_options(yield_per=BATCH))
    for order, email, plan in session.execute(query):
        yield {
            "order_number": order.order_number, "created_at": local(order.created_at, _TIME),
            "customer_email": cell(email), "plan": plan, "status": order.status,
            "payment_method": order.payment_method,
            "renewal": "yes" if order.is_renewal else "no", "currency": order.currency,
            "amount": text(order.amount), "discount": text(order.discount),
            "period_start": local(order.period_start, "%Y-%m-%d"),
            "period_end": local(order.period_end, "%Y-%m-%d"),
            "paid_at": local(order.paid_at, _TIME), "ecpay_trade_no": order.ecpay_trade_no or "",
        }


def refunds(session: Session, since: date, until: date) -> Iterator[dict[str, Any]]:
    """Refunds asked for in the range, oldest first, with their state at export time."""
    start, end = bounds(since, until)
    query = (select(Refund, Order.order_number, User.email)
             .join(Order, Order.id == Refund.order_id).join(User, User.id == Refund.user_id)
             .where(Refund.created_at >= start, Refund.created_at < end)
             .order_by(Refund.created_at, Refund.id).execution_options(yield_per=BATCH))
    for refund, number, email in session.execute(query):
        yield {
            "refund_id": str(refund.id), "created_at": local(refund.created_at, _TIME),
            "order_number": number, "customer_email": cell(email), "method": refund.method,
            "status": refund.status, "currency": refund.currency,
            "amount": text(refund.amount), "reason": cell(refund.reason),
            "completed_at": local(refund.completed_at, _TIME),
            "transfer_reference": cell(refund.transfer_reference or ""),
            "einvoice_status": refund.einvoice_status,
        }


@dataclass(frozen=True)
class Export:
    rows: Callable[[Session, date, date], Iterator[dict[str, Any]]]
    columns: tuple[str, ...]


EXPORTS = {
    "customers": Export(customers, (
        "customer_id", "email", "username", "first_name", "last_name", "company_name",
        "tax_id", "language", "external_id", "is_active", "is_verified", "joined_at")),
    "orders": Export(orders, (
        "order_number", "created_at", "customer_email", "plan", "status", "payment_method",
        "renewal", "currency", "amount", "discount", "period_start", "period_end", "paid_at",
        "ecpay_trade_no")),
    "refunds": Export(refunds, (
        "refund_id", "created_at", "order_number", "customer_email", "method", "status",
        "currency", "amount", "reason", "completed_at", "transfer_reference",
        "einvoice_status")),
}
