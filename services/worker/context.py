"""What a job runs with: settings, clock, Redis and a unit of work whose enqueues follow commit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from redis import Redis
from sqlalchemy.orm import Session

from services.core.clock import Clock, SystemClock
from services.core.config import Settings, get_settings
from services.core.db.session import get_engine, session_scope
from services.ecpay.client import EcpayClient
from services.ecpay.credentials import credentials_from_settings
from services.ecpay.einvoice import EInvoiceClient
from services.worker.queues import RQJobs, redis_connection


@dataclass
class _Runtime:
    settings: Settings | None = None
    clock: Clock | None = None
    # One client per (process, URL): its pool and RQ's cached server version outlive a job
    # (an inline worker runs thousands); a forked work horse builds its own.
    redis_clients: dict[tuple[int, str], Redis] = field(default_factory=dict)


_runtime = _Runtime()


def use(settings: Settings | None = None, clock: Clock | None = None) -> None:
    """Pin this process's settings and clock (in-process workers in tests, `--now`)."""
    _runtime.settings = settings
    _runtime.clock = clock


def settings() -> Settings:
    return _runtime.settings or get_settings()


def clock() -> Clock:
    return _runtime.clock or SystemClock()


def redis() -> Redis:
    url = settings().redis_url
    key = (os.getpid(), url)
    client = _runtime.redis_clients.get(key)
    if client is None:
        client = _runtime.redis_clients[key] = redis_connection(settings())
    return client


@contextmanager
def unit_of_work() -> Iterator[tuple[Session, RQJobs]]:
    """One transaction; the jobs it asked for are sent to RQ only after it commits."""
    jobs = RQJobs(redis())
    with session_scope(get_engine(settings())) as session:
        yield session, jobs
    jobs.flush()


def ecpay_gateway() -> EcpayClient:
    """ECPay's server-to-server API for jobs; every job that asks ECPay shares it."""
    # ECPay checks TimeStamp against its own clock: calls are signed with the real time.
    current = settings()
    return EcpayClient(
        credentials_from_settings(current), timeout=current.ecpay_timeout_seconds,
        clock=SystemClock(),
    )


@contextmanager
def einvoice_gateway() -> Iterator[EInvoiceClient]:
    """ECPay's B2C e-invoice API (or the simulator) for jobs; closed after the job."""
    current = settings()
    # Like ecpay_gateway: RqHeader.Timestamp must be within 10 minutes of ECPay's clock.
    with httpx.Client(timeout=current.ecpay_timeout_seconds) as http:
        yield EInvoiceClient(
            current.einvoice_url, current.einvoice_merchant_id, current.einvoice_hash_key,
            current.einvoice_hash_iv, now=lambda: datetime.now(UTC), http=http,
            timeout=current.ecpay_timeout_seconds,
        )
