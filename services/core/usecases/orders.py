"""Order use cases for the API: list, read, and place an order for a subscription's period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, Plan, Subscription, User
from services.core.db.upsert import insert_for
from services.core.domain.order_numbers import new_order_number
from services.core.domain.periods import BillingCycle, next_period
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.errors import Conflict, NotFound
from services.core.ports import Jobs
from services.core.usecases import audit, coupon_pricing, coupons, credit_payments
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor
from services.core.usecases.einvoices import preferences
from services.core.usecases.subscriptions import get_subscription

PAYMENT_METHODS = ("credit_card", "atm", "cvs", "barcode")
# A subscription waiting for its first payment (pending/trial) or an overdue renewal.
ORDERABLE_STATES = (SubscriptionStatus.PENDING, SubscriptionStatus.TRIAL,
                    SubscriptionStatus.PAST_DUE)
S = SubscriptionStatus
_Period = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    created: bool  # False when an Idempotency-Key replay returned the first order


def list_orders(session: Session, caller: User, *, page: int, page_size: int,
                status: str | None = None, subscription_id: uuid.UUID | None = None,
                user_id: uuid.UUID | None = None) -> Page[Order]:
    query = select(Order).order_by(Order.created_at.desc(), Order.id)
    if not caller.is_staff:
        query = query.where(Order.user_id == caller.id)
    elif user_id is not None:
        query = query.where(Order.user_id == user_id)
    if status:
        query = query.where(Order.status == status)
    if subscription_id is not None:
        query = query.where(Order.subscription_id == subscription_id)
    return paginate(session, query, page=page, page_size=page_size)


def get_order(session: Session, caller: User, order_id: uuid.UUID) -> Order:
    query = select(Order).where(Order.id == order_id)
    if not caller.is_staff:
        query = query.where(Order.user_id == caller.id)
    order = session.scalars(query).one_or_none()
    if order is None:
        raise NotFound("Order not found.")
    return order


def _replay(session: Session, user: User, key: str, subscription_id: uuid.UUID,
            payment_method: str, invoice: dict[str, Any] | None) -> Order | None:
    first = session.scalars(
        select(Order).where(Order.user_id == user.id, Order.idempotency_key == key)
    ).one_or_none()
    if first is not None and (
            first.subscription_id, first.payment_method, first.invoice_preference) != (
            subscription_id, payment_method, invoice):
        raise Conflict("This Idempotency-Key was used for a different request.",
                       code="idempotency_key_reused",
                       errors={"Idempotency-Key": ["Already used with another body."]})
    return first


def _renewal_period(session: Session, subscription: Subscription) -> _Period:
    plan = session.get(Plan, subscription.plan_id)
    if plan is None or subscription.end_date is None or subscription.anchor_date is None:
        raise Conflict("This subscription has no period to renew.", code="not_orderable")
    period = next_period(subscription.anchor_date, BillingCycle.parse(plan.billing_cycle),
                         subscription.end_date)
    return period.start, period.end


def _check_orderable(session: Session, subscription: Subscription) -> _Period:
    """(period_start, period_end) of the order: none for a first payment, the overdue
    period for a past-due one. A period already paid is refused."""
    if subscription.status not in ORDERABLE_STATES:
        raise Conflict(f"A {subscription.status} subscription cannot be ordered.",
                       code="not_orderable", errors={"subscription_id": [subscription.status]})
    period: _Period = (None, None)
    paid = select(Order.id).where(Order.subscription_id == subscription.id,
                                  Order.status == OrderStatus.COMPLETED.value)
    if subscription.status == S.PAST_DUE:
        period = _renewal_period(session, subscription)
        paid = paid.where(Order.period_start == period[0])
    else:
        paid = paid.where(Order.is_renewal.is_(False))
    if session.scalars(paid).first() is not None:
        raise Conflict("This period is already paid.", code="already_paid")
    return period


def place_order(
    session: Session, clock: Clock, actor: Actor, user: User, *, subscription_id: uuid.UUID,
    payment_method: str, client_ip: str | None, idempotency_key: str | None = None,
    invoice_preference: dict[str, Any] | None = None, jobs: Jobs | None = None,
    coupon_code: str | None = None,
) -> PlacedOrder:
    """Create a pending order priced from the subscription's plan (never from the client).

    With an Idempotency-Key, a retry returns the first order; the unique (user, key) index
    settles concurrent retries. A past-due subscription's order pays the overdue period, and
    the unique (subscription, period) index keeps it to one order per period. A coupon code
    is redeemed on the subscription first; its discount is taken off the plan's price.
    """
    invoice = (None if invoice_preference is None
               else preferences.to_mapping(preferences.checked(
                   preferences.from_mapping(invoice_preference),
                   field_names={f: f"invoice.{f}" for f in preferences.USER_COLUMNS})))
    if idempotency_key:
        first = _replay(session, user, idempotency_key, subscription_id, payment_method,
                        invoice)
        if first is not None:
            return PlacedOrder(first, created=False)
    subscription = get_subscription(session, user, subscription_id, for_update=True)
    if subscription.user_id != user.id:
        raise NotFound("Subscription not found.")
    period_start, period_end = _check_orderable(session, subscription)
    plan = session.get(Plan, subscription.plan_id)
    if plan is None:
        raise NotFound("Plan not found.")
    if coupon_code:
        coupons.redeem(session, clock, actor, subscription, coupon_code,
                       source=coupons.CHECKOUT, applied_by=user.id)
    priced = coupon_pricing.price_order(session, subscription.id, plan.id, plan.price)
    new_id = uuid.uuid4()
    insert = insert_for(session)
    inserted = session.execute(
        insert(Order).values(
            id=new_id, order_number=new_order_number(clock.now()), user_id=user.id,
            subscription_id=subscription.id, plan_id=plan.id, **priced.columns(),
            currency=plan.currency, status=OrderStatus.PENDING.value,
            payment_method=payment_method, is_renewal=period_start is not None,
            period_start=period_start, period_end=period_end, client_ip=client_ip,
            idempotency_key=idempotency_key or None, invoice_preference=invoice,
        ).on_conflict_do_nothing().returning(Order.id)
    ).scalar_one_or_none()
    if inserted is None:
        return _lost_race(session, user, idempotency_key, subscription_id, payment_method,
                          invoice)
    order = session.get_one(Order, new_id)
    audit.record(session, actor, "order_create", resource_type="order", resource_id=order.id,
                 description=f"Order {order.order_number} for {plan.slug}: "
                             f"{order.amount} {order.currency} by {payment_method}.",
                 meta={"subscription_id": str(subscription.id), "amount": str(order.amount)})
    if jobs is not None:
        # The customer's credit is used first; an order it covers completes without ECPay.
        credit_payments.apply_credit(session, clock, jobs, order)
    return PlacedOrder(order, created=True)


def _lost_race(session: Session, user: User, key: str | None, subscription_id: uuid.UUID,
               payment_method: str, invoice: dict[str, Any] | None) -> PlacedOrder:
    if key:
        first = _replay(session, user, key, subscription_id, payment_method, invoice)
        if first is not None:
            return PlacedOrder(first, created=False)
    raise Conflict("An order for this period already exists.", code="order_exists")
