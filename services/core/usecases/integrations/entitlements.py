"""Entitlements: what a customer may use right now, from one indexed query (the rules are
services.core.domain.entitlements)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Plan, Subscription, User
from services.core.domain.entitlements import (
    GRANTING_STATES,
    Entitlements,
    SubscriptionFacts,
    entitlements,
)
from services.core.errors import NotFound


@dataclass(frozen=True)
class CustomerEntitlements:
    customer_id: uuid.UUID
    external_id: str | None
    as_of: datetime
    granted: Entitlements


def for_customer(session: Session, clock: Clock, caller: User, *,
                 user_id: uuid.UUID | None = None,
                 external_id: str | None = None) -> CustomerEntitlements:
    """The customer's entitlements, by id or external id, for staff, an API key with
    billing:read (staff visibility) or the customer themself; anyone else gets the same 404
    as for a customer that does not exist."""
    if (user_id is None) == (external_id is None):
        raise ValueError("name the customer by exactly one of user_id and external_id")
    # users by primary key or the unique external_id, their granting subscriptions through
    # ix_subscriptions_user_status, plans by primary key: one round trip, all indexed.
    query = (
        select(User.id.label("user_id"), User.external_id, Subscription, Plan)
        .select_from(User)
        .outerjoin(Subscription, and_(Subscription.user_id == User.id,
                                      Subscription.status.in_(GRANTING_STATES)))
        .outerjoin(Plan, Plan.id == Subscription.plan_id)
        .where(User.id == user_id if user_id is not None else User.external_id == external_id)
    )
    rows = session.execute(query).all()
    if not rows or (not caller.is_staff and rows[0].user_id != caller.id):
        raise NotFound("Customer not found.")
    facts = [_facts(row.Subscription, row.Plan) for row in rows if row.Subscription is not None]
    now = clock.now()
    return CustomerEntitlements(rows[0].user_id, rows[0].external_id, now,
                                entitlements(facts, now))


def _facts(sub: Subscription, plan: Plan) -> SubscriptionFacts:
    return SubscriptionFacts(
        subscription_id=str(sub.id), status=sub.status, plan_slug=plan.slug,
        plan_name=plan.name, features=tuple(plan.features or ()), max_users=plan.max_users,
        max_storage_gb=plan.max_storage_gb, grace_days=plan.grace_days,
        end_date=sub.end_date, trial_end_date=sub.trial_end_date, auto_renew=sub.auto_renew,
        cancel_at_period_end=sub.cancel_at_period_end,
    )
