"""The API's app factory: `services.api.app:create_app`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import FunctionType
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from services.api.docs import docs_blueprint
from services.api.extensions import FluxusApi, make_limiter, openapi_config
from services.api.resources.api_keys.routes import blp as api_keys
from services.api.resources.audit_logs.routes import blp as audit_logs
from services.api.resources.auth.routes import blp as auth
from services.api.resources.coupons.routes import blp as coupons
from services.api.resources.coupons.routes import subscription_blp as subscription_coupons
from services.api.resources.customers.routes import blp as customers
from services.api.resources.einvoices.routes import blp as einvoices
from services.api.resources.entitlements.routes import blp as entitlements
from services.api.resources.invoices.routes import blp as invoices
from services.api.resources.orders.routes import blp as orders
from services.api.resources.payment_reviews.routes import blp as payment_reviews
from services.api.resources.plan_changes.routes import blp as plan_changes
from services.api.resources.plans.routes import blp as plans
from services.api.resources.plans.routes import install_plan_list_cache
from services.api.resources.refunds.routes import blp as refunds
from services.api.resources.reports.routes import blp as reports
from services.api.resources.staff_tools.routes import blp as staff_tools
from services.api.resources.subscriptions.routes import blp as subscriptions
from services.api.resources.test_clocks.routes import blp as test_clocks
from services.api.resources.users.routes import blp as users
from services.api.resources.webhooks.routes import blp as webhooks
from services.api.throttle import install_auth_throttle
from services.core.clock import Clock, SystemClock
from services.core.config import Settings, get_settings
from services.core.logging import configure_logging
from services.core.metrics_runtime import instrument_flask
from services.web.auth import init_jwt
from services.web.health import health_blueprint
from services.web.setup import install_web

BLUEPRINTS = (
    coupons, subscription_coupons,
    auth, users, plans, subscriptions, orders, invoices, einvoices, audit_logs, payment_reviews,
    refunds, webhooks, reports, plan_changes, customers, api_keys, entitlements,
    test_clocks, staff_tools,
)
HEALTH_PATHS = {
    "/api/health/live": "The process answers.",
    "/api/health/ready": "PostgreSQL and Redis answer (503 in the error envelope if not).",
}


class _FluxusFlask(Flask):
    """Flask asking once per hook and view whether it is `async def` (about twenty times a
    request); for a plain function the answer is a flag of its code, read directly. Anything
    else (bound methods, partials, marked functions) is asked the usual way."""

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if (type(func) is FunctionType and not func.__code__.co_flags & inspect.CO_COROUTINE
                and "_is_coroutine_marker" not in func.__dict__):
            return func
        return super().ensure_sync(func)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = _FluxusFlask("services.api")
    app.config.update(openapi_config(settings))
    api = FluxusApi(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    _document_health(api)
    install_web(app, settings)  # after Api(app): the envelope replaces smorest's handler
    init_jwt(app, settings)
    instrument_flask(app, "api")
    health = health_blueprint(settings)
    app.register_blueprint(health, url_prefix="/api/health")
    docs = docs_blueprint()
    app.register_blueprint(docs)
    limiter = make_limiter(app, settings)
    for exempt in (health, docs, app.blueprints["api-docs"]):
        limiter.exempt(exempt)  # type: ignore[call-overload]
    app.extensions["fluxus_clock"] = clock or SystemClock()
    app.extensions["fluxus_limiter"] = limiter
    install_auth_throttle(app.extensions, settings.redis_url, enabled=settings.auth_throttle)
    install_plan_list_cache(app.extensions, settings.plan_list_cache_seconds)
    return app


def _document_health(api: FluxusApi) -> None:
    for path, description in HEALTH_PATHS.items():
        api.spec.path(rule=Rule(path), operations={"get": {
            "tags": ["health"], "summary": description, "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"status": {"type": "string"}},
                    "required": ["status"]}}}},
                "503": {"$ref": "#/components/responses/SERVICE_UNAVAILABLE"},
            },
        }})
