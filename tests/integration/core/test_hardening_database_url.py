"""A plain `postgresql://` or `postgres://` URL (what managed databases and operators hand
out) migrates and serves; outside development, database errors never carry bound values."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from services.core.config import Settings
from services.core.db.session import make_engine
from tests.support import databases
from tests.support.ports import is_free
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]


def _port() -> int:
    return next(port for port in range(18200, 18300) if is_free(port))


@pytest.fixture(params=["postgresql", "postgres"])
def plain_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database, named by a URL without a driver."""
    name = databases.unique_name("fluxus_plain")
    url = make_url(databases.create_database(name))
    try:
        yield f"{request.param}://{url.username}@{url.host}:{url.port or 5432}/{name}"
    finally:
        databases.drop_database(name)


def test_a_plain_postgresql_url_migrates_and_serves(plain_url: str, redis_url: str) -> None:
    env = {**os.environ, "FLUXUS_ENV": "development", "FLUXUS_DATABASE_URL": plain_url,
           "FLUXUS_REDIS_URL": redis_url, "FLUXUS_LOG_LEVEL": "WARNING",
           "FLUXUS_METRICS_PORT": str(_port())}
    migrated = subprocess.run([sys.executable, "-m", "services", "db", "upgrade"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "at head" in migrated.stdout

    port = _port()
    api = subprocess.Popen([sys.executable, "-m", "services", "api", "--bind",
                            f"127.0.0.1:{port}", "--workers", "1"], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready = wait_for(lambda: api.poll() is not None or httpx.get(
            f"http://127.0.0.1:{port}/api/health/ready").status_code == 200,
            "the API to be ready", timeout=60)
        assert ready and api.poll() is None, api.stdout.read() if api.stdout else ""
        plans = httpx.get(f"http://127.0.0.1:{port}/api/plans/")
        assert plans.status_code == 200, plans.text
    finally:
        api.terminate()
        api.wait(timeout=30)


@pytest.mark.parametrize(("env", "shown"), [("production", False), ("development", True)])
def test_database_errors_show_bound_values_only_in_development(
    database_url: str, env: str, shown: bool
) -> None:
    engine = make_engine(database_url, Settings(env=env, database_url=database_url))
    try:
        with pytest.raises(DBAPIError) as failure, engine.connect() as conn:
            # A run-time error: PostgreSQL's own message quotes no statement, so only
            # SQLAlchemy's parameter dump could show the value.
            conn.execute(text("SELECT 1 / (length(:value) - length(:value))"),
                         {"value": "4311-9522-card"})
    finally:
        engine.dispose()
    assert ("4311-9522-card" in str(failure.value)) is shown
