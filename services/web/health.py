"""Liveness and readiness: ready means PostgreSQL answers (Redis down is reported, not fatal)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.core.config import Settings
from services.core.db.session import get_engine
from services.web.envelope import error_response
from services.web.uow import app_redis

log = logging.getLogger(__name__)


def _database_ok(settings: Settings) -> bool:
    try:
        with get_engine(settings).connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        return False
    return True


def _redis_ok() -> bool:
    try:
        return bool(app_redis().ping())
    except RedisError as exc:
        log.warning("readiness: redis unavailable: %s", type(exc).__name__)
        return False


def health_blueprint(settings: Settings, name: str = "health") -> Blueprint:
    """`GET live` (the process answers) and `GET ready` (PostgreSQL answers; Redis is
    reported, `"status": "degraded"` without it).

    Register it with a url_prefix, e.g. ``url_prefix="/api/health"``; exempt it from rate
    limits. Needs ``install_web`` (it reuses the app's Redis client).
    """
    blueprint = Blueprint(name, __name__)

    @blueprint.get("/live")
    def live() -> Response:
        return jsonify({"status": "ok"})

    @blueprint.get("/ready")
    def ready() -> Response:
        checks = {
            "database": "ok" if _database_ok(settings) else "unavailable",
            "redis": "ok" if _redis_ok() else "unavailable",
        }
        if checks["database"] != "ok":
            failed = {key: [value] for key, value in checks.items() if value != "ok"}
            return error_response(503, "service_unavailable", "Not ready.", failed)
        # Every pod shares one Redis: failing readiness on it would take every API and payment
        # pod out of its Service at once, ECPay's callbacks included, although a callback is
        # stored in PostgreSQL and swept into the queue later. Degraded, still ready.
        status = "ok" if checks["redis"] == "ok" else "degraded"
        return jsonify({"status": status, "checks": checks})

    return blueprint
