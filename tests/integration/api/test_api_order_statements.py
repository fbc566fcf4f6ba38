"""POST /api/orders/ reads what the order needs in few statements (issue #20): the
subscription's lock brings its plan, the customer's credit and an Idempotency-Key's first
order; one more statement refuses a paid period and finds the coupon. A retry is answered by
that statement without taking the lock, and a customer without credit is not locked for it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import Plan, Subscription
from services.core.usecases import credits
from tests.integration.api.api_helpers import Account, statements
from tests.support.factories import make_subscription

pytestmark = pytest.mark.integration

# At most: one of them is the caller's read, which authentication may make cheaper. The code
# before issue #20 ran 12 for an order (3 for its retry).
ORDER_STATEMENTS = 6  # caller, lock, paid + coupon, order, audit row, refunded amount
RETRY_STATEMENTS = 3  # caller, lock (with the first order), refunded amount


def _subscriptions(session: Session, account: Account, plan: Plan, count: int
                   ) -> list[Subscription]:
    subs = [make_subscription(session, account.user, plan) for _ in range(count)]
    session.commit()
    return subs


def _order(client: FlaskClient, settings: Settings, account: Account, sub: Subscription,
           key: str) -> tuple[Any, list[str]]:
    with statements(settings) as seen:
        response = client.post(
            "/api/orders/", headers={**account.headers, "Idempotency-Key": key},
            json={"subscription_id": str(sub.id), "payment_method": "atm"})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response, list(seen)


def _credit_locks(seen: list[str]) -> list[str]:
    return [s for s in seen if "FOR NO KEY UPDATE" in s or "credit_entries" in s]


def test_an_order_and_its_retry_run_a_handful_of_statements(
    client: FlaskClient, session: Session, settings: Settings, customer: Account, plan: Plan
) -> None:
    warm, sub = _subscriptions(session, customer, plan, 2)
    _order(client, settings, customer, warm, "warm-up")  # the engine's first connection

    first, seen = _order(client, settings, customer, sub, "order-1")
    again, seen_again = _order(client, settings, customer, sub, "order-1")

    assert len(seen) <= ORDER_STATEMENTS, seen
    assert len(seen_again) <= RETRY_STATEMENTS, seen_again
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["amount"] == "990"
    # No credit: neither the customer's lock nor a balance read of its own.
    assert [s for s in _credit_locks(seen) if "has_credit" not in s] == []


def test_a_retry_answers_the_first_order_after_the_subscription_moved_on(
    client: FlaskClient, session: Session, settings: Settings, customer: Account, plan: Plan
) -> None:
    (sub,) = _subscriptions(session, customer, plan, 1)
    first, _ = _order(client, settings, customer, sub, "order-2")
    session.execute(update(Subscription).where(Subscription.id == sub.id)
                    .values(status="active"))
    session.commit()

    again, _ = _order(client, settings, customer, sub, "order-2")

    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_retry_is_answered_while_a_payment_holds_the_subscription(
    client: FlaskClient, session: Session, settings: Settings, customer: Account, plan: Plan
) -> None:
    (sub,) = _subscriptions(session, customer, plan, 1)
    first, _ = _order(client, settings, customer, sub, "order-3")
    # As the payment worker does while it completes an order: the subscription's row locked.
    session.execute(select(Subscription.id).where(Subscription.id == sub.id)
                    .with_for_update())
    with ThreadPoolExecutor(1) as pool:
        retry = pool.submit(_order, client, settings, customer, sub, "order-3")
        try:
            again, _ = retry.result(timeout=30)  # a retry that waited for the lock: never
        finally:
            session.rollback()

    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_credit_is_still_used_first_and_only_a_customer_with_credit_is_locked(
    client: FlaskClient, session: Session, settings: Settings, customer: Account, plan: Plan
) -> None:
    subs = _subscriptions(session, customer, plan, 3)
    credits.grant(session, user_id=customer.user.id, amount=Decimal(1200), kind="goodwill")
    session.commit()

    paid_by_credit, seen = _order(client, settings, customer, subs[0], "credit-1")
    partly, seen_partly = _order(client, settings, customer, subs[1], "credit-2")
    none_left, seen_none = _order(client, settings, customer, subs[2], "credit-3")

    assert paid_by_credit.get_json()["status"] == "completed"
    assert paid_by_credit.get_json()["amount"] == "0"
    assert partly.get_json()["amount"] == "780"  # 990 less the 210 left
    assert none_left.get_json()["amount"] == "990"
    assert credits.balance(session, customer.user.id) == 0
    assert any("FOR NO KEY UPDATE" in s for s in seen)
    assert any("FOR NO KEY UPDATE" in s for s in seen_partly)
    assert not any("FOR NO KEY UPDATE" in s for s in seen_none)
