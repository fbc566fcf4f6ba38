"""A real simulator process and a real merchant-side HTTP receiver on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import pytest

from services.ecpay.credentials import EcpayCredentials
from tests.integration.ecpay_sim.einvoice_support import simulator_process
from tests.support.waiting import wait_for as shared_wait_for

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


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m services.ecpay.simulator` on a free port; must stop cleanly on SIGTERM."""
    with simulator_process(tmp_path_factory.mktemp("ecpay-sim"), "--retry-interval", "0.2",
                           "--max-deliveries", "5") as url:
        yield url


@pytest.fixture(scope="session")
def credentials(simulator: str) -> EcpayCredentials:
    return EcpayCredentials.stage(simulator)
