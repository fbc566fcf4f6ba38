"""Books balance: money rows that contradict each other, found with anti-joins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from services.core.clock import Clock
from services.core.db.models import (
    Invoice,
    Order,
    PaymentNotification,
    Subscription,
    SubscriptionExtension,
)
from services.core.domain.money import TAX_RATE_PERCENT
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.usecases.books_coupons import coupon_checks
from services.core.usecases.books_credits import credit_checks
from services.core.usecases.books_einvoices import einvoice_checks
from services.core.usecases.books_findings import Check, Finding, Query, money
from services.core.usecases.books_payments import payment_checks
from services.core.usecases.books_refunds import refund_checks
from services.core.usecases.payment_notifications import Verdict

# A notification younger than this may simply still be on its way through the queue.
STALE_AFTER = timedelta(minutes=5)
# Findings listed per check; the count of a check stops at LIMIT + 1 ("and more").
DEFAULT_LIMIT = 100
# Orders whose money was taken (refunded orders keep their invoice).
_PAID = (OrderStatus.COMPLETED.value, OrderStatus.REFUNDED.value)


@dataclass
class BooksReport:
    as_of: datetime
    findings: list[Finding] = field(default_factory=list)
    # Per check: how many are listed (at most the limit; `truncated` names checks with more).
    counts: dict[str, int] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "as_of": self.as_of.isoformat(),
            "counts": self.counts,
            "truncated": self.truncated,
            "findings": [f.as_dict() for f in self.findings],
        }


def _paid_without_invoice(since: datetime | None) -> Query:
    query = select(Order.id, Order.order_number, Order.status, Order.amount).where(
        Order.status.in_(_PAID),
        ~exists().where(Invoice.order_id == Order.id),
    )
    if since is not None:
        query = query.where(Order.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.PAID_ORDER_WITHOUT_INVOICE,
            {"order": str(row.id), "order_number": row.order_number},
            f"{row.status} order of {money(row.amount)} TWD has no invoice",
        )

    return query, finding


def _several_invoices(since: datetime | None) -> Query:
    # invoices.order_id is unique, so this only fires if that guard was ever removed.
    query = (
        select(Invoice.order_id, func.count().label("n"))
        .group_by(Invoice.order_id)
        .having(func.count() > 1)
    )
    if since is not None:
        query = query.where(Invoice.created_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.ORDER_WITH_SEVERAL_INVOICES,
            {"order": str(row.order_id)},
            f"{row.n} invoices for one order",
        )

    return query, finding


def _invoice_for_unpaid(since: datetime | None) -> Query:
    query = (
        select(Invoice.id, Invoice.invoice_number, Order.id.label("order_id"), Order.status)
        .join(Order, Order.id == Invoice.order_id)
        .where(Order.status.not_in(_PAID))
    )
    if since is not None:
        query = query.where(Invoice.created_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.INVOICE_FOR_UNPAID_ORDER,
            {
                "invoice": str(row.id),
                "invoice_number": row.invoice_number,
                "order": str(row.order_id),
            },
            f"invoiced but the order is {row.status}",
        )

    return query, finding


def _totals_mismatch(since: datetime | None) -> Query:
    query = (
        select(
            Invoice.id,
            Invoice.invoice_number,
            Invoice.total_amount,
            Invoice.currency,
            Order.id.label("order_id"),
            Order.amount.label("order_amount"),
            Order.currency.label("order_currency"),
        )
        .join(Order, Order.id == Invoice.order_id)
        .where(or_(Invoice.total_amount != Order.amount, Invoice.currency != Order.currency))
    )
    if since is not None:
        query = query.where(Invoice.created_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.INVOICE_TOTAL_MISMATCH,
            {
                "invoice": str(row.id),
                "invoice_number": row.invoice_number,
                "order": str(row.order_id),
            },
            f"invoice total {money(row.total_amount)} {row.currency} but the order "
            f"is {money(row.order_amount)} {row.order_currency}",
        )

    return query, finding


def _expected_tax() -> ColumnElement[Any]:
    # round(total × 5 / 105): PostgreSQL rounds numeric halves away from zero, and totals
    # are never negative, so this is split_tax_included's ROUND_HALF_UP.
    rate = literal(TAX_RATE_PERCENT)
    return func.round(Invoice.total_amount * rate / (literal(100) + rate))


def _tax_wrong(since: datetime | None) -> Query:
    expected = _expected_tax()
    query = select(
        Invoice.id,
        Invoice.invoice_number,
        Invoice.order_id,
        Invoice.amount,
        Invoice.tax_amount,
        Invoice.total_amount,
        expected.label("expected"),
    ).where(
        or_(
            Invoice.tax_amount != expected,
            Invoice.amount + Invoice.tax_amount != Invoice.total_amount,
        )
    )
    if since is not None:
        query = query.where(Invoice.created_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.INVOICE_TAX_WRONG,
            {
                "invoice": str(row.id),
                "invoice_number": row.invoice_number,
                "order": str(row.order_id),
            },
            f"net {money(row.amount)} + tax {money(row.tax_amount)} for a total of "
            f"{money(row.total_amount)}; 5% included tax is "
            f"{money(row.expected)}",
        )

    return query, finding


def _active_unpaid(since: datetime | None) -> Query:
    paid = aliased(Order)
    covers = exists().where(
        paid.subscription_id == Subscription.id,
        # A refunded order still pays its period: staff refunding without cancelling (or
        # cancelling at its end) chose to keep it granted — a cancel "now" ends it instead.
        paid.status.in_(_PAID),
        or_(
            paid.period_end == Subscription.end_date,
            # A trial converted when it ended starts its first period at the trial's end,
            # whatever period the payment made during the trial named.
            and_(
                Subscription.trial_end_date.is_not(None),
                Subscription.anchor_date == Subscription.trial_end_date,
                paid.period_end <= Subscription.end_date,
            ),
        ),
    )
    # A free period staff gave (backoffice.extensions) has no order: its row stands for one.
    extended = exists().where(
        SubscriptionExtension.subscription_id == Subscription.id,
        SubscriptionExtension.new_end_date == Subscription.end_date,
    )
    query = select(Subscription.id, Subscription.user_id, Subscription.end_date).where(
        Subscription.status == SubscriptionStatus.ACTIVE.value, ~covers, ~extended
    )
    if since is not None:
        query = query.where(Subscription.updated_at >= since)

    def finding(row: Any) -> Finding:
        end = row.end_date.isoformat() if row.end_date else "none"
        return Finding(
            Check.ACTIVE_WITHOUT_PAID_PERIOD,
            {"subscription": str(row.id), "user": str(row.user_id)},
            f"active until {end} but no completed order pays the period ending then",
        )

    return query, finding


def _unprocessed(as_of: datetime, stale_after: timedelta) -> Query:
    query = select(
        PaymentNotification.id,
        PaymentNotification.merchant_trade_no,
        PaymentNotification.kind,
        PaymentNotification.received_at,
        PaymentNotification.attempts,
        PaymentNotification.last_error,
    ).where(
        PaymentNotification.verdict == Verdict.ACCEPTED.value,
        PaymentNotification.processed_at.is_(None),
        PaymentNotification.received_at < as_of - stale_after,
    )

    def finding(row: Any) -> Finding:
        error = f"; last error: {row.last_error}" if row.last_error else ""
        return Finding(
            Check.NOTIFICATION_UNPROCESSED,
            {"notification": str(row.id), "order_number": row.merchant_trade_no},
            f"accepted {row.kind} notification received {row.received_at.isoformat()}"
            f", {row.attempts} attempts, never processed{error}",
        )

    return query, finding


def audit_books(
    session: Session,
    clock: Clock,
    *,
    stale_after: timedelta = STALE_AFTER,
    since: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> BooksReport:
    """Every contradiction between orders, invoices, subscriptions and notifications, money
    applied other than once (attempts, periodic charges), and parked money still undecided.

    Read-only. `since` narrows the scan to rows changed after it (a nightly run over a day;
    open review items and double payments are listed whatever it says);
    each check lists at most `limit` findings. Each query is an anti-join or a join on an
    indexed key, so the cost is one pass over the rows in scope, never a loop per row.
    """
    report = BooksReport(as_of=clock.now())
    checks = [
        _paid_without_invoice(since),
        _several_invoices(since),
        _invoice_for_unpaid(since),
        _totals_mismatch(since),
        _tax_wrong(since),
        _active_unpaid(since),
        _unprocessed(report.as_of, stale_after),
        *payment_checks(since),
        *einvoice_checks(since, report.as_of),
        *refund_checks(since, report.as_of),
        *credit_checks(since),
        *coupon_checks(since),
    ]
    for query, finding in checks:
        rows = session.execute(query.limit(limit + 1)).all()
        found = [finding(row) for row in rows[:limit]]
        if found:
            report.counts[str(found[0].check)] = len(found)
            report.findings.extend(found)
            if len(rows) > limit:
                report.truncated.append(str(found[0].check))
    return report


def parse_ids(report: BooksReport, check: Check, key: str) -> set[uuid.UUID]:
    """The ids named under `key` by the findings of one check (for tests and tooling)."""
    return {uuid.UUID(f.ids[key]) for f in report.findings if f.check is check}
