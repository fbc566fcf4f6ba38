"""Books checks on coupons: an order's total is its list price less its discount and the
credit it used, the discount is what its coupon gives (never more than the price, so never a
negative total), a coupon is never redeemed past its limit, and a redemption's count of
discounted periods matches the discounted orders paid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from services.core.db.models import Coupon, CouponRedemption, CreditEntry, Order
from services.core.domain.discounts import CouponKind
from services.core.domain.states import OrderStatus
from services.core.usecases.books_findings import Check, Finding, Query, money
from services.core.usecases.credits import USE

_PAID = (OrderStatus.COMPLETED.value, OrderStatus.REFUNDED.value)


def _credit_used() -> Any:
    # What the order took from the credit balance when placed (a release later gives it
    # back to the customer but does not change what the order was priced at).
    return (select(func.coalesce(-func.sum(CreditEntry.amount), 0))
            .where(CreditEntry.order_id == Order.id, CreditEntry.kind == USE)
            .correlate(Order).scalar_subquery())


def _coupon_gives(list_amount: Any) -> Any:
    """Whether Order.discount is the coupon's: percent rounded half up (in integers:
    100·d − 50 ≤ list·p < 100·d + 50), or the fixed amount capped at the price."""
    scaled = list_amount * Coupon.percent_off
    percent_ok = and_(Order.discount * 100 - 50 <= scaled, scaled < Order.discount * 100 + 50)
    capped = case((Coupon.amount_off < list_amount, Coupon.amount_off), else_=list_amount)
    return case((Coupon.kind == CouponKind.PERCENT.value, percent_ok),
                else_=Order.discount == capped)


def order_discount_wrong(since: datetime | None) -> Query:
    """A discounted order whose numbers do not add up (or a discount without a coupon)."""
    credit = _credit_used().label("credit_used")
    query = (
        select(Order.id, Order.order_number, Order.amount, Order.discount, Order.list_amount,
               Coupon.code, credit)
        .outerjoin(Coupon, Coupon.id == Order.coupon_id)
        .where(or_(Order.coupon_id.is_not(None), Order.discount != 0))
        .where(or_(
            Order.coupon_id.is_(None), Order.list_amount.is_(None), Order.amount < 0,
            Order.discount < 0, Order.discount > Order.list_amount,
            Order.amount + Order.discount + _credit_used() != Order.list_amount,
            ~_coupon_gives(Order.list_amount),
        ))
    )
    if since is not None:
        query = query.where(Order.updated_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(
            Check.ORDER_DISCOUNT_WRONG, {"order": str(row.id), "order_number": row.order_number},
            f"total {money(row.amount)} TWD, list price {money(row.list_amount)}, discount "
            f"{money(row.discount)} by coupon {row.code or '(none)'}, credit used "
            f"{money(row.credit_used)}: total ≠ list − discount − credit, or not the "
            "coupon's discount")

    return query, finding


def coupon_over_limit() -> Query:
    """A coupon redeemed more often than its limit, or whose count disagrees with its
    redemptions (whatever `since` says: one redemption anywhere can break the limit)."""
    redeemed = (select(func.count()).where(CouponRedemption.coupon_id == Coupon.id)
                .correlate(Coupon).scalar_subquery())
    query = select(Coupon.id, Coupon.code, Coupon.max_redemptions, Coupon.times_redeemed,
                   redeemed.label("redemptions")).where(or_(
                       Coupon.times_redeemed != redeemed,
                       and_(Coupon.max_redemptions.is_not(None),
                            redeemed > Coupon.max_redemptions)))

    def finding(row: Any) -> Finding:
        return Finding(Check.COUPON_OVER_LIMIT, {"coupon": str(row.id), "code": row.code},
                       f"{row.redemptions} redemptions (counted {row.times_redeemed}), "
                       f"limit {row.max_redemptions}")

    return query, finding


def redemption_periods_miscounted() -> Query:
    """A redemption whose discounted periods differ from its paid discounted orders (a
    coupon would then run longer or shorter than its duration)."""
    paid = aliased(Order)
    counted = (select(func.count()).where(
        paid.subscription_id == CouponRedemption.subscription_id,
        paid.coupon_id == CouponRedemption.coupon_id, paid.status.in_(_PAID))
        .correlate(CouponRedemption).scalar_subquery())
    query = select(CouponRedemption.id, CouponRedemption.subscription_id,
                   CouponRedemption.periods_used, counted.label("paid")).where(
                       CouponRedemption.periods_used != counted)

    def finding(row: Any) -> Finding:
        return Finding(Check.REDEMPTION_PERIODS_MISCOUNTED,
                       {"redemption": str(row.id), "subscription": str(row.subscription_id)},
                       f"{row.periods_used} discounted periods counted, {row.paid} paid")

    return query, finding


def coupon_checks(since: datetime | None) -> list[Query]:
    return [order_discount_wrong(since), coupon_over_limit(), redemption_periods_miscounted()]
