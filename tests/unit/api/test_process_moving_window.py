"""The plan list's process-local moving window: the same verdicts and window stats as the
library's moving window, without its timer thread or its ever-growing per-key lists."""

from __future__ import annotations

import pytest
from limits import parse
from limits.storage import MemoryStorage, memory
from limits.strategies import MovingWindowRateLimiter

from services.api.rate_window import ProcessMovingWindow

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_fourth_hit_in_a_minute_of_three_is_refused_until_the_first_leaves() -> None:
    clock, item = Clock(), parse("3 per minute")
    window = ProcessMovingWindow(clock)
    for _ in range(3):
        assert window.hit(item, "ip:1")
        clock.now += 10
    assert not window.hit(item, "ip:1")
    assert window.hit(item, "ip:2")  # another caller has its own window
    clock.now = 1_000_000.0 + 60  # the first hit is exactly a minute old: still inside
    assert not window.hit(item, "ip:1")
    clock.now += 0.001
    assert window.hit(item, "ip:1")


def test_refused_hits_are_not_counted() -> None:
    clock, item = Clock(), parse("2 per minute")
    window = ProcessMovingWindow(clock)
    assert window.hit(item, "k") and window.hit(item, "k")
    for _ in range(5):
        assert not window.hit(item, "k")
    clock.now += 61
    assert window.hit(item, "k") and window.hit(item, "k")


def test_verdicts_and_window_stats_are_the_librarys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remaining and reset after each hit, as flask-limiter's X-RateLimit headers read them."""
    clock, item = Clock(), parse("3 per minute")
    monkeypatch.setattr(memory.time, "time", clock)
    ours = ProcessMovingWindow(clock)
    theirs = MovingWindowRateLimiter(MemoryStorage())
    for step in (0, 5, 20, 30, 0.5, 70, 1, 1):
        clock.now += step
        assert ours.hit(item, "k") == theirs.hit(item, "k"), step
        assert ours.get_window_stats(item, "k") == theirs.get_window_stats(item, "k"), step
        assert ours.test(item, "k") == theirs.test(item, "k"), step


def test_a_cost_above_the_amount_is_refused() -> None:
    window = ProcessMovingWindow(Clock())
    assert not window.hit(parse("2 per minute"), "k", cost=3)
    assert window.hit(parse("2 per minute"), "k", cost=2)


def test_idle_keys_are_dropped() -> None:
    clock, item = Clock(), parse("5 per minute")
    window = ProcessMovingWindow(clock)
    for n in range(100):
        window.hit(item, f"ip:{n}")
    clock.now += window.SWEEP_SECONDS + 61
    window.hit(item, "ip:last")
    assert list(window._hits) == [item.key_for("ip:last")]
