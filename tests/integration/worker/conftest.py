"""Worker fixtures: a private Redis, a loopback SMTP server, in-process and real RQ workers."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.session import dispose_engines
from services.worker import context, registry
from services.worker.queues import queue, redis_connection
from services.worker.registry import ALL_QUEUES
from tests.support.ports import free_port  # noqa: F401 - used by the worker tests
from tests.support.smtp import Inbox, smtp_server
from tests.support.workers import BurstWorker

REPO = Path(__file__).resolve().parents[3]
FLUXUS = str(REPO / ".venv" / "bin" / "fluxus")


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    content: str = part.get_content()
    return content





@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2027, 1, 15, 2, 0, tzinfo=UTC))


@pytest.fixture
def wsettings(settings: Settings, smtp: tuple[Inbox, int], clock: FixedClock) -> Iterator[Settings]:
    """Settings for jobs run in this process, with our clock pinned into the job runtime."""
    pinned = dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        dashboard_url="https://app.example.tw",
        seller_name="流光科技 Fluxus Ltd.",
        seller_tax_id="12345678",
    )
    context.use(pinned, clock)
    try:
        yield pinned
    finally:
        context.use(None, None)
        dispose_engines()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff of one second (retry intervals are stored on the job when it is enqueued)."""
    jobs = {
        name: dataclasses.replace(spec, retry_intervals=(1,) * len(spec.retry_intervals))
        for name, spec in registry.JOBS.items()
    }
    monkeypatch.setattr(registry, "JOBS", jobs)


def run_burst(settings: Settings, queues: tuple[str, ...] = ALL_QUEUES) -> None:
    """A real RQ worker in this process (SimpleWorker), until the queues are empty."""
    connection = redis_connection(settings)
    worker = BurstWorker([queue(name, connection) for name in queues], connection=connection)
    worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


def drain_until(settings: Settings, done: Callable[[], Any], timeout: float = 20) -> Any:
    """Run burst workers until `done()` holds (scheduled retries become due meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_burst(settings)
        value = done()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("the queues never produced the expected outcome")


def fluxus_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXUS_")}
    env.update(
        FLUXUS_ENV=settings.env,  # unset would mean production
        FLUXUS_DATABASE_URL=settings.database_url,
        FLUXUS_REDIS_URL=settings.redis_url,
        FLUXUS_SMTP_HOST=settings.smtp_host,
        FLUXUS_SMTP_PORT=str(settings.smtp_port),
        FLUXUS_INVOICE_DIR=settings.invoice_dir,
        FLUXUS_DASHBOARD_URL=settings.dashboard_url,
        FLUXUS_ECPAY_GATEWAY_URL=settings.ecpay_gateway_url,
        FLUXUS_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def fluxus(settings: Settings, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLUXUS, *args],
        env=fluxus_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def fluxus_popen(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FLUXUS, *args],
        env=fluxus_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []
