"""ECPay notifications against real processes: a storm of copies, hostile posts, Redis down.

Each scenario ends with `fluxus audit books` run as an operator would, and it must be clean.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from services.core.clock import SystemClock
from services.core.config import Settings
from services.core.db.models import (
    EmailDelivery,
    Invoice,
    Order,
    PaymentNotification,
    PaymentReview,
)
from services.core.db.session import get_engine, session_scope
from services.core.usecases.audit import SYSTEM
from services.core.usecases.payment_notifications import sweep_unprocessed
from services.core.usecases.payments import review_queue
from services.ecpay.checkmac import sign
from services.ecpay.credentials import EcpayCredentials
from services.worker.queues import RQJobs, redis_connection
from tests.reliability.harness import (
    Inbox,
    Procs,
    RedisServer,
    assert_books_balance,
    audit_books,
    queues_idle,
    wait_for,
)
from tests.reliability.stack import Stack, paid_order
from tests.support.factories import make_plan, make_user

pytestmark = pytest.mark.e2e

CALLBACK = "/payment/ecpay/callback/"
STAGE = EcpayCredentials.stage()


@pytest.fixture
def database_url(module_database: str) -> str:
    """Every test of the module on the one database its processes use."""
    return module_database


@pytest.fixture(scope="module")
def stack(msettings: Settings, procs: Procs) -> Stack:
    with session_scope(get_engine(msettings)) as db:
        make_plan(db, slug="pro", features=["API"])
    stack = Stack(msettings, procs)
    stack.start_sim()
    stack.start_payment(workers=3, wait=False)
    stack.start_api(workers=1, wait=False)
    stack.wait_ready()
    return stack


@pytest.fixture(autouse=True)
def _logs(process_logs: None) -> None:
    """Process logs under any failed test of this module."""


def _count(session: Session, model: type, *where: ColumnElement[bool]) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _post(url: str, form: dict[str, str]) -> httpx.Response:
    return httpx.post(url + CALLBACK, data=form, timeout=30)


def _drained(stack: Stack, redis: RedisServer) -> None:
    client = redis.client()
    wait_for(
        lambda: queues_idle(client, ("payments", "invoices", "email")),
        "the workers to drain every queue",
        60,
    )
    client.close()


def test_a_hundred_copies_across_workers_complete_invoice_and_mail_once(
    stack: Stack, session: Session, smtp: tuple[Inbox, int], private_redis: RedisServer
) -> None:
    customer = stack.customer()
    order = paid_order(stack, customer, "pro")
    customer.gateway_action(order["order_number"], "pay")
    form = stack.acknowledged(order["order_number"])  # stored and queued: no worker runs yet

    # 100 copies at once, over fresh connections spread across the payment service's workers;
    # half in ECPay's re-send wording (signed anew), which is the same event.
    resent = _resign({**form, "RtnMsg": "paid"})
    copies = [form if n % 2 else resent for n in range(100)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda f: _post(stack.payment, f).text, copies))
    assert answers == ["1|OK"] * 100
    number = order["order_number"]
    assert (
        _count(session, PaymentNotification, PaymentNotification.merchant_trade_no == number) == 1
    )

    stack.ensure_workers(3)
    customer.wait_order(order["id"], "completed", 60)
    inbox, _port = smtp
    wait_for(
        lambda: [m for m in inbox.to(customer.email) if order["order_number"] in str(m["Subject"])],
        "the confirmation e-mail",
    )
    _drained(stack, private_redis)

    order_id = uuid.UUID(order["id"])
    assert _count(session, Order, Order.id == order_id, Order.status == "completed") == 1
    assert _count(session, Invoice, Invoice.order_id == order_id) == 1
    confirmations = [
        m for m in inbox.to(customer.email) if order["order_number"] in str(m["Subject"])
    ]
    assert len(confirmations) == 1
    assert _count(session, EmailDelivery, EmailDelivery.event_key.like(f"%:{order_id}")) == 1
    sub = customer.get(f"/api/subscriptions/{order['subscription_id']}/")
    assert sub["status"] == "active"
    [invoice] = customer.get("/api/invoices/")["results"]
    assert (invoice["total_amount"], invoice["tax_amount"]) == ("990", "47")
    assert_books_balance(stack.settings)


def _resign(fields: dict[str, str], keys: EcpayCredentials = STAGE) -> dict[str, str]:
    unsigned = {k: v for k, v in fields.items() if k != "CheckMacValue"}
    return sign(unsigned, keys.hash_key, keys.hash_iv)


def _hostile_forms(genuine: dict[str, str], other_number: str) -> dict[str, dict[str, str]]:
    return {
        "forged CheckMacValue": {**genuine, "CheckMacValue": "F" * 64},
        "amount changed after signing": {**genuine, "TradeAmt": "1"},
        "replayed for another order": {**genuine, "MerchantTradeNo": other_number},
        "another MerchantID": _resign({**genuine, "MerchantID": "2000132"}),
        "wrong amount, correctly signed": _resign(
            {**genuine, "MerchantTradeNo": other_number, "TradeAmt": "1"}
        ),
    }


def test_hostile_notifications_change_nothing_and_each_is_recorded(
    stack: Stack, session: Session
) -> None:
    stack.ensure_workers(1)
    payer, victim = stack.customer(), stack.customer()
    paid = paid_order(stack, payer, "pro")
    payer.gateway_action(paid["order_number"], "pay")
    genuine = stack.acknowledged(paid["order_number"])
    payer.wait_order(paid["id"], "completed", 60)
    other = paid_order(stack, victim, "pro")  # same plan, same amount, still unpaid

    expected = {
        "forged CheckMacValue": ("0|CheckMacValue Error", "bad_signature"),
        "amount changed after signing": ("0|CheckMacValue Error", "bad_signature"),
        "replayed for another order": ("0|CheckMacValue Error", "bad_signature"),
        "another MerchantID": ("0|MerchantID Error", "wrong_merchant"),
        # Signed by our key: ECPay took money, so it is acknowledged and parked for review.
        "wrong amount, correctly signed": ("1|OK", "amount_mismatch"),
    }
    for name, form in _hostile_forms(genuine, other["order_number"]).items():
        response = _post(stack.payment, form)
        status = 200 if expected[name][0] == "1|OK" else 400
        assert (response.status_code, response.text) == (status, expected[name][0]), name

    session.expire_all()
    numbers = (paid["order_number"], other["order_number"])
    verdicts = sorted(
        session.scalars(
            select(PaymentNotification.verdict).where(
                PaymentNotification.merchant_trade_no.in_(numbers),
                PaymentNotification.verdict != "accepted",
            )
        )
    )
    assert verdicts == sorted(v for _answer, v in expected.values())
    counted = _notification_counts(stack)
    assert counted.get("bad_signature", 0) >= 3
    assert counted.get("wrong_merchant", 0) >= 1 and counted.get("amount_mismatch", 0) >= 1
    assert victim.get(f"/api/orders/{other['id']}/")["status"] == "pending"
    assert _count(session, Invoice, Invoice.order_id.in_([paid["id"], other["id"]])) == 1
    assert victim.get("/api/invoices/")["total"] == 0
    assert payer.get("/api/invoices/")["total"] == 1
    [parked] = session.scalars(select(PaymentReview).where(PaymentReview.status == "open")).all()
    assert (parked.reason, parked.amount, parked.merchant_trade_no) == (
        "amount_mismatch", 1, other["order_number"])
    # The books fail while that money is undecided, and balance once staff decide.
    assert audit_books(stack.settings)["exit_code"] == 1
    staff = make_user(session, is_staff=True)
    review_queue.resolve(session, SystemClock(), SYSTEM, staff, parked.id,
                         decision="refund_needed", note="not our amount; refund at ECPay")
    session.commit()
    assert_books_balance(stack.settings)


def _notification_counts(stack: Stack) -> dict[str, float]:
    """fluxus_payment_notifications_total by outcome, from the payment service's /metrics."""
    text = httpx.get(stack.metrics["payment"], timeout=10).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "fluxus_payment_notifications_total":
                outcome = sample.labels["outcome"]
                counts[outcome] = counts.get(outcome, 0) + sample.value
    return counts


def test_simulate_paid_in_production_is_acknowledged_recorded_and_never_fulfilled(
    stack: Stack, session: Session
) -> None:
    keys = EcpayCredentials("3099999", "pRoDuCtIoNkEy123", "pRoDuCtIoNiV4567")
    production = stack.start_payment(
        workers=1,
        name="payment-production",
        FLUXUS_ENV="production",
        FLUXUS_JWT_SECRET="x" * 40,
        FLUXUS_DATA_ENCRYPTION_KEY=_fernet_key(),
        FLUXUS_ECPAY_MERCHANT_ID=keys.merchant_id,
        FLUXUS_ECPAY_HASH_KEY=keys.hash_key,
        FLUXUS_ECPAY_HASH_IV=keys.hash_iv,
        FLUXUS_ECPAY_CREDIT_CHECK_CODE="20261207",
        FLUXUS_REDIS_PRIVATE_NETWORK="true",  # the test's own Redis on loopback
        FLUXUS_AUTH_THROTTLE="true",  # production keeps the brute-force limits on
        FLUXUS_EINVOICE_MERCHANT_ID="2999999",  # the merchant's own e-invoice account
        FLUXUS_EINVOICE_HASH_KEY="iNvOiCeKeY123456",
        FLUXUS_EINVOICE_HASH_IV="iNvOiCeIv1234567",
    )
    stack.ensure_workers(1)
    customer = stack.customer()
    order = paid_order(stack, customer, "pro")
    # What the stage gateway sends for a "simulated payment": signed, SimulatePaid=1.
    form = {**_signed_fields(order["order_number"], keys.merchant_id), "SimulatePaid": "1"}
    response = _post(production, _resign(form, keys))

    assert (response.status_code, response.text) == (200, "1|OK")
    session.expire_all()
    [note] = session.scalars(
        select(PaymentNotification).where(
            PaymentNotification.merchant_trade_no == order["order_number"]
        )
    ).all()
    assert (note.verdict, note.order_id) == ("simulated", uuid.UUID(order["id"]))
    assert customer.get(f"/api/orders/{order['id']}/")["status"] == "pending"
    assert _count(session, Invoice, Invoice.order_id == order["id"]) == 0
    assert_books_balance(stack.settings)


def _signed_fields(order_number: str, merchant_id: str) -> dict[str, str]:
    return {
        "MerchantID": merchant_id,
        "MerchantTradeNo": order_number,
        "StoreID": "",
        "RtnCode": "1",
        "RtnMsg": "交易成功",
        "TradeNo": "2611261200009999",
        "TradeAmt": "990",
        "PaymentDate": "2026/11/26 12:00:00",
        "PaymentType": "Credit_CreditCard",
        "PaymentTypeChargeFee": "27",
        "TradeDate": "2026/11/26 11:59:00",
        "SimulatePaid": "0",
        "CustomField1": "",
        "CustomField2": "",
        "CustomField3": "",
        "CustomField4": "",
    }


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def test_with_redis_stopped_callbacks_are_stored_answered_and_processed_after_it_returns(
    stack: Stack, session: Session, smtp: tuple[Inbox, int], private_redis: RedisServer
) -> None:
    customer = stack.customer()
    orders = [paid_order(stack, customer, "pro")]
    stack.ensure_workers(2)
    private_redis.stop()
    try:
        customer.gateway_action(orders[0]["order_number"], "pay")
        # The simulator's own delivery must be answered 1|OK although the queue is gone.
        form = stack.acknowledged(orders[0]["order_number"])
        assert _post(stack.payment, form).text == "1|OK"
        session.expire_all()
        [note] = session.scalars(
            select(PaymentNotification).where(
                PaymentNotification.merchant_trade_no == orders[0]["order_number"]
            )
        ).all()
        assert (note.verdict, note.processed_at) == ("accepted", None)
    finally:
        private_redis.start()  # back, and empty: whatever was queued before is lost
    # The same workers go on: none may have exited while Redis was away (no restart here).
    assert all(worker.alive() for worker in stack.workers), stack.procs.report()

    # The sweeper's periodic run, a couple of minutes later: it re-enqueues what was missed.
    later = _Later(SystemClock(), timedelta(minutes=2))
    with session_scope(get_engine(stack.settings)) as db:
        jobs = RQJobs(redis_connection(stack.settings))
        assert note.id in sweep_unprocessed(db, later, jobs)
    jobs.flush()
    customer.wait_order(orders[0]["id"], "completed", 90)
    inbox, _port = smtp
    wait_for(
        lambda: [
            m for m in inbox.to(customer.email) if orders[0]["order_number"] in str(m["Subject"])
        ],
        "the e-mail",
        90,
    )
    _drained(stack, private_redis)
    assert _count(session, Invoice, Invoice.order_id == orders[0]["id"]) == 1
    assert_books_balance(stack.settings)


class _Later:
    """The system clock moved on by `delta` (the sweeper only takes rows a minute old)."""

    def __init__(self, clock: SystemClock, delta: timedelta) -> None:
        self.clock, self.delta = clock, delta

    def now(self) -> datetime:
        return self.clock.now() + self.delta
