"""Billing periods keep the anchor day across short months and leap years, in Taipei time."""

from datetime import UTC, datetime, timedelta

import pytest

from services.core.domain.periods import (
    TAIPEI,
    BillingCycle,
    add_cycles,
    next_period,
    period_after,
    period_at,
    period_number,
)
from services.core.errors import ValidationError

pytestmark = pytest.mark.unit


def taipei(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=TAIPEI)


def local_dates(anchor: datetime, cycle: BillingCycle, n: int) -> list[tuple[int, int, int]]:
    out = []
    for i in range(n):
        moment = add_cycles(anchor, cycle, i).astimezone(TAIPEI)
        out.append((moment.year, moment.month, moment.day))
    return out


def test_monthly_from_jan_31_in_a_leap_year() -> None:
    assert local_dates(taipei(2028, 1, 31), BillingCycle.MONTHLY, 5) == [
        (2028, 1, 31), (2028, 2, 29), (2028, 3, 31), (2028, 4, 30), (2028, 5, 31),
    ]


def test_monthly_from_jan_31_in_a_common_year() -> None:
    assert local_dates(taipei(2027, 1, 31), BillingCycle.MONTHLY, 4) == [
        (2027, 1, 31), (2027, 2, 28), (2027, 3, 31), (2027, 4, 30),
    ]


def test_quarterly_from_aug_31() -> None:
    assert local_dates(taipei(2026, 8, 31), BillingCycle.QUARTERLY, 5) == [
        (2026, 8, 31), (2026, 11, 30), (2027, 2, 28), (2027, 5, 31), (2027, 8, 31),
    ]


def test_yearly_from_feb_29_returns_to_feb_29_in_the_next_leap_year() -> None:
    assert local_dates(taipei(2028, 2, 29), BillingCycle.YEARLY, 5) == [
        (2028, 2, 29), (2029, 2, 28), (2030, 2, 28), (2031, 2, 28), (2032, 2, 29),
    ]


def test_december_rolls_into_the_next_year() -> None:
    assert local_dates(taipei(2026, 12, 15), BillingCycle.MONTHLY, 3) == [
        (2026, 12, 15), (2027, 1, 15), (2027, 2, 15),
    ]


def test_boundaries_are_computed_in_taipei_and_returned_in_utc() -> None:
    # 2026-01-31 20:00 UTC is already Feb 1 04:00 in Taipei: the anchor day is the 1st.
    anchor = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
    nxt = add_cycles(anchor, BillingCycle.MONTHLY, 1)
    assert nxt.tzinfo == UTC
    assert nxt == datetime(2026, 2, 28, 20, 0, tzinfo=UTC)  # Mar 1 04:00 Taipei
    assert nxt.astimezone(TAIPEI).day == 1


def test_time_of_day_is_kept() -> None:
    anchor = taipei(2026, 3, 31, 23)
    assert add_cycles(anchor, BillingCycle.MONTHLY, 1) == taipei(2026, 4, 30, 23).astimezone(UTC)


def test_next_period_extends_from_the_old_end_not_from_today() -> None:
    anchor = taipei(2028, 1, 31)
    first = period_at(anchor, BillingCycle.MONTHLY, 0)
    second = next_period(anchor, BillingCycle.MONTHLY, first.end)
    third = next_period(anchor, BillingCycle.MONTHLY, second.end)
    assert second.start == first.end
    assert third.start.astimezone(TAIPEI).date().isoformat() == "2028-03-31"
    assert third.end.astimezone(TAIPEI).date().isoformat() == "2028-04-30"


def test_period_number_finds_clamped_boundaries() -> None:
    anchor = taipei(2028, 1, 31)
    for n in range(0, 30):
        boundary = add_cycles(anchor, BillingCycle.MONTHLY, n)
        assert period_number(anchor, BillingCycle.MONTHLY, boundary) == n


def first_boundary_after(anchor: datetime, cycle: BillingCycle, moment: datetime) -> datetime:
    """The obvious (slow) answer: walk the boundaries from the anchor."""
    n = 0
    while add_cycles(anchor, cycle, n) <= moment:
        n += 1
    return add_cycles(anchor, cycle, n)


def test_an_end_date_off_the_boundary_renews_to_the_next_anchor_boundary() -> None:
    # The subscription that stopped a whole renewal batch: anchored Nov 7 07:31 Taipei.
    anchor = datetime(2026, 11, 6, 23, 31, 26, tzinfo=UTC)
    end = datetime(2026, 12, 7, 23, 31, 26, tzinfo=UTC)
    assert next_period(anchor, BillingCycle.MONTHLY, end) == period_after(
        anchor, BillingCycle.MONTHLY, end
    )
    period = next_period(anchor, BillingCycle.MONTHLY, end)
    assert period.start == end
    assert period.end == datetime(2027, 1, 6, 23, 31, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    ("end", "want"),
    [
        (taipei(2028, 2, 15), taipei(2028, 2, 29)),  # mid-month: to the clamped Feb boundary
        (taipei(2028, 2, 29, 11), taipei(2028, 3, 31)),  # an hour past a boundary
        (taipei(2028, 3, 30), taipei(2028, 3, 31)),
        (taipei(2028, 4, 30, 10) - timedelta(seconds=1), taipei(2028, 4, 30)),
        (taipei(2028, 5, 1), taipei(2028, 5, 31)),
    ],
)
def test_a_month_end_anchor_keeps_its_day_after_an_off_boundary_end(
    end: datetime, want: datetime
) -> None:
    period = period_after(taipei(2028, 1, 31), BillingCycle.MONTHLY, end)
    assert (period.start, period.end) == (end, want)


@pytest.mark.parametrize(
    ("cycle", "anchor", "end", "want"),
    [
        (BillingCycle.QUARTERLY, taipei(2026, 8, 31), taipei(2026, 12, 15), taipei(2027, 2, 28)),
        (BillingCycle.QUARTERLY, taipei(2026, 8, 31), taipei(2027, 3, 1), taipei(2027, 5, 31)),
        (BillingCycle.YEARLY, taipei(2028, 2, 29), taipei(2029, 3, 1), taipei(2030, 2, 28)),
        (BillingCycle.YEARLY, taipei(2028, 2, 29), taipei(2031, 12, 31), taipei(2032, 2, 29)),
    ],
)
def test_quarterly_and_yearly_off_boundary_ends_renew_to_the_next_boundary(
    cycle: BillingCycle, anchor: datetime, end: datetime, want: datetime
) -> None:
    period = period_after(anchor, cycle, end)
    assert (period.start, period.end) == (end, want)


@pytest.mark.parametrize("cycle", list(BillingCycle))
@pytest.mark.parametrize(
    "anchor", [taipei(2028, 1, 31), taipei(2027, 8, 30, 23), taipei(2028, 2, 29)], ids=str
)
def test_on_a_boundary_the_period_after_is_that_whole_period(
    cycle: BillingCycle, anchor: datetime
) -> None:
    for n in range(40):
        boundary = add_cycles(anchor, cycle, n)
        assert period_after(anchor, cycle, boundary) == period_at(anchor, cycle, n)


@pytest.mark.parametrize("cycle", list(BillingCycle))
# Month-end, a Taipei morning that is the previous evening in UTC, and Taipei midnight.
@pytest.mark.parametrize(
    "anchor", [taipei(2028, 1, 31), taipei(2026, 11, 7, 7), taipei(2027, 5, 31, 0)], ids=str
)
def test_any_end_date_renews_to_the_first_boundary_strictly_after_it(
    cycle: BillingCycle, anchor: datetime
) -> None:
    for hours in range(0, 3 * 366 * 24, 7):  # every 7 hours: all days, all times of day
        end = (anchor + timedelta(hours=hours)).astimezone(UTC)
        period = period_after(anchor, cycle, end)
        assert period.start == end
        assert period.end == first_boundary_after(anchor, cycle, end), end


def test_a_subscription_renewed_for_decades_gets_the_same_answer() -> None:
    anchor = taipei(2001, 1, 31)
    end = taipei(2029, 2, 14)
    assert period_after(anchor, BillingCycle.MONTHLY, end).end == taipei(2029, 2, 28)


def test_an_end_date_before_the_anchor_is_refused() -> None:
    anchor = taipei(2028, 1, 31)
    with pytest.raises(ValidationError, match="before the anchor"):
        period_after(anchor, BillingCycle.MONTHLY, taipei(2028, 1, 30))
    with pytest.raises(ValidationError, match="before the anchor"):
        next_period(anchor, BillingCycle.MONTHLY, taipei(2028, 1, 30))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_cycles(datetime(2026, 1, 1), BillingCycle.MONTHLY, 1)  # noqa: DTZ001


def test_unknown_cycle_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        BillingCycle.parse("weekly")
