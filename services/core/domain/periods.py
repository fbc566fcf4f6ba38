"""Billing periods that keep their anchor day, computed in Asia/Taipei and returned in UTC."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.core.errors import ValidationError

TAIPEI = ZoneInfo("Asia/Taipei")


class BillingCycle(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "yearly": 12}[self.value]

    @classmethod
    def parse(cls, value: str) -> BillingCycle:
        try:
            return cls(value)
        except ValueError as exc:
            raise ValidationError(
                f"unknown billing cycle {value!r}",
                errors={"billing_cycle": ["must be monthly, quarterly or yearly"]},
            ) from exc


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("billing times must be timezone-aware")


def add_cycles(anchor: datetime, cycle: BillingCycle, count: int) -> datetime:
    """`anchor` moved `count` cycles on, clamping the anchor day to short months.

    Always counted from the anchor, never from the previous (possibly clamped) boundary:
    that is what brings Jan 31 back to Mar 31 after Feb 29.
    """
    _require_aware(anchor)
    local = anchor.astimezone(TAIPEI)
    months = local.month - 1 + cycle.months * count
    year, month = local.year + months // 12, months % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    moved = local.replace(year=year, month=month, day=day, tzinfo=None)
    return moved.replace(tzinfo=TAIPEI).astimezone(UTC)


def period_number(anchor: datetime, cycle: BillingCycle, start: datetime) -> int:
    """Which period (0-based) after `anchor` begins at `start`; -1 if it is not a boundary."""
    _require_aware(start)
    guess = _months_between(anchor, start) // cycle.months
    for n in (guess - 1, guess, guess + 1):
        if n >= 0 and add_cycles(anchor, cycle, n) == start:
            return n
    return -1


def _months_between(a: datetime, b: datetime) -> int:
    la, lb = a.astimezone(TAIPEI), b.astimezone(TAIPEI)
    return (lb.year - la.year) * 12 + lb.month - la.month


def period_at(anchor: datetime, cycle: BillingCycle, n: int) -> Period:
    """The n-th (0-based) period of a subscription anchored at `anchor`."""
    return Period(add_cycles(anchor, cycle, n), add_cycles(anchor, cycle, n + 1))


def period_after(anchor: datetime, cycle: BillingCycle, current_end: datetime) -> Period:
    """The period from `current_end` to the first boundary of `anchor` strictly after it.

    On a boundary that is a whole cycle. Off one (a staff extension, an import) it is a short
    period that brings the subscription back onto its anchor day, instead of refusing to renew
    it or drifting every later period off the anchor.
    """
    _require_aware(current_end)
    if current_end < anchor:
        raise ValidationError(f"{current_end.isoformat()} is before the anchor {anchor}")
    # Start from the calendar-month guess (a clamped day can put it one cycle either side),
    # so a subscription renewed for years costs a few steps, not one per past period.
    n = max(_months_between(anchor, current_end) // cycle.months, 0)
    while n > 0 and add_cycles(anchor, cycle, n) > current_end:
        n -= 1
    while (end := add_cycles(anchor, cycle, n + 1)) <= current_end:
        n += 1
    return Period(current_end, end)


def next_period(anchor: datetime, cycle: BillingCycle, current_end: datetime) -> Period:
    """The period that follows one ending at `current_end` (renewals extend from the old end):
    `period_at(anchor, cycle, n)` when `current_end` is boundary n, else a short period."""
    return period_after(anchor, cycle, current_end)
