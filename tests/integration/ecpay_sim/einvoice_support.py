"""Shared steps of the e-invoice simulator tests: a simulator process of their own, a client,
the /_sim/einvoice control calls, and a valid Issue request to vary."""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.ecpay.einvoice import EInvoiceClient, InvoiceItem, IssueRequest

REPO_ROOT = Path(__file__).resolve().parents[3]
STAGE = ("2000132", "ejCk326UnaZWKisg", "q9jcZX8Ib9LM8wYk")
STARTUP_SECONDS = 20.0


def _read_lines(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@contextmanager
def simulator_process(log_dir: Path, *args: str) -> Iterator[str]:
    """`python -m services.ecpay.simulator` on a free port with ``args``; its base URL.

    Each e-invoice test module runs its own process: the tests move its clock and use up
    its number range, which must not leak into other modules.
    """
    log = (log_dir / "stderr.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.ecpay.simulator", "--bind", "127.0.0.1:0", *args],
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
    try:
        yield first.strip().rsplit(" ", 1)[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, f"simulator did not stop cleanly; see {log.name}"
        log.close()


def wall_clock(offset: timedelta = timedelta(0)) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + offset


def client(
    base_url: str,
    *,
    now: Callable[[], datetime] | None = None,
    keys: tuple[str, str, str] = STAGE,
) -> EInvoiceClient:
    merchant_id, hash_key, hash_iv = keys
    return EInvoiceClient(base_url, merchant_id, hash_key, hash_iv, now=now or wall_clock())


def relate_number() -> str:
    return "FX" + uuid.uuid4().hex[:20].upper()


def issue_request(**changes: Any) -> IssueRequest:
    """A valid invoice (ECPay member carrier, e-mail) for NT$990, varied by ``changes``."""
    base = IssueRequest(
        relate_number=relate_number(),
        sales_amount=990,
        items=(InvoiceItem("Fluxus Pro 月費", 1, "月", 990, 990),),
        customer_email="buyer@example.com",
        carrier_type="1",
    )
    return dataclasses.replace(base, **changes)


def add_fault(base_url: str, kind: str, count: int = 1, endpoints: list[str] | None = None) -> None:
    body = {"kind": kind, "count": count, "endpoints": endpoints or []}
    response = httpx.post(f"{base_url}/_sim/einvoice/faults", json=body, timeout=10)
    assert response.status_code == 200, response.text


def invoices(base_url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base_url}/_sim/einvoice", timeout=10)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["invoices"]
    return rows


def sim_invoice(base_url: str, invoice_no: str) -> dict[str, Any]:
    return next(row for row in invoices(base_url) if row["invoice_no"] == invoice_no)


def advance_clock(base_url: str, seconds: float) -> None:
    """Move the simulator's calendar (not the wall clock its Timestamp check uses)."""
    response = httpx.post(f"{base_url}/_sim/clock", json={"advance_seconds": seconds}, timeout=10)
    assert response.status_code == 200, response.text
