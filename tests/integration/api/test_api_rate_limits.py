"""Rate limits counted in Redis and shared by every app instance (workers, replicas)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.config import Settings
from tests.integration.api.api_helpers import assert_envelope, create_account, log_in
from tests.support.factories import make_plan

pytestmark = pytest.mark.integration


def test_the_61st_request_in_a_minute_is_429_across_two_instances(
    settings: Settings, session: Session
) -> None:
    assert settings.rate_limits == "60 per minute;1000 per hour"
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    detail = f"/api/plans/{make_plan(session).id}/"
    session.commit()

    for n in range(60):
        response = (first if n % 2 else second).get(detail)
        assert response.status_code == 200, n
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-RateLimit-Remaining"] == "0"

    refused = first.get(detail)
    body = assert_envelope(refused, 429, "rate_limited")
    assert "60 per 1 minute" in body["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert_envelope(second.get(detail), 429)

    # Health and the OpenAPI document stay reachable for probes and tooling.
    assert second.get("/api/health/live").status_code == 200
    assert second.get("/api/openapi.json").status_code == 200

    # Any anonymous call from that address counts against the same budget, log-in included.
    account = create_account(session)
    user_client: FlaskClient = create_app(settings).test_client()
    assert_envelope(user_client.post("/api/auth/login/", json={
        "username": account.user.username, "password": account.password}), 429)


def test_users_are_limited_by_identity_not_address(settings: Settings,
                                                   session: Session) -> None:
    client = create_app(settings).test_client()
    account = log_in(client, create_account(session))
    detail = f"/api/plans/{make_plan(session).id}/"
    session.commit()
    for _ in range(59):  # the log-in used one anonymous request; these count for the user
        assert client.get("/api/users/me/", headers=account.headers).status_code == 200
    assert client.get(detail).status_code == 200  # the IP still has budget
    assert client.get("/api/users/me/", headers=account.headers).status_code == 200
    assert_envelope(client.get("/api/users/me/", headers=account.headers), 429, "rate_limited")


def test_the_plan_list_is_limited_in_each_process_apart_from_the_shared_budget(
    settings: Settings, session: Session
) -> None:
    """The list is served from process memory, so its limit is counted there too: the same
    60 a minute per caller and process, no Redis round trip, the shared budget untouched."""
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    detail = f"/api/plans/{make_plan(session).id}/"
    session.commit()
    for n in range(60):
        response = first.get("/api/plans/")
        assert response.status_code == 200, n
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert_envelope(first.get("/api/plans/"), 429, "rate_limited")
    assert second.get("/api/plans/").headers["X-RateLimit-Remaining"] == "59"
    shared = first.get(detail)
    assert shared.status_code == 200 and shared.headers["X-RateLimit-Remaining"] == "59"
