"""Time-driven subscription changes: expiry, trial ends and dunning (past_due → expired)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, Plan, Subscription, User
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.domain.states import (
    OrderStatus,
    SubscriptionStatus,
    check_subscription_transition,
)
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import queue_email
from services.core.usecases.payments import closing
from services.core.usecases.test_clocks import scope
from services.core.usecases.webhooks import events

S = SubscriptionStatus
BATCH = 200
OPEN_ORDER = (OrderStatus.PENDING.value, OrderStatus.PROCESSING.value)


@dataclass
class SweepResult:
    changed: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.changed[what] = self.changed.get(what, 0) + 1


def _locked(session: Session, query: Select[Subscription]) -> Iterator[Subscription]:
    """Every row of `query`, in batches by id, locked for this transaction; rows another
    worker holds are left to it (SKIP LOCKED) and picked up by a later tick if still due."""
    # SKIP LOCKED on PostgreSQL; SQLite (development) has no row locks and renders nothing.
    query = query.with_for_update(skip_locked=True, of=Subscription)
    after: uuid.UUID | None = None
    while True:
        page = query if after is None else query.where(Subscription.id > after)
        rows = session.scalars(page.order_by(Subscription.id).limit(BATCH)).all()
        yield from rows
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def _move(session: Session, sub: Subscription, target: S, why: str, now: datetime) -> None:
    check_subscription_transition(sub.status, target.value)
    before = sub.status
    sub.status = target.value
    sub.updated_at = now
    audit.record(
        session,
        audit.SYSTEM,
        f"subscription_{target.value}",
        resource_type="subscription",
        resource_id=sub.id,
        user_id=sub.user_id,
        description=why,
        meta={"from": before, "end_date": sub.end_date.isoformat() if sub.end_date else None},
    )
    events.subscription_changed(session, now, sub, before)


def _mail(
    session: Session, jobs: Jobs, sub: Subscription, template: str, extra: dict[str, Any]
) -> None:
    user = session.get(User, sub.user_id)
    assert user is not None  # noqa: S101 - foreign key
    stamp = sub.end_date.isoformat() if sub.end_date else "none"
    queue_email(
        session,
        jobs,
        template=template,
        user=user,
        event_key=f"{template}:{sub.id}:{stamp}",
        context={"subscription_id": str(sub.id), **extra},
    )


def expire_subscriptions(session: Session, clock: Clock, jobs: Jobs,
                         test_clock_id: uuid.UUID | None = None) -> SweepResult:
    """Subscriptions past end_date that will not renew → expired, with an e-mail."""
    now, result = clock.now(), SweepResult()
    query = select(Subscription).where(
        scope.customers(Subscription.user_id, test_clock_id),
        Subscription.end_date <= now,
        or_(
            Subscription.status == S.CANCELLED.value,
            and_(
                Subscription.status.in_((S.ACTIVE.value, S.PAST_DUE.value)),
                or_(
                    Subscription.cancel_at_period_end.is_(True), Subscription.auto_renew.is_(False)
                ),
            ),
        ),
    )
    for sub in _locked(session, query):
        _move(session, sub, S.EXPIRED, "period ended without renewal", now)
        closing.end_subscription(session, clock, jobs, sub, "subscription expired",
                                 keep_live_codes=True)
        _mail(session, jobs, sub, "subscription_expired", {})
        result.count("expired")
    return result


def _paid(session: Session, sub: Subscription) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Order.subscription_id == sub.id, Order.status == OrderStatus.COMPLETED.value
                )
            )
        )
    )


def _waits_for_first_payment(sub: Subscription, plan: Plan) -> bool:
    # ECPay's card agreement charges when the customer checks out, so it cannot be signed in
    # the trial and charged at its end: the customer is asked to pay when the trial ends and
    # gets the plan's grace days for it. Someone who said stop, or a plan without grace, ends.
    return sub.auto_renew and not sub.cancel_at_period_end and plan.grace_days > 0


def _first_order(session: Session, sub: Subscription) -> Order | None:
    return session.scalars(
        select(Order).where(Order.subscription_id == sub.id, Order.is_renewal.is_(False),
                            Order.status.in_(OPEN_ORDER))
        .order_by(Order.created_at.desc())
    ).first()


def end_trials(session: Session, clock: Clock, jobs: Jobs,
               test_clock_id: uuid.UUID | None = None) -> SweepResult:
    """Trials past trial_end_date → active when paid (the period starts at the trial's end,
    unless payment already set one); unpaid → past due with a request to pay (the first
    period, and a card agreement, start at that payment), or expired when the customer
    turned renewal off or the plan has no grace days."""
    now, result = clock.now(), SweepResult()
    query = select(Subscription).where(
        Subscription.status == S.TRIAL.value, Subscription.trial_end_date <= now,
        scope.customers(Subscription.user_id, test_clock_id),
    )
    for sub in _locked(session, query):
        if _paid(session, sub):
            if sub.end_date is None:  # paid in the trial: its period already starts at the end
                plan = session.get(Plan, sub.plan_id)
                assert plan is not None and sub.trial_end_date is not None  # noqa: S101
                sub.anchor_date = sub.start_date = sub.trial_end_date
                sub.end_date = add_cycles(sub.trial_end_date, BillingCycle(plan.billing_cycle), 1)
            _move(session, sub, S.ACTIVE, "trial ended, paid", now)
            result.count("activated")
        elif _waits_for_first_payment(sub, session.get_one(Plan, sub.plan_id)):
            sub.end_date = sub.end_date or sub.trial_end_date
            _move(session, sub, S.PAST_DUE, "trial ended, first payment due", now)
            order = _first_order(session, sub)
            _mail(session, jobs, sub, "trial_ended",
                  {"order_id": str(order.id)} if order is not None else {})
            result.count("payment_due")
        else:
            sub.end_date = sub.end_date or sub.trial_end_date
            _move(session, sub, S.EXPIRED, "trial ended unpaid", now)
            closing.end_subscription(session, clock, jobs, sub, "trial ended unpaid",
                                     keep_live_codes=True)
            _mail(session, jobs, sub, "subscription_expired", {})
            result.count("expired")
    return result


def _renewal_order(session: Session, sub: Subscription) -> Order | None:
    return session.scalars(
        select(Order).where(Order.subscription_id == sub.id, Order.period_start == sub.end_date)
    ).first()


def run_dunning(session: Session, clock: Clock, jobs: Jobs, dashboard_url: str,
                test_clock_id: uuid.UUID | None = None) -> SweepResult:
    """Unpaid renewals: active past end_date → past_due (+ reminder); past_due beyond the
    plan's grace_days → expired (+ e-mail), and its open renewal order is cancelled."""
    now, result = clock.now(), SweepResult()
    lapsed = select(Subscription).where(
        Subscription.status == S.ACTIVE.value,
        Subscription.end_date <= now,
        Subscription.auto_renew.is_(True),
        Subscription.cancel_at_period_end.is_(False),
        scope.customers(Subscription.user_id, test_clock_id),
    )
    for sub in _locked(session, lapsed):
        order = _renewal_order(session, sub)
        if order is not None and order.status == OrderStatus.COMPLETED.value:
            continue  # paid; the payment moved end_date on (or is about to)
        _move(session, sub, S.PAST_DUE, "renewal unpaid at period end", now)
        extra = (
            {"order_id": str(order.id), "pay_url": f"{dashboard_url}/orders/{order.id}"}
            if order is not None
            else {}
        )
        _mail(session, jobs, sub, "renewal_reminder", extra)
        result.count("past_due")
    overdue = select(Subscription).where(
        Subscription.status == S.PAST_DUE.value, Subscription.end_date <= now,
        scope.customers(Subscription.user_id, test_clock_id),
    )
    for sub in _locked(session, overdue):
        plan = session.get(Plan, sub.plan_id)
        assert plan is not None and sub.end_date is not None  # noqa: S101
        if sub.end_date + timedelta(days=plan.grace_days) > now:
            continue
        _move(session, sub, S.EXPIRED, f"unpaid {plan.grace_days} days after period end", now)
        # A code ECPay still takes keeps its order open: late money reactivates (see
        # payments.activation.reactivatable) instead of being lost.
        closing.end_subscription(session, clock, jobs, sub, "grace period ended",
                                 keep_live_codes=True)
        _mail(session, jobs, sub, "subscription_expired", {})
        result.count("expired")
    return result
