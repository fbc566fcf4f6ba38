"""The whole payment flow across real processes: `fluxus ecpay-sim`, `fluxus payment`
(gunicorn) and `rq worker`, on real PostgreSQL and Redis."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.db.models import Invoice, Order, Subscription
from tests.integration.payment.conftest import (
    World,
    notifications,
    order_of,
    seed,
    totals,
)
from tests.integration.payment.processes import Stack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

def _checkout(stack: Stack, world: World) -> dict[str, str]:
    return stack.checkout(world.user_id, world.order_id)


def test_pay_at_the_simulator_then_a_worker_completes_the_order_exactly_once(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine, attempt=False)  # placed; the checkout makes its first attempt
    fields = _checkout(stack, world)
    assert fields["PeriodType"] == "M"

    paid = httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/pay")
    assert paid.status_code == 200, paid.text
    wait_for(lambda: [d for d in stack.deliveries(world.order_number)
                      if d["state"] == "acknowledged"], "ECPay to get 1|OK", 20)
    [stored] = notifications(session)
    assert (stored.verdict, stored.processed_at) == ("accepted", None)

    stack.work()

    order = order_of(session, world)
    assert order.status == "completed"
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert (invoice.total_amount, invoice.tax_amount) == (Decimal(990), Decimal(47))
    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.period_agreement_no) == ("active", world.order_number)
    assert sub.end_date is not None and order.paid_at is not None
    assert sub.end_date > order.paid_at

    # The same notification sent again changes nothing.
    [delivery] = stack.deliveries(world.order_number)
    resend = httpx.post(f"{stack.payment}/payment/ecpay/callback/", data=delivery["fields"])
    assert resend.text == "1|OK"
    stack.work()
    assert len(notifications(session)) == 1
    assert totals(session, world) == (1, 1, 1)


def test_a_notification_missed_while_the_service_was_down_arrives_by_ecpays_resend(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine, attempt=False)  # placed; the checkout makes its first attempt
    _checkout(stack, world)
    stack.stop_payment()

    httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/pay")
    wait_for(lambda: stack.deliveries(world.order_number)[0]["attempts"], "a failed try", 20)
    stack.start_payment()
    wait_for(lambda: stack.deliveries(world.order_number)[0]["state"] == "acknowledged",
             "the re-send to be acknowledged", 30)
    [delivery] = stack.deliveries(world.order_number)
    assert delivery["attempts"][0]["status"] is None  # refused while we were down

    [stored] = notifications(session)
    assert stored.raw["RtnMsg"] == "paid"  # ECPay's re-send wording
    # The original wording posted late is the same event: no second row.
    late = httpx.post(f"{stack.payment}/payment/ecpay/callback/", data=delivery["fields"])
    assert late.text == "1|OK"
    stack.work()
    assert len(notifications(session)) == 1
    assert totals(session, world) == (1, 1, 1)


def test_a_periodic_charge_at_the_simulator_renews_for_the_next_period(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine, attempt=False)  # placed; the checkout makes its first attempt
    _checkout(stack, world)
    httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/pay")
    wait_for(lambda: len(notifications(session)) == 1, "the payment notification", 20)
    stack.work()

    charge = httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/period")
    assert charge.status_code == 200, charge.text
    wait_for(lambda: len(notifications(session)) == 2, "the periodic notification", 20)
    stack.work()

    session.expire_all()
    renewal = session.scalars(select(Order).where(Order.is_renewal.is_(True))).one()
    first = order_of(session, world)
    assert renewal.status == "completed"
    assert renewal.period_start == first.period_end
    sub = session.get_one(Subscription, world.subscription_id)
    assert sub.end_date == renewal.period_end
    assert session.scalars(select(Invoice).where(Invoice.order_id == renewal.id)).one()
