"""Plan-change proration: RESEARCH §2.4's example and the rules a customer would see on a bill."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from services.core.domain.periods import TAIPEI, BillingCycle, Period
from services.core.domain.proration import (
    ChangePolicy,
    PlanTerms,
    default_policy,
    is_upgrade,
    prorate,
)
from services.core.errors import ValidationError

M, Y = BillingCycle.MONTHLY, BillingCycle.YEARLY


def taipei(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TAIPEI)


MARCH = Period(taipei(2027, 3, 1), taipei(2027, 4, 1))


def test_research_example_300_to_900_on_march_16() -> None:
    p = prorate(MARCH, taipei(2027, 3, 16), PlanTerms(Decimal(300), M), PlanTerms(Decimal(900), M))
    assert (p.credit, p.charge, p.net) == (155, 465, 310)
    assert (p.tax.total, p.tax.tax, p.tax.amount) == (310, 15, 295)
    assert (p.remaining_days, p.period_days) == (16, 31)
    assert p.new_period == MARCH


@pytest.mark.parametrize(
    ("change", "old", "new", "credit", "charge", "net"),
    [
        # The first day credits the whole old price and charges the whole new one.
        (taipei(2027, 3, 1, 9), 300, 900, 300, 900, 600),
        # The last day is one day of each.
        (taipei(2027, 3, 31, 23, 59), 300, 900, 10, 29, 19),
        # A downgrade now leaves the customer owed the difference.
        (taipei(2027, 3, 16), 900, 300, 465, 155, -310),
        # Half-up on each line: 100/31×16 = 51.6 → 52, 199/31×16 = 102.7 → 103.
        (taipei(2027, 3, 16), 100, 199, 52, 103, 51),
    ],
)
def test_table(change: datetime, old: int, new: int, credit: int, charge: int, net: int) -> None:
    p = prorate(MARCH, change, PlanTerms(Decimal(old), M), PlanTerms(Decimal(new), M))
    assert (p.credit, p.charge, p.net) == (credit, charge, net)


def test_a_downgrade_owes_no_tax_on_a_charge() -> None:
    p = prorate(MARCH, taipei(2027, 3, 16), PlanTerms(Decimal(900), M), PlanTerms(Decimal(300), M))
    assert p.tax.total == 0 and p.tax.tax == 0


def test_days_are_taipei_days_not_utc_days() -> None:
    # 2027-03-15 17:00 UTC is already March 16 in Taipei: 16 days remain, not 17.
    utc_evening = datetime.fromisoformat("2027-03-15T17:00:00+00:00")
    p = prorate(MARCH, utc_evening, PlanTerms(Decimal(300), M), PlanTerms(Decimal(900), M))
    assert p.remaining_days == 16


def test_a_change_outside_the_paid_period_is_refused() -> None:
    with pytest.raises(ValidationError):
        prorate(MARCH, taipei(2027, 4, 1), PlanTerms(Decimal(300), M), PlanTerms(Decimal(900), M))
    with pytest.raises(ValidationError):
        prorate(MARCH, taipei(2027, 2, 28), PlanTerms(Decimal(300), M),
                PlanTerms(Decimal(900), M))


def test_monthly_to_yearly_starts_a_new_year_and_charges_it_less_the_credit() -> None:
    p = prorate(MARCH, taipei(2027, 3, 16), PlanTerms(Decimal(300), M),
                PlanTerms(Decimal(3000), Y))
    assert (p.credit, p.charge, p.net) == (155, 3000, 2845)
    assert p.new_period == Period(taipei(2027, 3, 16), taipei(2028, 3, 16))


def test_upgrade_or_downgrade_is_decided_by_daily_price() -> None:
    at = taipei(2027, 3, 1)
    # NT$3,000 a year is NT$8.2 a day, cheaper than NT$300 a month (NT$9.7 a day).
    assert not is_upgrade(PlanTerms(Decimal(300), M), PlanTerms(Decimal(3000), Y), at)
    assert is_upgrade(PlanTerms(Decimal(300), M), PlanTerms(Decimal(3650), Y), at)
    assert default_policy(PlanTerms(Decimal(300), M), PlanTerms(Decimal(900), M), at) \
        is ChangePolicy.IMMEDIATE
    assert default_policy(PlanTerms(Decimal(900), M), PlanTerms(Decimal(300), M), at) \
        is ChangePolicy.END_OF_TERM
