"""Staff views of every customer: people, subscriptions, troubled payments, MRR, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import param

from fluxus_ui.client import ApiClient, Page
from fluxus_ui.i18n import TAIPEI
from fluxus_ui.models import AuditEntry, Order, Plan, Subscription, User
from fluxus_ui.pager import PAGE_SIZE

# How many months of one billing cycle make up a month (MRR normalises to a month).
_MONTHS_PER_CYCLE = {"weekly": Decimal(12) / Decimal(52), "monthly": Decimal(1),
                     "quarterly": Decimal(3), "yearly": Decimal(12)}
_COUNTED = ("active", "past_due", "cancelled", "expired")


@dataclass(frozen=True)
class MonthPoint:
    month: str  # YYYY-MM
    mrr: Decimal
    active: int


def monthly_price(plan: Plan) -> Decimal:
    months = _MONTHS_PER_CYCLE.get(plan.billing_cycle, Decimal(1))
    return (plan.price / months).quantize(Decimal(1))


def _month_ends(now: datetime, months: int) -> list[tuple[str, datetime]]:
    local = now.astimezone(TAIPEI)
    year, month = local.year, local.month
    points: list[tuple[str, datetime]] = []
    for _ in range(months):
        label = f"{year:04d}-{month:02d}"
        nyear, nmonth = (year + 1, 1) if month == 12 else (year, month + 1)
        end = datetime(nyear, nmonth, 1, tzinfo=TAIPEI)
        points.append((label, min(end, now)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(points))


def mrr_series(
    subscriptions: list[Subscription], plans: list[Plan], now: datetime, months: int = 12
) -> list[MonthPoint]:
    """Paying subscriptions and their monthly revenue at each month's end (or now)."""
    prices = {p.id: monthly_price(p) for p in plans}
    series = []
    for label, instant in _month_ends(now, months):
        live = [
            s for s in subscriptions
            if s.status in _COUNTED and s.start_date is not None and s.start_date <= instant
            and (s.end_date is None or s.end_date > instant
                 or (s.status in ("active", "past_due") and instant >= now))
        ]
        mrr = sum((prices.get(s.plan_id, Decimal(0)) for s in live), Decimal(0))
        series.append(MonthPoint(label, mrr, len(live)))
    return series


class StaffStore(param.Parameterized):
    customers = param.List(default=[], item_type=User)
    subscriptions = param.List(default=[], item_type=Subscription)
    troubled = param.List(default=[], item_type=Order)
    audit = param.List(default=[], item_type=AuditEntry)
    audit_total = param.Integer(default=0)
    troubled_total = param.Integer(default=0)
    plans = param.List(default=[], item_type=Plan)

    def __init__(self, client: ApiClient) -> None:
        super().__init__()
        self.client = client

    async def load_customers(self, search: str = "") -> None:
        self.customers = (await self.client.users(page_size=100, search=search)).items
        self.subscriptions = (await self.client.subscriptions(page_size=100)).items
        if not self.plans:
            self.plans = await self.client.plans()

    def subscriptions_of(self, user_id: str) -> list[Subscription]:
        return [s for s in self.subscriptions if s.user_id == user_id]

    async def load_subscriptions(self, status: str = "", page: int = 1) -> Page[Subscription]:
        return await self.client.subscriptions(status=status, page=page, page_size=PAGE_SIZE)

    async def load_troubled(self, page: int = 1) -> None:
        """Page `page` of each troubled status side by side (the API filters one status at a
        time); `troubled_total` is the longest status's count, so the pager reaches its end."""
        pages = [await self.client.orders(status=status, page=page, page_size=PAGE_SIZE)
                 for status in ("failed", "processing", "pending")]
        self.troubled = [order for found in pages for order in found.items]
        self.troubled_total = max(found.total for found in pages)

    async def load_metrics(self) -> list[MonthPoint]:
        if not self.plans:
            self.plans = await self.client.plans()
        subs: list[Subscription] = []
        for page in range(1, 51):
            batch = await self.client.subscriptions(page=page, page_size=100)
            subs.extend(batch.items)
            if len(batch.items) < 100 or len(subs) >= batch.total:
                break
        return mrr_series(subs, self.plans, datetime.now(UTC))

    async def search_audit(self, page: int = 1, **filters: Any) -> None:
        clean = {k: v for k, v in filters.items() if v}
        found = await self.client.audit_logs(page=page, page_size=PAGE_SIZE, **clean)
        self.audit, self.audit_total = found.items, found.total

    def plan_name(self, plan_id: str) -> str:
        return next((p.name for p in self.plans if p.id == plan_id), plan_id[:8])
