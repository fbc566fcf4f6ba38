"""Plan-change proration: whole days in Asia/Taipei, each line half-up to a whole NT$.

The credit is the unused days of the old plan (the change day included, as Lago credits it on
upgrades); the charge is the same days on the new plan. Both lines are rounded once, the net is
their difference, and the tax is split from the tax-inclusive net (RESEARCH §2.4).
A change of billing cycle (monthly ↔ yearly) cannot keep the old period, so it starts a new
period on the change instant and charges the new plan's full price, less the credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from services.core.domain.money import TaxBreakdown, split_tax_included
from services.core.domain.periods import TAIPEI, BillingCycle, Period, add_cycles
from services.core.errors import ValidationError


class ChangePolicy(StrEnum):
    """Kill Bill's names: take effect now, or when the paid period ends."""

    IMMEDIATE = "immediate"
    END_OF_TERM = "end_of_term"


@dataclass(frozen=True)
class PlanTerms:
    price: Decimal
    cycle: BillingCycle


@dataclass(frozen=True)
class Proration:
    """The lines of one plan change (all whole TWD, tax included)."""

    credit: Decimal  # unused days of the old plan
    charge: Decimal  # the new plan until the (possibly new) period end
    net: Decimal  # charge − credit; negative means the customer is owed that much
    tax: TaxBreakdown  # of max(net, 0)
    remaining_days: int
    period_days: int
    new_period: Period  # the period the new plan runs for once the change takes effect


def _days(start: datetime, end: datetime) -> int:
    """Whole calendar days between two instants, counted on Taipei dates."""
    return (end.astimezone(TAIPEI).date() - start.astimezone(TAIPEI).date()).days


def _half_up(value: Fraction) -> Decimal:
    """Exact half-up rounding to a whole NT$ (no binary or 28-digit approximation)."""
    sign = -1 if value < 0 else 1
    whole = (abs(value) + Fraction(1, 2)).__floor__()
    return Decimal(sign * whole)


def daily_price(terms: PlanTerms, from_moment: datetime) -> Fraction:
    """Price per day of a full cycle starting at `from_moment` (Taipei days)."""
    return Fraction(terms.price) / _days(from_moment, add_cycles(from_moment, terms.cycle, 1))


def is_upgrade(old: PlanTerms, new: PlanTerms, at: datetime) -> bool:
    """Lago's rule: a new daily price at least the old one is an upgrade; monthly and yearly
    plans compare by their daily price."""
    return daily_price(new, at) >= daily_price(old, at)


def default_policy(old: PlanTerms, new: PlanTerms, at: datetime) -> ChangePolicy:
    return ChangePolicy.IMMEDIATE if is_upgrade(old, new, at) else ChangePolicy.END_OF_TERM


@dataclass(frozen=True)
class Unused:
    """The value of a paid period's days not yet used at some moment (whole TWD)."""

    amount: Decimal
    remaining_days: int
    period_days: int


def _check_within(period: Period, at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("billing times must be timezone-aware")
    if not period.start <= at < period.end:
        raise ValidationError(
            "The change date must fall within the current paid period.",
            errors={"proration_date": [f"between {period.start.isoformat()} and "
                                       f"{period.end.isoformat()}"]})


def unused(period: Period, at: datetime, price: Decimal) -> Unused:
    """What `price` paid for `period` is worth from `at` on: the days from `at`'s Taipei date
    (included) to the end date, over the period's days, half-up to a whole NT$ — the same
    line a plan change credits, so a refund of unused days and a change agree."""
    _check_within(period, at)
    period_days = max(_days(period.start, period.end), 1)
    remaining = min(max(_days(at, period.end), 0), period_days)
    return Unused(_half_up(Fraction(price) * remaining / period_days), remaining, period_days)


def prorate(period: Period, change_at: datetime, old: PlanTerms, new: PlanTerms) -> Proration:
    """The lines for changing from `old` to `new` at `change_at` within the paid `period`.

    Same cycle: the credit and the charge cover the same remaining days of this period.
    Different cycle: the credit covers the remaining days; the charge is the new plan's full
    price for a new period starting at `change_at`.
    """
    left = unused(period, change_at, old.price)
    period_days, remaining, credit = left.period_days, left.remaining_days, left.amount
    if new.cycle == old.cycle:
        charge = _half_up(Fraction(new.price) * remaining / period_days)
        new_period = period
    else:
        charge = Decimal(new.price).quantize(Decimal(1))
        new_period = Period(change_at, add_cycles(change_at, new.cycle, 1))
    net = charge - credit
    return Proration(credit=credit, charge=charge, net=net,
                     tax=split_tax_included(max(net, Decimal(0))), remaining_days=remaining,
                     period_days=period_days, new_period=new_period)
