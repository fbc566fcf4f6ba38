"""End to end: a real Prometheus scrapes the payment service, a worker and the scheduler while
a payment flows through; the payment and billing metrics move, and logs follow the request."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.session import session_factory
from services.ecpay.checkmac import sign
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import format_trade_date
from tests.observability.conftest import (
    FLUXUS,
    Processes,
    fluxus_env,
    free_port,
    promtool_check_metrics,
    scrape,
    tool,
    try_scrape,
)
from tests.observability.promql import RULES
from tests.support.factories import make_order, make_plan, make_subscription, make_user
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

REQUEST_ID = "e2e-payment-7f3a9c"


def _seed(engine: Engine) -> dict[str, str]:
    with session_factory(engine)() as session:
        session: Session
        plan = make_plan(session, price=Decimal(990), billing_cycle="monthly")
        sub = make_subscription(session, make_user(session), plan)
        order = make_order(session, sub, amount=Decimal(990))
        session.commit()
        return {"plan": plan.slug, "order_number": order.order_number}


def _paid_notification(order_number: str) -> dict[str, str]:
    stage = EcpayCredentials.stage()
    paid = format_trade_date(datetime.now(UTC))
    fields = {
        "MerchantID": stage.merchant_id,
        "MerchantTradeNo": order_number,
        "StoreID": "",
        "RtnCode": "1",
        "RtnMsg": "交易成功",
        "TradeNo": "2703101200001234",
        "TradeAmt": "990",
        "PaymentDate": paid,
        "PaymentType": "Credit_CreditCard",
        "PaymentTypeChargeFee": "27",
        "TradeDate": paid,
        "SimulatePaid": "0",
        "CustomField1": "",
        "CustomField2": "",
        "CustomField3": "",
        "CustomField4": "",
    }
    return sign(fields, stage.hash_key, stage.hash_iv)


class Prometheus:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        try:
            result = self.query(promql)
        except httpx.HTTPError:
            return None
        return float(result[0]["value"][1]) if result else None

    def wait_value(self, promql: str, expected: float, timeout: float = 60) -> None:
        seen: list[float | None] = [None]

        def reached() -> bool:
            seen[0] = self.value(promql)
            return seen[0] == expected

        try:
            wait_for(reached, f"{promql} == {expected}", timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last value {seen[0]}") from None


def _prometheus(processes: Processes, tmp: Path, targets: dict[str, int]) -> Prometheus:
    port = free_port()
    (tmp / "fluxus.rules.yaml").write_text(RULES.read_text())
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["fluxus.rules.yaml"],
        "scrape_configs": [
            {"job_name": name, "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]}
            for name, target in targets.items()
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    processes.start(
        [
            tool("prometheus"),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        env={"PATH": "/usr/bin:/bin"},
        log=tmp / "prometheus.log",
    )
    return Prometheus(port)


def test_a_payment_moves_payment_billing_and_queue_metrics_in_prometheus(
    engine: Engine, settings: Settings, processes: Processes, tmp_path: Path, promtool: str
) -> None:
    world = _seed(engine)
    ports = {name: free_port() for name in ("payment", "worker", "scheduler")}
    http_port = free_port()

    def env(name: str) -> dict[str, str]:
        home = tmp_path / name
        home.mkdir()
        return fluxus_env(settings, home, FLUXUS_METRICS_PORT=str(ports[name]))

    processes.start(
        [FLUXUS, "payment", "--bind", f"127.0.0.1:{http_port}", "--workers", "2"],
        env("payment"),
        tmp_path / "payment.log",
    )
    worker = processes.start([FLUXUS, "worker"], env("worker"), tmp_path / "worker.log")
    processes.start(
        [FLUXUS, "scheduler", "--metrics-ttl", "1"], env("scheduler"), tmp_path / "scheduler.log"
    )
    for name, port in ports.items():
        wait_for(lambda p=port: try_scrape(p) is not None, f"{name} /metrics", 30)
    prom = _prometheus(processes, tmp_path, {f"fluxus-{n}": p for n, p in ports.items()})
    wait_for(lambda: prom.value("sum(up)") == 3, "Prometheus to scrape all three targets", 60)
    prom.wait_value(f'fluxus_billing_subscriptions{{plan="{world["plan"]}",status="active"}}', 0)
    prom.wait_value('fluxus_queue_workers{queue="payments"}', 1)

    response = httpx.post(
        f"http://127.0.0.1:{http_port}/payment/ecpay/callback/",
        data=_paid_notification(world["order_number"]),
        headers={"X-Request-ID": REQUEST_ID},
        timeout=30,
    )
    assert response.text == "1|OK"

    callback = 'service="payment",endpoint="/payment/ecpay/callback/",method="POST"'
    prom.wait_value(f'sum(fluxus_http_requests_total{{{callback},status="200"}})', 1)
    prom.wait_value(
        'sum(fluxus_payment_notifications_total{kind="return",outcome="accepted"})', 1
    )
    prom.wait_value('sum(fluxus_payment_notifications_processed_total{outcome="completed"})', 1)
    prom.wait_value('sum(fluxus_jobs_finished_total{job_name="drain_notifications"})', 1)
    prom.wait_value("sum(fluxus_payment_callback_to_active_seconds_count)", 1)
    prom.wait_value(f'fluxus_billing_subscriptions{{plan="{world["plan"]}",status="active"}}', 1)
    prom.wait_value(f'fluxus_billing_mrr_twd{{plan="{world["plan"]}"}}', 990)
    prom.wait_value('fluxus_billing_orders{status="completed"}', 1)
    prom.wait_value("fluxus_payment_notifications_unprocessed", 0)
    prom.wait_value('sum(fluxus_http_requests_in_flight{service="payment"})', 0)

    # Prometheus loaded the alert rules and evaluates them without error.
    groups = httpx.get(f"{prom.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 15 and all(rule["health"] == "ok" for rule in rules), rules

    for name, port in ports.items():
        checked = promtool_check_metrics(promtool, scrape(port))
        assert checked.returncode == 0, (name, checked.stdout + checked.stderr)

    # The job's log lines carry the webhook's request id (worker stdout is JSON).
    def processed_line() -> dict[str, Any] | None:
        for line in (tmp_path / "worker.log").read_text().splitlines():
            if line.startswith("{") and "payment notification processed" in line:
                entry: dict[str, Any] = json.loads(line)
                return entry
        return None

    entry = wait_for(processed_line, "the worker's log line for the payment", 20)
    assert entry["request_id"] == REQUEST_ID
    # Each job ran in its own forked work horse, yet they share one set of metric files.
    files = list((tmp_path / "worker").glob(f"fluxus-metrics-worker-{worker.pid}/*.db"))
    assert 0 < len(files) <= 6, files


def test_promtool_is_the_debian_one(promtool: str) -> None:
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True, check=True)
    assert "promtool" in version.stdout + version.stderr
