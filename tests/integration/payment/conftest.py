"""Payment tests: seeded rows, signed ECPay notifications, a served app, an in-process RQ worker."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from services.core.clock import Clock, FixedClock
from services.core.config import Settings
from services.core.db.models import EmailDelivery, Invoice, Order, PaymentNotification
from services.core.db.session import dispose_engines, session_factory
from services.core.usecases.payments import attempts
from services.ecpay.checkmac import sign
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import format_trade_date
from services.payment.app import create_app
from services.worker import context
from services.worker.runner import job_name
from tests.integration.payment.processes import access_token
from tests.support.factories import make_order, make_plan, make_subscription, make_user
from tests.support.ports import free_port as closed_port  # noqa: F401 - for the tests
from tests.support.workers import BurstWorker

T = TypeVar("T")
NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
STAGE = EcpayCredentials.stage()





@dataclass(frozen=True)
class World:
    user_id: uuid.UUID
    plan_id: uuid.UUID
    subscription_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    amount: Decimal


def seed(
    engine: Engine,
    *,
    price: int = 990,
    cycle: str = "monthly",
    method: str = "credit_card",
    auto_renew: bool = True,
    sub_fields: dict[str, Any] | None = None,
    order_fields: dict[str, Any] | None = None,
    user_fields: dict[str, Any] | None = None,
    periodic: dict[str, Any] | None = None,
    attempt: bool = True,
) -> World:
    """A customer with a plan, a subscription and one pending order, committed; the order
    has its first payment attempt (as a checkout makes it), `periodic` terms when given;
    without `attempt`, the order is as the API places it, before any checkout."""
    with session_factory(engine)() as session:
        user = make_user(session, **(user_fields or {}))
        plan = make_plan(session, price=Decimal(price), billing_cycle=cycle)
        sub = make_subscription(session, user, plan, auto_renew=auto_renew, **(sub_fields or {}))
        order = make_order(session, sub, amount=Decimal(price), payment_method=method,
                           **(order_fields or {}))
        if attempt:
            attempts.start(session, FixedClock(NOW), order, periodic=periodic)
        session.commit()
        return World(user.id, plan.id, sub.id, order.id, order.order_number, order.amount)


def return_fields(
    world: World,
    *,
    credentials: EcpayCredentials = STAGE,
    paid_at: datetime = NOW,
    amount: int | None = None,
    rtn_code: str = "1",
    rtn_msg: str = "交易成功",
    merchant_id: str | None = None,
    simulate_paid: str = "0",
    trade_no: str = "2611261200001234",
    **extra: str,
) -> dict[str, str]:
    """A ReturnURL notification as ECPay posts it, signed with `credentials`."""
    fields = {
        "MerchantID": merchant_id or credentials.merchant_id,
        "MerchantTradeNo": world.order_number,
        "StoreID": "",
        "RtnCode": rtn_code,
        "RtnMsg": rtn_msg,
        "TradeNo": trade_no,
        "TradeAmt": str(amount if amount is not None else int(world.amount)),
        "PaymentDate": format_trade_date(paid_at) if rtn_code == "1" else "",
        "PaymentType": "Credit_CreditCard",
        "PaymentTypeChargeFee": "27",
        "TradeDate": format_trade_date(paid_at),
        "SimulatePaid": simulate_paid,
        "CustomField1": "",
        "CustomField2": "",
        "CustomField3": "",
        "CustomField4": "",
        **extra,
    }
    return sign(fields, credentials.hash_key, credentials.hash_iv)


def signed(fields: dict[str, str], credentials: EcpayCredentials = STAGE) -> dict[str, str]:
    return sign(fields, credentials.hash_key, credentials.hash_iv)


@dataclass
class Served:
    url: str
    app: Any

    def token(self, user_id: uuid.UUID) -> str:
        """A real access token for `user_id`, signed with the app's JWT secret."""
        return access_token(self.app, user_id)

    def client(self, user_id: uuid.UUID | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user_id)}"} if user_id else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """serve(settings, clock=None): the payment app on a threaded loopback server."""
    servers: list[Any] = []

    def start(settings: Settings, clock: Clock | None = None) -> Served:
        app = create_app(settings, clock=clock)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Served(f"http://127.0.0.1:{server.server_port}", app)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    dispose_engines()


@pytest.fixture
def payment(serve: Callable[..., Served], settings: Settings) -> Served:
    return serve(settings)


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def worker(settings: Settings, redis: Redis) -> Iterator[Callable[..., None]]:
    """run(clock=None): an in-process RQ SimpleWorker drains the payments queue (burst)."""
    def run(clock: Clock | None = None, queues: tuple[str, ...] = ("payments",)) -> None:
        context.use(settings, clock)
        worker = BurstWorker([Queue(name, connection=redis) for name in queues],
                              connection=redis)
        worker.work(burst=True, with_scheduler=False)

    yield run
    context.use(None, None)
    dispose_engines()


def queued_ids(redis: Redis, queue: str) -> list[str]:
    return list(Queue(queue, connection=redis).job_ids)


def queued_jobs(redis: Redis, queue: str) -> list[str]:
    """The registry names of the jobs waiting in `queue`, in order."""
    return [job_name(job) for job in Queue(queue, connection=redis).jobs]


def count(session: Session, model: Any, *where: Any) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def order_of(session: Session, world: World) -> Order:
    session.expire_all()
    return session.get_one(Order, world.order_id)


def totals(session: Session, world: World) -> tuple[int, int, int]:
    """(completed orders, invoices, confirmation e-mails) of the world's order."""
    return (
        count(session, Order, Order.id == world.order_id, Order.status == "completed"),
        count(session, Invoice, Invoice.order_id == world.order_id),
        count(session, EmailDelivery,
              EmailDelivery.event_key == f"payment_confirmation:{world.order_id}"),
    )


def notifications(session: Session) -> list[PaymentNotification]:
    session.expire_all()
    return list(session.scalars(select(PaymentNotification).order_by(
        PaymentNotification.received_at)))


# The real-process stack as a fixture for every test here (imported last: it uses this module).
from tests.integration.payment.processes import stack  # noqa: E402, F401
