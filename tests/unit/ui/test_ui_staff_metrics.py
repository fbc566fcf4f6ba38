"""MRR over time: monthly-normalised prices of the subscriptions paying at each month's end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fluxus_ui.models import Plan, Subscription
from fluxus_ui.stores.staff import mrr_series

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
MONTHLY = Plan(id="m", slug="pro", name="Pro", price=Decimal(990), billing_cycle="monthly")
YEARLY = Plan(id="y", slug="pro-y", name="Pro yearly", price=Decimal(9900), billing_cycle="yearly")


def test_mrr_counts_yearly_plans_by_the_month_and_drops_ended_subscriptions() -> None:
    subs = [
        Subscription(id="1", plan_id="m", status="active",
                     start_date=datetime(2026, 9, 15, tzinfo=UTC),
                     end_date=datetime(2026, 12, 15, tzinfo=UTC)),
        Subscription(id="2", plan_id="y", status="active",
                     start_date=datetime(2026, 10, 2, tzinfo=UTC),
                     end_date=datetime(2027, 10, 2, tzinfo=UTC)),
        Subscription(id="3", plan_id="m", status="expired",
                     start_date=datetime(2026, 8, 1, tzinfo=UTC),
                     end_date=datetime(2026, 10, 1, tzinfo=UTC)),
        Subscription(id="4", plan_id="m", status="pending"),
    ]
    series = {p.month: p for p in mrr_series(subs, [MONTHLY, YEARLY], NOW, months=4)}
    assert list(series) == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert (series["2026-08"].active, series["2026-08"].mrr) == (1, Decimal(990))
    assert (series["2026-09"].active, series["2026-09"].mrr) == (2, Decimal(1980))
    assert (series["2026-10"].active, series["2026-10"].mrr) == (2, Decimal(990 + 825))
    assert (series["2026-11"].active, series["2026-11"].mrr) == (2, Decimal(990 + 825))
