"""`fluxus api` under gunicorn, over real HTTP: start, serve, share limits, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from services.core.config import Settings
from tests.support.factories import make_plan
from tests.support.ports import free_port as _free_port

pytestmark = pytest.mark.integration

FLUXUS = Path(sys.executable).parent / "fluxus"


def _wait_ready(base: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fluxus api exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/api/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("fluxus api did not become ready in time")


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    port, metrics_port = _free_port(), _free_port()
    env = {**os.environ, "FLUXUS_DATABASE_URL": settings.database_url,
           "FLUXUS_REDIS_URL": settings.redis_url, "FLUXUS_LOG_LEVEL": "WARNING",
           "FLUXUS_METRICS_PORT": str(metrics_port)}
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        [str(FLUXUS), "api", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, time.monotonic() + 30)
        yield base, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()


def test_gunicorn_serves_the_api_and_workers_share_the_limits(
    server: tuple[str, str], session: Session
) -> None:
    base, metrics = server
    plan = make_plan(session)
    session.commit()
    detail = f"/api/plans/{plan.id}/"
    with httpx.Client(base_url=base, timeout=10) as http:
        registered = http.post("/api/auth/register/", json={
            "username": "gunicorn-user", "email": "g@example.tw", "password": "blue-Kettle-42"})
        assert registered.status_code == 202
        tokens = http.post("/api/auth/login/", json={"username": "g@example.tw",
                                                     "password": "blue-Kettle-42"}).json()
        me = http.get("/api/users/me/", headers={"Authorization": f"Bearer {tokens['access']}",
                                                 "X-Request-ID": "over-http-1"})
        assert me.status_code == 200 and me.json()["username"] == "gunicorn-user"
        assert me.headers["x-request-id"] == "over-http-1"
        assert http.get("/api/openapi.json").json()["info"]["title"] == "Fluxus API"

        # Fresh connections land on either worker; the count lives in Redis.
        for _ in range(58):  # register and login already spent two anonymous requests
            with httpx.Client(base_url=base, timeout=10) as fresh:
                response = fresh.get(detail)
                assert response.status_code == 200
        refused = http.get(detail)
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) > 0

    # The master serves the workers' merged metrics, labelled by URL rule, never raw paths.
    scraped = httpx.get(metrics, timeout=10).text
    assert 'fluxus_http_requests_total{endpoint="/api/plans/<uuid:plan_id>/",method="GET",' \
        'service="api",' \
        'status="429"} 1.0' in scraped
