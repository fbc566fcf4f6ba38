"""RQ's failed jobs as staff see them: which queue, which job, when, and the exception's last
line. Never the job's arguments or its whole traceback: arguments are ids today, but a
traceback's frames can hold whatever the job was holding (e-mail addresses, form fields)."""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from redis import Redis
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from services.core.errors import NotFound
from services.worker.queues import queue
from services.worker.registry import ALL_QUEUES, JOBS

ERROR_MAX = 300  # characters of the exception's last line
_NAMES = {spec.func: name for name, spec in JOBS.items()}
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    job: str  # the registry's name (send_email, run_refund …), else the function's path
    function: str
    failed_at: datetime | None
    error: str


@dataclass(frozen=True)
class FailedPage:
    items: list[FailedJob]
    total: int


def _registry(name: str, connection: Redis) -> FailedJobRegistry:
    return FailedJobRegistry(queue=queue(name, connection))


def _last_line(job: Job) -> str:
    result = job.latest_result()
    text = result.exc_string if result is not None and result.type == Result.Type.FAILED \
        else None
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:ERROR_MAX] if lines else ""


def _view(job: Job) -> FailedJob:
    function = job.func_name or ""
    return FailedJob(id=job.id, queue=job.origin, job=_NAMES.get(function, function),
                     function=function, failed_at=job.ended_at, error=_last_line(job))


def list_failed(connection: Redis, *, page: int, page_size: int) -> FailedPage:
    """Failed jobs of every queue, most recent first. A failed job's score is when it leaves
    the registry (failure time + one TTL for every job), so score order is failure order and
    only the page's own jobs are read."""
    scored: list[list[tuple[float, str]]] = []
    for name in ALL_QUEUES:
        key = _registry(name, connection).key
        rows = cast(list[tuple[bytes | str, float]],
                    connection.zrange(key, 0, -1, withscores=True))
        scored.append([(-float(score), job_id.decode() if isinstance(job_id, bytes) else job_id)
                       for job_id, score in rows])
    merged = list(heapq.merge(*(sorted(rows) for rows in scored)))
    start = (page - 1) * page_size
    ids = [job_id for _score, job_id in merged[start:start + page_size]]
    jobs = Job.fetch_many(ids, connection=connection)
    return FailedPage([_view(job) for job in jobs if job is not None], len(merged))


def requeue(connection: Redis, job_id: str) -> FailedJob:
    """Put one failed job back on its queue (RQ resets its retries); 404 if it is not failed."""
    if not _JOB_ID.match(job_id):  # RQ refuses other ids with a ValueError: none is ours
        raise NotFound("No failed job with this id.")
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError as exc:
        raise NotFound("No failed job with this id.") from exc
    if job.origin not in ALL_QUEUES:
        raise NotFound("No failed job with this id.")
    view = _view(job)
    try:
        _registry(job.origin, connection).requeue(job)
    except InvalidJobOperation as exc:
        raise NotFound("No failed job with this id (it may have been requeued already).") \
            from exc
    return view
