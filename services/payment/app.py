"""App factory of the payment service (`fluxus payment`, gunicorn `services.payment.app`)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from services.core.clock import Clock, SystemClock
from services.core.config import Settings, get_settings
from services.core.metrics_runtime import instrument_flask
from services.payment.context import CLOCK_EXTENSION
from services.payment.resources import checkout, einvoice_consent, invoices, notifications, testing
from services.web.auth import init_jwt
from services.web.health import health_blueprint
from services.web.setup import install_web


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """The payment service; `clock` is for tests (billing code reads the injected clock)."""
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(_openapi_config())
    api = Api(app)  # before install_web, whose envelope handler must win
    install_web(app, settings)
    init_jwt(app, settings)
    app.extensions[CLOCK_EXTENSION] = clock or SystemClock()
    for blueprint in (checkout.blp, notifications.blp, invoices.blp, einvoice_consent.blp):
        api.register_blueprint(blueprint)
    if not settings.is_production:
        # Absent in production: the route does not exist, so it answers 404 like any other.
        api.register_blueprint(testing.blp)
    app.register_blueprint(health_blueprint(settings, "payment_health"),
                           url_prefix="/payment/health")
    instrument_flask(app, "payment")
    return app


def _openapi_config() -> dict[str, Any]:
    return {
        "API_TITLE": "Fluxus payment service",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/payment",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            }
        },
    }
