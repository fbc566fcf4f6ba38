"""Renewal orders carry the coupon while it lasts (once: the first paid period; repeating: N
periods; forever), staff can apply one to a paying subscription, and MRR counts what the
customer pays after a recurring discount."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import MrrMovement, Plan, Subscription
from services.core.usecases import mrr
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.coupons.conftest import (
    NOW,
    create_coupon,
    order,
    pay,
    renew,
    subscribe,
)

pytestmark = pytest.mark.integration


def paid_with(client: FlaskClient, session: Session, settings: Settings, customer: Account,
              plan: Plan, code: str | None) -> tuple[str, dict]:
    sub_id = subscribe(client, customer, plan, code).get_json()["id"]
    first = order(client, customer, sub_id)
    pay(session, settings, first["id"], NOW, first["amount"])
    return sub_id, first


def amounts_of_renewals(session: Session, settings: Settings, sub_id: str, n: int) -> list[int]:
    seen = []
    for i in range(n):
        renewal = renew(session, sub_id)
        seen.append(int(renewal.amount))
        if renewal.status == "pending":
            pay(session, settings, renewal.id, renewal.period_start, renewal.amount,
                trade_no=f"27040110000{i:05d}")
    return seen


@pytest.mark.parametrize(("duration", "extra", "first", "renewals"), [
    ("once", {}, 792, [990, 990, 990]),
    ("repeating", {"duration_periods": 3}, 792, [792, 792, 990]),
    ("forever", {}, 792, [792, 792, 792]),
])
def test_renewals_are_discounted_while_the_coupon_lasts(
        client: FlaskClient, session: Session, settings: Settings, staff: Account,
        customer: Account, plan: Plan, duration: str, extra: dict, first: int,
        renewals: list[int]) -> None:
    create_coupon(client, staff, code="LOYAL20", kind="percent", percent_off=20,
                  duration=duration, **extra)
    sub_id, first_order = paid_with(client, session, settings, customer, plan, "LOYAL20")
    assert int(first_order["amount"]) == first
    assert amounts_of_renewals(session, settings, sub_id, 3) == renewals


def test_staff_apply_a_coupon_to_a_paying_subscription_and_mrr_contracts(
        client: FlaskClient, session: Session, settings: Settings, staff: Account,
        customer: Account, plan: Plan) -> None:
    create_coupon(client, staff, code="SORRY", kind="amount", amount_off=150,
                  duration="forever")
    create_coupon(client, staff, code="OTHER", kind="amount", amount_off=10, duration="once")
    sub_id, _ = paid_with(client, session, settings, customer, plan, None)
    customer_id = customer.user.id
    assert mrr.customer_mrr(session, customer_id) == Decimal("942.86")  # 990 × 100/105

    url = f"/api/subscriptions/{sub_id}/coupon/"
    assert_envelope(client.post(url, json={"code": "SORRY"}, headers=customer.headers), 403)
    applied = client.post(url, json={"code": "sorry"}, headers=staff.headers)
    assert applied.status_code == 201, applied.get_json()
    assert applied.get_json()["source"] == "staff"
    assert_envelope(client.post(url, json={"code": "OTHER"}, headers=staff.headers), 409,
                    "coupon_already_applied")
    assert_envelope(client.post(f"/api/subscriptions/{uuid.uuid4()}/coupon/",
                                json={"code": "OTHER"}, headers=staff.headers), 404)

    # 840 a month from now on: MRR moves down at once (a contraction), and the next
    # renewal asks for 840.
    session.expire_all()
    assert mrr.customer_mrr(session, customer_id) == Decimal("800.00")
    kinds = session.scalars(select(MrrMovement.kind).where(MrrMovement.customer_id == customer_id)
                            .order_by(MrrMovement.occurred_at, MrrMovement.created_at)).all()
    assert kinds == ["new", "contraction"]
    assert amounts_of_renewals(session, settings, sub_id, 1) == [840]


def test_a_card_agreement_takes_no_coupon_from_staff(
        client: FlaskClient, session: Session, settings: Settings, staff: Account,
        customer: Account, plan: Plan) -> None:
    create_coupon(client, staff, code="LATE", kind="percent", percent_off=5, duration="once")
    sub_id, _ = paid_with(client, session, settings, customer, plan, None)
    sub = session.get_one(Subscription, uuid.UUID(sub_id))
    sub.payment_method, sub.period_agreement_no = "credit_card", "2703011000009999"
    session.commit()
    assert_envelope(client.post(f"/api/subscriptions/{sub_id}/coupon/", json={"code": "LATE"},
                                headers=staff.headers), 409, "paid_by_agreement")
