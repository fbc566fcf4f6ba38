"""ECPay's ReturnURL callback on a served app: verified, judged, stored once, processed once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import AuditLog, PaymentAttempt, PaymentNotification, PaymentReview
from services.ecpay.credentials import EcpayCredentials
from tests.integration.payment.conftest import (
    Served,
    World,
    count,
    notifications,
    order_of,
    queued_ids,
    queued_jobs,
    return_fields,
    totals,
)

pytestmark = pytest.mark.integration

CALLBACK = "/payment/ecpay/callback/"


def post(payment: Served, form: dict[str, str]) -> httpx.Response:
    return httpx.post(payment.url + CALLBACK, data=form, timeout=30)


def test_a_paid_notification_is_acknowledged_stored_and_completes_the_order_once(
    payment: Served, world: World, session: Session, redis: Redis, worker: Callable[..., None]
) -> None:
    response = post(payment, return_fields(world))

    assert response.status_code == 200
    assert response.text == "1|OK"
    assert response.headers["Content-Type"].startswith("text/plain")
    [stored] = notifications(session)
    assert (stored.verdict, stored.kind, stored.order_id) == ("accepted", "return", world.order_id)
    assert stored.raw["MerchantTradeNo"] == world.order_number
    assert stored.request_id == response.headers["X-Request-ID"]
    # One drain job, which takes every new notification from the table.
    assert queued_jobs(redis, "payments") == ["drain_notifications"]
    assert order_of(session, world).status == "pending"  # not before a worker ran

    worker()

    order = order_of(session, world)
    assert order.status == "completed"
    assert order.ecpay_trade_no == "2611261200001234"
    assert totals(session, world) == (1, 1, 1)
    assert session.get_one(PaymentNotification, stored.id).processed_at is not None


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda f: {k: v for k, v in f.items() if k != "CheckMacValue"}, id="missing"),
        pytest.param(lambda f: {**f, "CheckMacValue": "A" * 64}, id="forged"),
        pytest.param(lambda f: {**f, "CheckMacValue": ""}, id="empty"),
        pytest.param(lambda f: {**f, "TradeAmt": "1"}, id="amount-changed-after-signing"),
        pytest.param(lambda f: {**f, "RtnCode": "1", "MerchantTradeNo": "FXOTHER"},
                     id="order-changed-after-signing"),
        pytest.param(lambda f: {**f, "Extra": "x"}, id="field-added-after-signing"),
    ],
)
def test_a_notification_whose_signature_does_not_match_changes_nothing(
    payment: Served, world: World, session: Session, redis: Redis, tamper: Callable[..., dict]
) -> None:
    response = post(payment, tamper(return_fields(world)))

    assert response.status_code == 400
    assert response.text == "0|CheckMacValue Error"
    [stored] = notifications(session)
    assert stored.verdict == "bad_signature"
    assert stored.order_id is None
    assert order_of(session, world).status == "pending"
    assert queued_ids(redis, "payments") == []


def test_a_notification_signed_with_another_key_is_refused(
    payment: Served, world: World, session: Session
) -> None:
    thief = EcpayCredentials("3002607", "AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB")
    response = post(payment, return_fields(world, credentials=thief))
    assert response.text == "0|CheckMacValue Error"
    assert [n.verdict for n in notifications(session)] == ["bad_signature"]


def test_another_merchants_notification_is_refused_and_stored_with_its_verdict(
    payment: Served, world: World, session: Session, redis: Redis,
) -> None:
    response = post(payment, return_fields(world, merchant_id="2000132"))

    assert (response.status_code, response.text) == (400, "0|MerchantID Error")
    assert [n.verdict for n in notifications(session)] == ["wrong_merchant"]
    assert order_of(session, world).status == "pending"
    assert queued_ids(redis, "payments") == []
    assert _reviews(session) == []


@pytest.mark.parametrize("amount", [1, 99000])
def test_a_signed_notification_with_the_wrong_amount_is_acknowledged_and_parked(
    payment: Served, world: World, session: Session, redis: Redis, amount: int,
) -> None:
    response = post(payment, return_fields(world, amount=amount))

    # ECPay took the money: refusing would only make it give up re-sending it.
    assert (response.status_code, response.text) == (200, "1|OK")
    assert [n.verdict for n in notifications(session)] == ["amount_mismatch"]
    assert order_of(session, world).status == "pending"
    assert queued_ids(redis, "payments") == []
    [item] = _reviews(session)
    assert (item.reason, item.amount, item.order_id) == (
        "amount_mismatch", Decimal(amount), world.order_id)


def test_a_notification_for_an_unknown_order_is_acknowledged_and_parked(
    payment: Served, world: World, session: Session
) -> None:
    stranger = replace(world, order_number="FX000UNKNOWN0000000")
    response = post(payment, return_fields(stranger))
    assert response.text == "1|OK"
    [stored] = notifications(session)
    assert (stored.verdict, stored.merchant_trade_no) == ("unknown_order", "FX000UNKNOWN0000000")
    [item] = _reviews(session)
    assert (item.reason, item.merchant_trade_no) == ("unknown_order", "FX000UNKNOWN0000000")


def test_a_forged_copy_posted_first_does_not_block_the_genuine_notification(
    payment: Served, world: World, session: Session
) -> None:
    genuine = return_fields(world)
    assert post(payment, {**genuine, "CheckMacValue": "0" * 64}).text == "0|CheckMacValue Error"
    assert post(payment, genuine).text == "1|OK"
    assert sorted(n.verdict for n in notifications(session)) == ["accepted", "bad_signature"]


def test_a_replayed_notification_is_acknowledged_and_processed_no_second_time(
    payment: Served, world: World, session: Session, redis: Redis, worker: Callable[..., None]
) -> None:
    first = return_fields(world)
    assert post(payment, first).text == "1|OK"
    worker()
    paid_at = order_of(session, world).paid_at

    # ECPay's re-send says "paid" instead of 交易成功; both are the same event.
    for replay in (first, return_fields(world, rtn_msg="paid")):
        assert post(payment, replay).text == "1|OK"
    assert queued_ids(redis, "payments") == []  # already processed: nothing to enqueue
    worker()

    assert len(notifications(session)) == 1
    assert totals(session, world) == (1, 1, 1)
    assert order_of(session, world).paid_at == paid_at
    assert count(session, AuditLog, AuditLog.action == "payment.completed") == 1


def test_ten_identical_notifications_posted_at_once_complete_the_order_once(
    payment: Served, world: World, session: Session, worker: Callable[..., None]
) -> None:
    form = return_fields(world)
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: post(payment, form).text, range(10)))

    assert answers == ["1|OK"] * 10
    assert len(notifications(session)) == 1
    worker()
    assert totals(session, world) == (1, 1, 1)


def test_a_declined_payment_fails_its_attempt_once_and_leaves_the_order_payable(
    payment: Served, world: World, session: Session, worker: Callable[..., None]
) -> None:
    declined = return_fields(world, rtn_code="10100058", rtn_msg="付款失敗")
    assert post(payment, declined).text == "1|OK"  # a genuine notification is acknowledged
    worker()
    assert post(payment, return_fields(world, rtn_code="10100050", rtn_msg="other")).text == "1|OK"
    worker()

    order = order_of(session, world)
    assert (order.status, order.failure_reason) == ("pending", "10100058 付款失敗")
    [attempt] = session.scalars(select(PaymentAttempt)).all()
    assert (attempt.status, attempt.failure_reason) == ("failed", "10100058 付款失敗")
    assert totals(session, world) == (0, 0, 0)
    assert count(session, AuditLog, AuditLog.action == "payment.failed") == 1


@pytest.mark.parametrize("env", ["production", "development"])
def test_simulate_paid_is_never_fulfilled_in_any_environment(
    serve: Callable[..., Served], settings: Settings, world: World, session: Session,
    redis: Redis, worker: Callable[..., None], env: str,
) -> None:
    payment = serve(replace(settings, env=env))

    response = post(payment, return_fields(world, simulate_paid="1"))

    assert response.text == "1|OK"  # acknowledged, so ECPay stops re-sending it
    [stored] = notifications(session)
    assert stored.verdict == "simulated"
    assert queued_ids(redis, "payments") == []
    worker()
    assert order_of(session, world).status == "pending"


def test_an_oversized_notification_is_refused_before_it_is_read(
    payment: Served, world: World, session: Session
) -> None:
    response = post(payment, {**return_fields(world), "Padding": "x" * 70_000})
    assert response.status_code == 413
    assert notifications(session) == []


def test_the_webhook_is_not_rate_limited(payment: Served, world: World) -> None:
    form = return_fields(world)
    with httpx.Client(base_url=payment.url) as client:
        answers = {client.post(CALLBACK, data=form).text for _ in range(80)}
    assert answers == {"1|OK"}


def _reviews(session: Session) -> list[PaymentReview]:
    session.expire_all()
    return list(session.scalars(select(PaymentReview)))


def _audit(session: Session) -> list[AuditLog]:
    session.expire_all()
    return list(session.scalars(select(AuditLog)))
