"""Reliability fixtures: a private redis-server per module, an SMTP inbox, process control."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from services.core.config import Settings
from services.core.db.session import dispose_engines
from tests.reliability.harness import Inbox, Procs, RedisServer, free_port


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Our own redis-server: other suites flush the shared one's databases under our queues."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(private_redis: RedisServer) -> Iterator[str]:
    """Overrides the shared fixture: our private server, empty (and running) for each test."""
    if not private_redis.pings():
        private_redis.start()  # a test that stopped it failed before starting it again
    client = private_redis.client()
    client.flushdb()
    yield private_redis.url
    if private_redis.pings():
        client.flushdb()
    client.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def rsettings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    """The test's database and private Redis, our SMTP inbox, limits high enough for load."""
    return dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        db_connect_timeout=2,
        rate_limits="100000 per minute;1000000 per hour",
        dashboard_url="https://app.example.tw",
    )


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    running = Procs(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
        dispose_engines()
        print(running.report())  # pytest shows it only when the test failed
