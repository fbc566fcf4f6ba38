"""Server-side login sessions: an opaque HttpOnly cookie names them, tokens never leave here."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from bokeh.server.auth_provider import AuthProvider

from fluxus_ui.client import Credentials
from fluxus_ui.i18n import DEFAULT_LANGUAGE, LANGUAGES

COOKIE_NAME = "fluxus_sid"
IDLE_SECONDS = 7 * 24 * 3600  # the refresh token's default lifetime: no use keeping longer
MAX_SESSIONS = 50_000


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


class SessionCookieProvider(AuthProvider):
    """Gives every browser an opaque session cookie on its first page load.

    Bokeh calls ``get_user`` on each page request before it creates the Panel session, which
    is the one moment a plain HTTP response exists to set an HttpOnly cookie on.
    """

    def __init__(self, secure: bool = False) -> None:
        self.secure = secure
        super().__init__()

    @property
    def get_user(self) -> Any:
        def get_user(handler: Any) -> str:
            sid = handler.get_cookie(COOKIE_NAME)
            if not sid or len(sid) > 64:
                sid = new_session_id()
                handler.set_cookie(
                    COOKIE_NAME, sid, httponly=True, samesite="Lax", secure=self.secure,
                    path="/", expires_days=7,
                )
                # Let the session being created now see the id the browser will send next time.
                cookies: SimpleCookie = handler.request.cookies
                cookies[COOKIE_NAME] = sid
            return "visitor"

        return get_user

    @property
    def login_url(self) -> str:
        return "/"
