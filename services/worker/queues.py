"""The RQ side of the Jobs port: deterministic job ids, retries and timeouts from the registry."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job
from rq.queue import EnqueueData

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


_LIVE = ("queued", "started", "deferred", "scheduled")


def _options(job: str) -> dict[str, Any]:
    """What every enqueue of `job` carries: its timeout, retries, TTLs and the request id."""
    job_spec = spec(job)
    retry = (
        Retry(max=len(job_spec.retry_intervals), interval=list(job_spec.retry_intervals))
        if job_spec.retry_intervals
        else None  # periodic sweeps: the next tick is the retry
    )
    return {
        "retry": retry,
        "timeout": job_spec.timeout,
        "result_ttl": 3600,
        "failure_ttl": 7 * 86400,
        "meta": {"request_id": request_id_var.get()},
    }


def _live_job(connection: Redis, job_id: str) -> Job | None:
    if not connection.exists(Job.key_for(job_id)):
        return None
    existing = Job.fetch(job_id, connection=connection)
    return existing if existing.get_status(refresh=True) in _LIVE else None


def enqueue_now(connection: Redis, job: str, *args: Any, job_id: str | None = None) -> Job | None:
    """Enqueue one job unless a job with the same id is already waiting or running.

    The id only dedupes enqueues; the database's unique constraints are the real guard.
    """
    if job_id is not None and (existing := _live_job(connection, job_id)) is not None:
        return existing
    options = _options(job)
    return queue(spec(job).queue, connection).enqueue(
        spec(job).func, *args, job_id=job_id, job_timeout=options.pop("timeout"), **options
    )


JobRequest = tuple[str, tuple[Any, ...], str | None]  # (job name, args, job id)

# A doorbell whose job was lost (Redis restarted between the ring and the enqueue) stays
# silent this long; the sweepers cover the work meanwhile.
DOORBELL_SECONDS = 60


def doorbell_key(job: str) -> str:
    return f"fluxus:doorbell:{job}"


def answer_doorbell(connection: Redis, job: str) -> None:
    """A coalesced job calls this as it starts: work stored from now on rings for another
    job, while work stored before is seen by this one (it was committed before the ring)."""
    connection.delete(doorbell_key(job))


def _ring(connection: Redis, requests: Sequence[JobRequest]) -> list[JobRequest]:
    """Drop each coalesced job whose doorbell is already ringing (one is queued, not yet
    started); keep it once where this flush set the doorbell (SET NX)."""
    bells = sorted({job for job, _args, _id in requests if spec(job).coalesced})
    if not bells:
        return list(requests)
    pipe = connection.pipeline(transaction=False)
    for job in bells:
        pipe.set(doorbell_key(job), "1", nx=True, ex=DOORBELL_SECONDS)
    rung = {job for job, fresh in zip(bells, pipe.execute(), strict=True) if fresh}
    kept: list[JobRequest] = []
    for job, args, job_id in requests:
        if spec(job).coalesced:
            if job not in rung:
                continue
            rung.discard(job)  # asked twice in one flush: once is enough
        kept.append((job, args, job_id))
    return kept


def enqueue_all(connection: Redis, requests: Sequence[JobRequest]) -> None:
    """enqueue_now for many jobs in a few round trips (a renewal batch asks for hundreds of
    e-mails): one pipeline looks for existing ids, one enqueues everything else. Coalesced
    jobs ring their doorbell first and are enqueued only if it was silent (one round trip,
    usually all there is)."""
    requests = _ring(connection, requests)
    try:
        _enqueue_all(connection, requests)
    except RedisError:
        # A doorbell rung for a job that never reached its queue would silence the next ones.
        rung = [doorbell_key(job) for job, _args, _id in requests if spec(job).coalesced]
        if rung:
            with contextlib.suppress(RedisError):
                connection.delete(*rung)
        raise


def _enqueue_all(connection: Redis, requests: Sequence[JobRequest]) -> None:
    if not requests:
        return
    with_ids = [job_id for _job, _args, job_id in requests if job_id is not None]
    known: list[str] = []
    if with_ids:
        pipe = connection.pipeline(transaction=False)
        for job_id in with_ids:
            pipe.exists(Job.key_for(job_id))
        known = [job_id for job_id, found in zip(with_ids, pipe.execute(), strict=True)
                 if found]
    # Ids seen before are rare (a retried job asking again); look at those one by one.
    skip = {job_id for job_id in known if _live_job(connection, job_id) is not None}
    by_queue: dict[str, list[EnqueueData]] = defaultdict(list)
    for job, args, wanted_id in requests:
        if wanted_id is not None:
            if wanted_id in skip:
                continue
            skip.add(wanted_id)  # asked twice in one batch: once is enough
        by_queue[spec(job).queue].append(
            Queue.prepare_data(spec(job).func, args, job_id=wanted_id, **_options(job))
        )
    pipe = connection.pipeline()
    for name, datas in by_queue.items():
        queue(name, connection).enqueue_many(datas, pipeline=pipe)
    pipe.execute()


class RQJobs:
    """Collects enqueues during a unit of work and sends them to RQ after it commits."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection
        self._pending: list[JobRequest] = []

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        if spec(job).coalesced and (args or job_id):  # fail at the call site, not in flush()
            raise ValueError(f"{job} is coalesced: it takes no arguments and no job id")
        self._pending.append((job, args, job_id))

    def flush(self) -> None:
        """Send what was collected. Redis errors propagate: callers whose rows a sweeper
        re-enqueues (notifications, e-mails) may swallow them; nothing else should."""
        pending, self._pending = self._pending, []
        if pending:
            enqueue_all(self.connection, pending)

    def discard(self) -> None:
        self._pending.clear()
