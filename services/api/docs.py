"""The interactive API reference at /api/docs, served without any asset from the internet."""

from __future__ import annotations

import secrets
from functools import lru_cache
from importlib import resources

from flask import Blueprint, Response

DOCS_CSP = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")


@lru_cache(maxsize=1)
def _template() -> str:
    return resources.files("services.api").joinpath("docs.html").read_text(encoding="utf-8")


def docs_blueprint() -> Blueprint:
    blueprint = Blueprint("docs", __name__)

    @blueprint.get("/api/docs")
    def docs() -> Response:
        nonce = secrets.token_urlsafe(16)
        response = Response(_template().replace("{{NONCE}}", nonce), mimetype="text/html")
        response.headers["Content-Security-Policy"] = DOCS_CSP.format(nonce=nonce)
        return response

    return blueprint
