"""Worker fixtures: a private Redis, a loopback SMTP server, in-process and real RQ workers."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from rq import SimpleWorker

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.session import dispose_engines
from services.worker import context, registry
from services.worker.queues import queue, redis_connection
from services.worker.registry import ALL_QUEUES

REPO = Path(__file__).resolve().parents[3]
FLUXUS = str(REPO / ".venv" / "bin" / "fluxus")


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    content: str = part.get_content()
    return content


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server of our own: other suites flushing the shared one cannot touch our queues."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is required for the worker tests")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(up, 10, "the private redis-server")
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def redis_url(private_redis: str) -> Iterator[str]:
    client = redis.Redis.from_url(private_redis)
    client.flushdb()
    yield private_redis
    client.flushdb()
    client.close()


class Inbox:
    """An aiosmtpd handler that keeps accepted messages and can refuse or stall on demand."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_next = 0
        self.stall: threading.Event | None = None
        self.stalled = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        if self.stall is not None:
            release, self.stall = self.stall, None
            self.stalled.set()
            # Never acknowledged: like an MTA that lost the client mid-DATA, it keeps nothing.
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
            return "451 4.3.0 Aborted"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        if inbox.stall is not None:
            inbox.stall.set()
        controller.stop()


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
    worker = SimpleWorker([queue(name, connection) for name in queues], connection=connection)
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
