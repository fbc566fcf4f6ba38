"""What every endpoint shares: the error envelope for bad input and JWT failures, headers,
request ids, CORS, body cap, health, and the OpenAPI document and docs page."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token

from services.api.app import create_app
from services.core.config import Settings
from tests.integration.api.api_helpers import Account, assert_envelope

pytestmark = pytest.mark.integration


def test_malformed_json_is_a_400_envelope(client: FlaskClient) -> None:
    response = client.post("/api/auth/login/", data="{not json",
                           content_type="application/json")
    assert_envelope(response, 400, "bad_request")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"username": 12, "password": "x"}, "username"),
     ({"username": "a", "password": ["x"]}, "password"),
     ({"username": "a", "password": "x", "admin": True}, "admin"),
     ({"username": "a" * 300, "password": "x"}, "username"),
     ({"username": "a\x00b", "password": "x"}, "username"),
     ({"username": None, "password": "x"}, "username")],
)
def test_wrong_types_unknown_fields_and_oversized_strings_are_422(
    client: FlaskClient, body: dict[str, object], field: str
) -> None:
    errors = assert_envelope(client.post("/api/auth/login/", json=body), 422,
                             "validation_error")["errors"]
    assert field in errors


def test_bad_uuids_and_unknown_paths_are_404_envelopes(client: FlaskClient,
                                                        customer: Account) -> None:
    assert_envelope(client.get("/api/users/not-a-uuid/", headers=customer.headers), 404)
    assert_envelope(client.get("/api/nowhere"), 404, "not_found")
    assert_envelope(client.get("/api/orders/?subscription_id=nope", headers=customer.headers),
                    422)


def test_method_not_allowed_is_a_405_envelope_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/plans/")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_an_oversized_body_is_a_413_envelope(client: FlaskClient, settings: Settings) -> None:
    body = '{"username": "' + "a" * settings.max_body_bytes + '", "password": "x"}'
    response = client.post("/api/auth/login/", data=body, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


def test_jwt_failures_are_401_envelopes(app: Flask, client: FlaskClient,
                                        customer: Account) -> None:
    assert_envelope(client.get("/api/users/me/"), 401, "unauthorized")
    assert_envelope(client.get("/api/users/me/", headers={"Authorization": "Bearer x.y.z"}),
                    401, "invalid_token")
    assert_envelope(client.get("/api/users/me/", headers={"Authorization": "Basic abc"}), 401)
    refresh_as_access = {"Authorization": f"Bearer {customer.refresh}"}
    assert_envelope(client.get("/api/users/me/", headers=refresh_as_access), 401,
                    "invalid_token")
    with app.app_context():
        expired = create_access_token(identity=customer.id,
                                      expires_delta=timedelta(seconds=-1))
        forged = create_access_token(identity=customer.id) + "x"
    assert_envelope(client.get("/api/users/me/", headers={"Authorization": f"Bearer {expired}"}),
                    401, "token_expired")
    assert_envelope(client.get("/api/users/me/", headers={"Authorization": f"Bearer {forged}"}),
                    401, "invalid_token")
    response = client.get("/api/users/me/")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_security_headers_and_request_ids(client: FlaskClient) -> None:
    response = client.get("/api/plans/", headers={"X-Request-ID": "trace-123"})
    assert response.headers["X-Request-ID"] == "trace-123"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    # Only the public plan list may be reused (the same for everyone); nothing else is kept.
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert client.get("/api/users/me/").headers["Cache-Control"] == "no-store"
    assert client.get(f"/api/plans/{uuid.uuid4()}/").headers["Cache-Control"] == "no-store"
    generated = client.get("/api/plans/", headers={"X-Request-ID": "bad id <script>"})
    assert len(generated.headers["X-Request-ID"]) == 32
    assert assert_envelope(client.get("/api/nowhere"), 404) and \
        client.get("/api/nowhere").headers["X-Content-Type-Options"] == "nosniff"


def test_cors_answers_allowed_origins_only(settings: Settings) -> None:
    app = create_app(Settings(**{**settings.__dict__,
                                 "cors_origins": ("https://dashboard.fluxus.tw",)}))
    client = app.test_client()
    preflight = client.options("/api/orders/", headers={
        "Origin": "https://dashboard.fluxus.tw", "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://dashboard.fluxus.tw"
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    other = client.get("/api/plans/", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_health_live_and_ready(client: FlaskClient) -> None:
    assert client.get("/api/health/live").get_json() == {"status": "ok"}
    ready = client.get("/api/health/ready").get_json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_ready_and_requests_answer_503_when_the_database_is_down(settings: Settings) -> None:
    down = Settings(**{**settings.__dict__, "db_connect_timeout": 2,
                       "database_url": "postgresql+psycopg2://postgres@127.0.0.1:1/none"})
    client = create_app(down).test_client()
    body = assert_envelope(client.get("/api/health/ready"), 503, "service_unavailable")
    assert body["errors"] == {"database": ["unavailable"]}
    assert_envelope(client.get("/api/plans/"), 503, "service_unavailable")
    assert_envelope(client.post("/api/auth/login/", json={"username": "a", "password": "b"}),
                    503, "service_unavailable")


def test_openapi_documents_every_endpoint_security_and_errors(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    expected = {
        "/api/auth/register/", "/api/auth/login/", "/api/auth/refresh/", "/api/auth/logout/",
        "/api/auth/verify-email/", "/api/auth/verify-email/resend/",
        "/api/auth/password-reset/", "/api/auth/password-reset/confirm/", "/api/users/",
        "/api/users/{user_id}/", "/api/users/me/", "/api/users/change_password/",
        "/api/plans/", "/api/plans/{plan_id}/", "/api/subscriptions/",
        "/api/subscriptions/{subscription_id}/",
        "/api/subscriptions/{subscription_id}/update_status/", "/api/orders/",
        "/api/orders/{order_id}/", "/api/invoices/", "/api/invoices/{invoice_id}/",
        "/api/audit-logs/", "/api/health/live", "/api/health/ready",
    }
    assert expected <= set(spec["paths"])
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message", "errors", "error_codes"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            statuses = set(operation["responses"])
            limited = not path.startswith("/api/health/")  # health is exempt from limits
            assert ({"429", "503"} if limited else {"503"}) <= statuses, (path, method)
            if operation.get("security"):
                assert "401" in statuses, (path, method)


def test_docs_page_loads_nothing_from_the_internet(client: FlaskClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "openapi.json" in page and "http://" not in page and "https://" not in page
    assert "script-src 'nonce-" in response.headers["Content-Security-Policy"]
