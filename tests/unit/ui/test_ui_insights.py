"""What the dashboard headlines and which banners call the customer to act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fluxus_ui.models import Order, Subscription
from fluxus_ui.stores.insights import (
    banners,
    current_subscription,
    next_renewal,
    paid_this_year,
    payment_instructions,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def sub(status: str, **kw: object) -> Subscription:
    return Subscription(id=f"s-{status}", plan_id="p1", status=status, **kw)


def order(status: str, **kw: object) -> Order:
    values: dict[str, object] = {"id": "o1", "order_number": "FX1", "amount": Decimal(990),
                                 "payment_method": "atm"}
    values.update(kw)
    return Order(status=status, **values)


def test_active_subscription_is_headlined_over_a_newer_pending_one() -> None:
    older_active = sub("active", created_at=NOW - timedelta(days=40))
    newer_pending = sub("pending", created_at=NOW)
    cancelled = sub("cancelled", created_at=NOW)
    assert current_subscription([newer_pending, older_active, cancelled]) == older_active
    assert current_subscription([cancelled]) is None


def test_paid_this_year_counts_taipei_new_year_not_utc() -> None:
    # 2026-12-31 17:00 UTC is already 2027-01-01 in Taipei.
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    orders = [
        order("completed", amount=Decimal(990), paid_at=datetime(2026, 3, 1, tzinfo=UTC)),
        order("completed", amount=Decimal(500), paid_at=new_year),
        order("failed", amount=Decimal(300), paid_at=datetime(2026, 5, 1, tzinfo=UTC)),
    ]
    assert paid_this_year(orders, NOW) == Decimal(990)
    assert paid_this_year(orders, new_year + timedelta(hours=1)) == Decimal(500)


def test_pending_atm_code_banner_shows_expiry_in_taipei_time() -> None:
    waiting = order("processing",
                    payment_info={"bank_code": "812", "v_account": "9103522175887271"},
                    expire_at=datetime(2026, 11, 29, 15, 59, 59, tzinfo=UTC))
    found = banners([], [waiting], NOW)
    assert [b.key for b in found] == ["banner.pending_code"]
    assert found[0].values["expire"] == "2026-11-29 23:59"
    assert found[0].order_id == "o1"


def test_expired_code_and_card_orders_make_no_banner() -> None:
    expired = order("processing", payment_info={"payment_no": "LLL123"},
                    expire_at=NOW - timedelta(minutes=1))
    card = order("pending", payment_method="credit_card", payment_info={"periodic": True})
    assert banners([], [expired, card], NOW) == []


def test_past_due_comes_first_and_trial_ending_is_announced_a_week_ahead() -> None:
    trial = sub("trial", trial_end_date=NOW + timedelta(days=3))
    far_trial = sub("trial", trial_end_date=NOW + timedelta(days=20))
    found = banners([trial, far_trial, sub("past_due")], [], NOW)
    assert [b.key for b in found] == ["banner.past_due", "banner.trial_ending"]


def test_no_renewal_date_once_cancelled_at_period_end() -> None:
    end = NOW + timedelta(days=10)
    assert next_renewal(sub("active", end_date=end)) == end
    assert next_renewal(sub("active", end_date=end, cancel_at_period_end=True)) is None
    assert next_renewal(sub("active", end_date=end, auto_renew=False)) is None


def test_barcode_instructions_list_each_barcode_and_the_deadline() -> None:
    paying = order("processing", payment_method="barcode",
                   payment_info={"barcode1": "141129AA6", "barcode2": "9103522175887271",
                                 "barcode3": "112900000000990", "expire_date": "2026/11/29"})
    rows = payment_instructions(paying)
    assert rows == [("pay.barcode:1", "141129AA6"), ("pay.barcode:2", "9103522175887271"),
                    ("pay.barcode:3", "112900000000990"), ("pay.expire", "2026-11-29 00:00")]
