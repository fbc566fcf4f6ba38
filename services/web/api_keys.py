"""API keys beside JWTs: `Authorization: Bearer fx_…` as a server principal.

A key never counts as staff by itself: only a route that names a scope accepts keys
(`require_key(scope)`), and there the route acts for the key with a stand-in caller that
has staff visibility and no account (`key_caller`). Every use is audited in its own
transaction before the route runs, so refused and failed requests are on record too."""

from __future__ import annotations

from flask import abort, current_app, g, request

from services.core.clock import Clock, SystemClock
from services.core.db.models import ApiKey, User
from services.core.db.session import get_engine, session_factory
from services.core.errors import PermissionDenied
from services.core.usecases.audit import Actor
from services.core.usecases.integrations import api_keys
from services.web.auth import _unauthorized
from services.web.requests import client_ip, user_agent
from services.web.uow import app_settings, db_session

_UNSET = object()


def presented_key() -> str | None:
    """The bearer token when it is an API key (`fx_…`), else None (a JWT or nothing)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header.removeprefix("Bearer ").strip()
    return token if api_keys.looks_like_key(token) else None


def presented_key_row() -> ApiKey | None:
    """The stored key matching the presented one (revoked or not), looked up once a request
    (the rate limiter asks before authentication does)."""
    found = g.get("_fluxus_key_row", _UNSET)
    if found is _UNSET:
        secret = presented_key()
        found = api_keys.find(db_session(), secret) if secret else None
        g._fluxus_key_row = found
    return found


def require_key(scope: str | None) -> ApiKey:
    """The presented key, if it is live (401 like a bad token otherwise) and holds `scope`
    (403 otherwise; a route with no scope accepts no key)."""
    key = presented_key_row()
    if key is None or not api_keys.usable(key):
        if key is not None:
            _record(key, allowed=False)
        abort(_unauthorized("The token is not valid.", "invalid_token"))
    allowed = scope is not None and scope in key.scopes
    _record(key, allowed=allowed)
    if not allowed:
        raise PermissionDenied(
            f"This API key lacks the {scope} scope." if scope else
            "API keys may not call this endpoint; log in as a user.",
            code="insufficient_scope")
    g.fluxus_api_key = key
    g.fluxus_key_caller = _stand_in(key)
    return key


def current_key() -> ApiKey | None:
    """The API key this request authenticated with, if any."""
    key: ApiKey | None = g.get("fluxus_api_key")
    return key


def key_actor(key: ApiKey) -> Actor:
    return Actor(user_id=None, ip_address=client_ip(), user_agent=user_agent(),
                 extra={"api_key_id": str(key.id), "api_key": key.prefix})


def _stand_in(key: ApiKey) -> User:
    # Transient, never added to a session: no id (nothing it writes can point at an account)
    # and staff visibility for the reads and changes of the routes that accepted the key.
    return User(id=None, username=f"api-key:{key.prefix}", email="",
                password_hash="!",  # noqa: S106 - no password: it never logs in
                is_active=True, is_staff=True, is_superuser=False, is_verified=True)


def _clock() -> Clock:
    clock: Clock | None = current_app.extensions.get("fluxus_clock")
    return clock or SystemClock()


def _record(key: ApiKey, *, allowed: bool) -> None:
    with session_factory(get_engine(app_settings()))() as session:
        api_keys.record_use(session, _clock(), key_actor(key), key, method=request.method,
                            endpoint=request.endpoint or request.path[:200], allowed=allowed)
        session.commit()
