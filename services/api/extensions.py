"""The API's Flask extensions: flask-smorest (OpenAPI) and flask-limiter (Redis-backed)."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_smorest import Api
from limits import parse_many
from limits.storage import RedisStorage

from services.api.rate_window import OneTripMovingWindow
from services.api.resources.common import ErrorSchema
from services.core.config import Settings
from services.web.api_keys import presented_key, presented_key_row
from services.web.auth import token_subject
from services.web.requests import client_ip


class FluxusApi(Api):
    """flask-smorest documenting every error with the Fluxus envelope."""

    ERROR_SCHEMA = ErrorSchema


def openapi_config(settings: Settings) -> dict[str, Any]:
    return {
        "API_TITLE": "Fluxus API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        # No Swagger UI/ReDoc from a CDN: /api/docs is served by services.api.docs.
        "API_SPEC_OPTIONS": {
            "info": {"description": "Subscription billing on ECPay. Errors always answer "
                                    "{code, status, message, errors}; lists paginate with "
                                    "page and page_size (≤ 100)."},
            "servers": [{"url": settings.api_url.rstrip("/") or "/"}],
            "components": {"securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        },
    }


# Account endpoints anyone may call: a bearer token sent there must not move the caller into
# another bucket, or rotating tokens (even revoked ones) would buy fresh budgets.
ANONYMOUS_BLUEPRINTS = frozenset({"auth"})
AUTHENTICATED_ENDPOINTS = frozenset({"auth.Logout"})


_KEY = "_fluxus_rate_limit_key"


def rate_limit_key() -> str:
    """Per user for a well-signed access token on authenticated routes, per API key for a
    known key (`key:<id>`, revoked ones too: they are refused, counted apart from
    customers), else per client IP. Worked out once a request: flask-limiter asks once per
    limit."""
    key: str | None = g.get(_KEY)
    if key is None:
        key = _rate_limit_key()
        setattr(g, _KEY, key)
    return key


def _rate_limit_key() -> str:
    if (request.blueprint in ANONYMOUS_BLUEPRINTS
            and request.endpoint not in AUTHENTICATED_ENDPOINTS):
        return f"ip:{client_ip()}"
    if presented_key() is not None:
        key = presented_key_row()
        return f"key:{key.id}" if key is not None else f"ip:{client_ip()}"
    subject = token_subject()
    return f"user:{subject}" if subject else f"ip:{client_ip()}"


def make_limiter(app: Flask, settings: Settings) -> Limiter:
    """Limits shared by every worker and replica through Redis. A moving window counts
    exactly the last minute/hour, so there is no burst at window edges; all of a request's
    windows are counted, and read for the headers, in one Redis round trip."""
    limiter = Limiter(
        rate_limit_key,
        app=app,
        storage_uri=settings.redis_url,
        storage_options={"socket_connect_timeout": 2, "socket_timeout": 2},
        application_limits=[settings.rate_limits],
        strategy="moving-window",
        headers_enabled=True,
        key_prefix="fluxus-api",
        # If Redis is down the API keeps serving (readiness reports it) rather than failing.
        swallow_errors=True,
    )
    # flask-limiter 4 takes strategies by name only: the one-trip strategy replaces its own.
    storage = limiter._storage
    if type(storage) is RedisStorage:  # a cluster would refuse keys of several slots
        limiter._limiter = OneTripMovingWindow(
            storage, parse_many(settings.rate_limits))
    return limiter
