"""Work the API does once a request (or once a process) rather than again at each step: the
bearer token is verified once for both the rate limiter's key and the route, an endpoint's
limits are resolved once per process, and what a client sees stays the same."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import jwt_manager
from flask_limiter import Limiter

from tests.integration.api.api_helpers import Account, assert_envelope

pytestmark = pytest.mark.integration


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each signature-and-expiry check of a token, in order."""
    seen: list[str] = []
    verify = jwt_manager._decode_jwt

    def counted(**kwargs: object) -> dict[str, object]:
        seen.append(str(kwargs["encoded_token"]))
        return verify(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt_manager, "_decode_jwt", counted)
    return seen


def test_a_token_is_verified_once_for_the_limiter_and_the_route(
    client: FlaskClient, customer: Account, verifications: list[str]
) -> None:
    response = client.get("/api/subscriptions/", headers=customer.headers)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "59"  # counted for the user
    assert verifications == [customer.access]
    client.get("/api/subscriptions/", headers=customer.headers)
    assert verifications == [customer.access] * 2  # once each request, never carried over


def test_a_revoked_token_is_refused_on_every_request(
    client: FlaskClient, customer: Account
) -> None:
    assert client.get("/api/subscriptions/", headers=customer.headers).status_code == 200
    assert client.post("/api/auth/logout/", headers=customer.headers,
                       json={"refresh": customer.refresh}).status_code in (200, 204)
    for _ in range(2):
        assert_envelope(client.get("/api/subscriptions/", headers=customer.headers),
                        401, "token_revoked")


def test_a_bad_token_costs_the_caller_its_address_budget(
    client: FlaskClient, customer: Account
) -> None:
    """A forged token is refused and counted against the address, like no token at all."""
    forged = {"Authorization": f"Bearer {customer.access}x"}
    first = client.get("/api/subscriptions/", headers=forged)
    assert_envelope(first, 401, "invalid_token")
    second = client.get("/api/subscriptions/")
    assert int(second.headers["X-RateLimit-Remaining"]) == \
        int(first.headers["X-RateLimit-Remaining"]) - 1


def test_limits_are_resolved_once_per_endpoint(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The override hooks flask-limiter's private resolution step: it must still exist.
    assert hasattr(Limiter, "_Limiter__filter_limits")
    limiter: Limiter = app.extensions["fluxus_limiter"]
    resolved: list[str | None] = []
    resolve = limiter.limit_manager.resolve_limits

    def counted(flask_app: Flask, endpoint: str | None = None, *args: object,
                **kwargs: object) -> object:
        resolved.append(endpoint)
        return resolve(flask_app, endpoint, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", counted)
    remaining = [client.get("/api/plans/").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["59", "58", "57"]
    assert client.get("/api/health/live").status_code == 200  # exempt: no budget spent
    assert "X-RateLimit-Remaining" not in client.get("/api/health/live").headers
    assert resolved.count("plans.Plans") == 1


def test_the_plan_list_answers_with_its_caching_headers(client: FlaskClient) -> None:
    response = client.get("/api/plans/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert response.headers["ETag"].startswith('"') and response.headers["Date"]
    assert response.headers["X-Frame-Options"] == "DENY"
    again = client.get("/api/plans/", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["Date"]


def test_the_plan_list_defaults_and_checks_its_page_arguments(client: FlaskClient) -> None:
    """No query string is page 1 of 20, every time; a query is parsed and checked."""
    for _ in range(2):
        body = client.get("/api/plans/").get_json()
        assert (body["page"], body["page_size"]) == (1, 20)
    assert client.get("/api/plans/?page=2&page_size=5").get_json()["page_size"] == 5
    assert_envelope(client.get("/api/plans/?page=0"), 422, "validation_error")
    assert_envelope(client.get("/api/plans/?page_size=101"), 422, "validation_error")
