"""What the lifecycle model's invariants read of the database, read in one transaction as
plain values, by statements built once. The model reads it again only after a transaction
that changed a row has committed: most steps change nothing (a rule whose event cannot
happen yet, ECPay going down), and the invariants then check the same rows against the
model's own state again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services.core.db.models import (
    CardAgreement,
    Coupon,
    CouponRedemption,
    CreditEntry,
    EInvoice,
    Invoice,
    Order,
    PaymentReview,
    PeriodCharge,
    Plan,
    PlanChange,
    Refund,
    Subscription,
)
from services.core.usecases.credits import RELEASE, USE
from services.core.usecases.refunds.states import IN_FLIGHT, RETURNED

PAID = ("completed", "refunded")


@dataclass(frozen=True)
class RefundedOrder:
    order_number: str
    amount: int
    status: str
    returned: int  # refunds of the order itself (not of a review's money) given back


@dataclass(frozen=True)
class PricedOrder:
    """An order's price as the customer sees it, and what it was taken off."""

    order_number: str
    subscription_id: Any
    status: str
    plan_price: int  # the list price of the order's plan
    change_net: int | None  # the plan change it pays the net (or new period) of
    change_charge: int | None
    amount: int  # what is left to pay by ECPay (0: paid by credit or a coupon)
    discount: int
    list_amount: int | None
    coupon_code: str | None
    credit_used: int  # taken from the credit balance when the order was placed
    credit_released: int  # given back when the order closed unpaid
    by_agreement: bool  # a periodic charge (定期定額) paid it


@dataclass(frozen=True)
class Credit:
    granted: dict[str, int]  # per grant kind
    balance: int  # the customer's credit left
    lowest: int  # the lowest the balance ever was, entry by entry


@dataclass(frozen=True)
class Redemption:
    subscription_id: Any
    code: str
    periods_used: int


@dataclass(frozen=True)
class ReviewMoney:
    status: str
    amount: int
    returned: int  # refunds of this item's money given back
    counted: int  # its refunds not failed (asked, under way or given back)


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
    orders: list[PricedOrder]
    credit: Credit
    redemptions: list[Redemption]
    reviews: list[ReviewMoney]


def _total(column: Any, *where: Any) -> Any:
    return select(func.coalesce(func.sum(column), 0)).where(*where).scalar_subquery()


def _credit_of(kind: str) -> Any:
    return select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
        CreditEntry.order_id == Order.id, CreditEntry.kind == kind).correlate(Order) \
        .scalar_subquery()


def _of_change(column: Any) -> Any:
    return select(column).where(PlanChange.order_id == Order.id).correlate(Order) \
        .limit(1).scalar_subquery()


@cache
def _statements() -> dict[str, Any]:
    """Every statement, built once: building them took as long as running them."""
    returned = func.coalesce(func.sum(Refund.amount).filter(Refund.status.in_(RETURNED)), 0)
    counted = func.coalesce(func.sum(Refund.amount).filter(Refund.status != "failed"), 0)
    paid_until = select(func.max(Order.period_end)).where(
        Order.subscription_id == Subscription.id, Order.status.in_(PAID)).scalar_subquery()
    running = select(func.sum(CreditEntry.amount).over(
        partition_by=CreditEntry.user_id,
        order_by=(CreditEntry.created_at, CreditEntry.id)).label("balance")).subquery()
    return {
        "totals": select(
            _total(Invoice.total_amount),
            _total(PaymentReview.amount),
            _total(Refund.amount, Refund.method == "card", Refund.status.in_(RETURNED)),
            _total(Refund.amount, Refund.method == "manual", Refund.status.in_(RETURNED)),
            _total(Refund.amount, Refund.method == "card", Refund.status.in_(IN_FLIGHT)),
            select(func.count()).select_from(Order).where(Order.status.in_(PAID))
            .scalar_subquery(),
            select(func.coalesce(func.min(running.c.balance), 0)).scalar_subquery(),
        ),
        # An order's own refunds (not those of a review's money), and what they gave back.
        "refunded_orders": select(
            Order.order_number, Order.amount, Order.status, returned.label("returned"))
        .join(Refund, and_(Refund.order_id == Order.id, Refund.review_id.is_(None)))
        .group_by(Order.id),
        "agreements": select(
            CardAgreement.merchant_trade_no, CardAgreement.status, Subscription.status,
            Subscription.auto_renew, Subscription.cancel_at_period_end)
        .join(Subscription, Subscription.id == CardAgreement.subscription_id),
        "subscriptions": select(Subscription.status, Subscription.end_date,
                                Subscription.trial_end_date, paid_until),
        "einvoices": select(EInvoice.relate_number, EInvoice.status, EInvoice.invoice_no,
                            EInvoice.sales_amount),
        "applied_charges": select(PeriodCharge.gwsr).where(PeriodCharge.outcome == "applied"),
        "invoice_numbers": select(Invoice.invoice_number),
        "orders": select(
            Order.order_number, Order.subscription_id, Order.status, Plan.price.label("price"),
            _of_change(PlanChange.net).label("net"), _of_change(PlanChange.charge).label("charge"),
            Order.amount, Order.discount, Order.list_amount, Coupon.code,
            _credit_of(USE).label("used"), _credit_of(RELEASE).label("released"),
            select(PeriodCharge.id).where(PeriodCharge.order_id == Order.id,
                                          PeriodCharge.outcome == "applied")
            .exists().label("by_agreement"))
        .join(Plan, Plan.id == Order.plan_id)
        .outerjoin(Coupon, Coupon.id == Order.coupon_id)
        .order_by(Order.order_number),
        "granted": select(CreditEntry.kind, func.sum(CreditEntry.amount))
        .group_by(CreditEntry.kind),
        "redemptions": select(CouponRedemption.subscription_id, Coupon.code,
                              CouponRedemption.periods_used)
        .join(Coupon, Coupon.id == CouponRedemption.coupon_id),
        "reviews": select(PaymentReview.status, PaymentReview.amount,
                          returned.label("returned"), counted.label("counted"))
        .outerjoin(Refund, Refund.review_id == PaymentReview.id)
        .group_by(PaymentReview.id),
    }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def read(s: Session) -> Rows:
    """Ten queries, however many rows (not a query per row)."""
    q = _statements()
    totals = s.execute(q["totals"]).one()
    granted = {kind: int(total) for kind, total in s.execute(q["granted"])}
    return Rows(
        invoiced=int(totals[0]),
        in_review=int(totals[1]),
        by_card=int(totals[2]),
        by_transfer=int(totals[3]),
        in_flight=int(totals[4]),
        refunded_orders=[
            RefundedOrder(row.order_number, int(row.amount), row.status, int(row.returned))
            for row in s.execute(q["refunded_orders"])],
        agreements=[Agreement(*row) for row in s.execute(q["agreements"])],
        applied_charge_gwsrs=frozenset(s.scalars(q["applied_charges"])),
        subscriptions=[Sub(*row) for row in s.execute(q["subscriptions"])],
        einvoices={row.relate_number: OurEInvoice(row.status, row.invoice_no, row.sales_amount)
                   for row in s.execute(q["einvoices"])},
        paid_orders=int(totals[5]),
        invoice_numbers=list(s.scalars(q["invoice_numbers"])),
        orders=[
            PricedOrder(row.order_number, row.subscription_id, row.status, int(row.price),
                        _int(row.net), _int(row.charge), int(row.amount), int(row.discount),
                        _int(row.list_amount), row.code, -int(row.used), int(row.released),
                        bool(row.by_agreement))
            for row in s.execute(q["orders"])],
        credit=Credit(granted, sum(granted.values()), min(int(totals[6] or 0), 0)),
        redemptions=[Redemption(*row) for row in s.execute(q["redemptions"])],
        reviews=[ReviewMoney(row.status, int(row.amount or 0), int(row.returned),
                             int(row.counted)) for row in s.execute(q["reviews"])],
    )
