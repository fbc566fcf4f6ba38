"""The dashboard's HTTP edge: security headers on every response, the page's viewport meta,
and the one plain-HTTP step of a session-id change (the new HttpOnly cookie)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tornado.httputil import HTTPHeaders
from tornado.web import OutputTransform, RedirectHandler, RequestHandler

from fluxus_ui.routes import safe_next
from fluxus_ui.session import COOKIE_NAME, VAULT, SessionVault, cookie_options, sign

# Bokeh renders its document with inline scripts, compiles Panel's component scripts at run
# time and loads some as blob: URLs, hence 'unsafe-inline', 'unsafe-eval' and blob:; the rest
# stays on this origin, no one may frame the page, and forms post only here and to the
# payment gateway.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
       "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'none'; "
       "form-action 'self' {gateway}")

# A phone renders the page at its own width, not a 980 px desktop shrunk to 40 %.
PAGE_TEMPLATE = """{% block preamble %}{{ super() }}
<meta name="viewport" content="width=device-width, initial-scale=1">
{% endblock %}"""


def security_headers(gateway_url: str) -> dict[str, str]:
    parts = urlsplit(gateway_url)
    gateway = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return {
        "Content-Security-Policy": CSP.format(gateway=gateway).strip(),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def headers_transform(headers: dict[str, str]) -> type[OutputTransform]:
    """A Tornado output transform that adds `headers` to every HTTP response."""

    class SecurityHeaders(OutputTransform):
        def transform_first_chunk(self, status_code: int, response_headers: HTTPHeaders,
                                  chunk: bytes, finishing: bool) -> tuple[int, HTTPHeaders, bytes]:
            for name, value in headers.items():
                if name not in response_headers:
                    response_headers[name] = value
            return status_code, response_headers, chunk

    return SecurityHeaders


class SessionCookieHandler(RequestHandler):
    """GET /session/<ticket>?next=/path: set the rotated session's cookie, then go on.

    (The ticket is in the path: Panel HTML-escapes the "&" of a URL handed to the browser.)
    """

    def initialize(self, secure: bool, vault: SessionVault = VAULT) -> None:
        self.secure = secure
        self.vault = vault

    def get(self, ticket: str) -> None:
        sid = self.vault.redeem(ticket)
        if sid is not None:
            self.set_cookie(COOKIE_NAME, sign(sid), **cookie_options(self.secure))
        self.set_header("Cache-Control", "no-store")
        self.redirect(safe_next(self.get_query_argument("next", "/")), status=303)


# Panel writes its stylesheets' URLs relative to the page ("static/extensions/…"), so a page
# at a nested URL (/subscriptions/<id>, /staff/customers/<id>) asks for them under its own
# path and gets 404s (the page then loses Panel's theme). Send those to the one static root.
NESTED_STATIC = r"/(?:[^/]+/)+static/(.*)"


def session_routes(secure: bool) -> list[tuple[str, Any, dict[str, Any]]]:
    return [(r"/session/([A-Za-z0-9_-]{16,64})", SessionCookieHandler, {"secure": secure})]


def nested_static_routes() -> list[tuple[str, Any, dict[str, Any]]]:
    """Ahead of Bokeh's own routes (its per-page static handler answers those paths 404):
    install with `Application.add_handlers`, which puts them before the catch-all."""
    return [(NESTED_STATIC, RedirectHandler, {"url": "/static/{0}", "permanent": False})]
