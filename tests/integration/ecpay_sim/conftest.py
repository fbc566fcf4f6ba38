"""A real simulator process and a real merchant-side HTTP receiver on loopback."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import pytest

from services.ecpay.credentials import EcpayCredentials
from tests.support.waiting import wait_for as shared_wait_for

REPO_ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 20.0
T = TypeVar("T")


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., Any]:
    """``wait_for(condition, what=..., timeout=...)``: poll with a deadline, never a blind sleep."""
    return shared_wait_for


@dataclass
class Received:
    path: str
    form: dict[str, str]


@dataclass
class Receiver:
    """Stands in for the merchant's ReturnURL/PaymentInfoURL/PeriodReturnURL endpoints."""

    base_url: str = ""
    posts: list[Received] = field(default_factory=list)
    # path -> answers to give in order; when used up (or absent) the answer is 1|OK.
    scripted: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_for(self, path: str) -> str:
        with self.lock:
            answers = self.scripted.get(path)
            return answers.pop(0) if answers else "1|OK"

    def record(self, path: str, form: dict[str, str]) -> None:
        with self.lock:
            self.posts.append(Received(path, form))

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [post for post in self.posts if post.path == path]


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            state.record(self.path, dict(parse_qsl(body, keep_blank_values=True)))
            answer = state.answer_for(self.path).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _read_lines(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m services.ecpay.simulator` on a free port; must stop cleanly on SIGTERM."""
    log = (tmp_path_factory.mktemp("ecpay-sim") / "stderr.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.ecpay.simulator",
            "--bind",
            "127.0.0.1:0",
            "--retry-interval",
            "0.2",
            "--max-deliveries",
            "5",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        first = lines.get(timeout=STARTUP_SECONDS)
    except queue.Empty:
        proc.kill()
        raise AssertionError(f"simulator did not start; see {log.name}") from None
    assert "listening on http://" in first, first
    yield first.strip().rsplit(" ", 1)[-1]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0, f"simulator did not stop cleanly; see {log.name}"
    log.close()


@pytest.fixture(scope="session")
def credentials(simulator: str) -> EcpayCredentials:
    return EcpayCredentials.stage(simulator)
