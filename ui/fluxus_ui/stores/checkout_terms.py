"""What a checkout charges today and for which period, worked out before the customer pays.

Mirrors the API's rules: 5 % business tax is included in the price (台灣營業稅), one free
trial per customer and plan, and a payment made during the trial buys the first period
starting when the trial ends.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from fluxus_ui.i18n import TAIPEI
from fluxus_ui.models import Plan

TAX_RATE = Decimal(5)
_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


@dataclass(frozen=True)
class CheckoutTerms:
    charge: Decimal
    tax: Decimal
    period_start: datetime
    period_end: datetime
    trial_end: datetime | None


def add_cycle(start: datetime, cycle: str) -> datetime:
    """One billing cycle after `start`, on the same day of the month in Taipei (or the
    month's last day when it has fewer)."""
    if cycle == "weekly":
        return start + timedelta(days=7)
    local = start.astimezone(TAIPEI)
    months = local.month - 1 + _MONTHS.get(cycle, 1)
    year, month = local.year + months // 12, months % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(start.tzinfo)


def terms(plan: Plan, had_trial: bool, now: datetime) -> CheckoutTerms:
    tax = (plan.price * TAX_RATE / (100 + TAX_RATE)).quantize(Decimal(1), ROUND_HALF_UP)
    trial_end = now + timedelta(days=plan.trial_days) if plan.trial_days and not had_trial \
        else None
    start = trial_end or now
    return CheckoutTerms(plan.price, tax, start, add_cycle(start, plan.billing_cycle), trial_end)
