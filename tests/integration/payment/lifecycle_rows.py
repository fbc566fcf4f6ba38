"""What the lifecycle model's invariants read of the database, read in one transaction as
plain values. The model reads it again only after a transaction that changed a row has
committed: most steps change nothing (a rule whose event cannot happen yet, ECPay going
down), and the invariants then check the same rows against the model's own state again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services.core.db.models import (
    CardAgreement,
    EInvoice,
    Invoice,
    Order,
    PaymentReview,
    PeriodCharge,
    Refund,
    Subscription,
)
from services.core.usecases.refunds.states import IN_FLIGHT, RETURNED

PAID = ("completed", "refunded")


@dataclass(frozen=True)
class RefundedOrder:
    order_number: str
    amount: int
    status: str
    returned: int  # refunds of the order itself (not of a review's money) given back


@dataclass(frozen=True)
class Agreement:
    merchant_trade_no: str
    status: str
    subscription_status: str
    auto_renew: bool
    cancel_at_period_end: bool


@dataclass(frozen=True)
class Sub:
    status: str
    end_date: datetime | None
    trial_end_date: datetime | None
    paid_until: datetime | None  # the last period a completed or refunded order paid


@dataclass(frozen=True)
class OurEInvoice:
    status: str
    invoice_no: str | None
    sales_amount: Decimal | int


@dataclass(frozen=True)
class Rows:
    invoiced: int
    in_review: int
    by_card: int  # card refunds ECPay gave back, as recorded
    by_transfer: int
    in_flight: int  # card refunds under way
    refunded_orders: list[RefundedOrder]
    agreements: list[Agreement]
    applied_charge_gwsrs: frozenset[str]
    subscriptions: list[Sub]
    einvoices: dict[str, OurEInvoice]  # by relate number
    paid_orders: int
    invoice_numbers: list[str]


def _total(column: Any, *where: Any) -> Any:
    return select(func.coalesce(func.sum(column), 0)).where(*where).scalar_subquery()


def read(s: Session) -> Rows:
    """Seven queries, however many rows (not a query per row)."""
    totals = s.execute(select(
        _total(Invoice.total_amount),
        _total(PaymentReview.amount),
        _total(Refund.amount, Refund.method == "card", Refund.status.in_(RETURNED)),
        _total(Refund.amount, Refund.method == "manual", Refund.status.in_(RETURNED)),
        _total(Refund.amount, Refund.method == "card", Refund.status.in_(IN_FLIGHT)),
        select(func.count()).select_from(Order).where(Order.status.in_(PAID))
        .scalar_subquery(),
    )).one()
    # An order's own refunds (not those of a review's money), and what they gave back.
    returned = func.coalesce(func.sum(Refund.amount).filter(Refund.status.in_(RETURNED)), 0)
    refunded_orders = [
        RefundedOrder(row.order_number, int(row.amount), row.status, int(row.returned))
        for row in s.execute(
            select(Order.order_number, Order.amount, Order.status, returned.label("returned"))
            .join(Refund, and_(Refund.order_id == Order.id, Refund.review_id.is_(None)))
            .group_by(Order.id))]
    agreements = [
        Agreement(*row) for row in s.execute(
            select(CardAgreement.merchant_trade_no, CardAgreement.status, Subscription.status,
                   Subscription.auto_renew, Subscription.cancel_at_period_end)
            .join(Subscription, Subscription.id == CardAgreement.subscription_id))]
    paid_until = select(func.max(Order.period_end)).where(
        Order.subscription_id == Subscription.id, Order.status.in_(PAID)).scalar_subquery()
    subscriptions = [
        Sub(*row) for row in s.execute(select(
            Subscription.status, Subscription.end_date, Subscription.trial_end_date,
            paid_until))]
    einvoices = {row.relate_number: OurEInvoice(row.status, row.invoice_no, row.sales_amount)
                 for row in s.execute(select(EInvoice.relate_number, EInvoice.status,
                                             EInvoice.invoice_no, EInvoice.sales_amount))}
    return Rows(
        invoiced=int(totals[0]),
        in_review=int(totals[1]),
        by_card=int(totals[2]),
        by_transfer=int(totals[3]),
        in_flight=int(totals[4]),
        refunded_orders=refunded_orders,
        agreements=agreements,
        applied_charge_gwsrs=frozenset(s.scalars(select(PeriodCharge.gwsr).where(
            PeriodCharge.outcome == "applied"))),
        subscriptions=subscriptions,
        einvoices=einvoices,
        paid_orders=int(totals[5]),
        invoice_numbers=list(s.scalars(select(Invoice.invoice_number))),
    )
