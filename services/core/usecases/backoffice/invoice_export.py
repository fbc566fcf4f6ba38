"""Invoices of a date range as CSV for accountants: one row per invoice with its order,
customer, e-invoice and money refunded, amounts exactly as stored (whole NT$ as text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.db.models import EInvoice, Invoice, Order, Refund, User
from services.core.domain.periods import TAIPEI
from services.core.usecases.refunds.states import RETURNED

# Excel reads a CSV as the local code page unless it starts with a UTF-8 byte-order mark.
BOM = "\ufeff"
COLUMNS = ("invoice_number", "issued_date", "order_number", "paid_at", "customer_email",
           "buyer_name", "buyer_tax_id", "description", "payment_method", "currency",
           "net_amount", "tax_amount", "total_amount", "refunded_amount",
           "einvoice_number", "einvoice_status", "einvoice_date")
BATCH = 500


def bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """Whole days in Asia/Taipei (the filing calendar), `until` included."""
    start = datetime.combine(since, time(), tzinfo=TAIPEI)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=TAIPEI)
    return start, end


def local(moment: datetime | None, fmt: str) -> str:
    return moment.astimezone(TAIPEI).strftime(fmt) if moment else ""


def text(value: Decimal) -> str:
    return format(value, "f")


def cell(value: str) -> str:
    """Text a customer typed, kept from being read as a formula by a spreadsheet."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def rows(session: Session, since: date, until: date) -> Iterator[dict[str, Any]]:
    """The invoices issued in the range, oldest first, read in batches (never all at once)."""
    start, end = bounds(since, until)
    refunded = (select(Refund.order_id, func.sum(Refund.amount).label("amount"))
                .where(Refund.status.in_(RETURNED), Refund.review_id.is_(None))
                .group_by(Refund.order_id).subquery())
    query = (select(Invoice, Order, User.email, EInvoice, refunded.c.amount)
             .join(Order, Order.id == Invoice.order_id)
             .join(User, User.id == Invoice.user_id)
             .outerjoin(EInvoice, EInvoice.invoice_id == Invoice.id)
             .outerjoin(refunded, refunded.c.order_id == Invoice.order_id)
             .where(Invoice.issued_at >= start, Invoice.issued_at < end)
             .order_by(Invoice.issued_at, Invoice.id)
             .execution_options(yield_per=BATCH))
    for invoice, order, email, einvoice, back in session.execute(query):
        yield {
            "invoice_number": invoice.invoice_number,
            "issued_date": local(invoice.issued_at, "%Y-%m-%d"),
            "order_number": order.order_number,
            "paid_at": local(invoice.paid_at, "%Y-%m-%d %H:%M:%S"),
            "customer_email": cell(email), "buyer_name": cell(invoice.buyer_name),
            "buyer_tax_id": invoice.buyer_tax_id, "description": cell(invoice.description),
            "payment_method": order.payment_method, "currency": invoice.currency,
            "net_amount": text(invoice.amount), "tax_amount": text(invoice.tax_amount),
            "total_amount": text(invoice.total_amount),
            "refunded_amount": text(Decimal(back or 0)),
            "einvoice_number": einvoice.display_number if einvoice else "",
            "einvoice_status": einvoice.status if einvoice else "",
            "einvoice_date": local(einvoice.invoice_date if einvoice else None, "%Y-%m-%d"),
        }


def csv_chunks(records: Iterator[dict[str, Any]],
               columns: Sequence[str] = COLUMNS) -> Iterator[str]:
    """The CSV text, BOM and header first, a chunk per batch of rows (for streaming); every
    staff export (backoffice.exports) goes through it."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    out.write(BOM)
    writer.writeheader()
    for count, record in enumerate(records, start=1):
        writer.writerow(record)
        if count % BATCH == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
