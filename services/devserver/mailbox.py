"""A loopback SMTP server that drops every message into a mailbox folder as a .eml file."""

from __future__ import annotations

import itertools
import socket
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _MaildirHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            number = next(self._counter)
        recipient = (envelope.rcpt_tos or ["unknown"])[0].replace("/", "_")
        path = self.folder / f"{number:05d}-{recipient}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 OK"


class Mailbox:
    """Start with `start()`; `port` is where processes send mail; `folder` holds it."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # aiosmtpd connects to its own port to confirm it started, so it needs a real one.
        self.port = port or _free_port(host)
        self._controller = Controller(_MaildirHandler(folder), hostname=host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
