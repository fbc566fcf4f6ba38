"""What a customer may use right now, from their subscriptions and plans (pure).

One rule per subscription state, then the plans that grant access are combined: features
are the union, `max_users`/`max_storage_gb` the largest (None, unlimited, beats any number),
and `until` the latest moment access lasts without another payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.core.domain.states import SubscriptionStatus as S

# The only states that can grant anything; the query reads just these (pending, cancelled
# and expired never do).
GRANTING_STATES = (S.TRIAL.value, S.ACTIVE.value, S.PAST_DUE.value)


class Reason(StrEnum):
    TRIAL = "trial"  # in the trial period
    PAID = "paid"  # a paid period is running and will renew
    CANCELLING = "cancelling"  # a paid period is running and will not renew
    GRACE = "grace"  # the renewal is unpaid, within the plan's grace days


@dataclass(frozen=True)
class SubscriptionFacts:
    """One subscription with its plan, as the entitlements query reads it."""

    subscription_id: str
    status: str
    plan_slug: str
    plan_name: str
    features: tuple[str, ...]
    max_users: int | None
    max_storage_gb: int | None
    grace_days: int
    end_date: datetime | None
    trial_end_date: datetime | None
    auto_renew: bool
    cancel_at_period_end: bool


@dataclass(frozen=True)
class PlanGrant:
    subscription_id: str
    slug: str
    name: str
    features: tuple[str, ...]
    max_users: int | None
    max_storage_gb: int | None
    reason: Reason
    until: datetime | None  # None: no end is known (a staff-activated subscription)


@dataclass(frozen=True)
class Entitlements:
    plans: tuple[PlanGrant, ...]
    features: tuple[str, ...]
    max_users: int | None
    max_storage_gb: int | None
    until: datetime | None

    @property
    def active(self) -> bool:
        return bool(self.plans)


def grant(facts: SubscriptionFacts, now: datetime) -> tuple[Reason, datetime | None] | None:
    """Why this subscription gives access at `now`, and until when; None if it does not.

    The periodic sweeps move states on some minutes late; these rules read the dates, so an
    answer never depends on whether a sweep has run yet.
    """
    ending = facts.cancel_at_period_end or not facts.auto_renew
    if facts.status == S.TRIAL.value:
        # A trial paid early already has its first period (end_date beyond the trial's end).
        if facts.trial_end_date is None or facts.trial_end_date > now:
            ends = [d for d in (facts.trial_end_date, facts.end_date) if d is not None]
            return Reason.TRIAL, max(ends) if ends else None
        if facts.end_date is not None and facts.end_date > now:
            return (Reason.CANCELLING if ending else Reason.PAID), facts.end_date
        if not ending:  # ended unpaid: the sweep makes it past due, waiting for payment
            until = facts.trial_end_date + timedelta(days=facts.grace_days)
            return (Reason.GRACE, until) if until > now else None
        return None  # ended unpaid, not renewing: the trial sweep expires it
    if facts.status == S.ACTIVE.value:
        if facts.end_date is None:
            return Reason.PAID, None
        if facts.end_date > now:
            return (Reason.CANCELLING if ending else Reason.PAID), facts.end_date
        # Lapsed, dunning not yet run: a renewing one is in grace, an ending one is over.
        return None if ending else _grace(facts, now)
    if facts.status == S.PAST_DUE.value and not ending:
        return _grace(facts, now)
    return None  # pending (never paid), cancelled now, expired, past due and not renewing


def _grace(facts: SubscriptionFacts, now: datetime) -> tuple[Reason, datetime | None] | None:
    if facts.end_date is None:
        return None
    until = facts.end_date + timedelta(days=facts.grace_days)
    return (Reason.GRACE, until) if until > now else None


def entitlements(rows: list[SubscriptionFacts], now: datetime) -> Entitlements:
    """Everything `rows` (a customer's subscriptions) grant at `now`, combined."""
    plans: list[PlanGrant] = []
    for facts in rows:
        granted = grant(facts, now)
        if granted is None:
            continue
        reason, until = granted
        plans.append(PlanGrant(facts.subscription_id, facts.plan_slug, facts.plan_name,
                               tuple(facts.features), facts.max_users, facts.max_storage_gb,
                               reason, until))
    plans.sort(key=lambda p: (p.slug, p.subscription_id))
    return Entitlements(
        plans=tuple(plans),
        features=tuple(sorted({f for p in plans for f in p.features})),
        max_users=_largest([p.max_users for p in plans]),
        max_storage_gb=_largest([p.max_storage_gb for p in plans]),
        until=_latest([p.until for p in plans]),
    )


def _largest(limits: list[int | None]) -> int | None:
    """The most generous limit; None (unlimited) wins; no plans, no allowance (0)."""
    if not limits:
        return 0
    if any(limit is None for limit in limits):
        return None
    return max(limit for limit in limits if limit is not None)


def _latest(ends: list[datetime | None]) -> datetime | None:
    if not ends or any(end is None for end in ends):
        return None
    return max(end for end in ends if end is not None)
