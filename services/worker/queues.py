"""The RQ side of the Jobs port: deterministic job ids, retries and timeouts from the registry."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job

from services.core.config import Settings, get_settings
from services.core.logging import request_id_var
from services.worker.registry import ALL_QUEUES, spec


def redis_connection(settings: Settings | None = None) -> Redis:
    settings = settings or get_settings()
    return Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=3)


def queue(name: str, connection: Redis) -> Queue:
    if name not in ALL_QUEUES:
        raise KeyError(f"unknown queue {name!r}")
    return Queue(name, connection=connection)


def enqueue_now(connection: Redis, job: str, *args: Any, job_id: str | None = None) -> Job | None:
    """Enqueue one job unless a job with the same id is already waiting or running.

    The id only dedupes enqueues; the database's unique constraints are the real guard.
    """
    job_spec = spec(job)
    q = queue(job_spec.queue, connection)
    if job_id is not None:
        existing = Job.fetch(job_id, connection=connection) if _exists(connection, job_id) else None
        if existing is not None and existing.get_status(refresh=True) in (
            "queued",
            "started",
            "deferred",
            "scheduled",
        ):
            return existing
    retry = (
        Retry(max=len(job_spec.retry_intervals), interval=list(job_spec.retry_intervals))
        if job_spec.retry_intervals
        else None  # periodic sweeps: the next tick is the retry
    )
    return q.enqueue(
        job_spec.func,
        *args,
        job_id=job_id,
        retry=retry,
        job_timeout=job_spec.timeout,
        result_ttl=3600,
        failure_ttl=7 * 86400,
        meta={"request_id": request_id_var.get()},
    )


def _exists(connection: Redis, job_id: str) -> bool:
    return bool(connection.exists(Job.key_for(job_id)))


class RQJobs:
    """Collects enqueues during a unit of work and sends them to RQ after it commits."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection
        self._pending: list[tuple[str, tuple[Any, ...], str | None]] = []

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        spec(job)  # fail at the call site for an unknown job, not later in flush()
        self._pending.append((job, args, job_id))

    def flush(self) -> None:
        """Send what was collected. Redis errors propagate: callers whose rows a sweeper
        re-enqueues (notifications, e-mails) may swallow them; nothing else should."""
        pending, self._pending = self._pending, []
        for job, args, job_id in pending:
            enqueue_now(self.connection, job, *args, job_id=job_id)

    def discard(self) -> None:
        self._pending.clear()
