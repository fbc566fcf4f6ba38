"""Server-side login sessions: a signed HttpOnly cookie names them, tokens never leave here.

The id changes at login and logout (``rotate``), so an id seen before login is worthless after.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from bokeh.server.auth_provider import AuthProvider
from tornado.web import create_signed_value, decode_signed_value

from fluxus_ui.client import Credentials
from fluxus_ui.i18n import DEFAULT_LANGUAGE, LANGUAGES

COOKIE_NAME = "fluxus_sid"
IDLE_SECONDS = 7 * 24 * 3600  # the refresh token's default lifetime: no use keeping longer
MAX_SESSIONS = 50_000
TICKET_SECONDS = 60.0
# The vault lives in this process's memory, so a key that lives as long does: a restart
# forgets the sessions and the key together.
_SIGNING_KEY = secrets.token_bytes(32)


@dataclass
class SessionEntry:
    credentials: Credentials | None = None
    language: str = DEFAULT_LANGUAGE
    touched: float = field(default_factory=time.monotonic)


class SessionVault:
    """Process memory keyed by the cookie's random id (one UI replica, or sticky sessions)."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._entries: dict[str, SessionEntry] = {}
        self._tickets: dict[str, tuple[str, float]] = {}

    def create(self) -> str:
        """A new, empty session under a fresh random id."""
        self._evict()
        sid = new_session_id()
        self._entries[sid] = SessionEntry()
        return sid

    def known(self, sid: str | None) -> bool:
        return sid is not None and sid in self._entries

    def rotate(self, sid: str) -> tuple[str, str]:
        """Move the session to a new id (at login and logout) and forget the old one.

        Returns the new id and a single-use ticket that the browser trades for the new
        cookie over plain HTTP (a websocket cannot set an HttpOnly cookie).
        """
        old = self._entries.pop(sid, None) or SessionEntry()
        new = self.create()
        self._entries[new] = SessionEntry(old.credentials, old.language)
        ticket = secrets.token_urlsafe(24)
        self._tickets[ticket] = (new, time.monotonic() + TICKET_SECONDS)
        return new, ticket

    def redeem(self, ticket: str) -> str | None:
        """The session id a ticket was issued for, once, while it is fresh and still known."""
        now = time.monotonic()
        for key in [k for k, (_, until) in self._tickets.items() if until < now]:
            del self._tickets[key]
        sid, _ = self._tickets.pop(ticket, ("", 0.0))
        return sid if self.known(sid) else None

    def entry(self, sid: str) -> SessionEntry:
        self._evict()
        entry = self._entries.get(sid)
        if entry is None:
            entry = self._entries[sid] = SessionEntry()
        entry.touched = time.monotonic()
        return entry

    def sign_out(self, sid: str) -> None:
        entry = self._entries.get(sid)
        if entry is not None:
            entry.credentials = None

    def set_language(self, sid: str, language: str) -> None:
        if language in LANGUAGES:
            self.entry(sid).language = language

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self) -> None:
        now = time.monotonic()
        stale = [k for k, e in self._entries.items() if now - e.touched > self.idle_seconds]
        for key in stale:
            del self._entries[key]
        while len(self._entries) >= MAX_SESSIONS:
            oldest = min(self._entries, key=lambda k: self._entries[k].touched)
            del self._entries[oldest]


VAULT = SessionVault()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def sign(sid: str) -> str:
    return create_signed_value(_SIGNING_KEY, COOKIE_NAME, sid).decode()


def unsign(value: str | None) -> str | None:
    """The session id a cookie carries, if this process signed it (else None)."""
    if not value:
        return None
    sid = decode_signed_value(_SIGNING_KEY, COOKIE_NAME, value, max_age_days=8)
    return sid.decode() if sid else None


def cookie_options(secure: bool) -> dict[str, Any]:
    return {"httponly": True, "samesite": "Lax", "secure": secure, "path": "/",
            "expires_days": 7}


class SessionCookieProvider(AuthProvider):
    """Gives every browser an opaque session cookie on its first page load.

    Bokeh calls ``get_user`` on each page request before it creates the Panel session, which
    is the one moment a plain HTTP response exists to set an HttpOnly cookie on.
    """

    def __init__(self, secure: bool = False, vault: SessionVault = VAULT) -> None:
        self.secure = secure
        self.vault = vault
        super().__init__()

    @property
    def get_user(self) -> Any:
        def get_user(handler: Any) -> str:
            # Only an id this process signed and still holds is honoured: a made-up or stale
            # cookie gets a fresh session, so nobody can plant an id for a victim to log in on.
            if not self.vault.known(unsign(handler.get_cookie(COOKIE_NAME))):
                signed = sign(self.vault.create())
                handler.set_cookie(COOKIE_NAME, signed, **cookie_options(self.secure))
                # Let the session being created now see the id the browser will send next time.
                cookies: SimpleCookie = handler.request.cookies
                cookies[COOKIE_NAME] = signed
            return "visitor"

        return get_user

    @property
    def login_url(self) -> str:
        return "/"
