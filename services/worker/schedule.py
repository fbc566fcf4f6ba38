"""Register the periodic jobs with rq-scheduler, idempotently (fixed ids, stale ones removed)."""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis
from rq_scheduler import Scheduler

from services.worker.registry import MAINTENANCE, PERIODIC, spec

PREFIX = "periodic-"


def periodic_job_id(job: str) -> str:
    return PREFIX + job.replace("_", "-")


def scheduler_for(connection: Redis, interval: float = 5) -> Scheduler:
    return Scheduler(queue_name=MAINTENANCE, connection=connection, interval=interval)


def register_periodic(scheduler: Scheduler, now: datetime | None = None) -> list[str]:
    """(Re)schedule every job in registry.PERIODIC under its fixed id.

    Scheduling an id that is already scheduled replaces it (rq-scheduler keeps one sorted-set
    entry per id), so restarts never add duplicates; ids we no longer define are cancelled.
    """
    wanted = {periodic_job_id(p.job): p for p in PERIODIC}
    for job in scheduler.get_jobs():
        if job.id.startswith(PREFIX) and job.id not in wanted:
            scheduler.cancel(job)
    start = now or datetime.now(UTC)
    for job_id, periodic in wanted.items():
        job_spec = spec(periodic.job)
        # A restart keeps the next run where it was instead of firing everything at once.
        score = scheduler.connection.zscore(scheduler.scheduled_jobs_key, job_id)
        when = datetime.fromtimestamp(score, UTC) if score is not None else start
        scheduler.schedule(
            scheduled_time=when.astimezone(UTC).replace(tzinfo=None),  # naive UTC for rq-scheduler
            func=job_spec.func,
            interval=periodic.every,
            repeat=None,
            id=job_id,
            queue_name=job_spec.queue,
            timeout=job_spec.timeout,
            result_ttl=600,
        )
    return sorted(wanted)
