"""The whole payment flow across real processes: `fluxus ecpay-sim`, `fluxus payment`
(gunicorn) and `rq worker`, on real PostgreSQL and Redis."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import Invoice, Order, Subscription
from services.payment.app import create_app
from tests.integration.payment.conftest import (
    Served,
    World,
    closed_port,
    notifications,
    order_of,
    seed,
    totals,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

FLUXUS = str(Path(sys.executable).with_name("fluxus"))
RQ = str(Path(sys.executable).with_name("rq"))


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "PYTHONUNBUFFERED": "1", "FLUXUS_ENV": "development",
        "FLUXUS_DATABASE_URL": settings.database_url, "FLUXUS_REDIS_URL": settings.redis_url,
        "FLUXUS_INVOICE_DIR": settings.invoice_dir, "FLUXUS_LOG_LEVEL": "WARNING", **extra,
    }


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Stack:
    simulator: str
    payment: str
    settings: Settings
    env: dict[str, str]
    logs: Path
    process: subprocess.Popen[Any] | None = None

    def start_payment(self) -> None:
        """`fluxus payment` (gunicorn, two workers) on the stack's fixed port."""
        port = self.payment.rsplit(":", 1)[1]
        log = (self.logs / "payment.log").open("a")
        self.process = subprocess.Popen(
            [FLUXUS, "payment", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            stdout=log, stderr=log, env=self.env,
        )
        log.close()
        wait_for(lambda: _ready(self.payment), "the payment service to be ready", 30)

    def stop_payment(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def work(self) -> None:
        """Drain the payments queue with a real `rq worker` process."""
        done = subprocess.run(
            [RQ, "worker", "--burst", "--url", self.settings.redis_url, "payments"],
            env=self.env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]

    def deliveries(self, order_number: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.simulator}/_sim/notifications",
                             params={"merchant_trade_no": order_number})
        rows: list[dict[str, Any]] = response.json()["notifications"]
        return rows


@pytest.fixture
def stack(settings: Settings, tmp_path: Path) -> Iterator[Stack]:
    sim_log = (tmp_path / "sim.log").open("w")
    # Re-sends every half second, up to 40 deliveries (ECPay: 5 over about an hour).
    sim = subprocess.Popen(
        [FLUXUS, "ecpay-sim", "--bind", "127.0.0.1:0", "--retry-interval", "0.5",
         "--max-deliveries", "40"],
        stdout=subprocess.PIPE, stderr=sim_log, text=True, env=_env(settings),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in sim.stdout or []], daemon=True).start()
    payment_url = f"http://127.0.0.1:{closed_port()}"
    stack: Stack | None = None
    try:
        first = lines.get(timeout=30)
        assert "listening on http://" in first, first
        simulator = first.strip().rsplit(" ", 1)[-1]
        env = _env(settings, FLUXUS_ECPAY_GATEWAY_URL=simulator,
                   FLUXUS_PUBLIC_PAYMENT_URL=payment_url)
        stack = Stack(simulator, payment_url, settings, env, tmp_path)
        stack.start_payment()
        yield stack
    finally:
        if stack is not None:
            stack.stop_payment()
        _stop(sim)
        sim_log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/payment/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _checkout(stack: Stack, world: World) -> dict[str, str]:
    token = Served("", create_app(stack.settings)).token(world.user_id)
    response = httpx.post(f"{stack.payment}/payment/ecpay/create/",
                          json={"order_id": str(world.order_id)},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    form = response.json()
    # What the customer's browser does with it: post every field to ECPay.
    page = httpx.post(form["action"], data=form["fields"])
    assert page.status_code == 200, page.text
    fields: dict[str, str] = form["fields"]
    return fields


def test_pay_at_the_simulator_then_a_worker_completes_the_order_exactly_once(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine)
    fields = _checkout(stack, world)
    assert fields["PeriodType"] == "M"

    paid = httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/pay")
    assert paid.status_code == 200, paid.text
    wait_for(lambda: [d for d in stack.deliveries(world.order_number)
                      if d["state"] == "acknowledged"], "ECPay to get 1|OK", 20)
    [stored] = notifications(session)
    assert (stored.verdict, stored.processed_at) == ("accepted", None)

    stack.work()

    order = order_of(session, world)
    assert order.status == "completed"
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert (invoice.total_amount, invoice.tax_amount) == (Decimal(990), Decimal(47))
    sub = session.get_one(Subscription, world.subscription_id)
    assert (sub.status, sub.period_agreement_no) == ("active", world.order_number)
    assert sub.end_date is not None and order.paid_at is not None
    assert sub.end_date > order.paid_at

    # The same notification sent again changes nothing.
    [delivery] = stack.deliveries(world.order_number)
    resend = httpx.post(f"{stack.payment}/payment/ecpay/callback/", data=delivery["fields"])
    assert resend.text == "1|OK"
    stack.work()
    assert len(notifications(session)) == 1
    assert totals(session, world) == (1, 1, 1)


def test_a_notification_missed_while_the_service_was_down_arrives_by_ecpays_resend(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine)
    _checkout(stack, world)
    stack.stop_payment()

    httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/pay")
    wait_for(lambda: stack.deliveries(world.order_number)[0]["attempts"], "a failed try", 20)
    stack.start_payment()
    wait_for(lambda: stack.deliveries(world.order_number)[0]["state"] == "acknowledged",
             "the re-send to be acknowledged", 30)
    [delivery] = stack.deliveries(world.order_number)
    assert delivery["attempts"][0]["status"] is None  # refused while we were down

    [stored] = notifications(session)
    assert stored.raw["RtnMsg"] == "paid"  # ECPay's re-send wording
    # The original wording posted late is the same event: no second row.
    late = httpx.post(f"{stack.payment}/payment/ecpay/callback/", data=delivery["fields"])
    assert late.text == "1|OK"
    stack.work()
    assert len(notifications(session)) == 1
    assert totals(session, world) == (1, 1, 1)


def test_a_periodic_charge_at_the_simulator_renews_for_the_next_period(
    stack: Stack, engine: Engine, session: Session
) -> None:
    world = seed(engine)
    _checkout(stack, world)
    httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/pay")
    wait_for(lambda: len(notifications(session)) == 1, "the payment notification", 20)
    stack.work()

    charge = httpx.post(f"{stack.simulator}/_sim/orders/{world.order_number}/period")
    assert charge.status_code == 200, charge.text
    wait_for(lambda: len(notifications(session)) == 2, "the periodic notification", 20)
    stack.work()

    session.expire_all()
    renewal = session.scalars(select(Order).where(Order.is_renewal.is_(True))).one()
    first = order_of(session, world)
    assert renewal.status == "completed"
    assert renewal.period_start == first.period_end
    sub = session.get_one(Subscription, world.subscription_id)
    assert sub.end_date == renewal.period_end
    assert session.scalars(select(Invoice).where(Invoice.order_id == renewal.id)).one()
