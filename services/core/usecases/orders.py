"""Order use cases for the API: list, read, and place an order for a subscription's period."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, true
from sqlalchemy.orm import Session, aliased

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


def _same_request(first: Order, subscription_id: uuid.UUID, payment_method: str,
                  invoice: dict[str, Any] | None) -> Order:
    """The first order of an Idempotency-Key, if this retry asks for the same thing."""
    if (first.subscription_id, first.payment_method, first.invoice_preference) != (
            subscription_id, payment_method, invoice):
        raise Conflict("This Idempotency-Key was used for a different request.",
                       code="idempotency_key_reused",
                       errors={"Idempotency-Key": ["Already used with another body."]})
    return first


def _replay(session: Session, user: User, key: str, subscription_id: uuid.UUID,
            payment_method: str, invoice: dict[str, Any] | None) -> Order | None:
    first = session.scalars(
        select(Order).where(Order.user_id == user.id, Order.idempotency_key == key)
    ).one_or_none()
    return None if first is None else _same_request(first, subscription_id, payment_method,
                                                     invoice)


class _Locked(NamedTuple):
    first: Order | None  # the order a retried Idempotency-Key answers with
    subscription: Subscription | None  # locked; None when it is not the caller's
    plan: Plan | None
    has_credit: bool


# The order's statements are built once with bind parameters: building them per request
# cost more Python than a round trip, and a reused statement keeps its cache key.
@functools.cache
def _lock_statement() -> Any:
    """A retry's first order or else the subscription, locked, with its plan and whether the
    customer has credit: a retry takes no lock, so its transaction stays read-only."""
    user_id: Any = bindparam("user_id")
    first = (select(Order).where(Order.user_id == user_id,
                                 Order.idempotency_key == bindparam("key")).cte("first_order"))
    locked = (select(Subscription)
              .where(Subscription.id == bindparam("subscription_id"),
                     Subscription.user_id == user_id, ~select(first.c.id).exists())
              .with_for_update().cte("locked_subscription"))
    first_order, subscription = aliased(Order, first), aliased(Subscription, locked)
    return (select(first_order, subscription, Plan,
                   credit_payments.has_credit_column(user_id).label("has_credit"))
            .select_from(User).outerjoin(first_order, true()).outerjoin(subscription, true())
            .outerjoin(Plan, Plan.id == subscription.plan_id).where(User.id == user_id))


def _lock(session: Session, user: User, subscription_id: uuid.UUID,
          key: str | None) -> _Locked:
    """One round trip for what the order needs from outside the subscription's lock (none of
    it is written under it)."""
    params = {"subscription_id": subscription_id, "user_id": user.id, "key": key}
    locked = _Locked(*session.execute(_lock_statement(), params).one())
    if locked.subscription is not None and locked.plan is None:
        # The lock waited for a move to a plan created after the statement began (the
        # plan is read in the statement's snapshot); a new statement sees it.
        locked = _Locked(*session.execute(_lock_statement(), params).one())
    return locked


def _period(subscription: Subscription, plan: Plan) -> _Period:
    """(period_start, period_end) of the order: none for a first payment, the overdue
    period for a past-due one."""
    if subscription.status not in ORDERABLE_STATES:
        raise Conflict(f"A {subscription.status} subscription cannot be ordered.",
                       code="not_orderable", errors={"subscription_id": [subscription.status]})
    if subscription.status != S.PAST_DUE:
        return None, None
    if subscription.end_date is None or subscription.anchor_date is None:
        raise Conflict("This subscription has no period to renew.", code="not_orderable")
    period = next_period(subscription.anchor_date, BillingCycle.parse(plan.billing_cycle),
                         subscription.end_date)
    return period.start, period.end


@functools.cache
def _paid(renewal: bool) -> Any:
    """Whether the period is already paid: a first order's, or the renewal's of
    `period_start`."""
    paid = select(Order.id).where(Order.subscription_id == bindparam("subscription_id"),
                                  Order.status == OrderStatus.COMPLETED.value)
    if renewal:
        return paid.where(Order.period_start == bindparam("period_start")).exists().label("paid")
    return paid.where(Order.is_renewal.is_(False)).exists().label("paid")


@functools.cache
def _paid_and_coupon_statement(renewal: bool) -> Any:
    return coupon_pricing.with_redemption(bindparam("subscription_id"), _paid(renewal))


def _refuse_paid(paid: bool | None) -> None:
    if paid:
        raise Conflict("This period is already paid.", code="already_paid")


def _unpaid_price(session: Session, clock: Clock, actor: Actor, user: User,
                  subscription: Subscription, plan: Plan, period_start: datetime | None,
                  coupon_code: str | None) -> coupon_pricing.Priced:
    """Refuse a period already paid, then price it with the subscription's coupon (a code is
    redeemed first). Read under the subscription's lock: payments and redemptions take it."""
    renewal = period_start is not None
    params = {"subscription_id": subscription.id, "period_start": period_start}
    if coupon_code:
        _refuse_paid(session.scalar(select(_paid(renewal)), params))
        coupons.redeem(session, clock, actor, subscription, coupon_code,
                       source=coupons.CHECKOUT, applied_by=user.id)
        return coupon_pricing.price_order(session, subscription.id, plan.id, plan.price)
    row = session.execute(_paid_and_coupon_statement(renewal), params).one()
    _refuse_paid(row.paid)
    return coupon_pricing.price_with(row.CouponRedemption, row.Coupon, plan.id, plan.price)


_INSERTED = ("id", "order_number", "user_id", "subscription_id", "plan_id", "amount",
             "discount", "list_amount", "coupon_id", "currency", "status", "payment_method",
             "is_renewal", "period_start", "period_end", "client_ip", "idempotency_key",
             "invoice_preference")
_INSERTS: dict[str, Any] = {}  # by dialect


def _insert_statement(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        columns = Order.__table__.c
        _INSERTS[dialect] = (
            insert_for(session)(Order)
            .values({name: bindparam(name, type_=columns[name].type) for name in _INSERTED})
            .on_conflict_do_nothing().returning(Order))
    return _INSERTS[dialect]


def _insert(session: Session, values: dict[str, Any]) -> Order | None:
    """The new order, or None when a unique index already holds one (same key or period)."""
    params = {"id": uuid.uuid4(), "status": OrderStatus.PENDING.value, **values}
    return session.scalars(_insert_statement(session), params).one_or_none()


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
    key = idempotency_key or None
    locked = _lock(session, user, subscription_id, key)
    if locked.first is not None:
        return PlacedOrder(_same_request(locked.first, subscription_id, payment_method,
                                         invoice), created=False)
    subscription, plan = locked.subscription, locked.plan
    if subscription is None or plan is None:
        raise NotFound("Subscription not found.")
    period_start, period_end = _period(subscription, plan)
    priced = _unpaid_price(session, clock, actor, user, subscription, plan, period_start,
                           coupon_code)
    order = _insert(session, dict(
        order_number=new_order_number(clock.now()), user_id=user.id,
        subscription_id=subscription.id, plan_id=plan.id, **priced.columns(),
        currency=plan.currency, payment_method=payment_method,
        is_renewal=period_start is not None, period_start=period_start,
        period_end=period_end, client_ip=client_ip, idempotency_key=key,
        invoice_preference=invoice))
    if order is None:
        return _lost_race(session, user, key, subscription_id, payment_method, invoice)
    audit.record(session, actor, "order_create", resource_type="order", resource_id=order.id,
                 description=f"Order {order.order_number} for {plan.slug}: "
                             f"{order.amount} {order.currency} by {payment_method}.",
                 meta={"subscription_id": str(subscription.id), "amount": str(order.amount)})
    if jobs is not None:
        # The customer's credit is used first; an order it covers completes without ECPay.
        credit_payments.apply_credit(session, clock, jobs, order,
                                     has_credit=locked.has_credit)
    return PlacedOrder(order, created=True)


def _lost_race(session: Session, user: User, key: str | None, subscription_id: uuid.UUID,
               payment_method: str, invoice: dict[str, Any] | None) -> PlacedOrder:
    if key:
        first = _replay(session, user, key, subscription_id, payment_method, invoice)
        if first is not None:
            return PlacedOrder(first, created=False)
    raise Conflict("An order for this period already exists.", code="order_exists")
