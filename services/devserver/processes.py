"""Child processes of `fluxus dev`: started with a shared environment, their output prefixed,
stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

COLOURS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m")
RESET = "\033[0m"


@dataclass
class Child:
    name: str
    args: list[str]
    ready_url: str | None = None
    ready: Callable[[], bool] | None = None  # a readiness check other than an HTTP URL
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def is_ready(self) -> bool:
        if self.ready is not None:
            return self.ready()
        if self.ready_url is None:
            return True
        try:
            return httpx.get(self.ready_url, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False


def fluxus_command(*args: str) -> list[str]:
    """Run the same `fluxus` this process is, whatever the PATH says."""
    return [sys.executable, "-m", "services", *args]


class Supervisor:
    def __init__(self, env: dict[str, str], echo: Callable[[str], None], colour: bool) -> None:
        self.env = env
        self.echo = echo
        self.colour = colour
        self.children: list[Child] = []

    def start(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            child.args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )
        self.children.append(child)
        prefix = f"{child.name:>9} | "
        if self.colour:
            prefix = COLOURS[len(self.children) % len(COLOURS)] + prefix + RESET
        threading.Thread(target=self._pump, args=(child.process, prefix), daemon=True).start()

    def _pump(self, process: subprocess.Popen[bytes], prefix: str) -> None:
        for line in iter(process.stdout.readline, b""):  # type: ignore[union-attr]
            self.echo(prefix + line.decode(errors="replace").rstrip())

    def wait_ready(self, child: Child, timeout: float = 60.0) -> None:
        """Wait until the child answers its ready URL (or, without one, is still running)."""
        deadline = time.monotonic() + timeout
        process = child.process
        if process is None:
            raise RuntimeError(f"{child.name} was never started")
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with status {process.returncode}")
            if child.is_ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{child.name} was not ready after {timeout:.0f}s ({child.ready_url})")

    def first_exited(self) -> Child | None:
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                return child
        return None

    def stop_all(self, grace: float = 15.0) -> None:
        """Stop every child but the first at once (workers finish their job), SIGKILL what is
        left after `grace` seconds, then the first — so Redis, started first, outlives its
        clients, and Ctrl-C takes at most twice `grace` however many children there are."""
        running = [c.process for c in self.children
                   if c.process is not None and c.process.poll() is None]
        first, clients = running[:1], running[1:]
        for batch in (clients, first):
            for process in batch:
                os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for process in batch:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
