"""PostgreSQL going away under load (through a cuttable proxy, never the shared server) and
renewals racing across processes; the books are audited after each."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Order, Plan, Subscription, User
from services.core.ports import RecordingJobs
from services.core.usecases.payment_processing import complete_payment
from services.core.usecases.renewals import DueRenewal, batch_job_id
from services.worker.queues import enqueue_now, redis_connection
from tests.e2e.customer import Customer
from tests.integration.operator.pgproxy import TcpProxy
from tests.reliability.harness import (
    FLUXUS,
    Inbox,
    Procs,
    RedisServer,
    assert_books_balance,
    fluxus_env,
    queues_idle,
    wait_for,
)
from tests.reliability.stack import Stack
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def database_url(module_database: str) -> str:
    return module_database


@pytest.fixture(autouse=True)
def _logs(process_logs: None) -> None:
    """Process logs under any failed test of this module."""


@pytest.fixture
def proxy(module_database: str) -> Iterator[TcpProxy]:
    url = make_url(module_database)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    yield proxy
    proxy.stop()


@dataclass
class Hit:
    at: float
    path: str
    status: int
    body: dict[str, object]


def _load(api: str, token: str, stop: threading.Event, hits: list[Hit]) -> None:
    paths = ("/api/plans/", "/api/subscriptions/")
    with httpx.Client(base_url=api, timeout=30) as http:
        n = 0
        while not stop.is_set():
            path, n = paths[n % 2], n + 1
            started = time.monotonic()
            response = http.get(path, headers={"Authorization": f"Bearer {token}"})
            hits.append(Hit(started, path, response.status_code, response.json()))


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def test_postgresql_going_away_under_load_is_503_then_recovers_without_a_restart(
    msettings: Settings, procs: Procs, proxy: TcpProxy, session: Session
) -> None:
    make_plan(session, slug="basic", price=Decimal(490), sort_order=1)
    session.commit()
    proxied = make_url(msettings.database_url).set(host="127.0.0.1", port=proxy.port)
    stack = Stack(replace(msettings, database_url=proxied.render_as_string(False)), procs)
    api = stack.start_api(workers=2, name="api-behind-proxy")
    customer = Customer(api, "", "").register_and_log_in()
    customer.subscribe(customer.plan("basic")["id"])
    [master] = [p for p in procs.started if p.name == "api-behind-proxy"]
    workers_before = _children(master.popen.pid)

    hits: list[Hit] = []
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(6):
            pool.submit(_load, api, customer.access, stop, hits)
        wait_for(lambda: len(hits) > 20, "load before the outage")
        cut_at = time.monotonic()
        proxy.stop()  # what a PostgreSQL restart looks like: connections reset, then refused
        wait_for(
            lambda: sum(h.status == 503 for h in hits if h.at > cut_at) > 20,
            "503s while the database is away",
        )
        proxy.start()
        back_at = time.monotonic()
        wait_for(
            lambda: [h for h in hits if h.at > back_at + 0.5 and h.status == 200],
            "the API to serve again",
            20,
        )
        stop.set()

    during = [h for h in hits if cut_at < h.at < back_at]
    assert {h.status for h in hits} <= {200, 503}, {h.status for h in hits}
    for hit in (h for h in during if h.status == 503):
        envelope = {"code", "status", "message", "errors", "error_codes"}
        assert set(hit.body) == envelope, hit.body
        assert (hit.body["code"], hit.body["status"]) == ("service_unavailable", 503)
    assert customer.get("/api/plans/")["total"] >= 1  # both a public and a user's read work
    assert customer.get("/api/subscriptions/")["total"] == 1
    assert master.alive() and _children(master.popen.pid) == workers_before  # no restarts
    assert_books_balance(msettings)


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _paid_subscriptions(
    session: Session, plan: Plan, count: int, paid_at: datetime
) -> list[Subscription]:
    """Subscriptions paid through the real use case (so the books balance), by ATM."""
    subs = []
    for _ in range(count):
        sub = make_subscription(session, make_user(session), plan)
        order = make_order(session, sub, amount=plan.price, payment_method="atm")
        complete_payment(
            session,
            FixedClock(paid_at),
            RecordingJobs(),
            order_id=order.id,
            trade_no="",
            paid_at=paid_at,
            amount=plan.price,
            payment_type="ATM_TAISHIN",
            raw={},
            source="callback",
        )
        subs.append(sub)
    session.commit()
    return subs


def test_renewers_and_duplicate_jobs_across_processes_make_one_order_and_mail_per_period(
    msettings: Settings,
    procs: Procs,
    session: Session,
    smtp: tuple[Inbox, int],
    private_redis: RedisServer,
) -> None:
    paid_at = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    plan = make_plan(session, slug=f"race-{uuid.uuid4().hex[:6]}", price=Decimal(1490))
    subs = _paid_subscriptions(session, plan, 24, paid_at)
    period_start = subs[0].end_date
    assert period_start == datetime(2027, 2, 28, 2, 0, tzinfo=UTC)  # anchor day kept
    stack = Stack(msettings, procs)
    stack.start_workers(2, queues="renewals,email")

    # The same subscription's renewal twice at once, under job ids RQ cannot dedupe.
    connection = redis_connection(msettings)
    for n in range(2):
        enqueue_now(
            connection,
            "renew_subscriptions",
            [DueRenewal(subs[0].id, period_start).as_job_arg()],
            job_id=f"{batch_job_id([DueRenewal(subs[0].id, period_start)])}-copy{n}",
        )
    now = (period_start - timedelta(days=1)).isoformat()
    renewers = [
        subprocess.Popen(
            [FLUXUS, "renew", "--plan", plan.slug, "--now", now, "--batch-size", "5"],
            env=fluxus_env(msettings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=90) for r in renewers]
    assert [r.returncode for r in renewers] == [0, 0], outputs
    assert all(re.search(r": \d+ renewals enqueued", out) for out, _err in outputs), outputs
    # How many each renewer enqueues depends on timing (a renewer may hand out a subscription
    # the other already did, and the duplicate jobs may renew subs[0] before either looks), so
    # no count is asserted: the job id and the unique (subscription, period_start) are what
    # keep it to one order and one e-mail per period, checked below.

    client = private_redis.client()
    wait_for(lambda: queues_idle(client, ("renewals", "email")), "renewals and e-mails", 60)
    session.expire_all()
    per_sub = dict(
        session.execute(
            select(Order.subscription_id, func.count())
            .where(Order.is_renewal.is_(True), Order.plan_id == plan.id)
            .group_by(Order.subscription_id)
        ).all()
    )
    assert per_sub == {sub.id: 1 for sub in subs}
    inbox, _port = smtp
    for sub in subs:
        address = session.get_one(User, sub.user_id).email
        links = [m for m in inbox.to(address) if "/orders/" in _text(m)]
        assert len(links) == 1, address
    assert_books_balance(msettings)
