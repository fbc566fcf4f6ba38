"""A real `fluxus api` process started without FLUXUS_ENV runs as production: it refuses the
development JWT secret at start, and a token forged with that secret gets nowhere."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy.orm import Session

from services.core.config import DEV_JWT_SECRET
from tests.integration.api.api_helpers import create_account
from tests.support.ports import is_free
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]


def _port() -> int:
    return next(port for port in range(18200, 18300) if is_free(port))


def _production_env(database_url: str, redis_url: str, **changes: str) -> dict[str, str]:
    """This test's environment without any FLUXUS_* variable (FLUXUS_ENV included), plus a
    configuration that is complete for production."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXUS_")}
    env.update({
        "FLUXUS_DATABASE_URL": database_url,
        "FLUXUS_REDIS_URL": redis_url,
        "FLUXUS_REDIS_PRIVATE_NETWORK": "true",  # the test's own Redis on loopback
        "FLUXUS_JWT_SECRET": "p" * 48,
        "FLUXUS_DATA_ENCRYPTION_KEY": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5Yjg=",
        "FLUXUS_ECPAY_MERCHANT_ID": "3099999",
        "FLUXUS_ECPAY_HASH_KEY": "pRoDuCtIoNkEy123",
        "FLUXUS_ECPAY_HASH_IV": "pRoDuCtIoNiV4567",
        "FLUXUS_ECPAY_CREDIT_CHECK_CODE": "20261207",
        "FLUXUS_EINVOICE_ENABLED": "false",
        "FLUXUS_METRICS_PORT": str(_port()),
        "FLUXUS_LOG_LEVEL": "WARNING",
    })
    env.update(changes)
    return env


def test_without_fluxus_env_the_development_jwt_secret_is_refused(
    database_url: str, redis_url: str
) -> None:
    env = _production_env(database_url, redis_url, FLUXUS_JWT_SECRET=DEV_JWT_SECRET)
    result = subprocess.run(
        [sys.executable, "-m", "services", "api", "--bind", f"127.0.0.1:{_port()}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "FLUXUS_JWT_SECRET" in result.stderr + result.stdout


@pytest.fixture
def production_api(database_url: str, redis_url: str) -> Iterator[str]:
    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "services", "api", "--bind", f"127.0.0.1:{port}",
         "--workers", "1"],
        cwd=REPO_ROOT, env=_production_env(database_url, redis_url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None
                 or httpx.get(f"{base}/api/health/live").status_code == 200,
                 "the API to answer", timeout=60)
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_token_forged_with_the_development_secret_gets_401(
    production_api: str, session: Session
) -> None:
    account = create_account(session)
    now = datetime.now(UTC)
    forged = jwt.encode({"sub": account.id, "type": "access", "jti": uuid.uuid4().hex,
                         "fam": uuid.uuid4().hex, "staff": True, "fresh": False,
                         "iat": now, "nbf": now, "exp": now + timedelta(minutes=5)},
                        DEV_JWT_SECRET, algorithm="HS256")
    answer = httpx.get(f"{production_api}/api/users/me/",
                       headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_token"
