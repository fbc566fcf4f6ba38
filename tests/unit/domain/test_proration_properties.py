"""Proration properties over random anchors, month ends, leap years and change instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.core.domain.periods import TAIPEI, BillingCycle, period_at
from services.core.domain.proration import PlanTerms, prorate

M = BillingCycle.MONTHLY
prices = st.integers(min_value=0, max_value=200_000)
# Anchors cluster on month ends (28–31) to hit clamped periods, across leap years 2027–2033.
anchors = st.builds(
    lambda y, m, d, h: datetime(y, m, 1, h, tzinfo=TAIPEI) + timedelta(days=d),
    st.integers(2027, 2033), st.integers(1, 12), st.sampled_from([0, 14, 27, 28, 29, 30]),
    st.integers(0, 23),
)


def _period_and_change(anchor: datetime, n: int, fraction: float):
    period = period_at(anchor, M, n)
    span = period.end - period.start
    change = period.start + span * fraction
    return period, min(change, period.end - timedelta(seconds=1))


def _half_up(x: Fraction) -> int:
    return int((x + Fraction(1, 2)).__floor__())


@given(anchors, st.integers(0, 30), st.floats(0, 1), prices, prices)
def test_net_is_the_rounded_difference_within_one_dollar(anchor, n, fraction, old, new) -> None:
    period, change = _period_and_change(anchor, n, fraction)
    p = prorate(period, change, PlanTerms(Decimal(old), M), PlanTerms(Decimal(new), M))
    exact = Fraction(new - old) * p.remaining_days / p.period_days
    assert abs(int(p.net) - _half_up(exact)) <= 1
    assert p.net == p.charge - p.credit
    assert 0 <= p.credit <= old and 0 <= p.charge <= new
    # The end date itself (before the end hour) has no whole day left.
    assert 0 <= p.remaining_days <= p.period_days
    assert p.tax.total == max(p.net, 0) and p.tax.amount + p.tax.tax == p.tax.total


@given(anchors, st.integers(0, 30), prices, prices)
def test_first_and_last_day(anchor, n, old, new) -> None:
    period = period_at(anchor, M, n)
    first = prorate(period, period.start, PlanTerms(Decimal(old), M), PlanTerms(Decimal(new), M))
    assert (first.credit, first.charge, first.net) == (old, new, new - old)
    last_day = period.end - timedelta(seconds=1)
    last = prorate(period, last_day, PlanTerms(Decimal(old), M), PlanTerms(Decimal(new), M))
    days = last.period_days
    # On the end date itself (before the end hour) or the day before: at most one day left.
    assert last.remaining_days <= 1
    assert last.credit == _half_up(Fraction(old * last.remaining_days, days))


@given(anchors, st.integers(0, 30), st.floats(0, 1), st.floats(0, 1), prices, prices, prices)
def test_a_change_twice_in_one_period(anchor, n, f1, f2, a, b, c) -> None:
    period, first_at = _period_and_change(anchor, n, min(f1, f2))
    _, second_at = _period_and_change(anchor, n, max(f1, f2))
    one = prorate(period, first_at, PlanTerms(Decimal(a), M), PlanTerms(Decimal(b), M))
    two = prorate(period, second_at, PlanTerms(Decimal(b), M), PlanTerms(Decimal(c), M))
    # Never credit back more of B than B was charged for.
    assert two.credit <= one.charge
    paid = a + int(one.net) + int(two.net)
    d, r1, r2 = one.period_days, one.remaining_days, two.remaining_days
    exact = Fraction(a * (d - r1) + b * (r1 - r2) + c * r2, d)
    # Four rounded lines, each off by at most half a dollar.
    assert abs(paid - exact) <= 2


@given(anchors, st.integers(0, 30), st.floats(0, 1), prices, prices)
def test_changing_back_the_same_day_costs_nothing(anchor, n, fraction, a, b) -> None:
    period, at = _period_and_change(anchor, n, fraction)
    there = prorate(period, at, PlanTerms(Decimal(a), M), PlanTerms(Decimal(b), M))
    back = prorate(period, at, PlanTerms(Decimal(b), M), PlanTerms(Decimal(a), M))
    assert there.net + back.net == 0


def test_leap_february_has_29_days() -> None:
    anchor = datetime(2028, 1, 31, 10, tzinfo=TAIPEI)
    feb = period_at(anchor, M, 0)  # Jan 31 → Feb 29
    change = datetime(2028, 2, 15, tzinfo=TAIPEI).astimezone(UTC)
    p = prorate(feb, change, PlanTerms(Decimal(290), M), PlanTerms(Decimal(580), M))
    assert p.period_days == 29 and p.remaining_days == 14
    assert (p.credit, p.charge, p.net) == (140, 280, 140)
