"""The quote of a plan change: which policy, which lines, when it takes effect.

The same subscription, plans and `proration_date` always give the same numbers, so the
preview the customer saw is exactly what applying the change charges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Order, Plan, Subscription
from services.core.domain.money import TaxBreakdown, split_tax_included
from services.core.domain.periods import BillingCycle, Period, add_cycles
from services.core.domain.proration import (
    ChangePolicy,
    PlanTerms,
    Proration,
    default_policy,
    is_upgrade,
    prorate,
)
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.errors import Conflict, ValidationError
from services.core.usecases import credits


@dataclass(frozen=True)
class Quote:
    subscription: Subscription
    from_plan: Plan
    to_plan: Plan
    policy: ChangePolicy
    upgrade: bool
    proration_date: datetime
    proration: Proration  # all zero for end_of_term: nothing is prorated
    effective_at: datetime  # immediate: once paid (net > 0) or at once; else the period end
    requires_payment: bool  # an immediate change with a positive net waits for its order
    credit_balance_used: Decimal = Decimal(0)  # the customer's credit taken off the net
    amount_due: Decimal = Decimal(0)  # what the order charges: net − credit used

    @property
    def tax(self) -> TaxBreakdown:
        return split_tax_included(self.amount_due)


def terms(plan: Plan) -> PlanTerms:
    return PlanTerms(Decimal(plan.price), BillingCycle.parse(plan.billing_cycle))


def _target_plan(session: Session, sub: Subscription, plan_id: object) -> tuple[Plan, Plan]:
    new = session.get(Plan, plan_id)
    if new is None or not new.is_active:
        raise ValidationError("No active plan with this id.",
                              errors={"plan_id": ["No active plan with this id."]})
    old = session.get_one(Plan, sub.plan_id)
    if new.id == old.id:
        raise Conflict("The subscription is already on this plan.", code="same_plan",
                       errors={"plan_id": ["the current plan"]})
    if new.currency != old.currency:
        raise ValidationError("The new plan is priced in another currency.",
                              errors={"plan_id": [f"{new.currency}, not {old.currency}"]})
    return old, new


def paid_period(sub: Subscription, cycle: BillingCycle, at: datetime) -> Period:
    """The paid period running at `at`; 409 when there is none to change."""
    # Only a paid, running period can be prorated: a trial or an unpaid subscription is
    # not changed (subscribe to the other plan instead), a past-due one pays first.
    if sub.status != SubscriptionStatus.ACTIVE or sub.start_date is None \
            or sub.end_date is None or sub.anchor_date is None:
        raise Conflict(f"A {sub.status} subscription cannot change plan; only an active, "
                       "paid one can.", code="not_changeable",
                       errors={"subscription": [sub.status]})
    if sub.cancel_at_period_end or sub.cancelled_at is not None:
        raise Conflict("This subscription is cancelled at the end of its period.",
                       code="not_changeable", errors={"subscription": ["cancelling"]})
    # The anchor period holding `at`, within the paid span: a period already paid ahead (an
    # early renewal) is not prorated, and a short period off the anchor is cut at end_date.
    n = 0
    while (boundary := add_cycles(sub.anchor_date, cycle, n + 1)) <= at \
            and boundary < sub.end_date:
        n += 1
    return Period(max(add_cycles(sub.anchor_date, cycle, n), sub.start_date),
                  min(add_cycles(sub.anchor_date, cycle, n + 1), sub.end_date))


def quote(session: Session, sub: Subscription, *, plan_id: object, now: datetime,
          proration_date: datetime | None = None, policy: str | None = None) -> Quote:
    """The lines of changing `sub` to `plan_id`; 409/422 for any change that cannot be."""
    old, new = _target_plan(session, sub, plan_id)
    at = proration_date or now
    if at.tzinfo is None:
        raise ValidationError("proration_date needs a time zone.",
                              errors={"proration_date": ["timezone-aware ISO 8601"]})
    period = paid_period(sub, terms(old).cycle, at)
    chosen = ChangePolicy(policy) if policy else default_policy(terms(old), terms(new),
                                                                 period.start)
    upgrade = is_upgrade(terms(old), terms(new), period.start)
    if old.billing_cycle != new.billing_cycle:
        # A new cycle starts a new period. By default it waits for the period end (as Kill
        # Bill's catalogs usually rule billing-period changes END_OF_TERM): the paid period
        # stays whole. Asked for explicitly, it starts today: the unused days are credited
        # and the new plan's full period is charged from the change instant.
        if policy == ChangePolicy.IMMEDIATE:
            _check_nothing_paid_ahead(sub, period)
        else:
            chosen = ChangePolicy.END_OF_TERM
    if chosen is ChangePolicy.END_OF_TERM:
        _check_next_period_not_billed(session, sub)
        nothing = Proration(credit=Decimal(0), charge=Decimal(0), net=Decimal(0),
                            tax=split_tax_included(0), remaining_days=0,
                            period_days=(period.end - period.start).days,
                            new_period=_next_period(sub, new))
        return Quote(sub, old, new, chosen, upgrade, at, nothing, nothing.new_period.start,
                     False)
    lines = prorate(period, at, terms(old), terms(new))
    due = max(lines.net, Decimal(0))
    used = min(credits.balance(session, sub.user_id), due)
    return Quote(sub, old, new, chosen, upgrade, at, lines, at, lines.net > 0,
                 credit_balance_used=used, amount_due=due - used)


def _check_nothing_paid_ahead(sub: Subscription, period: Period) -> None:
    # A period paid ahead on the old cycle would be swallowed by the new one that starts
    # today; its money would need a refund of its own. Change at the end of term instead.
    if sub.end_date is not None and sub.end_date > period.end:
        raise Conflict("The next period is already paid on the current billing cycle; "
                       "change the cycle at the end of the term.",
                       code="next_period_paid", errors={"policy": ["end_of_term"]})


def _check_next_period_not_billed(session: Session, sub: Subscription) -> None:
    # The renewal job prices the next period up to three days ahead; once its order exists
    # a change at the period end would not reach it.
    billed = session.scalars(select(Order.id).where(
        Order.subscription_id == sub.id, Order.period_start == sub.end_date,
        Order.status.not_in((OrderStatus.CANCELLED.value, OrderStatus.FAILED.value)))).first()
    if billed is not None:
        raise Conflict("The next period is already billed on the current plan; change "
                       "immediately, or at the end of the next period.",
                       code="next_period_billed", errors={"policy": ["end_of_term"]})


def _next_period(sub: Subscription, new: Plan) -> Period:
    # End of term is the end of everything paid (a period paid ahead included).
    assert sub.end_date is not None  # noqa: S101 - paid_period checked it
    return Period(sub.end_date,
                  add_cycles(sub.end_date, BillingCycle.parse(new.billing_cycle), 1))
