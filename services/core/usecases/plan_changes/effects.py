"""What a plan change does when it takes effect: the subscription moves to the new plan,
next-period orders follow the new price, card agreements for the old amount stop, and a
change that leaves the customer owed money credits the balance."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, Plan, PlanChange, Subscription
from services.core.domain.periods import Period
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.ports import Jobs
from services.core.usecases import audit, credits
from services.core.usecases.payments import agreements, attempts
from services.core.usecases.payments.reviews import ReviewReason
from services.core.usecases.webhooks import events

APPLIED = "applied"
AWAITING_PAYMENT = "awaiting_payment"
SCHEDULED = "scheduled"
_OPEN = (OrderStatus.PENDING.value, OrderStatus.PROCESSING.value)


def take_effect(session: Session, clock: Clock, jobs: Jobs, change: PlanChange,
                sub: Subscription, at: datetime) -> None:
    """Move `sub` to the new plan now. Within one billing cycle the paid period stays; an
    immediate change of cycle starts the new plan's period at the change instant."""
    new = session.get_one(Plan, change.to_plan_id)
    if changes_cycle(session, change):
        # The old cycle's next period no longer exists: an open order for it is closed
        # (quotes refused the change when that period was already paid).
        _close_next_orders(session, sub)
        sub.anchor_date, sub.end_date = change.new_period_start, change.new_period_end
    else:
        _reprice_next_orders(session, sub, new)
    sub.plan_id = new.id
    # An agreement charges the old plan's amount; the next period is paid by checkout
    # (which sets up an agreement for the new amount).
    agreements.request_cancel(session, clock, jobs, sub, "plan changed")
    change.status = APPLIED
    change.applied_at = at
    if change.net < 0 and change.order_id is None:
        # (A cycle change owing nothing credited its unused days when it was applied.)
        credits.grant(session, user_id=sub.user_id, amount=-change.net, kind="downgrade",
                      plan_change_id=change.id, note="unused days of the previous plan")
    audit.record(session, audit.SYSTEM, "subscription.plan_changed",
                 resource_type="subscription", resource_id=sub.id, user_id=sub.user_id,
                 meta={"plan_change_id": str(change.id), "from": str(change.from_plan_id),
                       "to": str(change.to_plan_id), "net": str(change.net)})
    events.subscription_changed(session, at, sub, sub.status,
                                event_type="subscription.plan_changed", jobs=jobs)


def _reprice_next_orders(session: Session, sub: Subscription, plan: Plan) -> None:
    # An open order for the next period was priced on the old plan: it now costs the new
    # price, and a checkout already started for the old amount can no longer be paid.
    if sub.end_date is None:
        return
    for order in session.scalars(
        select(Order).where(Order.subscription_id == sub.id, Order.status.in_(_OPEN),
                            Order.period_start >= sub.end_date).with_for_update()
    ):
        order.plan_id, order.amount = plan.id, plan.price
        attempts.expire_open(session, order.id, "plan changed: the price changed")


def changes_cycle(session: Session, change: PlanChange) -> bool:
    """True when the change moves to another billing cycle (monthly ↔ yearly)."""
    old, new = session.get_one(Plan, change.from_plan_id), session.get_one(
        Plan, change.to_plan_id)
    return old.billing_cycle != new.billing_cycle


def _close_next_orders(session: Session, sub: Subscription) -> None:
    if sub.end_date is None:
        return
    for order in session.scalars(
        select(Order).where(Order.subscription_id == sub.id, Order.status.in_(_OPEN),
                            Order.period_start >= sub.end_date).with_for_update()
    ):
        order.status = OrderStatus.CANCELLED.value
        order.failure_reason = "billing cycle changed: this period no longer exists"
        attempts.expire_open(session, order.id, "billing cycle changed")
        credits.release_from_order(session, order)


def change_of_order(session: Session, order: Order) -> PlanChange | None:
    """The plan change an order pays the net of, if it is one."""
    return session.scalars(select(PlanChange).where(PlanChange.order_id == order.id)).first()


def refusal(change: PlanChange, sub: Subscription) -> tuple[ReviewReason, str] | None:
    """Why the money for this upgrade cannot switch the plan any more (it then goes to
    review), or None."""
    if change.status != AWAITING_PAYMENT:
        return ReviewReason.ORDER_CLOSED, f"the plan change is {change.status}"
    if sub.status != SubscriptionStatus.ACTIVE or sub.plan_id != change.from_plan_id:
        return ReviewReason.SUBSCRIPTION_CLOSED, "the subscription moved on since the change"
    if sub.end_date is None or sub.end_date <= change.proration_date:
        return ReviewReason.SUBSCRIPTION_CLOSED, "the prorated period is over"
    return None


def activate_paid(session: Session, clock: Clock, jobs: Jobs, change: PlanChange,
                  order: Order, sub: Subscription, paid_at: datetime) -> Period:
    """The paid net of an upgrade: the plan switches; the period it paid for is returned
    for the invoice (the order keeps no period: it never extends the subscription)."""
    take_effect(session, clock, jobs, change, sub, paid_at)
    return Period(change.proration_date, change.new_period_end)


def switch_at_renewal(session: Session, clock: Clock, subs: Mapping[uuid.UUID, Subscription],
                      wanted: Mapping[uuid.UUID, datetime]) -> None:
    """Before the renewal job prices the next period: a downgrade scheduled for its start
    moves the subscription to the new plan (a new anchor when the cycle changes)."""
    if not subs:
        return
    due = session.scalars(
        select(PlanChange).where(PlanChange.subscription_id.in_(list(subs)),
                                 PlanChange.status == SCHEDULED).with_for_update()
    ).all()
    for change in due:
        sub = subs[change.subscription_id]
        if sub.end_date is None or change.effective_at != wanted.get(sub.id) \
                or change.effective_at != sub.end_date or sub.plan_id != change.from_plan_id:
            continue
        old, new = session.get_one(Plan, change.from_plan_id), session.get_one(
            Plan, change.to_plan_id)
        sub.plan_id = new.id
        if old.billing_cycle != new.billing_cycle:
            sub.anchor_date = sub.end_date
        change.status = APPLIED
        change.applied_at = clock.now()
        audit.record(session, audit.SYSTEM, "subscription.plan_changed",
                     resource_type="subscription", resource_id=sub.id, user_id=sub.user_id,
                     meta={"plan_change_id": str(change.id), "from": str(old.id),
                           "to": str(new.id), "net": "0", "at": sub.end_date.isoformat()})
        events.subscription_changed(session, clock.now(), sub, sub.status,
                                    event_type="subscription.plan_changed")
