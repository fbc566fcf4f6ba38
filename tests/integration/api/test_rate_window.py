"""The API's limits counted in one Redis round trip keep the moving window's meaning: exact
over any stretch of the window's length (no burst where two clock minutes meet), the shortest
window first, and the library's own keys, so `limits` reads the same counts."""

from __future__ import annotations

import time

import pytest
from limits import parse
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from services.api.rate_window import WindowScript

pytestmark = pytest.mark.integration

# Half a second before a clock minute ends: a fixed window would start afresh in 0.5 s.
EDGE = 60 * 20_000_000 - 0.5


def _storage(redis_url: str) -> RedisStorage:
    storage = storage_from_string(redis_url)
    assert isinstance(storage, RedisStorage)
    return storage


def test_no_burst_where_two_minutes_meet(redis_url: str) -> None:
    script = WindowScript(_storage(redis_url))
    windows = [(parse("3 per minute"), "ip:192.0.2.1")]

    answers = [script.hit(windows, stop_at_refusal=True, now=EDGE + n * 0.1)[0]
               for n in range(3)]
    assert [a.acquired for a in answers] == [True, True, True]
    assert [a.stats.remaining for a in answers] == [2, 1, 0]

    # A new clock minute has begun, but the last 60 s already hold three: refused, and told
    # to come back when the oldest of them is a minute old.
    refused = script.hit(windows, stop_at_refusal=True, now=EDGE + 1.5)[0]
    assert not refused.acquired
    assert refused.stats.reset_time == pytest.approx(EDGE + 60)
    assert refused.stats.remaining == 0

    later = script.hit(windows, stop_at_refusal=True, now=EDGE + 60.05)[0]
    assert later.acquired


def test_a_refusal_by_the_minute_is_not_counted_in_the_hour(redis_url: str) -> None:
    script = WindowScript(_storage(redis_url))
    minute, hour = parse("2 per minute"), parse("3 per hour")
    windows = [(minute, "user:a/minute"), (hour, "user:a/hour")]

    for n in range(2):
        assert all(w.acquired for w in script.hit(windows, stop_at_refusal=True, now=EDGE + n))
    refused = script.hit(windows, stop_at_refusal=True, now=EDGE + 2)
    assert [w.acquired for w in refused] == [False]  # the hour is neither counted nor read

    # Two minutes on, the minute has room and the hour takes its third request, then no more.
    assert all(w.acquired for w in script.hit(windows, stop_at_refusal=True, now=EDGE + 120))
    last = script.hit(windows, stop_at_refusal=True, now=EDGE + 121)
    assert [w.acquired for w in last] == [True, False]
    assert last[1].stats.reset_time == pytest.approx(EDGE + 3600)


def test_the_auth_throttle_counts_every_window_even_after_a_refusal(redis_url: str) -> None:
    script = WindowScript(_storage(redis_url))
    per_ip, per_account = parse("1 per minute"), parse("5 per hour")
    windows = [(per_ip, "auth/ip"), (per_account, "auth/account")]

    script.hit(windows, stop_at_refusal=False, now=EDGE)
    second = script.hit(windows, stop_at_refusal=False, now=EDGE + 1)
    assert [w.acquired for w in second] == [False, True]
    assert second[1].stats.remaining == 3


def test_the_library_reads_the_same_counts(redis_url: str) -> None:
    storage = _storage(redis_url)
    item = parse("10 per minute")
    key = item.key_for("fluxus-api", "ip:198.51.100.7", "global")

    WindowScript(storage).hit([(item, key)], stop_at_refusal=True, now=time.time())
    WindowScript(storage).hit([(item, key)], stop_at_refusal=True, now=time.time())

    stats = MovingWindowRateLimiter(storage).get_window_stats(
        item, "fluxus-api", "ip:198.51.100.7", "global")
    assert stats.remaining == 8
