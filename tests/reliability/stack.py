"""A running Fluxus on loopback: `fluxus ecpay-sim`, `fluxus api`, `fluxus payment` (gunicorn)
and `fluxus worker` processes on the test's database, a private redis-server and an SMTP inbox."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.core.config import Settings
from tests.e2e.customer import Customer
from tests.reliability.harness import Proc, Procs, fluxus_env, free_port, wait_for, wait_ready

PAYMENT_QUEUES = "payments,invoices,email"


@dataclass
class Stack:
    settings: Settings
    procs: Procs
    sim: str = ""
    api: str = ""
    payment: str = ""
    workers: list[Proc] = field(default_factory=list)
    pending: list[tuple[Proc, str]] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)  # service name -> its /metrics URL

    def env(self, **extra: str) -> dict[str, str]:
        return fluxus_env(self.settings, **extra)

    def start_sim(self) -> None:
        port = free_port()
        self.sim = f"http://127.0.0.1:{port}"
        args = ["ecpay-sim", "--bind", f"127.0.0.1:{port}", "--retry-interval", "0.5"]
        self.procs.http("ecpay-sim", args, self.env(), f"{self.sim}/_sim/health")
        self.settings = dataclasses.replace(self.settings, ecpay_gateway_url=self.sim)

    def start_payment(
        self, workers: int = 3, name: str = "payment", wait: bool = True, **env: str
    ) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        if name == "payment":
            self.payment = url
            self.settings = dataclasses.replace(self.settings, public_payment_url=url)
        args = ["payment", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        self._serve(name, args, env, f"{url}/payment/health/ready", wait)
        return url

    def start_api(self, workers: int = 2, name: str = "api", wait: bool = True, **env: str) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.api = self.api or url
        args = ["api", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        self._serve(name, args, env, f"{url}/api/health/ready", wait)
        return url

    def _serve(
        self, name: str, args: list[str], env: dict[str, str], health: str, wait: bool
    ) -> None:
        port = free_port()
        self.metrics[name] = f"http://127.0.0.1:{port}/metrics"
        proc = self.procs.start(name, args, self.env(FLUXUS_METRICS_PORT=str(port), **env))
        self.pending.append((proc, health))
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for every service started with wait=False (they boot in parallel)."""
        while self.pending:
            proc, health = self.pending.pop()
            wait_ready(proc, health)

    def start_workers(self, count: int, queues: str = PAYMENT_QUEUES) -> list[Proc]:
        started = [
            self.procs.start(
                f"worker-{len(self.workers) + n}", ["worker", "--queues", queues], self.env()
            )
            for n in range(count)
        ]
        self.workers.extend(started)
        return started

    def ensure_workers(self, count: int, queues: str = PAYMENT_QUEUES) -> None:
        """At least `count` workers running (the module's tests share them)."""
        alive = [w for w in self.workers if w.alive()]
        if len(alive) < count:
            self.start_workers(count - len(alive), queues)

    def customer(self) -> Customer:
        return Customer(self.api, self.payment, self.sim).register_and_log_in()

    def deliveries(self, order_number: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.sim}/_sim/notifications", params={"merchant_trade_no": order_number}, timeout=10
        )
        rows: list[dict[str, Any]] = response.json()["notifications"]
        return rows

    def acknowledged(self, order_number: str) -> dict[str, str]:
        """The fields of the simulator's notification once the payment service said 1|OK."""
        rows = wait_for(
            lambda: [d for d in self.deliveries(order_number) if d["state"] == "acknowledged"],
            f"the notification of {order_number} to be acknowledged",
            30,
        )
        fields: dict[str, str] = rows[0]["fields"]
        return fields


def paid_order(stack: Stack, customer: Customer, plan_slug: str) -> dict[str, Any]:
    """Subscribe, order by card and check out at the simulator (not paid yet)."""
    sub = customer.subscribe(customer.plan(plan_slug)["id"])
    order = customer.order(sub["id"], "credit_card")
    customer.check_out(order["id"])
    return order
