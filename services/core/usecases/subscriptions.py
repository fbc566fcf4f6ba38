"""Subscription use cases for the API: list, subscribe, read, change status (cancel)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, true
from sqlalchemy.orm import Session, aliased

from services.core.clock import Clock
from services.core.db.models import CardAgreement, Plan, PlanChange, Subscription, User
from services.core.domain.states import (
    LIVE_SUBSCRIPTION_STATES,
    SubscriptionStatus,
    check_subscription_transition,
)
from services.core.errors import Conflict, InvalidTransition, NotFound, ValidationError
from services.core.ports import Jobs
from services.core.usecases import audit, coupons
from services.core.usecases.api_pages import Page, PageQuery, page_window, paginate
from services.core.usecases.audit import Actor
from services.core.usecases.payments import closing
from services.core.usecases.subscription_notices import notify_auto_renew, notify_cancelled
from services.core.usecases.webhooks import events

S = SubscriptionStatus


@dataclass(frozen=True)
class ListedSubscription:
    """A subscription as the list answers it: the row, its newest card agreement and its
    newest plan change waiting for the period end (what the model's properties of the same
    names give, read here with the page rather than from each row's whole collections)."""

    subscription: Subscription
    card_agreement: CardAgreement | None
    scheduled_change: PlanChange | None

    def __getattr__(self, name: str) -> Any:
        # Asked only for what the fields above lack: the subscription's own attributes.
        subscription = self.__dict__.get("subscription")
        if subscription is None:  # not yet initialised (copy, pickle): nothing to lend
            raise AttributeError(name)
        return getattr(subscription, name)


def _newest(dialect: str, model: type[CardAgreement] | type[PlanChange], listed: Any,
            scheduled: bool = False) -> tuple[Any, Any]:
    """The listed subscription's newest `model` row (as the relationships order them), or its
    newest scheduled one, as an entity to outer-join and the join's ON clause. PostgreSQL
    gets a LATERAL join, which it can only run row by row through the index (a plain join
    on a subquery's result let its planner hash a whole table for a page of two); SQLite has
    no LATERAL, and joins row by row anyway."""
    row = aliased(model)
    newest = select(row).where(row.subscription_id == listed.id)
    if scheduled:
        newest = newest.where(row.status == "scheduled")
    newest = newest.order_by(row.created_at.desc()).limit(1)
    if dialect == "postgresql":
        return aliased(model, newest.lateral()), true()
    return model, model.id == newest.with_only_columns(row.id).scalar_subquery()


@functools.cache
def _page_query(dialect: str, by_user: bool, by_status: bool) -> PageQuery:
    """The list's statement for one database and shape of filter, built once (values are
    bind parameters). The page is chosen and counted on subscriptions alone; only its rows
    are then joined to what each answers with: one round trip for the page."""
    query = select(Subscription).order_by(Subscription.created_at.desc(), Subscription.id)
    if by_user:
        query = query.where(Subscription.user_id == bindparam("user_id"))
    if by_status:
        query = query.where(Subscription.status == bindparam("status"))
    page = page_window(query).subquery("page")
    listed = aliased(Subscription, page)
    agreement, agreement_on = _newest(dialect, CardAgreement, listed)
    change, change_on = _newest(dialect, PlanChange, listed, scheduled=True)
    rows = (select(listed, agreement, change, page.c.page_total).select_from(page)
            .outerjoin(agreement, agreement_on).outerjoin(change, change_on)
            .order_by(listed.created_at.desc(), listed.id))
    return PageQuery(query=query, window=rows, width=3)


def list_subscriptions(session: Session, caller: User, *, page: int, page_size: int,
                       status: str | None = None, user_id: uuid.UUID | None = None
                       ) -> Page[ListedSubscription]:
    """The caller's own subscriptions; staff see everyone's and may filter by user."""
    owner = caller.id if not caller.is_staff else user_id
    params: dict[str, Any] = {}
    if owner is not None:
        params["user_id"] = owner
    if status:
        params["status"] = status
    query = _page_query(session.get_bind().dialect.name, "user_id" in params,
                        "status" in params)
    found = paginate(session, query, page=page, page_size=page_size, params=params)
    return Page(items=[ListedSubscription(*row) for row in found.items], total=found.total,
                page=found.page, page_size=found.page_size)


def get_subscription(session: Session, caller: User, subscription_id: uuid.UUID, *,
                     for_update: bool = False) -> Subscription:
    """A subscription the caller may see (own, or any for staff); otherwise 404."""
    query = select(Subscription).where(Subscription.id == subscription_id)
    if not caller.is_staff:
        query = query.where(Subscription.user_id == caller.id)
    if for_update:
        query = query.with_for_update()
    subscription = session.scalars(query).one_or_none()
    if subscription is None:
        raise NotFound("Subscription not found.")
    return subscription


def _had_trial(session: Session, user_id: uuid.UUID, plan_id: uuid.UUID) -> bool:
    """One free trial per customer and plan: cancelling and subscribing again starts unpaid."""
    return session.scalars(
        select(Subscription.id).where(Subscription.user_id == user_id,
                                      Subscription.plan_id == plan_id,
                                      Subscription.trial_end_date.is_not(None))
    ).first() is not None


def subscribe(session: Session, clock: Clock, actor: Actor, user: User, *,
              plan_id: uuid.UUID, auto_renew: bool = True,
              coupon_code: str | None = None) -> Subscription:
    """Start a subscription: `pending` until paid, or `trial` when the plan has trial days.

    One live subscription per plan and user; the user's row is locked so two concurrent
    requests cannot both pass the check. A coupon code is redeemed on it (422 if it cannot be).
    """
    plan = session.get(Plan, plan_id)
    if plan is None or not plan.is_active:
        raise ValidationError("No active plan with this id.",
                              errors={"plan_id": ["No active plan with this id."]})
    session.scalars(select(User.id).where(User.id == user.id).with_for_update()).one()
    live = session.scalars(
        select(Subscription.id).where(
            Subscription.user_id == user.id, Subscription.plan_id == plan.id,
            Subscription.status.in_([s.value for s in LIVE_SUBSCRIPTION_STATES]))
    ).first()
    if live is not None:
        raise Conflict("You already have a live subscription to this plan.",
                       code="already_subscribed", errors={"plan_id": [str(live)]})
    now = clock.now()
    subscription = Subscription(user_id=user.id, plan_id=plan.id, auto_renew=auto_renew,
                                status=S.PENDING.value)
    if plan.trial_days > 0 and not _had_trial(session, user.id, plan.id):
        subscription.status = S.TRIAL.value
        subscription.trial_end_date = now + timedelta(days=plan.trial_days)
    session.add(subscription)
    session.flush()
    audit.record(session, actor, "subscription_create", resource_type="subscription",
                 resource_id=subscription.id,
                 description=f"Subscribed to {plan.slug} ({subscription.status}).",
                 meta={"plan_id": str(plan.id), "status": subscription.status})
    if coupon_code:
        coupons.redeem(session, clock, actor, subscription, coupon_code,
                       source=coupons.CHECKOUT, applied_by=user.id)
    return subscription


def change_status(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
                  subscription_id: uuid.UUID, *, status: str, at_period_end: bool = False
                  ) -> Subscription:
    """Customers may only cancel (now, or at the end of the paid period); staff may make any
    transition the state machine allows.

    Any cancel stops the card agreement at once (the paid period stays); cancelling now or
    ending the subscription also closes its open orders, so nothing more is payable.
    """
    subscription = get_subscription(session, caller, subscription_id, for_update=True)
    previous = subscription.status
    if not caller.is_staff and status != S.CANCELLED.value:
        raise InvalidTransition("Customers may only cancel a subscription.",
                                errors={"status": ["Only 'cancelled' is allowed."]})
    period_end = subscription.end_date or subscription.trial_end_date
    if status == S.CANCELLED.value and at_period_end and period_end is not None \
            and period_end > clock.now() and previous in (S.ACTIVE, S.TRIAL, S.PAST_DUE):
        subscription.auto_renew = False
        subscription.cancel_at_period_end = True
        description = f"Will cancel at the end of the period ({period_end.isoformat()})."
        closing.stop_charging(session, clock, jobs, subscription, "cancelled at period end")
        _close_next_period_orders(session, clock, subscription, "cancelled at period end")
    else:
        check_subscription_transition(previous, status)
        if previous == S.TRIAL and status == S.PAST_DUE.value:
            # Only the trial sweep makes a trial past due (when it ends unpaid, with the
            # trial's end as the date dunning counts its grace from).
            raise InvalidTransition("A trial becomes past due only when it ends unpaid.",
                                    errors={"status": ["Not from a trial."]})
        subscription.status = status
        if status == S.CANCELLED.value:
            subscription.cancelled_at = clock.now()
            subscription.auto_renew = False
            subscription.cancel_at_period_end = False
        if status in (S.CANCELLED.value, S.EXPIRED.value):
            closing.end_subscription(session, clock, jobs, subscription, f"subscription {status}")
        description = f"Status {previous} → {status}."
    session.flush()
    if status == S.CANCELLED.value:  # now or at the period end: the customer is told which
        notify_cancelled(session, clock, jobs, subscription)
    events.subscription_changed(session, clock.now(), subscription, previous, jobs=jobs)
    audit.record(session, actor, "subscription_status_change", resource_type="subscription",
                 resource_id=subscription.id, description=description,
                 meta={"from": previous, "to": subscription.status,
                       "at_period_end": subscription.cancel_at_period_end})
    return subscription


def _close_next_period_orders(session: Session, clock: Clock, sub: Subscription,
                              reason: str) -> None:
    # Only a renewal order for after the paid period closes; the paid period is untouched.
    if sub.end_date is not None:
        closing.close_open_orders(session, clock, sub, reason, only_from=sub.end_date)


def set_auto_renew(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
                   subscription_id: uuid.UUID, *, auto_renew: bool) -> Subscription:
    """Turn renewal on or off for a live subscription (own, or any for staff).

    Off: the subscription runs to `end_date` and then expires; its card agreement is
    cancelled at ECPay. On: it renews again (withdrawing a pending cancel-at-period-end),
    but never by reviving a cancelled agreement: the next period is paid by a new checkout.
    """
    subscription = get_subscription(session, caller, subscription_id, for_update=True)
    if subscription.status not in {s.value for s in LIVE_SUBSCRIPTION_STATES}:
        raise Conflict(f"A {subscription.status} subscription does not renew.",
                       code="not_renewable", errors={"auto_renew": ["not a live subscription"]})
    changed = subscription.auto_renew != auto_renew
    subscription.auto_renew = auto_renew
    if auto_renew:
        subscription.cancel_at_period_end = False
    else:
        closing.stop_charging(session, clock, jobs, subscription, "auto-renew turned off")
        _close_next_period_orders(session, clock, subscription, "auto-renew turned off")
    session.flush()
    if changed:
        notify_auto_renew(session, clock, jobs, subscription)
    audit.record(session, actor, "subscription_update", resource_type="subscription",
                 resource_id=subscription.id,
                 description=f"Auto-renew turned {'on' if auto_renew else 'off'}.",
                 meta={"auto_renew": auto_renew})
    return subscription
