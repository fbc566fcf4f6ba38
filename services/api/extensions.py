"""The API's Flask extensions: flask-smorest (OpenAPI) and flask-limiter (Redis-backed)."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter._limits import RuntimeLimit
from flask_limiter._manager import LimitManager
from flask_limiter.constants import ExemptionScope
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


class _ExemptionsOnceManager(LimitManager):
    """flask-limiter's limit manager remembering each endpoint's exemption scope (asked two or
    three times a request) until an exemption is added."""

    def __init__(self, manager: LimitManager) -> None:
        # The same registries as the manager it replaces, so nothing declared is lost.
        super().__init__(manager._application_limits, manager._default_limits,
                         manager._decorated_limits, manager._blueprint_limits,
                         manager._route_exemptions, manager._blueprint_exemptions)
        self._endpoint_hints = manager._endpoint_hints
        self._scopes: dict[tuple[str | None, str | None], ExemptionScope] = {}

    def exemption_scope(self, app: Flask, endpoint: str | None,
                        blueprint: str | None) -> ExemptionScope:
        scope = self._scopes.get((endpoint, blueprint))
        if scope is None:
            scope = self._scopes[(endpoint, blueprint)] = super().exemption_scope(
                app, endpoint, blueprint)
        return scope

    def add_route_exemption(self, route: str, scope: ExemptionScope) -> None:
        self._scopes.clear()
        super().add_route_exemption(route, scope)

    def add_blueprint_exemption(self, blueprint: str, scope: ExemptionScope) -> None:
        self._scopes.clear()
        super().add_blueprint_exemption(blueprint, scope)


class _ResolvedOnceLimiter(Limiter):
    """flask-limiter working out each endpoint's limits (and exemptions) once per process
    instead of on every request (its resolution parses the limit strings and walks the
    exemptions anew each time). Fluxus declares application limits only, and its exemptions
    before the first request, so an endpoint's limits cannot change while the process runs;
    anything else (decorated, blueprint or default limits, request filters, the in-memory
    fallback, a disabled limiter) goes the library's own way on every request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_manager = _ExemptionsOnceManager(self.limit_manager)
        self._resolved: dict[tuple[str | None, str | None], list[RuntimeLimit]] = {}

    def _resolvable_once(self) -> bool:
        manager = self.limit_manager
        per_request = (self._request_filters, self._meta_limits, manager._default_limits,
                       manager._decorated_limits, manager._blueprint_limits)
        return (self.enabled and not self._in_memory_fallback_enabled
                and not self._storage_dead and not any(per_request))

    # flask-limiter's private __filter_limits (name-mangled), the one step that decides which
    # limits apply; tests/integration/api/test_api_rate_limits.py checks it is still called.
    def _Limiter__filter_limits(self, endpoint: str | None, blueprint: str | None,
                                callable_name: str | None,
                                in_middleware: bool = False) -> list[RuntimeLimit]:
        resolve = super()._Limiter__filter_limits  # type: ignore[misc]
        if callable_name is not None or not in_middleware or not self._resolvable_once():
            return list(resolve(endpoint, blueprint, callable_name, in_middleware))
        limits = self._resolved.get((endpoint, blueprint))
        if limits is None:
            limits = resolve(endpoint, blueprint, callable_name, in_middleware)
            self._resolved[(endpoint, blueprint)] = limits
        return list(limits)


def make_limiter(app: Flask, settings: Settings) -> Limiter:
    """Limits shared by every worker and replica through Redis. A moving window counts
    exactly the last minute/hour, so there is no burst at window edges; all of a request's
    windows are counted, and read for the headers, in one Redis round trip."""
    limiter = _ResolvedOnceLimiter(
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
