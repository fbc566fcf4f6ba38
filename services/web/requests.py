"""Request plumbing: request ids, client IP behind proxies, body cap, security headers, CORS."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable

from flask import Flask, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from services.core.logging import request_id_var

log = logging.getLogger("fluxus.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# JSON APIs need no active content; pages that do (docs, checkout forms) set their own CSP.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
}
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
CORS_EXPOSE_HEADERS = (
    "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
)


def client_ip() -> str:
    """The caller's address; ProxyFix has already applied the trusted proxy hops."""
    return request.remote_addr or "unknown"


def user_agent() -> str:
    return (request.headers.get("User-Agent") or "")[:500]


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_id = request_id
    g.request_token = request_id_var.set(request_id)
    g.request_started = time.perf_counter()


def _end_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    if started is not None:
        # The path only: query strings and bodies may carry tokens and must not be logged.
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "status": response.status_code, "client_ip": client_ip()})
    return response


def _reset_request_id(_exc: BaseException | None) -> None:
    token = g.pop("request_token", None)
    if token is not None:
        request_id_var.reset(token)


def _cap_body(limit: int) -> None:
    # Refuse early on the declared length; werkzeug still guards chunked bodies.
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")


def install_request_plumbing(app: Flask, *, trusted_proxies: int, max_body_bytes: int) -> None:
    if trusted_proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies,
            x_host=trusted_proxies, x_port=trusted_proxies, x_prefix=trusted_proxies,
        )
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.before_request(_start_request)
    app.before_request(lambda: _cap_body(max_body_bytes))
    app.after_request(_end_request)
    app.teardown_request(_reset_request_id)


def install_security_headers(app: Flask, *, hsts: bool) -> None:
    # Each header unless the response set its own (as setdefault would, in one pass over the
    # response's headers instead of one per header).
    constant = tuple((name.lower(), name, value) for name, value in
                     (*SECURITY_HEADERS.items(), ("Content-Security-Policy", DEFAULT_CSP)))
    transport = (("strict-transport-security", "Strict-Transport-Security",
                  "max-age=31536000; includeSubDomains"),) if hsts else ()

    def add_headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        for lower, name, value in constant:
            if lower not in present:
                headers.add(name, value)
        if "cache-control" not in present and response.mimetype == "application/json":
            headers.add("Cache-Control", "no-store")
        for lower, name, value in transport:
            if lower not in present:
                headers.add(name, value)
        return response

    app.after_request(add_headers)


def install_cors(app: Flask, origins: Iterable[str]) -> None:
    """Answer CORS for an allow-list of origins only; anything else gets no CORS headers."""
    allowed = frozenset(origins)
    if not allowed:
        return

    def add_cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        response.vary.add("Origin")
        if origin not in allowed:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = (
                "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            )
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    app.after_request(add_cors)
