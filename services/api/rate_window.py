"""Moving-window rate limits in one Redis round trip per request.

`limits`' moving window keeps, per key, a Redis list of the last `amount` hit timestamps: a
hit is refused when the `amount`-th newest entry is still inside the window, so the limit is
exact over any stretch of that length (no burst at window edges, unlike a fixed window or the
weighted, approximate sliding-window counter). Its cost is one script per limit per hit plus
one more to read the window for the X-RateLimit headers: with "60 per minute;1000 per hour"
that is three round trips on every API request. The script below does the same list
operations for every window of a request at once and answers each window's state in the same
reply, so a request costs one round trip; the keys and list layout are the library's, so the
counts are the same ones `limits` reads and clears.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats

# KEYS: one list per window. ARGV: now, cost, stop at the first refusal (1/0), then amount
# and expiry (seconds) per key. Answers acquired (1/0), the oldest timestamp still inside the
# window and the count inside it, three values per window evaluated.
_SCRIPT = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local stop = ARGV[3] == '1'
local out = {}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 + 2 * i])
    local expiry = tonumber(ARGV[3 + 2 * i])
    local since = now - expiry
    local acquired = 0
    if cost <= limit then
        local entry = redis.call('lindex', key, limit - cost)
        if not (entry and tonumber(entry) >= since) then
            for _ = 1, cost do
                redis.call('lpush', key, now)
            end
            redis.call('ltrim', key, 0, limit - 1)
            redis.call('expire', key, expiry)
            acquired = 1
        end
    end
    -- Newest first: the entries inside the window are a prefix; find its last one.
    local low, high, found = 0, redis.call('llen', key) - 1, -1
    while low <= high do
        local mid = math.floor((low + high) / 2)
        if tonumber(redis.call('lindex', key, mid)) >= since then
            found = mid
            low = mid + 1
        else
            high = mid - 1
        end
    end
    local oldest = now
    if found >= 0 then
        oldest = tonumber(redis.call('lindex', key, found))
    end
    out[#out + 1] = acquired
    out[#out + 1] = tostring(oldest)
    out[#out + 1] = found + 1
    if stop and acquired == 0 then
        break
    end
end
return out
"""


@dataclass(frozen=True)
class Window:
    """One window's verdict and state right after the hit."""

    item: RateLimitItem
    acquired: bool
    stats: WindowStats


class WindowScript:
    """The script bound to a `limits` Redis storage (same key prefix, same connection pool)."""

    def __init__(self, storage: RedisStorage) -> None:
        self._storage = storage
        self._script: Any = None

    def hit(self, windows: Sequence[tuple[RateLimitItem, str]], *, cost: int = 1,
            stop_at_refusal: bool, now: float | None = None) -> list[Window]:
        """Count one hit in each (item, key) window, in order. With `stop_at_refusal` the
        windows after a refused one are neither counted nor answered. `now` (epoch seconds)
        is this machine's clock unless given, like the library's own counters."""
        if self._script is None:
            # Registered lazily: no connection is made before the first request.
            self._script = self._storage.get_connection().register_script(_SCRIPT)
        if now is None:
            now = time.time()
        args: list[Any] = [now, cost, 1 if stop_at_refusal else 0]
        for item, _ in windows:
            args += [item.amount, item.get_expiry()]
        reply = self._script(keys=[self._storage.prefixed_key(key) for _, key in windows],
                             args=args)
        answered = []
        for n, (item, _) in enumerate(windows[: len(reply) // 3]):
            acquired, oldest, count = reply[3 * n: 3 * n + 3]
            answered.append(Window(item, bool(acquired), WindowStats(
                float(oldest) + item.get_expiry(), item.amount - int(count))))
        return answered


_STATE = "fluxus.rate_windows"


@dataclass
class _RequestState:
    answers: dict[str, Window]
    unread: set[str]  # windows counted by the script whose verdict no hit has taken yet


class ProcessMovingWindow:
    """The library's moving window counted in this process's memory, for the endpoints that
    never leave it. `limits`' MemoryStorage keeps every hit of a key in a list it copies on
    each hit and trims from a timer thread started again every 10 ms under load; here each
    window key keeps only the hits still inside its window, oldest first, trimmed as it is
    read, and keys left idle past their window are dropped once a minute. The verdicts and
    window stats are the library's (a hit is refused when `amount` hits are inside the
    window, counted from the same instant)."""

    SWEEP_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[int, deque[float]]] = {}  # key -> (expiry, hit times)
        self._sweep_at = 0.0

    def _inside(self, item: RateLimitItem, identifiers: tuple[str, ...],
                now: float) -> deque[float]:
        key = item.key_for(*identifiers)
        found = self._hits.get(key)
        if found is None:
            found = self._hits[key] = (item.get_expiry(), deque())
        expiry, hits = found
        since = now - expiry
        while hits and hits[0] < since:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        if now < self._sweep_at:
            return
        self._sweep_at = now + self.SWEEP_SECONDS
        for key, (expiry, hits) in list(self._hits.items()):
            if not hits or hits[-1] < now - expiry:
                del self._hits[key]

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        with self._lock:
            now = self._clock()
            self._sweep(now)
            hits = self._inside(item, identifiers, now)
            if len(hits) + cost > item.amount:
                return False
            hits.extend([now] * cost)
            return True

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        with self._lock:
            return len(self._inside(item, identifiers, self._clock())) <= item.amount - cost

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        with self._lock:
            now = self._clock()
            hits = self._inside(item, identifiers, now)
            oldest = hits[0] if hits else now
            return WindowStats(oldest + item.get_expiry(), item.amount - len(hits))

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        with self._lock:
            self._hits.pop(item.key_for(*identifiers), None)


# Endpoints answered from the process's memory (the public plan list). A Redis round trip
# would be most of their cost, so their windows are counted in the process: the same limits,
# per API process rather than shared, which still bounds what one client can take of a
# process and costs nothing at the database.
PROCESS_LOCAL_ENDPOINTS = frozenset({"plans.Plans"})


class OneTripMovingWindow(MovingWindowRateLimiter):
    """flask-limiter's strategy for the application limits: its first `hit` in a request
    counts every application window for that key at once (shortest first, stopping at the
    first refusal, as flask-limiter does), later hits and the header's `get_window_stats`
    read that reply. Any other limit, or a call outside a request, is the library's own;
    `PROCESS_LOCAL_ENDPOINTS` are counted in this process's memory (`ProcessMovingWindow`)."""

    def __init__(self, storage: RedisStorage, items: Sequence[RateLimitItem]) -> None:
        super().__init__(storage)
        # flask-limiter evaluates limits sorted by granularity; so does the script.
        self._items = sorted(items)
        self._script = WindowScript(storage)
        self._local: tuple[int, ProcessMovingWindow] | None = None

    def _process_local(self) -> ProcessMovingWindow | None:
        if not has_request_context() or request.endpoint not in PROCESS_LOCAL_ENDPOINTS:
            return None
        # Made in the process that counts (after gunicorn's fork), never inherited.
        if self._local is None or self._local[0] != os.getpid():
            self._local = (os.getpid(), ProcessMovingWindow())
        return self._local[1]

    @staticmethod
    def _state() -> _RequestState | None:
        if not has_request_context():
            return None
        state: _RequestState = request.environ.setdefault(_STATE, _RequestState({}, set()))
        return state

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        local = self._process_local()
        if local is not None:
            return local.hit(item, *identifiers, cost=cost)
        state = self._state()
        if state is None or item not in self._items:
            return super().hit(item, *identifiers, cost=cost)
        key = item.key_for(*identifiers)
        if key not in state.answers:
            windows = [(each, each.key_for(*identifiers)) for each in self._items]
            for window in self._script.hit(windows, cost=cost, stop_at_refusal=True):
                answered = window.item.key_for(*identifiers)
                state.answers[answered] = window
                state.unread.add(answered)
        if key in state.unread:
            state.unread.discard(key)
            return state.answers[key].acquired
        # A second hit on a window in the same request (or one past a refusal) counts anew.
        state.answers.pop(key, None)
        return super().hit(item, *identifiers, cost=cost)

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        local = self._process_local()
        if local is not None:
            return local.test(item, *identifiers, cost=cost)
        return super().test(item, *identifiers, cost=cost)

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        local = self._process_local()
        if local is not None:
            return local.get_window_stats(item, *identifiers)
        state = self._state()
        window = state.answers.get(item.key_for(*identifiers)) if state is not None else None
        if window is None:
            return super().get_window_stats(item, *identifiers)
        return window.stats
