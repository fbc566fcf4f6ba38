"""Plan-change tests: an API on a fixed clock, a customer paid for March 2027 (Taipei)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Plan, Subscription
from services.core.domain.periods import TAIPEI
from services.core.ports import RecordingJobs
from services.core.usecases.payments import attempts
from services.core.usecases.payments.completion import complete_payment
from tests.integration.api.api_helpers import Account
from tests.support.clocked_api import (  # noqa: F401 (fixtures: pytest reads this module's names)
    app_fixture,
    client_fixture,
    customer_fixture,
    fast_bcrypt_fixture,
    staff_fixture,
)
from tests.support.factories import make_order, make_plan, make_subscription

PAID_AT = datetime(2027, 3, 1, tzinfo=TAIPEI)  # the period is Mar 1 – Apr 1 (31 days)
MID_MARCH = datetime(2027, 3, 16, tzinfo=TAIPEI)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MID_MARCH)


@dataclass(frozen=True)
class Plans:
    basic: Plan  # NT$300 a month
    pro: Plan  # NT$900 a month
    yearly: Plan  # NT$3,000 a year: cheaper a day than Basic


@pytest.fixture
def plans(session: Session) -> Plans:
    made = Plans(make_plan(session, name="Basic", price=Decimal(300)),
                 make_plan(session, name="Pro", price=Decimal(900)),
                 make_plan(session, name="Yearly", price=Decimal(3000), billing_cycle="yearly"))
    session.commit()
    return made


def pay(session: Session, settings: Settings, order_id: uuid.UUID, paid_at: datetime,
        amount: Decimal, trade_no: str = "2703011000001234",
        jobs: RecordingJobs | None = None) -> None:
    """ECPay's payment for an order, through the payment use case (invoice and all)."""
    complete_payment(session, FixedClock(paid_at), jobs or RecordingJobs(), order_id=order_id,
                     trade_no=trade_no, paid_at=paid_at, amount=int(amount),
                     payment_type="Credit_CreditCard", raw={}, source="callback",
                     settings=settings)
    session.commit()


def paid_subscription(session: Session, settings: Settings, account: Account,
                      plan: Plan, *, agreement: bool = False) -> Subscription:
    """The customer's subscription to `plan`, paid on Mar 1 2027 00:00 Taipei; with
    `agreement`, by a card checkout that set up a 定期定額 agreement for the plan's price."""
    sub = make_subscription(session, account.user, plan)
    order = make_order(session, sub, amount=plan.price)
    periodic = {"period_type": "M", "frequency": 1, "exec_times": 99,
                "period_amount": int(plan.price)} if agreement else None
    attempts.start(session, FixedClock(PAID_AT), order, periodic=periodic)
    session.commit()
    pay(session, settings, order.id, PAID_AT, plan.price)
    session.refresh(sub)
    return sub
