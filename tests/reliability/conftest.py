"""Reliability fixtures: per module a private redis-server, a database, an SMTP inbox and the
processes started on them (starting processes is what costs time, so a module shares them)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.config import Settings
from services.core.db.session import dispose_engines
from tests.reliability.harness import Inbox, Procs, RedisServer
from tests.support import databases
from tests.support.smtp import smtp_server


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # Not tmp_path: pytest prunes old base temp folders when another run starts, which would
    # pull log and invoice files out from under the long-lived processes here.
    with tempfile.TemporaryDirectory(prefix="fluxus-reliability-") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def private_redis(workdir: Path) -> Iterator[RedisServer]:
    """Our own redis-server: other suites flush the shared one's databases under our queues."""
    (workdir / "redis").mkdir()
    server = RedisServer(workdir / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(private_redis: RedisServer) -> str:
    """Overrides the shared fixture with our private server. Not flushed between tests: the
    module's long-lived workers keep their registrations there."""
    if not private_redis.pings():
        private_redis.start()  # a test that stopped it failed before starting it again
    return private_redis.url


@pytest.fixture(scope="module")
def module_database(pg_template: str) -> Iterator[str]:
    with databases.fresh_database(template=pg_template) as url:
        yield url


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def msettings(
    module_database: str, private_redis: RedisServer, smtp: tuple[Inbox, int], workdir: Path
) -> Settings:
    """The module's database, private Redis and SMTP inbox; limits high enough for load."""
    return Settings(
        env="development",
        database_url=module_database,
        redis_url=private_redis.url,
        invoice_dir=str(workdir / "invoices"),
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        db_connect_timeout=2,
        rate_limits="100000 per minute;1000000 per hour",
        auth_throttle=False,
        dashboard_url="https://app.example.tw",
    )


@pytest.fixture(scope="module")
def procs(workdir: Path) -> Iterator[Procs]:
    running = Procs(workdir)
    try:
        yield running
    finally:
        running.stop_all()
        dispose_engines()


@pytest.fixture
def process_logs(procs: Procs) -> Iterator[None]:
    """Shows the tail of every process's log under a failed test."""
    yield
    print(procs.report())
