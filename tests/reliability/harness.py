"""Real processes for the reliability suite: fluxus services, a private redis-server, an SMTP
inbox, a cuttable TCP proxy, and the books check run as an operator would run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from services.core.config import Settings
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer
from tests.support.smtp import Inbox
from tests.support.waiting import wait_for

__all__ = ["Inbox", "RedisServer"]  # re-exported for the reliability tests

REPO = Path(__file__).resolve().parents[2]
FLUXUS = str(Path(sys.executable).with_name("fluxus"))


closed_port = free_port





def fluxus_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a fluxus process configured like `settings` (no stray FLUXUS_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXUS_")}
    env.update(
        PYTHONUNBUFFERED="1",
        FLUXUS_ENV=settings.env,
        FLUXUS_LOG_LEVEL="WARNING",
        FLUXUS_DATABASE_URL=settings.database_url,
        FLUXUS_REDIS_URL=settings.redis_url,
        FLUXUS_SMTP_HOST=settings.smtp_host,
        FLUXUS_SMTP_PORT=str(settings.smtp_port),
        FLUXUS_INVOICE_DIR=settings.invoice_dir,
        FLUXUS_DASHBOARD_URL=settings.dashboard_url,
        FLUXUS_ECPAY_GATEWAY_URL=settings.ecpay_gateway_url,
        FLUXUS_PUBLIC_PAYMENT_URL=settings.public_payment_url,
        FLUXUS_RATE_LIMITS=settings.rate_limits,
        FLUXUS_AUTH_THROTTLE=str(settings.auth_throttle).lower(),
        FLUXUS_DB_CONNECT_TIMEOUT=str(settings.db_connect_timeout),
        FLUXUS_METRICS_PORT=str(free_port()),  # several processes must not share a port
    )
    env.update(extra)
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)  # its own group: gunicorn's and RQ's children too

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        self.send(sig)
        self.wait(timeout)

    def wait(self, timeout: float = 20) -> None:
        """Wait for the exit; past `timeout`, SIGKILL the whole group."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
            self.popen.wait(timeout=10)


@dataclass
class Procs:
    """Every process a test started; stopped (and their logs shown on failure) at the end."""

    logs: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        log = self.logs / f"{name}.log"
        with log.open("ab") as handle:
            popen = subprocess.Popen(
                [FLUXUS, *args],
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def http(self, name: str, args: list[str], env: dict[str, str], health: str) -> Proc:
        proc = self.start(name, args, env)
        wait_ready(proc, health)
        return proc

    def stop_all(self) -> None:
        # SIGINT: gunicorn's quick shutdown (its SIGTERM waits for idle keep-alive clients).
        # All at once, then wait for each: stopping them one by one costs seconds apiece.
        for proc in self.started:
            proc.send(signal.SIGINT)
        for proc in self.started:
            proc.wait()

    def report(self) -> str:
        return "\n".join(f"--- {p.name} (exit {p.popen.poll()})\n{p.tail()}" for p in self.started)


def wait_ready(proc: Proc, url: str, timeout: float = 60) -> None:
    def answers() -> bool:
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, f"{proc.name} at {url}", timeout)


def audit_books(settings: Settings) -> dict[str, Any]:
    """`fluxus audit books --json` as an operator runs it; the parsed report and exit code."""
    done = subprocess.run(
        [FLUXUS, "audit", "books", "--json"],
        env=fluxus_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    report["exit_code"] = done.returncode
    return report


def assert_books_balance(settings: Settings) -> None:
    report = audit_books(settings)
    assert (report["exit_code"], report["findings"]) == (0, []), report


def queues_idle(client: redis.Redis, queues: tuple[str, ...]) -> bool:
    """Nothing waiting, running or scheduled for a retry on these RQ queues."""
    for name in queues:
        keys = (f"rq:wip:{name}", f"rq:scheduled:{name}")
        if client.llen(f"rq:queue:{name}") or any(client.zcard(key) for key in keys):
            return False
    return True
