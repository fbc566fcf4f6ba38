"""The real processes of a payment flow for tests: `fluxus ecpay-sim`, `fluxus payment`
(gunicorn) and `rq worker`, as the `stack` fixture."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.core.config import Settings
from services.payment.app import create_app
from services.web.auth import FlaskTokenSigner
from tests.support.ports import free_port as closed_port
from tests.support.waiting import wait_for

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


def access_token(app: Any, user_id: uuid.UUID) -> str:
    """A real access token for `user_id`, signed with the app's JWT secret."""
    with app.app_context():
        user = type("U", (), {"id": user_id, "is_staff": False})()
        token: str = FlaskTokenSigner().access(
            user, jti=uuid.uuid4().hex, family_id=uuid.uuid4().hex  # type: ignore[arg-type]
        )
    return token


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

    def checkout(self, user_id: uuid.UUID, order_id: uuid.UUID) -> dict[str, str]:
        """What the customer's browser does: ask for the form, post every field to ECPay
        (which refuses a MerchantTradeNo it has seen with a page, as HTTP 200)."""
        token = access_token(create_app(self.settings), user_id)
        response = httpx.post(f"{self.payment}/payment/ecpay/create/",
                              json={"order_id": str(order_id)},
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        form = response.json()
        page = httpx.post(form["action"], data=form["fields"])
        assert page.status_code == 200 and "MerchantTradeNo is duplicate" not in page.text, (
            page.text)
        fields: dict[str, str] = form["fields"]
        return fields

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
        env = _env(settings, FLUXUS_ECPAY_GATEWAY_URL=simulator, FLUXUS_EINVOICE_URL=simulator,
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


