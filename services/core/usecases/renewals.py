"""Renewals: find a plan's due subscriptions, and create one renewal order per period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, Plan, Subscription, User
from services.core.db.upsert import insert_for
from services.core.domain.order_numbers import new_order_number
from services.core.domain.periods import BillingCycle, next_period
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.errors import NotFound
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import queue_email

# How long before end_date a renewal order is created (ATM/CVS customers need time to pay).
RENEWAL_LEAD = timedelta(days=3)
RENEWABLE = (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value)


@dataclass(frozen=True)
class DueRenewal:
    subscription_id: uuid.UUID
    period_start: datetime

    @property
    def job_id(self) -> str:
        return renewal_job_id(self.subscription_id, self.period_start)


def renewal_job_id(subscription_id: uuid.UUID, period_start: datetime) -> str:
    return f"renew-{subscription_id}-{int(period_start.timestamp())}"


def plan_by_slug(session: Session, slug: str) -> Plan:
    plan = session.scalars(select(Plan).where(Plan.slug == slug)).one_or_none()
    if plan is None:
        raise NotFound(f"no plan {slug!r}")
    return plan


def due_batch(
    session: Session,
    clock: Clock,
    *,
    plan_id: uuid.UUID,
    after: uuid.UUID | None,
    limit: int,
    lead: timedelta = RENEWAL_LEAD,
) -> list[DueRenewal]:
    """The next `limit` due subscriptions of a plan after id `after`, locked for this
    transaction; rows another renewer holds are skipped (FOR UPDATE SKIP LOCKED)."""
    has_order = exists().where(
        and_(Order.subscription_id == Subscription.id, Order.period_start == Subscription.end_date)
    )
    query = (
        select(Subscription.id, Subscription.end_date)
        .where(
            Subscription.plan_id == plan_id,
            Subscription.status.in_(RENEWABLE),
            Subscription.auto_renew.is_(True),
            Subscription.cancel_at_period_end.is_(False),
            Subscription.end_date.is_not(None),
            Subscription.anchor_date.is_not(None),
            Subscription.end_date <= clock.now() + lead,
            ~has_order,
        )
        .order_by(Subscription.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Subscription.id > after)
    # SKIP LOCKED on PostgreSQL; SQLite (development) has no row locks and renders nothing.
    query = query.with_for_update(skip_locked=True, of=Subscription)
    return [DueRenewal(row.id, row.end_date) for row in session.execute(query)]


@dataclass(frozen=True)
class RenewalResult:
    outcome: str  # created | exists | skipped
    order_id: uuid.UUID | None = None
    reason: str = ""


def _insert_order(session: Session, values: dict[str, object]) -> uuid.UUID | None:
    insert = insert_for(session)
    statement = (
        insert(Order)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Order.subscription_id, Order.period_start])
        .returning(Order.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _skip_reason(sub: Subscription, period_start: datetime) -> str:
    if sub.status not in RENEWABLE:
        return f"subscription is {sub.status}"
    if not sub.auto_renew or sub.cancel_at_period_end:
        return "subscription will not renew"
    if sub.end_date is None or sub.anchor_date is None:
        return "subscription has no period"
    if sub.end_date != period_start:
        return "period already moved on"
    return ""


def waits_for_period_charge(sub: Subscription) -> bool:
    """Card subscriptions with an ECPay 定期定額 agreement are charged by ECPay itself."""
    return bool(sub.period_agreement_no) and sub.payment_method == "credit_card"


def renew_subscription(
    session: Session,
    clock: Clock,
    jobs: Jobs,
    *,
    subscription_id: uuid.UUID,
    period_start: datetime,
    dashboard_url: str,
) -> RenewalResult:
    """Create the renewal order of (subscription, period starting at `period_start`) once.

    The unique constraint uq_orders_subscription_period with ON CONFLICT DO NOTHING is the
    guard: any number of jobs, renewers or retries leave exactly one order.
    """
    sub = session.scalars(
        select(Subscription).where(Subscription.id == subscription_id).with_for_update()
    ).one_or_none()
    if sub is None:
        raise NotFound(f"subscription {subscription_id} not found")
    reason = _skip_reason(sub, period_start)
    if reason:
        return RenewalResult("skipped", reason=reason)
    plan = session.get(Plan, sub.plan_id)
    assert plan is not None and sub.anchor_date is not None  # noqa: S101 - FK and checked above
    period = next_period(sub.anchor_date, BillingCycle.parse(plan.billing_cycle), period_start)
    now = clock.now()
    order_id = _insert_order(
        session,
        {
            "id": uuid.uuid4(),
            "order_number": new_order_number(now),
            "user_id": sub.user_id,
            "subscription_id": sub.id,
            "plan_id": plan.id,
            "amount": plan.price,
            "currency": plan.currency,
            "status": OrderStatus.PENDING.value,
            "payment_method": sub.payment_method or "credit_card",
            "is_renewal": True,
            "period_start": period.start,
            "period_end": period.end,
            # Unpaid past the grace period, dunning expires the subscription and this order.
            "expire_at": period.start + timedelta(days=plan.grace_days),
            "created_at": now,
            "updated_at": now,
        },
    )
    if order_id is None:
        return RenewalResult("exists", reason="renewal order already exists")
    audit.record(
        session,
        audit.SYSTEM,
        "renewal_order_created",
        resource_type="order",
        resource_id=order_id,
        user_id=sub.user_id,
        meta={"subscription_id": str(sub.id), "period_start": period.start.isoformat()},
    )
    if not waits_for_period_charge(sub):
        user = session.get(User, sub.user_id)
        assert user is not None  # noqa: S101 - foreign key
        queue_email(
            session,
            jobs,
            template="renewal_payment_link",
            user=user,
            event_key=f"renewal_payment_link:{order_id}",
            context={"order_id": str(order_id), "pay_url": f"{dashboard_url}/orders/{order_id}"},
        )
    return RenewalResult("created", order_id=order_id)
