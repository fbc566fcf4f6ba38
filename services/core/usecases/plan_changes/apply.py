"""Applying a plan change: an order for the net of an immediate upgrade, the switch itself
for a change that owes nothing, or a downgrade scheduled for the end of the paid period."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, PlanChange, Subscription, User
from services.core.domain.order_numbers import new_order_number
from services.core.domain.proration import ChangePolicy
from services.core.domain.states import OrderStatus
from services.core.errors import Conflict, NotFound, ValidationError
from services.core.ports import Jobs
from services.core.usecases import audit, credit_payments, credits
from services.core.usecases.audit import Actor
from services.core.usecases.payments import agreements, attempts
from services.core.usecases.plan_changes import effects
from services.core.usecases.plan_changes.quotes import Quote, quote
from services.core.usecases.subscriptions import get_subscription


class ChangeStatus:
    AWAITING_PAYMENT = "awaiting_payment"
    SCHEDULED = "scheduled"
    APPLIED = "applied"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


OPEN_CHANGES = (ChangeStatus.AWAITING_PAYMENT, ChangeStatus.SCHEDULED)
# How far a proration_date may lie from now when applying (a preview shown a while ago).
PRORATION_DATE_SLACK = timedelta(days=1)
PAYMENT_METHODS = ("credit_card", "atm", "cvs", "barcode")


def preview(session: Session, clock: Clock, caller: User, subscription_id: uuid.UUID, *,
            plan_id: uuid.UUID, proration_date: datetime | None = None,
            policy: str | None = None, payment_method: str | None = None) -> Quote:
    """What changing plan would cost, without changing anything (owner or staff)."""
    sub = get_subscription(session, caller, subscription_id)
    return quote(session, sub, plan_id=plan_id, now=clock.now(),
                 proration_date=proration_date, policy=policy)


def open_change(session: Session, subscription_id: uuid.UUID) -> PlanChange | None:
    """The change still to happen: a scheduled one, or an upgrade whose order is payable."""
    changes = session.scalars(
        select(PlanChange).where(PlanChange.subscription_id == subscription_id,
                                 PlanChange.status.in_(OPEN_CHANGES))
        .order_by(PlanChange.created_at.desc())
    ).all()
    for change in changes:
        if change.status == ChangeStatus.SCHEDULED:
            return change
        order = session.get(Order, change.order_id) if change.order_id else None
        if order is not None and order.status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            return change
    return None


def change_plan(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
                subscription_id: uuid.UUID, *, plan_id: uuid.UUID,
                proration_date: datetime | None = None, policy: str | None = None,
                payment_method: str = "credit_card", idempotency_key: str | None = None
                ) -> PlanChange:
    """Apply the change the preview showed; the same `proration_date` gives the same lines.

    A newer change replaces an open one (its unpaid order closes), as Lago's upgrade
    cancels a pending downgrade. With an Idempotency-Key a retry returns the first change.
    """
    if payment_method not in PAYMENT_METHODS:
        raise ValidationError("Unknown payment method.",
                              errors={"payment_method": [f"one of {', '.join(PAYMENT_METHODS)}"]})
    sub = get_subscription(session, caller, subscription_id, for_update=True)
    if idempotency_key:
        first = _replay(session, sub, idempotency_key, plan_id, proration_date, policy)
        if first is not None:
            return first
    now = clock.now()
    if proration_date is not None and abs(proration_date - now) > PRORATION_DATE_SLACK:
        raise ValidationError("A change applies now: proration_date must be within a day of now.",
                              errors={"proration_date": ["within a day of now"]})
    q = quote(session, sub, plan_id=plan_id, now=now, proration_date=proration_date,
              policy=policy)
    _supersede_open(session, clock, sub)
    change = PlanChange(
        subscription_id=sub.id, user_id=sub.user_id, from_plan_id=q.from_plan.id,
        to_plan_id=q.to_plan.id, policy=q.policy.value, proration_date=q.proration_date,
        effective_at=q.effective_at, credit=q.proration.credit, charge=q.proration.charge,
        net=q.proration.net, new_period_start=q.proration.new_period.start,
        new_period_end=q.proration.new_period.end, requested_by=actor.user_id,
        status=ChangeStatus.SCHEDULED, idempotency_key=idempotency_key or None,
        lines=lines_of(q),
    )
    session.add(change)
    session.flush()
    if q.policy is ChangePolicy.END_OF_TERM:
        # The agreement charges the old amount; from the period end the new plan is billed
        # by payment link (RESEARCH §2.5(2)).
        agreements.request_cancel(session, clock, jobs, sub, "plan change at end of term")
    elif q.requires_payment:
        change.status = ChangeStatus.AWAITING_PAYMENT
        order = _proration_order(session, clock, sub, change, payment_method, change.net)
        change.order_id = order.id
        session.flush()
        credit_payments.apply_credit(session, clock, jobs, order)
    elif effects.changes_cycle(session, change):
        # A cycle change that owes nothing still starts a new paid period: the unused days
        # go to the balance and pay that period's order from it at once, so the ledger and
        # the books see the period paid (what is left stays on the balance).
        credits.grant(session, user_id=sub.user_id, amount=change.credit, kind="downgrade",
                      plan_change_id=change.id, note="unused days of the previous cycle")
        change.status = ChangeStatus.AWAITING_PAYMENT
        order = _proration_order(session, clock, sub, change, payment_method, change.charge)
        change.order_id = order.id
        session.flush()
        credit_payments.apply_credit(session, clock, jobs, order)
    else:
        effects.take_effect(session, clock, jobs, change, sub, now)
        change.status = ChangeStatus.APPLIED
    audit.record(session, actor, "subscription_plan_change", resource_type="subscription",
                 resource_id=sub.id, user_id=sub.user_id,
                 description=f"{q.from_plan.slug} → {q.to_plan.slug} ({q.policy.value}): "
                             f"credit {q.proration.credit}, charge {q.proration.charge}, "
                             f"net {q.proration.net}; {change.status}.",
                 meta={"plan_change_id": str(change.id), "policy": q.policy.value,
                       "net": str(q.proration.net), "status": change.status})
    session.flush()
    return change


def _replay(session: Session, sub: Subscription, key: str, plan_id: uuid.UUID,
            proration_date: datetime | None, policy: str | None) -> PlanChange | None:
    first = session.scalars(select(PlanChange).where(
        PlanChange.subscription_id == sub.id, PlanChange.idempotency_key == key)).one_or_none()
    if first is None:
        return None
    if first.to_plan_id != plan_id or (policy and policy != first.policy) or (
            proration_date is not None and proration_date != first.proration_date):
        raise Conflict("This Idempotency-Key was used for a different change.",
                       code="idempotency_key_reused",
                       errors={"Idempotency-Key": ["Already used with another body."]})
    return first


def lines_of(q: Quote) -> dict[str, Any]:
    """The numbers of a quote as strings (whole TWD), as stored and answered."""
    p = q.proration
    return {
        "upgrade": q.upgrade, "requires_payment": q.requires_payment,
        "credit": str(p.credit), "charge": str(p.charge), "net": str(p.net),
        "credit_balance_used": str(q.credit_balance_used), "amount_due": str(q.amount_due),
        "tax": {"amount": str(q.tax.amount), "tax": str(q.tax.tax), "total": str(q.tax.total)},
        "remaining_days": p.remaining_days, "period_days": p.period_days,
    }


def quote_answer(q: Quote) -> dict[str, Any]:
    """A preview as the API answers it (instants in UTC, like a stored change's)."""
    return {
        **lines_of(q), "subscription_id": q.subscription.id, "from_plan_id": q.from_plan.id,
        "to_plan_id": q.to_plan.id, "policy": q.policy.value,
        "proration_date": q.proration_date.astimezone(UTC),
        "effective_at": q.effective_at.astimezone(UTC),
        "new_period_start": q.proration.new_period.start.astimezone(UTC),
        "new_period_end": q.proration.new_period.end.astimezone(UTC),
    }


def change_answer(change: PlanChange) -> dict[str, Any]:
    """An applied change as the API answers it: the same lines as its preview."""
    return {
        **change.lines, "subscription_id": change.subscription_id,
        "from_plan_id": change.from_plan_id, "to_plan_id": change.to_plan_id,
        "policy": change.policy, "proration_date": change.proration_date.astimezone(UTC),
        "effective_at": change.effective_at.astimezone(UTC),
        "new_period_start": change.new_period_start.astimezone(UTC),
        "new_period_end": change.new_period_end.astimezone(UTC), "plan_change_id": change.id,
        "status": change.status, "order_id": change.order_id,
    }


def _proration_order(session: Session, clock: Clock, sub: Subscription, change: PlanChange,
                     payment_method: str, amount: Decimal) -> Order:
    # Within one cycle it has no period of its own: it pays the rest of the current one on
    # the new plan. A change of cycle pays the new plan's first period, which it names (the
    # books look for the order paying the subscription's end). Either way effects.take_effect
    # completes it instead of the ordinary extension.
    names_period = effects.changes_cycle(session, change)
    order = Order(order_number=new_order_number(clock.now()), user_id=sub.user_id,
                  subscription_id=sub.id, plan_id=change.to_plan_id, amount=amount,
                  currency="TWD", status=OrderStatus.PENDING.value,
                  payment_method=payment_method, is_renewal=False,
                  period_start=change.new_period_start if names_period else None,
                  period_end=change.new_period_end if names_period else None)
    session.add(order)
    session.flush()
    return order


def _supersede_open(session: Session, clock: Clock, sub: Subscription) -> None:
    for change in session.scalars(
        select(PlanChange).where(PlanChange.subscription_id == sub.id,
                                 PlanChange.status.in_(OPEN_CHANGES)).with_for_update()
    ):
        change.status = ChangeStatus.SUPERSEDED
        change.cancelled_at = clock.now()
        _close_order(session, change, "replaced by a newer plan change")


def _close_order(session: Session, change: PlanChange, reason: str) -> None:
    if change.order_id is None:
        return
    order = session.scalars(select(Order).where(Order.id == change.order_id)
                            .with_for_update()).one()
    if order.status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
        order.status = OrderStatus.CANCELLED.value
        order.failure_reason = reason[:200]
        attempts.expire_open(session, order.id, reason)
        credits.release_from_order(session, order)


def cancel_scheduled(session: Session, clock: Clock, actor: Actor, caller: User,
                     subscription_id: uuid.UUID) -> PlanChange:
    """Withdraw the open change (a scheduled downgrade, or an unpaid upgrade); 404 if none."""
    sub = get_subscription(session, caller, subscription_id, for_update=True)
    change = open_change(session, sub.id)
    if change is None:
        raise NotFound("This subscription has no plan change to cancel.")
    if change.effective_at <= clock.now() and change.status == ChangeStatus.SCHEDULED:
        raise Conflict("The change has already taken effect.", code="change_in_effect")
    change.status = ChangeStatus.CANCELLED
    change.cancelled_at = clock.now()
    _close_order(session, change, "plan change cancelled")
    audit.record(session, actor, "subscription_plan_change_cancel", resource_type="subscription",
                 resource_id=sub.id, user_id=sub.user_id,
                 description="Plan change withdrawn.",
                 meta={"plan_change_id": str(change.id), "net": str(Decimal(change.net))})
    session.flush()
    return change
