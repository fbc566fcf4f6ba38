"""Job repair: requeue jobs whose worker died (SIGKILL, OOM, node loss); list and retry failures."""

# RQ 2+/3 keeps each running job in the queue's StartedJobRegistry scored "last heartbeat +
# TTL"; the worker's heartbeat pushes the score forward while the job runs. When the worker
# dies the score stops moving and, once it is in the past, StartedJobRegistry.cleanup() treats
# the job as abandoned: it retries it under the job's Retry policy (one attempt used) or files
# it as failed with AbandonedJobError. RQ runs that cleanup only in a worker's maintenance tick
# (every 10 minutes); `recover_abandoned_jobs` runs it every minute from the scheduler, and
# `fluxus worker --heartbeat-grace` shortens the TTL so a dead worker is noticed sooner.

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.utils import current_timestamp

from services.worker.registry import ALL_QUEUES


def recover_abandoned(connection: Redis) -> list[str]:
    """Retry (or fail, when out of retries) every job whose worker stopped heartbeating."""
    recovered: list[str] = []
    for name in ALL_QUEUES:
        registry = StartedJobRegistry(name, connection=connection)
        expired = registry.get_expired_job_ids(current_timestamp())
        if expired:
            registry.cleanup()
            recovered.extend(expired)
    return recovered


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    func: str
    args: tuple[object, ...]
    ended_at: datetime | None
    error: str


def _error(job: Job) -> str:
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or job.exc_info or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no error recorded)"


def failed_jobs(connection: Redis) -> list[FailedJob]:
    found: list[FailedJob] = []
    for name in ALL_QUEUES:
        registry = FailedJobRegistry(name, connection=connection)
        for job_id in registry.get_job_ids():
            job = Job.fetch(job_id, connection=connection)
            found.append(
                FailedJob(
                    job.id,
                    name,
                    job.func_name or "?",
                    tuple(job.args or ()),
                    job.ended_at,
                    _error(job),
                )
            )
    return found


def requeue_failed(connection: Redis, job_id: str | None = None) -> list[str]:
    """Put one failed job (or all, when `job_id` is None) back on its queue."""
    requeued: list[str] = []
    for name in ALL_QUEUES:
        registry = FailedJobRegistry(name, connection=connection)
        for candidate in registry.get_job_ids():
            if job_id is None or candidate == job_id:
                registry.requeue(candidate)
                requeued.append(candidate)
    return requeued
