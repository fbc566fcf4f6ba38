"""Brute-force limits on the anonymous account endpoints (log-in, refresh, registration,
password reset): counted per client IP and per target account in Redis, so every replica
shares them, and ignoring any bearer token (a token must not buy a separate budget)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import cast

from flask import abort, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from services.api.rate_window import WindowScript
from services.core.metrics import record_auth_throttled
from services.web.envelope import error_response

log = logging.getLogger(__name__)

_EXTENSION = "fluxus_auth_throttle"


@dataclass(frozen=True)
class Policy:
    """Limits of one action. Several windows per key make the back-off grow: a few tries a
    minute, then fewer per ten minutes, then per hour. The longest window bounds how long a
    key can be held, so a lockout is a delay that ends, never a ban."""

    per_ip: str
    per_account: str


POLICIES: dict[str, Policy] = {
    # Log-in counts every attempt on the account; a correct password clears the account's
    # count, so only someone who knows the password ends a delay early (or resets it).
    "login": Policy(per_ip="20 per minute;100 per hour",
                    per_account="5 per minute;10 per 10 minutes;20 per hour"),
    "refresh": Policy(per_ip="30 per minute;300 per hour", per_account="10 per minute"),
    "register": Policy(per_ip="5 per minute;20 per hour", per_account="3 per minute"),
    # The reset is the owner's way out of a log-in delay: it has its own counters.
    "password_reset": Policy(per_ip="5 per minute;20 per hour",
                             per_account="3 per minute;10 per hour"),
}


def _account_id(account: str) -> str:
    # Hashed: Redis keys should not hold e-mail addresses.
    return hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]


class AuthThrottle:
    """Moving-window counters in Redis keyed by action, scope and IP or hashed account."""

    def __init__(self, redis_url: str, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._redis_url = redis_url
        self._limiter: MovingWindowRateLimiter | None = None
        self._script: WindowScript | None = None
        self._items = {action: (parse_many(p.per_ip), parse_many(p.per_account))
                       for action, p in POLICIES.items()}

    @property
    def limiter(self) -> MovingWindowRateLimiter:
        # Lazily, so each gunicorn worker builds its own connection pool after the fork.
        if self._limiter is None:
            storage = storage_from_string(self._redis_url, socket_connect_timeout=2,
                                          socket_timeout=2)
            self._limiter = MovingWindowRateLimiter(storage)
        return self._limiter

    @property
    def script(self) -> WindowScript:
        """Every window of an attempt counted in one round trip, on the limiter's storage."""
        if self._script is None:
            self._script = WindowScript(cast(RedisStorage, self.limiter.storage))
        return self._script

    def _keys(self, action: str, ip: str, account: str | None
              ) -> list[tuple[str, RateLimitItem, str]]:
        per_ip, per_account = self._items[action]
        keys = [("ip", item, ip) for item in per_ip]
        if account:
            keys += [("account", item, _account_id(account)) for item in per_account]
        return keys

    def attempt(self, action: str, *, ip: str, account: str | None) -> None:
        """Count one attempt; answer 429 with Retry-After if any of its windows is full.

        Every window is counted before the work is done, so parallel requests cannot slip
        past a check that has not been counted yet.
        """
        if not self.enabled:
            return
        keys = self._keys(action, ip, account)
        try:
            # Every window in one round trip, each counted even after another refused, like
            # a hit per window; the reply holds the reset times the Retry-After needs.
            windows = self.script.hit(
                [(item, item.key_for("auth", action, scope, key)) for scope, item, key in keys],
                stop_at_refusal=False)
        except RedisError:
            # Like the general limiter: Redis down is reported by readiness, not a 500 here.
            log.warning("auth throttle unavailable: Redis error", exc_info=True)
            return
        refused = [(scope, window) for (scope, _, _), window in zip(keys, windows, strict=True)
                   if not window.acquired]
        if not refused:
            return
        retry_after = max(max(1, math.ceil(window.stats.reset_time - time.time()))
                          for _, window in refused)
        kind = "account" if any(scope == "account" for scope, _ in refused) else "ip"
        record_auth_throttled(request.url_rule.rule if request.url_rule else action, kind)
        abort(error_response(
            429, "rate_limited",
            "Too many attempts. Try again later; the wait grows with repeated attempts.",
            headers={"Retry-After": str(retry_after)}))

    def forget_account(self, action: str, account: str) -> None:
        """Drop the account's counters for `action` (a correct password, a completed reset)."""
        if not self.enabled:
            return
        try:
            for item in self._items[action][1]:
                self.limiter.clear(item, "auth", action, "account", _account_id(account))
        except RedisError:
            log.warning("auth throttle unavailable: Redis error", exc_info=True)


def install_auth_throttle(app_extensions: dict[str, object], redis_url: str,
                          *, enabled: bool) -> AuthThrottle:
    throttle = AuthThrottle(redis_url, enabled=enabled)
    app_extensions[_EXTENSION] = throttle
    return throttle


def auth_throttle() -> AuthThrottle:
    throttle: AuthThrottle = current_app.extensions[_EXTENSION]
    return throttle
