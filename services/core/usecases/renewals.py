"""Renewals: find a plan's due subscriptions, and create one renewal order per period."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from services.core.clock import Clock, parse_instant
from services.core.db.models import Order, Plan, Subscription, User
from services.core.db.upsert import insert_for
from services.core.domain.order_numbers import new_order_number
from services.core.domain.periods import BillingCycle, next_period
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.errors import NotFound
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import EmailRequest, queue_emails

log = logging.getLogger(__name__)

# How long before end_date a renewal order is created (ATM/CVS customers need time to pay).
RENEWAL_LEAD = timedelta(days=3)
RENEWABLE = (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value)


@dataclass(frozen=True)
class DueRenewal:
    subscription_id: uuid.UUID
    period_start: datetime

    def as_job_arg(self) -> tuple[str, str]:
        return str(self.subscription_id), self.period_start.isoformat()

    @classmethod
    def from_job_arg(cls, arg: Sequence[str]) -> DueRenewal:
        subscription_id, period_start = arg
        return cls(uuid.UUID(subscription_id), parse_instant(period_start))


def batch_job_id(dues: Sequence[DueRenewal]) -> str:
    """The same due renewals give the same job id, so a renewer run twice before the workers
    catch up enqueues them once (the unique constraint still guards any other overlap)."""
    digest = hashlib.sha256()
    for due in sorted(dues, key=lambda d: (d.subscription_id, d.period_start)):
        digest.update(f"{due.subscription_id}@{due.period_start.timestamp()};".encode())
    return f"renew-{digest.hexdigest()[:32]}"


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


@dataclass
class RenewalCounts:
    """What one batch did, per subscription: created an order, found one, or skipped it."""

    created: int = 0
    exists: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "exists": self.exists, "skipped": self.skipped}


def _skip_reason(sub: Subscription | None, period_start: datetime) -> str:
    if sub is None:
        return "subscription not found"
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


def _order_values(
    sub: Subscription, plan: Plan, now: datetime, period_start: datetime
) -> dict[str, Any]:
    assert sub.anchor_date is not None  # noqa: S101 - _skip_reason checked it
    period = next_period(sub.anchor_date, BillingCycle.parse(plan.billing_cycle), period_start)
    return {
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
    }


def _insert_orders(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert what is not there yet; returns the ids of the orders this call created.

    The unique constraint uq_orders_subscription_period with ON CONFLICT DO NOTHING is the
    guard: any number of jobs, renewers or retries leave exactly one order per period.
    """
    statement = (
        insert_for(session)(Order)
        .on_conflict_do_nothing(index_elements=[Order.subscription_id, Order.period_start])
        .returning(Order.id)
    )
    # An executemany: SQLAlchemy sends multi-row VALUES pages ("insertmanyvalues") but
    # compiles the one-row statement once per engine instead of once per batch size.
    return set(session.scalars(statement, rows)) if rows else set()


def renew_due(
    session: Session,
    clock: Clock,
    jobs: Jobs,
    dues: Sequence[DueRenewal],
    *,
    dashboard_url: str,
) -> RenewalCounts:
    """Create the renewal order of each (subscription, period starting at `period_start`)
    once, in one transaction: set-based, so a batch of hundreds costs a few statements.

    Subscriptions are locked in id order (no deadlock between overlapping batches) and
    re-checked under the lock; one that changed since it was found due is skipped.
    """
    counts = RenewalCounts()
    wanted = {due.subscription_id: due.period_start for due in dues}
    subs = {
        sub.id: sub
        for sub in session.scalars(
            select(Subscription)
            .where(Subscription.id.in_(wanted))
            .order_by(Subscription.id)
            .with_for_update()
        )
    }
    renewable = []
    for sub_id, period_start in wanted.items():
        sub = subs.get(sub_id)
        reason = _skip_reason(sub, period_start)
        if reason:
            counts.skipped += 1
            log.info("renewal of %s from %s skipped: %s", sub_id, period_start, reason)
        else:
            assert sub is not None  # noqa: S101 - _skip_reason returns a reason for None
            renewable.append(sub)
    if not renewable:
        return counts
    plans = {
        plan.id: plan
        for plan in session.scalars(select(Plan).where(Plan.id.in_({s.plan_id for s in renewable})))
    }
    now = clock.now()
    rows = [_order_values(sub, plans[sub.plan_id], now, wanted[sub.id]) for sub in renewable]
    created = _insert_orders(session, rows)
    counts.created, counts.exists = len(created), len(rows) - len(created)
    new_rows = [row for row in rows if row["id"] in created]
    _audit_created(session, new_rows)
    offline = [r for r in new_rows if not waits_for_period_charge(subs[r["subscription_id"]])]
    _ask_for_payment(session, jobs, offline, dashboard_url)
    return counts


def _audit_created(session: Session, orders: list[dict[str, Any]]) -> None:
    rows = [
        audit.values(
            audit.SYSTEM,
            "renewal_order_created",
            resource_type="order",
            resource_id=order["id"],
            user_id=order["user_id"],
            meta={
                "subscription_id": str(order["subscription_id"]),
                "period_start": order["period_start"].isoformat(),
            },
        )
        for order in orders
    ]
    audit.record_many(session, rows)


def _ask_for_payment(
    session: Session, jobs: Jobs, orders: list[dict[str, Any]], dashboard_url: str
) -> None:
    """E-mail each new renewal order's payment link (ATM/CVS, or a card without agreement)."""
    if not orders:
        return
    user_ids = {order["user_id"] for order in orders}
    emails = {
        row.id: row.email
        for row in session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    }
    queue_emails(
        session,
        jobs,
        [
            EmailRequest(
                template="renewal_payment_link",
                user_id=order["user_id"],
                recipient=emails[order["user_id"]],
                event_key=f"renewal_payment_link:{order['id']}",
                context={
                    "order_id": str(order["id"]),
                    "pay_url": f"{dashboard_url}/orders/{order['id']}",
                },
            )
            for order in orders
        ],
    )
