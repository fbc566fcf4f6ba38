"""Delivers signed notifications to merchants and re-sends those not answered `1|OK`.

ECPay's real schedule (REFERENCE §3): a notification not acknowledged with exactly `1|OK`
is re-sent roughly every 5-15 minutes, at most 4 re-sends after the first delivery
(5 in total; ECPay's own skill pack says "at most 4 times a day"). The simulator keeps the
bound of 5 deliveries and re-sends every ``retry_interval`` seconds (default 600) so tests
can shorten the wait.

A delivery can also be *held* until a moment of the simulator's calendar (BARCODE results
reach the merchant about two days after the payment, REFERENCE §3): it stays ``held`` until
``release_due()`` finds that moment passed. The thread checks every ``HELD_POLL_SECONDS``;
the control API releases at once (``POST /_sim/deliver-due``, ``POST /_sim/clock``).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from services.core.clock import Clock
from services.ecpay.fields import format_trade_date
from services.ecpay.notifications import ACK

log = logging.getLogger(__name__)

DEFAULT_RETRY_INTERVAL = 600.0
DEFAULT_MAX_DELIVERIES = 5
# ECPay is said to wait about 10 s for an answer (REFERENCE §13.13).
DELIVERY_TIMEOUT = 10.0
HELD_POLL_SECONDS = 30.0


@dataclass
class Attempt:
    at: datetime
    status: int | None
    body: str
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "at": format_trade_date(self.at),
            "status": self.status,
            "body": self.body,
            "error": self.error,
        }


@dataclass
class Delivery:
    """A notification and its delivery history; ``retry_fields`` are sent on re-sends."""

    id: int
    kind: str
    merchant_trade_no: str
    url: str
    fields: dict[str, str]
    retry_fields: dict[str, str] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    next_at: float = 0.0
    state: str = "pending"
    hold_until: datetime | None = None

    def payload(self) -> dict[str, str]:
        if self.attempts and self.retry_fields is not None:
            return self.retry_fields
        return self.fields

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "merchant_trade_no": self.merchant_trade_no,
            "url": self.url,
            "state": self.state,
            "hold_until": format_trade_date(self.hold_until) if self.hold_until else None,
            "fields": dict(self.fields),
            "attempts": [a.to_json() for a in self.attempts],
        }


class Notifier:
    """A background thread posting due deliveries; ``stop()`` ends it promptly."""

    def __init__(
        self,
        clock: Clock,
        *,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retry_interval = retry_interval
        self.max_deliveries = max_deliveries
        self._clock = clock
        self._monotonic = monotonic
        self._http = httpx.Client(timeout=DELIVERY_TIMEOUT, transport=transport)
        self._deliveries: list[Delivery] = []
        self._ids = itertools.count(1)
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="ecpay-sim-notifier", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._http.close()

    def send(
        self,
        kind: str,
        merchant_trade_no: str,
        url: str,
        fields: dict[str, str],
        retry_fields: dict[str, str] | None = None,
        *,
        hold_until: datetime | None = None,
    ) -> Delivery:
        """Queue a notification; with ``hold_until`` it waits for that simulator time."""
        with self._wake:
            delivery = Delivery(
                next(self._ids),
                kind,
                merchant_trade_no,
                url,
                fields,
                retry_fields,
                next_at=self._monotonic(),
                state="held" if hold_until else "pending",
                hold_until=hold_until,
            )
            self._deliveries.append(delivery)
            self._wake.notify_all()
        return delivery

    def release_due(self) -> list[int]:
        """Start delivering the held notifications whose time has come; their ids."""
        with self._wake:
            released = self._release_due_locked()
            if released:
                self._wake.notify_all()
            return released

    def _release_due_locked(self) -> list[int]:
        now, released = self._clock.now(), []
        for delivery in self._deliveries:
            if delivery.state == "held" and delivery.hold_until and delivery.hold_until <= now:
                delivery.state, delivery.next_at = "pending", self._monotonic()
                released.append(delivery.id)
        return released

    def snapshot(self, merchant_trade_no: str | None = None) -> list[dict[str, Any]]:
        with self._wake:
            return [
                d.to_json()
                for d in self._deliveries
                if merchant_trade_no in (None, d.merchant_trade_no)
            ]

    def _next_due(self) -> tuple[Delivery | None, float]:
        self._release_due_locked()
        idle = HELD_POLL_SECONDS if any(d.state == "held" for d in self._deliveries) else 3600.0
        pending = [d for d in self._deliveries if d.state == "pending"]
        if not pending:
            return None, idle
        first = min(pending, key=lambda d: d.next_at)
        return first, min(idle, max(0.0, first.next_at - self._monotonic()))

    def _take_due(self) -> tuple[Delivery, dict[str, str]] | None:
        """Block until a delivery is due (returned with its payload) or stop() (None)."""
        with self._wake:
            while not self._stopping:
                delivery, wait = self._next_due()
                if delivery is not None and wait <= 0:
                    return delivery, dict(delivery.payload())
                self._wake.wait(wait)
            return None

    def _run(self) -> None:
        while (due := self._take_due()) is not None:
            delivery, payload = due
            self._record(delivery, self._post(delivery.url, payload))

    def _post(self, url: str, payload: dict[str, str]) -> Attempt:
        at = self._clock.now()
        try:
            response = self._http.post(url, data=payload)
        except httpx.HTTPError as exc:
            return Attempt(at, None, "", f"{type(exc).__name__}: {exc}")
        return Attempt(at, response.status_code, response.text[:500])

    def _record(self, delivery: Delivery, attempt: Attempt) -> None:
        with self._wake:
            delivery.attempts.append(attempt)
            # ECPay wants the body to be exactly 1|OK; anything else counts as unanswered.
            if attempt.status == 200 and attempt.body == ACK:
                delivery.state = "acknowledged"
            elif len(delivery.attempts) >= self.max_deliveries:
                delivery.state = "gave_up"
            else:
                delivery.next_at = self._monotonic() + self.retry_interval
            log.info(
                "%s for %s attempt %d: %s",
                delivery.kind,
                delivery.merchant_trade_no,
                len(delivery.attempts),
                delivery.state,
            )
