"""Test clock fixtures: one ECPay simulator per module (payments, agreements, e-invoices),
settings with test clocks on, and customers paid by a card agreement at the simulator."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Plan
from services.core.db.session import dispose_engines, session_factory
from services.core.ports import RecordingJobs
from services.core.usecases.payment_processing import complete_payment
from services.core.usecases.payments import attempts
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, PeriodicPlan, build_checkout
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import parse_taipei_datetime
from services.worker import context
from tests.integration.ecpay_sim.einvoice_support import simulator_process
from tests.support.factories import make_order, make_plan, make_subscription, make_user

NOWHERE = "http://127.0.0.1:9"  # nothing listens: the clock applies ECPay's posts itself


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("sim")) as url:
        yield url


@pytest.fixture
def csettings(settings: Settings, sim: str) -> Iterator[Settings]:
    pinned = dataclasses.replace(settings, test_clocks=True, ecpay_gateway_url=sim,
                                 einvoice_url=sim, public_payment_url=NOWHERE)
    context.use(pinned, None)
    try:
        yield pinned
    finally:
        context.use(None, None)
        dispose_engines()


@dataclass(frozen=True)
class Customer:
    user_id: uuid.UUID
    subscription_id: uuid.UUID
    order_number: str  # the card agreement's MerchantTradeNo
    paid_at: datetime


def new_plan(engine: Engine, price: int = 990) -> uuid.UUID:
    with session_factory(engine)() as session:
        plan = make_plan(session, price=Decimal(price))
        session.commit()
        return plan.id


def card_customer(engine: Engine, settings: Settings, sim: str, plan_id: uuid.UUID,
                  test_clock_id: uuid.UUID | None = None) -> Customer:
    """A customer who checked out by card at the simulator with a monthly 定期定額 agreement,
    paid now (the simulator's now), the payment applied here."""
    with session_factory(engine)() as session:
        plan = session.get_one(Plan, plan_id)
        price = int(plan.price)
        user = make_user(session, test_clock_id=test_clock_id)
        sub = make_subscription(session, user, plan, auto_renew=True)
        order = make_order(session, sub, amount=plan.price)
        terms = {"period_type": "M", "frequency": 1, "exec_times": 99, "period_amount": price}
        attempts.start(session, FixedClock(datetime.now(UTC)), order, periodic=terms)
        session.commit()
        ids = (user.id, sub.id, order.id, order.order_number)
    creds = EcpayCredentials.stage(sim)
    periodic = PeriodicPlan(price, "M", 1, 99, f"{NOWHERE}/payment/ecpay/period/")
    form = build_checkout(creds, CheckoutOrder(ids[3], price, "Fluxus", "Fluxus Pro",
                                               f"{NOWHERE}/payment/ecpay/callback/",
                                               choose_payment=ChoosePayment.CREDIT,
                                               periodic=periodic), now=datetime.now(UTC))
    assert httpx.post(form.action_url, data=dict(form.fields), timeout=10).status_code == 200
    paid = httpx.post(f"{sim}/_sim/orders/{ids[3]}/pay", json={"method": "Credit"}, timeout=10)
    assert paid.status_code == 200, paid.text
    answer = paid.json()["order"]
    paid_at = parse_taipei_datetime(answer["payment_date"]).astimezone(UTC)
    with session_factory(engine)() as session:
        complete_payment(session, FixedClock(paid_at), RecordingJobs(), order_id=ids[2],
                         trade_no=answer["trade_no"], paid_at=paid_at, amount=price,
                         payment_type="Credit_CreditCard", raw={}, source="callback",
                         settings=settings)
        session.commit()
    return Customer(ids[0], ids[1], ids[3], paid_at)


def decline_next_charge(sim: str, order_number: str) -> None:
    """The card is declined at the agreement's next scheduled charge (posted ahead of time;
    the clock applies it when its time comes)."""
    answer = httpx.post(f"{sim}/_sim/orders/{order_number}/period", json={"success": False},
                        timeout=10)
    assert answer.status_code == 200, answer.text

