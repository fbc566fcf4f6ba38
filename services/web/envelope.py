"""The one JSON error envelope, for Fluxus errors, HTTP errors, validation and the limiter."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from services.core.errors import FluxusError
from services.web.error_codes import error_codes

log = logging.getLogger(__name__)

# Stable codes for the HTTP errors clients meet; others fall back to the reason phrase.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build an envelope response: ``{"code", "status", "message", "errors", "error_codes"}``
    (``error_codes``: ``errors`` in the same shape, each message replaced by its stable code)."""
    response = jsonify({"code": code, "status": status, "message": message,
                        "errors": errors or {}, "error_codes": error_codes(errors or {})})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def fluxus_error_response(error: FluxusError) -> Response:
    return error_response(error.status, error.code, error.message, error.errors)


def _http_code(status: int, name: str) -> str:
    return HTTP_CODES.get(status) or re.sub(r"\W+", "_", name.lower()).strip("_")


def _flatten_messages(messages: Any) -> dict[str, Any]:
    """webargs nests field errors by location ({"json": {...}}); clients want the fields."""
    if not isinstance(messages, dict):
        return {"_request": messages if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[f"_{location}"] = fields
    return flat


def http_error_response(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors: dict[str, Any] = {}
    if "errors" in data:
        errors = data["errors"]
    elif "messages" in data:
        errors = _flatten_messages(data["messages"])
    message = data.get("message") or error.description or error.name
    if status == 422:
        message = data.get("message") or "The input is not valid."
    elif status == 429:
        message = f"Too many requests: limit {error.description}. Try again later."
    headers = dict(data.get("headers") or {})
    response = error_response(status, _http_code(status, error.name), str(message), errors,
                              headers)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _database_error(error: DBAPIError) -> Response:
    if isinstance(error, DataError):
        # Input the schemas let through but the database refuses (e.g. a NUL character).
        return error_response(400, "bad_request", "The input cannot be stored as given.")
    if isinstance(error, OperationalError) or error.connection_invalidated:
        log.warning("database unavailable: %s", type(error.orig).__name__)
        return error_response(503, "service_unavailable",
                              "The database is unavailable; try again shortly.")
    raise error


def _redis_error(error: RedisError) -> Response:
    log.warning("redis unavailable: %s", type(error).__name__)
    return error_response(503, "service_unavailable",
                          "A backing service is unavailable; try again shortly.")


def _internal_error(error: InternalServerError) -> Response:
    # Flask has already logged the original exception with its traceback.
    return error_response(500, "internal_error", "Something went wrong on our side.")


def register_error_handlers(app: Flask) -> None:
    """Render every error as the envelope. Call it AFTER flask-smorest's ``Api(app)``,
    whose own HTTPException handler it replaces."""
    app.register_error_handler(FluxusError, fluxus_error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(RedisError, _redis_error)
