"""A redeemed coupon on the orders of its subscription: the price of a new or renewal order,
the discounted periods counted when an order is paid, and the recurring discounts that MRR
takes off.

An order is discounted while its subscription's coupon lasts (once: the first paid period;
repeating: the first N; forever) and only when the order's plan is one the coupon is for
(a plan change can leave the coupon behind). Expiry and deactivation stop new redemptions,
never a discount already redeemed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from services.core.db.models import Coupon, CouponRedemption, Order, Subscription
from services.core.domain import discounts
from services.core.domain.discounts import Duration
from services.core.usecases.coupons import terms_of

_Found = tuple[CouponRedemption, Coupon]


@dataclass(frozen=True)
class Priced:
    amount: Decimal
    discount: Decimal = Decimal(0)
    list_amount: Decimal | None = None
    coupon_id: uuid.UUID | None = None

    def columns(self) -> dict[str, Any]:
        return {"amount": self.amount, "discount": self.discount,
                "list_amount": self.list_amount, "coupon_id": self.coupon_id}


def _redemptions(session: Session,
                 subscription_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, _Found]:
    ids = list(subscription_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(CouponRedemption, Coupon).join(Coupon, Coupon.id == CouponRedemption.coupon_id)
        .where(CouponRedemption.subscription_id.in_(ids)))
    return {redemption.subscription_id: (redemption, coupon) for redemption, coupon in rows}


def _applies(found: _Found | None, plan_id: uuid.UUID) -> Coupon | None:
    if found is None:
        return None
    redemption, coupon = found
    if coupon.plan_ids and str(plan_id) not in coupon.plan_ids:
        return None
    if not discounts.covers_next_period(Duration(coupon.duration), coupon.duration_periods,
                                        redemption.periods_used):
        return None
    return coupon


def _priced(coupon: Coupon | None, list_price: Decimal) -> Priced:
    if coupon is None:
        return Priced(amount=Decimal(list_price))
    result = discounts.apply(terms_of(coupon), list_price)
    return Priced(amount=result.total, discount=result.discount, list_amount=result.list_price,
                  coupon_id=coupon.id)


def with_redemption(subscription_id: Any, *columns: Any) -> Select[Any]:
    """A statement of `columns` that also reads the subscription's redeemed coupon (both None
    when it has none), for `price_with`: an order is priced without a query of its own.
    `subscription_id` is an id or a bind parameter."""
    return (select(*columns, CouponRedemption, Coupon).select_from(Subscription)
            .outerjoin(CouponRedemption, CouponRedemption.subscription_id == Subscription.id)
            .outerjoin(Coupon, Coupon.id == CouponRedemption.coupon_id)
            .where(Subscription.id == subscription_id))


def price_with(redemption: CouponRedemption | None, coupon: Coupon | None,
               plan_id: uuid.UUID, list_price: Decimal) -> Priced:
    """`price_order` from a redemption read by `with_redemption`."""
    found = None if redemption is None or coupon is None else (redemption, coupon)
    return _priced(_applies(found, plan_id), list_price)


def price_order(session: Session, subscription_id: uuid.UUID, plan_id: uuid.UUID,
                list_price: Decimal) -> Priced:
    """What a new order of the subscription's next period costs with its coupon, if any."""
    found = _redemptions(session, [subscription_id]).get(subscription_id)
    return _priced(_applies(found, plan_id), list_price)


def discount_renewals(session: Session, rows: list[dict[str, Any]],
                      skip: set[uuid.UUID]) -> None:
    """Take the coupons off a batch of renewal order rows in place (one query for the batch).

    Subscriptions in `skip` are charged by a card agreement (定期定額) whose amount ECPay
    fixed at sign-up, so their periods are charged at the list price.
    """
    found = _redemptions(session, {row["subscription_id"] for row in rows} - skip)
    if not found:
        return
    for row in rows:
        if row["subscription_id"] in found:
            coupon = _applies(found[row["subscription_id"]], row["plan_id"])
            row.update(_priced(coupon, Decimal(row["amount"])).columns())


def count_paid_period(session: Session, order: Order) -> None:
    """A paid order its coupon discounted uses one of the coupon's periods (called once per
    order, from the payment's completion)."""
    if order.coupon_id is None:
        return
    session.execute(
        update(CouponRedemption)
        .where(CouponRedemption.subscription_id == order.subscription_id,
               CouponRedemption.coupon_id == order.coupon_id)
        .values(periods_used=CouponRedemption.periods_used + 1))


def recurring_discounts(session: Session, plan_of: dict[uuid.UUID, tuple[uuid.UUID, Decimal]]
                        ) -> dict[uuid.UUID, Decimal]:
    """Per subscription (id → its plan id and list price), the discount MRR takes off: a
    forever or repeating coupon still running; a once coupon is no recurring revenue change."""
    found = _redemptions(session, plan_of)
    out: dict[uuid.UUID, Decimal] = {}
    for sub_id, (plan_id, price) in plan_of.items():
        coupon = _applies(found.get(sub_id), plan_id)
        if coupon is not None and coupon.duration != Duration.ONCE:
            out[sub_id] = discounts.discount_of(terms_of(coupon), price)
    return out


def line_label(session: Session, order: Order) -> str:
    """" (SPRING −10%)" after an invoice or e-invoice line a coupon discounted, else ""."""
    if order.coupon_id is None or not order.discount:
        return ""
    coupon = session.get(Coupon, order.coupon_id)
    return "" if coupon is None else f" ({discounts.label(coupon.code, terms_of(coupon))})"
