"""Waiting for a condition with a deadline: how every test waits, never a blind sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")
# A service still starting refuses connections; that is a reason to keep polling.
TRANSIENT = (httpx.HTTPError, OSError)


def wait_for(check: Callable[[], T | None], what: str = "condition", timeout: float = 60.0,
             interval: float = 0.05) -> T:
    """Poll `check` until it returns something truthy and return that; fail loudly, naming
    `what` and the last value or error, once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = check()
        except TRANSIENT as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)
