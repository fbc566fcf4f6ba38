"""Coupon tests: an API on a fixed clock, a staff member, a customer and a NT$990 plan."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Order, Plan, Subscription
from services.core.domain.periods import TAIPEI
from services.core.ports import RecordingJobs
from services.core.usecases import renewals
from services.core.usecases.payments.completion import complete_payment
from tests.integration.api.api_helpers import Account
from tests.support.clocked_api import (  # noqa: F401 (fixtures: pytest reads this module's names)
    app_fixture,
    client_fixture,
    customer_fixture,
    fast_bcrypt_fixture,
    staff_fixture,
)
from tests.support.factories import make_plan

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=TAIPEI)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def plan(session: Session) -> Plan:
    made = make_plan(session, name="Pro", price=Decimal(990))
    session.commit()
    return made


def create_coupon(client: FlaskClient, staff: Account, **body: Any) -> dict[str, Any]:
    answer = client.post("/api/coupons/", json=body, headers=staff.headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def subscribe(client: FlaskClient, who: Account, plan: Plan, code: str | None = None) -> Any:
    body: dict[str, Any] = {"plan_id": str(plan.id)}
    if code is not None:
        body["coupon_code"] = code
    return client.post("/api/subscriptions/", json=body, headers=who.headers)


def order(client: FlaskClient, who: Account, subscription_id: str) -> dict[str, Any]:
    answer = client.post("/api/orders/", json={"subscription_id": subscription_id,
                                               "payment_method": "atm"}, headers=who.headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def pay(session: Session, settings: Settings, order_id: uuid.UUID | str, paid_at: datetime,
        amount: Decimal | int | str, trade_no: str = "2703011000001234") -> None:
    """ECPay's payment for an order, through the payment use case (invoice and all)."""
    complete_payment(session, FixedClock(paid_at), RecordingJobs(),
                     order_id=uuid.UUID(str(order_id)), trade_no=trade_no, paid_at=paid_at,
                     amount=int(Decimal(amount)),
                     payment_type="ATM_LAND", raw={}, source="callback", settings=settings)
    session.commit()


def renew(session: Session, sub_id: uuid.UUID | str) -> Order:
    """Run the renewal of the subscription's next period, as the renewal job does."""
    session.expire_all()
    sub = session.get_one(Subscription, uuid.UUID(str(sub_id)))
    start = sub.end_date
    clock = FixedClock(start)
    dues = renewals.due_batch(session, clock, plan_id=sub.plan_id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="http://x")
    session.commit()
    session.expire_all()
    return session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                               Order.period_start == start)).one()
