"""Staff cancel a card-paid subscription now and give back the unused days: the amount is
day-based (as a plan change credits them), goes back by a partial R through the card saga at
the simulator with an allowance on the e-invoice; where ECPay allows no partial refund, or the
order pays no running period, the request is refused with a clear code."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import Engine, select, update

from services.core.config import Settings
from services.core.db.models import EInvoiceAllowance, Order, PaymentAttempt, Subscription, User
from services.core.db.session import session_factory
from services.core.domain.periods import TAIPEI
from services.core.errors import Conflict, ValidationError
from services.core.usecases.refunds import requests
from tests.integration.refunds.refund_support import (
    ask,
    books_findings,
    card_record,
    order_row,
    paid_order,
    refund_row,
    run_jobs,
    sim_to_next_morning,
    staff_user,
)

pytestmark = pytest.mark.integration


def ask_unused(engine: Engine, at: datetime, staff: User, order_id: uuid.UUID, *,
               cancel: str = "now", key: str | None = None) -> requests.PlacedRefund:
    return ask(engine, at, staff, order_id, "unused", key=key,
               reason="cancelled, unused days back", cancel=cancel)


def taipei_days(start: datetime, end: datetime) -> int:
    return (end.astimezone(TAIPEI).date() - start.astimezone(TAIPEI).date()).days


def test_the_unused_days_go_back_by_a_partial_r_and_the_subscription_ends_now(
        engine: Engine, app_settings: Settings, sim: str, now: datetime) -> None:
    world = paid_order(engine, app_settings, sim, now)
    order = order_row(engine, world.order_id)
    assert order.period_start == now and order.period_end is not None
    staff = staff_user(engine)
    # Two days on (the capture batch has run in between), the customer leaves.
    sim_to_next_morning(sim)
    later = sim_to_next_morning(sim)
    placed = ask_unused(engine, later, staff, world.order_id, key="unused-1")
    days, left = (taipei_days(order.period_start, order.period_end),
                  taipei_days(later, order.period_end))
    expected = (Decimal(1000 * left) / days).quantize(Decimal(1), ROUND_HALF_UP)
    assert placed.refund.amount == expected and 0 < expected < 1000
    assert placed.refund.method == "card" and placed.refund.cancel_subscription == "now"
    # A retry the next day answers the first refund, not a new amount.
    again = ask_unused(engine, later + timedelta(days=1), staff, world.order_id,
                       key="unused-1")
    assert not again.created and again.refund.id == placed.refund.id

    assert run_jobs(app_settings, later, placed.refund.id) == "succeeded"
    refund = refund_row(engine, placed.refund.id)
    assert [c["action"] for c in refund.gateway_actions["calls"]] == ["R"]
    record = card_record(sim, world.order_number)
    assert (record["status"], record["refunded"]) == ("已關帳", int(expected))
    assert order_row(engine, world.order_id).status == "completed"  # part of it is kept
    with session_factory(engine)() as session:
        assert session.get_one(Subscription, world.subscription_id).status == "cancelled"
        allowance = session.scalars(select(EInvoiceAllowance.amount).where(
            EInvoiceAllowance.request_key == f"refund:{refund.id}")).one()
    assert allowance == expected
    assert books_findings(engine, later) == []


def test_unused_days_need_a_cancel_now_and_a_running_period(
        engine: Engine, app_settings: Settings, sim: str, now: datetime) -> None:
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    with pytest.raises(ValidationError):
        ask_unused(engine, now, staff, world.order_id, cancel="at_period_end")
    order = order_row(engine, world.order_id)
    assert order.period_end is not None
    with pytest.raises(Conflict) as past:
        ask_unused(engine, order.period_end, staff, world.order_id)
    assert past.value.code == "no_unused_days"
    # An upgrade's net names no period of its own.
    with session_factory(engine)() as session:
        session.execute(update(Order).where(Order.id == world.order_id)
                        .values(period_start=None, period_end=None))
        session.commit()
    with pytest.raises(Conflict) as no_period:
        ask_unused(engine, now, staff, world.order_id)
    assert no_period.value.code == "no_unused_days"


def test_a_card_agreements_charge_is_refunded_in_full_only(
        engine: Engine, app_settings: Settings, sim: str, now: datetime) -> None:
    world = paid_order(engine, app_settings, sim, now)
    with session_factory(engine)() as session:
        # The paid checkout was an agreement's first charge (定期定額).
        session.execute(update(PaymentAttempt).where(PaymentAttempt.order_id == world.order_id)
                        .values(periodic={"period_type": "M", "frequency": 1, "exec_times": 99,
                                          "period_amount": 1000}))
        session.commit()
    staff = staff_user(engine)
    later = sim_to_next_morning(sim)
    with pytest.raises(Conflict) as refused:
        ask_unused(engine, later, staff, world.order_id)
    assert refused.value.code == "partial_refund_not_allowed"
    assert "定期定額" in refused.value.message
    # Nothing was recorded, nothing cancelled: staff refund it all, or by transfer.
    with session_factory(engine)() as session:
        assert session.get_one(Subscription, world.subscription_id).status == "active"
    assert card_record(sim, world.order_number)["refunded"] == 0
