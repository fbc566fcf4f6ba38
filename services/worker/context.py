"""What a job runs with: settings, clock, Redis and a unit of work whose enqueues follow commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis
from sqlalchemy.orm import Session

from services.core.clock import Clock, SystemClock
from services.core.config import Settings, get_settings
from services.core.db.session import get_engine, session_scope
from services.worker.queues import RQJobs, redis_connection


@dataclass
class _Runtime:
    settings: Settings | None = None
    clock: Clock | None = None


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
    return redis_connection(settings())


@contextmanager
def unit_of_work() -> Iterator[tuple[Session, RQJobs]]:
    """One transaction; the jobs it asked for are sent to RQ only after it commits."""
    jobs = RQJobs(redis())
    with session_scope(get_engine(settings())) as session:
        yield session, jobs
    jobs.flush()
