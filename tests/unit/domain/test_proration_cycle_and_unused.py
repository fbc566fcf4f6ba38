"""Tables for an immediate change of billing cycle and for the unused days of a paid period
(what a refund of unused days gives back): whole Taipei days, half-up to a whole NT$."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from services.core.domain.periods import TAIPEI, BillingCycle, Period
from services.core.domain.proration import PlanTerms, prorate, unused
from services.core.errors import ValidationError

M, Y = BillingCycle.MONTHLY, BillingCycle.YEARLY


def taipei(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TAIPEI)


MARCH = Period(taipei(2027, 3, 1), taipei(2027, 4, 1))  # 31 days
FEB_LEAP = Period(taipei(2028, 2, 1), taipei(2028, 3, 1))  # 29 days
YEAR_2027 = Period(taipei(2027, 3, 1), taipei(2028, 3, 1))  # 366 days (Feb 29 2028 inside)
YEAR_2026 = Period(taipei(2026, 1, 1), taipei(2027, 1, 1))  # 365 days


@pytest.mark.parametrize(
    ("period", "at", "old", "new", "credit", "charge", "net", "new_period"),
    [
        # Monthly → yearly on Mar 16: 16 of 31 days of NT$300 back, a year from today.
        (MARCH, taipei(2027, 3, 16), PlanTerms(Decimal(300), M), PlanTerms(Decimal(3000), Y),
         155, 3000, 2845, Period(taipei(2027, 3, 16), taipei(2028, 3, 16))),
        # On the first day the whole month is credited.
        (MARCH, taipei(2027, 3, 1), PlanTerms(Decimal(300), M), PlanTerms(Decimal(3000), Y),
         300, 3000, 2700, Period(taipei(2027, 3, 1), taipei(2028, 3, 1))),
        # On the last day one day is left: 300 / 31 = 9.68 → 10.
        (MARCH, taipei(2027, 3, 31, 23), PlanTerms(Decimal(300), M),
         PlanTerms(Decimal(3000), Y), 10, 3000, 2990,
         Period(taipei(2027, 3, 31, 23), taipei(2028, 3, 31, 23))),
        # Yearly → monthly early in a leap year: 351 of 366 days of NT$3,000 is far more than
        # a month: the customer is owed the difference (credited to the balance).
        (YEAR_2027, taipei(2027, 3, 16), PlanTerms(Decimal(3000), Y),
         PlanTerms(Decimal(300), M), 2877, 300, -2577,
         Period(taipei(2027, 3, 16), taipei(2027, 4, 16))),
        # Yearly → monthly on Jan 31 of a common year: the new month is clamped to Feb 28.
        (YEAR_2026, taipei(2026, 1, 31), PlanTerms(Decimal(3650), Y),
         PlanTerms(Decimal(300), M), 3350, 300, -3050,
         Period(taipei(2026, 1, 31), taipei(2026, 2, 28))),
        # Leap February, monthly → yearly on Feb 29: one day of 29 left.
        (FEB_LEAP, taipei(2028, 2, 29), PlanTerms(Decimal(290), M),
         PlanTerms(Decimal(2900), Y), 10, 2900, 2890,
         Period(taipei(2028, 2, 29), taipei(2029, 2, 28))),
    ],
)
def test_an_immediate_cycle_change_credits_unused_days_and_charges_a_new_full_period(
        period: Period, at: datetime, old: PlanTerms, new: PlanTerms, credit: int, charge: int,
        net: int, new_period: Period) -> None:
    p = prorate(period, at, old, new)
    assert (p.credit, p.charge, p.net) == (credit, charge, net)
    assert p.new_period == new_period
    # The tax is split from what is due, never from a credit.
    assert p.tax.total == max(net, 0)
    assert p.tax.tax + p.tax.amount == p.tax.total


@pytest.mark.parametrize(
    ("period", "at", "price", "amount", "remaining", "days"),
    [
        (MARCH, taipei(2027, 3, 1), Decimal(300), 300, 31, 31),  # nothing used yet
        (MARCH, taipei(2027, 3, 1, 23, 59), Decimal(300), 300, 31, 31),  # same Taipei day
        (MARCH, taipei(2027, 3, 16), Decimal(300), 155, 16, 31),  # 154.84 → 155
        (MARCH, taipei(2027, 3, 17), Decimal(300), 145, 15, 31),  # 145.16 → 145
        (MARCH, taipei(2027, 3, 31), Decimal(300), 10, 1, 31),  # the last day
        (MARCH, taipei(2027, 3, 16), Decimal(31), 16, 16, 31),  # exact
        (MARCH, taipei(2027, 3, 2), Decimal(62), 60, 30, 31),
        (FEB_LEAP, taipei(2028, 2, 15), Decimal(290), 150, 15, 29),
        (YEAR_2027, taipei(2027, 9, 1), Decimal(3660), 1820, 182, 366),  # Feb 29 inside
        (YEAR_2026, taipei(2026, 7, 2), Decimal(365), 183, 183, 365),
        # Half a dollar rounds up: 1 × 1 / 2 is NT$0.5 → 1.
        (Period(taipei(2027, 3, 1), taipei(2027, 3, 3)), taipei(2027, 3, 2), Decimal(1),
         1, 1, 2),
    ],
)
def test_unused_days_are_worth_the_remaining_share_rounded_half_up(
        period: Period, at: datetime, price: Decimal, amount: int, remaining: int,
        days: int) -> None:
    left = unused(period, at, price)
    assert (left.amount, left.remaining_days, left.period_days) == (amount, remaining, days)


def test_unused_days_match_what_a_plan_change_credits() -> None:
    for day in range(1, 32):
        at = taipei(2027, 3, day, 12)
        change = prorate(MARCH, at, PlanTerms(Decimal(899), M), PlanTerms(Decimal(1999), M))
        assert unused(MARCH, at, Decimal(899)).amount == change.credit


def test_unused_days_outside_the_period_are_refused() -> None:
    with pytest.raises(ValidationError):
        unused(MARCH, taipei(2027, 4, 1), Decimal(300))
    with pytest.raises(ValueError, match="timezone-aware"):
        unused(MARCH, datetime(2027, 3, 5), Decimal(300))  # noqa: DTZ001 - refused on purpose
