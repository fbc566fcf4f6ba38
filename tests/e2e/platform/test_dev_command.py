"""`fluxus dev` on an empty folder: SQLite, embedded Redis, mailbox — and a card payment works."""

from __future__ import annotations

import email
import email.policy
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.customer import Customer, wait_for
from tests.support.ports import is_free

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[3]


def _free_base() -> int:
    """A base port whose +0 … +3 and +100 … +105 are free (the ports `fluxus dev` uses).

    Drawn below Linux's ephemeral range (32768+), where client connections made meanwhile
    (to PostgreSQL, Redis …) can never take one of them before `fluxus dev` binds it.
    """
    for _ in range(200):
        base = random.randrange(20000, 32000 - 110, 10)
        if all(is_free(base + d) for d in (0, 1, 2, 3, *range(100, 106))):
            return base
    raise RuntimeError("no free block of ports")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class DevRun:
    def __init__(self, folder: Path, base: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXUS_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.base = base
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services", "dev", "--base-port", str(base), "--no-ui",
             "--plans", str(REPO / "k8s" / "samples")],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevRun]:
    folder = tmp_path_factory.mktemp("dev")
    run = DevRun(folder, _free_base())
    try:
        wait_for(lambda: "Fluxus is running" in run.output() or run.process.poll() is not None,
                 "fluxus dev to be ready", timeout=120)
        assert run.process.poll() is None, run.output()
        yield run
    finally:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGINT)
            run.process.wait(timeout=60)


def test_dev_prints_every_url_and_the_staff_login(dev: DevRun) -> None:
    out = dev.output()
    for label in ("API", "Payment", "ECPay simulator", "Database", "Redis", "Mailbox"):
        assert f"  {label}" in out, out
    assert "sqlite:///" in out
    assert "Staff login      staff / dev-" in out


def test_a_card_payment_completes_against_fluxus_dev(dev: DevRun) -> None:
    base = dev.base
    customer = Customer(f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 1}",
                        f"http://127.0.0.1:{base + 2}").register_and_log_in()
    plan = customer.plan("pro-monthly")
    subscription = customer.subscribe(plan["id"])
    order = customer.order(subscription["id"], "credit_card")
    customer.check_out(order["id"])
    customer.gateway_action(order["order_number"], "pay")

    paid = customer.wait_order(order["id"], "completed")
    assert Decimal(str(paid["amount"])) == Decimal(plan["price"])
    invoices = customer.get("/api/invoices/")["results"]
    assert len(invoices) == 1
    total = Decimal(str(invoices[0]["total_amount"]))
    assert Decimal(str(invoices[0]["tax_amount"])) == (total * 5 / 105).quantize(Decimal(1))
    assert customer.get(f"/api/subscriptions/{subscription['id']}/")["status"] in {"active",
                                                                                 "trial"}
    number = invoices[0]["invoice_number"]
    wait_for(lambda: any(number in text for text in _mails_to(dev, customer.email)),
             f"the confirmation e-mail naming invoice {number}")


def _mails_to(dev: DevRun, address: str) -> list[str]:
    """Decoded text of every message delivered to `address` in the dev mailbox."""
    line = next(x for x in dev.lines if x.strip().startswith("Mailbox"))
    folder = Path(line.split()[1])
    texts = []
    for path in folder.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address not in str(message["To"]):
            continue
        texts.extend(part.get_content() for part in message.walk()
                     if part.get_content_type() == "text/plain")
    return texts


def test_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    run = DevRun(tmp_path, _free_base())
    wait_for(lambda: "Fluxus is running" in run.output() or run.process.poll() is not None,
             "fluxus dev to be ready", timeout=120)
    assert run.process.poll() is None, run.output()[-5000:]
    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(timeout=60) == 0, run.output()[-5000:]
    wait_for(lambda: not any(_listening(run.base + d) for d in (0, 1, 2, 3)),
             "every process to stop listening", 20)


def test_dev_refuses_production(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXUS_")}
    result = subprocess.run([sys.executable, "-m", "services", "dev"], cwd=tmp_path,
                            env={**env, "FLUXUS_ENV": "production"}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "production" in (result.stdout + result.stderr)


def test_dev_names_a_port_that_is_taken_before_starting_anything(tmp_path: Path) -> None:
    base = _free_base()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXUS_")}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 1))
        squatter.listen()
        result = subprocess.run([sys.executable, "-m", "services", "dev", "--base-port",
                                 str(base)], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 2
    assert f"{base + 1}" in result.stderr and "already in use" in result.stderr
    assert not (tmp_path / ".fluxus-dev").exists()
