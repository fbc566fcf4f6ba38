"""Renewals: find a plan's due subscriptions, and create one renewal order per period."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from services.core.clock import Clock, parse_instant
from services.core.db import bulk
from services.core.db.models import AuditLog, Order, Plan, Subscription, User
from services.core.domain.order_numbers import new_order_number
from services.core.domain.periods import BillingCycle, next_period
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.errors import DomainError, NotFound, ValidationError
from services.core.ports import Jobs
from services.core.usecases import audit, coupon_pricing, credit_payments
from services.core.usecases.emails import EmailRequest, queue_emails
from services.core.usecases.plan_changes import effects as plan_change_effects
from services.core.usecases.test_clocks import scope

log = logging.getLogger(__name__)

# How long before end_date a renewal order is created (ATM/CVS customers need time to pay).
RENEWAL_LEAD = timedelta(days=3)
# A trial whose first period is paid (end_date set) renews like an active one, even if the
# end_trials sweep has not yet turned it active.
RENEWABLE = (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value,
             SubscriptionStatus.TRIAL.value)
SKIPPED_ACTION = "renewal_skipped"


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
    test_clock_id: uuid.UUID | None = None,
) -> list[DueRenewal]:
    """The next `limit` due subscriptions of a plan after id `after`, locked for this
    transaction; rows another renewer holds are skipped (FOR UPDATE SKIP LOCKED).
    Production (no `test_clock_id`) never renews a test clock's customers."""
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
            scope.customers(Subscription.user_id, test_clock_id),
        )
        .order_by(Subscription.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Subscription.id > after)
    # SKIP LOCKED on PostgreSQL; SQLite (development) has no row locks and renders nothing.
    query = query.with_for_update(skip_locked=True, of=Subscription)
    return [DueRenewal(row.id, row.end_date) for row in session.execute(query)]


class SkipReason(StrEnum):
    """Why a due subscription got no renewal order (a bounded metric label)."""

    # The job is stale: the subscription changed after it was found due. Nothing is wrong.
    NOT_FOUND = "not_found"
    NOT_RENEWABLE = "not_renewable"
    MOVED_ON = "moved_on"
    # Its data cannot be renewed until someone fixes it; it is found due again every run.
    NO_PERIOD = "no_period"
    NO_PLAN = "no_plan"
    UNKNOWN_CYCLE = "unknown_cycle"
    END_BEFORE_ANCHOR = "end_before_anchor"
    INVALID_PERIOD = "invalid_period"


STALE = frozenset({SkipReason.NOT_FOUND, SkipReason.NOT_RENEWABLE, SkipReason.MOVED_ON})


@dataclass(frozen=True)
class Skip:
    subscription_id: uuid.UUID
    user_id: uuid.UUID | None
    period_start: datetime
    reason: SkipReason
    detail: str


@dataclass
class RenewalCounts:
    """What one batch did, per subscription: created an order, found one, or skipped it."""

    created: int = 0
    exists: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # the skipped, by SkipReason

    def skip(self, reason: SkipReason) -> None:
        self.skipped += 1
        self.reasons[reason.value] = self.reasons.get(reason.value, 0) + 1

    def as_dict(self) -> dict[str, int]:
        """Counts by outcome, the job's result (it feeds fluxus_billing_renewals_total)."""
        return {"created": self.created, "exists": self.exists, "skipped": self.skipped}


def _skip_reason(sub: Subscription | None, period_start: datetime) -> tuple[SkipReason, str] | None:
    if sub is None:
        return SkipReason.NOT_FOUND, "subscription not found"
    if sub.status not in RENEWABLE:
        return SkipReason.NOT_RENEWABLE, f"subscription is {sub.status}"
    if not sub.auto_renew or sub.cancel_at_period_end:
        return SkipReason.NOT_RENEWABLE, "subscription will not renew"
    if sub.end_date is None or sub.anchor_date is None:
        return SkipReason.NO_PERIOD, "subscription has no period"
    if sub.end_date != period_start:
        return SkipReason.MOVED_ON, "period already moved on"
    if sub.end_date < sub.anchor_date:
        end, anchor = sub.end_date.isoformat(), sub.anchor_date.isoformat()
        return SkipReason.END_BEFORE_ANCHOR, f"end date {end} is before the anchor {anchor}"
    return None


def waits_for_period_charge(sub: Subscription) -> bool:
    """Card subscriptions with an ECPay 定期定額 agreement are charged by ECPay itself."""
    return bool(sub.period_agreement_no) and sub.payment_method == "credit_card"


def _order_values(
    sub: Subscription, plan: Plan | None, now: datetime, period_start: datetime
) -> dict[str, Any] | tuple[SkipReason, str]:
    """The renewal order's columns, or why this subscription cannot have one."""
    if plan is None:
        return SkipReason.NO_PLAN, f"plan {sub.plan_id} not found"
    try:
        cycle = BillingCycle.parse(plan.billing_cycle)
    except ValidationError as exc:
        return SkipReason.UNKNOWN_CYCLE, f"plan {plan.slug}: {exc.message}"
    assert sub.anchor_date is not None  # noqa: S101 - _skip_reason checked it
    try:
        period = next_period(sub.anchor_date, cycle, period_start)
    except (ValidationError, DomainError) as exc:
        # One subscription's bad data must not cost the rest of the batch their orders.
        return SkipReason.INVALID_PERIOD, exc.message
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
        # Off the anchor's boundaries (a staff extension, an import) this is a short period
        # from end_date: the unique (subscription_id, period_start) index keys on end_date.
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
    return set(bulk.insert_rows(session, Order, rows,
                                conflict=("subscription_id", "period_start"), returning="id"))


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
    re-checked under the lock; one that changed since it was found due, or whose data
    cannot be renewed, is skipped with a reason (counted, logged and audited).
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
    # A downgrade scheduled for this period's start moves the plan before it is priced.
    plan_change_effects.switch_at_renewal(session, clock, subs, wanted)
    rows, skips = _plan_orders(session, clock.now(), wanted, subs)
    # A coupon still running is taken off; not for a card agreement, whose amount is fixed.
    coupon_pricing.discount_renewals(
        session, rows, {sub_id for sub_id, sub in subs.items() if waits_for_period_charge(sub)})
    for skip in skips:
        counts.skip(skip.reason)
    _audit_skips(session, skips)
    if not rows:
        return counts
    created = _insert_orders(session, rows)
    counts.created, counts.exists = len(created), len(rows) - len(created)
    new_rows = [row for row in rows if row["id"] in created]
    _audit_created(session, new_rows)
    offline = [r for r in new_rows if not waits_for_period_charge(subs[r["subscription_id"]])]
    # Credit is used first; an order it (or a coupon) covers completes now with no link.
    offline = credit_payments.apply_to_renewals(session, clock, jobs, offline)
    _ask_for_payment(session, jobs, offline, dashboard_url)
    return counts


def _plan_orders(
    session: Session,
    now: datetime,
    wanted: dict[uuid.UUID, datetime],
    subs: dict[uuid.UUID, Subscription],
) -> tuple[list[dict[str, Any]], list[Skip]]:
    """The order rows of the renewable subscriptions, and a Skip for each of the others."""
    plan_ids = {sub.plan_id for sub in subs.values()}
    plans = {plan.id: plan for plan in session.scalars(select(Plan).where(Plan.id.in_(plan_ids)))}
    rows: list[dict[str, Any]] = []
    skips: list[Skip] = []
    for sub_id, period_start in wanted.items():
        sub = subs.get(sub_id)
        refusal = _skip_reason(sub, period_start)
        outcome: dict[str, Any] | tuple[SkipReason, str]
        if refusal is None:
            assert sub is not None  # noqa: S101 - _skip_reason returns a reason for None
            outcome = _order_values(sub, plans.get(sub.plan_id), now, period_start)
        else:
            outcome = refusal
        if isinstance(outcome, dict):
            rows.append(outcome)
            continue
        reason, detail = outcome
        skips.append(Skip(sub_id, sub.user_id if sub else None, period_start, reason, detail))
        level = logging.INFO if reason in STALE else logging.WARNING
        log.log(
            level,
            "renewal of %s from %s skipped (%s): %s",
            sub_id,
            period_start.isoformat(),
            reason.value,
            detail,
        )
    return rows, skips


def _audit_skips(session: Session, skips: list[Skip]) -> None:
    """One audit row per skipped subscription and reason; a broken subscription is found due
    on every renewer run, so a skip already audited for the same period is not audited again."""
    if not skips:
        return
    ids = [str(skip.subscription_id) for skip in skips]
    query = select(AuditLog.resource_id, AuditLog.description).where(
        AuditLog.action == SKIPPED_ACTION,
        AuditLog.resource_type == "subscription",
        AuditLog.resource_id.in_(ids),
    )
    seen = {(row.resource_id, row.description) for row in session.execute(query)}
    rows = []
    for skip in skips:
        description = f"renewal from {skip.period_start.isoformat()} skipped: {skip.detail}"
        if (str(skip.subscription_id), description[:500]) in seen:
            continue
        rows.append(
            audit.values(
                audit.SYSTEM,
                SKIPPED_ACTION,
                resource_type="subscription",
                resource_id=skip.subscription_id,
                user_id=skip.user_id,
                description=description,
                meta={"reason": skip.reason.value, "period_start": skip.period_start.isoformat()},
            )
        )
    audit.record_many(session, rows)


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
