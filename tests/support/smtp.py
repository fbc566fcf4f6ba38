"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts, and can refuse or
stall on demand to play a failing mail relay."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.redis_server import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_next = 0
        self.stall: threading.Event | None = None
        self.stalled = threading.Event()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        if self.stall is not None:
            release, self.stall = self.stall, None
            self.stalled.set()
            # Never acknowledged: like an MTA that lost the client mid-DATA, it keeps nothing.
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
            return "451 4.3.0 Aborted"
        message = message_from_bytes(envelope.content, policy=policy.default)
        if not isinstance(message, EmailMessage):
            return "554 5.6.0 Unparseable message"
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m["To"])]

    def texts_to(self, address: str) -> list[str]:
        """The plain-text parts of every message to `address`."""
        return [part.get_content() for m in self.to(address) for part in m.walk()
                if part.get_content_type() == "text/plain"]


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        if inbox.stall is not None:
            inbox.stall.set()
        controller.stop()
