"""Faults a test asks for: the next N e-invoice calls fail in a chosen way."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

BUSY = "busy"  # TransCode 1, RtnCode 0 "系統忙碌中" (nothing done)
TOO_FAST = "too_fast"  # HTTP 403 before anything is read (ECPay's rate limit)
MOF_DOWN = "mof_down"  # RtnCode 9000001: the Ministry of Finance API failed (nothing done)
LOSE = "lose"  # the call is carried out, then the answer is lost: HTTP 502
DROP = "drop"  # the call is carried out, then the connection is closed without an answer
KINDS = (BUSY, TOO_FAST, MOF_DOWN, LOSE, DROP)


@dataclass
class Fault:
    kind: str
    remaining: int
    endpoints: frozenset[str]  # empty: every e-invoice endpoint

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "remaining": self.remaining, "endpoints": sorted(self.endpoints)}


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []

    def add(self, kind: str, count: int, endpoints: frozenset[str]) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._queue.append(Fault(kind, count, endpoints))

    def take(self, endpoint: str) -> str | None:
        """The fault this call suffers (consuming one), or None."""
        with self._lock:
            for fault in self._queue:
                if not fault.endpoints or endpoint in fault.endpoints:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._queue.remove(fault)
                    return fault.kind
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._queue]
