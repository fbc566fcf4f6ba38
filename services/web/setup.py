"""Install the shared request handling on a Flask app in one call."""

from __future__ import annotations

from flask import Flask

from services.core.config import Settings
from services.web.envelope import register_error_handlers
from services.web.reads import install_read_replica
from services.web.requests import install_cors, install_request_plumbing, install_security_headers
from services.web.uow import install_unit_of_work


def install_web(app: Flask, settings: Settings) -> None:
    """Error envelope, request ids, client IP behind ``settings.trusted_proxies``, the body
    cap, security headers, CORS allow-list and one DB session + Jobs port per request.

    Call it after ``flask_smorest.Api(app)`` so the envelope handler wins.
    """
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install_request_plumbing(app, trusted_proxies=settings.trusted_proxies,
                             max_body_bytes=settings.max_body_bytes)
    install_security_headers(app, hsts=settings.is_production)
    install_cors(app, settings.cors_origins)
    # Last registered runs first: the commit may swap in a 503, which then still gets the
    # CORS, security and request-id headers.
    install_unit_of_work(app, settings)
    install_read_replica(app, settings)
    register_error_handlers(app)
