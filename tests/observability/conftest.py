"""Observability fixtures: promtool, a private Redis, free ports, processes and scrapes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from services.core.config import Settings
from tests.support.ports import free_port

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
FLUXUS = str(REPO / ".venv" / "bin" / "fluxus")





def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is required (Debian package prometheus)")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool("promtool")


def promtool_check_metrics(promtool: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def fluxus_env(settings: Settings, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a `fluxus` child: settings as FLUXUS_* and a temp dir of its own
    (multiprocess metric files go there, never into a shared /tmp)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLUXUS_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        FLUXUS_ENV=settings.env,  # unset would mean production
        FLUXUS_DATABASE_URL=settings.database_url,
        FLUXUS_REDIS_URL=settings.redis_url,
        FLUXUS_INVOICE_DIR=settings.invoice_dir,
        FLUXUS_SMTP_HOST="127.0.0.1",
        FLUXUS_SMTP_PORT=str(free_port()),
        FLUXUS_LOG_LEVEL="INFO",
        TMPDIR=str(tmp),
        **extra,
    )
    return env


class Processes:
    """Child processes started by a test, each in its own session, stopped at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[str]:
        handle = log.open("w")
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        handle.close()
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


def scrape(port: int) -> str:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return response.text


def try_scrape(port: int) -> str | None:
    try:
        return scrape(port)
    except httpx.HTTPError:
        return None


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in exposition text, or None when it is absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def total(text: str, name: str, **labels: str) -> float:
    """The sum of every sample of `name` matching `labels` (0 when none)."""
    from prometheus_client.parser import text_string_to_metric_families

    found = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                found += float(s.value)
    return found
