"""Refunds over HTTP: staff refund with an Idempotency-Key, customers read their own order's
refunds, manual transfers confirmed, orders and invoices show what was refunded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Refund
from services.core.ports import RecordingJobs
from services.core.usecases.payment_processing import complete_payment
from services.core.usecases.payments import attempts
from services.core.usecases.payments.reviews import ReviewReason, park
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.support.factories import make_order, make_subscription

pytestmark = pytest.mark.integration

PAID_AT = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def paid(session: Session, settings: Settings, customer: Account, plan: Any,
         method: str = "atm") -> uuid.UUID:
    """A paid order of the customer's (through the payment use case: invoice and all)."""
    sub = make_subscription(session, customer.user, plan)
    order = make_order(session, sub, amount=990, payment_method=method)
    attempts.start(session, FixedClock(PAID_AT), order)
    session.commit()
    complete_payment(session, FixedClock(PAID_AT), RecordingJobs(), order_id=order.id,
                     trade_no="2703011000001234", paid_at=PAID_AT, amount=990,
                     payment_type="ATM_TAISHIN" if method == "atm" else "Credit_CreditCard",
                     raw={}, source="callback", settings=settings)
    session.commit()
    return order.id


def post(client: FlaskClient, who: Account, order_id: uuid.UUID, body: dict[str, Any],
         key: str | None = "key-1") -> Any:
    headers = who.headers | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/api/orders/{order_id}/refunds/", json=body, headers=headers)


def test_staff_refund_an_atm_order_then_confirm_the_transfer(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan)
    body = {"amount": "990", "reason": "不再需要", "cancel_subscription": "now"}
    created = post(client, staff, order_id, body)
    assert created.status_code == 201, created.get_json()
    refund = created.get_json()
    assert (refund["method"], refund["status"], refund["amount"]) == ("manual", "owed", "990")
    assert created.headers["Idempotent-Replayed"] == "false"
    replay = post(client, staff, order_id, body)
    assert replay.status_code == 201 and replay.get_json()["id"] == refund["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert_envelope(post(client, staff, order_id, body | {"amount": "10"}), 409,
                    "idempotency_key_reused")
    assert_envelope(post(client, staff, order_id, {"amount": "1", "reason": "x"}, key="key-2"),
                    409, "refund_exceeds_paid")
    # The customer sees it owed, and nothing refunded yet.
    mine = client.get(f"/api/orders/{order_id}/refunds/", headers=customer.headers)
    assert mine.status_code == 200
    assert [(r["status"], r["last_error"]) for r in mine.get_json()["results"]] == [("owed", "")]
    assert mine.get_json()["refunded_amount"] == "0"
    confirmed = client.post(f"/api/refunds/{refund['id']}/confirm/",
                            json={"reference": "TX-20270301-01"}, headers=staff.headers)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "confirmed"
    assert confirmed.get_json()["transfer_reference"] == "TX-20270301-01"
    order = client.get(f"/api/orders/{order_id}/", headers=customer.headers).get_json()
    assert (order["status"], order["refunded_amount"]) == ("refunded", "990")
    invoices = client.get("/api/invoices/", headers=customer.headers).get_json()["results"]
    assert [(i["order_id"], i["refunded_amount"]) for i in invoices] == [(str(order_id), "990")]
    subs = client.get("/api/subscriptions/", headers=customer.headers).get_json()["results"]
    assert subs[0]["status"] == "cancelled"


def test_a_card_refund_is_queued_for_the_worker(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan, method="credit_card")
    created = post(client, staff, order_id, {"amount": "300", "reason": "partial"})
    assert created.status_code == 201, created.get_json()
    refund = created.get_json()
    assert (refund["method"], refund["status"]) == ("card", "requested")
    queued = Queue("payments", connection=Redis.from_url(settings.redis_url)).job_ids
    assert f"refund-{refund['id']}" in queued
    assert_envelope(client.post(f"/api/refunds/{refund['id']}/confirm/",
                                json={"reference": "x"}, headers=staff.headers),
                    409, "refund_not_owed")
    # ECPay's words are for staff; the customer sees the state only.
    session.get_one(Refund, uuid.UUID(refund["id"])).last_error = "10300003 交易狀態不可執行"
    session.commit()
    url = f"/api/orders/{order_id}/refunds/"
    [seen] = client.get(url, headers=customer.headers).get_json()["results"]
    [told] = client.get(url, headers=staff.headers).get_json()["results"]
    assert (seen["last_error"], told["last_error"]) == ("", "10300003 交易狀態不可執行")


def test_only_staff_refund_and_customers_read_only_their_own(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    other_customer: Account, staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan)
    assert_envelope(post(client, customer, order_id, {"amount": "1", "reason": "me"}), 403)
    assert_envelope(client.get(f"/api/orders/{order_id}/refunds/",
                               headers=other_customer.headers), 404)
    assert_envelope(post(client, staff, order_id, {"amount": "1", "reason": "x"}, key=None), 422)
    assert_envelope(post(client, staff, order_id, {"amount": "1.5", "reason": "x"}), 422)
    assert_envelope(post(client, staff, order_id, {"amount": "0", "reason": "x"}), 422)
    assert_envelope(post(client, staff, uuid.uuid4(), {"amount": "1", "reason": "x"}), 404)
    assert_envelope(client.post(f"/api/refunds/{uuid.uuid4()}/confirm/",
                                json={"reference": "x"}, headers=customer.headers), 403)


def test_a_refund_needed_review_item_is_refunded_from_the_queue(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan, method="credit_card")
    review_id = park(session, source_key="test:dup", reason=ReviewReason.DUPLICATE_PAYMENT,
                     arrived_at=PAID_AT, detail="paid twice", amount=990,
                     merchant_trade_no="FXDUP0000000000001", gateway_trade_no="2703011000009999",
                     order_id=order_id)
    session.commit()
    url = f"/api/payment-reviews/{review_id}/refund/"
    headers = staff.headers | {"Idempotency-Key": "dup-1"}
    assert_envelope(client.post(url, json={"reason": "paid twice"}, headers=headers), 409,
                    "review_not_refund_needed")
    decided = client.post(f"/api/payment-reviews/{review_id}/resolve/", headers=staff.headers,
                          json={"decision": "refund_needed", "note": "customer paid twice"})
    assert decided.status_code == 200, decided.get_json()
    created = client.post(url, json={"reason": "paid twice"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    refund = created.get_json()
    assert (refund["review_id"], refund["amount"], refund["method"]) == (
        str(review_id), "990", "card")  # a card order's second trade goes back by card
    assert_envelope(client.post(url, json={"reason": "again", "amount": "1"},
                                headers=staff.headers | {"Idempotency-Key": "dup-2"}),
                    409, "refund_exceeds_paid")
    # The order's own payment is untouched: nothing refunded on it.
    order = client.get(f"/api/orders/{order_id}/", headers=staff.headers).get_json()
    assert (order["status"], order["refunded_amount"]) == ("completed", "0")
    assert_envelope(client.post(url, json={"reason": "x"}, headers=customer.headers), 403)
