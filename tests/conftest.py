"""Shared fixtures: settings, a fresh PostgreSQL database per test, a clean Redis database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.session import make_engine, session_factory
from tests.support import databases
from tests.support.redis_server import RedisServer

# An unset FLUXUS_ENV means production. The suite is development, said explicitly here so
# that in-process settings and every process a test starts with this environment inherit it;
# tests of production set FLUXUS_ENV=production (or remove it) themselves.
os.environ.setdefault("FLUXUS_ENV", "development")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED_DIR / "ecpay").is_dir():
        raise RuntimeError(f"the shared reference folder is missing: {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database, created once per test run, that each test database copies."""
    with databases.migrated_template() as name:
        yield name


@pytest.fixture
def database_url(pg_template: str) -> Iterator[str]:
    """A freshly created PostgreSQL database at head, dropped after the test."""
    with databases.fresh_database(template=pg_template) as url:
        yield url


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this test run's own: nothing else on the machine can flush it."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(private_redis: str) -> Iterator[str]:
    """An empty Redis for this test, emptied again afterwards."""
    client = databases.redis_client(private_redis)
    client.flushdb()
    yield private_redis
    client.flushdb()
    client.close()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        redis_url=redis_url,
        invoice_dir=str(tmp_path / "invoices"),
        # Nothing listens on port 9 here: a test that issues e-invoices starts the simulator.
        einvoice_url="http://127.0.0.1:9",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url, settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session
