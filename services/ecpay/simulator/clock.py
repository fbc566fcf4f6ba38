"""The simulator's calendar: the wall clock plus an offset a test or developer can advance.

Advancing it moves what ECPay's calendar decides (code expiry, delayed BARCODE results,
payment and trade dates) without waiting days. It does not move the TimeStamp check of the
server-to-server APIs: merchants sign with their own wall clock, so that check compares
against ``wall()``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from services.core.clock import Clock


class SimClock:
    def __init__(self, wall: Clock) -> None:
        self._wall = wall
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def wall(self) -> datetime:
        return self._wall.now()

    def now(self) -> datetime:
        with self._lock:
            return self._wall.now() + self._offset

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def advance(self, by: timedelta) -> datetime:
        """Move the calendar forward (never back: ECPay's dates only grow)."""
        if by < timedelta(0):
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += by
        return self.now()
